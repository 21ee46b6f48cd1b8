r"""Check a recurrent layer's hand-derived gradients on a random problem, as rnnkit's own tests do.

The layer (float64, every parameter, bias and the initial state drawn from U(-0.6, 0.6) or N(0, 1),
so nothing is zero) runs over random inputs x (T, B, D) with unequal lengths, and a random
upstream gradient G on every output and G_T on the final state defines the scalar

    f(theta, x, s_0) = <out, G> + <s_T, G_T>,

whose gradient is exactly what ``backward(G, G_T, cache)`` returns.  Every entry of every
parameter, of x and of s_0 is then compared with the central difference

    (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps),   eps = 1e-6,

and, for one layer in one direction, with real-time recurrent learning's forward-mode gradient
(:mod:`rnnkit.rtrl`, :mod:`rnnkit.rtrl_gated`), an independent derivation.  The error of an entry
is ``|a - n| / max(1, |n|)``: relative for large gradients, absolute for small ones.  Central
differences in float64 agree to about 1e-9; a wrong backward pass is off by 1e-2 or more.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from rnnkit.checks import check_int


def numeric_grad_at(fun: Callable[[], float], arr: np.ndarray, indices: Iterable[int], eps: float = 1e-6
                    ) -> np.ndarray:
    """d fun() / d arr at the flat ``indices`` of ``arr`` by central differences, perturbing each entry
    in place (restored after); returns one float per index.  ``arr`` must be float64: in float32 a step of
    1e-6 is rounded to the nearest representable number (1e-6 near 1 is 8 ulps), and the quotient is then off
    by several percent, silently."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.float64:
        got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"Expected arr of dtype float64 for finite differences, got {got}: convert "
                        "it first (x = x.astype(np.float64)) and let fun() compute from that array")
    flat = arr.reshape(-1)
    indices = list(indices)
    out = np.zeros(len(indices))
    for k, i in enumerate(indices):
        old = flat[i]
        flat[i] = old + eps
        up = fun()
        flat[i] = old - eps
        down = fun()
        flat[i] = old
        out[k] = (up - down) / (2 * eps)
    return out


