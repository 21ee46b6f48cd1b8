r"""Class-based (frequency-binned) factorised softmax, as in Mikolov's RNNLM.

Every word w belongs to one class c(w).  The output distribution factorises exactly::

    P(w | h) = P(c(w) | h) * P(w | c(w), h)
    P(c | h)          = softmax_c(U h + a)                     # over the C classes
    P(w | c, h)       = softmax_{w' in c}(W_{w'} h + b_{w'})   # over the words of class c only

so training costs H (C + |c|) per token instead of H V, while the probabilities stay normalised over
the whole vocabulary (they sum to 1 by construction), so perplexity is exact.

Backward, for a token with target w in class c = c(w), loss -log P(w | h) and upstream weight
g = dloss * mask_n (the loss is the masked sum over the tokens)::

    du = g (softmax(U h + a) - onehot(c))            # (C,)  class logits
    dv = g (softmax_c(W_c h + b_c) - onehot(w))      # (|c|,) logits of the words of class c only
    dh = du U + dv W_c ;  dU += du^T h ;  da += du ;  dW_c += dv^T h ;  db_c += dv

where W_c, b_c are the rows of the words of class c: the other words' rows get no gradient from
this token.

Classes come from frequency binning (Mikolov et al. 2011): words sorted by frequency are cut into C
bins of about equal total frequency (``power=1``) or equal total sqrt-frequency (``power=0.5``).

Parameters: ``class_weight`` (C, H), ``class_bias`` (C,), ``weight`` (V, H), ``bias`` (V,); the word
matrix has the layout of an ordinary output layer, so it can be tied to an embedding (V, H).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_int, check_number, check_rng, dtype_fix, param_dtype_fix
from rnnkit.nn.softmax import check_targets


def check_output_inputs(h: Any, params: Any, shapes: dict[str, tuple[int | None, ...]], H: int | None = None) -> None:
    """Check hidden states h (N, H) and the output layer's params against ``shapes`` (name -> shape, None
    standing for H, which the first such parameter sets unless given): float arrays of the expected shapes, all of one
    dtype, h's too (a float64 h with float32 parameters would compute everything in float64, as
    :func:`~rnnkit.nn.linear.linear_forward` refuses to).  TypeError or ValueError naming what is wrong."""
    if not isinstance(params, Mapping):
        raise TypeError(f"Expected params to be a dict of arrays, got {type(params).__name__}")
    dtype, first = None, ""
    for name, shape in shapes.items():
        p = params.get(name)
        if not (isinstance(p, np.ndarray) and p.dtype.kind == "f"):
            got = "nothing" if p is None else getattr(p, "dtype", type(p).__name__)
            raise TypeError(f"Expected params[{name!r}] to be a float numpy array, got {got}")
        want = tuple(H if d is None else d for d in shape)
        if p.ndim != len(want) or any(w is not None and w != g for w, g in zip(want, p.shape)):
            shown = "(" + ", ".join("H" if w is None else str(w) for w in want) + ("," if len(want) == 1 else "") + ")"
            raise ValueError(f"Expected params[{name!r}] of shape {shown}, got {p.shape}")
        if H is None and None in shape:
            H = p.shape[shape.index(None)]
        if dtype is None:
            dtype, first = p.dtype, name
        elif p.dtype != dtype:
            raise TypeError(f"Expected params[{name!r}] of dtype {dtype} ({first}'s), got {p.dtype}: "
                            f"{param_dtype_fix(f'params[{name!r}]', dtype)}")
    if not (isinstance(h, np.ndarray) and h.dtype.kind == "f"):
        raise TypeError(f"Expected h to be a float numpy array, got {getattr(h, 'dtype', type(h).__name__)}")
    if h.ndim != 2 or h.shape[1] != H:
        raise ValueError(f"Expected h of shape (N, {H}) (the parameters' hidden size), got {h.shape}")
    if h.dtype != dtype:
        raise TypeError(f"Expected h of dtype {dtype} (the parameters'), got {h.dtype}: "
                        f"{dtype_fix('h', h.dtype, dtype, 'the parameters')}")


def class_ordered_ids(word_classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, new_id): renumbering words so that each class is a contiguous run of ids.

    ``order[new] = old`` and ``new_id[old] = new``; classes keep their ids and, inside a class,
    words keep their relative order.  A vocabulary relabelled this way makes the class softmax
    read its rows as slices (much faster); :class:`ClassSoftmax` detects it by itself.
    """
    order = np.argsort(np.asarray(word_classes), kind="stable")
    new_id = np.empty_like(order)
    new_id[order] = np.arange(order.size)
    return order, new_id


