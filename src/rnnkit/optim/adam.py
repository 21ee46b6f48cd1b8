"""Adam (Kingma and Ba, 2015), AMSGrad (Reddi et al., 2018) and AdamW (Loshchilov and Hutter, 2019).

The same updates as torch.optim.Adam and torch.optim.AdamW.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnkit.optim.base import DecayFilter, Optimizer, check_bool, check_number


class Adam(Optimizer):
    r"""Adam with bias-corrected moment estimates and L2 weight decay added to the gradient.

    .. math::

        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(weight decay, decayed parameters only)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\,g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2)\,g_t^2 \\
        v^{\max}_t &= \max(v^{\max}_{t-1}, v_t) \ \text{(amsgrad)} \quad\text{or}\quad v^{\max}_t = v_t \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\,
            \frac{m_t}{\sqrt{v^{\max}_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    :math:`t` counts the steps this parameter has taken.  State: ``exp_avg`` (:math:`m`),
    ``exp_avg_sq`` (:math:`v`), ``max_exp_avg_sq`` (:math:`v^{\max}`, amsgrad only), all from zero.
    This is Kingma and Ba's update with :math:`\hat m_t = m_t / (1 - \beta_1^t)` and
    :math:`\hat v_t = v^{\max}_t / (1 - \beta_2^t)` written out (their :math:`\hat v` is the
    bias-corrected one), and :math:`\epsilon` added after the square root, as torch does.

    Weight decay reaches the parameters ``decay_filter`` chooses: by default those with ``ndim >= 2``, where
    torch.optim decays every one (see :class:`~rnnkit.optim.base.Optimizer`).
    """

    buffer_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    hyper_names = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    #: AdamW sets this: decay the parameter directly instead of adding it to the gradient
    decoupled = False

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, decay_filter: DecayFilter | None = None) -> None:
        super().__init__(params, decay_filter)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        self._check_hyper()

    def _check_hyper(self) -> None:
        super()._check_hyper()
        betas: Any = self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Expected betas to be a pair (beta1, beta2), got {betas!r}")
        beta1 = check_number("betas[0]", betas[0], low=0.0, high=1.0, high_open=True)
        beta2 = check_number("betas[1]", betas[1], low=0.0, high=1.0, high_open=True)
        self.betas = (beta1, beta2)
        self.eps = check_number("eps", self.eps, low=0.0)
        self.amsgrad = check_bool("amsgrad", self.amsgrad)

    def _required_buffers(self) -> tuple[str, ...]:
        if self.amsgrad:
            return self.buffer_names
        return ("exp_avg", "exp_avg_sq")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float) -> None:
        beta1, beta2 = self.betas
        if wd != 0.0:
            if self.decoupled:
                p *= 1.0 - self.lr * wd
            else:
                g = g + wd * p
        exp_avg = self._buffer(state, "exp_avg", p)
        exp_avg_sq = self._buffer(state, "exp_avg_sq", p)
        t1, t2 = self._scratch.like(p, 0), self._scratch.like(p, 1)  # work arrays: no allocation per step
        # torch writes the first moment as lerp(m, g, 1 - beta1); same value up to rounding
        np.subtract(g, exp_avg, out=t1)
        t1 *= 1.0 - beta1
        exp_avg += t1
        np.multiply(g, 1.0 - beta2, out=t1)
        t1 *= g
        exp_avg_sq *= beta2
        exp_avg_sq += t1
        step_size = self.lr / (1.0 - beta1**t)
        correction2_sqrt = (1.0 - beta2**t) ** 0.5
        if self.amsgrad:
            max_sq = self._buffer(state, "max_exp_avg_sq", p)
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            np.sqrt(max_sq, out=t2)
        else:
            np.sqrt(exp_avg_sq, out=t2)
        t2 /= correction2_sqrt  # denominator sqrt(v_hat) + eps
        t2 += self.eps
        np.divide(exp_avg, t2, out=t1)
        t1 *= step_size
        p -= t1


class AdamW(Adam):
    r"""Adam with decoupled weight decay: the parameter shrinks directly, not through the gradient.

    .. math::

        \theta_{t-1} &\leftarrow \theta_{t-1}\,(1 - \gamma\lambda) \quad\text{(decayed parameters only)}

    followed by the Adam update of :class:`Adam` without the L2 term.  ``weight_decay`` defaults to
    torch's 1e-2; by default matrices are decayed and biases are not, where torch.optim decays every
    parameter (``decay_filter``: see :class:`~rnnkit.optim.base.Optimizer`).
    """

    decoupled = True

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, decay_filter: DecayFilter | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, decay_filter=decay_filter)
