"""Stochastic gradient descent with optional (Nesterov) momentum, as in torch.optim.SGD."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnkit.optim.base import DecayFilter, Optimizer, check_bool, check_number
from rnnkit.row_sparse import RowSparseGrad
from rnnkit.row_threads import RowThreads

_CHUNK = 16384  # elements per block: 64 KB of float32, so the temporary stays in the L2 cache
_ROWS = RowThreads()  # large parameters are updated on BLAS's thread count


def _sub_scaled_(p: np.ndarray, a: float, g: np.ndarray) -> None:
    """p -= a * g in place, block by block: the temporary a * g of each block is still in cache when it
    is subtracted, where a whole-array temporary would go out to memory and back (a third faster on
    a 10^4 x 200 embedding); a large array is split between threads as well."""
    # a scalar of p's dtype: numpy < 2 would do a * g in float64 when a does not fit p's dtype (lr 1e39 in
    # float32), so an overflowing update came out finite there and inf on numpy 2 (NEP 50); inf is what the
    # divergence check then names, so the cast's own overflow warning is not printed
    with np.errstate(over="ignore"):
        a = p.dtype.type(a)
    if not (p.flags.c_contiguous and g.flags.c_contiguous):
        p -= a * g
        return
    pf, gf = p.reshape(-1), g.reshape(-1)  # views

    def update(start: int, stop: int) -> None:  # its own slice and its own temporary: thread-safe
        tmp = np.empty(min(_CHUNK, stop - start), dtype=pf.dtype)
        for lo in range(start, stop, _CHUNK):
            hi = min(lo + _CHUNK, stop)
            t = tmp[: hi - lo]
            np.multiply(gf[lo:hi], a, out=t)
            np.subtract(pf[lo:hi], t, out=pf[lo:hi])

    _ROWS.run(update, pf.size, 1)


class SGD(Optimizer):
    r"""SGD with momentum, dampening and L2 weight decay; torch.optim.SGD's update.

    For a parameter :math:`\theta` with gradient :math:`g_t` at its step :math:`t`:

    .. math::

        g_t &\leftarrow g_t + \lambda\,\theta_{t-1}
            \quad\text{(weight decay } \lambda \text{, decayed parameters only)} \\
        b_t &= g_t \ \text{if } t = 1, \text{ else } \mu\,b_{t-1} + (1 - \tau)\,g_t
            \quad\text{(momentum } \mu \ne 0 \text{, dampening } \tau) \\
        g_t &\leftarrow g_t + \mu\,b_t \ \text{(nesterov)} \quad\text{or}\quad g_t \leftarrow b_t \\
        \theta_t &= \theta_{t-1} - \gamma\,g_t

    ``lr`` (:math:`\gamma`) defaults to torch's 1e-3.  The other hyperparameters are keyword-only
    because torch orders them differently (``momentum, dampening, weight_decay, nesterov``): a
    positional call ported from torch would otherwise mean something else silently.
    State: ``momentum_buffer`` (only with momentum).

    Without momentum and weight decay the step is :math:`\theta \leftarrow \theta - (\gamma s)\,g`
    for a gradient scale :math:`s` (clipping's coefficient, ``step(grads, grad_scale=s)``), one pass
    over :math:`g`; a row-sparse gradient (an embedding's) updates only its rows.  With momentum or
    weight decay the buffer needs :math:`s g` itself, so it is formed first.

    Weight decay reaches the parameters ``decay_filter`` chooses: by default those with ``ndim >= 2``, where
    torch.optim decays every one (see :class:`~rnnkit.optim.base.Optimizer`).
    """

    buffer_names = ("momentum_buffer",)
    hyper_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-3, *, momentum: float = 0.0,
                 nesterov: bool = False, dampening: float = 0.0, weight_decay: float = 0.0,
                 decay_filter: DecayFilter | None = None) -> None:
        super().__init__(params, decay_filter)
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self._check_hyper()

    def _check_hyper(self) -> None:
        super()._check_hyper()
        self.momentum = check_number("momentum", self.momentum, low=0.0)
        self.dampening = check_number("dampening", self.dampening)
        self.nesterov = check_bool("nesterov", self.nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(f"Expected momentum > 0 and dampening = 0 with nesterov=True, "
                             f"got momentum={self.momentum}, dampening={self.dampening}")

    def _required_buffers(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0.0 else ()

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float) -> None:
        # g may be the caller's gradient array: build new arrays from it, never write into it.
        if wd != 0.0:
            g = g + wd * p
        if self.momentum != 0.0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # torch starts the buffer at the first gradient, not at zero (no dampening on step 1)
                buf = np.array(g, copy=True)  # an array even where g is a scalar (a 0-d parameter's g + wd p)
                state["momentum_buffer"] = buf
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            if self.nesterov:
                g = g + self.momentum * buf
            else:
                g = buf
        _sub_scaled_(p, self.lr, g)

    def _update_scaled(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float,
                       scale: float) -> None:
        if self.momentum == 0.0 and wd == 0.0:
            _sub_scaled_(p, self.lr * scale, g)  # theta -= (lr s) g: the scale costs no pass of its own
        else:
            super()._update_scaled(p, g, state, t, wd, scale)

    def _update_rows(self, p: np.ndarray, g: RowSparseGrad, state: dict[str, np.ndarray], t: int, wd: float,
                     scale: float) -> None:
        if self.momentum == 0.0 and wd == 0.0:
            # the rows are unique, so this is the dense update restricted to the rows that change
            with np.errstate(over="ignore"):  # as in _sub_scaled_
                step = p.dtype.type(self.lr * scale)
            p[g.indices] -= step * g.values  # (U, E)
        else:
            super()._update_rows(p, g, state, t, wd, scale)
