"""The options of a recurrent stack, as a record a checkpoint keeps (:class:`rnnkit.recurrent.Recurrent`
builds from them; :func:`rnnkit.recurrent.make_recurrent` rebuilds a stack from this record)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rnnkit.fielddoc import fields_in_doc


@fields_in_doc
@dataclass(frozen=True)
class RecurrentConfig:
    """The options of a :class:`Recurrent` stack (as PyTorch's nn.RNN/LSTM/GRU take them), kept in a
    checkpoint's metadata so that the stack can be rebuilt."""

    cell: str  # "rnn", "lstm" or "gru"
    input_size: int  # D
    hidden_size: int  # H
    num_layers: int = 1  # L
    bidirectional: bool = False
    dropout: float = 0.0  # on the input of every layer but the first, in training only
    variational_dropout: bool = False  # one dropout mask per sequence, shared by all time steps
    weight_drop: float = 0.0  # DropConnect on every weight_hh, one mask per forward call, in training only
    nonlinearity: str = "tanh"  # Elman only: "tanh" or "relu"
    learn_init: bool = False  # learn the initial state as a parameter
    tbptt: int | None = None  # cut the gradient every tbptt steps (each direction in its reading order); None = full BPTT
    dtype: str = "float32"
    init: str = "pytorch"  # pytorch, uniform (with init_scale), orthogonal or xavier: see rnnkit.init
    init_scale: float | None = None  # the bound of init="uniform"
    forget_bias: float | None = None  # LSTM only: total forget-gate bias b_if + b_hf
    residual: bool = False  # add each layer's input to its output from the second layer on (GNMT); num_layers >= 2
    peephole: bool = False  # LSTM only: gates read the cell through weight_ci, weight_cf, weight_co (Graves 2013)
    layer_norm: bool = False  # layer normalization inside the cells (Ba, Kiros & Hinton 2016)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)
