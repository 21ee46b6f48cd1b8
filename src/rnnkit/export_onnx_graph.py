r"""The ONNX graphs of rnnkit's language models, classifiers and softmax taggers, built from their weights
(:mod:`rnnkit.export_onnx` writes them; ``rnnkit export --onnx``).

Every graph is time-major, as rnnkit is: token ids ``ids`` (T, B) int64, padded at the end.  The recurrent
layers are ONNX's own ``RNN`` (tanh), ``LSTM`` and ``GRU`` operators, one per stacked layer, both directions
in one operator for a bidirectional layer; a layer-normalized layer, which no ONNX operator has, is a ``Scan``
over one step of its cell (:mod:`rnnkit.export_onnx_ln`).  The operators' conventions differ from PyTorch's (and
rnnkit's), so the weights are rearranged here, exactly (a permutation of rows, no arithmetic)::

    PyTorch / rnnkit                                   ONNX
    weight_ih_l{k} (G*H, D), gates LSTM i,f,g,o        W (dirs, G*H, D), gates LSTM i,o,f,c
                              GRU  r,z,n                                  GRU  z,r,h
    weight_hh_l{k} (G*H, H)                            R (dirs, G*H, H), the same order
    bias_ih_l{k}, bias_hh_l{k} (G*H,)                  B (dirs, 2*G*H) = [bias_ih ; bias_hh], the same order
    suffix _reverse                                    direction "bidirectional": index 1 of dirs
    weight_ci, weight_cf, weight_co (H,) (--peephole)  P (dirs, 3*H) = [p_i ; p_o ; p_f]

PyTorch's GRU puts b_hn inside the reset gate, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): ONNX's
``linear_before_reset=1``.  Variable lengths go in as ``sequence_lens`` (int32): the outputs past a
sentence's end are 0, its final state is the one at its last real token, and the reverse direction reads
only the real tokens, backwards, as rnnkit's does.

Float16 weights (``--dtype float16``) are stored as float16 initializers, each widened by a ``Cast`` to
float32 at the start of the graph: the file is half the size and the model computes in float32 with the
rounded weights, as rnnkit's own loaders do with a float16 export.
"""
from __future__ import annotations

from typing import Any

import numpy as np

OPSET = 17  # ReduceSum takes its axes as an input, ReduceMax as an attribute (until opset 18)
IR_VERSION = 8  # opset 17's IR version: onnxruntime 1.13 and later read it
FLOAT, INT32, INT64 = 1, 6, 7  # onnx.TensorProto's element types (onnx is imported only when a graph is built)
_GATES = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}  # ONNX's gate i is PyTorch's gate _GATES[cell][i]
_OP = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


class Graph:
    """A graph being built: nodes and initializers, each node's output named ``{op}_{n}``."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights  # the model's arrays, no "model/" prefix
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._done: dict[str, str] = {}  # constants already added: their name in the graph
        self._count = 0

    def op(self, op_type: str, inputs: list[str], outputs: int | list[str] = 1, **attrs: Any) -> Any:
        """Add a node; its output's name (or, for ``outputs`` > 1 or a list of names, the names)."""
        from onnx import helper

        if isinstance(outputs, int):
            names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        else:
            names = outputs
        self.nodes.append(helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if isinstance(outputs, int) and outputs == 1 else names

    def model(self, name: str, inputs: list[tuple], outputs: list[tuple], props: dict[str, str]) -> Any:
        """The checked ``onnx.ModelProto`` of this graph, named ``name``: ``inputs`` and ``outputs`` as (name,
        element type, shape), rnnkit as its producer (with its version), opset :data:`OPSET`, metadata ``props``."""
        import onnx
        from onnx import helper

        from rnnkit._version import __version__

        values = [[helper.make_tensor_value_info(*v) for v in vs] for vs in (inputs, outputs)]
        graph = helper.make_graph(self.nodes, name, *values, self.initializers)
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rnnkit",
                                  producer_version=__version__, ir_version=IR_VERSION)
        helper.set_model_props(proto, props)
        onnx.checker.check_model(proto)
        return proto

    def fresh(self, what: str) -> str:
        """A new name, ``{what}_{n}``, unused in the graph."""
        self._count += 1
        return f"{what}_{self._count}"

    def const(self, name: str, value: np.ndarray) -> str:
        """An initializer ``name`` holding ``value``; a float16 one is widened to float32 by a Cast."""
        from onnx import TensorProto, numpy_helper

        if name in self._done:
            return self._done[name]
        value = np.ascontiguousarray(value) if value.ndim else value  # a scalar stays one (ascontiguousarray: (1,))
        self.initializers.append(numpy_helper.from_array(value, name))
        out = name
        if value.dtype == np.float16:
            out = self.op("Cast", [name], [name + ".float32"], to=TensorProto.FLOAT)
            out = out[0]
        self._done[name] = out
        return out

    def minus_inf(self) -> str:
        """The float32 scalar -inf (a masked score), one initializer for every op that reads it."""
        return self.const("minus_inf", np.array(-np.inf, np.float32))

    def zero(self) -> str:
        """The float32 scalar 0, one initializer for every op that reads it."""
        return self.const("zero_float", np.array(0.0, np.float32))

    def ints(self, name: str, values: list[int]) -> str:
        return self.const(name, np.array(values, np.int64))

    def weight(self, name: str) -> str:
        return self.const(name, self.weights[name])

    def transposed(self, name: str) -> str:
        """The weight ``name`` (out, in) stored transposed as ``{name}^T``, (in, out): MatMul's layout."""
        return self.const(name + "^T", np.ascontiguousarray(self.weights[name].T))

    def linear(self, x: str, prefix: str, bias: bool = True) -> str:
        """x @ W^T (+ b) of the weights ``{prefix}.weight`` (out, in) (and ``{prefix}.bias``), over x's last axis."""
        y = self.op("MatMul", [x, self.transposed(prefix + ".weight")])
        return self.op("Add", [y, self.weight(prefix + ".bias")]) if bias else y


