"""Byte-pair-encoding subword units (Sennrich et al., 2016) learned and applied with SentencePiece.

BPE starts from the characters of the training text and repeatedly merges the most frequent adjacent
pair of units into one new unit until the vocabulary holds ``vocab_size`` pieces, so frequent words
stay whole and rare ones are spelled out of smaller pieces::

    "Fahrradfahrer" -> ["▁Fahrrad", "fahrer"]        (▁ marks the start of a word)

Text is kept as it is (``normalization_rule_name="identity"``: no NFKC, so Chinese full-width
punctuation stays full-width) and every character of the training text gets a piece
(``character_coverage=1.0``), so ``decode(encode(s)) == s`` for any text made of those characters,
with runs of whitespace collapsed to one space.  Training reads every line in order, on one thread,
without sampling, so the same lines and ``vocab_size`` give the same model, byte for byte.

BPE's merges pass through pieces that end up inside longer ones (``▁Tätow`` on the way to
``▁Tätowierung``): such a piece is never a unit of the training text, so a model has no trained row
for it, yet new text could be split into it.  :func:`train_bpe` marks those pieces unused, as
SentencePiece's vocabulary restriction (and subword-nmt's ``--vocabulary``) does, so that new text is
split into pieces that the training text was split into, or else into characters.  A character that
never stands alone in the split training text (``喜`` always inside ``喜欢``; ``▁`` always joined to a
word's first letters) is a piece of the model but gets no vocabulary row, so new text that needs it alone
reads it as ``<unk>`` (:func:`characters`; ``train seq2seq`` warns how many).  Fewer merges (a smaller
vocabulary) leave more characters alone.

The model is the SentencePiece ``ModelProto`` as bytes; :class:`rnnkit.data.tokenizer.Tokenizer`
carries them and checkpoints store them (base64), so a checkpoint needs no other file.
SentencePiece is an optional extra: ``pip install 'rnnkit[bpe]'``.
"""
from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable
from typing import Any

INSTALL = "pip install 'rnnkit[bpe]'"
DEFAULT_VOCAB = 8000

# SentencePiece's own errors for a vocabulary the text cannot fill, and the numbers they give
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_TOO_LOW = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def sentencepiece() -> Any:
    """The sentencepiece module, or an ImportError saying how to install it."""
    try:
        import sentencepiece as spm
    except ImportError:
        raise ImportError(f"BPE subword units (--level bpe) need the sentencepiece package: {INSTALL}") from None
    return spm


