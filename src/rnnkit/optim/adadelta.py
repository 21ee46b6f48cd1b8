"""Adadelta (Zeiler, 2012), as in torch.optim.Adadelta."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnkit.optim.base import DecayFilter, Optimizer, check_number


class Adadelta(Optimizer):
    r"""Step sizes from the ratio of running RMS of updates to running RMS of gradients.

    .. math::

        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(weight decay, decayed parameters only)} \\
        v_t &= \rho\,v_{t-1} + (1 - \rho)\,g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho\,u_{t-1} + (1 - \rho)\,\Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma\,\Delta_t

    Zeiler's method has no learning rate; :math:`\gamma` = ``lr`` = 1.0 by default recovers it.
    State: ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`), both starting at zero.

    Weight decay reaches the parameters ``decay_filter`` chooses: by default those with ``ndim >= 2``, where
    torch.optim decays every one (see :class:`~rnnkit.optim.base.Optimizer`).
    """

    buffer_names = ("square_avg", "acc_delta")
    hyper_names = ("lr", "rho", "eps", "weight_decay")

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0,
                 *, decay_filter: DecayFilter | None = None) -> None:
        super().__init__(params, decay_filter)
        self.lr = lr
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay
        self._check_hyper()

    def _check_hyper(self) -> None:
        super()._check_hyper()
        self.rho = check_number("rho", self.rho, low=0.0, high=1.0)
        self.eps = check_number("eps", self.eps, low=0.0)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float) -> None:
        if wd != 0.0:
            g = g + wd * p
        rho = self.rho
        square_avg = self._buffer(state, "square_avg", p)
        acc_delta = self._buffer(state, "acc_delta", p)
        square_avg *= rho
        square_avg += (1.0 - rho) * g * g
        std = np.sqrt(square_avg + self.eps)
        delta = np.sqrt(acc_delta + self.eps) / std * g
        acc_delta *= rho
        acc_delta += (1.0 - rho) * delta * delta
        p -= self.lr * delta
