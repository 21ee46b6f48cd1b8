"""Affine map ``y = x W^T + b`` on the last axis, with PyTorch's layout ``W: (out, in)``.

Weight tying (Press & Wolf 2017; Inan et al. 2017): a language model's output layer can reuse the
input embedding ``E: (V, E_dim)`` as its weight, since ``(V, E_dim)`` is exactly ``(out, in)``.
The functional form takes the weight array, so a model ties by passing the embedding's array and
keeping ONE key for it in its flat params dict::

    params = {"encoder.weight": (V, E), "decoder.bias": (V,), ...}   # no "decoder.weight"
    x, emb_cache = embedding_forward(ids, params["encoder.weight"])
    ...
    logits, dec_cache = linear_forward(h, params["encoder.weight"], params["decoder.bias"])
    ...
    dh, dec_grads = linear_backward(dlogits, dec_cache)
    _, emb_grads = embedding_backward(dx, emb_cache)
    grads["encoder.weight"] = emb_grads["weight"] + dec_grads["weight"]   # both uses, one key
    grads["decoder.bias"] = dec_grads["bias"]

The total gradient of a shared array is the sum of the gradients of its uses.  With the classes,
:func:`tie_weights` makes ``linear.params["weight"]`` the very same array object as the
embedding's; a model then lists it once and adds the two gradients with :func:`add_tied_grad`.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_array, check_bool, dtype_fix
from rnnkit.init import uniform_
from rnnkit.nn.embedding import Embedding
from rnnkit.row_sparse import RowSparseGrad


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs from :func:`linear_forward`."""

    x: np.ndarray  # (..., in)
    weight: np.ndarray  # (out, in)
    has_bias: bool


def linear_forward(x: np.ndarray, weight: np.ndarray,
                   bias: np.ndarray | None = None) -> tuple[np.ndarray, LinearCache]:
    """``y = x W^T + b``; x: (..., in), weight: (out, in), bias: (out,) or None -> y: (..., out)."""
    return _forward(x, weight, bias, "weight" if bias is None else "weight and bias")


def _forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
             alike: str | None) -> tuple[np.ndarray, LinearCache]:
    """:func:`linear_forward`; a wrong dtype of x is told :func:`rnnkit.checks.dtype_fix`'s fix with ``alike``
    (None: of a :class:`Linear` layer, which can be built in x's dtype)."""
    if not (isinstance(weight, np.ndarray) and weight.ndim == 2):
        raise ValueError(f"Expected weight of shape (out, in), got {getattr(weight, 'shape', type(weight).__name__)}")
    out_features, in_features = weight.shape
    check_array("x", x)
    if not (isinstance(x, np.ndarray) and x.ndim >= 1 and x.shape[-1] == in_features):
        raise ValueError(f"Expected x of shape (..., {in_features}), got {getattr(x, 'shape', type(x).__name__)}")
    if x.dtype != weight.dtype:
        raise TypeError(f"Expected x of dtype {weight.dtype} (the weight's), got {x.dtype}: "
                        f"{dtype_fix('x', x.dtype, weight.dtype, alike)}")
    if bias is not None:
        if not (isinstance(bias, np.ndarray) and bias.shape == (out_features,)):
            got = getattr(bias, "shape", type(bias).__name__)
            raise ValueError(f"Expected bias of shape ({out_features},), got {got}")
        if bias.dtype != weight.dtype:
            raise TypeError(f"Expected bias of dtype {weight.dtype} (the weight's), got {bias.dtype}: "
                            f"{dtype_fix('bias', bias.dtype, weight.dtype, '')}")
    # flatten the leading axes: numpy's matmul on (T, B, in) would run T small GEMMs, not one big one
    y = (x.reshape(-1, in_features) @ weight.T).reshape(x.shape[:-1] + (out_features,))  # (..., out)
    if bias is not None:
        y += bias
    return y, LinearCache(x.copy(), weight, bias is not None)  # a copy: the caller may reuse x before backward


