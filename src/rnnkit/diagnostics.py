r"""Gradient-flow diagnostics: how large is dL/dh_t at every step of backpropagation through time?

With the loss at the last step only, the gradient reaching h_t is a product of T - t Jacobians,
taken from the last step back (row vectors, so each Jacobian multiplies on the right)::

    dL/dh_t = dL/dh_T  (dh_T/dh_{T-1}) (dh_{T-1}/dh_{T-2}) ... (dh_{t+1}/dh_t)

For an Elman network the Jacobian is dh_s/dh_{s-1} = diag(f'(a_s)) W_hh (so a row vector times it
is (dL/dh_s * f'(a_s)) W_hh), and a long product of them shrinks geometrically with the distance
T - t: the vanishing gradient (Hochreiter 1991; Bengio, Simard and Frasconi 1994).  With PyTorch's
default init U(-1/sqrt(H), 1/sqrt(H)) the entries of W_hh have variance 1/(3H), so its eigenvalues
fill a disc of radius about 1/sqrt(3) = 0.58 (the circular law) while its largest singular value
approaches 2/sqrt(3) = 1.15 for large H (1.09 at H = 50, seed 0): one Jacobian's norm is often above
1, yet the product shrinks like 0.58^k or faster, since 0 < f' <= 1 (``rnnkit gradflow``, H = 50: by
0.54 a step).  A Jacobian norm below 1 at every step (Pascanu, Mikolov and Bengio 2013) is a
sufficient condition for vanishing, not the mechanism here.  An LSTM carries the gradient through its
cell: the direct path from c_t to c_{t-1} is dL/dc_{t-1} = dL/dc_t * f_t + ... (the rest flows
through h_{t-1} and the gates, see :mod:`rnnkit.cells.lstm`), a product of forget gates that decays
only as fast as they close.

:func:`grad_norms_per_step` measures ||dL/dh_t|| (Frobenius norm over the batch) for a given layer,
input and upstream gradient; :func:`gradient_flow` builds a random network and puts the loss at the
last step, which is the experiment ``rnnkit gradflow`` prints.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnkit.checks import check_int, dtype_fix
from rnnkit.errors import NonFiniteError
from rnnkit.init import INIT_SCALE_RANGE, MAX_INIT_SCALE, init_recurrent_params
from rnnkit.recurrent import GRU, LSTM, RNN, Recurrent
from rnnkit.recurrent_checks import check_flag

CELLS = ("rnn", "lstm", "gru")
INIT_SCHEMES = ("pytorch", "orthogonal", "xavier")
_CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _layer_state(name: str, value: Any, cell: str, shape: tuple[int, int, int], dtype: np.dtype) -> list:
    """Validate a state-like argument; return it as a list of (L, B, H) arrays (h, or h and c)."""
    parts = value if cell == "lstm" else (value,)
    if cell == "lstm" and not (isinstance(value, tuple) and len(value) == 2):
        raise ValueError(f"Expected {name} as a tuple (h, c) for LSTM, got {type(value).__name__}")
    out = []
    for i, a in enumerate(parts):
        label = f"{name}[{i}]" if cell == "lstm" else name
        if not isinstance(a, np.ndarray) or a.shape != shape:
            got = a.shape if isinstance(a, np.ndarray) else type(a).__name__
            raise ValueError(f"Expected {label} of shape (L, B, H) = {shape}, got {got}")
        out.append(a.astype(dtype, copy=False))
    return out


def grad_norms_per_step(
    layer: Recurrent,
    x: np.ndarray,
    dout: np.ndarray | None = None,
    dstate: Any = None,
    state: Any = None,
    rng: np.random.Generator | None = None,
    with_cell: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""||dL/dh_t|| for every step t of a unidirectional layer, from its BPTT.

    The loss is L = <out, dout> + <h_T, dstate> (+ <c_T, dc_T> for an LSTM), so ``dout`` (T, B, H)
    and ``dstate`` (like the layer's state, (L, B, H) or a tuple (h, c)) are its upstream
    gradients.  With both None the loss sits at the last step only: ``dstate`` gets a
    standard-normal dL/dh_T for the top layer, drawn from ``rng``.

    Entry t (0-based) is the Frobenius norm over the batch of the total gradient reaching the
    hidden state produced at step t, i.e. of ``out[t]``: the part from the output at t plus the
    part from step t+1.  The layer runs in evaluation mode (no dropout); its ``tbptt`` applies,
    as in training.  Returns float64 (T,) for one layer and (L, T) for L stacked layers, row l for
    layer l.  For an LSTM this is the total dL/dh_t, which already holds what came back through
    c_{t+1} and the gates.  ``with_cell=True`` (LSTM only) returns (dh norms, dc norms), the second
    ||dL/dc_t||, all the gradient reaching the cell c_t (through h_t and from c_{t+1}), shaped alike:
    the cell path dL/dc_{t-1} = dL/dc_t * f_t + ... that the forget gates keep open.
    """
    if not isinstance(layer, Recurrent):
        raise TypeError(f"Expected layer to be an RNN, LSTM or GRU from rnnkit.recurrent, got {type(layer).__name__}")
    cfg = layer.config
    if cfg.bidirectional:
        raise ValueError("Expected a unidirectional layer, got bidirectional=True")
    if cfg.residual:  # the stack below is run layer by layer, without the identity paths
        raise ValueError("Expected a layer without residual connections, got residual=True")
    dtype = layer.dtype
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != cfg.input_size:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"Expected x of shape (T, B, D={cfg.input_size}), got {got}")
    if x.dtype != dtype:
        raise TypeError(f"Expected x of dtype {dtype} (the layer's), got {x.dtype}: {dtype_fix('x', x.dtype, dtype)}")
    T, B, _ = x.shape
    L, H = cfg.num_layers, cfg.hidden_size
    if T < 1 or B < 1:
        raise ValueError(f"Expected x with T >= 1 and B >= 1, got {x.shape}")
    if dout is not None and (not isinstance(dout, np.ndarray) or dout.shape != (T, B, H)):
        got = dout.shape if isinstance(dout, np.ndarray) else type(dout).__name__
        raise ValueError(f"Expected dout of shape (T, B, H) = {(T, B, H)}, got {got}")
    for name, a in (("x", x), ("dout", dout)):  # a NaN gave NaN norms at every step, silently
        if a is not None and not np.isfinite(a).all():
            raise NonFiniteError(f"Expected finite values in {name}, got NaN or inf",
                                 stage="forward" if name == "x" else "backward")
    n_parts = 2 if cfg.cell == "lstm" else 1
    check_flag("with_cell", with_cell)
    if with_cell and cfg.cell != "lstm":
        raise ValueError(f"Expected with_cell=False for a {cfg.cell.upper()} layer (only an LSTM has a cell c), "
                         "got True")
    if dout is None and dstate is None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError("Expected rng (a numpy Generator) to draw dL/dh_T, or an explicit dout or dstate; "
                             "got none")
        top = np.zeros((L, B, H), dtype)
        top[-1] = rng.standard_normal((B, H))
        dstate = (top, np.zeros_like(top)) if cfg.cell == "lstm" else top
    dstates = None if dstate is None else _layer_state("dstate", dstate, cfg.cell, (L, B, H), dtype)
    states0 = None if state is None else _layer_state("state", state, cfg.cell, (L, B, H), dtype)

    kernel = layer._kernel  # the peephole LSTM's own kernel when cfg.peephole
    extra = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
    caches = []
    layer_in = np.ascontiguousarray(x)
    for k in range(L):
        sfx = f"_l{k}"
        if states0 is not None:
            parts = [np.ascontiguousarray(s[k]) for s in states0]
        elif cfg.learn_init:
            names = ("h0", "c0")[:n_parts]
            parts = [np.broadcast_to(layer.params[n + sfx], (B, H)).copy() for n in names]
        else:
            parts = [np.zeros((B, H), dtype) for _ in range(n_parts)]
        s0 = tuple(parts) if cfg.cell == "lstm" else parts[0]
        weights = [layer.params[n + sfx] for n in layer._shapes(k)]  # 4, or 7 with peepholes
        layer_in, _, cache = kernel.forward(layer_in, s0, *weights, **extra)  # (T, B, H)
        caches.append(cache)

    norms = np.zeros((L, T), np.float64)
    cells = np.zeros((L, T), np.float64) if with_cell else None
    d = np.zeros((T, B, H), dtype) if dout is None else dout.astype(dtype, copy=False)  # (T, B, H)
    for k in range(L - 1, -1, -1):
        dT = None
        if dstates is not None:
            dT = tuple(s[k] for s in dstates) if cfg.cell == "lstm" else dstates[0][k]
        # the kernel writes ||dL/dh_t|| into row k as it walks back through time
        also = {} if cells is None else {"dc_norms": cells[k]}
        d, _, _ = kernel.backward(d, dT, caches[k], tbptt=cfg.tbptt, dh_norms=norms[k], **also)
    if cells is not None:
        return (norms[0], cells[0]) if L == 1 else (norms, cells)
    return norms[0] if L == 1 else norms


