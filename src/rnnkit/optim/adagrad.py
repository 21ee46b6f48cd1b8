"""Adagrad (Duchi, Hazan and Singer, 2011), as in torch.optim.Adagrad."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnkit.optim.base import DecayFilter, Optimizer, check_number
from rnnkit.row_sparse import RowSparseGrad


class Adagrad(Optimizer):
    r"""Per-coordinate step sizes that shrink with the sum of squared gradients.

    .. math::

        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(weight decay, decayed parameters only)} \\
        \tilde\gamma_t &= \gamma / (1 + (t - 1)\,\eta) \quad\text{(lr\_decay } \eta) \\
        s_t &= s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        \theta_t &= \theta_{t-1} - \tilde\gamma_t\, g_t / (\sqrt{s_t} + \epsilon)

    State: ``sum`` (:math:`s`).

    A row-sparse gradient (an embedding's) updates only its rows when the parameter takes no weight
    decay: a zero gradient leaves both :math:`s` and :math:`\theta` as they were, so this is the dense
    update exactly, as torch.optim.Adagrad's sparse path is.

    Weight decay reaches the parameters ``decay_filter`` chooses: by default those with ``ndim >= 2``, where
    torch.optim decays every one (see :class:`~rnnkit.optim.base.Optimizer`).
    """

    buffer_names = ("sum",)
    hyper_names = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 *, decay_filter: DecayFilter | None = None) -> None:
        super().__init__(params, decay_filter)
        self.lr = lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self._check_hyper()

    def _check_hyper(self) -> None:
        super()._check_hyper()
        self.lr_decay = check_number("lr_decay", self.lr_decay, low=0.0)
        self.initial_accumulator_value = check_number("initial_accumulator_value",
                                                      self.initial_accumulator_value, low=0.0)
        self.eps = check_number("eps", self.eps, low=0.0)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float) -> None:
        if wd != 0.0:
            g = g + wd * p
        clr = self.lr / (1.0 + (t - 1) * self.lr_decay)
        total = self._buffer(state, "sum", p, self.initial_accumulator_value)
        total += g * g
        std = np.sqrt(total)
        std += self.eps
        p -= clr * (g / std)

    def _update_rows(self, p: np.ndarray, g: RowSparseGrad, state: dict[str, np.ndarray], t: int, wd: float,
                     scale: float) -> None:
        if wd != 0.0:  # decay moves every row: the dense update
            super()._update_rows(p, g, state, t, wd, scale)
            return
        rows = g.indices
        values = g.values * scale if scale != 1.0 else g.values  # (U, E); the caller's gradient is left as is
        clr = self.lr / (1.0 + (t - 1) * self.lr_decay)
        total = self._buffer(state, "sum", p, self.initial_accumulator_value)
        sq = total[rows]
        sq += values * values
        total[rows] = sq
        std = np.sqrt(sq)
        std += self.eps
        p[rows] -= clr * (values / std)
