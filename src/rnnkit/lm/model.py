r"""Recurrent language model: embedding -> stacked RNN/LSTM/GRU -> output layer -> softmax.

For token ids x_1..x_T (T, B) and next tokens y_t = x_{t+1}::

    e_t = E[x_t]                       # (B, E)  embedding, dropout p_in
    h_t = RNN(e_t, h_{t-1})            # (B, H)  stacked cells, dropout p_hid between layers,
                                       #         optional DropConnect on W_hh (weight_drop); with
                                       #         residual, layer l >= 2 adds its input to its output
    o_t = dropout(h_t, p_out)          # (B, H)  the last layer's outputs
    P(y_t | x_<=t) = softmax(W o_t + b)   (full), class-factorised (class_softmax) or adaptive (adaptive_softmax)
    loss = - sum_t sum_b log P(y_t | ...)           # summed; callers scale it

Dropout (training only) multiplies by a mask of Bernoulli(1 - p) / (1 - p); with ``variational`` one
mask per sequence is shared by all its time steps, at the embedding, between layers and at the output.

Parameters form one flat dict with dotted names: ``embedding.weight`` (V, E), ``rnn.weight_ih_l0``
... (PyTorch's names), ``decoder.weight`` (V, H) and ``decoder.bias`` (V,), or for the class-based
output ``decoder.class_weight`` (C, H), ``decoder.class_bias`` (C,), ``decoder.weight``,
``decoder.bias``, or for the adaptive one ``decoder.head.weight``, ``decoder.head.bias`` and
``decoder.tail.{i}.{0,1}.weight`` (torch.nn.AdaptiveLogSoftmaxWithLoss's names).  With
``tie_weights`` the decoder reuses ``embedding.weight`` (needs E = H) and has no ``decoder.weight``
of its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checkpoint_task import copy_into
from rnnkit.checks import (check_array, check_bool, check_config, check_dtype_name, check_int, check_number, check_rate,
                           check_rng)
from rnnkit.fielddoc import fields_in_doc
from rnnkit.init import MAX_INIT_SCALE
from rnnkit.lm.adaptive_softmax import AdaptiveSoftmax, check_cutoffs, default_cutoffs
from rnnkit.lm.class_softmax import ClassSoftmax
from rnnkit.nn.dropout import dropout_backward, dropout_forward, variational_dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.nn.linear_softmax import LinearCrossEntropy
from rnnkit.nn.softmax import check_targets, log_softmax, log_softmax_at
from rnnkit.recurrent import make_recurrent


@fields_in_doc
@dataclass(frozen=True)
class LMConfig:
    """Sizes, cell, dropout and output layer of a :class:`LanguageModel`."""

    vocab_size: int  # V
    cell: str = "lstm"  # rnn, lstm or gru
    embedding_dim: int = 200  # E
    hidden_size: int = 200  # H
    num_layers: int = 2
    dropout_input: float = 0.0  # on the embeddings
    dropout_hidden: float = 0.0  # between recurrent layers
    dropout_output: float = 0.0  # on the last layer's outputs, before the softmax
    variational: bool = False  # one dropout mask per sequence, shared across time
    weight_drop: float = 0.0  # DropConnect on the recurrent matrices W_hh (AWD-LSTM), one mask per window
    tie_weights: bool = False  # decoder.weight is embedding.weight (needs E == H)
    softmax: str = "full"  # "full", "class" (Mikolov's frequency classes) or "adaptive" (Grave et al.)
    num_classes: int = 0  # C asked of frequency_classes for the class softmax (0 = about sqrt(V)); the model's
    #                       classes are its word_classes, which may be fewer (frequency_classes merges bins)
    cutoffs: tuple[int, ...] = ()  # adaptive softmax: shortlist size and tail cluster bounds (ids by frequency)
    div_value: float = 4.0  # adaptive softmax: inner size of tail cluster i is H / div_value**(i+1)
    init_scale: float | None = None  # U(-s, s) for every parameter but LN's (Zaremba: 0.1); None = defaults
    dtype: str = "float32"
    residual: bool = False  # input added to output from the second stacked layer on (GNMT); needs num_layers >= 2
    peephole: bool = False  # LSTM only: peephole connections (weight_ci, weight_cf, weight_co; Graves 2013)
    layer_norm: bool = False  # Elman RNN, LSTM and GRU: layer normalization in the cells (Ba, Kiros & Hinton 2016)

    def __post_init__(self) -> None:
        # every value is stored as the plain Python type, so that to_dict() stays JSON (a checkpoint's metadata)
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_layers"):
            put(name, check_int(name, getattr(self, name), 1))
        put("num_classes", check_int("num_classes", self.num_classes, 0))
        for name in ("dropout_input", "dropout_hidden", "dropout_output", "weight_drop"):
            put(name, check_rate(name, getattr(self, name)))
        for name in ("variational", "tie_weights", "residual", "peephole", "layer_norm"):
            put(name, check_bool(name, getattr(self, name)))
        put("div_value", check_number("div_value", self.div_value))
        put("dtype", check_dtype_name("dtype", self.dtype))  # np.float64 too, kept as its name
        s = self.init_scale
        if s is not None:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, float, np.integer, np.floating)):
                raise TypeError(f"Expected init_scale to be a number or None, got {type(s).__name__} {s!r}")
            # only > 0 and finite here: the bound MAX_INIT_SCALE is a rule for drawing new weights, checked
            # by LanguageModel, so a checkpoint trained under a larger bound still loads
            if not 0 < s < np.inf:
                raise ValueError(f"Expected init_scale to be a finite number > 0 (Zaremba: 0.1) or None, got {s!r}")
            put("init_scale", float(s))
        cut = self.cutoffs  # a tuple; a JSON list after a checkpoint
        empty = hasattr(cut, "__len__") and not isinstance(cut, (str, bytes)) and len(cut) == 0
        put("cutoffs", () if empty else check_cutoffs(cut, self.vocab_size))
        # options of another output layer would be ignored: refuse them, as the command line does
        if self.cutoffs and self.softmax != "adaptive":
            raise ValueError(f"Expected cutoffs only with softmax 'adaptive' (they shape its clusters), got "
                             f"{list(self.cutoffs)} with softmax {self.softmax!r}: drop them or change softmax")
        if self.num_classes and self.softmax != "class":
            raise ValueError(f"Expected num_classes only with softmax 'class' (0 otherwise), got {self.num_classes} "
                             f"with softmax {self.softmax!r}: drop it or change softmax")

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields (JSON-safe: every value is a plain Python type)."""
        return asdict(self)


