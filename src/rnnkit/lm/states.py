r"""What a trained recurrent language model holds inside while it reads a text: per token, one layer's
hidden state and, for gated cells, its gates (and an LSTM's cell state), as Karpathy's char-rnn
visualisations show them.

The quantities, named as in PyTorch (:mod:`rnnkit.cells` has the equations), of layer l at step t::

    Elman:  h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)                  -> h
    LSTM:   i, f, o = sigmoid(...),  g = tanh(...)
            c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)                        -> h, c, i, f, g, o
    GRU:    r, z = sigmoid(...),  n = tanh(x W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
            h_t = (1 - z) * n + z * h_{t-1}                                         -> h, r, z, n

where x_t is the layer's input (the token's embedding for layer 0, layer l-1's h_t above it).  A
layer-normalized LSTM's c is its cell before the LN: h_t = o * tanh(LN(c_t)) (:mod:`rnnkit.cells.lstm_ln`).  Nothing
is recomputed here: the model's own forward pass runs (dropout off, as in evaluation) and the values are
read from the layer's kernel cache, the one its backward pass would use; an LSTM's cache holds the
gates in its kernel's order (its ``GATE_ORDER``: (o, i, f, g) for the plain LSTM, PyTorch's (i, f, g, o)
for the peephole LSTM), which is undone here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.nn.embedding import embedding_forward

# what each cell exposes, in the order a table or plot shows them (gates in PyTorch's order)
QUANTITIES: dict[str, tuple[str, ...]] = {"rnn": ("h",), "lstm": ("h", "c", "i", "f", "g", "o"),
                                          "gru": ("h", "r", "z", "n")}
WINDOW = 256  # steps read at a time, the state carried: a kernel cache of a long text would hold it all


def layer_index(model: Any, layer: int | None) -> int:
    """``layer`` as an index from 0 (None or -1: the last; -k counts from the end), checked against the model."""
    L = model.config.num_layers
    if layer is None:
        return L - 1
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -L <= layer < L:
        raise ValueError(f"Expected layer in 0..{L - 1} (or -{L}..-1 from the end; the model has {L} "
                         f"layer{'s' * (L != 1)}), got {layer!r}")
    return int(layer) % L


def _kernel_values(cell: str, kc: Any) -> dict[str, np.ndarray]:
    """The quantities of one window from one direction's kernel cache, each (T_w, H) for batch column 0."""
    hs = kc.hs[1:, 0]  # (T_w, H): h_1 .. h_T of the window (hs[0] is the state it started from)
    if cell == "rnn":
        return {"h": hs}
    H = hs.shape[-1]
    gates = kc.gates[:, 0]  # (T_w, G*H), activated
    if cell == "gru":  # PyTorch's order r, z, n already
        return {"h": hs, "r": gates[:, :H], "z": gates[:, H : 2 * H], "n": gates[:, 2 * H :]}
    # LSTM: each kernel names its order, (o, i, f, g) for the plain one (its three sigmoid gates are one
    # contiguous slice), PyTorch's (i, f, g, o) for the peephole one
    blocks = {name: gates[:, j * H : (j + 1) * H] for j, name in enumerate(kc.GATE_ORDER)}
    return {"h": hs, "c": kc.cs[1:, 0], **{name: blocks[name] for name in "ifgo"}}


def hidden_states(model: Any, ids: Any, layer: int | None = None, start_id: int | None = None,
                  state: Any = None) -> dict[str, np.ndarray]:
    """Per token of ``ids``, the activations of one layer of a recurrent language model while it reads them.

    ``ids`` (T,) int: one sequence of token ids, read in order with the state carried throughout.
    ``layer``: 0 for the first, None (or -1) for the last.  ``start_id``: a token read first (from
    ``state``, zeros when None), whose own row is not returned, as ``rnnkit score`` starts every line
    from ``<eos>`` (word level) or a newline (character level), so that the first real token is read
    in context as in training.

    Returns a dict of (T, H) arrays of the model's dtype, keyed by :data:`QUANTITIES` of its cell:
    ``h`` (the layer's output h_t after reading token t; with residual connections, its cells' h_t, to which
    the layer adds its input), and ``c``, ``i``, ``f``, ``g``, ``o`` for an
    LSTM, ``r``, ``z``, ``n`` for a GRU.
    """
    from rnnkit.lm.model import LanguageModel

    if not isinstance(model, LanguageModel):
        raise TypeError(f"Expected a recurrent LanguageModel (an n-gram model has no hidden state), got "
                        f"{type(model).__name__}")
    ids = np.asarray(ids)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(f"Expected ids to be a (T,) array of integer token ids, got shape {ids.shape} of "
                         f"{ids.dtype}")
    k = layer_index(model, layer)
    cell, H = model.config.cell, model.config.hidden_size
    weight = model.params["embedding.weight"]  # (V, E)
    T = ids.size
    out = {name: np.empty((T, H), dtype=weight.dtype) for name in QUANTITIES[cell]}  # (T, H) each
    if start_id is not None:
        emb, _ = embedding_forward(np.array([[start_id]], dtype=np.int64), weight)  # (1, 1, E)
        _, state, _ = model.rnn.forward(emb, state=state)
    for a in range(0, T, WINDOW):
        window = ids[a : a + WINDOW].astype(np.int64)[:, None]  # (T_w, 1): one stream
        emb, _ = embedding_forward(window, weight)  # (T_w, 1, E); ids out of range are refused here
        _, state, cache = model.rnn.forward(emb, state=state)  # evaluation: no dropout, W_hh itself
        for name, values in _kernel_values(cell, cache.layers[k].directions[0]).items():
            out[name][a : a + window.shape[0]] = values
    return out
