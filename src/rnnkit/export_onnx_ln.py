r"""Layer-normalized recurrent layers (``--layer-norm``) as ONNX graphs: a ``Scan`` whose body is one step of
the cell, for :func:`rnnkit.export_onnx_graph.recurrent_stack` (``rnnkit export --onnx``).

ONNX's RNN, LSTM and GRU operators have no layer normalization, so a layer-normalized layer is written out: the
input projection of every step is one ``MatMul`` before the loop (and, for the LSTM and the GRU, its LN too,
which does not depend on h), and a ``Scan`` over the steps carries h (and c) (B, H).  The LN is rnnkit's
(:func:`rnnkit.cells._layernorm.normalize`): (a - mean(a)) / sqrt(var(a) + eps) * gain + shift over the last
axis, var the biased variance, eps = 1e-5, written out with ``ReduceMean``, ``Sqrt`` and ``Reciprocal``.  The
projections are by row-centred weights, W - its mean row (:func:`rnnkit.cells._layernorm.centre_rows`; float16
weights, stored so, are centred in the graph, once widened), whose rows come out with mean 0, so their mean is
not taken again, as rnnkit does; the LSTM's LN of c_t takes it, the variance then of the centred row (two
passes).  ONNX's own ``LayerNormalization`` (opset 17) has the same definition, but subtracts the rounding left
in a centred row's mean that rnnkit keeps, and onnxruntime's kernel takes var as mean(a^2) - mean(a)^2: with
rows far from mean 0 either gives a few float32 digits fewer of rnnkit's outputs.  One step, as
:mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`, :mod:`rnnkit.cells.gru_ln` and
:mod:`rnnkit.cells.lstm_ln_peephole` state it (gate blocks in PyTorch's order, no rearranging)::

    Elman  u_t = x_t W_ih^T                                         (before the Scan)
           h_t = tanh(LN(u_t + h W_hh^T; g, s + b_ih + b_hh))
    LSTM   u_t = LN(x_t W_ih^T; g_ih, s_ih + s_hh + b_ih + b_hh)    (before the Scan)
           z = LN(h W_hh^T; g_hh, 0) + u_t = [z_i, z_f, z_g, z_o]       (s_hh added to u_t)
           i = sigmoid(z_i + p_i c) ;  f = sigmoid(z_f + p_f c) ;  g = tanh(z_g)     (p = 0 without peepholes)
           c_t = f c + i g ;  o = sigmoid(z_o + p_o c_t) ;  h_t = o tanh(LN(c_t; g_c, s_c))
    GRU    u_t = LN(x_t W_ih^T; g_ih, s_ih + b_ih)                  (before the Scan)
           v = LN(h W_hh^T; g_hh, s_hh + b_hh)
           r = sigmoid(u_r + v_r) ;  z = sigmoid(u_z + v_z) ;  n = tanh(u_n + r v_n) ;  h_t = n + z (h - n)

Variable lengths (``lengths``, int32 (B,)) go in as a mask (T, B, 1), t < lengths[b]: past a sequence's end
the state is kept (so the final state is the one at its last real step) and the output is 0, as rnnkit's
kernels do.  The reverse direction is the Scan's own (``scan_input_directions``, ``scan_output_directions``
1), from t = T-1 down: a sequence's padded steps come first and keep its initial state, so it reads its real
tokens backwards from that state, as rnnkit's reverse direction does (:func:`rnnkit.packing.reverse_time`
flips only the real tokens), and its outputs land at their own steps, 0 at the padding.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.cells._layernorm import centre_rows
from rnnkit.export_onnx_graph import FLOAT, INT64, Graph, real_steps

BOOL = 9  # onnx.TensorProto.BOOL
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # gate blocks of each cell's projections


def _weights(g: Graph, cfg: dict[str, Any], name: str) -> dict[str, str]:
    """The graph names of one layer and direction's arrays (``name``: e.g. ``rnn.{}_l0_reverse``, ``{}`` for
    the parameter), the projections transposed to MatMul's layout and the shifts that add to the same place
    summed (``Add`` nodes before the Scan, so that float16 weights are widened first, as rnnkit widens them)."""
    cell = cfg["cell"]

    def w(what: str) -> str:
        return g.weight(name.format(what))

    def wt(what: str) -> str:  # W - its mean row, transposed (in, out): a projection centred over its outputs
        key = name.format(what)
        w_ = g.weights[key]
        if w_.dtype != np.float16:  # rnnkit's own centring, the same float32 digits
            return g.const(key + "^T", np.ascontiguousarray(centre_rows(w_).T))
        t = g.transposed(key)  # float16 stored, centred once widened, in the graph
        return g.op("Sub", [t, g.op("ReduceMean", [t], axes=[1], keepdims=1)])

    out = {"w_ih": wt("weight_ih"), "w_hh": wt("weight_hh")}
    if cell == "rnn":
        out.update(gain=w("ln_weight"), shift=g.op("Add", [g.op("Add", [w("ln_bias"), w("bias_ih")]), w("bias_hh")]))
        return out
    out.update(g_ih=w("ln_ih_weight"), g_hh=w("ln_hh_weight"))
    if cell == "lstm":
        shifts = g.op("Add", [w("ln_ih_bias"), w("ln_hh_bias")])
        shift = g.op("Add", [shifts, g.op("Add", [w("bias_ih"), w("bias_hh")])])
        out.update(s_ih=shift, s_hh="", g_c=w("ln_cell_weight"), s_c=w("ln_cell_bias"))  # s_hh: in s_ih
        if cfg.get("peephole"):
            out.update({f"p_{gate}": w(f"weight_c{gate}") for gate in "ifo"})
    else:
        out.update(s_ih=g.op("Add", [w("ln_ih_bias"), w("bias_ih")]), s_hh=g.op("Add", [w("ln_hh_bias"), w("bias_hh")]))
    return out


def _ln(g: Graph, a: str, gain: str, shift: str, centred: bool = True) -> str:
    """LN(a; gain, shift) over a's last axis (``shift`` "": none), eps 1e-5, as
    :func:`rnnkit.cells._layernorm.normalize` takes it: ``centred``, a is a projection by centred weights and its
    mean is not taken again; else two passes, the variance of the centred row."""
    d = a
    if not centred:
        d = g.op("Sub", [a, g.op("ReduceMean", [a], axes=[-1], keepdims=1)])  # a - mu
    var = g.op("ReduceMean", [g.op("Mul", [d, d])], axes=[-1], keepdims=1)  # (B, 1)
    r = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.const("eps", np.array(1e-5, np.float32))])])])
    y = g.op("Mul", [g.op("Mul", [d, r]), gain])
    return g.op("Add", [y, shift]) if shift else y


def _step(g: Graph, cfg: dict[str, Any], p: dict[str, str], h: str, c: str, u: str) -> tuple[str, str]:
    """One step of the cell from h (and c) (B, H) and the step's hoisted input u (B, G): (h_t, c_t or "")."""
    cell = cfg["cell"]
    rec = g.op("MatMul", [h, p["w_hh"]])  # (B, G)
    if cell == "rnn":
        y = _ln(g, g.op("Add", [u, rec]), p["gain"], p["shift"])
        return g.op("Tanh", [y]), ""  # tanh: no model rnnkit exports has another (nor does ONNX's RNN path here)
    v = _ln(g, rec, p["g_hh"], p["s_hh"])  # (B, G)
    if cell == "gru":
        u_r, u_z, u_n = g.op("Split", [u], 3, axis=-1)
        v_r, v_z, v_n = g.op("Split", [v], 3, axis=-1)
        r = g.op("Sigmoid", [g.op("Add", [u_r, v_r])])
        z = g.op("Sigmoid", [g.op("Add", [u_z, v_z])])
        n = g.op("Tanh", [g.op("Add", [u_n, g.op("Mul", [r, v_n])])])
        return g.op("Add", [n, g.op("Mul", [z, g.op("Sub", [h, n])])]), ""  # (1 - z) n + z h
    z_i, z_f, z_g, z_o = g.op("Split", [g.op("Add", [v, u])], 4, axis=-1)
    if "p_i" in p:  # peepholes read c_{t-1} for i and f, c_t for o, after the LNs
        z_i = g.op("Add", [z_i, g.op("Mul", [p["p_i"], c])])
        z_f = g.op("Add", [z_f, g.op("Mul", [p["p_f"], c])])
    i, f, gg = g.op("Sigmoid", [z_i]), g.op("Sigmoid", [z_f]), g.op("Tanh", [z_g])
    c_t = g.op("Add", [g.op("Mul", [f, c]), g.op("Mul", [i, gg])])
    if "p_i" in p:
        z_o = g.op("Add", [z_o, g.op("Mul", [p["p_o"], c_t])])
    h_t = g.op("Mul", [g.op("Sigmoid", [z_o]), g.op("Tanh", [_ln(g, c_t, p["g_c"], p["s_c"], False)])])
    return h_t, c_t


