"""Which kernel runs a recurrent layer, and which parameters one layer and direction holds, in PyTorch's layout.

A cell of G gate blocks (Elman 1, LSTM 4: i, f, g, o, GRU 3: r, z, n) over H units and D inputs has::

    weight_ih (G H, D)   weight_hh (G H, H)   bias_ih (G H,)   bias_hh (G H,)

then, in the kernel's argument order, the peepholes ``weight_ci``, ``weight_cf``, ``weight_co`` (H,) of
:mod:`rnnkit.cells.lstm_peephole`, and (or) the LN gains and shifts of the layer-normalized kernels (``LN_PARAMS`` of
:mod:`rnnkit.cells.elman_ln` (H,), :mod:`rnnkit.cells.lstm_ln` (4H,) x 4 and the cell's (H,) x 2,
:mod:`rnnkit.cells.gru_ln` (3H,) x 4).  :class:`rnnkit.recurrent_base.Recurrent` and the seq2seq decoder's steps
(:mod:`rnnkit.seq2seq.decoder_step`) both pick their kernel and shapes here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.cells import elman, elman_ln, gru, gru_ln, lstm, lstm_ln, lstm_ln_peephole, lstm_peephole

GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # gate blocks of H rows
KERNELS = {"rnn": elman, "lstm": lstm, "gru": gru}  # the plain cells
_LN_KERNELS = {"rnn": elman_ln, "lstm": lstm_ln, "gru": gru_ln}
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def kernel(cell: str, peephole: bool = False, layer_norm: bool = False) -> Any:
    """The kernel module (:mod:`rnnkit.cells`) of a ``cell`` layer with these options (both: the LSTM's with
    peepholes and layer normalization, :mod:`rnnkit.cells.lstm_ln_peephole`)."""
    if peephole:
        return lstm_ln_peephole if layer_norm else lstm_peephole
    return (_LN_KERNELS if layer_norm else KERNELS)[cell]


def layer_shapes(cell: str, input_size: int, hidden_size: int, peephole: bool = False,
                 layer_norm: bool = False) -> dict[str, tuple[int, ...]]:
    """Name -> shape of one layer and direction's parameters, in its kernel's argument order."""
    G, H = GATES[cell] * hidden_size, hidden_size
    shapes = {"weight_ih": (G, input_size), "weight_hh": (G, H), "bias_ih": (G,), "bias_hh": (G,)}
    if peephole:  # p_i, p_f, p_o: diagonal, one number per unit
        shapes.update({name: (H,) for name in lstm_peephole.PEEPHOLES})
    if layer_norm:  # gains and shifts: of the whole gate vector (G) and, for the LSTM, of the cell (H)
        sizes = {"rnn": (H, H), "lstm": (G, G, G, G, H, H), "gru": (G, G, G, G)}[cell]
        shapes.update({name: (n,) for name, n in zip(_LN_KERNELS[cell].LN_PARAMS, sizes)})
    return shapes


def init_param(name: str, shape: tuple[int, ...], bound: float, rng: np.random.Generator,
               dtype: np.dtype) -> np.ndarray:
    """PyTorch's default start of a layer's parameter ``name``: U(-bound, bound) (bound 1/sqrt(H)), peepholes
    too; a layer norm's gains 1 and shifts 0 (Ba et al.: it starts as a plain normalization), drawing nothing."""
    if name.startswith("ln_"):
        return (np.ones if name.endswith("_weight") else np.zeros)(shape, dtype)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)