def frequency_classes(counts: np.ndarray, num_classes: int, power: float = 1.0) -> np.ndarray:
    """(V,) class id of every word: frequency bins of about equal mass of counts**power."""
    given = np.asarray(counts)
    if given.dtype.kind not in "iuf":
        raise TypeError(f"Expected counts to be an array of numbers (one per word), got {given.dtype}")
    if given.ndim != 1:
        raise ValueError(f"Expected counts of shape (V,) (one per word), got {given.shape}")
    counts = given.astype(np.float64)
    bad = ~(counts >= 0) | np.isinf(counts)  # NaN fails >= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"Expected counts to be finite and >= 0 (one per word), got {given[i].item()} for word {i}")
    V = counts.size
    if check_int("num_classes", num_classes, 1) > V:  # a float count of classes would make one more
        raise ValueError(f"Expected num_classes between 1 and the vocabulary size {V}, got {num_classes}")
    if check_number("power", power) < 0:
        raise ValueError(f"Expected power >= 0 (1: equal frequency mass, 0.5: equal sqrt mass), got {power}")
    order = np.argsort(-counts, kind="stable")
    mass = np.maximum(counts[order], 0.0) ** power
    total = mass.sum()
    cum = np.cumsum(mass) / total if total > 0 else np.arange(1, V + 1) / V
    # word k of the sorted list goes to bin floor(C * mass before it); bins never exceed C-1
    before = np.concatenate([[0.0], cum[:-1]])
    bins = np.minimum((before * num_classes).astype(np.int64), num_classes - 1)
    # renumber so the used bins are 0..C'-1 with no gaps (a very frequent word can span several bins)
    _, bins = np.unique(bins, return_inverse=True)
    classes = np.empty(V, dtype=np.int64)
    classes[order] = bins
    return classes


class ClassSoftmaxCache(NamedTuple):
    """What :meth:`ClassSoftmax.loss_backward` needs from :meth:`ClassSoftmax.loss`."""

    h: np.ndarray  # (N, H)
    targets: np.ndarray  # (N,)
    weight_mask: np.ndarray  # (N,) 0/1 loss weights
    class_prob: np.ndarray  # (N, C) softmax over classes
    groups: list  # per class present: (class id, positions (n_c,), word ids (|c|,), probs (n_c, |c|), local targets)


