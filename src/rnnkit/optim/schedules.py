"""Learning-rate schedules: objects that set ``optimizer.lr`` once per epoch.

Epoch convention, shared by every schedule here: construct the schedule before training, train an
epoch with the current ``optimizer.lr``, then call ``step()`` (``step(val_loss)`` for
:class:`HalveOnPlateau`) at the end of the epoch to set the rate for the next one::

    sched = DecayAfter(opt, start_epoch=4, gamma=0.5)    # Zaremba et al. (2014), small model
    for epoch in range(1, 14):                           # epochs numbered from 1
        train_one_epoch(opt)                             # uses opt.lr
        sched.step()

``sched.epoch`` is the number of completed epochs (``step()`` calls), 0 after construction, so the
epoch being trained is number ``sched.epoch + 1``.  The base rate is ``optimizer.lr`` at
construction.  ``state_dict()`` is a JSON-serialisable dict; after ``load_state_dict`` the closed-form
schedules also set ``optimizer.lr`` for the restored epoch.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnkit.optim.base import check_number


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Expected {name} to be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"Expected {name} >= {low}, got {value}")
    return int(value)  # a Python int: state_dict() goes to JSON


def _check_metric(metric: Any) -> float:
    """``metric`` as a float if it is a real number: int, float, a numpy scalar or a 0-d numeric array (a
    NaN too, which never improves).  A str such as "3.0" is refused, which float() would have turned
    silently (a metric read from a log, never parsed), and so is a bool."""
    if isinstance(metric, np.ndarray) and metric.ndim == 0:
        metric = metric[()]
    if isinstance(metric, (bool, np.bool_)) or not isinstance(metric, (int, float, np.integer, np.floating)):
        raise TypeError(f"Expected metric to be a number (the epoch's validation loss or score), got "
                        f"{type(metric).__name__} {metric!r:.60}")
    return float(metric)


class _Schedule:
    """Holds the optimizer, the base rate and the counter named ``counter`` (completed epochs here, completed
    steps in :mod:`rnnkit.optim.step_schedules`); saves the fields in ``fields``."""

    fields: tuple[str, ...] = ("epoch", "base_lr")
    counter = "epoch"
    #: whether the training loop calls step() after every optimizer step (True) or at each epoch's end
    per_step = False

    def __init__(self, optimizer: Any) -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"Expected an optimizer with an lr attribute, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        setattr(self, self.counter, 0)

    def _check(self) -> None:
        setattr(self, self.counter, _check_count(self.counter, getattr(self, self.counter), 0))
        self.base_lr = check_number("base_lr", self.base_lr, low=0.0)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's counters and settings as a JSON-serialisable dict."""
        out: dict[str, Any] = {"class": type(self).__name__}
        for key in self.fields:
            out[key] = getattr(self, key)
        return out

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore from ``state_dict()``; a dict from another schedule class raises ValueError."""
        cls = type(self).__name__
        if not isinstance(sd, Mapping) or sd.get("class") != cls:
            got = sd.get("class") if isinstance(sd, Mapping) else type(sd).__name__
            raise ValueError(f"Expected a state_dict saved by {cls}, got one from {got}")
        if set(sd) != {"class", *self.fields}:
            got = sorted(set(sd) - {"class"})
            raise ValueError(f"Expected {cls} state_dict keys {sorted(self.fields)}, got {got}")
        old = {key: getattr(self, key) for key in self.fields}
        try:
            for key in self.fields:
                setattr(self, key, sd[key])
            self._check()
        except (TypeError, ValueError):
            for key, value in old.items():
                setattr(self, key, value)
            raise


class _ClosedForm(_Schedule):
    """A schedule whose rate is a function of the epoch alone: ``lr_at(epoch)``."""

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """End of an epoch: count it and set the rate for the next one."""
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore from ``state_dict()`` (another schedule class's dict raises ValueError), then set
        ``optimizer.lr`` to the rate of the restored epoch: ``StepLR(opt, 1, 0.5)`` restored at epoch 3
        sets 0.125."""
        super().load_state_dict(sd)
        self.optimizer.lr = self.lr_at(self.epoch)