def train_bpe(lines: Iterable[str], vocab_size: int = DEFAULT_VOCAB, what: str = "the training text") -> bytes:
    """A BPE model of ``vocab_size`` pieces (``<unk>`` included) learned from ``lines``, as
    SentencePiece ``ModelProto`` bytes.  ``what`` names the text in the error a ``vocab_size`` it cannot
    fill raises: more pieces than its merges can make, or fewer than its distinct characters."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"Expected vocab_size to be an int >= 2, got {vocab_size!r}")
    spm = sentencepiece()
    lines = [" ".join(line.split()) for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"Expected text to learn BPE from, got no non-empty line in {what}")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=model, vocab_size=vocab_size, model_type="bpe",
            character_coverage=1.0, normalization_rule_name="identity", input_sentence_size=0,
            shuffle_input_sentence=False, num_threads=1, max_sentence_length=1 << 20,
            unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2)
    except RuntimeError as exc:  # SentencePiece's check failures: a long INTERNAL line with a source position
        raise ValueError(_vocab_problem(str(exc), vocab_size, what)) from None
    sp = processor(model.getvalue())
    used = {piece for pieces in sp.encode(lines, out_type=str) for piece in pieces}
    # the training lines' own pieces are all kept, so they are split as before
    return only_pieces(model.getvalue(), used)


def only_pieces(model: bytes, keep: set[str]) -> bytes:
    """``model`` with every normal piece of two or more characters outside ``keep`` marked UNUSED:
    SentencePiece's encoder then splits it back into the two pieces it was merged from (recursively,
    down to characters, which are always kept).  The ModelProto is edited in
    its protobuf wire form (field 1: the repeated pieces, each {1: piece, 2: score, 3: type}), which
    spares a dependency on protobuf."""
    out = bytearray()
    for number, wire, raw, payload in _fields(model):
        if number == 1 and wire == 2:  # a SentencePiece
            inner = list(_fields(payload))
            piece = next((p.decode("utf-8") for n, _, _, p in inner if n == 1), None)
            kind = next((_varint(p, 0)[0] for n, w, _, p in inner if n == 3 and w == 0), _NORMAL)
            if kind == _NORMAL and piece not in keep and len(piece) > 1:  # a character is the last resort
                payload = b"".join(r for n, _, r, _ in inner if n != 3) + bytes([3 << 3, _UNUSED])
                out += bytes([1 << 3 | 2]) + _put_varint(len(payload)) + payload
                continue
        out += raw
    return bytes(out)


_NORMAL, _UNUSED = 1, 5  # ModelProto.SentencePiece.Type


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """The varint at ``data[i:]`` and the index after it."""
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(data: bytes) -> Iterable[tuple[int, int, bytes, bytes]]:
    """(field number, wire type, the field's bytes, its payload) of each field of a protobuf message."""
    i = 0
    while i < len(data):
        start = i
        key, i = _varint(data, i)
        body, wire = i, key & 7
        if wire == 0:  # varint
            _, i = _varint(data, i)
        elif wire in (1, 5):  # fixed64, fixed32
            i += 8 if wire == 1 else 4
        elif wire == 2:  # length-delimited: the payload is what follows the length
            size, body = _varint(data, i)
            i = body + size
        else:
            raise ValueError(f"Expected a SentencePiece model, got protobuf wire type {wire} at byte {start}")
        if i > len(data):
            raise ValueError(f"Expected a SentencePiece model, got one cut short at byte {len(data)}")
        yield key >> 3, wire, data[start:i], data[body:i]


def _vocab_problem(message: str, vocab_size: int, what: str) -> str:
    high = _TOO_HIGH.search(message)
    if high:
        return (f"vocab_size {vocab_size} is more pieces than BPE can make of {what} (at most {high.group(2)}); "
                f"give {high.group(2)} or fewer, or more text")
    low = _TOO_LOW.search(message)
    if low:
        return (f"vocab_size {vocab_size} is fewer pieces than {what} has distinct characters and <unk> "
                f"({low.group(2)}); give at least {low.group(2)}")
    return f"SentencePiece could not learn BPE from {what}: {message.splitlines()[0] if message else 'no reason given'}"


@functools.lru_cache(maxsize=8)
def processor(model: bytes) -> Any:
    """The SentencePieceProcessor of ``model`` bytes, loaded once per model."""
    spm = sentencepiece()
    sp = spm.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(model)
    except (RuntimeError, OSError) as exc:
        raise ValueError(f"Expected a SentencePiece model, got bytes it cannot load ({exc})") from None
    return sp


def encode(model: bytes, text: str) -> list[str]:
    """The pieces of ``text`` (one sentence, whitespace already collapsed)."""
    return processor(model).encode(text, out_type=str)


def decode(model: bytes, pieces: list[str]) -> str:
    """The text of ``pieces``: run together, ``▁`` back to spaces (a piece the model lacks, such as
    ``<unk>``, reads as ``⁇``)."""
    return processor(model).decode_pieces(list(pieces))


def characters(model: bytes) -> list[str]:
    """The model's one-character pieces (``▁`` included), in its order: every character of the training text."""
    sp = processor(model)
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())
            if len(sp.id_to_piece(i)) == 1 and not (sp.is_unknown(i) or sp.is_unused(i) or sp.is_control(i))]


def piece_count(model: bytes) -> int:
    """How many pieces the model has, ``<unk>`` included."""
    return processor(model).get_piece_size()