class ClassSoftmax:
    """Factorised output layer over a vocabulary of V words in C frequency classes."""

    def __init__(self, word_classes: np.ndarray, vocab_size: int | None = None) -> None:
        """``word_classes`` (V,): the class of every word, 0 .. C-1, every class with a word (as
        :func:`frequency_classes` gives); ``vocab_size``, when given, must be V."""
        given = np.asarray(word_classes)
        if given.ndim != 1 or given.size == 0 or given.dtype.kind not in "iu":
            raise ValueError(f"Expected word_classes as a non-empty 1-D integer array (the class of each word), got "
                             f"{given.dtype} of shape {given.shape}")
        if vocab_size is not None and given.size != vocab_size:
            raise ValueError(f"Expected word_classes for all {vocab_size} words, got {given.size}")
        word_classes = given.astype(np.int64)
        present = np.unique(word_classes)
        if present[-1] >= word_classes.size:  # C <= V: a class above every word's count leaves one empty
            raise ValueError(f"Expected word classes numbered 0 .. C-1 with C <= {word_classes.size} words, got "
                             f"class {int(present[-1])}")
        if present[0] < 0 or present.size != present[-1] + 1:
            missing = sorted(set(range(int(present[-1]) + 1)) - set(present.tolist()))[:5]
            raise ValueError("Expected word classes numbered 0 .. C-1 with a word in each, got "
                             + (f"class {int(present[0])}" if present[0] < 0 else f"no word in class(es) {missing}"))
        self.word_classes = word_classes  # (V,)
        self.num_classes = int(word_classes.max()) + 1
        # members[c]: the word ids of class c, and each word's index inside its class
        order = np.argsort(word_classes, kind="stable")
        bounds = np.searchsorted(word_classes[order], np.arange(self.num_classes + 1))
        self.members = [order[bounds[c] : bounds[c + 1]] for c in range(self.num_classes)]
        self.index_in_class = np.empty_like(word_classes)
        for m in self.members:
            self.index_in_class[m] = np.arange(m.size)
        # when every class is a contiguous run of ids (see class_ordered_ids), rows are slices:
        # no gather of W[words] and no scatter into dW[words], which dominate otherwise
        self.slices = None
        if all(m.size and m[-1] - m[0] + 1 == m.size for m in self.members):
            self.slices = [slice(int(m[0]), int(m[-1]) + 1) for m in self.members]

    def zero_logit_costs(self) -> np.ndarray:
        """(V,) -log P(w) when every logit is 0: ln C + ln(the size of w's class) (see
        :meth:`rnnkit.lm.adaptive_softmax.AdaptiveSoftmax.zero_logit_costs`)."""
        sizes = np.array([m.size for m in self.members], dtype=np.float64)  # (C,)
        return np.log(self.num_classes) + np.log(sizes)[self.word_classes]

    def _check(self, params: dict[str, np.ndarray], h: np.ndarray) -> None:
        C, V = self.num_classes, len(self.word_classes)
        check_output_inputs(h, params, {"class_weight": (C, None), "class_bias": (C,), "weight": (V, None),
                                        "bias": (V,)})

    def _rows(self, c: int):
        """Index of class c's rows in the word matrix: a slice when contiguous, else the id array."""
        return self.slices[c] if self.slices is not None else self.members[c]

    @staticmethod
    def init_params(V: int, C: int, H: int, rng: np.random.Generator, scale: float | None = None,
                    dtype=np.float32) -> dict[str, np.ndarray]:
        """U(-s, s) weights (s = 1/sqrt(H) unless given) and zero biases."""
        for name, value in (("V", V), ("C", C), ("H", H)):
            check_int(name, value, 1)
        check_rng(rng)
        s = 1.0 / np.sqrt(H) if scale is None else check_number("scale", scale, low=0.0, low_open=True)
        return {
            "class_weight": rng.uniform(-s, s, (C, H)).astype(dtype),
            "class_bias": np.zeros(C, dtype),
            "weight": rng.uniform(-s, s, (V, H)).astype(dtype),
            "bias": np.zeros(V, dtype),
        }

    def loss(self, params: dict[str, np.ndarray], h: np.ndarray, targets: np.ndarray,
             mask: np.ndarray | None = None) -> tuple[float, ClassSoftmaxCache]:
        """Summed negative log-likelihood of targets (N,) given hidden states h (N, H); mask (N,) bool or 0/1."""
        self._check(params, h)
        N = h.shape[0]
        targets, keep = check_targets(targets, mask, (N,), len(self.word_classes), "one per row of h")
        if keep is not None:
            targets = np.where(keep, targets, 0)  # a masked target may be any integer (-1 padding)
        w = np.ones(N, h.dtype) if keep is None else keep.astype(h.dtype)
        cls = self.word_classes[targets]  # (N,)
        logits = h @ params["class_weight"].T + params["class_bias"]  # (N, C)
        logits -= logits.max(axis=1, keepdims=True)
        picked = logits[np.arange(N), cls]  # (N,) the target class's shifted logit (a copy)
        np.exp(logits, out=logits)
        norm = logits.sum(axis=1, keepdims=True)  # (N, 1), >= 1
        logits /= norm
        class_prob = logits
        # -log p = log(sum exp) - z: from the logits, not log(p), which is log(0) = inf once p underflows
        nll = (np.log(norm[:, 0]) - picked) * w
        total = float(nll.sum(dtype=np.float64))
        groups = []
        order = np.argsort(cls, kind="stable")
        present, starts = np.unique(cls[order], return_index=True)
        ends = np.append(starts[1:], N)
        for c, s, e in zip(present, starts, ends):
            pos = order[s:e]  # (n_c,)
            words = self._rows(c)
            z = h[pos] @ params["weight"][words].T + params["bias"][words]  # (n_c, |c|)
            z -= z.max(axis=1, keepdims=True)
            local = self.index_in_class[targets[pos]]
            picked = z[np.arange(pos.size), local]  # (n_c,)
            np.exp(z, out=z)
            norm = z.sum(axis=1, keepdims=True)  # (n_c, 1)
            z /= norm
            total += float(np.sum((np.log(norm[:, 0]) - picked) * w[pos], dtype=np.float64))
            groups.append((c, pos, words, z, local))
        return total, ClassSoftmaxCache(h, targets, w, class_prob, groups)

    def loss_backward(self, params: dict[str, np.ndarray], dloss: float,
                      cache: ClassSoftmaxCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Gradients of dloss * loss: returns dh (N, H) and grads keyed like params."""
        h, targets, w, class_prob, groups = cache
        N = h.shape[0]
        scale = (w * dloss)[:, None].astype(h.dtype)  # (N, 1)
        dcls = class_prob.copy()  # (N, C): softmax - onehot
        dcls[np.arange(N), self.word_classes[targets]] -= 1.0
        dcls *= scale
        dh = dcls @ params["class_weight"]  # (N, H)
        grads = {
            "class_weight": dcls.T @ h,
            "class_bias": dcls.sum(axis=0),
            "weight": np.zeros_like(params["weight"]),
            "bias": np.zeros_like(params["bias"]),
        }
        for c, pos, words, probs, local in groups:
            dz = probs.copy()  # (n_c, |c|)
            dz[np.arange(pos.size), local] -= 1.0
            dz *= scale[pos]
            dh[pos] += dz @ params["weight"][words]
            grads["weight"][words] += dz.T @ h[pos]
            grads["bias"][words] += dz.sum(axis=0)
        return dh, grads

    def log_probs(self, params: dict[str, np.ndarray], h: np.ndarray) -> np.ndarray:
        """(N, V) exact log P(w | h) for every word: log P(class) + log P(word | class)."""
        self._check(params, h)
        cl = h @ params["class_weight"].T + params["class_bias"]  # (N, C)
        cl -= cl.max(axis=1, keepdims=True)
        cl -= np.log(np.exp(cl).sum(axis=1, keepdims=True))
        out = h @ params["weight"].T + params["bias"]  # (N, V)
        for c in range(self.num_classes):
            words = self._rows(c)
            z = out[:, words]
            z -= z.max(axis=1, keepdims=True)
            z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
            out[:, words] = z + cl[:, c : c + 1]
        return out
