"""The three cells as the lecture notes write them, for reading and for checking a hand calculation.

One example (vectors, no batch), one time step per function, float64, one line per equation in the
order each module's docstring lists them, and PyTorch's parameter names, layouts and gate orders
(``torch.nn.RNNCell``, ``LSTMCell``, ``GRUCell``):

- :mod:`rnnkit.textbook.elman`: a_t, h_t = tanh(a_t) or relu(a_t);
- :mod:`rnnkit.textbook.lstm`: gates i, f, g, o, then c_t and h_t;
- :mod:`rnnkit.textbook.lstm_peephole`: the same with peepholes p_i * c_{t-1}, p_f * c_{t-1}, p_o * c_t;
- :mod:`rnnkit.textbook.gru`: gates r, z, n (b_hn inside r_t * (W_hn h_{t-1} + b_hn)), then h_t;
- :mod:`rnnkit.textbook.elman_ln`, :mod:`rnnkit.textbook.lstm_ln`, :mod:`rnnkit.textbook.gru_ln`: the three with
  layer normalization (Ba, Kiros & Hinton 2016; :mod:`rnnkit.textbook.layernorm`), mean, sigma and normalized
  vector of each LN written out, forward and back; :mod:`rnnkit.textbook.lstm_ln_peephole` the LSTM with both.

Each module has ``forward`` (one step, returning a ``Step`` of every named intermediate), ``backward``
(one step back, from dL/dh_t and for the LSTM dL/dc_t, returning a ``StepGrads`` of every intermediate
gradient and the step's parameter gradients), and ``forward_sequence`` / ``backward_sequence`` (T steps
and backpropagation through time).  They compute what :mod:`rnnkit.cells` computes, slowly and plainly;
``rnnkit step`` prints their numbers.  :mod:`rnnkit.textbook.params` reads, writes and draws parameters;
:mod:`rnnkit.textbook.exercise` puts together one exercise's numbers and solves it.
"""
from rnnkit.textbook import elman, gru, lstm, lstm_peephole  # isort: split
from rnnkit.textbook import elman_ln, gru_ln, lstm_ln  # after the cells they extend
from rnnkit.textbook import lstm_ln_peephole  # isort: skip  (after both LSTMs it joins)

# "lstm_peephole" is rnnkit step's --cell lstm --peephole; "rnn_ln", "lstm_ln", "gru_ln" its --layer-norm,
# "lstm_ln_peephole" both
CELLS = {"rnn": elman, "lstm": lstm, "gru": gru, "lstm_peephole": lstm_peephole, "rnn_ln": elman_ln,
         "lstm_ln": lstm_ln, "gru_ln": gru_ln, "lstm_ln_peephole": lstm_ln_peephole}
CELL_NAMES = {"rnn": "an Elman RNN", "lstm": "an LSTM", "gru": "a GRU", "lstm_peephole": "a peephole LSTM",
              "rnn_ln": "a layer-normalized Elman RNN", "lstm_ln": "a layer-normalized LSTM",
              "gru_ln": "a layer-normalized GRU", "lstm_ln_peephole": "a layer-normalized peephole LSTM"}


def has_cell_state(cell: str) -> bool:
    """True for the cells with a cell state c (the LSTMs), whose exercises have c0 and dc."""
    return base_cell(cell) == "lstm"


def base_cell(cell: str) -> str:
    """The cell a textbook cell's name extends, as ``rnnkit step --cell`` names it: ``lstm_ln`` -> ``lstm``."""
    return cell.split("_")[0]


def has_layer_norm(cell: str) -> bool:
    """True for the layer-normalized cells (``rnnkit step --layer-norm``)."""
    return "ln" in cell.split("_")


def has_peepholes(cell: str) -> bool:
    """True for the LSTMs with peepholes (``rnnkit step --peephole``)."""
    return "peephole" in cell.split("_")

__all__ = ["CELLS", "CELL_NAMES", "base_cell", "elman", "elman_ln", "gru", "gru_ln", "has_cell_state",
           "has_layer_norm", "has_peepholes", "lstm", "lstm_ln", "lstm_ln_peephole", "lstm_peephole"]
