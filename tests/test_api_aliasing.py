"""What a caller does to its arrays between a forward and the backward cannot change the gradients.

PyTorch raises when a tensor saved for the backward is changed in place; numpy has no such check, so
the layers keep copies of what the caller gave (x, the initial state, ids) and hand back their own
output array read-only.  A backward given another layer's cache raises instead of returning that
layer's gradients.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.nn import Embedding, Linear, LinearCrossEntropy
from rnnkit.recurrent import GRU, LSTM, RNN

T, B, D, H = 6, 3, 4, 5


def _grads(layer, x, state, dout, edit):
    out, _, cache = layer.forward(x, state)
    edit(x, state)
    dx, dstate, grads = layer.backward(dout, None, cache)
    return out.copy(), dx, grads


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_changing_x_and_the_state_after_forward_leaves_the_gradients(cls):
    rng = np.random.default_rng(0)
    layer = cls(D, H, num_layers=2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((T, B, D))
    shapes = [(2, B, H)] * (2 if cls is LSTM else 1)
    state = [rng.standard_normal(s) for s in shapes]
    state = tuple(state) if cls is LSTM else state[0]
    dout = rng.standard_normal((T, B, H))

    def keep(x, state):
        pass

    def overwrite(x, state):  # a data loader reusing its buffers for the next batch
        x[...] = 7.0
        for s in (state if isinstance(state, tuple) else (state,)):
            s[...] = -3.0

    copies = (x.copy(), tuple(s.copy() for s in state) if isinstance(state, tuple) else state.copy())
    want = _grads(layer, *copies, dout, keep)
    got = _grads(layer, x, state, dout, overwrite)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    for k in want[2]:
        np.testing.assert_array_equal(got[2][k], want[2][k], err_msg=k)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_the_output_that_is_the_caches_own_array_is_read_only(cls):
    rng = np.random.default_rng(1)
    layer = cls(D, H, rng=rng, dtype=np.float64)
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, H))
    out, _, cache = layer.forward(x)
    want = layer.backward(dout, None, cache)[2]
    out, _, cache = layer.forward(x)
    with pytest.raises(ValueError, match="read-only"):
        out += 1.0  # once changed the weight gradients silently
    got = layer.backward(dout, None, cache)[2]
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    out, _, _ = layer.forward(x, lengths=np.array([T, T - 2, 1]))  # a padded batch's output is a new array
    out += 1.0


def test_a_recurrent_backward_refuses_another_layers_cache():
    rng = np.random.default_rng(2)
    enc, dec = LSTM(D, H, rng=rng, dtype=np.float64), LSTM(D, H, rng=rng, dtype=np.float64)
    _, _, cache = enc.forward(rng.standard_normal((T, B, D)))
    with pytest.raises(ValueError, match="another layer's forward made"):
        dec.backward(rng.standard_normal((T, B, H)), None, cache)
    enc.backward(rng.standard_normal((T, B, H)), None, cache)  # its own layer takes it


def test_linear_embedding_and_fused_output_keep_their_inputs():
    rng = np.random.default_rng(3)
    lin = Linear(D, H, rng, dtype=np.float64)
    x = rng.standard_normal((B, D))
    dy = rng.standard_normal((B, H))
    want = lin.backward(dy, lin.forward(x.copy())[1])[1]
    _, cache = lin.forward(x)
    x *= 2.0
    got = lin.backward(dy, cache)[1]
    np.testing.assert_array_equal(got["weight"], want["weight"])
    with pytest.raises(ValueError, match=r"got one made with another weight array \(another layer's forward"):
        Linear(D, H, rng, dtype=np.float64).backward(dy, cache)

    emb = Embedding(10, H, rng, dtype=np.float64)
    ids = np.array([[1, 2], [3, 1]])
    dv = rng.standard_normal((2, 2, H))
    want = emb.backward(dv, emb.forward(ids.copy())[1])[1]["weight"]
    _, cache = emb.forward(ids)
    ids[:] = 9  # the whole gradient once landed on row 9
    np.testing.assert_array_equal(emb.backward(dv, cache)[1]["weight"], want)

    ce = LinearCrossEntropy()
    w, b = rng.standard_normal((7, H)), rng.standard_normal(7)
    h = rng.standard_normal((T, B, H))
    targets = rng.integers(0, 7, (T, B))
    want = ce.backward(1.0, ce.forward(h.copy(), w, b, targets)[1])[1]["weight"]
    _, cache = ce.forward(h, w, b, targets)
    h[...] = 0.0
    np.testing.assert_array_equal(ce.backward(1.0, cache)[1]["weight"], want)


def test_an_optimizer_refuses_a_replaced_parameter_and_load_arrays_keeps_it_learning():
    from rnnkit.optim import Adam

    rng = np.random.default_rng(4)
    layer = GRU(D, H, rng=rng)
    opt = Adam(layer.params, lr=0.1)
    loaded = {k: v * 0.5 for k, v in layer.params.items()}  # weights from a file, say
    x = rng.standard_normal((T, B, D)).astype(np.float32)

    def step():
        out, _, cache = layer.forward(x)
        opt.step(layer.backward(np.ones_like(out), None, cache)[2])

    layer.params.update(loaded)  # rebinds the entries: the optimizer once went on updating the old arrays
    with pytest.raises(ValueError, match=r"^Expected params\['weight_ih_l0'\] to be the array this optimizer"):
        step()
    opt = Adam(layer.params, lr=0.1)
    layer.load_arrays({k: v * 2.0 for k, v in loaded.items()})  # in place: the same arrays
    before = {k: v.copy() for k, v in layer.params.items()}
    step()
    assert all(not np.array_equal(before[k], layer.params[k]) for k in ("weight_ih_l0", "weight_hh_l0"))
    with pytest.raises(ValueError, match="missing"):
        layer.load_arrays({"weight_ih_l0": loaded["weight_ih_l0"]})


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_edits_leave_the_gradients_of_a_bidirectional_padded_layer_with_a_learned_initial_state(cls):
    rng = np.random.default_rng(5)
    layer = cls(D, H, num_layers=2, bidirectional=True, learn_init=True, rng=rng, dtype=np.float64)
    x = rng.standard_normal((T, B, D))
    lengths = np.array([T, 3, 5])
    dout = rng.standard_normal((T, B, 2 * H))
    out, final, cache = layer.forward(x.copy(), lengths=lengths)
    want = layer.backward(dout, None, cache)
    out, final, cache = layer.forward(x, lengths=lengths)
    x[...] = 9.0
    out[...] = 1.0  # a padded batch's output is the caller's own array
    for f in (final if isinstance(final, tuple) else (final,)):
        f[...] = -1.0
    got = layer.backward(dout, None, cache)
    np.testing.assert_array_equal(got[0], want[0])
    for k in want[2]:
        np.testing.assert_array_equal(got[2][k], want[2][k], err_msg=k)
