"""What every optimizer shares: a flat dict of parameters updated in place, and per-parameter state.

An optimizer holds the *same* arrays as the model (``opt.params[name] is model.params[name]``), so an
update written in place is seen by the model without copying anything back.  Each subclass only says
how one parameter moves given its gradient::

    p <- update(p, g, state[p], t)            t = how many steps this parameter has taken

Weight decay follows nanoGPT: by default only parameters with ``arr.ndim >= 2`` (weight matrices and
embeddings) are decayed; biases, gains and learned initial states are not, because shrinking them
towards zero is not a useful prior.  ``decay_filter(name, arr) -> bool`` overrides the rule.  Note
that torch.optim decays every parameter it is given; put the same split into its param groups when
comparing.

``state_dict()`` returns ``{"arrays": {...}, "meta": {...}}``: the arrays are flat and named
``<buffer>.<parameter>`` (``exp_avg.encoder.weight_ih_l0``), ready for safetensors; the meta dict is
JSON-serialisable (class name, hyperparameters, step counts).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rnnkit.checks import all_finite, check_bool, check_number  # noqa: F401  (the optimizers import them from here)
from rnnkit.errors import NonFiniteError
from rnnkit.row_sparse import RowSparseGrad
from rnnkit.row_threads import RowThreads
from rnnkit.workspace import Scratch

DecayFilter = Callable[[str, np.ndarray], bool]
Grad = np.ndarray | RowSparseGrad
_ROWS = RowThreads()


def scale_(g: np.ndarray, c: float) -> None:
    """g *= c in place; a large contiguous array is split between BLAS's thread count."""
    if not g.flags.c_contiguous:
        g *= c
        return
    flat = g.reshape(-1)

    def scale(lo: int, hi: int) -> None:
        flat[lo:hi] *= c

    _ROWS.run(scale, flat.size, 1)


def matrices_only(name: str, arr: np.ndarray) -> bool:
    """The default weight-decay rule: decay a parameter only if it has two or more dimensions."""
    return arr.ndim >= 2


def _refuse_non_finite(name: str, given: Grad, dtype: np.dtype) -> None:
    """Raise NonFiniteError for the gradient ``given`` of ``params[name]``, whose cast to ``dtype`` holds NaN or
    inf: NaN or inf in ``given`` itself, or finite values beyond the range of the parameter's dtype."""
    numbers = given.values if isinstance(given, RowSparseGrad) else given
    if all_finite(numbers):  # a float64 gradient of 1e300 for a float32 parameter
        biggest = float(np.max(np.abs(numbers)))
        raise NonFiniteError(f"Expected grads[{name!r}] within {np.dtype(dtype).name}'s range, got values up to "
                             f"{biggest:.3g}, which would update the weights to inf: nothing was updated",
                             stage="update")
    kind = "NaN" if np.isnan(numbers).any() else "inf"
    raise NonFiniteError(f"Expected finite values in grads[{name!r}], got {kind}: nothing was updated "
                         "(a NaN or inf would reach the weights unnoticed)", stage="update")


def _check_params(params: Any) -> dict[str, np.ndarray]:
    if not isinstance(params, Mapping):
        raise TypeError(f"Expected params to be a dict of name -> numpy array, got {type(params).__name__}")
    if len(params) == 0:
        raise ValueError("Expected params to hold at least one array, got an empty dict")
    seen: dict[int, str] = {}
    for name, arr in params.items():
        if not isinstance(name, str):
            raise TypeError(f"Expected parameter names to be str, got {type(name).__name__} {name!r}")
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Expected params[{name!r}] to be a numpy array, got {type(arr).__name__}")
        if arr.dtype not in (np.float32, np.float64):
            # float16 too: its eps (1e-8) underflows to 0, and an entry with a zero gradient becomes 0/0 = NaN
            raise TypeError(f"Expected params[{name!r}] to be a float32 or float64 array, got dtype {arr.dtype}")
        if not arr.flags.writeable:
            raise ValueError(f"Expected params[{name!r}] to be writeable: the optimizer updates it in place")
        # The same array under two names would be updated twice per step with two separate states.
        if id(arr) in seen:
            raise ValueError(f"Expected each array once in params, got the same array as "
                             f"{seen[id(arr)]!r} and {name!r}")
        seen[id(arr)] = name
    # Two views of one buffer that overlap: the shared entries would be updated twice per step.
    arrays = list(params.items())
    for i, (name, arr) in enumerate(arrays):
        for other, arr2 in arrays[:i]:
            if np.may_share_memory(arr, arr2) and np.shares_memory(arr, arr2):
                raise ValueError(f"Expected params that share no memory, got {other!r} and {name!r} overlapping "
                                 "(views of one buffer): each shared entry would be updated twice per step")
    # A shallow copy: the arrays are shared with the caller, the set of names is fixed from here on.
    return dict(params)