def linear_backward(dout: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gradients of ``y = x W^T + b``.

    dx = dy W                     (..., in)
    dW = sum_n dy_n^T x_n         (out, in), summed over every leading position n
    db = sum_n dy_n               (out,)
    Returns ``(dx, {"weight": dW, "bias": db})`` (no "bias" key without a bias).
    """
    x, weight, has_bias = cache
    out_features, in_features = weight.shape
    expected = x.shape[:-1] + (out_features,)
    if not (isinstance(dout, np.ndarray) and dout.shape == expected):
        raise ValueError(f"Expected dout of shape {expected}, got {getattr(dout, 'shape', type(dout).__name__)}")
    if dout.dtype != weight.dtype:
        raise TypeError(f"Expected dout of dtype {weight.dtype} (the weight's), got {dout.dtype}: "
                        f"{dtype_fix('dout', dout.dtype, weight.dtype, '')}")
    # flatten leading axes so each product is one GEMM, not a batched matmul (and a sum)
    dy2 = dout.reshape(-1, out_features)  # (N, out)
    x2 = x.reshape(-1, in_features)  # (N, in)
    dx = (dy2 @ weight).reshape(x.shape)  # (..., in)
    grads = {"weight": dy2.T @ x2}  # (out, in)
    if has_bias:
        grads["bias"] = dy2.sum(axis=0)  # (out,)
    return dx, grads


class Linear:
    """``y = x W^T + b`` with ``params = {"weight": (out, in), "bias": (out,)}``.

    Initialised like ``torch.nn.Linear``: weight and bias ``U(-1/sqrt(in), 1/sqrt(in))``.
    """

    def __init__(self, in_features: int, out_features: int, rng: np.random.Generator,
                 bias: bool = True, dtype: object = np.float32) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) and value > 0):
                raise ValueError(f"Expected {name} to be a positive int, got {value!r}")
        bias = check_bool("bias", bias)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        bound = 1.0 / math.sqrt(self.in_features)
        self.params = {"weight": uniform_((self.out_features, self.in_features), bound, rng, dtype)}
        if bias:
            self.params["bias"] = uniform_((self.out_features,), bound, rng, dtype)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, LinearCache]:
        """x (..., in) -> (..., out) and the cache."""
        return _forward(x, self.params["weight"], self.params.get("bias"), None)

    def backward(self, dout: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Returns ``(dx, {"weight": dW, "bias": db})`` (no ``"bias"`` key for a layer without a bias)."""
        if isinstance(cache, LinearCache) and cache.weight is not self.params["weight"]:
            raise ValueError("Expected the cache of this layer's forward with its current weight, got one made with "
                             "another weight array (another layer's forward, or params['weight'] replaced since: "
                             "load new weights in place, params['weight'][...] = new)")
        return linear_backward(dout, cache)


def tie_weights(linear: Linear, embedding: Embedding) -> None:
    """Make ``linear.params["weight"]`` the same array object as ``embedding.params["weight"]``.

    Needs ``linear.out_features == V`` and ``linear.in_features == E``.  After tying, updating the
    embedding's array in place updates the output layer too.  The two backward passes still each
    return a ``"weight"`` gradient; the model adds them (:func:`add_tied_grad`) under one key.
    """
    weight = embedding.params["weight"]  # (V, E)
    expected = (linear.out_features, linear.in_features)
    if weight.shape != expected:
        raise ValueError(f"Expected an embedding weight of shape {expected} (out, in) to tie, got {weight.shape}")
    if "bias" in linear.params and linear.params["bias"].dtype != weight.dtype:
        raise TypeError(f"Expected an embedding of dtype {linear.params['bias'].dtype}, got {weight.dtype}")
    linear.params["weight"] = weight


def add_tied_grad(grads: dict[str, Any], key: str, dweight: Any) -> None:
    """Add ``dweight`` into ``grads[key]`` (creating it if absent): the gradient of a shared array
    is the sum over its uses.  Writes into ``grads[key]`` in place where it is a dense array.

    Either may be a :class:`~rnnkit.row_sparse.RowSparseGrad` (a sparse embedding's): the sum with a
    dense gradient is dense (the output layer's gradient touches every row anyway), and two sparse ones
    are summed densely too."""
    if key not in grads:
        grads[key] = dweight.to_dense() if isinstance(dweight, RowSparseGrad) else dweight.copy()
        return
    if tuple(grads[key].shape) != tuple(dweight.shape):
        raise ValueError(f"Expected a gradient of shape {grads[key].shape} for tied {key!r}, got {dweight.shape}")
    if isinstance(grads[key], RowSparseGrad):
        grads[key] = grads[key].to_dense()
    if isinstance(dweight, RowSparseGrad):
        grads[key][dweight.indices] += dweight.values  # the rows are unique
    else:
        grads[key] += dweight
