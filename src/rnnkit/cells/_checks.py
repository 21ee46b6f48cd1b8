"""Argument checks of the cell kernels (:mod:`rnnkit.cells`), run once per call, before the time loop.

The kernels are public, and numpy would otherwise take a wrong argument its own way: a ``dout`` of
shape (T, B, 1) or (1, B, H) broadcast into wrong gradients without a word, ``batch_sizes`` out of order
run as if sorted, an LSTM ``dstateT`` given as one (B, H) array failing with "too many values to
unpack".  Each check raises ValueError (a wrong shape or value) or TypeError (a wrong kind) naming the
argument, what was expected and what came.  The layers (:mod:`rnnkit.recurrent`) check their own
inputs first and share :func:`check_float_array` for their states and ``dout``.

Only shapes, dtypes and the (T,) ``batch_sizes`` are read, never the values of the (T, B, ...) arrays
(the layers check those for NaN and inf): 2-5 us per forward and backward, under 1% of an Elman RNN's
250 us at (T, B, H) = (50, 1, 64).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.checks import check_array, check_int, dtype_fix


def _got(a: Any) -> str:
    """What a state-like argument was, for a message: its shape, or its type."""
    if isinstance(a, np.ndarray):
        return f"an array of shape {a.shape}"
    if isinstance(a, (tuple, list)):
        return f"a {type(a).__name__} of {len(a)}"
    return type(a).__name__


def check_float_array(name: str, a: Any, expected: tuple[int, ...], layout: str, dtype: np.dtype,
                      any_float: bool = False, whose: str = "the layer's") -> np.ndarray:
    """``a`` if it is an array of shape ``expected`` and of ``dtype`` (with ``any_float``, of any float
    dtype, as a gradient may be); ValueError for a wrong shape or a non-array, TypeError for a wrong dtype.

    ``layout`` names the axes in the message ("(B, H)"), ``whose`` says whose dtype ``dtype`` is:
    "Expected dout of shape (T, B, H) = (4, 3, 5), got (4, 3, 1)".  A wrong dtype is told to convert the array (to
    the dtype x and the weights share: a layer built in the array's would refuse x then).
    """
    if not isinstance(a, np.ndarray) or a.shape != expected:
        got = a.shape if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"Expected {name} of shape {layout} = {expected}, got {got}")
    if any_float:
        if a.dtype.kind != "f":  # an int or bool array is a mistake (a mask? ids?), not a gradient
            raise TypeError(f"Expected {name} of a float dtype ({whose} is {dtype}), got {a.dtype}")
    elif a.dtype != dtype:
        raise TypeError(f"Expected {name} of dtype {dtype} ({whose}), got {a.dtype}: "
                        f"{dtype_fix(name, a.dtype, dtype, '')}")
    return a


def check_kernel_inputs(x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, gates: int) -> tuple[int, int, int]:
    """x a float (T, B, D) array; the weights (gates*H, D), (gates*H, H), (gates*H,), (gates*H,) of x's
    dtype, H read from w_hh and D from w_ih.  Returns (B, H, D)."""
    # all of it in one expression first: at (T, B, H) = (50, 1, 64) an Elman forward and backward take
    # ~250 us, and the checks one by one took 1.6 us of them; a wrong argument goes on to be named
    nd = np.ndarray
    if (isinstance(x, nd) and isinstance(w_ih, nd) and isinstance(w_hh, nd) and isinstance(b_ih, nd)
            and isinstance(b_hh, nd) and x.ndim == 3 and w_hh.ndim == 2):
        _, B, D = x.shape
        G, H = w_hh.shape
        dtype = x.dtype
        if (dtype.kind == "f" and G == gates * H and w_ih.shape == (G, D) and b_ih.shape == (G,)
                and b_hh.shape == (G,) and w_ih.dtype == dtype and w_hh.dtype == dtype and b_ih.dtype == dtype
                and b_hh.dtype == dtype):
            return B, H, D
    return _name_wrong_input(x, w_ih, w_hh, b_ih, b_hh, gates)


def _name_wrong_input(x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, gates: int) -> tuple[int, int, int]:
    """:func:`check_kernel_inputs` one argument at a time, raising for the first that is wrong."""
    check_array("x", x)
    if x.ndim != 3:
        raise ValueError(f"Expected x of shape (T, B, D), got {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"Expected x of a float dtype (float32 or float64), got {x.dtype}")
    rows = "H" if gates == 1 else f"{gates}H"
    check_array("w_hh", w_hh)
    if w_hh.ndim != 2 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"Expected w_hh of shape ({rows}, H), got {w_hh.shape}")
    H = w_hh.shape[1]
    G = gates * H
    check_array("w_ih", w_ih)
    if w_ih.ndim != 2 or w_ih.shape[0] != G:
        raise ValueError(f"Expected w_ih of shape ({rows}, D) = ({G}, D) (H = {H} from w_hh), got {w_ih.shape}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        check_array(name, b)
        if b.shape != (G,):
            raise ValueError(f"Expected {name} of shape ({rows},) = ({G},) (H = {H} from w_hh), got {b.shape}")
    B, D = x.shape[1], w_ih.shape[1]
    if x.shape[2] != D:
        raise ValueError(f"Expected x of shape (T, B, D) with D = {D} as in w_ih {w_ih.shape}, got {x.shape}")
    for name, w in (("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh)):
        if w.dtype != x.dtype:  # a float64 weight with float32 x ran in a mix of both precisions
            raise TypeError(f"Expected {name} of dtype {x.dtype} (x's), got {w.dtype}: "
                            f"{dtype_fix(name, w.dtype, x.dtype, '')}")
    return B, H, D


def check_state(name: str, state: Any, pair: bool, B: int, H: int, dtype: np.dtype, grad: bool) -> None:
    """An initial state (``grad=False``): a (B, H) array of x's dtype, or for the LSTM (``pair``) a tuple
    (h0, c0) of two; None is refused, with what to pass instead.  The gradient of a final state
    (``grad=True``): None, or the same structure of any float dtype, and for the LSTM either part None."""
    whose = "the cache's" if grad else "x's"
    if state is None:
        if grad:
            return
        zeros = "np.zeros((B, H), x.dtype)"
        want = f"a tuple (h0, c0) of two (B, H) = {(B, H)} arrays" if pair else f"shape (B, H) = {(B, H)}"
        raise ValueError(f"Expected {name} {'as ' if pair else 'of '}{want}, got None (for a zero start pass "
                         f"{f'({zeros}, {zeros})' if pair else zeros})")
    if not pair:
        check_float_array(name, state, (B, H), "(B, H)", dtype, any_float=grad, whose=whose)
        return
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        parts = "(dh_T, dc_T)" if grad else "(h0, c0)"
        raise ValueError(f"Expected {name} as a tuple {parts} of two (B, H) = {(B, H)} arrays"
                         f"{' (either may be None), or None' if grad else ''}, got {_got(state)}")
    for i, s in enumerate(state):
        if not (grad and s is None):
            check_float_array(f"{name}[{i}]", s, (B, H), "(B, H)", dtype, any_float=grad, whose=whose)


def check_batch_sizes(batch_sizes: Any, T: int, B: int) -> None:
    """None, or a (T,) integer array of the sequences running at each step: between 0 and B and
    non-increasing (the batch sorted longest first, as :func:`rnnkit.packing.batch_sizes` gives it).
    0 is allowed: x may be padded beyond its longest sequence (lengths (2, 1) with T = 4)."""
    if batch_sizes is None:
        return
    check_array("batch_sizes", batch_sizes)
    if batch_sizes.dtype.kind not in "iu":
        raise TypeError(f"Expected batch_sizes of an integer dtype, got {batch_sizes.dtype}")
    if batch_sizes.shape != (T,):
        raise ValueError(f"Expected batch_sizes of shape (T,) = ({T},), got {batch_sizes.shape}")
    if T == 0:
        return
    rises = batch_sizes[1:] > batch_sizes[:-1]  # (T-1,)
    if rises.any():
        t = int(rises.argmax())
        raise ValueError(f"Expected batch_sizes to be non-increasing (the batch sorted longest first, as "
                         f"rnnkit.packing.batch_sizes gives them), got {batch_sizes[t]} then "
                         f"{batch_sizes[t + 1]} at steps {t} and {t + 1}")
    lo, hi = int(batch_sizes[-1]), int(batch_sizes[0])  # non-increasing: the last is the least
    if lo < 0 or hi > B:
        raise ValueError(f"Expected batch_sizes between 0 and B={B}, got min {lo} and max {hi}")


def check_forward_args(x: Any, state0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, batch_sizes: Any,
                       gates: int, state_name: str, pair: bool) -> None:
    """Everything a kernel's forward relies on (the checks above); ``pair`` for the LSTM's (h0, c0)."""
    B, H, _ = check_kernel_inputs(x, w_ih, w_hh, b_ih, b_hh, gates)
    check_state(state_name, state0, pair, B, H, x.dtype, grad=False)
    check_batch_sizes(batch_sizes, x.shape[0], B)


def check_cache(cache: Any, cache_type: type) -> None:
    """The cache must be what this module's forward returned (another cell's unpacks into nonsense)."""
    if not isinstance(cache, cache_type):
        module = cache_type.__module__.rsplit(".", 1)[-1]
        raise TypeError(f"Expected cache to be the {cache_type.__name__} {module}.forward returned, got "
                        f"{type(cache).__name__}")


def check_backward_args(dout: Any, dstate: Any, shape: tuple[int, int, int], dtype: np.dtype, dstate_name: str,
                        pair: bool, tbptt: Any, dh_norms: Any, dc_norms: Any = None) -> None:
    """Everything a kernel's backward relies on besides the cache: dout of the outputs' ``shape`` (T, B, H)
    and a float dtype; dstate None or like the final state; tbptt None or >= 1; dh_norms (and an LSTM's
    dc_norms) None or (T,) float."""
    T, B, H = shape
    check_array("dout", dout)  # a TypeError, with the conversion of a torch tensor
    check_float_array("dout", dout, shape, "(T, B, H)", dtype, any_float=True, whose="the cache's")
    if dstate is not None:
        check_state(dstate_name, dstate, pair, B, H, dtype, grad=True)
    if tbptt is not None:
        check_int("tbptt", tbptt, 1, allow_none=True)  # the message says None is allowed
    for name, norms in (("dh_norms", dh_norms), ("dc_norms", dc_norms)):
        if norms is not None:
            check_float_array(name, norms, (T,), "(T,)", dtype, any_float=True, whose="the cache's")
