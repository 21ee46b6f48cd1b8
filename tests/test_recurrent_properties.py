"""Property tests over shapes, lengths and options (hypothesis)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.recurrent import GRU, LSTM, RNN

CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


@st.composite
def configs(draw):
    T = draw(st.integers(1, 7))
    B = draw(st.integers(1, 4))
    return {
        "cell": draw(st.sampled_from(sorted(CLASSES))),
        "T": T,
        "B": B,
        "D": draw(st.integers(1, 4)),
        "H": draw(st.integers(1, 5)),
        "L": draw(st.integers(1, 3)),
        "bi": draw(st.booleans()),
        "lengths": np.array(draw(st.lists(st.integers(1, T), min_size=B, max_size=B))),
        "seed": draw(st.integers(0, 2**31)),
    }


def _build(c):
    rng = np.random.default_rng(c["seed"])
    layer = CLASSES[c["cell"]](c["D"], c["H"], c["L"], bidirectional=c["bi"], dtype=np.float64, rng=rng)
    x = rng.standard_normal((c["T"], c["B"], c["D"]))
    return layer, x, rng


@settings(max_examples=40, deadline=None)
@given(configs())
def test_batch_equals_each_sequence_alone(c):
    """A padded batch gives each sequence what it gets alone, unpadded: outputs, states, gradients."""
    layer, x, rng = _build(c)
    lengths = c["lengths"]
    out, final, cache = layer.forward(x, lengths=lengths)
    dout = rng.standard_normal(out.shape)
    dx, _, grads = layer.backward(dout, None, cache)
    finals = final if isinstance(final, tuple) else (final,)
    total = {k: np.zeros_like(v) for k, v in grads.items()}
    for b, n in enumerate(lengths):
        o1, f1, c1 = layer.forward(np.ascontiguousarray(x[:n, b : b + 1]))
        np.testing.assert_allclose(out[:n, b : b + 1], o1, atol=1e-12, err_msg=f"out of sequence {b}")
        assert np.all(out[n:, b] == 0)
        for fa, fb in zip(finals, f1 if isinstance(f1, tuple) else (f1,)):
            np.testing.assert_allclose(fa[:, b : b + 1], fb, atol=1e-12, err_msg=f"final state of {b}")
        dx1, _, g1 = layer.backward(np.ascontiguousarray(dout[:n, b : b + 1]), None, c1)
        np.testing.assert_allclose(dx[:n, b : b + 1], dx1, atol=1e-10, err_msg=f"dx of sequence {b}")
        assert np.all(dx[n:, b] == 0)
        for k in total:
            total[k] += g1[k]
    for k in grads:
        np.testing.assert_allclose(grads[k], total[k], atol=1e-10, err_msg=f"grad {k}")


@settings(max_examples=25, deadline=None)
@given(configs())
def test_float32_tracks_float64(c):
    layer, x, rng = _build(c)
    out64, _, cache64 = layer.forward(x, lengths=c["lengths"])
    dout = rng.standard_normal(out64.shape)
    _, _, g64 = layer.backward(dout, None, cache64)
    layer32 = CLASSES[c["cell"]](c["D"], c["H"], c["L"], bidirectional=c["bi"], rng=rng)
    layer32.params = {k: v.astype(np.float32) for k, v in layer.params.items()}
    out32, _, cache32 = layer32.forward(x.astype(np.float32), lengths=c["lengths"])
    _, _, g32 = layer32.backward(dout.astype(np.float32), None, cache32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=1e-5)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        np.testing.assert_allclose(g32[k], g64[k], atol=1e-4, rtol=1e-4, err_msg=k)
