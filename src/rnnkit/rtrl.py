r"""Real-time recurrent learning (RTRL) for the Elman RNN: the gradient in forward mode.

BPTT runs the network forward, stores every state, then sends dL/dh back through time.  RTRL
instead carries, next to the state, its sensitivity to every parameter, P_t = dh_t/dθ, and adds
each step's share of the gradient as soon as that step's loss is known.  For the Elman cell
(PyTorch's ``nn.RNN``, one layer, one direction)::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          # (H,): one sequence, column vectors
    h_t = f(a_t),   D_t = diag(f'(a_t)),   f = tanh or relu

the chain rule through h_{t-1} gives the sensitivity recurrence::

    P_t = D_t (W_hh P_{t-1} + ∂a_t/∂θ|immediate),        P_0 = 0
    ∂a_t[k]/∂W_ih[i, j] = δ_ki x_t[j]     ∂a_t[k]/∂W_hh[i, j] = δ_ki h_{t-1}[j]
    ∂a_t[k]/∂b_ih[i]    = ∂a_t[k]/∂b_hh[i] = δ_ki

and the gradient of L = Σ_t L_t(h_t) + L_T(h_T) (an output loss at every step, and a loss on the
final state) is, with partial derivatives of each term alone::

    dL/dθ = Σ_t (∂L_t/∂h_t) P_t + (∂L_T/∂h_T) P_T

which equals BPTT's gradient exactly: both are sums of the same chain-rule products, only
associated in the other order.  The gradient for the initial state comes the same way from
Q_t = dh_t/dh_0, Q_0 = I, Q_t = D_t W_hh Q_{t-1}; we keep Q as H extra columns of P.

Layout: one tensor S of shape (B, H, N) per state component (the P_t of every sequence of the batch),
N = N_θ + (initial-state columns), where N_θ = H*D + H*H + 2H counts the parameter entries, each array
flattened in C order at its own offset
(:class:`SensitivityLayout`).  The immediate term is sparse (row k only touches the entries of row k
of each weight), so it is added by indexing instead of being built densely.

Cost per step: the product W_hh P_{t-1} is H * H * N_θ = O(H^3 (H + D)) multiply-adds per sequence
(O(n^4) for n units, as Williams & Zipser note), and S holds H * N_θ = O(H^2 (H + D)) numbers, both
independent of T.  BPTT costs O(H (H + D)) per step but stores O(T H) states and can only produce a
gradient after the whole sequence.  RTRL is *online*: at every step the gradient of everything seen
so far is available, so weights can change while the sequence runs (:class:`OnlineRTRL`, in
:mod:`rnnkit.rtrl_online`) and sequences of unbounded length need no stored history.

Variable lengths: at a padded step (t >= length) the state is held, h_t = h_{t-1}, so P_t = P_{t-1},
and that step's output gradient is ignored; the final state is the state at the last real step.
The gated cells (LSTM, GRU) use the same machinery in :mod:`rnnkit.rtrl_gated`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# dloss_dh(t, h_t) -> dL_t/dh_t (B, H), or an array (T, B, H) of those gradients.
UpstreamGrad = Callable[[int, np.ndarray], np.ndarray] | np.ndarray

# A cell's RTRL step: (params, layout, x_t (B, D), state, sensitivities) -> (state, sensitivities),
# where state[0] is h_t and each sensitivity has shape (B, H, N) like its state component (B, H).
StepFn = Callable[
    [dict[str, np.ndarray], "SensitivityLayout", np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...]],
    tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]],
]

ELMAN_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


@dataclass(frozen=True)
class SensitivityLayout:
    """Where each parameter entry sits along the last axis (N) of a sensitivity tensor."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    offsets: tuple[int, ...]
    num_params: int  # P: entries of all parameter arrays; columns P.. are initial-state columns
    num_init: int  # extra identity columns for d(state)/d(initial state), 0 when not needed
    # name -> (rows, cols): the immediate term of row k of a weight sits at column offset + k*D + j.
    index: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False)

    @property
    def width(self) -> int:
        """N, the length of the last axis: ``num_params`` + ``num_init``."""
        return self.num_params + self.num_init


def make_layout(params: dict[str, np.ndarray], names: tuple[str, ...], num_init: int) -> SensitivityLayout:
    """Lay the arrays ``names`` of ``params`` out one after another, then ``num_init`` columns."""
    shapes = tuple(params[name].shape for name in names)
    sizes = [int(np.prod(shape)) for shape in shapes]
    offsets = tuple(int(o) for o in np.cumsum([0] + sizes[:-1]))
    index = {}
    for name, shape, offset in zip(names, shapes, offsets):
        rows = np.arange(shape[0])[:, None]  # (G*H, 1)
        cols_in_row = shape[1] if len(shape) == 2 else 1
        cols = offset + rows * cols_in_row + np.arange(cols_in_row)[None, :]  # (G*H, D) or (G*H, 1)
        index[name] = (rows, cols)
    return SensitivityLayout(names, shapes, offsets, sum(sizes), num_init, index)


