r"""The decoder step's copy attention and coverage in ONNX (:mod:`rnnkit.export_onnx_seq2seq`'s step graph), as
:mod:`rnnkit.seq2seq.copy` and :mod:`rnnkit.seq2seq.coverage` compute them.

Copy: the step reads the source's extended ids ``src_ext`` (B, S) int64 (a source token's target id, or V + k for
the sentence's k-th distinct token outside the target vocabulary; any value at padding, read as 0 where
``src_mask`` is False) and gives log P(w) over the extended vocabulary (B, W), W = max(V, max(ext) + 1) of the
real tokens' ids ext, in log space as rnnkit's decoding does (float32 saturates: p_gen = 1 exactly
for z > ~17, and a probability below 1e-38 underflows)::

    z          = w_g . [c_t ; h_t ; x_t] + b_g                        # (B, 1), the gate's pre-activation
    log p_gen  = -softplus(-z) ;  log(1 - p_gen) = -softplus(z)      softplus(x) = max(x, 0) + log(1 + exp(-|x|))
    G          = [log p_gen + log_softmax(W_o h~_t + b_o) ; -inf]   # (B, W): -inf at the extended ids
    L_j        = logsumexp_{k: ext_k = ext_j} log a_k                # (B, S): log copy(ext_j), every j of one id alike
    M_j        = logaddexp(G[ext_j], log(1 - p_gen) + L_j)           # (B, S)
    log P      = G with M_j written at ext_j                         # ScatterElements: equal values for equal ids

log a_k is the attention's ``LogSoftmax`` (finite where a_k underflows to 0); L's sum is shifted by its own largest
term (the (B, S, S) pairs of equal ids: S is small beside V), so it is finite wherever rnnkit's is.  An extended id
fed back (``ids`` >= V) is read as ``<unk>`` (:func:`rnnkit.seq2seq.copy.fed_ids`).

Coverage: the step reads ``coverage`` (B, S) (zeros first) and gives ``coverage_next`` = coverage + a_t; the
additive score reads w_cov cov_j inside its tanh (:func:`score_input`).
"""
from __future__ import annotations

import numpy as np

from rnnkit.data.parallel import UNK_ID
from rnnkit.export_onnx_graph import Graph
from rnnkit.seq2seq import copy as cp
from rnnkit.seq2seq import coverage as cov


def fed_ids(g: Graph, ids: str, V: int) -> str:
    """The ids (B,) the decoder reads: an extended id (>= V) as ``<unk>``."""
    extended = g.op("GreaterOrEqual", [ids, g.const("vocab_size", np.array(V, np.int64))])
    return g.op("Where", [extended, g.const("unk_id", np.array(UNK_ID, np.int64)), ids])


def score_input(g: Graph, pre: str, coverage: str) -> str:
    """The additive score's tanh input (B, S, A) with coverage: pre + cov_j w_cov, ``coverage`` (B, S)."""
    scaled = g.op("Mul", [g.op("Unsqueeze", [coverage, g.ints("axis_2", [2])]), g.weight(cov.NAME)])  # (B, S, A)
    return g.op("Add", [pre, scaled])


def _softplus(g: Graph, x: str) -> str:
    """log(1 + e^x) = max(x, 0) + log(1 + exp(-|x|)): finite at every finite x."""
    zero, one = g.zero(), g.const("one_f", np.array(1.0, np.float32))
    tail = g.op("Log", [g.op("Add", [one, g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])])])])
    return g.op("Add", [g.op("Max", [x, zero]), tail])


def _logaddexp(g: Graph, a: str, b: str) -> str:
    """log(e^a + e^b) elementwise, -inf where both are (not the NaN of -inf - -inf)."""
    one = g.const("one_f", np.array(1.0, np.float32))
    top = g.op("Max", [a, b])
    gap = g.op("Neg", [g.op("Abs", [g.op("Sub", [a, b])])])  # <= 0; NaN where both are -inf
    both = g.op("IsInf", [top], detect_positive=0)
    return g.op("Where", [both, top, g.op("Add", [top, g.op("Log", [g.op("Add", [one, g.op("Exp", [gap])])])])])


