"""A trained model as an ONNX graph, for onnxruntime (or any ONNX runtime), with its vocabulary beside it.

``rnnkit export --onnx`` writes the graph (:mod:`rnnkit.export_onnx_graph` builds it, with ONNX's own RNN,
LSTM and GRU operators) to OUT and the vocabulary and labels to ``OUT``'s name with ``.vocab.json`` (e.g.
``model.onnx`` and ``model.vocab.json``; a BPE-level language model's SentencePiece model too, ``model.bpe.model``:
:mod:`rnnkit.export_bpe`), and prints (:mod:`rnnkit.export_onnx_code`) the few lines of
onnxruntime and numpy that read a text with them.  Serving needs neither rnnkit nor torch.  Writing needs the
``onnx`` package (``pip install 'rnnkit[onnx]'``); running, ``onnxruntime``.

Every graph is time-major, as rnnkit is: ``ids`` (T, B) int64 token ids, padded at the end with any id (0).
It gives log-probabilities (not logits), float32, but for a CRF tagger's scores:

============  =====================================================  ==========================================
model         inputs                                                 outputs
============  =====================================================  ==========================================
language      ``ids`` (T, B); ``h_0`` (L, B, H) and, for an LSTM,     ``log_probs`` (T, B, V): log P(next token)
model         ``c_0`` (L, B, H): the state to start from (zeros at    after each token; ``h_n`` (and ``c_n``)
              a text's start)                                         (L, B, H): the state after the last, to
                                                                      feed back as ``h_0`` (``c_0``) to go on
classifier    ``ids`` (T, B); ``lengths`` (B,) int64, each text's     ``log_probs`` (B, K): log P(class); with
              real tokens (1 to T)                                    attention pooling also ``attention``
                                                                      (T, B), each token's weight
softmax       ``ids`` (T, B); ``lengths`` (B,) int64                  ``log_probs`` (T, B, K): log P(tag) at each
tagger                                                                word (past a sentence's end: ignore them)
CRF tagger    ``ids`` (T, B); ``lengths`` (B,) int64                  ``emissions`` (T, B, K), each word's tag
                                                                      scores; ``transitions`` (K, K),
                                                                      ``start_transitions``, ``end_transitions``
                                                                      (K,): Viterbi over them gives the tags
============  =====================================================  ==========================================

A tagger's other inputs are more graph inputs, all int64 (:mod:`rnnkit.export_onnx_extras`): with character
features ``chars`` (T, B, Lc), each word's character ids padded, and ``char_lengths`` (T, B)
(:mod:`rnnkit.export_onnx_chars`: the char BiLSTM with ONNX's LSTM, the char CNN with Conv and ReduceMax); with
bigrams ``bigrams`` (T, B, 2), each token's right and left bigram; with feature columns ``features`` (T, B, F).

The exported kinds are those of ``--torch`` (language models with the full or adaptive softmax, tied or not;
classifiers, last, mean, max or attention pooling, one or two directions; softmax taggers over words alone)
and more: the class-based softmax (log P(class) + log P(word | class), over the whole vocabulary), CRF
taggers and segmenters (:mod:`rnnkit.export_onnx_crf`), taggers and segmenters with character features,
bigrams or feature columns, residual stacks, peephole LSTMs and layer-normalized layers (a ``Scan`` over one
step of the cell: :mod:`rnnkit.export_onnx_ln`); and translators, as two graphs, the encoder and one decoder step
(:mod:`rnnkit.export_onnx_seq2seq`; copy attention and coverage too).  Refused (:mod:`rnnkit.export_scope`): the other model kinds (tree models,
n-gram models, HMMs).

The vocabulary file is JSON: ``model`` (the kind), and for a language model ``level``, ``start_token`` (what
rnnkit reads before a line) and ``vocab`` (``tokens``: token i has id i; ``unk_token``, ``eos_token``); for a
classifier or tagger rnnkit's encoder (a classifier's ``vocab``, ``labels``, ``lowercase``, ``fold_width``,
``level``, ``max_length``; a tagger's ``words``, ``tags``, ``lowercase``, ``fold_width``, and ``chars`` and
``max_chars``, ``bigrams``, ``features`` (a list, one vocabulary a column) when it has them), its vocabularies as
JSON objects; a tagger trained in a span or segmentation scheme has ``rules`` too, the scheme's legal moves
that its decoding keeps to (``scheme``, ``allowed``, ``start``, ``end``; :mod:`rnnkit.export_onnx_crf`).  The
graph's metadata (``metadata_props``) holds the kind, the configuration and the export record; its
``producer_version`` is the rnnkit version that wrote it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checkpoint_task import reading_metadata
from rnnkit.data.vocab import Vocabulary
from rnnkit.export import (ExportReport, beside, check_beside, narrow, read_for_export, refuse_beside_name,
                           written_report)
from rnnkit.export_bpe import bpe_side_file
from rnnkit.export_names import VOCAB_SUFFIX
from rnnkit.export_onnx_crf import crf_outputs, decoding_rules
from rnnkit.export_onnx_extras import tagger_inputs
from rnnkit.export_onnx_graph import (FLOAT, INT32, INT64, Graph, adaptive_log_probs, class_log_probs, real_steps,
                                      recurrent_stack)
from rnnkit.export_scope import CONFIG as _CONFIG
from rnnkit.export_scope import check_supported
from rnnkit.export_torch import write_export
from rnnkit.lm.score import start_token

ONNX_HINT = "pip install 'rnnkit[onnx]'"
# protobuf's limit on one message, less room for the graph; larger models need ONNX's external data (not written here)
ONNX_LIMIT = 2**31 - 2**24


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(f"--onnx needs the onnx package, which is not installed; {ONNX_HINT}") from None
    return onnx


# ------------------------------------------------------------------------------------- the graphs
def _lm_graph(g: Graph, cfg: dict[str, Any], word_classes: list[int] | None = None) -> tuple[list[tuple], list[tuple]]:
    """log P(next token) (T, B, V) and the final state of a language model: (inputs, outputs) as
    (name, element type, shape); ``word_classes``: every word's class, for the class-based softmax."""
    L, H, V = cfg["num_layers"], cfg["hidden_size"], cfg["vocab_size"]
    lstm = cfg["cell"] == "lstm"
    x = g.op("Gather", [g.weight("embedding.weight"), "ids"], axis=0)  # (T, B, E)
    out, hs, cs = recurrent_stack(g, x, cfg, False, h0="h_0", c0="c_0" if lstm else "")  # (T, B, H)
    g.op("Concat", hs, ["h_n"], axis=0)  # (L, B, H): each layer's (1, B, H)
    if lstm:
        g.op("Concat", cs, ["c_n"], axis=0)
    if cfg["softmax"] == "adaptive":
        g.op("Identity", [adaptive_log_probs(g, out, cfg)], ["log_probs"])
    else:
        if cfg["tie_weights"]:  # the decoder's weight is the embedding's: stored once, transposed in the graph
            z = g.op("Add", [g.op("MatMul", [out, g.op("Transpose", [g.weight("embedding.weight")])]),
                             g.weight("decoder.bias")])
        else:
            z = g.linear(out, "decoder")  # (T, B, V)
        if cfg["softmax"] == "class":  # log P(class) + log P(word | class)
            g.op("Identity", [class_log_probs(g, out, z, word_classes)], ["log_probs"])
        else:
            g.op("LogSoftmax", [z], ["log_probs"], axis=-1)
    state = [("h_0", FLOAT, [L, "B", H])] + ([("c_0", FLOAT, [L, "B", H])] if lstm else [])
    finals = [("h_n", FLOAT, [L, "B", H])] + ([("c_n", FLOAT, [L, "B", H])] if lstm else [])
    return [("ids", INT64, ["T", "B"])] + state, [("log_probs", FLOAT, ["T", "B", V])] + finals


