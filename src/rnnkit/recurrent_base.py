"""The engine of the recurrent layers (:class:`rnnkit.recurrent.RNN`, ``LSTM``, ``GRU``): :class:`Recurrent`
holds a stack's parameters and runs every layer and direction over the cell kernels (:mod:`rnnkit.cells`),
forward and backward.  Shapes, parameter names, the learned initial state and weight drop are described
once, in :mod:`rnnkit.recurrent`, the module users import the layers from."""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit import packing
from rnnkit.cells.layout import init_param, kernel, layer_shapes
from rnnkit.cells._checks import check_float_array
from rnnkit.checks import check_array, check_int, check_rng
from rnnkit.errors import NonFiniteError
from rnnkit.init import check_forget_bias
from rnnkit.nn.dropout import scaled_keep_mask
from rnnkit.recurrent_cache import LayerCache, RecurrentCache
from rnnkit.recurrent_checks import (check_batch_first, check_input, check_layer_options, layer_weights, split_state,
                                     warn_no_effect)
from rnnkit.recurrent_config import RecurrentConfig

class Recurrent:
    """Base of :class:`RNN`, :class:`LSTM` and :class:`GRU`; use those."""

    cell = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        variational_dropout: bool = False,
        weight_drop: float = 0.0,
        nonlinearity: str = "tanh",
        learn_init: bool = False,
        tbptt: int | None = None,
        dtype: Any = np.float32,
        init: str = "pytorch",
        init_scale: float | None = None,
        forget_bias: float | None = None,
        residual: bool = False,
        peephole: bool = False,
        layer_norm: bool = False,
        rng: np.random.Generator | None = None,
        batch_first: bool = False,
    ) -> None:
        """A stack of ``num_layers`` layers of ``hidden_size`` units over inputs of ``input_size`` (D).

        - ``bidirectional``: a reverse direction per layer, its outputs concatenated (2H); it reads only
          each sequence's real tokens.
        - ``dropout``: on the input of every layer but the first, in training only (as PyTorch's);
          ``variational_dropout``: one mask per sequence, shared by all its time steps.
        - ``weight_drop``: DropConnect on every ``weight_hh``, one mask per forward call (AWD-LSTM).
        - ``nonlinearity``: ``"tanh"`` or ``"relu"``, the Elman RNN's only.
        - ``learn_init``: the initial state is a parameter (``h0_l0`` ...), not zeros.
        - ``tbptt``: cut the gradient every ``tbptt`` steps (truncated BPTT); None, full BPTT.
        - ``dtype``: float32 or float64, of the parameters and of the inputs ``forward`` takes.
        - ``init``: ``"pytorch"`` (U(-1/sqrt(H), 1/sqrt(H))), ``"uniform"`` (U(-init_scale, init_scale)),
          ``"orthogonal"`` or ``"xavier"`` (:mod:`rnnkit.init`); ``forget_bias``: the LSTM's total
          forget-gate bias b_if + b_hf.
        - ``residual``: residual connections between stacked layers (Wu et al. 2016, GNMT): layer l >= 1
          (from the second on) outputs y_l = RNN_l(dropout(x_l)) + x_l, x_l = y_{l-1} its input.  Every such
          layer's input is the layer below's output, of dirs*H units as its own, so the sizes always match;
          the first layer, whose input is D wide, has none.  Needs ``num_layers >= 2`` (ValueError otherwise).
          Dropout acts on the recurrent branch only, the identity path carries x_l whole (as TensorFlow's
          ``ResidualWrapper`` around a ``DropoutWrapper``, GNMT's).  Padded steps stay 0 (both terms are 0
          there), and the final states are the cells' own h_T (and c_T), without the added input.
        - ``peephole``: LSTM only, peephole connections (Gers & Schmidhuber 2000; Graves 2013): i_t and f_t
          also read p_i * c_{t-1} and p_f * c_{t-1}, o_t reads p_o * c_t, with diagonal weights ``weight_ci_l0``,
          ``weight_cf_l0``, ``weight_co_l0`` (H,) per layer and direction (:mod:`rnnkit.cells.lstm_peephole`).
          They are drawn U(-1/sqrt(H), 1/sqrt(H)) whatever ``init`` says (the schemes are for matrices and biases).
        - ``layer_norm``: layer normalization in the cells (Ba, Kiros & Hinton 2016), eps = 1e-5: the Elman cell
          normalizes W_ih x_t + W_hh h_{t-1} over its H units (``ln_weight_l0``, ``ln_bias_l0`` (H,);
          :mod:`rnnkit.cells.elman_ln`); the LSTM normalizes x_t W_ih^T and h_{t-1} W_hh^T apart, each over the
          whole 4H gate vector, and c_t before its tanh (``ln_ih_weight_l0``, ``ln_ih_bias_l0``,
          ``ln_hh_weight_l0``, ``ln_hh_bias_l0`` (4H,), ``ln_cell_weight_l0``, ``ln_cell_bias_l0`` (H,);
          :mod:`rnnkit.cells.lstm_ln`); the GRU its two projections as the LSTM, over 3H (the same four names,
          (3H,); :mod:`rnnkit.cells.gru_ln`).  Gains start at 1, shifts at 0, whatever ``init`` says.  With
          ``peephole`` too, the LSTM's peepholes add their terms after the normalizations
          (:mod:`rnnkit.cells.lstm_ln_peephole`).
        - ``rng``: the numpy Generator that draws the initial weights (default ``np.random.default_rng(0)``);
          dropout and weight-drop masks come from the ``rng`` given to :meth:`forward`.
        - ``batch_first``: False only, PyTorch's default (inputs are time-major, (T, B, D)); True is refused.

        Parameters and their layouts are PyTorch's (``weight_ih_l0``, ``bias_hh_l1_reverse`` ...).
        """
        check_batch_first(self.cell, batch_first)
        name = check_layer_options(self.cell, dtype, bidirectional=bidirectional,
                                   variational_dropout=variational_dropout, learn_init=learn_init, rng=rng, init=init,
                                   init_scale=init_scale, dropout=dropout, weight_drop=weight_drop,
                                   nonlinearity=nonlinearity, tbptt=tbptt, residual=residual,
                                   num_layers=num_layers, peephole=peephole,
                                   layer_norm=layer_norm, hidden_size=hidden_size)
        self.config = RecurrentConfig(
            cell=self.cell,
            input_size=check_int("input_size", input_size, 1),
            hidden_size=check_int("hidden_size", hidden_size, 1),
            num_layers=check_int("num_layers", num_layers, 1),
            bidirectional=bool(bidirectional),
            dropout=float(dropout),
            variational_dropout=bool(variational_dropout),
            weight_drop=float(weight_drop),
            nonlinearity=nonlinearity,
            learn_init=bool(learn_init),
            tbptt=None if tbptt is None else int(tbptt),
            dtype=name,
            init=init,
            init_scale=None if init_scale is None else float(init_scale),
            forget_bias=check_forget_bias(forget_bias),
            residual=bool(residual),
            peephole=bool(peephole),
            layer_norm=bool(layer_norm),
        )
        if forget_bias is not None and self.cell != "lstm":
            raise ValueError(f"Expected forget_bias only for LSTM, got it for {self.cell.upper()}")
        warn_no_effect(self.config)  # options that would do nothing: said, as PyTorch says dropout's
        if rng is None:
            rng = np.random.default_rng(0)  # deterministic default; pass a Generator to choose
        self.params: dict[str, np.ndarray] = {}
        self.reset_parameters(rng)

    # ----------------------------------------------------------------- parameters
    @property
    def num_directions(self) -> int:
        """2 when bidirectional, else 1."""
        return 2 if self.config.bidirectional else 1

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype, from ``config.dtype``."""
        return np.dtype(self.config.dtype)

    def _suffixes(self) -> list[tuple[int, int, str]]:
        """(layer, direction, name suffix) for every layer and direction, in state order."""
        out = []
        for layer in range(self.config.num_layers):
            for d in range(self.num_directions):
                out.append((layer, d, f"_l{layer}" + ("_reverse" if d else "")))
        return out

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Initialise as the config says (default PyTorch's: U(-1/sqrt(H), 1/sqrt(H))); learned states 0."""
        cfg = self.config
        H = cfg.hidden_size
        bound = 1.0 / np.sqrt(H)
        for layer, _, sfx in self._suffixes():
            for name, shape in self._shapes(layer).items():
                self.params[name + sfx] = init_param(name, shape, bound, rng, self.dtype)
            if cfg.learn_init:
                self.params["h0" + sfx] = np.zeros(H, self.dtype)
                if cfg.cell == "lstm":
                    self.params["c0" + sfx] = np.zeros(H, self.dtype)
        if cfg.init != "pytorch" or cfg.forget_bias is not None or cfg.init_scale is not None:
            from rnnkit.init import init_recurrent_params

            init_recurrent_params(self.params, H, rng, scheme=cfg.init, scale=cfg.init_scale,
                                  forget_bias=cfg.forget_bias)

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy ``arrays`` (every parameter's name, e.g. from a checkpoint; torch weights go through
        :func:`rnnkit.torch_io.from_torch_state_dict`) into the parameters in place, checking names and shapes:
        the arrays an optimizer holds stay the layer's, where ``params.update(arrays)`` would leave it updating
        the old ones."""
        from rnnkit.checkpoint_task import copy_into

        copy_into(self.params, arrays, f"the {type(self).__name__} layer's")

    def _shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        """The shapes of one direction's parameters in ``layer`` (:func:`rnnkit.cells.layout.layer_shapes`)."""
        cfg = self.config
        D = cfg.input_size if layer == 0 else cfg.hidden_size * self.num_directions
        return layer_shapes(cfg.cell, D, cfg.hidden_size, cfg.peephole, cfg.layer_norm)

    @property
    def _kernel(self) -> Any:
        """The cell kernel module of this stack (:func:`rnnkit.cells.layout.kernel`)."""
        cfg = self.config
        return kernel(cfg.cell, cfg.peephole, cfg.layer_norm)

    def _weights(self, sfx: str, layer: int) -> tuple[np.ndarray, ...]:
        """The arrays of one layer and direction (four; and the peepholes or the LN gains and shifts), checked
        (:func:`rnnkit.recurrent_checks.layer_weights`)."""
        return layer_weights(self.params, sfx, self._shapes(layer), self.dtype)

    def _split_state(self, state: Any, B: int, what: str) -> list[np.ndarray] | None:
        """Validate a state-like argument (see :func:`rnnkit.recurrent_checks.split_state`)."""
        cfg = self.config
        expected = (cfg.num_layers * self.num_directions, B, cfg.hidden_size)
        return split_state(state, what, cfg.cell == "lstm", expected, self.dtype, cast=what == "dstate")

    # ----------------------------------------------------------------- forward
    def forward(
        self,
        x: np.ndarray,
        state: Any = None,
        lengths: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, Any, RecurrentCache]:
        """Run every layer and direction over x (T, B, D); returns (out, final state, cache).

        - ``x``: (T, B, D), time-major, of the layer's dtype (another dtype is a TypeError), finite.
        - ``state``: the initial state, (L*dirs, B, H) (a tuple (h, c) of two for LSTM), row
          ``layer * dirs + direction`` as PyTorch orders them, of the layer's dtype; None starts from
          zeros, or from the learned ``h0_l*`` with ``learn_init``.
        - ``lengths`` (B,) or ``mask`` (T, B) bool, not both: variable lengths, each sequence's real tokens
          first (any order of lengths); None, every sequence runs all T steps.
        - ``training``: dropout and weight drop act only then, and need ``rng`` (a numpy Generator:
          ValueError without one).

        ``out`` is (T, B, dirs*H), the top layer's outputs, the two directions concatenated, zero at padded
        steps; the final state is like ``state``, each sequence's at its last real step.  ``cache`` is for
        :meth:`backward` of this layer.  The cache holds copies of ``x`` and ``state``, so the caller may
        reuse those arrays before the backward; ``out`` may be the cache's own array and is then read-only
        (``out.copy()`` to change it), where PyTorch would raise at the backward.
        """
        cfg = self.config
        x = check_input(x, cfg.input_size, self.dtype)
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"Expected training to be True or False, got {training!r}")
        check_rng(rng, allow_none=True)
        T, B, _ = x.shape
        lengths = packing.resolve_lengths(T, B, lengths, mask)
        states0 = self._split_state(state, B, "state")
        if training and ((cfg.dropout > 0 and cfg.num_layers > 1) or cfg.weight_drop > 0) and rng is None:
            raise ValueError("Expected rng (a numpy Generator) for dropout in training, got None")
        return self._run(x, states0, lengths, training, rng)

    def _run(self, x: np.ndarray, states0: list[np.ndarray] | None, lengths: np.ndarray | None,
             training: bool = False, rng: np.random.Generator | None = None) -> tuple[np.ndarray, Any, RecurrentCache]:
        """:meth:`forward` on checked arguments (x (T, B, D) as check_input returns it, ``states0`` a list, h or h
        and c, None: zeros or the learned one; ``lengths`` as packing.resolve_lengths returns them, None: all T)."""
        cfg, (T, B, _) = self.config, x.shape
        order = inverse = bsizes = rev = None
        if lengths is None:  # the first layer's cache keeps x: a copy, so that the caller may reuse the array
            x = x.copy()
        else:
            order, inverse = packing.sort_by_length(lengths)
            x = x[:, order]
            sorted_lengths = lengths[order]
            bsizes = packing.batch_sizes(sorted_lengths, T)
            rev = packing.reverse_index(sorted_lengths, T, B)
            if states0 is not None:
                states0 = [s[:, order] for s in states0]
        kernel = self._kernel
        layer_in = x
        layer_caches = []
        finals = []
        for layer in range(cfg.num_layers):
            skip = layer_in if cfg.residual and layer > 0 else None  # (T, B, dirs*H), before dropout
            drop_mask = None
            if layer > 0 and training and cfg.dropout > 0:
                T_mask = 1 if cfg.variational_dropout else T  # variational: one mask per sequence
                drop_mask = scaled_keep_mask((T_mask,) + layer_in.shape[1:], cfg.dropout, rng, self.dtype)
                layer_in = layer_in * drop_mask
            outs, dir_caches, hh_masks = [], [], []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                s0 = self._initial(states0, k, sfx, B)
                xin = layer_in if d == 0 else packing.reverse_time(layer_in, rev)
                extra = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
                w_ih, w_hh, b_ih, b_hh, *peep = self._weights(sfx, layer)  # peep: p_i, p_f, p_o, LN's, or none
                hh_mask = None
                if training and cfg.weight_drop > 0:
                    # (gates * H, H), weight_hh's shape
                    hh_mask = scaled_keep_mask(w_hh.shape, cfg.weight_drop, rng, self.dtype)
                    w_hh = w_hh * hh_mask
                hh_masks.append(hh_mask)
                out, fin, c = kernel.forward(xin, s0, w_ih, w_hh, b_ih, b_hh, *peep, batch_sizes=bsizes, **extra)
                if d == 1:
                    out = packing.reverse_time(out, rev)
                outs.append(out)
                finals.append(fin)
                dir_caches.append(c)
            layer_in = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)  # (T, B, dirs*H)
            if skip is not None:  # residual: y_l = RNN_l(dropout(x_l)) + x_l; 0 + 0 at padded steps
                layer_in = layer_in + skip
            layer_caches.append(LayerCache(drop_mask, dir_caches, hh_masks))
        out = layer_in if inverse is None else layer_in[:, inverse]
        if out is layer_in:  # the cache's own array: read-only, so an edit in place cannot change the gradients
            out = out.view()
            out.flags.writeable = False
        final = self._stack_states(finals, inverse)
        used_learned = cfg.learn_init and states0 is None
        cache = RecurrentCache(layer_caches, order, inverse, rev, used_learned, (T, B), id(self))
        return out, final, cache

    def _initial(self, states0: list[np.ndarray] | None, k: int, sfx: str, B: int) -> Any:
        """Initial state of layer/direction k: the caller's, the learned one, or zeros."""
        cfg = self.config
        H = cfg.hidden_size
        if states0 is not None:
            parts = [np.array(s[k]) for s in states0]  # copies: the kernels' caches keep them
        elif cfg.learn_init:
            # checked as the weights are (a float64 h0 put into params by hand met the kernel's x-dtype check)
            learned = layer_weights(self.params, sfx, {n: (H,) for n in (["h0", "c0"] if cfg.cell == "lstm"
                                                                            else ["h0"])}, self.dtype)
            parts = [np.broadcast_to(p, (B, H)).copy() for p in learned]
        else:
            parts = [np.zeros((B, H), self.dtype) for _ in range(2 if cfg.cell == "lstm" else 1)]
        return tuple(parts) if cfg.cell == "lstm" else parts[0]

    def _stack_states(self, finals: list, inverse: np.ndarray | None) -> Any:
        if self.config.cell == "lstm":
            h = np.stack([f[0] for f in finals])  # (L*dirs, B, H)
            c = np.stack([f[1] for f in finals])
            if inverse is not None:
                h, c = h[:, inverse], c[:, inverse]
            return h, c
        h = np.stack(finals)
        return h if inverse is None else h[:, inverse]

    # ----------------------------------------------------------------- backward
    def backward(
        self, dout: np.ndarray | None, dstate: Any, cache: RecurrentCache
    ) -> tuple[np.ndarray, Any, dict[str, np.ndarray]]:
        """Gradients of the loss given dL/dout (T, B, dirs*H) and dL/dstate (like state, or None).

        Layer by layer from the top: each direction's kernel backward takes its half of dL/dout (the
        reverse direction's time-reversed per sequence, so it runs in its own reading order) and gives
        its dx; the layer's dx is the forward direction's dx plus the reverse direction's reversed
        back, times the dropout mask applied to the layer's input (dL/dx = dL/d(x * m) * m), and is
        the dL/dout of the layer below.  A learned initial state h0 (H,) is broadcast over the batch,
        so its gradient is the sum over the batch of dL/dh_0; with weight drop, W_hh entered as
        W_hh * M / (1-p), so dW_hh is the kernel's gradient times M / (1-p) (the scaled mask the cache
        keeps).

        Returns (dx (T, B, D), dstate0 (like state), grads keyed like params).  With
        ``tbptt=k`` in the config, the gradient is cut every k steps, as if the sequence were run
        in windows of k with the state detached between windows.  Each direction counts its windows
        in its own reading order: the forward one from the first step, the reverse one from each
        sequence's last real token (so its windows end at t = length - 1 - j k, not at multiples of k).
        """
        if not isinstance(cache, RecurrentCache):
            raise TypeError(f"Expected the cache this layer's forward returned, got {type(cache).__name__}")
        if cache.owner != id(self):
            raise ValueError("Expected the cache this layer's forward returned, got one another layer's forward made")
        cfg = self.config
        T, B = cache.shape
        H = cfg.hidden_size
        dirs = self.num_directions
        if dout is None:
            dout = np.zeros((T, B, dirs * H), self.dtype)
        check_array("dout", dout)
        check_float_array("dout", dout, (T, B, dirs * H), "(T, B, dirs*H)", self.dtype, any_float=True)
        if not np.isfinite(dout).all():  # as x and dstate: a NaN would reach every gradient unnoticed
            raise NonFiniteError("Expected finite values in dout, got NaN or inf", stage="backward")
        dout = dout.astype(self.dtype, copy=False)
        dstates = self._split_state(dstate, B, "dstate")
        order = cache.order
        if order is not None:
            dout = dout[:, order]
            if dstates is not None:
                dstates = [s[:, order] for s in dstates]
        kernel = self._kernel
        grads: dict[str, np.ndarray] = {}
        dstate0: list = [None] * (cfg.num_layers * dirs)
        d_layer_out = dout
        for layer in range(cfg.num_layers - 1, -1, -1):
            lc = cache.layers[layer]
            dx_sum = None
            for d in range(dirs):
                k = layer * dirs + d
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                part = d_layer_out[..., d * H : (d + 1) * H]
                part = packing.reverse_time(part, cache.rev_index) if d == 1 else np.ascontiguousarray(part)
                dT = None
                if dstates is not None:
                    dT = tuple(s[k] for s in dstates) if cfg.cell == "lstm" else dstates[0][k]
                dx, ds0, wg = kernel.backward(part, dT, lc.directions[d], tbptt=cfg.tbptt)
                if lc.hh_masks[d] is not None:
                    wg = (wg[0], wg[1] * lc.hh_masks[d], *wg[2:])  # W_hh entered as W_hh * M/(1-p)
                if d == 1:
                    dx = packing.reverse_time(dx, cache.rev_index)
                dx_sum = dx if dx_sum is None else dx_sum + dx
                for name, g in zip(self._shapes(layer), wg):  # weight_ih, weight_hh, bias_ih, bias_hh (, peepholes)
                    grads[name + sfx] = g
                dstate0[k] = ds0
                if cfg.learn_init:
                    parts = ds0 if cfg.cell == "lstm" else (ds0,)
                    for name, g in zip(("h0", "c0"), parts):
                        if cache.used_learned_init:
                            grads[name + sfx] = g.sum(axis=0)
                        else:
                            grads[name + sfx] = np.zeros(H, self.dtype)
            if lc.drop_mask is not None:
                dx_sum *= lc.drop_mask
            if cfg.residual and layer > 0:
                # the identity path: dL/dx_l += dL/dy_l.  Its padded steps need no mask: the kernels below
                # read dout at real steps only, and the first layer, which gives dx, has no identity path.
                dx_sum += d_layer_out
            d_layer_out = dx_sum
        dx = d_layer_out if cache.inverse is None else d_layer_out[:, cache.inverse]
        return dx, self._stack_states(dstate0, cache.inverse), grads