def _log_sums_by_id(g: Graph, log_a: str, ext: str) -> str:
    """L_j = logsumexp_{k: ext_k = ext_j} log a_k (B, S) of the log weights ``log_a`` and the ids ``ext`` (B, S)."""
    same = g.op("Equal", [g.op("Unsqueeze", [ext, g.ints("axis_2", [2])]),
                          g.op("Unsqueeze", [ext, g.ints("axis_1", [1])])])  # (B, S, S): ext_j == ext_k
    terms = g.op("Where", [same, g.op("Unsqueeze", [log_a, g.ints("axis_1", [1])]), g.minus_inf()])  # (B, S, S)
    top = g.op("ReduceMax", [terms], axes=[2], keepdims=1)  # (B, S, 1); -inf at padding (its weights all are)
    top = g.op("Where", [g.op("IsInf", [top]), g.zero(), top])
    total = g.op("ReduceSum", [g.op("Exp", [g.op("Sub", [terms, top])]), g.ints("axis_2", [2])], keepdims=0)
    return g.op("Add", [g.op("Squeeze", [top, g.ints("axis_2", [2])]), g.op("Log", [total])])  # log 0 = -inf


def mixture(g: Graph, logits: str, gate_in: str, log_a: str, V: int, out: str) -> str:
    """``out`` = log P(w) (B, W) (module docstring) of the output logits (B, V), the gate's input [c ; h ; x]
    (B, Hk + H + E) and the attention's log weights ``log_a`` (B, S), over the extended ids ``src_ext``."""
    z = g.linear(gate_in, cp.GATE[:-1])  # (B, 1)
    log_gen = g.op("Neg", [_softplus(g, g.op("Neg", [z]))])  # (B, 1)
    log_copy = g.op("Neg", [_softplus(g, z)])
    gen = g.op("Add", [log_gen, g.op("LogSoftmax", [logits], axis=-1)])  # (B, V)
    # padding's ids read as 0 (<pad>), whatever the caller put there: a negative one would count from the end in
    # Gather and Scatter (its write, without copy mass, racing a real token's), a large one would widen W.  What
    # reads only src_ext (this, W, the (B, S, S) equal ids) stays in the step: each step is one run of the graph,
    # so the encoder graph (which has no src_ext) or a third graph would have to carry it, for O(B S^2) work
    # beside the output layer's O(B H V)
    ext = g.op("Where", ["src_mask", "src_ext", g.const("zero", np.array(0, np.int64))])  # (B, S)
    top = g.op("ReduceMax", [ext], keepdims=0)  # (): the batch's largest extended id
    extra = g.op("Max", [g.op("Sub", [g.op("Add", [top, g.const("one", np.array(1, np.int64))]),
                                      g.const("vocab_size", np.array(V, np.int64))]),
                         g.const("zero", np.array(0, np.int64))])  # (): X, the extended ids past V
    rows = g.op("Slice", [g.op("Shape", [logits]), g.ints("zero_1", [0]), g.ints("one_1", [1])])  # [B]
    shape = g.op("Concat", [rows, g.op("Reshape", [extra, g.ints("one_1", [1])])], axis=0)  # [B, X]
    past = g.op("ConstantOfShape", [shape], value=_float_tensor(-np.inf))  # (B, X) -inf
    gen = g.op("Concat", [gen, past], axis=1)  # (B, W)
    copied = g.op("Add", [log_copy, _log_sums_by_id(g, log_a, ext)])  # (B, S)
    at = _logaddexp(g, g.op("GatherElements", [gen, ext], axis=1), copied)  # (B, S)
    return g.op("ScatterElements", [gen, ext, at], [out], axis=1)[0]


def _float_tensor(value: float):  # noqa: ANN202  (an onnx TensorProto: onnx is imported only when a graph is built)
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array([value], np.float32))
