"""Training configuration: one dataclass that the CLI fills and the loop reads."""
from __future__ import annotations

import inspect
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rnnkit.fielddoc import fields_in_doc
from rnnkit.optim import OPTIMIZERS, DecayAfter, ExponentialLR, HalveOnPlateau, StepLR, schedule_with_warmup

SCHEDULES = ("none", "step", "exp", "plateau", "decay_after", "cosine", "linear")
PER_EPOCH = ("step", "exp", "plateau", "decay_after")  # step() at each epoch's end; the others after every step


@fields_in_doc
@dataclass
class TrainConfig:
    """Every option of a training run: epochs, optimizer, schedule, clipping, checkpoints, seed."""

    epochs: int = 10  # passes over the training data
    optimizer: str = "sgd"  # sgd, adagrad, rmsprop, adadelta, adam, adamw
    lr: float = 1.0  # initial learning rate
    momentum: float = 0.0  # SGD / RMSprop momentum
    weight_decay: float = 0.0  # L2 on parameters with 2+ axes (matrices and embedding tables); biases skipped
    clip: float | None = 5.0  # clip the global gradient norm to this; None = no clipping
    schedule: str = "none"  # none, step, exp, plateau (halve on plateau), decay_after (Zaremba) change the lr
    #   at epoch ends; cosine (to 0) and linear (to 0) after every step, over the run's steps
    warmup_steps: int = 0  # raise the lr linearly from 0 over this many steps (schedule none, cosine or linear)
    lr_decay: float = 0.5  # the factor the per-epoch schedules (step, exp, plateau, decay_after) multiply the lr by
    decay_start: int = 4  # decay_after: epochs at the initial lr before decaying every epoch
    step_size: int = 1  # step: decay every step_size epochs
    average: float | None = None  # keep an exponential moving average of the weights with this decay
    patience: int | None = None  # early stopping: epochs without improvement allowed; the next one stops
    checkpoint_steps: int | None = None  # write last.safetensors every N steps (None: not by steps)
    checkpoint_minutes: float | None = 5.0  # write last.safetensors every M minutes (None or 0: not by time)
    log_every: int = 50  # a metrics line (and a plain progress line) every N steps
    seed: int = 0  # every random draw (init, dropout, jitter) flows from this seed
    max_steps: int | None = None  # stop after this many steps in total (for quick runs)
    progress: str = "auto"  # auto (a bar on a terminal, lines otherwise), bar, lines, none
    frozen: tuple[str, ...] = ()  # parameters kept as they are (e.g. pretrained "embedding.weight")
    optimizer_options: dict[str, Any] = field(default_factory=dict)  # the optimizer's other arguments by name,
    #   e.g. {"nesterov": True} for sgd, {"betas": (0.9, 0.98), "amsgrad": True} for adam (JSON values)

    def __post_init__(self) -> None:
        if isinstance(self.frozen, str) or not all(isinstance(n, str) for n in self.frozen):
            raise TypeError(f"Expected frozen to be a sequence of parameter names, got {self.frozen!r}")
        self.frozen = tuple(self.frozen)
        self._check_types()
        self._check_optimizer_options()
        if self.optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"Expected optimizer one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Expected schedule one of {SCHEDULES}, got {self.schedule!r}")
        if self.progress not in ("auto", "bar", "lines", "none"):
            raise ValueError(f"Expected progress auto, bar, lines or none, got {self.progress!r}")
        if self.epochs < 1:
            raise ValueError(f"Expected epochs >= 1, got {self.epochs}")
        if self.lr <= 0:
            raise ValueError(f"Expected lr > 0, got {self.lr}")
        if self.average is not None and not 0.0 < self.average < 1.0:
            raise ValueError(f"Expected average (the decay of the weight average) in (0, 1), got {self.average}")
        if self.clip is not None and self.clip <= 0:
            raise ValueError(f"Expected clip > 0 or None, got {self.clip}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"Expected lr_decay (the schedules' factor) in (0, 1], got {self.lr_decay}")
        for name, minimum in (("momentum", 0), ("weight_decay", 0), ("decay_start", 0), ("step_size", 1),
                              ("log_every", 1)):
            if not getattr(self, name) >= minimum:
                raise ValueError(f"Expected {name} >= {minimum}, got {getattr(self, name)}")
        for name in ("patience", "checkpoint_steps", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"Expected {name} >= 1 or None, got {value}")
        if self.checkpoint_minutes is not None and not self.checkpoint_minutes > 0:
            raise ValueError(f"Expected checkpoint_minutes > 0 or None, got {self.checkpoint_minutes}")
        # options that would be ignored, refused as the command line refuses them
        if self.momentum and self.optimizer.lower() not in ("sgd", "rmsprop"):
            raise ValueError(f"Expected momentum 0 with optimizer {self.optimizer!r} (momentum is SGD's and RMSprop's; "
                             f"Adam's and AdaDelta's running averages take its place), got {self.momentum}")
        if self.schedule not in PER_EPOCH and self.lr_decay != 0.5:
            raise ValueError(f"Expected lr_decay only with a schedule step, exp, plateau or decay_after (it is the "
                             f"factor they multiply the lr by), got {self.lr_decay} with schedule {self.schedule!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"Expected warmup_steps >= 0, got {self.warmup_steps}")
        if self.warmup_steps and self.schedule in PER_EPOCH:
            raise ValueError(f"Expected warmup_steps 0 with schedule {self.schedule!r} (a warmup goes with the "
                             f"per-step schedules none, cosine and linear), got {self.warmup_steps}")

    @property
    def per_step(self) -> bool:
        """Whether the schedule changes the lr after every step (cosine, linear, or a warmup), over the run's steps."""
        return self.schedule in ("cosine", "linear") or (self.schedule == "none" and self.warmup_steps > 0)

    def _check_optimizer_options(self) -> None:
        """Names the optimizer takes, other than those TrainConfig sets itself; tuples kept as lists (JSON)."""
        opts = self.optimizer_options
        if not isinstance(opts, dict) or not all(isinstance(k, str) for k in opts):
            raise TypeError(f"Expected optimizer_options to be a dict of argument name -> value, got {opts!r}")
        cls = OPTIMIZERS.get(self.optimizer.lower())
        if cls is None:
            return  # the optimizer's own check says it
        own = ("lr", "weight_decay", "momentum")  # TrainConfig's fields
        others = [n for n in inspect.signature(cls).parameters if n not in ("params", "decay_filter", *own)]
        for k in opts:
            if k in own:
                raise ValueError(f"Expected {k} as TrainConfig's own field, got it in optimizer_options")
            if k not in others:
                raise ValueError(f"Expected optimizer_options among {cls.__name__}'s arguments {others}, got {k!r}")

        def plain(v: Any) -> Any:  # JSON's: tuples as lists, numpy numbers as Python's
            return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v.item() if hasattr(v, "item") else v

        self.optimizer_options = {k: plain(v) for k, v in opts.items()}

    def _check_types(self) -> None:
        """Counts must be integers (2.5 epochs ran 3) and rates numbers (a string met a comparison); numpy's
        are kept as Python's, which a checkpoint's JSON holds (np.float32 failed at the first checkpoint)."""
        optional = {"patience", "checkpoint_steps", "max_steps", "clip", "average", "checkpoint_minutes"}  # or None
        for names, kind, plain, what in (
                (("epochs", "warmup_steps", "decay_start", "step_size", "log_every", "seed", "patience",
                  "checkpoint_steps", "max_steps"), numbers.Integral, int, "an integer"),
                (("lr", "momentum", "weight_decay", "lr_decay", "clip", "average", "checkpoint_minutes"), numbers.Real,
                 float, "a number")):
            for name in names:
                value = getattr(self, name)
                if value is None and name in optional:
                    continue
                if isinstance(value, bool) or not isinstance(value, kind):
                    raise TypeError(f"Expected {name} to be {what}, got {type(value).__name__} {value!r}")
                setattr(self, name, plain(value))

    def make_schedule(self, optimizer: Any, total_steps: int | None = None) -> Any:
        """The learning-rate schedule ``schedule`` names, over ``optimizer`` (None for "none" without warmup).
        A per-step one (:attr:`per_step`) needs the run's ``total_steps``: :func:`~rnnkit.optim.schedule_with_warmup`
        over them."""
        if self.per_step:
            if total_steps is None:
                raise ValueError(f"Expected total_steps for schedule {self.schedule!r} with warmup_steps "
                                 f"{self.warmup_steps}: it spans the run's steps")
            kind = "constant" if self.schedule == "none" else self.schedule
            return schedule_with_warmup(optimizer, kind, self.warmup_steps, total_steps)
        if self.schedule == "step":
            return StepLR(optimizer, self.step_size, self.lr_decay)
        if self.schedule == "exp":
            return ExponentialLR(optimizer, self.lr_decay)
        if self.schedule == "decay_after":
            return DecayAfter(optimizer, self.decay_start, self.lr_decay)
        if self.schedule == "plateau":
            return HalveOnPlateau(optimizer, factor=self.lr_decay)
        return None

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """The config of a :meth:`to_dict` dict; keys that are not fields are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
