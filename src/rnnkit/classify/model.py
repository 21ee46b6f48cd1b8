r"""Recurrent sentence classifier: embedding -> (Bi)RNN -> pooling -> linear -> softmax.

For a sentence of L real tokens in a padded time-major batch (T, B)::

    e_t = dropout(W[x_t])                        # (E,)
    h_t = RNN(e_1..e_L)_t                        # (dirs*H,) stacked, lengths respected; with residual, layer
                                                 #   l >= 2 adds its input to its output (rnnkit.recurrent)
    pooled:  last  u = [h_fwd at step L ; h_bwd at step 1]   (each direction's final state)
             mean  u = (1/L) sum_{t<=L} h_t
             max   u_k = max_{t<=L} h_{t,k}
             attention  u = sum_{t<=L} a_t h_t,  a_t = softmax_{t<=L}(v . tanh(W h_t + b))
    z = U dropout(u) + b                         # (K,) class scores
    p(y | x) = softmax(z);   loss = - sum_b c_{y_b} log p(y_b | x_b)

with class weights ``c`` (``class_weights``; all 1 by default).  The loss is the weighted *sum* over
the batch, and training divides it by the batch's sentence count B, as without weights: it equals
``torch.nn.functional.cross_entropy(z, y, weight=c, reduction="sum") / B``, not torch's weighted
"mean", which divides by sum_b c_{y_b} instead and so makes a batch's scale depend on its classes.
With scikit-learn's "balanced" weights ``c_k = N / (K N_k)`` the weights average exactly 1 over the
training set, so an epoch's loss keeps the unweighted loss's scale.

Padded steps never enter the pooling: the RNN's final state is taken at each sentence's last real
step, the mean divides by L, the max runs over real steps only.  The max's gradient goes to the
step that won (the first one on ties, as ``argmax`` picks).  ``last`` reads the final *states*, which
with residual connections hold the top layer's cells alone, not its input added.  Attention pooling
(Yang et al. 2016; Lin et al. 2017 with one head) learns which tokens to average: its weights a_t are 0
at padded steps, sum to 1 over the real ones, and are what :meth:`Classifier.attention` returns
(equations and backward: :mod:`rnnkit.nn.attention_pool`).

Parameters: ``embedding.weight`` (V, E), ``rnn.*`` (PyTorch's names), ``output.weight`` (K, dirs*H)
and ``output.bias`` (K,); with attention pooling also ``attention.weight`` (A, dirs*H), ``attention.bias``
(A,) and ``attention.context`` (A,), drawn after the others (so a seed gives the other parameters the same
initial values under every pooling).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checkpoint_task import copy_into
from rnnkit.checks import check_bool, check_config, check_dtype_name, check_id_values, check_int, check_rate, check_rng
from rnnkit.fielddoc import fields_in_doc
from rnnkit.init import uniform_
from rnnkit.nn.attention_pool import attention_pool_backward, attention_pool_forward, init_attention_pool
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.nn.linear import linear_backward, linear_forward
from rnnkit.nn.softmax import check_class_weights, softmax, softmax_cross_entropy, softmax_cross_entropy_backward
from rnnkit.recurrent import make_recurrent

POOLINGS = ("last", "mean", "max", "attention")


@fields_in_doc
@dataclass(frozen=True)
class ClassifierConfig:
    """Sizes, cell, pooling and dropout of a :class:`Classifier`."""

    vocab_size: int  # V
    num_classes: int  # K
    cell: str = "lstm"  # rnn, lstm or gru
    embedding_dim: int = 100  # E
    hidden_size: int = 100  # H per direction
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max"  # last, mean, max or attention over the real tokens
    dropout: float = 0.5  # on the embeddings, between layers and on the pooled vector
    weight_drop: float = 0.0  # DropConnect on the recurrent matrices W_hh, one mask per forward pass (AWD-LSTM)
    dtype: str = "float32"
    # (K,) the loss's weight of each class; None: all 1.  Here, as in torch's cross_entropy, a weight may be 0 (the
    # class then adds nothing to the loss and is never learnt); train classifier's --class-weights refuses 0.
    class_weights: tuple[float, ...] | None = None
    residual: bool = False  # input added to output from the second stacked layer on (GNMT); needs num_layers >= 2
    attention_size: int = 100  # A, the attention pooling's hidden units (Yang et al.'s 100); pooling="attention" only
    peephole: bool = False  # LSTM only: peephole connections (weight_ci, weight_cf, weight_co; Graves 2013)
    layer_norm: bool = False  # Elman RNN, LSTM and GRU: layer normalization in the cells (Ba, Kiros & Hinton 2016)

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"Expected pooling one of {POOLINGS}, got {self.pooling!r}")
        if self.cell not in ("rnn", "lstm", "gru"):
            raise ValueError(f"Expected cell 'rnn', 'lstm' or 'gru', got {self.cell!r}")
        for name in ("vocab_size", "num_classes", "embedding_dim", "hidden_size", "num_layers", "attention_size"):
            check_int(name, getattr(self, name), 1)
        for name in ("dropout", "weight_drop"):
            check_rate(name, getattr(self, name))
        object.__setattr__(self, "dtype", check_dtype_name("dtype", self.dtype))
        object.__setattr__(self, "residual", check_bool("residual", self.residual))
        object.__setattr__(self, "peephole", check_bool("peephole", self.peephole))
        object.__setattr__(self, "layer_norm", check_bool("layer_norm", self.layer_norm))
        if self.class_weights is not None:  # a tuple of floats: hashable, and a list again in JSON
            weights = check_class_weights(self.class_weights, self.num_classes)
            object.__setattr__(self, "class_weights", tuple(float(w) for w in weights))

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)


class ClassifierCache(NamedTuple):
    """What :meth:`Classifier.backward` needs: made by :meth:`Classifier.logits`, the loss's part added by
    :meth:`Classifier.loss`."""

    emb: Any
    drop_in: Any
    rnn: Any
    pool: Any  # what the pooling's backward needs
    drop_out: Any
    linear: Any
    loss: Any
    lengths: np.ndarray  # (B,)
    shape: tuple[int, int]  # (T, B)


class Classifier:
    """The classifier; ``params`` is one flat dict of named arrays (see the module docstring)."""

    def __init__(self, config: ClassifierConfig, rng: np.random.Generator) -> None:
        cfg = check_config(config, ClassifierConfig)
        check_rng(rng)
        self.config = cfg
        dtype = np.dtype(cfg.dtype)
        self.params: dict[str, np.ndarray] = {}
        bound = float(np.sqrt(3.0 / cfg.embedding_dim))  # unit-norm rows on average
        self.params["embedding.weight"] = uniform_((cfg.vocab_size, cfg.embedding_dim), bound, rng, dtype)
        self.rnn = make_recurrent({"cell": cfg.cell, "input_size": cfg.embedding_dim, "hidden_size": cfg.hidden_size,
                                   "num_layers": cfg.num_layers, "bidirectional": cfg.bidirectional,
                                   "dropout": cfg.dropout if cfg.num_layers > 1 else 0.0,
                                   "weight_drop": cfg.weight_drop, "residual": cfg.residual, "peephole": cfg.peephole,
                                   "layer_norm": cfg.layer_norm, "dtype": cfg.dtype}, rng)
        for k, v in self.rnn.params.items():
            self.params["rnn." + k] = v  # the same arrays: in-place updates reach the layer
        width = self.rnn.num_directions * cfg.hidden_size
        b = 1.0 / np.sqrt(width)
        self.params["output.weight"] = uniform_((cfg.num_classes, width), b, rng, dtype)
        self.params["output.bias"] = uniform_((cfg.num_classes,), b, rng, dtype)
        if cfg.pooling == "attention":
            for k, v in init_attention_pool(width, cfg.attention_size, rng, dtype).items():
                self.params["attention." + k] = v  # (A, dirs*H), (A,), (A,)

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place, checking names and shapes."""
        copy_into(self.params, arrays, "the classifier's")

    # ------------------------------------------------------------------ pooling
    def _pool(self, out: np.ndarray, state: Any, lengths: np.ndarray) -> tuple[np.ndarray, Any]:
        pooling = self.config.pooling
        if pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # (L*dirs, B, H)
            dirs = self.rnn.num_directions
            return np.concatenate(list(h[-dirs:]), axis=1), None  # (B, dirs*H)
        if pooling == "mean":
            # out is zero at padded steps, so the sum over T is the sum over the real steps
            return out.sum(axis=0) / lengths[:, None].astype(out.dtype), None  # (B, dirs*H)
        T = out.shape[0]
        pad = np.arange(T)[:, None] >= lengths[None, :]  # (T, B)
        if pooling == "attention":
            P = self.params
            u, _, c = attention_pool_forward(out, ~pad, P["attention.weight"], P["attention.bias"],
                                             P["attention.context"])
            return u, c  # (B, dirs*H); the weights (T, B) are c.a
        masked = np.where(pad[:, :, None], -np.inf, out)  # (T, B, dirs*H)
        arg = masked.argmax(axis=0)  # (B, dirs*H) the winning step
        return np.take_along_axis(out, arg[None], axis=0)[0], arg

    def _pool_backward(self, du: np.ndarray, cache: ClassifierCache) -> tuple[np.ndarray | None, Any, dict]:
        """(dout (T, B, dirs*H) or None, dstate or None, the pooling's own gradients) from dL/du (B, dirs*H)."""
        T, B = cache.shape
        cfg = self.config
        if cfg.pooling == "last":
            dirs = self.rnn.num_directions
            H = cfg.hidden_size
            dh = np.zeros((cfg.num_layers * dirs, B, H), du.dtype)  # (L*dirs, B, H)
            for d in range(dirs):
                dh[-dirs + d] = du[:, d * H : (d + 1) * H]
            return None, ((dh, np.zeros_like(dh)) if cfg.cell == "lstm" else dh), {}
        if cfg.pooling == "mean":
            mask = (np.arange(T)[:, None] < cache.lengths[None, :]).astype(du.dtype)  # (T, B)
            scaled = du / cache.lengths[:, None].astype(du.dtype)  # (B, dirs*H)
            return mask[:, :, None] * scaled[None], None, {}
        if cfg.pooling == "attention":
            dout, g = attention_pool_backward(du, cache.pool)
            return dout, None, {"attention." + k: v for k, v in g.items()}
        dout = np.zeros((T,) + du.shape, du.dtype)  # (T, B, dirs*H)
        np.put_along_axis(dout, cache.pool[None], du[None], axis=0)
        return dout, None, {}

    # ------------------------------------------------------------------ forward / backward
    def logits(self, ids: np.ndarray, lengths: np.ndarray, training: bool = False,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, ClassifierCache]:
        """Class scores (B, K) of padded token ids (T, B) with ``lengths`` (B,)."""
        if not (isinstance(ids, np.ndarray) and ids.ndim == 2):
            raise ValueError(f"Expected ids of shape (T, B), got {getattr(ids, 'shape', type(ids).__name__)}")
        T, B = ids.shape
        if lengths is None:
            raise TypeError(f"Expected lengths (B,) = ({B},), the real tokens of each sentence, got None")
        # integers, not cut to them (1.9 read as 1), nor bools (a mask row read as lengths 1) or strings
        lengths = check_id_values("lengths", lengths)
        if lengths.shape != (B,) or (B and (lengths.min() < 1 or lengths.max() > T)):
            raise ValueError(f"Expected lengths of shape ({B},) between 1 and T={T}, got {lengths}")
        P = self.params
        cfg = self.config
        e, c_emb = embedding_forward(ids, P["embedding.weight"])  # (T, B, E)
        e, c_in = dropout_forward(e, cfg.dropout, rng, training)
        out, state, c_rnn = self.rnn.forward(e, lengths=lengths, training=training, rng=rng)  # (T, B, dirs*H)
        u, c_pool = self._pool(out, state, lengths)  # (B, dirs*H)
        u, c_out = dropout_forward(u, cfg.dropout, rng, training)
        z, c_lin = linear_forward(u, P["output.weight"], P["output.bias"])  # (B, K)
        return z, ClassifierCache(c_emb, c_in, c_rnn, c_pool, c_out, c_lin, None, lengths, (T, B))

    def loss(self, ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray, training: bool = False,
             rng: np.random.Generator | None = None) -> tuple[float, ClassifierCache]:
        """Summed negative log-likelihood of ``labels`` (B,), each weighted by its class's weight, and the cache."""
        z, cache = self.logits(ids, lengths, training, rng)
        labels = check_id_values("labels", labels, self.config.num_classes)  # named as such, not as "targets"
        loss, c = softmax_cross_entropy(z, labels, reduction="sum", weight=self.config.class_weights)
        return loss, cache._replace(loss=c)

    def backward(self, dloss: float, cache: ClassifierCache) -> dict[str, np.ndarray]:
        """Gradients of ``dloss * loss`` for every parameter, keyed like ``params``."""
        dz = softmax_cross_entropy_backward(dloss, cache.loss)  # (B, K)
        du, g = linear_backward(dz, cache.linear)  # (B, dirs*H)
        grads = {"output.weight": g["weight"], "output.bias": g["bias"]}
        du, _ = dropout_backward(du, cache.drop_out)
        dout, dstate, g = self._pool_backward(du, cache)
        grads.update(g)
        de, _, g = self.rnn.backward(dout, dstate, cache.rnn)  # (T, B, E)
        grads.update({"rnn." + k: v for k, v in g.items()})
        de, _ = dropout_backward(de, cache.drop_in)
        _, g = embedding_backward(de, cache.emb)
        grads["embedding.weight"] = g["weight"]
        return grads

    def predict_proba(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Class probabilities (B, K)."""
        z, _ = self.logits(ids, lengths)
        return softmax(z)

    def attention(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities (B, K) and the attention pooling's weights (T, B) of each token (0 at padded
        steps; each sentence's sum to 1): what the model looked at.  Attention pooling only."""
        if self.config.pooling != "attention":
            raise ValueError(f"Expected a classifier with attention pooling to show its weights, got pooling "
                             f"{self.config.pooling!r}")
        z, cache = self.logits(ids, lengths)
        return softmax(z), cache.pool.a