def _scan(g: Graph, cfg: dict[str, Any], p: dict[str, str], h0: str, c0: str, u: str, mask: str,
          reverse: bool) -> tuple[str, str, str]:
    """The Scan of one direction over u (T, B, G) from h0 (and c0) (B, H): (outputs (T, B, H), h_T, c_T or "");
    ``mask`` (T, B, 1) bool or "" (every step real); ``reverse``: from t = T-1 down (module docstring)."""
    from onnx import helper

    H = cfg["hidden_size"]
    lstm = cfg["cell"] == "lstm"
    G = _GATES[cfg["cell"]] * H
    zero = g.zero() if mask else ""
    # the body's own nodes; what it reads of the outer graph (weights, float16 ones widened) is made before, and
    # the constants it makes itself (eps) are float32 initializers of the outer graph, without a Cast node
    outer, g.nodes = g.nodes, []
    try:
        h, c, u_t, m = (g.fresh(what) for what in ("h", "c", "u", "real"))  # the body's inputs
        h_t, c_t = _step(g, cfg, p, h, c if lstm else "", u_t)
        y = h_t
        if mask:  # past a sequence's end: the state kept, the output 0
            h_t, y = g.op("Where", [m, h_t, h]), g.op("Where", [m, h_t, zero])
            if lstm:
                c_t = g.op("Where", [m, c_t, c])
        names = [h_t] + ([c_t] if lstm else [])
        out_names = [g.op("Identity", [n]) for n in names + [y]]  # a body's outputs: its own names
        state = [(h, FLOAT, ["B", H])] + ([(c, FLOAT, ["B", H])] if lstm else [])
        scanned = [(u_t, FLOAT, ["B", G])] + ([(m, BOOL, ["B", 1])] if mask else [])
        body = helper.make_graph(g.nodes, f"step_{len(outer)}",
                                 [helper.make_tensor_value_info(*v) for v in state + scanned],
                                 [helper.make_tensor_value_info(n, FLOAT, ["B", H]) for n in out_names])
    finally:
        g.nodes = outer
    inputs = [h0] + ([c0] if lstm else []) + [u] + ([mask] if mask else [])
    n_scan = 2 if mask else 1
    attrs: dict[str, Any] = {"body": body, "num_scan_inputs": n_scan}
    if reverse:
        attrs.update(scan_input_directions=[1] * n_scan, scan_output_directions=[1])
    outs = g.op("Scan", inputs, 3 if lstm else 2, **attrs)
    return outs[-1], outs[0], outs[1] if lstm else ""