def add_immediate(da: np.ndarray, layout: SensitivityLayout, name: str, inp: np.ndarray | None) -> None:
    """In place: da[b, k, col(name, k, j)] += inp[b, j] (the input a weight row multiplies).

    ``da`` (B, G*H, N) is the sensitivity of pre-activations; ``inp`` (B, D) for a weight, None for a
    bias (whose immediate derivative is 1).  Indices are distinct, so fancy ``+=`` is exact.
    """
    rows, cols = layout.index[name]
    if inp is None:
        da[:, rows, cols] += 1.0
    else:
        da[:, rows, cols] += inp[:, None, :]  # (B, G*H, D)


def split_grads(flat: np.ndarray, layout: SensitivityLayout) -> dict[str, np.ndarray]:
    """Cut the first P entries of a (P + num_init,) vector into arrays with the parameters' shapes."""
    grads = {}
    for name, shape, offset in zip(layout.names, layout.shapes, layout.offsets):
        size = int(np.prod(shape))
        grads[name] = flat[offset : offset + size].reshape(shape).copy()
    return grads


def initial_sensitivities(layout: SensitivityLayout, B: int, H: int, parts: int, dtype) -> tuple[np.ndarray, ...]:
    """Zero sensitivities for ``parts`` state components of width H, identity on the init columns."""
    sens = []
    for part in range(parts):
        s = np.zeros((B, H, layout.width), dtype=dtype)  # (B, H, N)
        if layout.num_init:
            start = layout.num_params + part * H
            s[:, np.arange(H), start + np.arange(H)] = 1.0  # d state_0 / d state_0 = I
        sens.append(s)
    return tuple(sens)


def check_params(params: dict[str, np.ndarray], names: tuple[str, ...], gates: int) -> tuple[int, int, np.dtype]:
    """Check keys and shapes of a one-layer cell's parameters; return (D, H, dtype)."""
    if not isinstance(params, dict):
        raise TypeError(f"Expected params to be a dict of numpy arrays, got {type(params).__name__}")
    ln = sorted(k for k in params if isinstance(k, str) and k.startswith("ln_"))
    if ln:  # a layer_norm=True layer's gains and shifts: named, rather than listed as unexpected keys
        raise ValueError(f"Expected the parameters of a cell without layer normalization (RTRL has none), got "
                         f"{', '.join(ln)}; check a layer-normalized cell's gradient by finite differences")
    missing = [n for n in names if n not in params]
    extra = sorted(set(params) - set(names))
    if missing or extra:
        raise ValueError(
            f"Expected params with exactly the keys {list(names)} (one layer, one direction), "
            f"got missing {missing} and unexpected {extra}"
        )
    w_ih, w_hh = params[names[0]], params[names[1]]
    if w_hh.ndim != 2 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"Expected {names[1]} of shape ({gates}*H, H), got {w_hh.shape}")
    H = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != gates * H:
        raise ValueError(f"Expected {names[0]} of shape ({gates * H}, D), got {w_ih.shape}")
    for name in names[2:]:
        if params[name].shape != (gates * H,):
            raise ValueError(f"Expected {name} of shape ({gates * H},), got {params[name].shape}")
    dtype = w_hh.dtype
    for name in names:
        if params[name].dtype != dtype or dtype.kind != "f":
            raise TypeError(
                f"Expected every parameter to be float with one dtype ({dtype}), got {name} {params[name].dtype}"
            )
    return w_ih.shape[1], H, dtype


def check_array(name: str, arr: np.ndarray, shape: tuple[int, ...], spec: str, dtype) -> np.ndarray:
    """Return ``arr`` as an array of ``shape`` and ``dtype``, or raise naming ``name``."""
    arr = np.asarray(arr)
    if arr.shape != shape:
        raise ValueError(f"Expected {name} of shape {spec} = {shape}, got {arr.shape}")
    if arr.dtype != dtype:
        raise TypeError(f"Expected {name} of dtype {dtype} (the parameters' dtype), got {arr.dtype}")
    return arr


