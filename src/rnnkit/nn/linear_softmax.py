r"""The output layer fused with its loss: ``z = x W^T + b``, then softmax cross-entropy, in one buffer.

For a language model's full softmax this pair is most of the work: with N = T*B tokens and a
vocabulary V ~ 10^4 the logits are an (N, V) array of 16 MB at N = 400, and every pass over it
costs about as much as a tenth of the GEMM that made it.  Run as :func:`~rnnkit.nn.linear.linear_forward`
followed by :func:`~rnnkit.nn.softmax.softmax_cross_entropy`, each step allocates two such arrays
(page faults on every fresh one) and reads or writes them nine times.  Here the layer owns one
(N, V) work buffer, reused from step to step, and does five passes:

    z_n   = W x_n + b                           GEMM into the buffer, then the bias (one pass)
    e_nv  = exp(z_nv)                           in place (one pass)
    s_n   = sum_v e_nv                          (one pass; these two on BLAS's thread count, by rows)
    loss  = sum_n w_n (log s_n - z_{n,t_n})

    dz_nv = dloss * w_n * (e_nv / s_n - [v == t_n])   in place (one pass)
    db    = sum_n dz_n                          (one pass)
    dx    = dz W ;   dW = dz^T x                two GEMMs

The exponent is taken *without* subtracting the row maximum.  That is exact arithmetic, not an
approximation; it is only unsafe when exp overflows (z > 88 in float32) or when every term of a
row underflows.  Both show in s_n, which is then infinite, NaN or tiny, and those rows alone are
recomputed from x with the usual shift ``m_n = max_v z_nv``:  e = exp(z - m), and log s_n + m_n
in the loss.  Rows whose sum is at least sqrt(smallest normal) (1e-19 in float32) keep the fast
path: terms below the smallest normal (which lose relative precision) add at most V * 1.2e-38 to a
sum of at least 1e-19, a relative error under 1e-14 for V = 10^4.

The price of the unshifted form is in the loss's last digits: ``log s_n`` and ``z_{n,t_n}`` are both
about as large as the row's largest logit, so their difference carries an absolute rounding error of
about one unit in the last place of that logit (in float32: 2e-6 at logits near 20, 8e-6 near 80),
where the shifted form's error is that of the loss itself.  Language-model logits stay well below
that in practice (on N = 512, V = 2,000 with logits up to ~90 the error measured no larger than
torch's float32 cross-entropy); the gradient, a ratio ``e_nv / s_n``, is not affected.

The gradient is ``dloss * w_n * (softmax(z_n) - onehot(t_n))`` with the weights w_n of
:mod:`rnnkit.nn.softmax` (``reduction="sum"``: the mask; ``"mean"``: the mask over its count).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.checks import dtype_fix
from rnnkit.nn.softmax import _check_float, token_weights, weighted_total
from rnnkit.row_threads import RowThreads
from rnnkit.workspace import Scratch


@dataclass(eq=False)
class LinearCrossEntropyCache:
    """What :meth:`LinearCrossEntropy.backward` needs from :meth:`LinearCrossEntropy.forward`."""

    x: np.ndarray  # (N, H)
    weight: np.ndarray  # (V, H)
    exp: np.ndarray  # (N, V) view of the layer's work buffer: e (or e shifted, on fallback rows)
    sumexp: np.ndarray  # (N,)
    targets: np.ndarray  # (N,) masked positions replaced by 0
    weights: np.ndarray  # (N,) w_n
    has_bias: bool
    generation: int  # the forward call that filled the buffer; a later forward overwrites it
    spent: bool = False


class LinearCrossEntropy:
    """Affine output layer and softmax cross-entropy, fused, with a work buffer kept between calls.

    ``forward(x, weight, bias, targets, mask, reduction) -> (loss, cache)`` and
    ``backward(dloss, cache) -> (dx, {"weight": dW, "bias": db})``.  The parameters are passed in,
    as to :func:`~rnnkit.nn.linear.linear_forward` (so weight tying works the same way); the object
    holds only the buffer.  One forward's cache is valid until the next forward, which reuses the
    buffer: backpropagating an older cache raises ``ValueError`` instead of returning wrong numbers.
    """

    def __init__(self) -> None:
        self._work = Scratch()  # slot 0: the (N, V) buffer, as large as the largest seen; slot 1: ones
        self._rows = RowThreads()  # the exponent, row sums and scaling on BLAS's thread count
        self._generation = 0

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, targets: np.ndarray,
                mask: np.ndarray | None = None, reduction: str = "sum") -> tuple[float, LinearCrossEntropyCache]:
        """Loss of ``softmax(x W^T + b)`` against targets; x (..., H), targets and mask x's leading shape.

        ``weight`` (V, H) and ``bias`` (V,) or None, of x's dtype.  ``reduction``: ``"sum"`` (the default
        here, unlike :func:`~rnnkit.nn.softmax.softmax_cross_entropy`'s ``"mean"``) over the unmasked
        tokens, or ``"mean"`` over them.  Returns (loss, cache) for :meth:`backward`."""
        _check_float(x, "x")
        _check_float(weight, "weight")
        if weight.ndim != 2:
            raise ValueError(f"Expected weight of shape (V, H), got {weight.shape}")
        V, H = weight.shape
        if x.shape[-1] != H:
            raise ValueError(f"Expected x with last axis {H} (the weight's in_features), got {x.shape}")
        if bias is not None and np.shape(bias) != (V,):
            raise ValueError(f"Expected bias of shape ({V},), got {np.shape(bias)}")
        # one dtype throughout, as linear_forward asks: a float64 x would make the loss and every gradient float64
        if x.dtype != weight.dtype:
            alike = "weight" if bias is None else "weight and bias"  # no layer to build in x's dtype: given
            raise TypeError(f"Expected x of dtype {weight.dtype} (the weight's), got {x.dtype}: "
                            f"{dtype_fix('x', x.dtype, weight.dtype, alike)}")
        if bias is not None:
            _check_float(bias, "bias")
            if bias.dtype != weight.dtype:
                raise TypeError(f"Expected bias of dtype {weight.dtype} (the weight's), got {bias.dtype}: "
                                f"{dtype_fix('bias', bias.dtype, weight.dtype, '')}")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, H)  # (N, H)
        N = x2.shape[0]
        dtype = weight.dtype
        self._generation += 1
        z = self._work.array((N, V), dtype)  # (N, V)
        t, weights = token_weights(z.reshape(lead + (V,)), targets, mask, reduction)  # (N,), (N,)
        np.matmul(x2, weight.T, out=z)
        if bias is not None:
            z += bias
        rows = np.arange(N)
        z_t = z[rows, t]  # (N,) z_{n,t_n}, taken before exp overwrites it
        s = np.empty(N, dtype)  # (N,)

        def exp_and_sum(lo: int, hi: int) -> None:  # on its own rows, in a worker thread
            zb = z[lo:hi]
            with np.errstate(over="ignore", under="ignore"):  # thread-local: set here, not outside
                np.exp(zb, out=zb)
                np.add.reduce(zb, axis=1, out=s[lo:hi])  # may overflow too: the row is then recomputed

        self._rows.run(exp_and_sum, N, V)
        bad = ~(s >= np.sqrt(np.finfo(dtype).tiny)) | ~np.isfinite(s)  # overflow, NaN, or all underflowed
        log_s = np.empty_like(s)
        if bad.any():
            r = np.flatnonzero(bad)
            zr = x2[r] @ weight.T  # (n_bad, V) recomputed: the buffer's rows hold exp already
            if bias is not None:
                zr += bias
            m = zr.max(axis=1)  # (n_bad,)
            zr -= m[:, None]
            z_t[r] -= m  # the loss below uses log s - (z_t - m) on these rows
            np.exp(zr, out=zr)
            z[r] = zr
            s[r] = zr.sum(axis=1)
        np.log(s, out=log_s)
        nll = log_s - z_t  # (N,) -log p(t_n)
        loss = weighted_total(nll, weights)
        # x2 copied: the caller may reuse x before the backward
        return loss, LinearCrossEntropyCache(x2.copy(), weight, z, s, t, weights, bias is not None, self._generation)

    def backward(self, dloss: float, cache: LinearCrossEntropyCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dx (N, H) (x flattened) and the gradients of weight (V, H) and, if there was one, bias (V,).

        Overwrites the cached buffer with dL/dz: a cache can be backpropagated once."""
        if not np.ndim(dloss) == 0:
            raise ValueError(f"Expected dloss to be a scalar, got shape {np.shape(dloss)}")
        if cache.spent:
            raise ValueError("Expected a fresh cache, got one already backpropagated (the buffer now holds dL/dz)")
        if cache.generation != self._generation:
            raise ValueError("Expected the cache of the latest forward, got an older one whose buffer a later "
                             "forward has overwritten: backpropagate each forward before the next (to accumulate "
                             "gradients over batches, add each backward's gradients)")
        cache.spent = True
        dz = cache.exp  # (N, V) becomes dL/dz in place
        dtype = dz.dtype
        w = dtype.type(dloss) * cache.weights  # (N,)
        coef = (w / cache.sumexp).astype(dtype, copy=False)[:, None]  # (N, 1)

        def scale(lo: int, hi: int) -> None:
            np.multiply(dz[lo:hi], coef[lo:hi], out=dz[lo:hi])  # w_n softmax(z_n)

        self._rows.run(scale, dz.shape[0], dz.shape[1])
        dz[np.arange(dz.shape[0]), cache.targets] -= w  # minus the one-hot part
        grads = {"weight": dz.T @ cache.x}  # (V, H)
        if cache.has_bias:
            ones = self._work.array((dz.shape[0],), dtype, slot=1)
            ones.fill(1)
            grads["bias"] = ones @ dz  # (V,) column sums, a gemv
        dx = dz @ cache.weight  # (N, H)
        return dx, grads
