"""RMSprop (Hinton's lecture 6e; centered variant from Graves, 2013), as in torch.optim.RMSprop."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnkit.optim.base import DecayFilter, Optimizer, check_bool, check_number


class RMSprop(Optimizer):
    r"""Divide the gradient by a running root mean square of recent gradients.

    .. math::

        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(weight decay, decayed parameters only)} \\
        v_t &= \alpha\,v_{t-1} + (1 - \alpha)\,g_t^2 \\
        \bar g_t &= \alpha\,\bar g_{t-1} + (1 - \alpha)\,g_t \quad\text{(centered only)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)}
            \quad\text{or}\quad \sqrt{v_t} + \epsilon \\
        b_t &= \mu\,b_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \gamma\,b_t
            \quad\text{(momentum } \mu > 0) \\
        \theta_t &= \theta_{t-1} - \gamma\,g_t / d_t \quad\text{(otherwise)}

    All buffers start at zero.  State: ``square_avg`` (:math:`v`), ``grad_avg`` (:math:`\bar g`,
    centered only), ``momentum_buffer`` (:math:`b`, momentum only).

    Weight decay reaches the parameters ``decay_filter`` chooses: by default those with ``ndim >= 2``, where
    torch.optim decays every one (see :class:`~rnnkit.optim.base.Optimizer`).
    """

    buffer_names = ("square_avg", "grad_avg", "momentum_buffer")
    hyper_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, decay_filter: DecayFilter | None = None) -> None:
        super().__init__(params, decay_filter)
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered
        self._check_hyper()

    def _check_hyper(self) -> None:
        super()._check_hyper()
        self.alpha = check_number("alpha", self.alpha, low=0.0)
        self.eps = check_number("eps", self.eps, low=0.0)
        self.momentum = check_number("momentum", self.momentum, low=0.0)
        self.centered = check_bool("centered", self.centered)

    def _required_buffers(self) -> tuple[str, ...]:
        needed = ["square_avg"]
        if self.centered:
            needed.append("grad_avg")
        if self.momentum > 0.0:
            needed.append("momentum_buffer")
        return tuple(needed)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float) -> None:
        if wd != 0.0:
            g = g + wd * p
        alpha = self.alpha
        square_avg = self._buffer(state, "square_avg", p)
        square_avg *= alpha
        square_avg += (1.0 - alpha) * g * g
        if self.centered:
            grad_avg = self._buffer(state, "grad_avg", p)
            grad_avg += (1.0 - alpha) * (g - grad_avg)
            denom = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denom = np.sqrt(square_avg)
        denom += self.eps
        if self.momentum > 0.0:
            buf = self._buffer(state, "momentum_buffer", p)
            buf *= self.momentum
            buf += g / denom
            p -= self.lr * buf
        else:
            p -= self.lr * (g / denom)