def _gate_blocks(a: np.ndarray, cell: str) -> np.ndarray:
    """The rows of a (G*H, ...) weight or (G*H,) bias in ONNX's gate order."""
    blocks = np.split(a, len(_GATES[cell]), axis=0)
    return np.concatenate([blocks[i] for i in _GATES[cell]], axis=0)


def recurrent_stack(g: Graph, x: str, cfg: dict[str, Any], bidirectional: bool, lengths: str = "",
                    h0: str = "", c0: str = "", prefix: str = "rnn") -> tuple[str, list[str], list[str]]:
    """The outputs (T, B, dirs*H) of the stacked layers ``{prefix}.*`` (``rnn.*``, a tagger's character BiLSTM
    ``char_rnn.*``) over x (T, B, D), and every layer's final
    h (and, for an LSTM, c): (dirs, B, H) each.  With ``cfg["residual"]`` layer k >= 1 adds its input to its
    output (an ``Add`` after its operator), as :mod:`rnnkit.recurrent` does.  ``lengths``: int32 (B,) or ""
    (every sequence T steps); ``h0``, ``c0``: initial states (L, B, H) of a one-direction stack, or "" (zeros)."""
    cell, H, L = cfg["cell"], cfg["hidden_size"], cfg["num_layers"]
    dirs = ["", "_reverse"] if bidirectional else [""]
    finals_h, finals_c = [], []
    for k in range(L):
        if cfg.get("layer_norm"):  # no ONNX operator has LN: a Scan over one step of the cell
            from rnnkit.export_onnx_ln import ln_layer

            y, h_n, c_n = ln_layer(g, x, cfg, k, bidirectional, lengths, h0, c0, prefix)
            finals_h.append(h_n)
            finals_c += [c_n] if c_n else []
            x = g.op("Add", [y, x]) if cfg.get("residual") and k > 0 else y
            continue
        names = [f"{prefix}.{what}_l{k}{d}" for what in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                 for d in dirs]
        w_ih, w_hh, b_ih, b_hh = (names[i * len(dirs):(i + 1) * len(dirs)] for i in range(4))
        W = np.stack([_gate_blocks(g.weights[n], cell) for n in w_ih])  # (dirs, G*H, D)
        R = np.stack([_gate_blocks(g.weights[n], cell) for n in w_hh])  # (dirs, G*H, H)
        B = np.stack([np.concatenate([_gate_blocks(g.weights[i], cell), _gate_blocks(g.weights[h], cell)])
                      for i, h in zip(b_ih, b_hh)])  # (dirs, 2*G*H)
        inputs = [x, g.const(f"{prefix}.W_l{k}", W), g.const(f"{prefix}.R_l{k}", R),
                  g.const(f"{prefix}.B_l{k}", B), lengths]
        if h0:
            start, end = g.ints(f"layer_{k}", [k]), g.ints(f"layer_{k + 1}", [k + 1])
            inputs.append(g.op("Slice", [h0, start, end]))  # (1, B, H)
            if c0:
                inputs.append(g.op("Slice", [c0, start, end]))
        if cfg.get("peephole"):  # P (dirs, 3H): p_i, p_o, p_f, ONNX's order; initial_h and initial_c "" when absent
            P = np.stack([np.concatenate([g.weights[f"{prefix}.weight_c{gate}_l{k}{d}"] for gate in "iof"])
                          for d in dirs])
            inputs += [""] * (7 - len(inputs)) + [g.const(f"{prefix}.P_l{k}", P)]
        attrs: dict[str, Any] = {"hidden_size": H, "direction": "bidirectional" if bidirectional else "forward"}
        if cell == "gru":
            attrs["linear_before_reset"] = 1  # PyTorch's b_hn inside r * (W_hn h + b_hn)
        if cell == "rnn":
            attrs["activations"] = ["Tanh"] * len(dirs)
        outs = g.op(_OP[cell], inputs, 3 if cell == "lstm" else 2, **attrs)
        y = outs[0]  # (T, dirs, B, H)
        finals_h.append(outs[1])
        if cell == "lstm":
            finals_c.append(outs[2])
        y = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # (T, B, dirs, H)
        y = g.op("Reshape", [y, g.ints("T_B_minus1", [0, 0, -1])])  # (T, B, dirs*H): [forward ; backward]
        # residual (rnnkit.recurrent): layer k >= 1 outputs RNN_k(x_k) + x_k, dropout off; both 0 past a sentence's
        # end; the final states stay the cells' own
        x = g.op("Add", [y, x]) if cfg.get("residual") and k > 0 else y
    return x, finals_h, finals_c


