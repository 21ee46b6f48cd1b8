r"""BiLSTM sequence tagger with a softmax or linear-chain CRF output (Huang et al. 2015; Lample et al. 2016).

The word-level recurrent layer is a bidirectional LSTM by default; ``cell`` makes it an Elman RNN or a
GRU and ``bidirectional=False`` one left-to-right direction (then h_t is (H,) and sees only w_1..w_t);
``residual`` adds each stacked layer's input to its output from the second layer on (:mod:`rnnkit.recurrent`).

For a sentence of T tokens (a batch is time-major, (T, B), padded at the end)::

    x_t = [ W[w_t] ; char(w_t) ; G[c_t c_{t+1}] ; G[c_{t-1} c_t] ; F_1[f1_t] ; ... ]   # (D,)
    h_t = BiLSTM(dropout(x))_t                                  # (2H,) stacked, lengths respected (dirs H)
    s_t = U dropout(h_t) + b                                     # (K,) emission scores
    softmax output:  loss = - sum_t log softmax(s_t)[y_t]
    CRF output:      loss = log Z(s) - score(y; s, A, start, end)      (see :mod:`rnnkit.crf`)

Every input part is optional but the word embedding: character features, a BiLSTM's (see
:mod:`rnnkit.tagging.char_features`) or a CNN's (``char_encoder="cnn"``, :mod:`rnnkit.tagging.char_cnn`),
give unknown words a vector from their spelling; character
bigram embeddings (one table, the right and the left bigram of each character) serve Chinese word
segmentation as BMES character tagging; feature columns (e.g. the POS column of CoNLL-2000)
each get an embedding table.  Prediction is argmax (softmax) or Viterbi (CRF); given the
``allowed`` triple of :func:`rnnkit.constraints.allowed_transitions`, both decode with Viterbi
over legal tag sequences only (for softmax: over the log-probabilities with zero transition scores).
:meth:`Tagger.chain` is that decoder's linear chain; :meth:`Tagger.marginals` and :meth:`Tagger.nbest`
give its token marginals and its n best sequences with their probabilities.

Parameters: ``embedding.weight`` (V, E); ``char_embedding.weight`` (C, Ec) and ``char_rnn.*`` (BiLSTM) or
``char_cnn.weight`` (F, Ec, k), ``char_cnn.bias`` (F,) (CNN);
``bigram_embedding.weight`` (Vb, Eb); ``feature_embedding.{i}.weight`` (Vf_i, Ef); ``rnn.*``
(PyTorch's names for the cell); ``output.weight`` (K, dirs H), ``output.bias`` (K,); with the CRF
``crf.transitions`` (K, K), ``crf.start_transitions`` (K,), ``crf.end_transitions`` (K,).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checkpoint_task import copy_into
from rnnkit.checks import (check_bool, check_config, check_dtype_name, check_int, check_int_sequence, check_rate,
                           check_rng)
from rnnkit.crf import crf_marginals, crf_nll, crf_nll_backward, init_crf_params, viterbi_decode
from rnnkit.crf_nbest import crf_nbest
from rnnkit.fielddoc import fields_in_doc
from rnnkit.init import uniform_
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.nn.linear import linear_backward, linear_forward
from rnnkit.nn.softmax import log_softmax, softmax_cross_entropy, softmax_cross_entropy_backward
from rnnkit.packing import resolve_lengths
from rnnkit.recurrent import make_recurrent
from rnnkit.tagging.char_cnn import char_cnn_backward, char_cnn_forward, init_char_cnn
from rnnkit.tagging.char_features import CharBatch, char_features_backward, char_features_forward, make_char_lstm

OUTPUTS = ("softmax", "crf")
CHAR_ENCODERS = ("bilstm", "cnn")


@fields_in_doc
@dataclass(frozen=True)
class TaggerConfig:
    """Sizes of every input part, the recurrent layer and the output layer (softmax or CRF) of a :class:`Tagger`."""

    vocab_size: int  # V words (characters when segmenting)
    num_tags: int  # K
    embedding_dim: int = 100  # E
    char_vocab_size: int = 0  # C; 0 = no character features
    char_embedding_dim: int = 25  # Ec
    char_hidden: int = 25  # Hc per direction (char_encoder "bilstm")
    char_encoder: str = "bilstm"  # "bilstm" (Lample et al. 2016) or "cnn" (Ma & Hovy 2016)
    char_filters: int = 30  # F, the CNN's filters (its features' width)
    char_window: int = 3  # k, characters a CNN filter reads
    char_dropout: float | None = None  # on the CNN's character embeddings; None: the rate of dropout
    bigram_vocab_size: int = 0  # Vb; 0 = no character bigrams
    bigram_embedding_dim: int = 50  # Eb, used twice (right and left bigram)
    feature_vocab_sizes: tuple = field(default_factory=tuple)  # one table per extra input column
    feature_embedding_dim: int = 20  # Ef
    hidden_size: int = 100  # H per direction
    num_layers: int = 1
    output: str = "crf"  # "softmax" or "crf"
    cell: str = "lstm"  # the word-level layer: rnn, lstm or gru (char_encoder chooses the characters' own)
    bidirectional: bool = True
    dropout: float = 0.5  # on the joined inputs, between layers, and on the recurrent output
    weight_drop: float = 0.0  # DropConnect on the recurrent matrices W_hh, one mask per batch
    dtype: str = "float32"
    residual: bool = False  # input added to output from the second stacked layer on (GNMT); needs num_layers >= 2
    peephole: bool = False  # LSTM only: peephole connections (weight_ci, weight_cf, weight_co; Graves 2013)
    layer_norm: bool = False  # Elman RNN, LSTM and GRU: layer normalization in the cells (Ba, Kiros & Hinton 2016)

    def __post_init__(self) -> None:
        # ints, not int() of whatever came: (2.7,) was read as (2,) and ("12",) as (12,)
        object.__setattr__(self, "feature_vocab_sizes", check_int_sequence("feature_vocab_sizes",
                                                                           self.feature_vocab_sizes, 1))
        if self.output not in OUTPUTS:
            raise ValueError(f"Expected output one of {OUTPUTS}, got {self.output!r}")
        if self.char_encoder not in CHAR_ENCODERS:
            raise ValueError(f"Expected char_encoder one of {CHAR_ENCODERS}, got {self.char_encoder!r}")
        if self.cell not in ("rnn", "lstm", "gru"):
            raise ValueError(f"Expected cell 'rnn', 'lstm' or 'gru', got {self.cell!r}")
        check_bool("bidirectional", self.bidirectional)
        object.__setattr__(self, "residual", check_bool("residual", self.residual))
        object.__setattr__(self, "peephole", check_bool("peephole", self.peephole))
        object.__setattr__(self, "layer_norm", check_bool("layer_norm", self.layer_norm))
        for name in ("vocab_size", "num_tags", "embedding_dim", "hidden_size", "num_layers"):
            check_int(name, getattr(self, name), 1)
        for name in ("char_vocab_size", "bigram_vocab_size"):  # 0: that input part is off
            check_int(name, getattr(self, name), 0)
        # the sizes of each input part in use (an unused part's sizes are never read)
        char_sizes = ("char_filters", "char_window") if self.char_encoder == "cnn" else ("char_hidden",)
        sizes = ((self.char_vocab_size, ("char_embedding_dim", *char_sizes)),
                 (self.bigram_vocab_size, ("bigram_embedding_dim",)),
                 (self.feature_vocab_sizes, ("feature_embedding_dim",)))
        for used, names in sizes:
            for name in names if used else ():
                check_int(name, getattr(self, name), 1)
        object.__setattr__(self, "dtype", check_dtype_name("dtype", self.dtype))
        for name in ("dropout", "weight_drop"):
            check_rate(name, getattr(self, name))
        if self.char_dropout is not None:
            check_rate("char_dropout", self.char_dropout)

    @property
    def input_size(self) -> int:
        """D, the width of the joined input x_t."""
        d = self.embedding_dim
        d += self.char_width if self.char_vocab_size else 0
        d += 2 * self.bigram_embedding_dim if self.bigram_vocab_size else 0
        return d + self.feature_embedding_dim * len(self.feature_vocab_sizes)

    @property
    def char_width(self) -> int:
        """Width of a word's character features: 2 Hc (BiLSTM) or F (CNN)."""
        return self.char_filters if self.char_encoder == "cnn" else 2 * self.char_hidden

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-safe dict (``feature_vocab_sizes`` as a list)."""
        d = asdict(self)
        d["feature_vocab_sizes"] = list(self.feature_vocab_sizes)
        return d


@fields_in_doc
class TaggerBatch(NamedTuple):
    """One padded batch of B sentences, time-major."""

    words: np.ndarray  # (T, B) word ids
    lengths: np.ndarray  # (B,) real tokens per sentence
    chars: CharBatch | None = None  # distinct words' characters, with char features
    bigrams: np.ndarray | None = None  # (T, B, 2) ids of the right and left character bigram
    features: np.ndarray | None = None  # (T, B, F) ids of the extra input columns
    tags: np.ndarray | None = None  # (T, B) gold tag ids, any value at padding


def _check_batch_type(batch: Any) -> None:
    if not isinstance(batch, TaggerBatch):
        hint = " (for a tuple, pass TaggerBatch(words, lengths, tags=tags))" if isinstance(batch, tuple) else ""
        raise TypeError(f"Expected batch to be a TaggerBatch{hint}, got {type(batch).__name__}")


class TaggerCache(NamedTuple):
    """What the backward needs: made by :meth:`Tagger.scores`, the loss's part added by :meth:`Tagger.loss`."""

    parts: list  # (name, width, cache) of every input part
    drop_in: Any
    rnn: Any
    drop_out: Any
    linear: Any
    loss: Any
    mask: np.ndarray  # (T, B)


