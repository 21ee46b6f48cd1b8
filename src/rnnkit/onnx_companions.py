"""The files ``rnnkit export --onnx`` writes beside its graph, for ``rnnkit info`` (:mod:`rnnkit.checkpoint_info`):
which of them are there, what they hold, and whether they fit the graph.

An export to ``m.onnx`` writes ``m.vocab.json`` (the vocabulary and labels: :mod:`rnnkit.export_onnx`), for a
BPE-level language model ``m.bpe.model`` (its SentencePiece model: :mod:`rnnkit.export_bpe`), and for a translator
its decoder step, ``m.step.onnx`` (:mod:`rnnkit.export_onnx_seq2seq`).  :func:`companions` returns::

    vocabulary     {"file", "exists", "model" (the kind it is for), "tokenizer" (in words: "word", "bpe", "source
                   word, target char"), "sizes" ({vocabulary, tags, classes, characters, bigrams, features,
                   source_vocabulary, target_vocabulary}: what it holds)}
    sentencepiece  {"file", "exists", "pieces"}: a BPE-level language model's (absent for other models)
    encoder, decoder_step   {"file", "exists"}: a translator's other graph (the one not described)
    graph          {"file", "exists"}: the graph a vocabulary file belongs to (``rnnkit info m.vocab.json``)
    problems       what does not fit, one sentence each: a file missing or unreadable, a vocabulary of another kind
                   of model or of another size than the graph's (an earlier export's, left beside a new graph), a
                   SentencePiece model beside a vocabulary that fits the graph and is not a BPE model's

Nothing is run; a SentencePiece model's pieces are counted when ``sentencepiece`` is installed (else None), and a
file it cannot read as a model is a problem.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from rnnkit.checkpoint_models import count_tokens, piece_count, sentencepiece_pieces
from rnnkit.export_names import BPE_SUFFIX, STEP_SUFFIX, VOCAB_SUFFIX, beside

# the output whose last dimension is a size of the graph, and which size: log_probs (T, B, V) of a language model
_OUTPUT_SIZES = {"lm": "vocabulary", "classifier": "classes", "tagger": "tags", "seq2seq": "target_vocabulary"}
_WORDS = {"vocabulary": "vocabulary tokens", "tags": "tags", "classes": "classes", "characters": "characters",
          "bigrams": "bigrams", "features": "feature columns", "source_vocabulary": "source vocabulary tokens",
          "target_vocabulary": "target vocabulary tokens"}


def base_name(path: Path, part: str | None) -> Path:
    """The export's own name (``m.onnx``) of a graph at ``path``: a translator's decoder step ``m.step.onnx`` is
    the encoder's ``m.onnx``'s companion, named after it."""
    name = path.name
    if part == "decoder_step" and name.lower().endswith(STEP_SUFFIX):
        return path.with_name(name[:-len(STEP_SUFFIX)] + ".onnx")
    return path


def read_vocab_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(content, None)`` of a vocabulary file, or ``(None, why it cannot be read)``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"not readable as JSON ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), str):
        return None, "not a vocabulary file of 'rnnkit export --onnx' (no model kind in it)"
    return doc, None


def _pieces_of_base64(tokenizer: Any) -> int | None:
    encoded = tokenizer.get("bpe_model") if isinstance(tokenizer, dict) else None
    try:
        return piece_count(base64.b64decode(encoded, validate=True)) if isinstance(encoded, str) else None
    except ValueError:
        return None


def _level(tokenizer: Any) -> str:
    """A translator side's tokenizer in words: its level, and a BPE side's pieces."""
    level = str(tokenizer.get("level")) if isinstance(tokenizer, dict) else "?"
    pieces = _pieces_of_base64(tokenizer)
    return f"{level} ({pieces:,} SentencePiece pieces)" if pieces else level


def vocab_facts(doc: dict[str, Any]) -> dict[str, Any]:
    """``{"model", "tokenizer", "sizes"}`` of a vocabulary file's content (module docstring)."""
    kind = doc["model"]
    if kind == "seq2seq":
        sizes = {"source_vocabulary": count_tokens(doc.get("source_vocab")),
                 "target_vocabulary": count_tokens(doc.get("target_vocab"))}
        tokenizer = f"source {_level(doc.get('source_tokenizer'))}, target {_level(doc.get('target_tokenizer'))}"
    elif kind == "tagger":
        features = doc.get("features")
        sizes = {"vocabulary": count_tokens(doc.get("words")), "tags": count_tokens(doc.get("tags")),
                 "characters": count_tokens(doc.get("chars")), "bigrams": count_tokens(doc.get("bigrams")),
                 "features": len(features) if isinstance(features, list) and features else None}
        tokenizer = "words as given" + (", and their characters" if sizes["characters"] else "")
    else:  # a language model's vocab, a classifier's vocab and labels
        sizes = {"vocabulary": count_tokens(doc.get("vocab")), "classes": count_tokens(doc.get("labels"))}
        tokenizer = doc.get("level") if isinstance(doc.get("level"), str) else None
    return {"model": kind, "tokenizer": tokenizer, "sizes": {k: v for k, v in sizes.items() if v is not None}}


