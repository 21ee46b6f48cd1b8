"""Gradient clipping as plain functions over a flat dict of gradients, modified in place.

Exploding gradients are the classic failure of BPTT (Pascanu, Mikolov and Bengio, 2013); rescaling
the whole gradient to a maximum global norm keeps its direction, clipping each value does not.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from rnnkit.norms import frobenius_norm, scaled_norm
from rnnkit.optim.base import check_number, scale_
from rnnkit.row_sparse import RowSparseGrad

# Added to the norm before dividing, as torch.nn.utils.clip_grad_norm_ does, so that the clipped
# norm lands just under max_norm and an all-zero gradient never divides by zero.
_EPS = 1e-6


def _check_grads(grads: Mapping[str, np.ndarray | RowSparseGrad | None], writeable: bool = True) -> list[np.ndarray]:
    """The arrays holding the gradients' numbers (a row-sparse gradient's values)."""
    if not isinstance(grads, Mapping):
        raise TypeError(f"Expected grads to be a dict of name -> numpy array, got {type(grads).__name__}")
    arrays = []
    for name, grad in grads.items():
        if grad is None:
            continue
        if isinstance(grad, RowSparseGrad):
            grad = grad.values  # the zero rows add nothing to a norm and stay zero when scaled
        if not isinstance(grad, np.ndarray) or not np.issubdtype(grad.dtype, np.floating):
            got = grad.dtype if isinstance(grad, np.ndarray) else type(grad).__name__
            raise TypeError(f"Expected grads[{name!r}] to be a floating-point numpy array, got {got}")
        if writeable and not grad.flags.writeable:
            raise ValueError(f"Expected grads[{name!r}] to be writeable: clipping works in place")
        arrays.append(grad)
    return arrays


def _norm(g: np.ndarray, norm_type: float) -> float:
    """||g||_p; the common p = 2 as one BLAS dot in g's own dtype (no float64 copy of a big array), redone in
    float64 scaled by the largest |g_i| if the squares under- or overflowed (:func:`rnnkit.norms.frobenius_norm`);
    another p in float64, redone scaled if the powers overflowed."""
    if norm_type == 2.0:
        return frobenius_norm(g, scaled_dtype=np.float64)
    v = g.ravel().astype(np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below, not printed
        n = float(np.linalg.norm(v, ord=norm_type))
    return n if math.isfinite(n) else scaled_norm(v, norm_type)


def _check_norm_type(norm_type: float | str) -> float:
    if isinstance(norm_type, str) and norm_type == "inf":
        return math.inf
    if isinstance(norm_type, (int, float)) and norm_type == math.inf:
        return math.inf
    return check_number("norm_type", norm_type, low=0.0, low_open=True)


def grad_norm(grads: Mapping[str, np.ndarray | RowSparseGrad | None], norm_type: float | str = 2.0) -> float:
    r"""The global norm of all gradients together, as a Python float:

    .. math::

        n = \Big(\sum_k \lVert g_k \rVert_p^p\Big)^{1/p} \ (\max_k \lVert g_k \rVert_\infty
            \text{ for } p = \infty)

    Each array's 2-norm is one BLAS dot in its own dtype (redone in float64, scaled by the largest
    entry, if the squares under- or overflow); the per-array norms are combined in float64, scaled the
    same way if needed, so the norm is infinite only when it is beyond float64's range (or an entry is
    inf), and for p = 2 is 0 only when every entry is.
    """
    norm_type = _check_norm_type(norm_type)
    arrays = _check_grads(grads, writeable=False)
    if not arrays:
        return 0.0
    norms = np.array([_norm(g, norm_type) for g in arrays])  # (number of arrays,)
    if norm_type == 2.0:
        return frobenius_norm(norms)
    with np.errstate(over="ignore"):
        total = float(np.linalg.norm(norms, ord=norm_type))
    return total if math.isfinite(total) else scaled_norm(norms, norm_type)


def clip_coefficient(total: float, max_norm: float) -> float:
    r""":math:`\min(1, \text{max\_norm} / (n + 10^{-6}))` for a global norm :math:`n`, as
    torch.nn.utils.clip_grad_norm_ computes it; 1.0 when :math:`n` is NaN or infinite (scaling would
    only spread the NaN, and the caller should stop on it instead).

    ``optimizer.step(grads, grad_scale=clip_coefficient(grad_norm(grads), max_norm))`` takes the
    step :func:`clip_grad_norm` followed by ``optimizer.step(grads)`` takes, and plain SGD saves the
    pass that rescales the gradients.
    """
    max_norm = check_number("max_norm", max_norm, low=0.0, low_open=True)
    if isinstance(total, (bool, np.bool_)) or not isinstance(total, (int, float, np.integer, np.floating)):
        raise TypeError(f"Expected total to be a number (the gradients' global norm), got {type(total).__name__} "
                        f"{total!r}")
    total = float(total)
    if total < 0:  # NaN is not < 0: it passes, as documented
        raise ValueError(f"Expected total to be a norm >= 0 (NaN and +inf are allowed), got {total}")
    if not math.isfinite(total):
        return 1.0
    return min(1.0, max_norm / (total + _EPS))


def clip_grad_norm(grads: Mapping[str, np.ndarray | RowSparseGrad | None], max_norm: float,
                   norm_type: float | str = 2.0) -> float:
    r"""Rescale all gradients together so that their global norm is at most ``max_norm``:

    .. math::

        g_k \leftarrow g_k \cdot \min\!\Big(1, \frac{\text{max\_norm}}{n + 10^{-6}}\Big)

    with :math:`n` the :func:`grad_norm`, as torch.nn.utils.clip_grad_norm_ does.  Returns :math:`n`,
    the norm *before* clipping.  If :math:`n` is NaN or infinite the gradients are left untouched
    (scaling them would only turn them into NaN) and :math:`n` is returned so the caller can detect
    divergence.
    """
    max_norm = check_number("max_norm", max_norm, low=0.0, low_open=True)
    arrays = _check_grads(grads)
    total = grad_norm(grads, norm_type)
    coef = clip_coefficient(total, max_norm)
    if coef < 1.0:
        for g in arrays:
            scale_(g, coef)
    return total


def clip_grad_value(grads: Mapping[str, np.ndarray | RowSparseGrad | None], clip_value: float) -> None:
    r"""Clip every gradient entry into :math:`[-c, c]` in place, as torch.nn.utils.clip_grad_value_.

    NaN entries stay NaN so that divergence remains visible.
    """
    clip_value = check_number("clip_value", clip_value, low=0.0, low_open=True)
    for g in _check_grads(grads):
        np.clip(g, -clip_value, clip_value, out=g)
