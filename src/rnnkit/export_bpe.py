"""The SentencePiece model of a BPE-level language model (``train lm --level bpe``) in ``rnnkit export --torch``
and ``--onnx``: the model file written beside the export, and the lines of the printed code that split text into
pieces and join pieces into text exactly as rnnkit does (:mod:`rnnkit.lm.bpe_text`).

The file is the model's SentencePiece ``ModelProto`` bytes as the checkpoint keeps them, named after the export
(``lm.onnx`` or ``lm.safetensors`` -> ``lm.bpe.model``); its path is checked with the export's own before either
is written.  The printed code loads it with ``sentencepiece`` and defines, written out in plain Python:

- ``line_pieces(line)``: :func:`rnnkit.lm.bpe_text.line_pieces`: the line's whitespace words, the words
  ``<unk>`` and ``<eos>`` each one token, the runs of other words between them split by SentencePiece, then
  ``<eos>`` (nothing for a blank line);
- ``decode_pieces(pieces)``: :func:`rnnkit.lm.bpe_text.decode_pieces`: pieces run together, ``▁`` a space
  (none at a line's start), ``<unk>`` a word of its own, ``<eos>`` a line end.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rnnkit.checkpoint_task import reading_metadata
from rnnkit.export import check_beside, refuse_beside_name
from rnnkit.export_names import BPE_SUFFIX
from rnnkit.lm.bpe_text import SPECIALS, WORD_START
from rnnkit.lm.io import bpe_model_of

SUFFIX = BPE_SUFFIX


def bpe_side_file(kind: str, task: dict[str, Any], source: Path, output: str | os.PathLike, own: str
                  ) -> tuple[Path, bytes] | None:
    """``(file, bytes)`` of a BPE-level language model's SentencePiece model (``kind`` "lm", ``task`` its metadata,
    read from the checkpoint ``source``): the file beside the export ``output`` (lm.onnx -> lm.bpe.model), checked
    before any is written (:func:`rnnkit.export.check_beside`; an ``output`` itself named ``*.bpe.model`` is refused: it
    would replace another export's SentencePiece model, ``own`` the export's suffix the message suggests instead);
    None for any other model."""
    if kind != "lm":
        return None
    with reading_metadata(source, "model"):
        pieces = bpe_model_of(task)
    if pieces is None:
        return None
    refuse_beside_name(output, SUFFIX, "SentencePiece model file", own)
    return check_beside(output, SUFFIX, "SentencePiece model file", source, own), pieces


def bpe_code(path: str, vocab: dict[str, Any]) -> list[str]:
    """The printed code's ``BPE`` path, its SentencePiece processor ``sp``, ``line_pieces`` and ``decode_pieces``
    (module docstring), for the model file at ``path`` (absolute) and the model's ``vocab`` (JSON)."""
    unk, eos = vocab["unk_token"], vocab["eos_token"]
    if (unk, eos) != SPECIALS:  # what rnnkit's reading and writing hinge on; every BPE model has them
        raise ValueError(f"Expected a BPE model's <unk> and <eos> to be {SPECIALS}, got {(unk, eos)}")
    return [
        f"BPE = {path!r}  # its SentencePiece model, written beside it",
        'if not os.path.exists(BPE) and "__file__" in globals():  # moved, with this script beside it: the file there',
        "    BPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.path.basename(BPE))",
        "sp = sentencepiece.SentencePieceProcessor()",
        "with open(BPE, \"rb\") as f:",
        "    sp.LoadFromSerializedProto(f.read())",
        f"SPECIALS = {json.dumps(list(SPECIALS))}  # whitespace words read as one token each, never split",
        "", "",
        "def line_pieces(line):",
        '    """The pieces of one line as rnnkit reads it: its whitespace words, <unk> and <eos> each one token, the',
        '    runs of other words between them split by SentencePiece, then <eos> (nothing for a blank line)."""',
        "    out, run = [], []",
        "    for word in line.split() + [None]:  # None: the line's end, where the last run is split",
        "        if word is None or word in SPECIALS:",
        "            if run:",
        '                out += sp.encode(" ".join(run), out_type=str)',
        "                run = []",
        "            if word is not None:",
        "                out.append(word)",
        "        else:",
        "            run.append(word)",
        f"    return out + [{json.dumps(eos)}] if out else []",
        "", "",
        "def decode_pieces(pieces):",
        '    """Text of pieces as rnnkit writes it: run together, \\u2581 a space (none at a line\'s start), <unk> a',
        '    word of its own, <eos> a line end."""',
        "    out, first = [], True",
        "    for piece in pieces:",
        f"        if piece == {json.dumps(eos)}:",
        '            out.append("\\n")',
        "            first = True",
        "            continue",
        f'        text = " " + piece if piece in SPECIALS else piece.replace({json.dumps(WORD_START)}, " ")',
        '        out.append(text.lstrip(" ") if first else text)',
        "        first = first and not text.strip()",
        '    return "".join(out)']


def words_text(words: list[str]) -> str:
    """Word-start pieces' texts as a line of text: run together when each has a Chinese or Japanese character
    (unspaced text, whose word-start pieces begin its lines), else separated by spaces."""
    from rnnkit.data.scripts import is_cjk

    unspaced = bool(words) and all(any(map(is_cjk, w)) for w in words)
    return ("" if unspaced else " ").join(words)


def bpe_example(tokens: list[str]) -> str:
    """The code's example line, of the model's own pieces: "the cat sat" when each word is one piece, else the
    text of the four most frequent word-start pieces (``▁`` + text: a whole word or a word's first piece; the
    vocabulary's order, by count) as words (:func:`words_text`: run together when Chinese), else its four most
    frequent pieces run together (a Chinese text, say)."""
    words = [t[1:] for t in tokens if t.startswith(WORD_START) and len(t) > 1]
    if {"the", "cat", "sat"} <= set(words):
        return "the cat sat"
    if words:
        return words_text(words[:4])
    return "".join(t for t in tokens if t not in SPECIALS)[:4]
