r"""A translator (``rnnkit train seq2seq``) as two ONNX graphs for onnxruntime: the encoder, and one decoder step.

``rnnkit export RUN -o m.onnx --onnx`` writes the encoder to ``m.onnx``, the decoder step to ``m.step.onnx``
(:func:`step_path`) and both sides' vocabularies and tokenizers to ``m.vocab.json``, and prints
(:mod:`rnnkit.export_onnx_seq2seq_code`) the onnxruntime code that translates a sentence with them, greedily or by
beam search, as ``rnnkit translate`` does.  The graphs compute what :class:`rnnkit.seq2seq.model.Seq2Seq` computes
(:mod:`rnnkit.seq2seq.decoder_step`, :mod:`rnnkit.seq2seq.attention`, :mod:`rnnkit.seq2seq.bridge`)::

    encoder  ids (S, B) int64 source ids, padded;       memory (B, S, Hk): the encoder's states, batch-major as
             lengths (B,) int64, real tokens (1 to S)   rnnkit keeps them (0 past a sentence's end); src_mask
                                                        (B, S) bool, True at real tokens; h (L, B, H) and for an
                                                        LSTM c: the decoder's initial state, tanh(W_b s + b_b)
                                                        of the top layer's final states (the bridge)
    step     ids (B,) int64: the previous target token  log_probs (B, V): log P(next token); h_next (and
             (<bos>, id 1, first); h (and c) (L, B, H);   c_next); with input feeding feed_next (B, H), h~_t;
             with input feeding feed (B, H), h~_{t-1}     with attention attention (B, S), the weights a_j
             (zeros first); with attention memory and
             src_mask as the encoder gave them
    copy     + src_ext (B, S) int64: each source token's    log_probs (B, V + X) over the extended vocabulary: X
             target id, or V + k for the sentence's k-th    the batch's source words outside the target one;
             distinct word outside the target vocabulary    an id >= V fed back in ``ids`` is read as <unk>
             (any value at padding: read as 0 where
             src_mask is False)
    coverage + coverage (B, S): sum of the earlier steps'   + coverage_next (B, S) = coverage + attention
             attention (zeros first)

The encoder's layers are ONNX's RNN, LSTM and GRU operators (:func:`rnnkit.export_onnx_graph.recurrent_stack`,
residual and peephole too; layer-normalized ones a ``Scan`` over one step of the cell, :mod:`rnnkit.export_onnx_ln`);
the decoder's stacked cells are the same run for one step (T = 1), then
plain operators: attention (dot e_j = h . s_j, general e_j = h . W s_j, additive e_j = v . tanh(W_q h + W_k s_j),
or none), a softmax over the real source tokens, the context c = sum_j a_j s_j, h~ = tanh(W_c [c ; h] + b_c) and
log_softmax(W_o h~ + b_o), W_o the target embedding with tied weights; with copy attention the output is the
pointer-generator's mixture of that softmax and the attention, and with coverage the additive score reads w_cov
cov_j (:mod:`rnnkit.export_onnx_copy`).  The key projection W s_j is made in every
step from ``memory`` (one (B, S, Hk) x (Hk, K) product: small beside the output layer's (B, H) x (H, V)).

The vocabulary file is JSON: ``model`` ("seq2seq"), ``source_vocab`` and ``target_vocab`` (``tokens``, token i
has id i; ``unk_token``, ``eos_token``), ``source_tokenizer`` and ``target_tokenizer`` (``level``: word, punct,
char or bpe; ``lowercase``; a BPE side's SentencePiece model as base64 in ``bpe_model``), ``length_rule``
(each sentence's decoding limit, ceil(ratio * n) + extra steps: :mod:`rnnkit.seq2seq.lengths`) and the special
ids (``pad`` 0, ``bos`` 1, ``eos`` 2).
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_task import reading_metadata
from rnnkit.data.parallel import BOS_ID, EOS_ID, PAD_ID
from rnnkit.export import ExportReport, beside, check_beside, refuse_beside_name, written_report
from rnnkit.export_names import STEP_SUFFIX
from rnnkit.export_onnx_copy import fed_ids, mixture, score_input
from rnnkit.export_onnx_graph import FLOAT, INT32, INT64, Graph, real_steps, recurrent_stack
from rnnkit.export_torch import write_export
from rnnkit.seq2seq.lengths import LengthRule



def step_path(output: str | os.PathLike) -> Path:
    """Where the decoder step goes beside the encoder ``output``: m.onnx -> m.step.onnx."""
    return beside(output, STEP_SUFFIX)


def check_translator(task: dict[str, Any], path: Path | str, output: str | os.PathLike,
                     loaded: ckpt.Loaded | None = None) -> None:
    """CheckpointError (one line) when rnnkit's own loader refuses the checkpoint ``path`` (a weight missing, a
    damaged configuration: an export builds only what rnnkit reads), or ValueError for a decoder step file
    (:func:`step_path` of ``output``) that cannot be written, checked before any file is written; an ``output``
    itself named ``*.step.onnx`` too (it would replace another export's step and put its own in ``m.step.step.onnx``).
    ``loaded``: the checkpoint's ``(arrays, meta)``, when read already (:func:`rnnkit.export_scope.check_loadable`)."""
    from rnnkit.export_scope import check_loadable

    check_loadable("seq2seq", path, loaded)
    refuse_beside_name(output, STEP_SUFFIX, "decoder step file", ".onnx")
    check_beside(output, STEP_SUFFIX, "decoder step", path)


def _bridge(g: Graph, final: str, name: str, L: int, H: int, out: str) -> None:
    """The decoder's initial ``out`` (L, B, H) = tanh(W s + b) of the top layer's final states ``final``
    (dirs, B, H_enc), s = [forward ; backward] (B, Hk)."""
    s = g.op("Reshape", [g.op("Transpose", [final], perm=[1, 0, 2]), g.ints("B_minus1", [0, -1])])  # (B, Hk)
    z = g.op("Tanh", [g.linear(s, name)])  # (B, L*H)
    per_layer = g.op("Reshape", [z, g.ints("B_L_H", [0, L, H])])  # (B, L, H)
    g.op("Transpose", [per_layer], [out], perm=[1, 0, 2])  # (L, B, H)


def encoder_graph(g: Graph, cfg: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """The encoder's graph (module docstring): (inputs, outputs) as (name, element type, shape)."""
    L, H, lstm = cfg["decoder_layers"], cfg["decoder_hidden_size"], cfg["cell"] == "lstm"
    Hk = cfg["encoder_hidden_size"] * (2 if cfg["bidirectional"] else 1)
    stack = {"cell": cfg["cell"], "hidden_size": cfg["encoder_hidden_size"], "num_layers": cfg["encoder_layers"],
             "residual": cfg.get("residual"), "peephole": cfg.get("peephole"), "layer_norm": cfg.get("layer_norm")}
    lengths = g.op("Cast", ["lengths"], to=INT32)  # sequence_lens' type
    x = g.op("Gather", [g.weight("src_embedding.weight"), "ids"], axis=0)  # (S, B, E_src)
    out, hs, cs = recurrent_stack(g, x, stack, cfg["bidirectional"], lengths=lengths, prefix="encoder")
    _bridge(g, hs[-1], "bridge", L, H, "h")
    if lstm:
        _bridge(g, cs[-1], "bridge_c", L, H, "c")
    outputs = [("h", FLOAT, [L, "B", H])] + ([("c", FLOAT, [L, "B", H])] if lstm else [])
    if cfg["attention"] != "none":
        g.op("Transpose", [out], ["memory"], perm=[1, 0, 2])  # (B, S, Hk)
        g.op("Transpose", [real_steps(g, "ids", "lengths")], ["src_mask"], perm=[1, 0])  # (B, S)
        outputs = [("memory", FLOAT, ["B", "S", Hk]), ("src_mask", 9, ["B", "S"])] + outputs  # 9: BOOL
    return [("ids", INT64, ["S", "B"]), ("lengths", INT64, ["B"])], outputs


def _attention(g: Graph, kind: str, h: str, coverage: bool = False) -> tuple[str, str]:
    """The context (B, Hk) of the query h (B, H) over ``memory`` (B, S, Hk), and the masked scores (B, S) (-inf
    at padding); the weights go to ``attention``.  ``coverage`` (additive): the score reads the input ``coverage``
    (B, S), and ``coverage_next`` = coverage + a is an output."""
    if kind == "additive":  # e_j = v . tanh(W_q h + W_k s_j [+ w_cov cov_j])
        keys = g.op("MatMul", ["memory", g.transposed("attention.W_k")])  # (B, S, A)
        query = g.op("MatMul", [h, g.transposed("attention.W_q")])  # (B, A)
        pre = g.op("Add", [keys, g.op("Unsqueeze", [query, g.ints("axis_1", [1])])])  # (B, S, A)
        u = g.op("Tanh", [score_input(g, pre, "coverage") if coverage else pre])
        scores = g.op("MatMul", [u, g.weight("attention.v")])  # (B, S)
    else:  # dot e_j = h . s_j; general e_j = h . (W s_j)
        keys = "memory" if kind == "dot" else g.op("MatMul", ["memory", g.transposed("attention.W")])  # (B, S, H)
        scores = g.op("Squeeze", [g.op("MatMul", [keys, g.op("Unsqueeze", [h, g.ints("axis_2", [2])])]),
                                  g.ints("axis_2", [2])])  # (B, S)
    scores = g.op("Where", ["src_mask", scores, g.minus_inf()])
    a = g.op("Softmax", [scores], ["attention"], axis=-1)[0]  # 0 at padding
    if coverage:
        g.op("Add", ["coverage", a], ["coverage_next"])  # cov_{t+1} = cov_t + a_t
    context = g.op("MatMul", [g.op("Unsqueeze", [a, g.ints("axis_1", [1])]), "memory"])  # (B, 1, Hk)
    return g.op("Squeeze", [context, g.ints("axis_1", [1])]), scores  # (B, Hk)


def step_graph(g: Graph, cfg: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """One decoder step's graph (module docstring; :func:`rnnkit.seq2seq.decoder_step.step_forward`)."""
    L, H, V = cfg["decoder_layers"], cfg["decoder_hidden_size"], cfg["tgt_vocab_size"]
    lstm, feeding, kind = cfg["cell"] == "lstm", cfg["input_feeding"], cfg["attention"]
    Hk = cfg["encoder_hidden_size"] * (2 if cfg["bidirectional"] else 1)
    copy, coverage = bool(cfg.get("copy")), bool(cfg.get("coverage"))
    ids = fed_ids(g, "ids", V) if copy else "ids"  # an extended id is read as <unk>
    x = emb = g.op("Gather", [g.weight("tgt_embedding.weight"), ids], axis=0)  # (B, E)
    if feeding:
        x = g.op("Concat", [x, "feed"], axis=-1)  # (B, E + H): [E y_{t-1} ; h~_{t-1}]
    stack = {"cell": cfg["cell"], "hidden_size": H, "num_layers": L, "peephole": cfg.get("peephole"),
             "layer_norm": cfg.get("layer_norm")}
    x = g.op("Unsqueeze", [x, g.ints("axis_0", [0])])  # (1, B, D): one time step
    out, hs, cs = recurrent_stack(g, x, stack, False, h0="h", c0="c" if lstm else "", prefix="decoder")
    g.op("Concat", hs, ["h_next"], axis=0)  # (L, B, H)
    if lstm:
        g.op("Concat", cs, ["c_next"], axis=0)
    h = g.op("Squeeze", [out, g.ints("axis_0", [0])])  # (B, H): the top layer's output
    scores = ""
    if kind != "none":
        context, scores = _attention(g, kind, h, coverage)
        h = g.op("Concat", [context, h], axis=-1)  # (B, Hk + H): [c_t ; h_t]
    h_tilde = g.op("Tanh", [g.linear(h, "combine")], ["feed_next" if feeding else "h_tilde"])[0]  # (B, H)
    w_out = "tgt_embedding.weight" if cfg.get("tie_weights") else "output.weight"
    z = g.op("Add", [g.op("MatMul", [h_tilde, g.transposed(w_out)]), g.weight("output.bias")])  # (B, V)
    if copy:  # the pointer-generator's mixture over the extended ids; the gate reads [c_t ; h_t ; x_t]
        log_a = g.op("LogSoftmax", [scores], axis=-1)  # (B, S): finite where a_j underflows to 0
        mixture(g, z, g.op("Concat", [h, emb], axis=-1), log_a, V, "log_probs")  # (B, V + X)
    else:
        g.op("LogSoftmax", [z], ["log_probs"], axis=-1)
    state = [("h", FLOAT, [L, "B", H])] + ([("c", FLOAT, [L, "B", H])] if lstm else [])
    inputs = [("ids", INT64, ["B"])] + state + ([("feed", FLOAT, ["B", H])] if feeding else [])
    inputs += [("coverage", FLOAT, ["B", "S"])] if coverage else []
    outputs = [("log_probs", FLOAT, ["B", "V_ext" if copy else V]), ("h_next", FLOAT, [L, "B", H])]
    outputs += [("c_next", FLOAT, [L, "B", H])] if lstm else []
    outputs += [("feed_next", FLOAT, ["B", H])] if feeding else []
    outputs += [("coverage_next", FLOAT, ["B", "S"])] if coverage else []
    if kind != "none":
        inputs += [("memory", FLOAT, ["B", "S", Hk]), ("src_mask", 9, ["B", "S"])]
        inputs += [("src_ext", INT64, ["B", "S"])] if copy else []
        outputs += [("attention", FLOAT, ["B", "S"])]
    return inputs, outputs


def translator_models(task: dict[str, Any], model: dict[str, np.ndarray], record: dict[str, Any]) -> tuple[Any, Any]:
    """The checked ``onnx.ModelProto`` of the encoder and of the decoder step of a translator's arrays."""
    cfg = task["seq2seq_config"]
    protos = []
    for name, build in (("encoder", encoder_graph), ("decoder_step", step_graph)):
        g = Graph(model)
        inputs, outputs = build(g, cfg)
        protos.append(g.model(f"rnnkit_seq2seq_{name}", inputs, outputs, {
            "model": "seq2seq", "part": name, "config": json.dumps(cfg), "rnnkit_export": json.dumps(record)}))
    return protos[0], protos[1]


def translator_vocab(task: dict[str, Any]) -> dict[str, Any]:
    """The vocabulary file's content (module docstring)."""
    return {"model": "seq2seq", "source_vocab": json.loads(task["source_vocab"]),
            "target_vocab": json.loads(task["target_vocab"]), "source_tokenizer": task["source_tokenizer"],
            "target_tokenizer": task["target_tokenizer"],
            "length_rule": task.get("length_rule") or LengthRule().to_dict(),  # older checkpoints: rnnkit's default
            "pad": PAD_ID, "bos": BOS_ID, "eos": EOS_ID}


def export_translator(path: Path, output: str | os.PathLike, meta: dict[str, Any], new_meta: dict[str, Any],
                      model: dict[str, np.ndarray], largest: float, vocab_file: Path) -> tuple[ExportReport, str]:
    """:func:`rnnkit.export_onnx.export_onnx` of a translator checked by :func:`check_translator` (``model``: its
    float32 or float16 arrays, no prefix): the encoder to ``output``, the decoder step to :func:`step_path`, the
    vocabularies to ``vocab_file``; returns the report (its size: both graphs') and the onnxruntime code."""
    from rnnkit.export_onnx_seq2seq_code import translator_code

    task, record, step_file = new_meta["task"], new_meta["export"], step_path(output)
    with reading_metadata(path, "model"):
        encoder, step = (p.SerializeToString() for p in translator_models(task, model, record))
        words = json.dumps(translator_vocab(task), ensure_ascii=False, indent=1)
        code = translator_code(task, record, str(path), *(os.path.abspath(p) for p in (output, step_file, vocab_file)))
    written, sides = write_export(output, encoder, [(step_file, step), (vocab_file, (words + "\n").encode("utf-8"))])
    report = written_report(path, output, meta, "seq2seq", record, largest, written, sides)
    return replace(report, bytes_after=report.bytes_after + len(step)), code  # both graphs
