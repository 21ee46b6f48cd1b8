"""What model a checkpoint's task metadata describes, in a few words: for ``rnnkit info``
(:mod:`rnnkit.checkpoint_info`), read from the metadata alone, without building the model.

:func:`describe_task` takes a task record (``meta["task"]`` of a checkpoint; the same fields rebuilt from an
``export --torch`` file's or an ONNX graph's metadata) and returns ``(architecture, sizes)``::

    architecture  {"summary": "word-level LSTM language model", "level": "word", "cell": "lstm",
                   "layers": 1, "hidden": 650, "directions": 1, "embedding": 650,
                   "extras": ["tied weights", "dropout 0.5"]}          (fields a kind does not have: absent)
    sizes         {"vocabulary": 10000}  or {"vocabulary": ..., "tags": ...}, {"classes": ...},
                  {"source_vocabulary": ..., "target_vocabulary": ...}

A field that is missing or of the wrong type (a damaged or older file) is left out, never an error: the
description says what the file holds, and loading it is what checks it.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Collection
from typing import Any

# the key of each kind's model configuration in its task record
CONFIG_KEYS = {"lm": "lm_config", "ngram": "config", "tagger": "tagger_config", "classifier": "classifier_config",
               "seq2seq": "seq2seq_config", "treenet": "treenet_config", "pointer": "pointer_config",
               "ctc": "transcriber_config"}
_CELLS = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU", "rntn": "RNTN", "childsum": "Child-Sum Tree-LSTM"}


def parsed(value: Any) -> Any:
    """``value``, or the JSON it holds when it is a string of JSON (vocabularies are stored as strings)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _dict(value: Any) -> dict[str, Any]:
    value = parsed(value)
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def count_tokens(value: Any) -> int | None:
    """How many tokens a vocabulary (``{"tokens": [...]}`` or a list, JSON or not) or a list holds."""
    value = parsed(value)
    if isinstance(value, dict):
        value = value.get("tokens")
    return len(value) if isinstance(value, list) else None


def _level(level: Any) -> str:
    """"word-level " and the like, or nothing when the level is not stored (an ONNX graph's metadata)."""
    return f"{level}-level " if isinstance(level, str) else ""


def _cell(cfg: dict[str, Any], bidirectional: bool = False) -> str:
    name = _CELLS.get(str(cfg.get("cell")), str(cfg.get("cell", "?")))
    return "Bi" + name if bidirectional else name


def _shared_extras(cfg: dict[str, Any]) -> list[str]:
    """The options every recurrent model may have: residual connections, peepholes, layer norm, dropout."""
    extras = [name for key, name in (("residual", "residual connections"), ("peephole", "peephole connections"),
                                     ("layer_norm", "layer norm"), ("tie_weights", "tied weights")) if cfg.get(key)]
    drops = [(k[len("dropout_"):] + " " if k != "dropout" else "") + f"{v:g}" for k, v in cfg.items()
             if k.startswith("dropout") and isinstance(v, (int, float)) and not isinstance(v, bool) and v]
    if drops:  # a language model's input 0.2, hidden 0.3, output 0.4; another model's one rate
        extras.append("dropout " + ", ".join(drops))
    if isinstance(cfg.get("weight_drop"), (int, float)) and cfg.get("weight_drop"):
        extras.append(f"weight drop {cfg['weight_drop']:g}")
    return extras


def _recurrent(cfg: dict[str, Any], hidden: str = "hidden_size", layers: str = "num_layers",
               bidirectional: bool = False) -> dict[str, Any]:
    return {"cell": cfg.get("cell"), "layers": _int(cfg.get(layers)), "hidden": _int(cfg.get(hidden)),
            "directions": 2 if bidirectional else 1}