def _check_ids_shape(ids: Any) -> tuple[int, int]:
    """(T, B) of ids, which must be a (T, B) array (embedding_forward checks their dtype and range)."""
    check_array("ids", ids)
    if not isinstance(ids, np.ndarray) or ids.ndim != 2:
        raise ValueError(f"Expected ids of shape (T, B), got {getattr(ids, 'shape', type(ids).__name__)}")
    return ids.shape


class LMCache(NamedTuple):
    """What :meth:`LanguageModel.backward` needs from :meth:`LanguageModel.forward`."""

    emb: Any
    drop_in: Any
    rnn: Any
    drop_out: Any
    out: Any  # decoder cache (linear + cross-entropy, or class softmax)
    shape: tuple[int, int]


class LanguageModel:
    """A word- or character-level recurrent language model (equations and parameter names: the module
    docstring).

    ``LanguageModel(config, rng, word_classes=None)``: ``rng`` (a numpy Generator) draws the initial
    weights; ``word_classes`` (V,) int, every word's class id, is needed exactly when
    ``config.softmax == "class"`` (:func:`rnnkit.lm.class_softmax.frequency_classes` makes it; a vocabulary
    renumbered so that each class's words are contiguous, :func:`~rnnkit.lm.class_softmax.class_ordered_ids`,
    makes the class softmax faster).
    """

    def __init__(self, config: LMConfig, rng: np.random.Generator,
                 word_classes: np.ndarray | None = None) -> None:
        cfg = check_config(config, LMConfig)
        check_rng(rng)
        if cfg.init_scale is not None and cfg.init_scale > MAX_INIT_SCALE:  # 1e300 is inf in float32, 1e30 overflows
            raise ValueError(f"Expected init_scale to be a number in (0, {MAX_INIT_SCALE:g}] (Zaremba: 0.1) or None "
                             f"to draw the initial weights, got {cfg.init_scale!r}")
        if cfg.softmax not in ("full", "class", "adaptive"):
            raise ValueError(f"Expected softmax 'full', 'class' or 'adaptive', got {cfg.softmax!r}")
        if cfg.tie_weights and cfg.softmax == "adaptive":
            raise ValueError("Expected softmax 'full' or 'class' to tie weights (the adaptive softmax has no (V, H) "
                             "output matrix to share), got 'adaptive': drop tie_weights (--tie) or change softmax "
                             "(--softmax)")
        if cfg.tie_weights and cfg.embedding_dim != cfg.hidden_size:
            raise ValueError(
                f"Expected embedding_dim == hidden_size to tie weights, got {cfg.embedding_dim} and {cfg.hidden_size}"
            )
        if cfg.softmax == "class" and word_classes is None:
            raise ValueError("Expected word_classes (V,) for the class-based softmax, got None")
        if cfg.softmax != "class" and word_classes is not None:
            raise ValueError(f"Expected word_classes only with softmax 'class' (they would be ignored), got them with "
                             f"softmax {cfg.softmax!r}: drop them or change softmax")
        if cfg.softmax == "adaptive" and not cfg.cutoffs:
            # record the default's values, so a checkpoint does not depend on a later version's default
            cfg = replace(cfg, cutoffs=default_cutoffs(cfg.vocab_size))
        self.config = cfg
        dtype = np.dtype(cfg.dtype)
        self.rnn = make_recurrent(
            {
                "cell": cfg.cell,
                "input_size": cfg.embedding_dim,
                "hidden_size": cfg.hidden_size,
                "num_layers": cfg.num_layers,
                # between layers only (the model's own dropout acts on the input and output)
                "dropout": cfg.dropout_hidden if cfg.num_layers > 1 else 0.0,
                "variational_dropout": cfg.variational and cfg.num_layers > 1 and cfg.dropout_hidden > 0,
                "weight_drop": cfg.weight_drop,
                "residual": cfg.residual,
                "peephole": cfg.peephole,
                "layer_norm": cfg.layer_norm,
                "dtype": cfg.dtype,
            },
            rng=rng,
        )
        V, E, H = cfg.vocab_size, cfg.embedding_dim, cfg.hidden_size
        self.params: dict[str, np.ndarray] = {"embedding.weight": rng.standard_normal((V, E)).astype(dtype)}
        for k, v in self.rnn.params.items():
            self.params["rnn." + k] = v  # the same arrays: in-place updates reach the layer
        # a factorised output (class or adaptive softmax: loss, loss_backward, log_probs), or None
        self.factored: ClassSoftmax | AdaptiveSoftmax | None = None
        self._output = LinearCrossEntropy()  # the full softmax's decoder and loss
        bound = 1.0 / np.sqrt(H)
        if cfg.softmax == "class":
            self.factored = ClassSoftmax(word_classes, cfg.vocab_size)
            if cfg.num_classes and self.factored.num_classes > cfg.num_classes:
                raise ValueError(f"Expected word_classes of at most num_classes={cfg.num_classes} classes, got "
                                 f"{self.factored.num_classes}")
            self.word_classes = np.asarray(word_classes, dtype=np.int64)
            dec = ClassSoftmax.init_params(V, self.factored.num_classes, H, rng, dtype=dtype)
            for k, v in dec.items():
                self.params["decoder." + k] = v
        elif cfg.softmax == "adaptive":
            self.factored = AdaptiveSoftmax(V, H, cfg.cutoffs, cfg.div_value)
            for k, v in self.factored.init_params(rng, dtype=dtype).items():
                self.params["decoder." + k] = v
        else:
            self.params["decoder.weight"] = rng.uniform(-bound, bound, (V, H)).astype(dtype)
            self.params["decoder.bias"] = np.zeros(V, dtype)
        if cfg.tie_weights:
            del self.params["decoder.weight"]
        if cfg.init_scale is not None:
            for k, v in self.params.items():
                if k.startswith("rnn.ln_"):  # LN gains stay 1 and shifts 0: a gain drawn near 0 would silence a unit
                    continue
                v[...] = rng.uniform(-cfg.init_scale, cfg.init_scale, v.shape)

    # ------------------------------------------------------------------ helpers
    def _decoder(self) -> dict[str, np.ndarray]:
        """The decoder's parameters under the names its functions use (tying resolved)."""
        p = {k[len("decoder."):]: v for k, v in self.params.items() if k.startswith("decoder.")}
        if self.config.tie_weights:
            p["weight"] = self.params["embedding.weight"]
        return p

    def initial_state(self, batch_size: int) -> Any:
        """Zero state for ``batch_size`` streams: (L, B, H), a pair (h, c) for an LSTM."""
        cfg = self.config
        batch_size = check_int("batch_size", batch_size, 1)
        shape = (cfg.num_layers, batch_size, cfg.hidden_size)
        z = np.zeros(shape, np.dtype(cfg.dtype))
        return (z, z.copy()) if cfg.cell == "lstm" else z

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place, checking names and shapes."""
        copy_into(self.params, arrays, "the language model's")

    # ------------------------------------------------------------------ training
    def forward(self, ids: np.ndarray, targets: np.ndarray, state: Any = None, mask: np.ndarray | None = None,
                training: bool = False, rng: np.random.Generator | None = None) -> tuple[float, Any, LMCache]:
        """Summed NLL of targets (T, B) after reading ids (T, B) from state; returns (loss, state, cache).

        ``ids`` and ``targets`` are (T, B) int arrays (targets usually ids shifted by one step);
        ``state``: the recurrent state to start from (the returned one carries to the next window;
        None starts from zeros), ``(L, B, H)`` or for an LSTM a tuple ``(h, c)``; ``mask`` (T, B) bool
        leaves False positions out of the loss.  ``training`` turns dropout on, drawn from ``rng`` (a
        numpy Generator, needed then).  The loss is summed over the tokens: divide ``dloss`` by their
        count for a mean.
        """
        cfg = self.config
        T, B = _check_ids_shape(ids)
        for name, a in (("targets", targets), ("mask", mask)):
            # the factored outputs see them flattened, where (B, T) would pass for (T, B)
            if a is not None and np.shape(a) != (T, B):
                raise ValueError(f"Expected {name} of shape ({T}, {B}) (the ids'), got {np.shape(a)}")
        emb, c_emb = embedding_forward(ids, self.params["embedding.weight"])  # (T, B, E)
        drop = variational_dropout_forward if cfg.variational else dropout_forward
        emb, c_in = drop(emb, cfg.dropout_input, rng, training)
        out, state, c_rnn = self.rnn.forward(emb, state=state, training=training, rng=rng)  # (T, B, H)
        out, c_out = drop(out, cfg.dropout_output, rng, training)
        dec = self._decoder()
        if self.factored is not None:
            loss, c_dec = self.factored.loss(dec, out.reshape(T * B, -1), targets.reshape(-1),
                                             None if mask is None else mask.reshape(-1))
        else:
            # fused output layer and loss: one (T*B, V) buffer kept between steps
            loss, c_dec = self._output.forward(out, dec["weight"], dec["bias"], targets, mask)
        return loss, state, LMCache(c_emb, c_in, c_rnn, c_out, c_dec, (T, B))

    def backward(self, dloss: float, cache: LMCache, sparse_embedding: bool = False) -> dict[str, Any]:
        """Gradients of dloss * loss for every parameter (the state entering the window is detached).

        ``sparse_embedding``: return ``embedding.weight``'s gradient as a
        :class:`~rnnkit.row_sparse.RowSparseGrad` of the rows the window read (the optimizers and
        clipping accept it; plain SGD then updates only those rows).  Ignored with tied weights,
        whose decoder gradient fills every row.
        """
        T, B = cache.shape
        dec = self._decoder()
        grads: dict[str, np.ndarray] = {}
        if self.factored is not None:
            dh, gdec = self.factored.loss_backward(dec, dloss, cache.out)
        else:
            dh, gdec = self._output.backward(dloss, cache.out)
        dh, _ = dropout_backward(dh.reshape(T, B, -1), cache.drop_out)
        demb, _, grnn = self.rnn.backward(dh, None, cache.rnn)
        demb, _ = dropout_backward(demb, cache.drop_in)
        _, gemb = embedding_backward(demb, cache.emb, sparse=sparse_embedding and not self.config.tie_weights)
        grads["embedding.weight"] = gemb["weight"]
        for k, v in gdec.items():
            if k == "weight" and self.config.tie_weights:
                grads["embedding.weight"] += v
            else:
                grads["decoder." + k] = v
        for k, v in grnn.items():
            grads["rnn." + k] = v
        return grads

    # ------------------------------------------------------------------ inference
    def step_log_probs(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """Read ids (T, B) from state; return log P(next | ...) after the last step (B, V) and the state."""
        _check_ids_shape(ids)
        emb, _ = embedding_forward(ids, self.params["embedding.weight"])
        out, state, _ = self.rnn.forward(emb, state=state)
        h = out[-1]  # (B, H)
        dec = self._decoder()
        if self.factored is not None:
            return self.factored.log_probs(dec, h), state
        return log_softmax(h @ dec["weight"].T + dec["bias"]), state  # (B, V)

    def token_log_probs(self, ids: np.ndarray, targets: np.ndarray, state: Any = None,
                        rows: int = 1024) -> tuple[np.ndarray, Any]:
        """log P(targets[t, b] | ids[:t+1, b]) (T, B), in the model's dtype, after reading ids (T, B) from state;
        and the state.

        Exact for every output layer (the factorised ones through their full ``log_probs``); the
        (N, V) log-probabilities are formed ``rows`` positions at a time.
        """
        T, B = _check_ids_shape(ids)
        # as forward() checks them: integers of the ids' shape, each in [0, V) (a -1 would wrap to V - 1)
        flat, _ = check_targets(targets, None, (T, B), self.config.vocab_size, "the ids'")  # (N,)
        rows = check_int("rows", rows, 1)
        emb, _ = embedding_forward(ids, self.params["embedding.weight"])  # (T, B, E)
        out, state, _ = self.rnn.forward(emb, state=state)  # (T, B, H)
        h = out.reshape(T * B, -1)  # (N, H)
        dec = self._decoder()
        result = np.empty(T * B, dtype=h.dtype)  # the model's dtype, as step_log_probs'; callers sum in float64
        for a in range(0, T * B, rows):
            hb = h[a : a + rows]
            if self.factored is not None:
                logp = self.factored.log_probs(dec, hb)  # (n, V)
                result[a : a + hb.shape[0]] = logp[np.arange(hb.shape[0]), flat[a : a + rows]]
            else:
                z = hb @ dec["weight"].T  # (n, V)
                z += dec["bias"]
                result[a : a + hb.shape[0]] = log_softmax_at(z, flat[a : a + rows])
        return result.reshape(T, B), state