def numeric_grad(fun: Callable[[], float], arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d fun() / d arr at every entry, shaped like ``arr`` (float64 only, see :func:`numeric_grad_at`)."""
    return numeric_grad_at(fun, arr, range(arr.size), eps).astype(arr.dtype).reshape(arr.shape)


class Check(NamedTuple):
    """One comparison of an analytic gradient with a reference (finite differences or RTRL)."""

    name: str  # a parameter's name, "input x" or "initial h" / "initial c"
    reference: str  # "finite differences" or "RTRL"
    entries: int  # entries compared
    max_grad: float  # largest |analytic gradient|, to show the errors' scale
    max_error: float  # max |a - n| / max(1, |n|)


def _error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    return float(np.max(np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric)), initial=0.0))


def check_recurrent(cell: str = "lstm", nonlinearity: str = "tanh", num_layers: int = 1, bidirectional: bool = False,
                    steps: int = 6, batch: int = 3, input_size: int = 3, hidden: int = 4, seed: int = 0,
                    eps: float = 1e-6, info: dict | None = None, peephole: bool = False,
                    layer_norm: bool = False) -> list[Check]:
    """Compare the layer's BPTT gradients with finite differences (and RTRL where it applies).

    ``peephole`` (LSTM only): the LSTM with peephole connections (:mod:`rnnkit.cells.lstm_peephole`), whose
    ``weight_ci``, ``weight_cf``, ``weight_co`` are checked like every other parameter.  RTRL is then not
    compared (:mod:`rnnkit.rtrl_gated` derives the plain LSTM only).

    ``layer_norm`` (any cell): the layer-normalized cells (:mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`,
    :mod:`rnnkit.cells.gru_ln`; with ``peephole`` the LSTM with both, :mod:`rnnkit.cells.lstm_ln_peephole`), whose
    gains and shifts (``ln_*_l{k}``) are checked like every other parameter.  RTRL is then not compared (rnnkit's
    RTRL refuses layer-normalized cells).

    The problem is random, from ``seed``: parameters U(-0.6, 0.6), inputs, initial states and the
    upstream gradients of the outputs and final states standard normal, and lengths drawn from 1..T
    with the first sequence's T.  A dict given as ``info`` receives ``"lengths"`` (a list) and ``"eps"``.
    """
    from rnnkit.recurrent import make_recurrent

    for name, value in (("num_layers", num_layers), ("steps", steps), ("batch", batch), ("input_size", input_size),
                        ("hidden", hidden)):
        check_int(name, value, 1)
    rng = np.random.default_rng(seed)
    layer = make_recurrent({"cell": cell, "input_size": input_size, "hidden_size": hidden, "num_layers": num_layers,
                            "bidirectional": bidirectional, "nonlinearity": nonlinearity, "dtype": "float64",
                            "peephole": peephole, "layer_norm": layer_norm}, rng)
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(-0.6, 0.6, size=v.shape)
    T, B, D, H = steps, batch, input_size, hidden
    S = num_layers * layer.num_directions
    x = rng.standard_normal((T, B, D))
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T  # the longest sequence fills the window
    if info is not None:
        info.update(lengths=lengths.tolist(), eps=eps)
    parts = ("h", "c") if cell == "lstm" else ("h",)
    state = [rng.standard_normal((S, B, H)) for _ in parts]
    dstate = [rng.standard_normal((S, B, H)) for _ in parts]
    pack = (lambda s: (s[0], s[1])) if cell == "lstm" else (lambda s: s[0])

    out, _, cache = layer.forward(x, state=pack(state), lengths=lengths)
    dout = rng.standard_normal(out.shape)
    dx, dstate0, grads = layer.backward(dout, pack(dstate), cache)
    dstate0 = list(dstate0) if cell == "lstm" else [dstate0]

    def f() -> float:
        o, final, _ = layer.forward(x, state=pack(state), lengths=lengths)
        finals = final if cell == "lstm" else (final,)
        return float(np.sum(o * dout)) + sum(float(np.sum(a * b)) for a, b in zip(finals, dstate))

    checks = []
    for name, arr in layer.params.items():
        checks.append(_compare(name, grads[name], numeric_grad(f, arr, eps)))
    checks.append(_compare("input x", dx, numeric_grad(f, x, eps)))
    for part, s, ds in zip(parts, state, dstate0):
        checks.append(_compare(f"initial {part}", ds, numeric_grad(f, s, eps)))
    if num_layers == 1 and not bidirectional and not peephole and not layer_norm:
        checks += _rtrl_checks(cell, nonlinearity, layer.params, x, state, dstate, dout, lengths, grads, dstate0)
    return checks


def _compare(name: str, analytic: np.ndarray, numeric: np.ndarray, reference: str = "finite differences") -> Check:
    return Check(name, reference, int(analytic.size), float(np.max(np.abs(analytic), initial=0.0)),
                 _error(np.asarray(analytic), np.asarray(numeric)))


def _rtrl_checks(cell, nonlinearity, params, x, state, dstate, dout, lengths, grads, dstate0) -> list[Check]:
    from rnnkit.rtrl import rtrl_gradients
    from rnnkit.rtrl_gated import gru_rtrl_gradients, lstm_rtrl_gradients

    p = {k: params[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
    if cell == "lstm":
        r_grads, r_state = lstm_rtrl_gradients(p, x, (state[0][0], state[1][0]), dout,
                                               (dstate[0][0], dstate[1][0]), lengths)
    elif cell == "gru":
        r_grads, dh0 = gru_rtrl_gradients(p, x, state[0][0], dout, dstate[0][0], lengths)
        r_state = (dh0,)
    else:
        r_grads, dh0 = rtrl_gradients(p, x, state[0][0], dout, dstate[0][0], lengths, nonlinearity=nonlinearity)
        r_state = (dh0,)
    checks = [_compare(name, grads[name], r_grads[name], "RTRL") for name in p]
    for part, ds, r in zip(("h", "c"), dstate0, r_state):
        checks.append(_compare(f"initial {part}", ds[0], r, "RTRL"))
    return checks
