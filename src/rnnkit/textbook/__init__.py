"""The three cells as the lecture notes write them, for reading and for checking a hand calculation.

One example (vectors, no batch), one time step per function, float64, one line per equation in the
order each module's docstring lists them, and PyTorch's parameter names, layouts and gate orders
(``torch.nn.RNNCell``, ``LSTMCell``, ``GRUCell``):

- :mod:`rnnkit.textbook.elman`: a_t, h_t = tanh(a_t) or relu(a_t);
- :mod:`rnnkit.textbook.lstm`: gates i, f, g, o, then c_t and h_t;
- :mod:`rnnkit.textbook.lstm_peephole`: the same with peepholes p_i * c_{t-1}, p_f * c_{t-1}, p_o * c_t;
- :mod:`rnnkit.textbook.gru`: gates r, z, n (b_hn inside r_t * (W_hn h_{t-1} + b_hn)), then h_t.

Each module has ``forward`` (one step, returning a ``Step`` of every named intermediate), ``backward``
(one step back, from dL/dh_t and for the LSTM dL/dc_t, returning a ``StepGrads`` of every intermediate
gradient and the step's parameter gradients), and ``forward_sequence`` / ``backward_sequence`` (T steps
and backpropagation through time).  They compute what :mod:`rnnkit.cells` computes, slowly and plainly;
``rnnkit step`` prints their numbers.  :mod:`rnnkit.textbook.params` reads, writes and draws parameters;
:mod:`rnnkit.textbook.exercise` puts together one exercise's numbers and solves it.
"""
from rnnkit.textbook import elman, gru, lstm, lstm_peephole

# "lstm_peephole" is rnnkit step's --cell lstm --peephole
CELLS = {"rnn": elman, "lstm": lstm, "gru": gru, "lstm_peephole": lstm_peephole}
CELL_NAMES = {"rnn": "an Elman RNN", "lstm": "an LSTM", "gru": "a GRU", "lstm_peephole": "a peephole LSTM"}


def has_cell_state(cell: str) -> bool:
    """True for the cells with a cell state c (the LSTMs), whose exercises have c0 and dc."""
    return cell in ("lstm", "lstm_peephole")

__all__ = ["CELLS", "CELL_NAMES", "elman", "gru", "has_cell_state", "lstm", "lstm_peephole"]
