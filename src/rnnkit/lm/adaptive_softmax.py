r"""Adaptive softmax (Grave et al. 2017, "Efficient softmax approximation for GPUs"), exact and normalised.

Word ids are sorted by falling frequency and cut at ``cutoffs`` c_0 < c_1 < ... < c_K = V.  The
c_0 most frequent words (the *shortlist*) sit in the head beside one token per tail cluster; the
words of cluster i, ids [c_i, c_{i+1}), are scored by a small two-layer map whose inner size
shrinks by ``div_value`` from one cluster to the next::

    head(h)   = W_head h + b_head                          # (c_0 + K,)  shortlist, then K cluster tokens
    P(w | h)  = softmax(head(h))_w                          for w < c_0
    P(w | h)  = softmax(head(h))_{c_0 + i}                  for w in cluster i
                * softmax(O_i P_i h)_{w - c_i}              # P_i (d_i, H), O_i (c_{i+1} - c_i, d_i)
    d_i       = floor(H / div_value**(i + 1))

The probabilities sum to 1 over the vocabulary by construction, so perplexity is exact.  Training
costs H (c_0 + K) per token for the head plus, for the few tokens in cluster i only,
d_i (H + c_{i+1} - c_i): on PTB the 2,000 most frequent words cover 87% of the tokens, and the
output layer does about a third of the full softmax's work with ``div_value=1`` (the benchmark's
setting), about a quarter with the default 4.  Unlike Mikolov's frequency classes
(:mod:`rnnkit.lm.class_softmax`), every frequent word keeps its own row of a full softmax.

Parameter names and layouts are those of ``torch.nn.AdaptiveLogSoftmaxWithLoss``:
``head.weight`` (c_0 + K, H), ``head.bias`` (c_0 + K,) when ``head_bias``, ``tail.{i}.0.weight``
(d_i, H) and ``tail.{i}.1.weight`` (c_{i+1} - c_i, d_i); the tails have no biases.  One default
differs: ``head_bias`` is True here (a zero-initialised bias), False in torch, so a torch layer
built with its defaults corresponds to ``AdaptiveSoftmax(..., head_bias=False)``.  The head runs
through :class:`~rnnkit.nn.linear_softmax.LinearCrossEntropy` (fused, one buffer kept between steps).

Gradients, with weights w_n (the mask) and upstream scalar g, for token n in cluster i, with
p_n = P_i h_n and q_n = softmax(O_i p_n)::

    dz_n     = g w_n (q_n - onehot(w - c_i))     # (c_{i+1} - c_i,)
    dO_i    += dz_n p_n^T ;   dp_n = O_i^T dz_n
    dP_i    += dp_n h_n^T ;   dh_n += P_i^T dp_n   (plus the head's  W_head^T dhead_n)
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from rnnkit.checks import check_bool, check_int, check_number, check_rng
from rnnkit.lm.class_softmax import check_output_inputs
from rnnkit.nn.linear_softmax import LinearCrossEntropy, LinearCrossEntropyCache
from rnnkit.nn.softmax import check_targets


def default_cutoffs(vocab_size: int) -> tuple[int, ...]:
    """Cutoffs for a frequency-sorted vocabulary: a 2,000-word shortlist, tails cut at 10k and 50k (those
    below ``vocab_size``); ValueError for a vocabulary of 2,000 words or fewer, which needs cutoffs given."""
    cut = tuple(c for c in (2000, 10000, 50000) if c < vocab_size)
    if not cut:
        raise ValueError(f"Expected a vocabulary of more than 2000 words for the default adaptive-softmax cutoffs, "
                         f"got {vocab_size}; give the cutoffs (e.g. cutoffs=({max(1, vocab_size // 4)},), --cutoffs "
                         f"{max(1, vocab_size // 4)})")
    return cut


def check_cutoffs(cutoffs: Sequence[int], vocab_size: int) -> tuple[int, ...]:
    """The cutoffs as a tuple of ints, strictly increasing, each in [1, V - 1]; TypeError for anything but a
    sequence of integers, ValueError otherwise."""
    if isinstance(cutoffs, (str, bytes)) or not hasattr(cutoffs, "__iter__"):
        raise TypeError(f"Expected cutoffs to be a sequence of ints (the adaptive softmax's cluster bounds), got "
                        f"{type(cutoffs).__name__} {cutoffs!r}")
    given = tuple(cutoffs)
    for c in given:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)):
            raise TypeError(f"Expected cutoffs to be ints, got {type(c).__name__} {c!r} in {list(given)}")
    cut = tuple(int(c) for c in given)
    if (not cut or any(c < 1 for c in cut) or any(b <= a for a, b in zip(cut, cut[1:]))
            or cut[-1] >= vocab_size):
        raise ValueError(f"Expected adaptive-softmax cutoffs strictly increasing between 1 and the vocabulary "
                         f"size {vocab_size} (exclusive), got {list(cut)}")
    return cut


class AdaptiveSoftmaxCache(NamedTuple):
    """What :meth:`AdaptiveSoftmax.loss_backward` needs from :meth:`AdaptiveSoftmax.loss`."""

    h: np.ndarray  # (N, H)
    weights: np.ndarray  # (N,) loss weights (the mask)
    head: LinearCrossEntropyCache
    tails: list  # per cluster: (positions (n_i,), p (n_i, d_i), q (n_i, osz_i) softmax, local targets (n_i,))


class AdaptiveSoftmax:
    """Adaptive softmax output layer over V frequency-sorted words; see the module docstring."""

    def __init__(self, vocab_size: int, hidden_size: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = True) -> None:
        div_value = check_number("div_value", div_value)
        if div_value < 1.0:
            raise ValueError(f"Expected div_value >= 1 (each tail cluster's inner size is H / div_value**(i+1)), "
                             f"got {div_value}")
        self.vocab_size = V = check_int("vocab_size", vocab_size, 2)
        self.hidden_size = H = check_int("hidden_size", hidden_size, 1)
        cut = check_cutoffs(cutoffs, V)
        self.bounds = np.array(cut + (V,), dtype=np.int64)  # c_0 .. c_K
        self.shortlist = cut[0]
        self.num_clusters = len(cut)
        self.head_size = self.shortlist + self.num_clusters
        self.head_bias = check_bool("head_bias", head_bias)
        self.inner_sizes = []
        for i in range(self.num_clusters):
            d = int(H // (div_value ** (i + 1)))  # as torch computes it
            if d < 1:
                raise ValueError(f"Expected hidden size / div_value**{i + 1} >= 1 for tail cluster {i}, got "
                                 f"{H} / {div_value}**{i + 1} < 1; lower div_value or use fewer cutoffs")
            self.inner_sizes.append(d)
        self._head = LinearCrossEntropy()

    def zero_logit_costs(self) -> np.ndarray:
        """(V,) -log P(w) when every logit is 0, the scores' start at a small initialisation: ln(head size)
        for a shortlist word, plus ln(its cluster's size) for a tail word, which is above ln V for a
        tail word whenever the head holds more entries than the clusters it spares (the check of a run
        that does not learn, :meth:`rnnkit.lm.task.LMTask.uniform_loss`, starts from these)."""
        costs = np.full(self.vocab_size, np.log(self.head_size))  # (V,)
        for i in range(self.num_clusters):
            a, b = int(self.bounds[i]), int(self.bounds[i + 1])
            costs[a:b] += np.log(b - a)
        return costs

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape (torch's names): the head (c_0 + K, H), its bias when
        ``head_bias``, and per cluster i the projection (d_i, H) and output (c_{i+1} - c_i, d_i)."""
        shapes: dict[str, tuple[int, ...]] = {"head.weight": (self.head_size, self.hidden_size)}
        if self.head_bias:
            shapes["head.bias"] = (self.head_size,)
        for i, d in enumerate(self.inner_sizes):
            shapes[f"tail.{i}.0.weight"] = (d, self.hidden_size)
            shapes[f"tail.{i}.1.weight"] = (int(self.bounds[i + 1] - self.bounds[i]), d)
        return shapes

    def init_params(self, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
        """Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's Linear), head bias zero."""
        check_rng(rng)
        params = {}
        for name, shape in self.param_shapes().items():
            if name == "head.bias":
                params[name] = np.zeros(shape, dtype)
            else:
                s = 1.0 / np.sqrt(shape[1])
                params[name] = rng.uniform(-s, s, shape).astype(dtype)
        return params

    def _split(self, targets: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(head targets (N,), cluster of every target (N,), -1 for the shortlist and masked positions)."""
        t = np.where(keep, targets, 0)  # masked: any integer (-1 padding); kept: checked by loss
        cluster = np.searchsorted(self.bounds, t, side="right") - 1  # (N,) -1 in the shortlist
        head_t = np.where(cluster < 0, t, self.shortlist + cluster)
        cluster[~keep] = -1
        return head_t, cluster

    def loss(self, params: dict[str, np.ndarray], h: np.ndarray, targets: np.ndarray,
             mask: np.ndarray | None = None) -> tuple[float, AdaptiveSoftmaxCache]:
        """Summed negative log-likelihood of targets (N,) given hidden states h (N, H); mask (N,) bool or 0/1."""
        check_output_inputs(h, params, self.param_shapes(), self.hidden_size)
        N = h.shape[0]
        targets, keep = check_targets(targets, mask, (N,), self.vocab_size, "one per row of h")
        keep = np.ones(N, bool) if keep is None else keep  # (N,); _split reads masked targets as 0
        w = keep.astype(h.dtype)  # (N,) 0/1 loss weights
        head_t, cluster = self._split(targets, keep)
        bias = params["head.bias"] if self.head_bias else None
        total, c_head = self._head.forward(h, params["head.weight"], bias, head_t,
                                           None if mask is None else keep)
        tails = []
        for i in range(self.num_clusters):
            pos = np.flatnonzero(cluster == i)  # (n_i,)
            if pos.size == 0:
                tails.append(None)
                continue
            p = h[pos] @ params[f"tail.{i}.0.weight"].T  # (n_i, d_i)
            z = p @ params[f"tail.{i}.1.weight"].T  # (n_i, osz_i)
            z -= z.max(axis=1, keepdims=True)
            local = targets[pos] - self.bounds[i]
            picked = z[np.arange(pos.size), local]  # (n_i,) the target's shifted logit (a copy)
            np.exp(z, out=z)
            norm = z.sum(axis=1, keepdims=True)  # (n_i, 1)
            z /= norm
            # -log p = log(sum exp) - z, finite where p itself underflows to 0
            total += float(np.sum((np.log(norm[:, 0]) - picked) * w[pos], dtype=np.float64))
            tails.append((pos, p, z, local))
        return total, AdaptiveSoftmaxCache(h, w, c_head, tails)

    def loss_backward(self, params: dict[str, np.ndarray], dloss: float,
                      cache: AdaptiveSoftmaxCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Gradients of dloss * loss: returns dh (N, H) and grads keyed like params.  Once per cache."""
        h, w, c_head, tails = cache
        dh, g_head = self._head.backward(dloss, c_head)  # (N, H)
        grads = {"head.weight": g_head["weight"]}
        if self.head_bias:
            grads["head.bias"] = g_head["bias"]
        for i, tail in enumerate(tails):
            P = params[f"tail.{i}.0.weight"]  # (d_i, H)
            O = params[f"tail.{i}.1.weight"]  # (osz_i, d_i)
            if tail is None:
                grads[f"tail.{i}.0.weight"] = np.zeros_like(P)
                grads[f"tail.{i}.1.weight"] = np.zeros_like(O)
                continue
            pos, p, dz, local = tail
            dz[np.arange(pos.size), local] -= 1.0  # softmax - onehot, in the cached buffer
            dz *= (dloss * w[pos]).astype(dz.dtype)[:, None]
            grads[f"tail.{i}.1.weight"] = dz.T @ p  # (osz_i, d_i)
            dp = dz @ O  # (n_i, d_i)
            grads[f"tail.{i}.0.weight"] = dp.T @ h[pos]  # (d_i, H)
            dh[pos] += dp @ P
        return dh, grads

    def log_probs(self, params: dict[str, np.ndarray], h: np.ndarray) -> np.ndarray:
        """(N, V) exact log P(w | h) for every word."""
        check_output_inputs(h, params, self.param_shapes(), self.hidden_size)
        z = h @ params["head.weight"].T  # (N, c_0 + K)
        if self.head_bias:
            z += params["head.bias"]
        z -= z.max(axis=1, keepdims=True)
        z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
        out = np.empty((h.shape[0], self.vocab_size), dtype=z.dtype)
        out[:, : self.shortlist] = z[:, : self.shortlist]
        for i in range(self.num_clusters):
            t = (h @ params[f"tail.{i}.0.weight"].T) @ params[f"tail.{i}.1.weight"].T  # (N, osz_i)
            t -= t.max(axis=1, keepdims=True)
            t -= np.log(np.exp(t).sum(axis=1, keepdims=True))
            out[:, self.bounds[i] : self.bounds[i + 1]] = t + z[:, self.shortlist + i : self.shortlist + i + 1]
        return out
