r"""Stacked, optionally bidirectional recurrent layers: :class:`RNN`, :class:`LSTM` and :class:`GRU`.

Shapes, fixed for the whole module (as in PyTorch's ``nn.RNN`` docs): T time steps, B batch,
D input size, H hidden size, L layers, dirs = 2 if bidirectional else 1.  :meth:`Recurrent.forward` says
what ``x`` (T, B, D), ``out`` (T, B, dirs*H) and ``state`` (L*dirs, B, H), index ``layer * dirs +
direction``, hold; the final state is each sequence's at its last real step, as PyTorch's packed
sequences give.

Parameters live in ``self.params`` under PyTorch's names and layouts (``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, suffix ``_reverse``), so weights move to and
from ``torch.nn.RNN/LSTM/GRU`` by name.  With ``learn_init=True`` the initial state is learned too:
``h0_l{k}`` (H,) and, for LSTM, ``c0_l{k}`` (H,), shared across the batch.  An LSTM with ``peephole=True``
has three more per layer and direction, ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}`` (H,), the
diagonal peephole weights p_i, p_f, p_o (:mod:`rnnkit.cells.lstm_peephole`); torch has no such module.
With ``layer_norm=True`` (Ba, Kiros & Hinton 2016) the gains and shifts of the layer normalizations are
``ln_weight_l{k}``, ``ln_bias_l{k}`` (H,) (Elman) or ``ln_ih_weight_l{k}``, ``ln_ih_bias_l{k}``,
``ln_hh_weight_l{k}``, ``ln_hh_bias_l{k}`` (4H,), ``ln_cell_weight_l{k}``, ``ln_cell_bias_l{k}`` (H,) (LSTM), the
first four of those (3H,) for the GRU: :mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`,
:mod:`rnnkit.cells.gru_ln`; torch has no such module either.

With ``weight_drop=p`` training applies DropConnect (Wan et al. 2013) to every recurrent matrix, as
AWD-LSTM does (Merity et al. 2018): each forward call draws one mask M ~ Bernoulli(1-p) per
``weight_hh`` and runs with W_hh * M / (1-p) at every time step; the gradient of W_hh is the
gradient of the masked matrix times M / (1-p).  Evaluation uses W_hh itself.

With ``residual=True`` (and ``num_layers >= 2``) the stack has residual connections (Wu et al. 2016, GNMT):
layer l >= 1 (counted from 0) outputs ``RNN_l(dropout(x_l)) + x_l``, its input added to its output.  That
input is the layer below's output, dirs*H wide as its own, so the sizes always match from the second layer
on; the first layer (input D) has none.  The final states are the cells' own.

``forward`` returns ``(out, state, cache)``; ``backward(dout, dstate, cache)`` returns
``(dx, dstate0, grads)``, with ``grads`` keyed like ``params``.  Nothing is stored on ``self`` between
the two calls.  ``out`` may share memory with the cache: do not modify it in place.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.recurrent_base import Recurrent
from rnnkit.recurrent_config import RecurrentConfig

# Recurrent (the layers' base, in recurrent_base.py) and RecurrentConfig are re-exported: rnnkit's lazy
# exports, diagnostics and torch_io import them from here
__all__ = ["GRU", "LSTM", "RNN", "Recurrent", "RecurrentConfig", "make_recurrent"]


class RNN(Recurrent):
    """Elman RNN stack: h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh or relu.

    See :mod:`rnnkit.cells.elman` for the equations of the backward pass.
    """

    cell = "rnn"


class LSTM(Recurrent):
    """LSTM stack (gate order i, f, g, o); equations in :mod:`rnnkit.cells.lstm`."""

    cell = "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs: Any) -> None:
        """As :class:`Recurrent` (its ``__init__`` lists the options), without ``nonlinearity``."""
        if kwargs.get("nonlinearity", "tanh") != "tanh":
            raise ValueError(f"Expected no nonlinearity for LSTM, got {kwargs['nonlinearity']!r}")
        super().__init__(input_size, hidden_size, num_layers, **kwargs)


class GRU(Recurrent):
    """GRU stack (gate order r, z, n; b_hn inside r * (...)); equations in :mod:`rnnkit.cells.gru`."""

    cell = "gru"


def make_recurrent(config: RecurrentConfig | dict, rng: np.random.Generator | None = None) -> Recurrent:
    """Build a layer from a config (or its dict form, as stored in checkpoints)."""
    cfg = config if isinstance(config, RecurrentConfig) else RecurrentConfig(**config)
    classes = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
    if cfg.cell not in classes:
        raise ValueError(f"Expected cell 'rnn', 'lstm' or 'gru', got {cfg.cell!r}")
    kwargs = {k: v for k, v in cfg.to_dict().items() if k not in ("cell", "input_size", "hidden_size", "num_layers")}
    # an option of another cell is refused, as the classes refuse it, not dropped: only its default passes
    if cfg.cell != "rnn":
        if kwargs.pop("nonlinearity") != "tanh":
            raise ValueError(f"Expected no nonlinearity for {cfg.cell.upper()} (it is the Elman RNN's), got "
                             f"{cfg.nonlinearity!r}")
    if cfg.cell != "lstm":
        if kwargs.pop("forget_bias") is not None:
            raise ValueError(f"Expected no forget_bias for {cfg.cell.upper()} (it is the LSTM's), got "
                             f"{cfg.forget_bias!r}")
    if cfg.cell != "lstm" and kwargs["peephole"]:
        raise ValueError(f"Expected no peephole for {cfg.cell.upper()} (it is the LSTM's), got peephole=True")
    return classes[cfg.cell](cfg.input_size, cfg.hidden_size, cfg.num_layers, rng=rng, **kwargs)