def ln_layer(g: Graph, x: str, cfg: dict[str, Any], k: int, bidirectional: bool, lengths: str = "", h0: str = "",
             c0: str = "", prefix: str = "rnn") -> tuple[str, str, str]:
    """Layer k of the layer-normalized stack ``{prefix}.*`` over x (T, B, D): its outputs (T, B, dirs*H), the
    directions joined [forward ; backward], and its final h (and, for an LSTM, c) (dirs, B, H), or "" for c.
    ``lengths``: int32 (B,) or ""; ``h0``, ``c0``: initial states (L, B, H) of a one-direction stack, or ""."""
    from onnx import helper

    cell, H = cfg["cell"], cfg["hidden_size"]
    lstm = cell == "lstm"
    mask = ""
    if lengths:
        real = real_steps(g, x, g.op("Cast", [lengths], to=INT64))  # (T, B) bool: t < lengths[b]
        mask = g.op("Unsqueeze", [real, g.ints("axis_2", [2])])  # (T, B, 1)

    def start(s: str) -> str:  # layer k's initial state (B, H): the caller's, or zeros
        if s:
            return g.op("Squeeze", [g.op("Slice", [s, g.ints(f"layer_{k}", [k]), g.ints(f"layer_{k + 1}", [k + 1])]),
                                    g.ints("axis_0", [0])])
        B = g.op("Slice", [g.op("Shape", [x]), g.ints("axis_1", [1]), g.ints("two_1", [2])])  # (1,): B
        size = g.op("Concat", [B, g.ints(f"size_{H}", [H])], axis=0)  # [B, H]
        return g.op("ConstantOfShape", [size], value=helper.make_tensor("zero", FLOAT, [1], [0.0]))

    ys, hs, cs = [], [], []
    for d in ["", "_reverse"] if bidirectional else [""]:
        p = _weights(g, cfg, f"{prefix}.{{}}_l{k}{d}")
        u = g.op("MatMul", [x, p["w_ih"]])  # (T, B, G): every step's input projection at once
        if cell != "rnn":
            u = _ln(g, u, p["g_ih"], p["s_ih"])
        y, h_n, c_n = _scan(g, cfg, p, start(h0), start(c0) if lstm else "", u, mask, bool(d))
        ys.append(y)
        hs.append(g.op("Unsqueeze", [h_n, g.ints("axis_0", [0])]))  # (1, B, H)
        if lstm:
            cs.append(g.op("Unsqueeze", [c_n, g.ints("axis_0", [0])]))
    join = (lambda parts, axis: parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=axis))
    return join(ys, -1), join(hs, 0), join(cs, 0) if lstm else ""
