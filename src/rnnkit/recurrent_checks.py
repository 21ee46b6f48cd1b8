"""Argument checks of the recurrent layers (:mod:`rnnkit.recurrent`): the constructor's options, the
input sequence and the state-like arguments (an initial state, or the gradient of a final state).  Each bad
argument raises ValueError or TypeError naming it, saying what was expected and what came.  The array checks
are :mod:`rnnkit.cells._checks`'s, shared with the kernels under the layers."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rnnkit.cells._checks import check_float_array
from rnnkit.checks import check_array, check_int, check_rate, check_rng, dtype_fix, param_dtype_fix
from rnnkit.errors import NonFiniteError
from rnnkit.init import MAX_INIT_SCALE, SCHEMES

DTYPES = ("float32", "float64")
# why layer normalization over a cell's H units needs H >= 2: over one unit LN(a) = beta whatever a is
LN_OVER_H = {"rnn": "its one unit would be normalized to its shift whatever the input, so h_t would not depend on x",
             "lstm": "its one-unit cell c_t would be normalized to a constant, so h_t would not depend on c_t"}


def ln_over_one_unit(cell: str, layer_norm: Any, units: Any) -> str | None:
    """Why ``layer_norm`` over a ``cell`` ("rnn", "lstm", "gru") of ``units`` hidden units cannot work when it is
    one unit of the Elman RNN or the LSTM (:data:`LN_OVER_H`, for the caller's error), else None (GRU's LN is
    over its gates, and a ``units`` that is no integer is left to the size's own check)."""
    if layer_norm and cell in LN_OVER_H and isinstance(units, (int, np.integer)) and units == 1:
        return LN_OVER_H[cell]
    return None


def check_layer_options(cell: str, dtype: Any, *, bidirectional: Any, variational_dropout: Any, learn_init: Any,
                        rng: Any, init: str, init_scale: Any, dropout: Any, weight_drop: Any, nonlinearity: Any,
                        tbptt: Any, residual: Any = False, num_layers: Any = 1, peephole: Any = False,
                        layer_norm: Any = False, hidden_size: Any = None) -> str:
    """The options of a ``cell`` layer ("rnn", "lstm", "gru"), checked; returns the dtype's name."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = repr(dtype)
    if name not in DTYPES:
        raise TypeError(f"Expected dtype float32 or float64, got {name}")
    for flag, value in (("bidirectional", bidirectional), ("variational_dropout", variational_dropout),
                        ("learn_init", learn_init), ("residual", residual), ("peephole", peephole),
                        ("layer_norm", layer_norm)):
        check_flag(flag, value)
    check_rng(rng, allow_none=True)
    if init not in SCHEMES:  # said in the layer's words: rnnkit.init's own message names its "scheme"
        raise ValueError(f"Expected init to be one of {SCHEMES}, got {init!r}")
    if init_scale is not None and init != "uniform":
        raise ValueError(f"Expected init_scale only with init='uniform' (it is U(-s, s)'s s), got init={init!r}")
    if init == "uniform" and (isinstance(init_scale, (bool, np.bool_))
                              or not isinstance(init_scale, (int, float, np.integer, np.floating))
                              or not 0 < init_scale <= MAX_INIT_SCALE):
        raise ValueError(f"Expected init_scale in (0, {MAX_INIT_SCALE:g}] with init='uniform' (the bound s of "
                         f"U(-s, s), e.g. 0.1; weights far larger overflow float32), got {init_scale!r}")
    check_rate("dropout", dropout)
    check_rate("weight_drop", weight_drop)
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    if nonlinearity != "tanh" and cell != "rnn":
        raise ValueError(f"Expected nonlinearity 'tanh' for {cell.upper()}, got {nonlinearity!r}")
    if peephole and cell != "lstm":
        raise ValueError(f"Expected peephole=False for {cell.upper()} (peepholes read an LSTM's cell c), got True")
    why = ln_over_one_unit(cell, layer_norm, hidden_size)
    if why:
        raise ValueError(f"Expected hidden_size >= 2 with layer_norm=True for {cell.upper()} ({why}), got "
                         "hidden_size=1")
    if tbptt is not None:
        check_int("tbptt", tbptt, 1)
    if residual and check_int("num_layers", num_layers, 1) == 1:
        raise ValueError("Expected num_layers >= 2 with residual=True (it adds each layer's input to its output from "
                         "the second layer on), got num_layers=1")
    return name


def check_flag(flag: str, value: Any) -> bool:
    """A layer's flag (bidirectional=...), a bool or numpy's np.bool_: TypeError for anything else (0, None)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Expected {flag} to be True or False, got {value!r}")
    return bool(value)


def check_batch_first(cell: str, batch_first: Any) -> None:
    """PyTorch's ``batch_first=True`` refused with how to give rnnkit's time-major inputs instead (False, its
    default and rnnkit's layout, passes, numpy's np.False_ too); a value that is not a bool (0, None) is a TypeError,
    as for the layer's other flags."""
    if check_flag("batch_first", batch_first):
        raise ValueError(f"Expected batch_first=False (rnnkit's {cell.upper()} is time-major: inputs (T, B, D)), got "
                         f"{batch_first!r}; give x.transpose(1, 0, 2) and transpose the output back the same way")


def check_input(x: Any, input_size: int, dtype: np.dtype) -> np.ndarray:
    """x must be a finite (T, B, D) array of the layer's dtype with T, B >= 1; returns it contiguous."""
    check_array("x", x)
    if x.ndim != 3 or x.shape[2] != input_size:
        raise ValueError(f"Expected x of shape (T, B, D={input_size}), got {x.shape}")
    if x.dtype != dtype:
        raise TypeError(f"Expected x of dtype {dtype}, got {x.dtype}: {dtype_fix('x', x.dtype, dtype)}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"Expected x with T >= 1 and B >= 1, got {x.shape}")
    if not np.isfinite(x).all():
        raise NonFiniteError("Expected finite values in x, got NaN or inf", stage="forward")
    return np.ascontiguousarray(x)


def _check_state_array(name: str, a: Any, expected: tuple[int, int, int], dtype: np.dtype,
                       cast: bool) -> np.ndarray:
    check_float_array(name, a, expected, "(L*dirs, B, H)", dtype, any_float=cast)  # as the kernels check theirs
    if cast:
        a = a.astype(dtype, copy=False)
    if not np.isfinite(a).all():  # as x: a NaN would reach every output and gradient unnoticed
        raise NonFiniteError(f"Expected finite values in {name}, got NaN or inf",
                             stage="backward" if cast else "forward")  # cast: a gradient, dstate
    return a


def split_state(state: Any, what: str, lstm: bool, expected: tuple[int, int, int],
                dtype: np.dtype, cast: bool = False) -> list[np.ndarray] | None:
    """Validate a state-like argument of shape ``expected`` = (L*dirs, B, H) (a tuple (h, c) for LSTM);
    return it as one list of arrays (h, or h and c), or None for None.  An initial state must have the
    layer's dtype; a gradient (``cast=True``, as backward's dstate) may have any float dtype, as dout may,
    and is cast to the layer's."""
    if state is None:
        return None
    if lstm:
        if not isinstance(state, tuple) or len(state) != 2:
            raise ValueError(f"Expected {what} as a tuple (h, c) for LSTM, got {type(state).__name__}")
        return [_check_state_array(f"{what}[{i}]", s, expected, dtype, cast) for i, s in enumerate(state)]
    return [_check_state_array(what, state, expected, dtype, cast)]


def layer_weights(params: dict[str, Any], sfx: str, shapes: dict[str, tuple[int, ...]],
                  dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """``params[name + sfx]`` for each name of ``shapes``, each checked for its shape and dtype: a
    user may have replaced entries of a layer's ``params`` (loading weights by hand)."""
    ws = []
    for n, shape in shapes.items():
        w = params.get(n + sfx)
        if not isinstance(w, np.ndarray) or w.shape != shape:
            got = "nothing" if w is None else getattr(w, "shape", type(w).__name__)
            raise ValueError(f"Expected params[{n + sfx!r}] of shape {shape}, got {got}")
        if w.dtype != dtype:
            raise TypeError(f"Expected params[{n + sfx!r}] of dtype {dtype}, got {w.dtype}: "
                            f"{param_dtype_fix(f'params[{n + sfx!r}]', dtype)}")
        ws.append(w)
    return tuple(ws)


def warn_no_effect(cfg: Any) -> None:
    """UserWarning for options of a stack's config that would do nothing: dropout between layers of a
    single layer (PyTorch warns too), variational dropout without dropout acting."""
    if cfg.dropout > 0 and cfg.num_layers == 1:
        warnings.warn(f"dropout={cfg.dropout} acts between stacked layers, so with num_layers=1 it has no "
                      "effect; leave it out, or add layers", UserWarning, stacklevel=4)
    if cfg.variational_dropout and (cfg.dropout == 0 or cfg.num_layers == 1):
        warnings.warn("variational_dropout shares each dropout mask across time, and no dropout acts here "
                      "(dropout=0 or num_layers=1): it has no effect", UserWarning, stacklevel=4)