def gradient_flow(
    cell: str = "rnn",
    steps: int = 100,
    hidden: int = 50,
    batch: int = 16,
    seed: int = 0,
    init: str | float = "pytorch",
    forget_bias: float | None = 1.0,
    input_size: int = 10,
    num_layers: int = 1,
    peephole: bool = False,
    layer_norm: bool = False,
    with_cell: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""||dL/dh_t|| for t = 1..T in a random network with the loss at the last step only.

    Builds a float64 ``cell`` layer ("rnn" = Elman with tanh, "lstm", "gru") with ``hidden`` units,
    feeds it standard-normal inputs (T=steps, B=batch, D=input_size) from the zero state, draws a
    standard-normal upstream gradient dL/dh_T on the top layer's final hidden state and nothing
    anywhere else, and returns :func:`grad_norms_per_step`: (steps,) float64, or (num_layers, steps).
    Entry t-1 belongs to h_t, so the last entry is ||dL/dh_T|| itself.

    ``init``: "pytorch" (every array U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default), "orthogonal"
    (orthogonal recurrent gate blocks), "xavier", or a number s for U(-s, s) everywhere.

    ``forget_bias`` (LSTM only; ignored for rnn and gru): the total forget-gate bias
    b_if + b_hf, default 1.  With PyTorch's default init the forget gates sit near sigmoid(0) = 1/2,
    so the direct cell path halves the gradient at every step and an LSTM's gradient vanishes about
    as fast as an Elman network's.  A forget bias of 1 (Gers, Schmidhuber and Cummins 2000; Jozefowicz,
    Zaremba and Sutskever 2015 recommend it, and it is a common default) opens the gates to about
    sigmoid(1) = 0.73 at the start of training, which is the regime in which the LSTM keeps its
    gradient far longer.  Pass ``forget_bias=None`` to see PyTorch's plain default.  The measured
    factor a step is larger than the forget gate's value, because gradient also reaches c_{t-1}
    through h_{t-1} and the gates: with the defaults of ``rnnkit gradflow`` (H = 50, T = 100, seed 0)
    it is 0.62 with PyTorch's init and 0.82 with forget bias 1 (against 1/2 and 0.73), and the
    command prints it under its table.
    ``peephole`` (LSTM only): the peephole LSTM (:mod:`rnnkit.cells.lstm_peephole`), its p_i, p_f, p_o drawn
    U(-1/sqrt(H), 1/sqrt(H)) whatever ``init`` says.
    ``layer_norm``: the layer-normalized cell (:mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`,
    :mod:`rnnkit.cells.gru_ln`; with ``peephole`` :mod:`rnnkit.cells.lstm_ln_peephole`), gains 1 and shifts 0 as a
    fresh layer has them.
    ``with_cell`` (LSTM only): also ||dL/dc_t||, as :func:`grad_norms_per_step` returns it.
    All float64, and each norm is taken of the scaled gradient (m ||dh / m|| with m = max |dh|), so a norm
    of 1e-300 comes out as 1e-300 where sqrt(<dh, dh>) would give 0 below about 1e-154.  Norms are accurate down
    to about 1e-308 (float64's smallest normal number) and lose digits in the subnormal range below it; only a
    gradient that itself falls below float64's smallest number (about 5e-324) reads 0.
    """
    if cell not in CELLS:
        raise ValueError(f"Expected cell to be one of {CELLS}, got {cell!r}")
    if not isinstance(peephole, (bool, np.bool_)):
        raise TypeError(f"Expected peephole to be True or False, got {peephole!r}")
    if peephole and cell != "lstm":
        raise ValueError(f"Expected peephole=False for cell {cell!r} (peepholes read an LSTM's cell c), got True")
    if not isinstance(layer_norm, (bool, np.bool_)):
        raise TypeError(f"Expected layer_norm to be True or False, got {layer_norm!r}")
    steps = check_int("steps", steps, 1)
    hidden = check_int("hidden", hidden, 1)
    batch = check_int("batch", batch, 1)
    input_size = check_int("input_size", input_size, 1)
    num_layers = check_int("num_layers", num_layers, 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Expected seed to be an integer, got {type(seed).__name__}")
    seed = check_int("seed", seed, 0)  # numpy's "expected non-negative integer" names no argument
    scheme, scale = _parse_init(init)
    if forget_bias is not None and not (isinstance(forget_bias, (int, float, np.integer, np.floating))
                                        and not isinstance(forget_bias, (bool, np.bool_))
                                        and math.isfinite(forget_bias)):
        raise ValueError(f"Expected forget_bias to be a finite number or None, got {forget_bias!r}")
    forget_bias = None if forget_bias is None else float(forget_bias)

    rng = np.random.default_rng(seed)
    layer = _CLASSES[cell](input_size, hidden, num_layers, dtype=np.float64, rng=rng, peephole=bool(peephole),
                                layer_norm=bool(layer_norm))
    fb = forget_bias if cell == "lstm" else None
    if scheme != "pytorch" or fb is not None:
        init_recurrent_params(layer.params, hidden, rng, scheme=scheme, scale=scale, forget_bias=fb)
    x = rng.standard_normal((steps, batch, input_size))  # (T, B, D)
    return grad_norms_per_step(layer, x, rng=rng, with_cell=bool(with_cell))




def _parse_init(init: str | float) -> tuple[str, float | None]:
    """``init`` as (scheme, scale) for :func:`rnnkit.init.init_recurrent_params`."""
    if isinstance(init, str):
        if init in INIT_SCHEMES:
            return init, None
        try:
            init = float(init)
        except ValueError:
            raise ValueError(f"Expected init to be one of {INIT_SCHEMES} or a positive number, got {init!r}") from None
    if (isinstance(init, (bool, np.bool_)) or not isinstance(init, (int, float, np.integer, np.floating))
            or not 0 < init <= MAX_INIT_SCALE):
        raise ValueError(f"Expected init to be one of {INIT_SCHEMES} or {INIT_SCALE_RANGE}, got {init!r}")
    return "uniform", float(init)
