"""Moving recurrent weights between rnnkit and PyTorch's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``.

rnnkit keeps PyTorch's parameter names and layouts (``weight_ih_l{k}`` (G*H, D_k), ``weight_hh_l{k}``
(G*H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H,), suffix ``_reverse``; gate order LSTM i,f,g,o
and GRU r,z,n), so moving weights is copying arrays by name, with checks.

What does not carry over, because PyTorch has no counterpart:

- learned initial states (``h0_l{k}``, ``c0_l{k}`` with ``learn_init=True``): the export skips them
  and an import leaves them as they are.  To reproduce such a layer's outputs in PyTorch, pass
  :func:`learned_initial_state` as the module's initial state;
- residual connections (``residual=True``): torch's modules have none, so :func:`to_torch_module` refuses
  such a layer; its weights still move by name, into one-layer modules a residual stack is built from;
- peephole connections (an LSTM with ``peephole=True``, parameters ``weight_ci_l{k}`` ...): torch has no
  peephole LSTM, so :func:`to_torch_module` refuses such a layer; nor layer-normalized cells (``layer_norm=True``,
  parameters ``ln_*``), refused alike;
- ``tbptt``, ``variational_dropout`` and ``weight_drop`` (DropConnect on W_hh): they change training
  only.  The exported module gets the same dropout rate between layers, applied PyTorch's way (a fresh
  mask per time step, in ``train()`` mode), and no DropConnect: its weights are the layer's, unmasked,
  as they are at evaluation.

Refused PyTorch options: ``bias=False`` and ``proj_size > 0`` (rnnkit layers always have both biases
and no projection) and ``batch_first=True``: rnnkit is time-major (T, B, D).  The weights of a
``batch_first`` module are the same, so set ``module.batch_first = False`` and transpose the inputs.

torch is not a dependency of rnnkit; it is imported inside these functions only.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.english import a_or_an_letters
from rnnkit.recurrent import GRU, LSTM, RNN, Recurrent

if TYPE_CHECKING:  # only for the annotations; importing torch here would make it a dependency
    import torch

__all__ = ["from_torch_state_dict", "has_learned_init", "layer_from_torch", "learned_initial_state", "to_torch_module",
           "to_torch_state_dict", "torch_arrays"]

TORCH_HINT = "pip install torch==2.13.0"
_INIT_KEY = re.compile(r"(^|\.)[hc]0_l\d+(_reverse)?$")  # learned initial states, maybe prefixed
_MODES = {"RNN_TANH": (RNN, "tanh"), "RNN_RELU": (RNN, "relu"), "LSTM": (LSTM, None), "GRU": (GRU, None)}
_TORCH_CLASS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"rnnkit.torch_io needs PyTorch, which is not installed; {TORCH_HINT}") from exc
    return torch


def _is_learned_init(name: str) -> bool:
    return _INIT_KEY.search(name) is not None


def _check_layer(layer: Any) -> Recurrent:
    if not isinstance(layer, Recurrent):
        raise TypeError(f"Expected layer to be an rnnkit RNN, LSTM or GRU, got {type(layer).__name__}")
    return layer


def torch_arrays(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What :func:`to_torch_state_dict` holds, as numpy arrays (copies in native byte order) and without
    torch: ``params`` less the learned initial states.  ``rnnkit export --torch`` writes it to a file."""
    if not isinstance(params, Mapping):
        owner = "layer" if isinstance(params, Recurrent) else "model"
        hint = f" (pass {owner}.params)" if isinstance(getattr(params, "params", None), Mapping) else ""
        raise TypeError(f"Expected params as a dict of str -> numpy array{hint}, got {type(params).__name__}")
    out = {}
    for name, value in params.items():
        if _is_learned_init(name):
            continue
        if not isinstance(value, np.ndarray):
            raise TypeError(f"Expected params[{name!r}] to be a numpy array, got {type(value).__name__}")
        # a copy in native byte order: the tensor must not alias the layer's array
        out[name] = np.array(value, dtype=value.dtype.newbyteorder("="), order="C", copy=True)
    return out


def has_learned_init(params: Mapping[str, np.ndarray]) -> bool:
    """Whether ``params`` hold a learned initial state (``h0_l*``, ``c0_l*``), which torch modules lack."""
    return any(_is_learned_init(name) for name in params)