class Tagger:
    """The tagger; ``params`` is one flat dict of named arrays (see the module docstring)."""

    def __init__(self, config: TaggerConfig, rng: np.random.Generator) -> None:
        cfg = check_config(config, TaggerConfig)
        check_rng(rng)
        self.config = cfg
        dtype = np.dtype(cfg.dtype)
        self.params: dict[str, np.ndarray] = {}

        def table(name: str, rows: int, dim: int) -> None:
            # U(-sqrt(3/dim), sqrt(3/dim)): unit-variance rows' norm ~1 (Lample et al. 2016)
            self.params[name] = uniform_((rows, dim), float(np.sqrt(3.0 / dim)), rng, dtype)

        table("embedding.weight", cfg.vocab_size, cfg.embedding_dim)
        self.char_rnn: Any = None  # an LSTM
        if cfg.char_vocab_size:
            table("char_embedding.weight", cfg.char_vocab_size, cfg.char_embedding_dim)
        if cfg.char_vocab_size and cfg.char_encoder == "cnn":
            for k, v in init_char_cnn(cfg.char_embedding_dim, cfg.char_filters, cfg.char_window, cfg.dtype,
                                      rng).items():
                self.params["char_cnn." + k] = v
        elif cfg.char_vocab_size:
            self.char_rnn = make_char_lstm(cfg.char_embedding_dim, cfg.char_hidden, cfg.dtype, rng)
            for k, v in self.char_rnn.params.items():
                self.params["char_rnn." + k] = v  # the same arrays: updates reach the layer
        if cfg.bigram_vocab_size:
            table("bigram_embedding.weight", cfg.bigram_vocab_size, cfg.bigram_embedding_dim)
        for i, size in enumerate(cfg.feature_vocab_sizes):
            table(f"feature_embedding.{i}.weight", size, cfg.feature_embedding_dim)
        self.rnn = make_recurrent({"cell": cfg.cell, "input_size": cfg.input_size, "hidden_size": cfg.hidden_size,
                                   "num_layers": cfg.num_layers, "bidirectional": cfg.bidirectional,
                                   "dropout": cfg.dropout if cfg.num_layers > 1 else 0.0,
                                   "weight_drop": cfg.weight_drop, "residual": cfg.residual, "peephole": cfg.peephole,
                                   "layer_norm": cfg.layer_norm, "dtype": cfg.dtype}, rng)
        for k, v in self.rnn.params.items():
            self.params["rnn." + k] = v
        width = self.rnn.num_directions * cfg.hidden_size  # 2H, or H with one direction
        bound = 1.0 / np.sqrt(width)
        self.params["output.weight"] = uniform_((cfg.num_tags, width), bound, rng, dtype)
        self.params["output.bias"] = uniform_((cfg.num_tags,), bound, rng, dtype)
        if cfg.output == "crf":
            for k, v in init_crf_params(cfg.num_tags, rng, dtype=dtype).items():
                self.params["crf." + k] = v

    # ------------------------------------------------------------------ helpers
    def _crf(self) -> dict[str, np.ndarray]:
        return {k[4:]: v for k, v in self.params.items() if k.startswith("crf.")}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place, checking names and shapes."""
        copy_into(self.params, arrays, "the tagger's")

    def _check_batch(self, batch: TaggerBatch) -> TaggerBatch:
        """The batch with its lengths as an int64 array (a list of ints is taken), after checking it."""
        _check_batch_type(batch)
        cfg = self.config
        words = batch.words
        if not (isinstance(words, np.ndarray) and words.ndim == 2):
            raise ValueError(f"Expected words of shape (T, B), got {getattr(words, 'shape', type(words).__name__)}")
        T, B = words.shape
        if batch.lengths is None:
            raise TypeError(f"Expected batch.lengths (B,) = ({B},), got None")
        found = resolve_lengths(T, B, lengths=batch.lengths)  # ints (or lists of them) between 1 and T
        batch = batch._replace(lengths=np.full(B, T, dtype=np.int64) if found is None else found)
        for name in ("bigrams", "features", "tags"):
            array = getattr(batch, name)
            if array is not None and not isinstance(array, np.ndarray):
                raise TypeError(f"Expected batch.{name} to be a numpy array, got {type(array).__name__}")
        checks = [("chars", batch.chars is not None, cfg.char_vocab_size > 0),
                  ("bigrams", batch.bigrams is not None, cfg.bigram_vocab_size > 0),
                  ("features", batch.features is not None, len(cfg.feature_vocab_sizes) > 0)]
        for name, given, needed in checks:
            if given != needed:
                raise ValueError(f"Expected batch.{name} {'given' if needed else 'None'} for this model, "
                                 f"got {'an array' if given else 'None'}")
        if batch.bigrams is not None and batch.bigrams.shape != (T, B, 2):
            raise ValueError(f"Expected bigrams of shape (T, B, 2) = {(T, B, 2)}, got {batch.bigrams.shape}")
        F = len(cfg.feature_vocab_sizes)
        if batch.features is not None and batch.features.shape != (T, B, F):
            raise ValueError(f"Expected features of shape (T, B, F) = {(T, B, F)}, got {batch.features.shape}")
        return batch

    # ------------------------------------------------------------------ forward / backward
    def scores(self, batch: TaggerBatch, training: bool = False,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, TaggerCache]:
        """Emission scores (T, B, K) of a batch and the cache for :meth:`scores_backward`."""
        cfg = self.config
        P = self.params
        batch = self._check_batch(batch)
        T, B = batch.words.shape
        mask = np.arange(T)[:, None] < batch.lengths[None, :]  # (T, B)
        parts = []
        x, c = embedding_forward(batch.words, P["embedding.weight"])  # (T, B, E)
        parts.append(("word", x, c))
        if cfg.char_vocab_size and cfg.char_encoder == "cnn":  # dropout on the characters (Ma & Hovy)
            rate = cfg.dropout if cfg.char_dropout is None else cfg.char_dropout
            x, c = char_cnn_forward(batch.chars, mask, P["char_embedding.weight"], P["char_cnn.weight"],
                                    P["char_cnn.bias"], rate, rng, training)
            parts.append(("char_cnn", x, c))  # (T, B, F)
        elif cfg.char_vocab_size:
            x, c = char_features_forward(batch.chars, mask, P["char_embedding.weight"], self.char_rnn)
            parts.append(("char", x, c))  # (T, B, 2 Hc)
        if cfg.bigram_vocab_size:
            x, c = embedding_forward(batch.bigrams, P["bigram_embedding.weight"])  # (T, B, 2, Eb)
            parts.append(("bigram", x.reshape(T, B, -1), c))
        for i in range(len(cfg.feature_vocab_sizes)):
            x, c = embedding_forward(batch.features[:, :, i], P[f"feature_embedding.{i}.weight"])  # (T, B, Ef)
            parts.append((f"feature_embedding.{i}", x, c))
        x = np.concatenate([p[1] for p in parts], axis=-1)  # (T, B, D)
        x, c_in = dropout_forward(x, cfg.dropout, rng, training)
        h, _, c_rnn = self.rnn.forward(x, lengths=batch.lengths, training=training, rng=rng)  # (T, B, dirs H)
        h, c_out = dropout_forward(h, cfg.dropout, rng, training)
        s, c_lin = linear_forward(h, P["output.weight"], P["output.bias"])  # (T, B, K)
        part_info = [(name, x.shape[-1], c) for name, x, c in parts]
        return s, TaggerCache(part_info, c_in, c_rnn, c_out, c_lin, None, mask)

    def scores_backward(self, ds: np.ndarray, cache: TaggerCache) -> dict[str, np.ndarray]:
        """Gradients of every parameter given dL/d(emission scores) (T, B, K)."""
        grads: dict[str, np.ndarray] = {}
        dh, g = linear_backward(ds, cache.linear)  # (T, B, dirs H)
        grads["output.weight"] = g["weight"]
        grads["output.bias"] = g["bias"]
        dh, _ = dropout_backward(dh, cache.drop_out)
        dx, _, g = self.rnn.backward(dh, None, cache.rnn)  # (T, B, D)
        grads.update({"rnn." + k: v for k, v in g.items()})
        dx, _ = dropout_backward(dx, cache.drop_in)
        start = 0
        for name, width, c in cache.parts:
            dpart = dx[:, :, start : start + width]  # (T, B, width)
            start += width
            if name == "char":
                g = char_features_backward(dpart, c, self.char_rnn)
                grads["char_embedding.weight"] = g.pop("weight")
                grads.update({"char_rnn." + k: v for k, v in g.items()})
            elif name == "char_cnn":
                g = char_cnn_backward(dpart, c, self.params["char_cnn.weight"])
                grads["char_embedding.weight"] = g.pop("weight")
                grads.update({{"conv.weight": "char_cnn.weight", "conv.bias": "char_cnn.bias"}[k]: v
                              for k, v in g.items()})
            elif name == "bigram":
                _, g = embedding_backward(dpart.reshape(dpart.shape[:2] + (2, -1)), c)
                grads["bigram_embedding.weight"] = g["weight"]
            else:
                _, g = embedding_backward(np.ascontiguousarray(dpart), c)
                grads["embedding.weight" if name == "word" else name + ".weight"] = g["weight"]
        return grads

    def loss(self, batch: TaggerBatch, training: bool = False,
             rng: np.random.Generator | None = None) -> tuple[float, TaggerCache]:
        """Summed loss of the batch's gold tags: token NLL (softmax) or sentence NLL (CRF)."""
        _check_batch_type(batch)  # first: a tuple (words, lengths) has no .tags to look at
        if batch.tags is None:
            raise ValueError("Expected batch.tags (T, B) to compute a loss, got None")
        s, cache = self.scores(batch, training, rng)
        if self.config.output == "crf":
            loss, c = crf_nll(s, batch.tags, batch.lengths, self._crf(), reduction="sum")
        else:
            loss, c = softmax_cross_entropy(s, batch.tags, cache.mask, reduction="sum")
        return float(loss), cache._replace(loss=c)

    def backward(self, dloss: float, cache: TaggerCache) -> dict[str, np.ndarray]:
        """Gradients of ``dloss * loss`` for every parameter, keyed like ``params``."""
        if self.config.output == "crf":
            ds, g = crf_nll_backward(dloss, cache.loss)
            crf_grads = {"crf." + k: v for k, v in g.items()}
        else:
            ds = softmax_cross_entropy_backward(dloss, cache.loss)
            crf_grads = {}
        grads = self.scores_backward(ds, cache)
        grads.update(crf_grads)
        return grads

    # ------------------------------------------------------------------ prediction
    def chain(self, s: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The linear chain whose best path :meth:`predict` returns, as ``(emissions, crf params)``:
        the CRF's own, or for softmax ``log softmax(s)`` with zero transitions, i.e. the product of the
        tokens' softmax probabilities (with ``allowed``: renormalised over legal sequences).  ``s``: (T, B, K)."""
        if self.config.output == "crf":  # the parameters in the scores' dtype (float64 for probabilities)
            return s, {k: v.astype(s.dtype, copy=False) for k, v in self._crf().items()}
        K = s.shape[-1]
        zero = {"transitions": np.zeros((K, K), s.dtype), "start_transitions": np.zeros(K, s.dtype),
                "end_transitions": np.zeros(K, s.dtype)}
        return log_softmax(s), zero

    def decode(self, s: np.ndarray, lengths: np.ndarray, allowed: tuple | None = None,
               tag_mask: np.ndarray | None = None) -> list[list[int]]:
        """Best tag ids given emission scores (T, B, K): argmax (softmax without ``allowed`` or
        ``tag_mask``) or Viterbi; ``tag_mask`` (T, B, K) bool: the tags each step may take
        (:func:`rnnkit.crf.viterbi_decode`)."""
        if self.config.output == "softmax" and allowed is None and tag_mask is None:
            best = s.argmax(axis=-1)  # (T, B)
            return [best[: lengths[b], b].tolist() for b in range(s.shape[1])]
        emissions, params = self.chain(s)
        paths, _ = viterbi_decode(emissions, lengths, params, allowed, tag_mask)
        return paths

    def predict(self, batch: TaggerBatch, allowed: tuple | None = None,
                tag_mask: np.ndarray | None = None) -> list[list[int]]:
        """Best tag ids of every sentence: argmax or Viterbi; legal sequences only with ``allowed``, and
        only the tags ``tag_mask`` (T, B, K) allows at each step."""
        s, cache = self.scores(batch)  # (T, B, K)
        return self.decode(s, cache.mask.sum(axis=0), allowed, tag_mask)

    def marginals(self, batch: TaggerBatch, allowed: tuple | None = None) -> np.ndarray:
        """``P(y_t = k | sentence)`` (T, B, K) float64, zero at padding, under the distribution whose best
        path :meth:`predict` returns: the CRF's (:func:`rnnkit.crf.crf_marginals`); for softmax the
        token's softmax, or with ``allowed`` the product of softmaxes renormalised over legal sequences."""
        s, cache = self.scores(batch)  # (T, B, K)
        emissions, params = self.chain(s.astype(np.float64))
        return crf_marginals(emissions, cache.mask.sum(axis=0), params, allowed)

    def nbest(self, batch: TaggerBatch, n: int, allowed: tuple | None = None) -> list[list[tuple[list[int], float]]]:
        """The ``n`` most probable tag-id sequences of every sentence with their log-probabilities, best
        first (:func:`rnnkit.crf_nbest.crf_nbest` on :meth:`chain`, in float64)."""
        s, cache = self.scores(batch)  # (T, B, K)
        emissions, params = self.chain(s.astype(np.float64))
        return crf_nbest(emissions, cache.mask.sum(axis=0), params, n, allowed)