def _encoder_graph(g: Graph, cfg: dict[str, Any], parts: list[str] = ()) -> tuple[str, list[str]]:
    """The recurrent states (T, B, dirs*H) of a classifier's or tagger's ``ids`` (T, B) and each layer's final h
    (the lengths, cast to int32, bound the recurrences); ``parts``: a tagger's other inputs (T, B, *), joined to
    the word embeddings as rnnkit joins them (:class:`rnnkit.tagging.model.Tagger`)."""
    lengths = g.op("Cast", ["lengths"], to=INT32)  # sequence_lens' type
    x = g.op("Gather", [g.weight("embedding.weight"), "ids"], axis=0)  # (T, B, E)
    if parts:
        x = g.op("Concat", [x, *parts], axis=-1)  # (T, B, D): [word ; chars ; ...]
    out, hs, _ = recurrent_stack(g, x, cfg, cfg["bidirectional"], lengths=lengths)
    return out, hs


def _classifier_graph(g: Graph, cfg: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """log P(class) (B, K) of a classifier (pooling as :class:`rnnkit.classify.model.Classifier`'s)."""
    out, hs = _encoder_graph(g, cfg)  # (T, B, dirs*H)
    pooling = cfg["pooling"]
    extra = []
    if pooling == "last":  # each direction's final state of the top layer, [forward ; backward]
        u = g.op("Reshape", [g.op("Transpose", [hs[-1]], perm=[1, 0, 2]), g.ints("B_minus1", [0, -1])])
    elif pooling == "mean":  # the outputs are 0 past each text's end
        total = g.op("ReduceSum", [out, g.ints("axis_0", [0])], keepdims=0)  # (B, dirs*H)
        u = g.op("Div", [total, g.op("Unsqueeze", [g.op("Cast", ["lengths"], to=FLOAT), g.ints("axis_1", [1])])])
    else:
        real = real_steps(g, "ids", "lengths")  # (T, B)
        minus_inf = g.minus_inf()
        if pooling == "max":
            u = g.op("ReduceMax", [g.op("Where", [g.op("Unsqueeze", [real, g.ints("axis_2", [2])]), out, minus_inf])],
                     axes=[0], keepdims=0)  # (B, dirs*H), over the real tokens
        else:  # attention: a = softmax_t(v . tanh(W h_t + b)) over the real tokens, u = sum_t a_t h_t
            e = g.op("MatMul", [g.op("Tanh", [g.linear(out, "attention")]), g.weight("attention.context")])  # (T, B)
            a = g.op("Softmax", [g.op("Where", [real, e, minus_inf])], ["attention"], axis=0)[0]  # 0 at padding
            u = g.op("ReduceSum", [g.op("Mul", [g.op("Unsqueeze", [a, g.ints("axis_2", [2])]), out]),
                                   g.ints("axis_0", [0])], keepdims=0)
            extra = [("attention", FLOAT, ["T", "B"])]
    g.op("LogSoftmax", [g.linear(u, "output")], ["log_probs"], axis=-1)  # (B, K)
    inputs = [("ids", INT64, ["T", "B"]), ("lengths", INT64, ["B"])]
    return inputs, [("log_probs", FLOAT, ["B", cfg["num_classes"]])] + extra


def _tagger_graph(g: Graph, cfg: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """log P(tag) (T, B, K) at every word of a softmax tagger; a CRF tagger's emission scores and transition
    scores (:mod:`rnnkit.export_onnx_crf`); character features, bigrams and feature columns are more inputs
    (:mod:`rnnkit.export_onnx_extras`)."""
    parts, more = tagger_inputs(g, cfg)
    out, _ = _encoder_graph(g, cfg, parts)
    inputs = [("ids", INT64, ["T", "B"]), ("lengths", INT64, ["B"])] + more
    if cfg.get("output", "crf") == "crf":
        return inputs, crf_outputs(g, out, cfg)
    g.op("LogSoftmax", [g.linear(out, "output")], ["log_probs"], axis=-1)  # (T, B, K)
    return inputs, [("log_probs", FLOAT, ["T", "B", cfg["num_tags"]])]


def onnx_model(kind: str, task: dict[str, Any], model: dict[str, np.ndarray], record: dict[str, Any]) -> Any:
    """The checked ``onnx.ModelProto`` of an exported model's arrays (no prefix) and task metadata."""
    _onnx()  # the onnx package, or one line saying how to get it
    cfg = task[_CONFIG[kind]]
    g = Graph(model)
    if kind == "lm":
        inputs, outputs = _lm_graph(g, cfg, task.get("word_classes"))
    else:
        inputs, outputs = {"classifier": _classifier_graph, "tagger": _tagger_graph}[kind](g, cfg)
    return g.model(f"rnnkit_{kind}", inputs, outputs,
                   {"model": kind, "config": json.dumps(cfg), "rnnkit_export": json.dumps(record)})


def vocab_path(output: str | os.PathLike) -> Path:
    """Where the vocabulary goes beside the graph ``output``: model.onnx -> model.vocab.json."""
    return beside(output, VOCAB_SUFFIX)


def check_outputs(output: str | os.PathLike, source: str | os.PathLike | None = None) -> None:
    """ValueError (one line) unless both files of an ONNX export can be written, checked before either is: the
    graph ``output`` and its vocabulary (:func:`vocab_path`), by the rules of every model written
    (:func:`rnnkit.data.files.check_output_path`): a regular file, not a device or a pipe, nor a folder; a name
    without a compressed suffix; and neither the checkpoint ``source`` being exported.  A graph named like a
    vocabulary file (``m.vocab.json``) is refused: it would replace another export's vocabulary and put its
    own in ``m.vocab.vocab.json``."""
    from rnnkit.data.files import check_output_path

    refuse_beside_name(output, VOCAB_SUFFIX, "vocabulary file", ".onnx")
    inputs = [str(source)] if source is not None else []
    check_output_path(str(output), "-o", make_folders=True, suffix=".onnx", inputs=inputs)
    check_beside(output, VOCAB_SUFFIX, "vocabulary file", source)


def vocab_json(kind: str, task: dict[str, Any]) -> dict[str, Any]:
    """The vocabulary file's content (module docstring)."""
    if kind == "lm":
        vocab = Vocabulary.from_json(task["vocab"])
        return {"model": kind, "level": task["level"], "start_token": start_token(vocab, task["level"]),
                "vocab": json.loads(task["vocab"])}
    enc = dict(task["encoder"])
    for key in ("vocab", "words", "chars", "bigrams"):
        if isinstance(enc.get(key), str):
            enc[key] = json.loads(enc[key])
    if isinstance(enc.get("features"), list):  # a tagger's feature columns: one vocabulary each
        enc["features"] = [json.loads(v) if isinstance(v, str) else v for v in enc["features"]]
    rules = decoding_rules(task) if kind == "tagger" else None
    return {"model": kind, **enc, **({"rules": rules} if rules else {})}


def export_onnx(source: str | os.PathLike, output: str | os.PathLike, dtype: str | None = None,
                last: bool = False) -> tuple[ExportReport, str]:
    """Write the model of ``source`` (a checkpoint or a run folder) as an ONNX graph to ``output`` and its
    vocabulary to :func:`vocab_path`, atomically; return the report and the onnxruntime code
    (:func:`rnnkit.export_onnx_code.onnx_code`) that uses them.  ``dtype``: "float32" (the default) or
    "float16" (weights stored in half precision, computed in float32)."""
    from rnnkit.export_onnx_code import onnx_code

    _onnx()  # before any work: the one line that says how to install it
    output = Path(output)
    path, arrays, meta, model, new_meta, largest = read_for_export(source, output, dtype, last)
    check_outputs(output, path)
    task = new_meta["task"]
    kind = task["model"]
    model = {k[len("model/"):]: v for k, v in model.items()}
    if kind == "seq2seq":  # a translator: what it lacks, and its decoder step's file (rnnkit.export_onnx_seq2seq)
        from rnnkit.export_onnx_seq2seq import check_translator, export_translator

        check_translator(task, path, output, (arrays, meta))
    else:
        check_supported(kind, task, model, path, "--onnx", (arrays, meta))
    del arrays  # the optimizer's state and the rest that only training needs
    wide = [k for k, v in model.items() if v.dtype == np.float64]  # a float64 model (--dtype float64 in training)
    if wide:  # runs in float32, as ONNX serves it
        largest = max(largest, narrow(model, np.float32, wide))
        new_meta["export"]["dtype"] = "float32"
    size = sum(v.nbytes for v in model.values())
    if size > ONNX_LIMIT:
        raise ValueError(f"--onnx: the weights of {path} take {size:,} bytes, beyond what one ONNX file holds (2 GiB, "
                         "protobuf's limit); export with dtype float16 (--dtype float16) to halve them, or as an "
                         "rnnkit checkpoint (export_model; without --onnx)")
    vocab_file = vocab_path(output)
    if kind == "seq2seq":  # two graphs, the encoder and one decoder step
        return export_translator(path, output, meta, new_meta, model, largest, vocab_file)
    bpe = bpe_side_file(kind, task, path, output, ".onnx")  # a BPE-level model's SentencePiece model, beside it
    with reading_metadata(path, "model"):
        record = new_meta["export"]
        data = onnx_model(kind, task, model, record).SerializeToString()
        words = json.dumps(vocab_json(kind, task), ensure_ascii=False, indent=1)
        code = onnx_code(kind, task, os.path.abspath(output), os.path.abspath(vocab_file), record, str(path),
                         None if bpe is None else os.path.abspath(bpe[0]))
    vocab = (vocab_file, (words + "\n").encode("utf-8"))
    written, sides = write_export(output, data, [vocab] if bpe is None else [vocab, bpe])
    return written_report(path, output, meta, kind, record, largest, written, sides), code