def _lm(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    level = task.get("level")
    arch = {"summary": f"{_level(level)}{_cell(cfg)} language model", "level": level, **_recurrent(cfg),
            "embedding": _int(cfg.get("embedding_dim"))}
    extras = _shared_extras(cfg)
    if cfg.get("softmax") == "class":
        extras.append(f"class softmax ({cfg.get('num_classes')} classes)")
    elif cfg.get("softmax") == "adaptive":
        extras.append(f"adaptive softmax (cutoffs {cfg.get('cutoffs')})")
    extras += _bpe(task)
    arch["extras"] = extras
    return arch, {"vocabulary": _int(cfg.get("vocab_size")) or count_tokens(task.get("vocab"))}


def _bpe(task: dict[str, Any]) -> list[str]:
    """The SentencePiece model a BPE-level model holds, with its number of pieces when sentencepiece can read it
    (the model's vocabulary, in ``sizes``, is the pieces its training text uses and ``<eos>``: fewer)."""
    if not isinstance(task.get("bpe_model"), str):
        return []
    try:
        size = piece_count(base64.b64decode(task["bpe_model"], validate=True))
    except ValueError:  # not base64: the number is left out
        size = None
    pieces = f" of {size:,} pieces" if size else ""
    return [f"BPE: SentencePiece model{pieces} in the file"]


def sentencepiece_pieces(proto: bytes) -> int | None:
    """How many pieces the SentencePiece model ``proto`` (its ModelProto's bytes) has; None when sentencepiece is
    not installed; a ValueError (why, in a few words) when it is and cannot read the bytes as a model."""
    try:
        import sentencepiece as spm
    except ImportError:
        return None
    if not proto:  # b"": sentencepiece would log its own complaint
        raise ValueError("empty")
    try:
        return spm.SentencePieceProcessor(model_proto=proto).get_piece_size()
    except Exception:  # noqa: BLE001  (a parse error: RuntimeError, or another by version; its text is C++'s)
        raise ValueError("sentencepiece cannot read it as a model") from None


def piece_count(proto: bytes) -> int | None:
    """How many pieces the SentencePiece model ``proto`` has; None when sentencepiece is not installed or the bytes
    are not a model (:func:`sentencepiece_pieces` tells the two apart)."""
    try:
        return sentencepiece_pieces(proto)
    except ValueError:  # not a model: the number is left out
        return None


def _ngram(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    order, level = _int(cfg.get("order")), task.get("level")
    delta = cfg.get("delta")
    numeric = isinstance(delta, (int, float)) and not isinstance(delta, bool)  # a damaged file's "x": left out
    extras = [f"add-delta {delta:g}"] if cfg.get("smoothing") == "add_delta" and numeric else []
    extras += _bpe(task)
    arch = {"summary": f"{order}-gram {_level(level)}language model, {cfg.get('smoothing')} smoothing",
            "level": level, "order": order, "smoothing": cfg.get("smoothing"), "extras": extras}
    return arch, {"vocabulary": _int(cfg.get("vocab_size")) or count_tokens(task.get("vocab"))}


def _tagger(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    data, encoder = _dict(task.get("data")), _dict(task.get("encoder"))
    segmenter = data.get("format") == "segmented"
    what = "word segmenter (BMES character tagging)" if segmenter else "tagger"
    output = "a CRF" if cfg.get("output") == "crf" else "a softmax"
    arch = {"summary": f"{_cell(cfg, bool(cfg.get('bidirectional')))} {what} with {output} output",
            **_recurrent(cfg, bidirectional=bool(cfg.get("bidirectional"))),
            "embedding": _int(cfg.get("embedding_dim"))}
    extras = _shared_extras(cfg)
    if cfg.get("output") == "crf":
        extras.insert(0, "CRF")
    if _int(cfg.get("char_vocab_size")):
        extras.append(f"character features: {cfg.get('char_encoder')} over {cfg['char_vocab_size']} characters")
    if _int(cfg.get("bigram_vocab_size")):
        extras.append(f"bigram embeddings ({cfg['bigram_vocab_size']} bigrams, {cfg.get('bigram_embedding_dim')})")
    if isinstance(cfg.get("feature_vocab_sizes"), list) and cfg["feature_vocab_sizes"]:
        extras.append(f"{len(cfg['feature_vocab_sizes'])} feature columns")
    if data.get("scheme") not in (None, "none"):
        extras.append(f"scheme {data['scheme']}")
    arch["extras"] = extras
    sizes = {"vocabulary": _int(cfg.get("vocab_size")) or count_tokens(encoder.get("words")),
             "tags": _int(cfg.get("num_tags")) or count_tokens(encoder.get("tags"))}
    return arch, sizes


def _hmm(task: dict[str, Any], tables: Collection[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An HMM of counts (trained: its emission estimate and suffix model are its config's), or of probability
    tables (``hmm["tables"]``: from_probabilities' or EM's, their names, and a checkpoint's as arrays ``tables``),
    which estimates nothing and has a suffix model for rare words only when it keeps ``state_counts``."""
    hmm = _dict(task.get("hmm"))
    cfg = _dict(hmm.get("config"))
    order = _int(cfg.get("order"))
    name = {2: "bigram", 3: "trigram"}.get(order or 0, f"order-{order}")
    held = _dict(hmm.get("tables")) if "tables" in hmm else None
    if held is None:
        extras = [f"{cfg.get('emission')} emissions"] if cfg.get("emission") else []
        words = count_tokens(list(_dict(hmm.get("words")))) if "words" in hmm else None
    else:
        extras, words = ["fixed probability tables"], count_tokens(held.get("words"))
    if _int(cfg.get("suffix_length")) and (held is None or "state_counts" in {*held, *tables}):
        extras.append(f"suffix model for rare words (up to {cfg['suffix_length']} characters)")
    if cfg.get("scheme"):
        extras.append(f"scheme {cfg['scheme']}")
    arch = {"summary": f"{name} HMM tagger", "order": order, "extras": extras}
    return arch, {"vocabulary": words, "tags": count_tokens(hmm.get("tags"))}


def _classifier(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    encoder = _dict(task.get("encoder"))
    bi = bool(cfg.get("bidirectional"))
    pooling = cfg.get("pooling")
    arch = {"summary": f"{_level(encoder.get('level'))}{_cell(cfg, bi)} text classifier, {pooling} pooling",
            "level": encoder.get("level"), **_recurrent(cfg, bidirectional=bi),
            "embedding": _int(cfg.get("embedding_dim"))}
    extras = _shared_extras(cfg)
    if pooling == "attention":
        extras.insert(0, f"attention pooling ({cfg.get('attention_size')} units)")
    if cfg.get("class_weights"):
        extras.append("class weights")
    arch["extras"] = extras
    return arch, {"vocabulary": _int(cfg.get("vocab_size")) or count_tokens(encoder.get("vocab")),
                  "classes": _int(cfg.get("num_classes")) or count_tokens(encoder.get("labels"))}


def _seq2seq(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    bi = bool(cfg.get("bidirectional"))
    attention = cfg.get("attention")
    with_attention = f"{attention} attention" if attention not in (None, "none") else "no attention"
    arch = {"summary": f"{_cell(cfg)} encoder-decoder (translation) with {with_attention}",
            "level": _dict(task.get("source_tokenizer")).get("level"),
            "cell": cfg.get("cell"), "layers": _int(cfg.get("encoder_layers")),
            "hidden": _int(cfg.get("encoder_hidden_size")), "directions": 2 if bi else 1,
            "embedding": _int(cfg.get("src_embedding_dim")),
            "decoder_layers": _int(cfg.get("decoder_layers")), "decoder_hidden": _int(cfg.get("decoder_hidden_size")),
            "decoder_embedding": _int(cfg.get("tgt_embedding_dim"))}
    extras = _shared_extras(cfg)
    if attention not in (None, "none"):
        extras.insert(0, f"{attention} attention ({cfg.get('attention_size')} units)")
    if cfg.get("input_feeding"):
        extras.append("input feeding")
    if cfg.get("copy"):
        extras.append("copy attention")
    if cfg.get("coverage"):
        extras.append("coverage")
    target = _dict(task.get("target_tokenizer")).get("level")
    if target and target != arch["level"]:
        extras.append(f"target level {target}")
    arch["extras"] = extras
    return arch, {"source_vocabulary": _int(cfg.get("src_vocab_size")) or count_tokens(task.get("source_vocab")),
                  "target_vocabulary": _int(cfg.get("tgt_vocab_size")) or count_tokens(task.get("target_vocab"))}


def _treenet(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    arch = {"summary": f"{_cell(cfg)} tree model", "cell": cfg.get("cell"),
            "hidden": _int(cfg.get("hidden_size")), "embedding": _int(cfg.get("embedding_dim")),
            "extras": _shared_extras(cfg) + ([f"labels {task['label_scheme']}"] if task.get("label_scheme") else [])}
    return arch, {"vocabulary": _int(cfg.get("vocab_size")) or count_tokens(task.get("vocab")),
                  "classes": _int(cfg.get("num_classes")) or _int(task.get("classes"))}


def _pointer(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    demo = _dict(task.get("demo"))
    arch = {"summary": "LSTM pointer network" + (f" ({demo['task']}, rnnkit demo pointer)" if demo.get("task") else ""),
            "cell": "lstm", "hidden": _int(cfg.get("hidden_size")),
            "extras": [f"additive pointer attention ({cfg.get('attention_size')} units)"]}
    return arch, {"input_size": _int(cfg.get("input_size"))}


def _ctc(task: dict[str, Any], cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    demo = _dict(task.get("demo"))
    text = f", {demo['text']} text" if isinstance(demo.get("text"), str) else ""
    symbols = _int(cfg.get("symbols"))
    arch = {"summary": f"bidirectional LSTM CTC transcriber (rnnkit demo ctc{text})", "cell": "lstm", "layers": 1,
            "hidden": _int(cfg.get("hidden_size")), "directions": 2,
            "extras": ["a linear layer over the blank and the symbols"]}
    return arch, {"input_size": _int(cfg.get("input_size")), "classes": symbols + 1 if symbols else None}


_DESCRIBE = {"lm": _lm, "ngram": _ngram, "tagger": _tagger, "classifier": _classifier,
             "seq2seq": _seq2seq, "treenet": _treenet, "pointer": _pointer, "ctc": _ctc}


def describe_task(task: Any, tables: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(architecture, sizes)`` of a task record (module docstring); ``({}, {})`` for an unknown kind.
    ``tables``: the names of the probability tables a checkpoint holds as arrays beside an HMM's record
    (``model/hmm.emissions`` -> "emissions")."""
    task = task if isinstance(task, dict) else {}
    kind = task.get("model") if isinstance(task.get("model"), str) else None
    if kind == "hmm":
        arch, sizes = _hmm(task, tables)
    elif kind in _DESCRIBE:
        arch, sizes = _DESCRIBE[kind](task, _dict(task.get(CONFIG_KEYS.get(kind, ""))))
    else:
        return {}, {}
    return ({k: v for k, v in arch.items() if v is not None},
            {k: v for k, v in sizes.items() if v is not None})