def step_mask(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """(T, B) bool: True where step t is a real step of sequence b."""
    if lengths is None:
        return np.ones((T, B), dtype=bool)
    lengths = np.asarray(lengths)
    if lengths.shape != (B,) or lengths.dtype.kind not in "iu":
        raise ValueError(
            f"Expected lengths as an int array of shape (B,) = ({B},), got {lengths.dtype} {lengths.shape}"
        )
    if lengths.min(initial=0) < 0 or lengths.max(initial=0) > T:
        raise ValueError(f"Expected lengths between 0 and T = {T}, got {lengths.tolist()}")
    return np.arange(T)[:, None] < lengths[None, :]


def run_rtrl(
    step: StepFn,
    params: dict[str, np.ndarray],
    layout: SensitivityLayout,
    x: np.ndarray,
    state0: tuple[np.ndarray, ...],
    dloss_dh: UpstreamGrad,
    dstate_T: tuple[np.ndarray | None, ...],
    lengths: np.ndarray | None,
) -> np.ndarray:
    """Run RTRL over a batch; return the per-sequence gradient (B, N) of the whole loss.

    ``state0`` and ``dstate_T`` are tuples of (B, H) arrays (``dstate_T`` entries may be None).
    """
    T, B, _ = x.shape
    H = state0[0].shape[1]
    # as the recurrent layers refuse them (rnnkit.recurrent_checks): a NaN would reach every gradient unnoticed
    if not np.isfinite(x).all():
        raise ValueError("Expected finite values in x, got NaN or inf")
    for k, s in enumerate(state0):
        if not np.isfinite(s).all():
            raise ValueError(f"Expected finite values in {('h0', 'c0')[k]}, got NaN or inf")
    mask = step_mask(lengths, T, B)  # (T, B)
    if not callable(dloss_dh):
        dloss_dh = check_array("dloss_dh", np.asarray(dloss_dh, dtype=x.dtype), (T, B, H), "(T, B, H)", x.dtype)
    state = state0
    sens = initial_sensitivities(layout, B, H, len(state0), x.dtype)
    acc = np.zeros((B, layout.width), dtype=x.dtype)  # (B, N): dL/dθ per sequence, so far
    for t in range(T):
        new_state, new_sens = step(params, layout, x[t], state, sens)
        real = mask[t]  # (B,)
        # A padded step holds the state and therefore its sensitivity (h_t = h_{t-1}).
        state = tuple(np.where(real[:, None], n, o) for n, o in zip(new_state, state))
        sens = tuple(np.where(real[:, None, None], n, o) for n, o in zip(new_sens, sens))
        if callable(dloss_dh):
            g = np.asarray(dloss_dh(t, state[0]), dtype=x.dtype)
            g = check_array(f"dloss_dh({t}, h_t)", g, (B, H), "(B, H)", x.dtype)
        else:
            g = dloss_dh[t]
        g = np.where(real[:, None], g, 0.0)  # (B, H): padded outputs carry no loss
        acc += np.matmul(g[:, None, :], sens[0])[:, 0, :]  # (B, 1, H) @ (B, H, N)
    for ds, s in zip(dstate_T, sens):
        if ds is not None:
            acc += np.matmul(ds[:, None, :], s)[:, 0, :]
    return acc


def elman_step(nonlinearity: str) -> StepFn:
    """The RTRL step of an Elman cell with f = tanh or relu."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")

    def step(params, layout, x_t, state, sens):  # the StepFn signature
        (h,) = state  # (B, H)
        (s,) = sens  # (B, H, N)
        w_ih, w_hh = params["weight_ih_l0"], params["weight_hh_l0"]
        a = x_t @ w_ih.T + params["bias_ih_l0"] + h @ w_hh.T + params["bias_hh_l0"]  # (B, H)
        if nonlinearity == "tanh":
            h_new = np.tanh(a)
            fprime = 1.0 - h_new * h_new
        else:
            h_new = np.maximum(a, 0.0)
            fprime = (a > 0).astype(a.dtype)
        da = np.matmul(w_hh, s)  # (B, H, N): W_hh P_{t-1}, the one big product of the step
        add_immediate(da, layout, "weight_ih_l0", x_t)
        add_immediate(da, layout, "weight_hh_l0", h)
        add_immediate(da, layout, "bias_ih_l0", None)
        add_immediate(da, layout, "bias_hh_l0", None)
        da *= fprime[:, :, None]  # P_t = D_t (W_hh P_{t-1} + immediate)
        return (h_new,), (da,)

    return step


def rtrl_gradients(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None,
    dloss_dh: UpstreamGrad,
    dhT: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
    nonlinearity: str = "tanh",
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Full gradient of an Elman RNN by RTRL; equal to BPTT's (see the module docstring).

    params: weight_ih_l0 (H, D), weight_hh_l0 (H, H), bias_ih_l0 (H,), bias_hh_l0 (H,).
    x (T, B, D); h0 (B, H) or None for zeros; dloss_dh: dL_t/dh_t as an array (T, B, H) or a
    callable ``(t, h_t) -> (B, H)`` called once per step in order, so the loss can depend on h_t;
    dhT (B, H): gradient on the final state; lengths (B,) ints (padded steps hold the state and
    their output gradient is ignored).  Returns (grads with the keys of params, dh0 (B, H)).
    """
    D, H, dtype = check_params(params, ELMAN_NAMES, gates=1)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != D:
        raise ValueError(f"Expected x of shape (T, B, D) with D = {D}, got {x.shape}")
    x = check_array("x", x, x.shape, "(T, B, D)", dtype)
    B = x.shape[1]
    h0 = np.zeros((B, H), dtype=dtype) if h0 is None else check_array("h0", h0, (B, H), "(B, H)", dtype)
    dhT = None if dhT is None else np.asarray(dhT, dtype=dtype)
    if dhT is not None:
        check_array("dhT", dhT, (B, H), "(B, H)", dtype)
    layout = make_layout(params, ELMAN_NAMES, num_init=H)
    acc = run_rtrl(elman_step(nonlinearity), params, layout, x, (h0,), dloss_dh, (dhT,), lengths)
    grads = split_grads(acc[:, : layout.num_params].sum(axis=0), layout)
    return grads, acc[:, layout.num_params :].copy()
