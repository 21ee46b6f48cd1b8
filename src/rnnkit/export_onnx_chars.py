r"""A tagger's character features in ONNX (:mod:`rnnkit.export_onnx`): the char BiLSTM (Lample et al. 2016,
:mod:`rnnkit.tagging.char_features`) with ONNX's ``LSTM`` operator, or the char CNN (Ma & Hovy 2016,
``--char-encoder cnn``, :mod:`rnnkit.tagging.char_cnn`) with ``Conv`` and ``ReduceMax``.

The graph takes each word's characters as two more inputs, beside ``ids`` (T, B) and ``lengths`` (B,)::

    chars         (T, B, Lc) int64  the character ids of word (t, b), padded at the end with any id (0) to Lc,
                                    at least the longest word's length
    char_lengths  (T, B) int64      its characters, >= 1 (past a sentence's end any value, 0 too)

read as rnnkit reads them (:meth:`rnnkit.tagging.task.TaggerEncoder.encode`): the word as it is, width-folded
with ``fold_width`` but never lowercased (the characters keep their case), each character's id in the
vocabulary file's ``chars`` (``<unk>``'s id for one it lacks), and a word longer than ``max_chars`` cut to its
first ``max_chars // 2`` and its last ``max_chars - max_chars // 2`` characters
(:func:`rnnkit.tagging.char_features.char_matrix`).  The printed code's ``spelled`` does exactly that.

BiLSTM: the T*B words are the batch of one bidirectional ``LSTM`` over their Lc characters, ``sequence_lens``
their lengths, and a word's features are ``[h_fwd ; h_bwd]``, the forward state after its last character and
the backward state after its first (the reverse direction reads only the real characters), (T, B, 2 Hc).

CNN: the characters past a word's length are zero vectors, the word is padded with k - 1 zero vectors each
side (``Conv``'s ``pads``), the windows past its n + k - 1 are -inf in the max, and f(w) = tanh(max_p z_p),
(T, B, F).  Dropout is off, as in rnnkit's inference.
"""
from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from rnnkit.export_onnx_graph import FLOAT, INT32, INT64, Graph, recurrent_stack

CHAR_INPUTS = [("chars", INT64, ["T", "B", "Lc"]), ("char_lengths", INT64, ["T", "B"])]


def char_features(g: Graph, cfg: dict[str, Any]) -> str:
    """The character features (T, B, 2 Hc) or (T, B, F) of the inputs ``chars`` and ``char_lengths`` (module
    docstring) of a tagger configured by ``cfg``."""
    emb = g.op("Gather", [g.weight("char_embedding.weight"), "chars"], axis=0)  # (T, B, Lc, Ec)
    return _cnn(g, emb) if cfg.get("char_encoder") == "cnn" else _bilstm(g, cfg, emb)


def _bilstm(g: Graph, cfg: dict[str, Any], emb: str) -> str:
    Ec = g.weights["char_embedding.weight"].shape[1]
    x = g.op("Reshape", [g.op("Transpose", [emb], perm=[2, 0, 1, 3]), g.ints("Lc_N_Ec", [0, -1, Ec])])  # (Lc, T*B, Ec)
    flat = g.op("Reshape", ["char_lengths", g.ints("minus1", [-1])])  # (T*B,)
    Lc = g.op("Gather", [g.op("Shape", ["chars"]), g.const("two", np.array(2, np.int64))], axis=0)  # ()
    # sequence_lens in [1, Lc] (an LSTM refuses more than Lc): past a sentence's end any value, 0 or 99 too
    lens = g.op("Cast", [g.op("Min", [g.op("Max", [flat, g.const("one", np.array(1, np.int64))]), Lc])], to=INT32)
    lstm = {"cell": "lstm", "hidden_size": cfg["char_hidden"], "num_layers": 1}
    _, hs, _ = recurrent_stack(g, x, lstm, True, lengths=lens, prefix="char_rnn")  # hs[0]: (2, T*B, Hc)
    h = g.op("Transpose", [hs[0]], perm=[1, 0, 2])  # (T*B, 2, Hc): [forward final ; backward final]
    shape = g.op("Concat", [g.op("Shape", ["char_lengths"]), g.ints("minus1", [-1])], axis=0)  # [T, B, -1]
    return g.op("Reshape", [h, shape])  # (T, B, 2 Hc)


