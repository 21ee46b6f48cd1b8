"""Single-direction, single-layer sequence kernels for the three recurrent cells, the peephole LSTM and the
layer-normalized cells.

Each module has ``forward(x, state0, w_ih, w_hh, b_ih, b_hh, batch_sizes=None)`` (the Elman cell's
also ``nonlinearity="tanh"``) returning
``(out, stateT, cache)`` and ``backward(dout, dstateT, cache, tbptt=None, dh_norms=None)`` (the LSTMs' also
``dc_norms=None``, for :mod:`rnnkit.diagnostics`) returning ``(dx, dstate0, (dw_ih, dw_hh, db_ih, db_hh))``.
:mod:`rnnkit.cells.lstm_peephole` takes the peepholes
``w_ci, w_cf, w_co`` (H,) after ``b_hh`` and returns their gradients after ``db_hh``; it is a kernel of its own so
that the plain LSTM's time loop stays as it is.  :mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln` and
:mod:`rnnkit.cells.gru_ln`, the layer-normalized cells (Ba, Kiros & Hinton 2016), take their LN gains and shifts
after ``b_hh`` in the same way (``LN_PARAMS`` in each) and return their gradients after ``db_hh``;
:mod:`rnnkit.cells.lstm_ln_peephole`, the LSTM with both, takes the peepholes, then the LN gains and shifts.  They
are the hot loops: one input GEMM before the time loop, one GEMM and a few in-place ufuncs per step, and the
weight-gradient GEMMs after it.

Which kernel a layer's options pick, and the names and shapes of its parameters, are
:mod:`rnnkit.cells.layout`'s.

``batch_sizes`` (T,) is the number of sequences still running at each step, with the batch sorted by
length, longest first (PyTorch's packed layout); ``None`` means every sequence runs for all T steps.
Stacking, directions, masks and sorting are handled by :mod:`rnnkit.recurrent`.

Each call first checks its arguments, once, before the time loop (:mod:`rnnkit.cells._checks`): x a float
(T, B, D) array, the weights of x's dtype and shapes, the initial state (B, H) of x's dtype (a tuple
(h0, c0) for the LSTM; there is no default: pass zeros for a zero start), ``batch_sizes`` (T,) between 0
and B and non-increasing; ``dout`` (T, B, H) of a float dtype, the final state's gradient None or shaped
like the state.  A wrong one raises ValueError or TypeError naming it, instead of a numpy broadcast.
"""
from rnnkit.cells import elman, elman_ln, gru, gru_ln, lstm, lstm_ln, lstm_ln_peephole, lstm_peephole

__all__ = ["elman", "elman_ln", "gru", "gru_ln", "lstm", "lstm_ln", "lstm_ln_peephole", "lstm_peephole"]
