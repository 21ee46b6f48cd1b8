"""Weight initialisation: PyTorch's default, uniform, orthogonal and Xavier schemes.

Every function returns a fresh array drawn only from the ``numpy.random.Generator`` it is given,
so the same seed always gives the same weights.  Matrices use PyTorch's layout ``(out, in)``: for
a recurrent layer ``weight_ih`` is ``(G*H, D)`` and ``weight_hh`` is ``(G*H, H)`` with ``G`` gate
blocks of ``H`` rows each (G = 1 Elman, 3 GRU r,z,n, 4 LSTM i,f,g,o).

:func:`init_recurrent_params` re-initialises a layer's parameter dict in place, writing into the
existing arrays so that anything holding a reference to them (a model, an optimizer) sees the new
values.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from rnnkit.checks import check_rng
from rnnkit.english import a_or_an, a_or_an_name

SCHEMES = ("pytorch", "uniform", "orthogonal", "xavier")

__all__ = ["SCHEMES", "check_forget_bias", "init_recurrent_params", "orthogonal", "pytorch_default", "uniform_",
           "xavier_normal", "xavier_uniform"]

# The largest scale s of U(-s, s) that rnnkit takes (gradflow's --init, train lm's --init-scale, the
# "uniform" scheme here, LMConfig.init_scale).  Every tanh and sigmoid saturates from s of about 1 on,
# so 1e6 leaves room to study saturation, while products of such weights stay far below float32's
# 3.4e38 (s = 1e19 overflows them; s above 3.4e38 is inf in float32 at once).
MAX_INIT_SCALE = 1e6
INIT_SCALE_RANGE = (f"a number s in (0, {MAX_INIT_SCALE:g}] for U(-s, s) (Zaremba: 0.1; every tanh and "
                    "sigmoid saturates from about 1 on, and far larger weights overflow float32)")

# "encoder.weight_hh_l1_reverse" -> kind "weight_hh", layer "1", suffix "_reverse".  Only the part
# after the last dot counts, so a whole model's dict can be passed and other keys are ignored.
_RECURRENT_KEY = re.compile(r"^(?:.*\.)?(weight_ih|weight_hh|weight_hr|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def _check_shape(shape: Sequence[int], ndim: int | None = None) -> tuple[int, ...]:
    if isinstance(shape, np.ndarray):  # torch's in-place call, init.uniform_(w, ...): its values read as a shape
        raise TypeError(f"Expected a shape, got {a_or_an_name(shape.dtype.name)} {shape.dtype} array of shape "
                        f"{shape.shape}: these functions return a new array; to fill one in place, "
                        "w[...] = uniform_(w.shape, bound, rng)")
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"Expected shape as a tuple of ints, got {shape!r}") from None
    if any(s <= 0 for s in shape):
        raise ValueError(f"Expected shape with positive sizes, got {shape}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"Expected {a_or_an(ndim)} {ndim}-D shape, got {shape}")
    return shape




def _check_dtype(dtype: object) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"Expected a floating dtype, got {dtype}")
    return dtype


def check_forget_bias(value: object) -> float | None:
    """``float(value)`` (None stays None) if it is a real number, numpy's included, with |value| <= 1e3;
    ValueError naming forget_bias otherwise (a string, a bool, NaN, 2000.0)."""
    if value is None:
        return None
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value) or abs(value) > 1e3):
        raise ValueError(f"Expected forget_bias to be a finite number between -1000 and 1000 (1.0 is usual), "
                         f"got {value!r}")
    return float(value)


def uniform_(shape: Sequence[int], bound: float, rng: np.random.Generator,
             dtype: object = np.float32) -> np.ndarray:
    """Draw ``w ~ U(-bound, bound)`` of the given shape (a new array, despite torch's ``_`` name)."""
    shape = _check_shape(shape)
    check_rng(rng)
    dtype = _check_dtype(dtype)
    if isinstance(bound, np.ndarray) and bound.ndim == 0:  # a 0-d array: its number
        bound = bound[()]
    if (isinstance(bound, (bool, np.bool_)) or not isinstance(bound, (int, float, np.integer, np.floating))
            or not (bound >= 0 and math.isfinite(bound))):
        raise ValueError(f"Expected bound to be a finite number >= 0, got {bound!r}")
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def pytorch_default(shape: Sequence[int], hidden_size: int, rng: np.random.Generator,
                    dtype: object = np.float32) -> np.ndarray:
    """PyTorch's RNN default: ``w ~ U(-1/sqrt(H), 1/sqrt(H))`` for every weight and bias."""
    if not (isinstance(hidden_size, (int, np.integer)) and hidden_size > 0):
        raise ValueError(f"Expected hidden_size to be a positive int, got {hidden_size!r}")
    return uniform_(shape, 1.0 / math.sqrt(hidden_size), rng, dtype)


def orthogonal(shape: Sequence[int], rng: np.random.Generator, gain: float = 1.0,
               dtype: object = np.float32, blocks: int = 1) -> np.ndarray:
    """A (semi-)orthogonal matrix ``gain * Q`` from the QR decomposition of a Gaussian matrix.

    For ``A = QR`` with ``A ~ N(0, 1)``, multiplying each column of ``Q`` by ``sign(R_jj)`` makes
    ``Q`` uniformly (Haar) distributed.  For a tall ``(r, c)`` matrix the columns are orthonormal
    (``Q^T Q = I_c``); for a wide one the rows are (``Q Q^T = I_r``).

    ``blocks=G`` splits the rows into ``G`` equal blocks and makes each one orthogonal on its own:
    for a stacked recurrent matrix ``weight_hh`` of shape ``(G*H, H)`` every gate block
    ``W[g*H:(g+1)*H]`` then satisfies ``W_g^T W_g = gain^2 I``, which is what "orthogonal
    recurrent weights" means for a gated cell (the whole ``(4H, H)`` matrix cannot be).
    """
    shape = _check_shape(shape, ndim=2)
    check_rng(rng)
    dtype = _check_dtype(dtype)
    if not (isinstance(blocks, (int, np.integer)) and blocks > 0 and shape[0] % blocks == 0):
        raise ValueError(f"Expected blocks to be a positive int dividing {shape[0]} rows, got {blocks!r}")
    rows = shape[0] // blocks
    cols = shape[1]
    out = np.empty(shape, dtype=dtype)
    for g in range(blocks):
        # QR needs a tall matrix; a wide block is the transpose of a tall one
        tall = rng.standard_normal((max(rows, cols), min(rows, cols)))  # (max, min)
        q, r = np.linalg.qr(tall)  # q: (max, min)
        q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # sign fix: Haar-distributed, not QR-biased
        if rows < cols:
            q = q.T
        out[g * rows:(g + 1) * rows] = gain * q
    return out


def _two_over_fans(shape: tuple[int, ...]) -> float:
    # fans as torch counts them for a (out, in) matrix: the whole matrix, not each gate block
    fan_out, fan_in = shape
    return 2.0 / (fan_in + fan_out)


def xavier_uniform(shape: Sequence[int], rng: np.random.Generator, gain: float = 1.0,
                   dtype: object = np.float32) -> np.ndarray:
    """Glorot uniform: ``w ~ U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    ``shape`` is ``(fan_out, fan_in)`` as in PyTorch; a stacked ``(G*H, D)`` gate matrix counts
    ``fan_out = G*H``, exactly as ``torch.nn.init.xavier_uniform_`` does.
    """
    shape = _check_shape(shape, ndim=2)
    return uniform_(shape, gain * math.sqrt(3.0 * _two_over_fans(shape)), rng, dtype)


def xavier_normal(shape: Sequence[int], rng: np.random.Generator, gain: float = 1.0,
                  dtype: object = np.float32) -> np.ndarray:
    """Glorot normal: ``w ~ N(0, s^2)``, ``s = gain * sqrt(2 / (fan_in + fan_out))``."""
    shape = _check_shape(shape, ndim=2)
    check_rng(rng)
    dtype = _check_dtype(dtype)
    std = gain * math.sqrt(_two_over_fans(shape))
    return (std * rng.standard_normal(shape)).astype(dtype, copy=False)


def init_recurrent_params(params: dict[str, np.ndarray], hidden_size: int, rng: np.random.Generator,
                          scheme: str = "pytorch", scale: float | None = None,
                          forget_bias: float | None = None) -> None:
    """(Re)initialise a recurrent layer's parameters in place.

    Keys follow PyTorch: ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
    (a ``weight_hr_l{k}`` of a torch LSTM with projections is accepted, though rnnkit's LSTM has none), optionally with suffix ``_reverse`` and a dotted
    prefix (``encoder.weight_hh_l0``).  Any other key (``h0_l0``, ``embedding.weight``) is left
    alone.  Arrays are overwritten in place and keep their dtype.

    Schemes:
      * ``"pytorch"``: every array ``U(-1/sqrt(H), 1/sqrt(H))``.
      * ``"uniform"``: every array ``U(-scale, scale)`` (Zaremba et al. use ``scale=0.1``);
        ``scale`` is required and accepted only for this scheme.
      * ``"orthogonal"``: each ``(H, H)`` gate block of ``weight_hh`` orthogonal (see
        :func:`orthogonal`), everything else PyTorch's default.
      * ``"xavier"``: weights Xavier-uniform over the whole matrix, biases PyTorch's default.

    ``forget_bias=v`` then sets the LSTM forget-gate slice ``[H:2H]`` of every ``bias_ih`` to ``v``
    and of every ``bias_hh`` to 0, so the total forget bias ``b_if + b_hf`` is ``v``.  It needs
    biases of ``4H`` rows (an LSTM); anything else raises ``ValueError``.
    """
    if not isinstance(params, dict):
        raise TypeError(f"Expected params to be a dict of arrays, got {type(params).__name__}")
    if not (isinstance(hidden_size, (int, np.integer)) and hidden_size > 0):
        raise ValueError(f"Expected hidden_size to be a positive int, got {hidden_size!r}")
    check_rng(rng)
    if scheme not in SCHEMES:
        raise ValueError(f"Expected scheme to be one of {SCHEMES}, got {scheme!r}")
    if scheme == "uniform":
        if scale is None or not 0 < scale <= MAX_INIT_SCALE:
            raise ValueError(f"Expected scale in (0, {MAX_INIT_SCALE:g}] for scheme='uniform' (e.g. 0.1), "
                             f"got {scale!r}")
    elif scale is not None:
        raise ValueError(f"Expected scale=None for scheme={scheme!r} (scale is only used by 'uniform'), got {scale!r}")
    forget_bias = check_forget_bias(forget_bias)

    H = hidden_size
    matched = []
    for key, arr in params.items():
        m = _RECURRENT_KEY.match(key)
        if m is None:
            continue
        if not (isinstance(arr, np.ndarray) and arr.dtype.kind == "f"):
            raise TypeError(f"Expected params[{key!r}] to be a float numpy array, got {type(arr).__name__}")
        ndim = 1 if m.group(1).startswith("bias") else 2
        if arr.ndim != ndim or arr.shape[0] % H != 0:
            raise ValueError(f"Expected params[{key!r}] to be {ndim}-D with a multiple of "
                             f"hidden_size={H} rows, got shape {arr.shape}")
        matched.append((key, m.group(1), arr))

    for key, kind, arr in matched:
        if scheme == "uniform":
            new = uniform_(arr.shape, scale, rng, arr.dtype)
        elif scheme == "orthogonal" and kind == "weight_hh":
            new = orthogonal(arr.shape, rng, dtype=arr.dtype, blocks=arr.shape[0] // H)
        elif scheme == "xavier" and kind.startswith("weight"):
            new = xavier_uniform(arr.shape, rng, dtype=arr.dtype)
        else:
            new = pytorch_default(arr.shape, H, rng, arr.dtype)
        arr[...] = new  # in place: keeps the array object other code may hold

    if forget_bias is not None:
        biases = [(key, kind, arr) for key, kind, arr in matched if kind.startswith("bias")]
        if not biases:
            raise ValueError("Expected bias_ih_l*/bias_hh_l* keys in params for forget_bias, found none")
        for key, kind, arr in biases:
            if arr.shape[0] != 4 * H:
                raise ValueError(f"Expected params[{key!r}] of shape ({4 * H},) (an LSTM with 4 gates) "
                                 f"for forget_bias, got {arr.shape}")
        for key, kind, arr in biases:
            arr[H:2 * H] = forget_bias if kind == "bias_ih" else 0.0