def _cnn(g: Graph, emb: str) -> str:
    F, Ec, k = g.weights["char_cnn.weight"].shape
    zero, one = g.const("zero", np.array(0, np.int64)), g.const("one", np.array(1, np.int64))
    Lc = g.op("Gather", [g.op("Shape", ["chars"]), g.const("two", np.array(2, np.int64))], axis=0)  # ()
    real = g.op("Less", [g.op("Range", [zero, Lc, one]), g.op("Unsqueeze", ["char_lengths", g.ints("axis_2", [2])])])
    # real (T, B, Lc): a word's characters; past its length they are its end padding, zero vectors
    x = g.op("Mul", [emb, g.op("Cast", [g.op("Unsqueeze", [real, g.ints("axis_3", [3])])], to=FLOAT)])
    words = g.op("Concat", [g.ints("minus1", [-1]), g.op("Unsqueeze", [Lc, g.ints("axis_0", [0])]),
                            g.ints("Ec", [Ec])], axis=0)  # [-1, Lc, Ec]
    x = g.op("Transpose", [g.op("Reshape", [x, words])], perm=[0, 2, 1])
    # x (T*B, Ec, Lc); z (T*B, F, Lc + k - 1): every window of the word padded with k - 1 zero vectors each side
    z = g.op("Conv", [x, g.weight("char_cnn.weight"), g.weight("char_cnn.bias")], kernel_shape=[k], pads=[k - 1, k - 1])
    P = g.op("Add", [Lc, g.const("window_minus1", np.array(k - 1, np.int64))])  # ()
    flat = g.op("Reshape", ["char_lengths", g.ints("minus1", [-1])])  # (T*B,)
    ends = g.op("Add", [flat, g.const("window_minus1", np.array(k - 1, np.int64))])  # each word's n + k - 1 windows
    windows = g.op("Less", [g.op("Range", [zero, P, one]), g.op("Unsqueeze", [ends, g.ints("axis_1", [1])])])
    windows = g.op("Unsqueeze", [windows, g.ints("axis_1", [1])])  # (T*B, 1, P)
    z = g.op("Where", [windows, z, g.minus_inf()])  # later windows never win
    f = g.op("Tanh", [g.op("ReduceMax", [z], axes=[2], keepdims=0)])  # (T*B, F)
    shape = g.op("Concat", [g.op("Shape", ["char_lengths"]), g.ints("minus1", [-1])], axis=0)  # [T, B, -1]
    return g.op("Reshape", [f, shape])  # (T, B, F)


def spelled_code(enc: dict[str, Any]) -> list[str]:
    """The printed code's ``spelled(words)``: the inputs ``chars`` and ``char_lengths`` of one sentence, read as
    rnnkit.tagging.task.TaggerEncoder reads them (module docstring)."""
    fold = enc.get("fold_width")
    doc = ('"""The inputs chars (T, 1, Lc) and char_lengths (T, 1) of a sentence\'s words, read as rnnkit reads them: '
           + ("each word width-folded (not lowercased: characters keep their case)" if fold else
              "each word as it is (not lowercased: characters keep their case)") +
           ", a word longer than max_chars cut to its first max_chars // 2 and last characters, each character's "
           'id in vocab["chars"] (<unk> for one it lacks), padded with 0."""')
    return ["def spelled(words):", *("    " + line for line in textwrap.wrap(doc, 112)),
            '    index = {c: i for i, c in enumerate(vocab["chars"]["tokens"])}',
            '    unk, most = index[vocab["chars"]["unk_token"]], vocab["max_chars"]',
            "    rows = []",
            "    for word in words:",
            *(["        word = fold_width(word)"] if fold else []),
            "        if len(word) > most:  # its prefix and suffix carry what a tagger needs",
            "            word = word[: most // 2] + word[len(word) - (most - most // 2):]",
            "        rows.append([index.get(c, unk) for c in word])",
            "    chars = np.zeros((len(rows), 1, max(map(len, rows))), np.int64)  # (T, 1, Lc)",
            "    for t, row in enumerate(rows):",
            "        chars[t, 0, : len(row)] = row",
            '    return {"chars": chars, "char_lengths": np.array([[len(row)] for row in rows])}']