def to_torch_state_dict(params: Mapping[str, np.ndarray]) -> dict[str, "torch.Tensor"]:
    """A PyTorch state dict (same names, copied tensors) of rnnkit ``params``; learned initial states
    (``h0_l*``, ``c0_l*``, any dotted prefix) are skipped because PyTorch modules have none.

    ``params`` is a flat dict of arrays, not a layer: a layer's (``layer.params``) or a whole model's
    (``model.params``, dotted names such as ``encoder.weight_ih_l0``), whose state dict then loads into a
    torch model of the same names.  For a layer, :func:`to_torch_module` builds the torch module too.
    """
    arrays = torch_arrays(params)
    torch = _torch()
    return {name: torch.from_numpy(value) for name, value in arrays.items()}


def _to_numpy(name: str, value: Any, torch: Any) -> np.ndarray:
    """float64 numpy copy of a tensor or array; float64 holds float16/bfloat16/float32 exactly."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"Expected state_dict[{name!r}] to be a floating-point tensor, got {value.dtype}")
        return value.detach().to(device="cpu", dtype=torch.float64).numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise TypeError(f"Expected state_dict[{name!r}] to be a floating-point array, got {value.dtype}")
        return value.astype(np.float64)
    raise TypeError(f"Expected state_dict[{name!r}] to be a torch tensor or numpy array, got {type(value).__name__}")


def from_torch_state_dict(state_dict: Mapping[str, Any], layer: Recurrent, prefix: str = "") -> None:
    """Copy a PyTorch recurrent module's ``state_dict`` into ``layer.params`` in place.

    Every weight and bias of ``layer`` must be present with exactly its shape, and no other key may
    be (with ``prefix``, e.g. ``"rnn."``, only keys starting with it are considered and it is
    stripped), and every value must be finite in the layer's dtype.  All problems are reported together
    in one ValueError and nothing is changed.  The
    values are cast to the layer's dtype and written into the existing arrays, so references to
    them (an optimizer's, say) stay valid.  Learned initial states are left as they are.
    """
    torch = _torch()
    layer = _check_layer(layer)
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict as a dict of str -> tensor, got {type(state_dict).__name__}")
    given = {k[len(prefix):]: v for k, v in state_dict.items() if isinstance(k, str) and k.startswith(prefix)}
    expected = {k: v for k, v in layer.params.items() if not _is_learned_init(k)}
    missing = [prefix + k for k in expected if k not in given]
    unexpected = [prefix + k for k in given if k not in expected]
    wrong_shape = []
    values = {}
    for k in expected.keys() & given.keys():
        if not hasattr(given[k], "shape"):  # a list, a number: not a tensor or an array
            raise TypeError(f"Expected {prefix + k} as a torch tensor or numpy array, got {type(given[k]).__name__}")
        shape = tuple(given[k].shape)
        if shape != expected[k].shape:
            wrong_shape.append(f"{prefix + k} expected {expected[k].shape}, got {shape}")
        else:
            values[k] = _to_numpy(prefix + k, given[k], torch)
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, and is named below
        cast = {k: v.astype(layer.dtype) for k, v in values.items()}
    not_finite = sorted(prefix + k for k, v in cast.items() if not np.isfinite(v).all())
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if wrong_shape:
        problems.append("wrong shapes: " + "; ".join(sorted(wrong_shape)))
    if not_finite:  # a NaN weight would make every output NaN
        problems.append(f"NaN or infinite values (in {np.dtype(layer.dtype).name}) in {not_finite}")
    if problems:
        cfg = layer.config
        what = (
            f"{cfg.cell.upper()}(D={cfg.input_size}, H={cfg.hidden_size}, L={cfg.num_layers}, "
            f"bidirectional={cfg.bidirectional})"
        )
        raise ValueError(f"Expected a state dict matching {what}, got " + "; ".join(problems))
    for k, v in cast.items():
        layer.params[k][...] = v


def layer_from_torch(module: "torch.nn.Module", dtype: Any = None) -> Recurrent:
    """The rnnkit layer matching a ``torch.nn.RNN/LSTM/GRU`` (cell, sizes, layers, directions,
    nonlinearity, dropout), holding a copy of its weights.

    ``dtype`` defaults to the module's (float32 or float64); give it for half-precision modules.
    """
    torch = _torch()
    mode = getattr(module, "mode", None)
    if not isinstance(module, torch.nn.RNNBase) or mode not in _MODES:
        raise TypeError(f"Expected module to be a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")
    name = type(module).__name__
    article = a_or_an_letters(name)  # an LSTM, an RNN, a GRU
    if not module.bias:
        raise ValueError(f"Expected {article} {name} with bias=True, got bias=False: rnnkit layers always have both "
                         "biases")
    if getattr(module, "proj_size", 0) != 0:
        raise ValueError(f"Expected {article} {name} with proj_size=0, got proj_size={module.proj_size}: "
                         "rnnkit has no LSTM projections")
    if module.batch_first:
        raise ValueError(f"Expected {article} {name} with batch_first=False, got True: rnnkit is time-major (T, B, D); "
                         "the weights do not depend on it, so set module.batch_first = False and transpose inputs")
    if dtype is None:
        dtype = {torch.float32: np.float32, torch.float64: np.float64}.get(module.weight_ih_l0.dtype)
        if dtype is None:
            raise TypeError(f"Expected a float32 or float64 module, got {module.weight_ih_l0.dtype}; "
                            "pass dtype=np.float32 to convert")
    cls, nonlinearity = _MODES[mode]
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity is not None else {}
    layer = cls(
        module.input_size,
        module.hidden_size,
        module.num_layers,
        bidirectional=module.bidirectional,
        dropout=module.dropout,
        dtype=dtype,
        rng=np.random.default_rng(0),  # the random initial weights are overwritten just below
        **kwargs,
    )
    from_torch_state_dict(module.state_dict(), layer)
    return layer


def to_torch_module(layer: Recurrent) -> "torch.nn.Module":
    """A new ``torch.nn.RNN/LSTM/GRU`` of the layer's kind, dtype and sizes, holding a copy of its
    weights.  It is in PyTorch's default ``train()`` mode: call ``.eval()`` to turn dropout off.
    What does not carry over (learned initial states, tbptt, variational dropout, weight_drop) is listed
    in the module docstring."""
    torch = _torch()
    cfg = _check_layer(layer).config
    if cfg.residual:
        raise ValueError("Expected a layer without residual connections (torch's RNN, LSTM and GRU have no residual "
                         "connections), got residual=True; build the stack from one-layer modules, adding each "
                         "layer's input to its output from the second layer on")
    if cfg.peephole:
        raise ValueError("Expected an LSTM without peepholes (torch has no peephole LSTM), got peephole=True")
    if cfg.layer_norm:
        raise ValueError("Expected a layer without layer normalization (torch's RNN and LSTM have none), got "
                         "layer_norm=True")
    kwargs: dict[str, Any] = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
    module = getattr(torch.nn, _TORCH_CLASS[cfg.cell])(
        cfg.input_size,
        cfg.hidden_size,
        cfg.num_layers,
        bias=True,
        batch_first=False,
        # with one layer the rate has no effect in either library, and PyTorch warns about it
        dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        bidirectional=cfg.bidirectional,
        **kwargs,
    )
    module = module.to({"float32": torch.float32, "float64": torch.float64}[cfg.dtype])
    module.load_state_dict(to_torch_state_dict(layer.params), strict=True)
    return module


def learned_initial_state(layer: Recurrent, batch_size: int) -> Any:
    """The layer's learned initial state in PyTorch's layout: h0 (L*dirs, B, H) for RNN/GRU, (h0, c0)
    for LSTM, as numpy arrays; None when the layer has no learned initial state."""
    cfg = _check_layer(layer).config
    check_int("batch_size", batch_size, 1)
    if not cfg.learn_init:
        return None
    dirs = layer.num_directions
    suffixes = [f"_l{k}" + ("_reverse" if d else "") for k in range(cfg.num_layers) for d in range(dirs)]
    names = ["h0", "c0"] if cfg.cell == "lstm" else ["h0"]
    shape = (batch_size, cfg.hidden_size)
    states = [np.stack([np.broadcast_to(layer.params[n + s], shape) for s in suffixes]) for n in names]
    return tuple(states) if cfg.cell == "lstm" else states[0]  # each (L*dirs, B, H)