class Optimizer:
    """Base class of the optimizers, ``Opt(params, lr, ..., weight_decay=0.0, decay_filter=None)``.

    ``params``: the model's flat dict of arrays, which ``step(grads)`` updates in place.
    ``decay_filter(name, arr) -> bool``: the parameters weight decay reaches, decided once at construction
    (``self.decays``).  The default, None, decays those with ``arr.ndim >= 2`` only (:func:`matrices_only`),
    whereas torch.optim decays every parameter it is given: pass ``decay_filter=lambda name, arr: True``
    for torch's update exactly.  Subclasses set ``buffer_names``, ``hyper_names`` and implement ``_update``.
    """

    #: every per-parameter state array a subclass may keep, e.g. ("exp_avg", "exp_avg_sq")
    buffer_names: tuple[str, ...] = ()
    #: constructor arguments saved in ``state_dict()["meta"]["hyperparameters"]``
    hyper_names: tuple[str, ...] = ("lr", "weight_decay")

    def __init__(self, params: Mapping[str, np.ndarray], decay_filter: DecayFilter | None = None) -> None:
        self.params = _check_params(params)
        self._given = params  # the caller's mapping: step() refuses an entry replaced by another array
        if decay_filter is not None and not callable(decay_filter):
            raise TypeError(f"Expected decay_filter to be callable (name, array) -> bool or None, "
                            f"got {type(decay_filter).__name__}")
        self.decay_filter = decay_filter
        rule = matrices_only if decay_filter is None else decay_filter
        #: which parameters receive weight decay, decided once so that every step agrees
        self.decays = {name: bool(rule(name, arr)) for name, arr in self.params.items()}
        self.state: dict[str, dict[str, np.ndarray]] = {name: {} for name in self.params}
        #: per-parameter step counts: a parameter skipped in some steps has its own bias correction
        self.param_steps = {name: 0 for name in self.params}
        #: number of ``step()`` calls
        self.step_count = 0
        self._scratch = Scratch()

    @property
    def lr(self) -> float:
        """Learning rate; schedules set it between epochs."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_number("lr", value, low=0.0)

    def _check_hyper(self) -> None:
        """Validate and normalise the hyperparameter attributes; subclasses extend it."""
        self.lr = self.lr
        self.weight_decay = check_number("weight_decay", self.weight_decay, low=0.0)

    def _required_buffers(self) -> tuple[str, ...]:
        """The buffers a parameter that has taken a step must have under the current settings."""
        return self.buffer_names

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float) -> None:
        raise NotImplementedError

    def _update_scaled(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, wd: float,
                       scale: float) -> None:
        """The update for the gradient ``scale * g``.  This default scales ``g`` in place first (as
        clipping would have); an optimizer that can fold the factor into its arithmetic overrides it."""
        if scale != 1.0:
            scale_(g, scale)
        self._update(p, g, state, t, wd)

    def _update_rows(self, p: np.ndarray, g: RowSparseGrad, state: dict[str, np.ndarray], t: int, wd: float,
                     scale: float) -> None:
        """The update for a row-sparse gradient.  This default makes it dense, which gives exactly the
        dense update; SGD without momentum or weight decay overrides it to touch only the rows."""
        self._update_scaled(p, g.to_dense(), state, t, wd, scale)

    @staticmethod
    def _buffer(state: dict[str, np.ndarray], key: str, like: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Return ``state[key]``, creating it on first use in the parameter's shape and dtype."""
        buf = state.get(key)
        if buf is None:
            buf = np.full_like(like, fill)
            state[key] = buf
        return buf

    def step(self, grads: Mapping[str, Grad | None], grad_scale: float = 1.0, finite: bool = False) -> None:
        """Update every parameter that has a gradient in ``grads``, in place.

        A parameter missing from ``grads`` (or mapped to None) is left alone and its state does not
        advance.  Gradients are cast to the parameter's dtype, so float32 models stay float32.  A
        gradient may be a :class:`~rnnkit.row_sparse.RowSparseGrad` (an embedding's).

        Every gradient is checked before any parameter changes: a wrong shape or a dtype that is not
        floating-point raises ValueError or TypeError, and NaN or inf (also after the cast: a float64
        1e300 for a float32 parameter) raises :class:`~rnnkit.errors.NonFiniteError`, a ValueError,
        naming the parameter.  The finite check is one BLAS dot per array (:func:`~rnnkit.checks.all_finite`;
        a row-sparse gradient's rows only): about 0.6 ms per step for a PTB-sized model's 4.65M float32
        numbers, against 12 ms for Adam's update (``benchmarks/bench_optim_check.py``).  ``finite=True``
        skips it, for a caller that has checked already: the training loop, whose finite clipping norm (or
        its own check without clipping, :func:`rnnkit.guard.check_finite`) has seen every gradient, in the
        parameters' dtype.

        ``grad_scale``: the step uses ``grad_scale * g`` for every gradient; it is how the training
        loop applies gradient clipping's coefficient (:func:`~rnnkit.optim.clip.clip_coefficient`).
        Plain SGD folds it into the learning rate, saving a pass over the gradients; the others
        multiply the gradients by it in place first, as :func:`~rnnkit.optim.clip.clip_grad_norm` does.
        """
        grad_scale = check_number("grad_scale", grad_scale, low=0.0, low_open=True)
        finite = check_bool("finite", finite)
        if not isinstance(grads, Mapping):
            raise TypeError(f"Expected grads to be a dict of name -> numpy array, got {type(grads).__name__}")
        unknown = [key for key in grads if key not in self.params]
        if unknown:
            known = ", ".join(list(self.params)[:6])
            raise ValueError(f"Expected grads keyed like params ({known}, ...), "
                             f"got unknown name(s) {unknown[:6]}")
        # Check every gradient before touching any parameter so that a bad one leaves the model intact.
        todo: list[tuple[str, np.ndarray, Grad]] = []
        for name, param in self.params.items():
            grad = grads.get(name)
            if grad is None:
                continue
            if self._given.get(name) is not param:  # params.update(loaded): the model would silently not learn
                raise ValueError(f"Expected params[{name!r}] to be the array this optimizer was built with, got "
                                 "another (replaced, e.g. by params.update(...)); the optimizer updates the arrays "
                                 "it was given: "
                                 "copy new values in place (the model's load_arrays, or params[name][...] = new) "
                                 "or build the optimizer again")
            if not isinstance(grad, (np.ndarray, RowSparseGrad)):
                raise TypeError(f"Expected grads[{name!r}] to be a numpy array, got {type(grad).__name__}")
            if grad.shape != param.shape:
                raise ValueError(f"Expected grads[{name!r}] of shape {param.shape}, got {grad.shape}")
            if grad.dtype.kind != "f":  # an int gradient is a bug upstream (ids passed for their gradient?)
                raise TypeError(f"Expected grads[{name!r}] to be a floating-point array, got dtype {grad.dtype}")
            with np.errstate(over="ignore"):  # a float64 beyond float32's range: refused, with its size, below
                if isinstance(grad, RowSparseGrad):
                    if grad.dtype != param.dtype:
                        grad = RowSparseGrad(grad.indices, grad.values.astype(param.dtype), grad.shape)
                    numbers = grad.values  # the other rows are zeros
                else:
                    grad = np.asarray(grad, dtype=param.dtype)
                    numbers = grad
            # as the layers' backward refuses a NaN dout: one NaN here would reach every weight unnoticed
            if not finite and not all_finite(numbers):
                _refuse_non_finite(name, grads[name], param.dtype)
            todo.append((name, param, grad))
        self.step_count += 1
        for name, param, grad in todo:
            self.param_steps[name] += 1
            wd = self.weight_decay if self.decays[name] else 0.0
            state, t = self.state[name], self.param_steps[name]
            if isinstance(grad, RowSparseGrad):
                self._update_rows(param, grad, state, t, wd, grad_scale)
            elif grad_scale != 1.0:
                self._update_scaled(param, grad, state, t, wd, grad_scale)
            else:
                self._update(param, grad, state, t, wd)

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as JSON-friendly values (tuples become lists)."""
        out: dict[str, Any] = {}
        for key in self.hyper_names:
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def state_dict(self) -> dict[str, Any]:
        """``{"arrays": {"<buffer>.<param>": array}, "meta": {...}}``; arrays are copies."""
        arrays = {}
        for name, buffers in self.state.items():
            for key, buf in buffers.items():
                arrays[f"{key}.{name}"] = buf.copy()
        meta = {
            "class": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step": self.step_count,
            "param_steps": dict(self.param_steps),
            "no_decay": [name for name, decays in self.decays.items() if not decays],
        }
        return {"arrays": arrays, "meta": meta}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore hyperparameters (including lr), step counts and state arrays from ``state_dict()``.

        Everything is checked before anything changes; a mismatch raises ValueError saying what.
        """
        cls = type(self).__name__
        if not isinstance(sd, Mapping) or set(sd) != {"arrays", "meta"}:
            got = sorted(sd) if isinstance(sd, Mapping) else type(sd).__name__
            raise ValueError(f"Expected an optimizer state_dict with keys ['arrays', 'meta'], got {got}")
        meta = sd["meta"]
        needed = {"class", "hyperparameters", "step", "param_steps", "no_decay"}
        if not isinstance(meta, Mapping) or not needed <= set(meta):
            raise ValueError(f"Expected state_dict['meta'] with keys {sorted(needed)}, got {meta!r:.200}")
        if meta["class"] != cls:
            raise ValueError(f"Expected a state_dict saved by {cls}, got one saved by {meta['class']}")
        hyper = meta["hyperparameters"]
        if not isinstance(hyper, Mapping) or set(hyper) != set(self.hyper_names):
            got = sorted(hyper) if isinstance(hyper, Mapping) else hyper
            raise ValueError(f"Expected {cls} hyperparameters {sorted(self.hyper_names)}, got {got}")
        steps = meta["param_steps"]
        if not isinstance(steps, Mapping):
            raise ValueError(f"Expected state_dict['meta']['param_steps'] to map parameter names to step counts, "
                             f"got {type(steps).__name__}")
        if set(steps) != set(self.params):
            missing = sorted(set(self.params) - set(steps))
            extra = sorted(set(steps) - set(self.params))
            raise ValueError(f"state_dict parameters do not match: missing {missing}, unexpected {extra}")
        counts = [meta["step"], *steps.values()]
        if not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts):
            raise ValueError(f"Expected non-negative integer step counts in state_dict, got {counts[:6]}")
        no_decay = [name for name, decays in self.decays.items() if not decays]
        if not isinstance(meta["no_decay"], (list, tuple)) or not all(isinstance(n, str) for n in meta["no_decay"]):
            raise ValueError(f"Expected state_dict['meta']['no_decay'] as a list of parameter names, got "
                             f"{meta['no_decay']!r:.100}")
        if sorted(meta["no_decay"]) != sorted(no_decay):
            raise ValueError(f"state_dict was saved with no weight decay on {sorted(meta['no_decay'])}, "
                             f"this optimizer skips {sorted(no_decay)}: use the same decay_filter")
        state: dict[str, dict[str, np.ndarray]] = {name: {} for name in self.params}
        if not isinstance(sd["arrays"], Mapping):
            raise ValueError(f"Expected state_dict['arrays'] to map names to arrays, got {type(sd['arrays']).__name__}")
        for key, arr in sd["arrays"].items():
            buf, _, name = key.partition(".")
            if buf not in self.buffer_names or name not in self.params:
                raise ValueError(f"Unexpected state array {key!r} for {cls}: expected '<buffer>.<param>' "
                                 f"with buffer in {list(self.buffer_names)} and a known parameter")
            param = self.params[name]
            if not isinstance(arr, np.ndarray) or arr.shape != param.shape or arr.dtype != param.dtype:
                got = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
                raise ValueError(f"Expected state array {key!r} of dtype {param.dtype} and shape "
                                 f"{param.shape}, got {got}")
            state[name][buf] = arr.copy()
        old = {key: getattr(self, key) for key in self.hyper_names}
        try:
            for key, value in hyper.items():
                setattr(self, key, tuple(value) if isinstance(value, list) else value)
            self._check_hyper()
            for name, count in steps.items():
                lacking = [buf for buf in self._required_buffers() if buf not in state[name]]
                if count > 0 and lacking:
                    raise ValueError(f"state_dict lacks {lacking} for {name!r}, "
                                     f"which has taken {count} steps")
        except (TypeError, ValueError):
            for key, value in old.items():
                setattr(self, key, value)
            raise
        self.state = state
        self.param_steps = {name: steps[name] for name in self.params}
        self.step_count = meta["step"]

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} arrays, {args})"