def real_steps(g: Graph, ids: str, lengths: str) -> str:
    """The bool mask (T, B) of the real tokens: t < lengths[b]."""
    T = g.op("Gather", [g.op("Shape", [ids]), g.const("zero", np.array(0, np.int64))], axis=0)  # ()
    t = g.op("Range", [g.const("zero", np.array(0, np.int64)), T, g.const("one", np.array(1, np.int64))])  # (T,)
    return g.op("Less", [g.op("Unsqueeze", [t, g.ints("axis_1", [1])]),
                         g.op("Unsqueeze", [lengths, g.ints("axis_0", [0])])])  # (T, B)


def adaptive_log_probs(g: Graph, h: str, cfg: dict[str, Any]) -> str:
    """log P(w | h) (..., V) of the adaptive softmax ``decoder.*`` (:mod:`rnnkit.lm.adaptive_softmax`)."""
    bounds = list(cfg["cutoffs"]) + [cfg["vocab_size"]]
    shortlist = bounds[0]
    bias = "decoder.head.bias" in g.weights
    head = g.op("LogSoftmax", [g.linear(h, "decoder.head", bias)], axis=-1)  # (..., c_0 + K)
    last = g.ints("axis_last", [-1])
    parts = [g.op("Slice", [head, g.ints("zero_1", [0]), g.ints("shortlist", [shortlist]), last])]
    for i in range(len(bounds) - 1):
        t = g.linear(g.linear(h, f"decoder.tail.{i}.0", False), f"decoder.tail.{i}.1", False)  # (..., c_i+1 - c_i)
        cluster = g.op("Slice", [head, g.ints(f"cluster_{i}", [shortlist + i]), g.ints(f"cluster_{i}_end",
                                                                                        [shortlist + i + 1]), last])
        parts.append(g.op("Add", [g.op("LogSoftmax", [t], axis=-1), cluster]))  # log P(cluster) + log P(w | cluster)
    return g.op("Concat", parts, axis=-1)


def class_log_probs(g: Graph, h: str, z: str, word_classes: list[int]) -> str:
    """log P(w | h) (..., V) of the class-based softmax (:mod:`rnnkit.lm.class_softmax`) of the recurrent states
    h (..., H) and the word logits z = W h + b (..., V): log P(c(w) | h) + log P(w | c(w), h), each class's words'
    log-softmax taken over those words alone (a ``Slice`` and a ``LogSoftmax`` per class, its own max shift)."""
    classes = np.asarray(word_classes, np.int64)  # (V,): every word's class
    order = np.argsort(classes, kind="stable")  # the word ids, class by class
    bounds = np.searchsorted(classes[order], np.arange(int(classes.max()) + 2))  # class c: order[bounds[c]:bounds[c+1]]
    u = g.transposed("decoder.class_weight")  # (H, C)
    cl = g.op("LogSoftmax", [g.op("Add", [g.op("MatMul", [h, u]), g.weight("decoder.class_bias")])], axis=-1)
    # cl (..., C): log P(c | h)
    zc = g.op("Gather", [z, g.ints("class_order", order.tolist())], axis=-1)  # (..., V) in class order
    last, parts = g.ints("axis_last", [-1]), []
    for c in range(len(bounds) - 1):
        within = g.op("Slice", [zc, g.ints(f"class_{c}", [bounds[c]]), g.ints(f"class_{c}_end", [bounds[c + 1]]), last])
        log_c = g.op("Slice", [cl, g.ints(f"index_{c}", [c]), g.ints(f"index_{c}_end", [c + 1]), last])  # (..., 1)
        parts.append(g.op("Add", [g.op("LogSoftmax", [within], axis=-1), log_c]))
    back = g.ints("word_order", np.argsort(order, kind="stable").tolist())  # word w's place in class order
    return g.op("Gather", [g.op("Concat", parts, axis=-1), back], axis=-1)  # (..., V) in word order