class StepLR(_ClosedForm):
    r"""Multiply the rate by ``gamma`` every ``step_size`` epochs, as torch.optim.lr_scheduler.StepLR.

    .. math:: \gamma_e = \gamma_0 \cdot \text{gamma}^{\lfloor e / \text{step\_size} \rfloor}

    with :math:`e` = ``epoch`` completed epochs.
    """

    fields = ("epoch", "base_lr", "step_size", "gamma")

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma
        self._check()

    def _check(self) -> None:
        super()._check()
        self.step_size = _check_count("step_size", self.step_size, 1)
        self.gamma = check_number("gamma", self.gamma, low=0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        """lr(e) = lr_0 * gamma^floor(e / step_size), e the epochs completed."""
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(_ClosedForm):
    r"""Multiply the rate by ``gamma`` every epoch, as torch.optim.lr_scheduler.ExponentialLR.

    .. math:: \gamma_e = \gamma_0 \cdot \text{gamma}^{e}
    """

    fields = ("epoch", "base_lr", "gamma")

    def __init__(self, optimizer: Any, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = gamma
        self._check()

    def _check(self) -> None:
        super()._check()
        self.gamma = check_number("gamma", self.gamma, low=0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        """lr(e) = lr_0 * gamma^e, e the epochs completed."""
        return self.base_lr * self.gamma**epoch


class DecayAfter(_ClosedForm):
    r"""Constant rate for the first ``start_epoch`` epochs, then multiplied by ``gamma`` each epoch.

    With epochs numbered from 1, epoch :math:`n` trains with

    .. math:: \gamma^{(n)} = \gamma_0 \cdot \text{gamma}^{\max(0,\ n - \text{start\_epoch})}

    Zaremba, Sutskever and Vinyals (2014), small model: lr 1 for epochs 1-4, then halved every
    epoch, is ``DecayAfter(SGD(params, lr=1.0), start_epoch=4, gamma=0.5)``: epoch 5 uses 0.5,
    epoch 6 uses 0.25.  (Their medium and large models use start_epoch 6 / 14 and gamma 1/1.2 / 1/1.15.)
    With ``start_epoch=0`` epoch 1 already uses :math:`\gamma_0 \cdot \text{gamma}`, so the constructor
    sets ``optimizer.lr`` to it; build one schedule per optimizer (a second one would take that rate as its
    :math:`\gamma_0`), and restore a run with ``load_state_dict``.
    """

    fields = ("epoch", "base_lr", "start_epoch", "gamma")

    def __init__(self, optimizer: Any, start_epoch: int, gamma: float) -> None:
        super().__init__(optimizer)
        self.start_epoch = start_epoch
        self.gamma = gamma
        self._check()
        self.optimizer.lr = self.lr_at(0)  # epoch 1's rate: lr_0 gamma with start_epoch 0, else lr_0

    def _check(self) -> None:
        super()._check()
        self.start_epoch = _check_count("start_epoch", self.start_epoch, 0)
        self.gamma = check_number("gamma", self.gamma, low=0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        """lr(e) = lr_0 * gamma^max(0, e + 1 - start), e the epochs completed."""
        # `epoch` epochs are done, so the next one is number epoch + 1
        return self.base_lr * self.gamma ** max(0, epoch + 1 - self.start_epoch)


class HalveOnPlateau(_Schedule):
    r"""Mikolov's RNNLM rule: cut the rate when the validation loss stops improving enough.

    Call ``step(metric)`` once per epoch with the validation loss (``mode="min"``) or a score such as
    log-likelihood (``mode="max"``).  An epoch *improves* if, for ``mode="min"``,

    .. math:: \text{metric} < \text{best} - \text{threshold} \cdot |\text{best}|

    (``metric > best + threshold * |best|`` for ``"max"``); then ``best`` becomes the metric and
    ``num_bad_epochs`` returns to 0.  Otherwise ``num_bad_epochs`` grows, and once it exceeds
    ``patience`` the rate becomes ``max(lr * factor, min_lr)`` if that is lower than ``lr`` (then
    ``num_decays`` grows; a rate at or below ``min_lr`` stays as it is) and ``num_bad_epochs`` restarts
    from 0.  With the defaults (factor 0.5, patience 0) every epoch without improvement halves the rate.
    The ``|best|`` makes the relative threshold work for negative scores; for positive losses it is
    torch's ReduceLROnPlateau rule (``threshold_mode="rel"``, no cooldown), except that torch skips a
    cut smaller than its ``eps`` (1e-8), which matters only for rates near 1e-8.  A NaN metric never
    improves.  The original rnnlm also keeps halving every epoch once it has started and stops at the
    next plateau; callers can build that from ``num_decays``.
    """

    fields = ("epoch", "factor", "patience", "threshold", "min_lr", "mode", "best", "num_bad_epochs",
              "num_decays")

    def __init__(self, optimizer: Any, factor: float = 0.5, patience: int = 0, threshold: float = 0.0,
                 min_lr: float = 0.0, mode: str = "min") -> None:
        super().__init__(optimizer)
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.min_lr = min_lr
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.num_decays = 0
        self._check()

    def _check(self) -> None:
        self.epoch = _check_count("epoch", self.epoch, 0)
        self.factor = check_number("factor", self.factor, low=0.0, high=1.0, high_open=True)
        self.patience = _check_count("patience", self.patience, 0)
        self.threshold = check_number("threshold", self.threshold, low=0.0)
        self.min_lr = check_number("min_lr", self.min_lr, low=0.0)
        if self.mode not in ("min", "max"):
            raise ValueError(f"Expected mode 'min' or 'max', got {self.mode!r}")
        self.num_bad_epochs = _check_count("num_bad_epochs", self.num_bad_epochs, 0)
        self.num_decays = _check_count("num_decays", self.num_decays, 0)
        if self.best is None:
            # JSON has no infinity: state_dict saves "no best yet" as None
            self.best = math.inf if self.mode == "min" else -math.inf
        self.best = float(self.best)

    def improves(self, metric: float) -> bool:
        """Whether ``metric`` beats ``best`` by the relative threshold."""
        if math.isinf(self.best):
            return not math.isnan(metric)
        margin = self.threshold * abs(self.best)
        if self.mode == "min":
            return metric < self.best - margin
        return metric > self.best + margin

    def step(self, metric: float) -> None:
        """End of an epoch with validation ``metric``: update ``best`` and maybe cut the rate."""
        metric = _check_metric(metric)
        self.epoch += 1
        if self.improves(metric):
            self.best = metric
            self.num_bad_epochs = 0
            return
        self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            cut = max(self.optimizer.lr * self.factor, self.min_lr)
            if cut < self.optimizer.lr:  # never a raise: a rate already below min_lr stays where it is
                self.optimizer.lr = cut
                self.num_decays += 1
            self.num_bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        """The base class's dict, with an infinite ``best`` stored as None."""
        out = super().state_dict()
        if math.isinf(self.best):
            out["best"] = None
        return out