def graph_sizes(kind: Any, sizes: dict[str, Any] | None, outputs: list[dict[str, Any]], config: Any
                ) -> dict[str, int]:
    """The sizes a graph's vocabulary must have: its configuration's (``sizes``, and a tagger's ``config``'s
    characters, bigrams and feature columns), and the last dimension of its log_probs (or a CRF tagger's emissions)
    output where it is a number, which is what serving indexes."""
    found = dict(sizes or {})
    config = config if isinstance(config, dict) else {}
    for key, name in (("characters", "char_vocab_size"), ("bigrams", "bigram_vocab_size")):
        if isinstance(config.get(name), int) and config[name]:
            found[key] = config[name]
    if isinstance(config.get("feature_vocab_sizes"), list) and config["feature_vocab_sizes"]:
        found["features"] = len(config["feature_vocab_sizes"])
    key = _OUTPUT_SIZES.get(str(kind))
    for out in outputs:
        if key and out.get("name") in ("log_probs", "emissions") and out.get("shape") \
                and isinstance(out["shape"][-1], int) and out["shape"][-1] > 0:
            found[key] = out["shape"][-1]
    return found


def _mismatches(vocab_name: str, graph_name: str, kind: Any, facts: dict[str, Any], sizes: dict[str, int]
                ) -> list[str]:
    if facts["model"] != kind:
        return [f"{vocab_name} is the vocabulary of a {facts['model']} model, {graph_name} a {kind} graph: not its "
                f"vocabulary; export the model again to write both"]
    return [f"{vocab_name} holds {n:,} {_WORDS.get(k, k)}, {graph_name} has {sizes[k]:,}: not its vocabulary; "
            f"export the model again to write both" for k, n in facts["sizes"].items() if k in sizes and sizes[k] != n]


def companions(path: Path, kind: Any, part: str | None, sizes: dict[str, int], known: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    """The files beside the rnnkit graph at ``path`` (module docstring): ``kind`` its model kind, ``part`` a
    translator graph's ("encoder", "decoder_step"), ``sizes`` what its vocabulary must hold (:func:`graph_sizes`);
    ``kind`` None for a graph not read (no onnx package): the files are found by their names, the kind is the
    vocabulary file's, and nothing is checked against the graph.  ``known``: what was read already of a file, by
    its name (``rnnkit info m.vocab.json``'s content, ``m.bpe.model``'s pieces), not read again."""
    known = known or {}
    if kind is None and part is None and path.name.lower().endswith(STEP_SUFFIX):
        part = "decoder_step"  # a translator's decoder step, known by its name alone
    own = base_name(path, part)
    problems: list[str] = []
    vocab = beside(own, VOCAB_SUFFIX)
    # each file is looked for once (one read already, in known, is there): its "exists" is what the checks read
    entry: dict[str, Any] = {"file": str(vocab), "exists": str(vocab) in known or vocab.is_file(), "model": None,
                             "tokenizer": None, "sizes": None}
    found: dict[str, Any] = {"vocabulary": entry}
    doc = None
    if not entry["exists"]:
        problems.append(f"{vocab} is missing: the vocabulary serving needs to turn text into ids; export the "
                        "model again to write it")
    else:
        doc, why = (known[str(vocab)], None) if str(vocab) in known else read_vocab_file(vocab)
        if doc is None:
            problems.append(f"{vocab}: {why}; export the model again to write it")
        else:
            entry.update(vocab_facts(doc))
            problems += _mismatches(str(vocab), str(path), kind, entry, sizes) if kind is not None else []
    vocab_fits = not problems  # a stray vocabulary file is blamed alone, not the SentencePiece model beside it
    if (kind if kind is not None else entry["model"]) == "seq2seq":
        other, role = (own, "encoder") if part == "decoder_step" else (beside(own, STEP_SUFFIX), "decoder_step")
        found = {role: {"file": str(other), "exists": other.is_file()}, **found}
        if not found[role]["exists"]:
            problems.insert(0, f"{other} is missing: the translator's {role.replace('_', ' ')} graph, which "
                               "translating needs too; export the model again")
    bpe = beside(own, BPE_SUFFIX)
    bpe_there = str(bpe) in known or bpe.is_file()
    if (doc or {}).get("level") == "bpe" or bpe_there:
        found["sentencepiece"], problem = _sentencepiece(bpe, bpe_there, doc, vocab_fits, known)
        problems += [problem] if problem else []
    found["problems"] = problems
    return found


def _sentencepiece(bpe: Path, exists: bool, doc: dict[str, Any] | None, vocab_fits: bool, known: dict[str, Any]
                   ) -> tuple[dict[str, Any], str | None]:
    """The entry of a BPE-level model's SentencePiece model ``bpe`` (``exists``: whether it is a file) and its
    problem, if any: missing, not a model, or beside a vocabulary file (``doc``) that fits the graph and is not a
    BPE model's."""
    entry = {"file": str(bpe), "exists": exists, "pieces": known.get(str(bpe))}
    if not exists:
        return entry, (f"{bpe} is missing: the SentencePiece model that splits text into this model's pieces; "
                       "export the model again to write it")
    if str(bpe) not in known:
        try:
            entry["pieces"] = sentencepiece_pieces(bpe.read_bytes())
        except ValueError as exc:
            return entry, f"{bpe}: not a SentencePiece model ({exc}); export the model again to write it"
    if doc is not None and doc.get("level") != "bpe" and vocab_fits:
        return entry, (f"{bpe} is not this graph's: its vocabulary file is not a BPE-level language model's (an "
                       "earlier export's file, left beside it)")
    return entry, None
