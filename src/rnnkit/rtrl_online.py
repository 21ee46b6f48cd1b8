r"""Online RTRL (Williams & Zipser, 1989): update the weights at every time step.

At step t, with the current weights θ_t::

    h_t = cell(x_t, h_{t-1}; θ_t)
    P_t = D_t (W_hh(θ_t) P_{t-1} + ∂a_t/∂θ|immediate)       # as in rnnkit.rtrl
    θ_{t+1} = θ_t - lr (dL_t/dh_t) P_t                       # or any optimizer's step

The approximation: P_{t-1} was built while the weights were θ_1 .. θ_{t-1}, not θ_t, so P_t is not
exactly dh_t/dθ_t at the current weights, and the update is the gradient of the instantaneous
loss L_t only, not of the total loss.  With a small learning rate the weights move little over the
span the sensitivities remember, and the updates follow the true gradient closely; with a zero
learning rate (or an optimizer that does nothing) the per-step gradients summed over a sequence
are exactly the batch gradient of :func:`rnnkit.rtrl.rtrl_gradients`.  Nothing about the past
is stored except (h_t, P_t), so the stream can be arbitrarily long.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.checks import check_int, check_number
from rnnkit.rtrl import (
    ELMAN_NAMES,
    SensitivityLayout,
    check_array,
    check_params,
    elman_step,
    initial_sensitivities,
    make_layout,
    split_grads,
)
from rnnkit.rtrl_gated import GATED_STEPS

CELLS = ("tanh", "relu", "lstm", "gru")


class OnlineRTRL:
    """A one-layer recurrent network learning online by RTRL.

    params: the cell's PyTorch-named arrays (as in :mod:`rnnkit.rtrl` / :mod:`rnnkit.rtrl_gated`);
        the dict is read at every step and, with a float learning rate, updated in place.
    optimizer_step: a callable ``(grads) -> None`` that updates ``params`` in place, e.g. the bound
        ``step`` of an rnnkit optimizer built on the same dict, or a float learning rate for SGD.
    cell: "tanh" or "relu" (Elman), "lstm" or "gru".
    batch_size: B independent streams learning the same weights (their gradients are summed).

    Learned state: ``state_`` (tuple of (B, H) arrays: (h,) or (h, c)), ``sens_`` (their
    sensitivities, (B, H, P) each) and ``steps_`` (steps taken since the last :meth:`reset`).
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        optimizer_step: Callable[[dict[str, np.ndarray]], None] | float,
        cell: str = "tanh",
        batch_size: int = 1,
    ) -> None:
        if cell not in CELLS:
            elman = " (an Elman cell is named by its nonlinearity here: 'tanh' or 'relu')" if cell == "rnn" else ""
            raise ValueError(f"Expected cell one of {CELLS}, got {cell!r}{elman}")
        if not callable(optimizer_step):
            if isinstance(optimizer_step, (bool, np.bool_)) or not isinstance(
                    optimizer_step, (int, float, np.integer, np.floating)):
                raise TypeError(
                    "Expected optimizer_step as a callable (grads) -> None or a float lr, "
                    f"got {type(optimizer_step).__name__} {optimizer_step!r}"
                )
            # a Python float: an np.float64 lr would promote float32 weights; a negative lr climbs the loss
            optimizer_step = check_number("optimizer_step (the learning rate)", optimizer_step, low=0.0)
        batch_size = check_int("batch_size", batch_size, 1)
        if cell in GATED_STEPS:
            self._step, gates, self._parts = GATED_STEPS[cell]
        else:
            self._step, gates, self._parts = elman_step(cell), 1, 1
        self.D, self.H, self.dtype = check_params(params, ELMAN_NAMES, gates=gates)
        self.params = params
        self.optimizer_step = optimizer_step
        self.cell = cell
        self.batch_size = batch_size
        # No initial-state columns: online learning does not train h_0.
        self._layout: SensitivityLayout = make_layout(params, ELMAN_NAMES, num_init=0)
        self.reset()

    def reset(self, state0: tuple[np.ndarray, ...] | None = None) -> None:
        """Start a new stream: state from ``state0`` (zeros if None), sensitivities zero."""
        B, H = self.batch_size, self.H
        if state0 is None:
            state0 = tuple(np.zeros((B, H), dtype=self.dtype) for _ in range(self._parts))
        if len(state0) != self._parts:
            raise ValueError(f"Expected state0 with {self._parts} arrays for cell {self.cell!r}, got {len(state0)}")
        self.state_ = tuple(check_array("state0", s, (B, H), "(B, H)", self.dtype).copy() for s in state0)
        self.sens_ = initial_sensitivities(self._layout, B, H, self._parts, self.dtype)
        self.steps_ = 0

    def step(
        self,
        x_t: np.ndarray,
        dloss: Callable[[np.ndarray], np.ndarray] | np.ndarray,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Advance one step, then update the weights; return (h_t (B, H), the gradients applied).

        x_t (B, D); dloss: a callable ``h_t -> dL_t/dh_t`` (B, H), which may also train a readout on
        h_t, or the array dL_t/dh_t itself when it does not depend on h_t.
        """
        B, H = self.batch_size, self.H
        x_t = check_array("x_t", x_t, (B, self.D), "(B, D)", self.dtype)
        if not np.isfinite(x_t).all():  # as rnnkit.rtrl: a NaN would reach the weights through the update
            raise ValueError("Expected finite values in x_t, got NaN or inf")
        state, sens = self._step(self.params, self._layout, x_t, self.state_, self.sens_)
        h = state[0]  # (B, H)
        g = dloss(h) if callable(dloss) else dloss
        g = check_array("dloss", np.asarray(g, dtype=self.dtype), (B, H), "(B, H)", self.dtype)
        if not np.isfinite(g).all():  # refused before anything changes: the learner stays at step t - 1
            raise ValueError(f"Expected finite values in dloss (dL_t/dh_t at step {self.steps_ + 1}), got NaN or inf")
        self.state_, self.sens_ = state, sens
        flat = np.einsum("bh,bhp->p", g, self.sens_[0])  # (P,): dL_t/dθ summed over the streams
        grads = split_grads(flat, self._layout)
        if callable(self.optimizer_step):
            self.optimizer_step(grads)
        else:
            for name, grad in grads.items():
                self.params[name] -= self.optimizer_step * grad
        self.steps_ += 1
        return h.copy(), grads
