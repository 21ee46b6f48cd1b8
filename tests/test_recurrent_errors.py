"""Bad arguments raise ValueError / TypeError naming the argument, what was expected and what came."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.recurrent import GRU, LSTM, RNN, make_recurrent


@pytest.fixture
def lstm():
    return LSTM(3, 4, 2, rng=np.random.default_rng(0))


def x_of(shape, dtype=np.float32):
    return np.zeros(shape, dtype)


@pytest.mark.parametrize(
    "kwargs,exc,words",
    [
        ({"x": x_of((5, 2, 4))}, ValueError, "Expected x of shape (T, B, D=3), got (5, 2, 4)"),
        ({"x": x_of((5, 3))}, ValueError, "Expected x of shape"),
        ({"x": x_of((5, 2, 3), np.float64)}, TypeError, "Expected x of dtype float32, got float64: pass "
         "x.astype(np.float32), or build the layer with dtype=np.float64"),
        ({"x": x_of((5, 2, 3), np.int64)}, TypeError,
         "Expected x of dtype float32, got int64: pass x.astype(np.float32)"),
        ({"x": [[[0.0] * 3]]}, TypeError, "numpy array"),
        ({"x": x_of((5, 2, 3)), "lengths": np.array([6, 2])}, ValueError, "between 1 and T=5"),
        ({"x": x_of((5, 2, 3)), "lengths": np.array([0, 2])}, ValueError, "between 1 and T=5"),
        ({"x": x_of((5, 2, 3)), "lengths": np.array([1, 2, 3])}, ValueError, "lengths of shape (B,)"),
        ({"x": x_of((5, 2, 3)), "lengths": np.array([1.5, 2])}, TypeError, "integer lengths"),
        ({"x": x_of((5, 2, 3)), "mask": np.ones((4, 2), bool)}, ValueError, "mask of shape (T, B)"),
        ({"x": x_of((3, 1, 3)), "mask": np.array([[1], [0], [1]], bool)}, ValueError, "prefix"),
        ({"x": x_of((5, 2, 3)), "state": np.zeros((2, 2, 4), np.float32)}, ValueError, "tuple (h, c)"),
        (
            {"x": x_of((5, 2, 3)), "state": (np.zeros((1, 2, 4), np.float32),) * 2},
            ValueError,
            "(L*dirs, B, H) = (2, 2, 4), got (1, 2, 4)",
        ),
    ],
)
def test_forward_rejects(lstm, kwargs, exc, words):
    with pytest.raises(exc) as info:
        lstm.forward(**kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"init": "bogus"}, "Expected init to be one of ('pytorch', 'uniform', 'orthogonal', 'xavier'), got 'bogus'"),
    ({"init": "uniform"}, "Expected init_scale in (0, 1e+06] with init='uniform' (the bound s of U(-s, s), e.g. 0.1; "
                          "weights far larger overflow float32), got None"),
    ({"init": "uniform", "init_scale": "0.1"}, "Expected init_scale in (0, 1e+06] with init='uniform'"),
    ({"init": "uniform", "init_scale": 1e7}, "Expected init_scale in (0, 1e+06] with init='uniform'"),  # was 'scale'
])
def test_init_options_are_named_as_the_layer_names_them(kwargs, words):
    """They were named as rnnkit.init names them ("Expected scheme ...", "Expected scale ..."): not the
    arguments the caller gave."""
    with pytest.raises(ValueError) as info:
        LSTM(3, 4, **kwargs)
    assert words in str(info.value)


def test_nan_input_rejected(lstm):
    x = x_of((4, 2, 3))
    x[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lstm.forward(x)


def test_backward_shape_checked(lstm):
    _, _, cache = lstm.forward(x_of((4, 2, 3)))
    with pytest.raises(ValueError, match=r"dout of shape \(T, B, dirs\*H\) = \(4, 2, 4\)"):
        lstm.backward(np.zeros((4, 2, 3), np.float32), None, cache)
    # as x and dstate are: a NaN dout made every gradient NaN, an int one was read as a gradient
    with pytest.raises(ValueError, match="Expected finite values in dout, got NaN or inf"):
        lstm.backward(np.full((4, 2, 4), np.nan, np.float32), None, cache)
    with pytest.raises(TypeError, match="Expected dout of a float dtype \\(the layer's is float32\\), got int64"):
        lstm.backward(np.ones((4, 2, 4), np.int64), None, cache)
    lstm.backward(np.ones((4, 2, 4), np.float64), None, cache)  # another float dtype is cast, as before
    # dstate as dout: a float64 gradient into a float32 layer is cast (it was refused while dout was cast)
    dh = np.random.default_rng(1).standard_normal((2, 2, 4))
    want = lstm.backward(None, (dh.astype(np.float32), dh.astype(np.float32)), cache)
    got = lstm.backward(None, (dh, dh), cache)
    assert got[0].dtype == np.float32 and np.array_equal(got[0], want[0])
    with pytest.raises(TypeError, match=r"dstate\[1\] of a float dtype \(the layer's is float32\), got int64"):
        lstm.backward(None, (dh, np.ones((2, 2, 4), np.int64)), cache)


@pytest.mark.parametrize(
    "build,words",
    [
        (lambda: RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity 'tanh' or 'relu'"),
        (lambda: GRU(3, 4, nonlinearity="relu"), "Expected nonlinearity 'tanh' for GRU"),
        (lambda: LSTM(3, 0), "hidden_size to be an integer >= 1"),
        (lambda: LSTM(3, 4, 0), "num_layers to be an integer >= 1"),
        (lambda: LSTM(3, 4, dropout=1.0), "dropout in [0, 1)"),
        (lambda: LSTM(3, 4, tbptt=0), "tbptt to be an integer >= 1"),
        (lambda: LSTM(3, 4, dtype=np.int32), "dtype float32 or float64"),
        (lambda: make_recurrent({"cell": "tree", "input_size": 2, "hidden_size": 2}), "cell 'rnn', 'lstm' or 'gru'"),
    ],
)
def test_constructor_rejects(build, words):
    with pytest.raises((ValueError, TypeError)) as info:
        build()
    assert words in str(info.value)


def test_dropout_needs_rng_and_is_reproducible():
    layer = GRU(3, 4, 3, dropout=0.5, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="rng"):
        layer.forward(x, training=True)
    a = layer.forward(x, training=True, rng=np.random.default_rng(9))[0]
    b = layer.forward(x, training=True, rng=np.random.default_rng(9))[0]
    c = layer.forward(x)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_same_seed_same_parameters():
    a = LSTM(3, 4, 2, bidirectional=True, rng=np.random.default_rng(5)).params
    b = LSTM(3, 4, 2, bidirectional=True, rng=np.random.default_rng(5)).params
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert a["weight_ih_l1"].shape == (16, 8)
    assert np.abs(a["weight_hh_l0"]).max() <= 0.5


def test_config_round_trip():
    layer = RNN(3, 4, 2, bidirectional=True, nonlinearity="relu", learn_init=True, tbptt=5)
    again = make_recurrent(layer.config.to_dict())
    assert again.config == layer.config
    assert again.params.keys() == layer.params.keys()


def test_initialisation_options():
    rng = np.random.default_rng(0)
    lstm = LSTM(3, 4, 2, init="orthogonal", forget_bias=1.0, rng=rng)
    w = lstm.params["weight_hh_l1"].astype(np.float64)
    for g in range(4):
        block = w[4 * g : 4 * g + 4]
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(lstm.params["bias_ih_l0"][4:8] + lstm.params["bias_hh_l0"][4:8], 1.0)
    gru = GRU(3, 4, init="uniform", init_scale=0.05, rng=rng)
    assert max(np.abs(v).max() for v in gru.params.values()) <= 0.05
    with pytest.raises(ValueError, match="forget_bias only for LSTM"):
        GRU(3, 4, forget_bias=1.0)
    again = make_recurrent(lstm.config.to_dict(), rng=np.random.default_rng(0))
    assert again.config == lstm.config


@pytest.mark.parametrize("cell,gates,states", [("elman", 1, 1), ("gru", 3, 1), ("lstm", 4, 2)])
def test_cell_kernels_check_the_shapes_they_rely_on(cell, gates, states):
    """The kernels under the layers: an initial state of batch 1 used to broadcast to every sequence."""
    import importlib

    kernel = importlib.import_module(f"rnnkit.cells.{cell}")
    rng = np.random.default_rng(0)
    T, B, D, H = 3, 4, 5, 6
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    G = gates * H
    w = [rng.standard_normal(s).astype(np.float32) for s in ((G, D), (G, H), (G,), (G,))]

    def state(b):
        s = tuple(np.zeros((b, H), np.float32) for _ in range(states))
        return s if cell == "lstm" else s[0]

    kernel.forward(x, state(B), *w)  # the right shapes run
    first = r"state0\[0\]" if cell == "lstm" else "h0"
    with pytest.raises(ValueError, match=first + r" of shape \(B, H\) = \(4, 6\), got \(1, 6\)"):
        kernel.forward(x, state(1), *w)
    with pytest.raises(ValueError, match=r"x of shape \(T, B, D\) with D = 4 as in w_ih"):
        kernel.forward(x, state(B), w[0][:, :-1], *w[1:])
    with pytest.raises(ValueError, match="w_ih of shape"):
        kernel.forward(x, state(B), w[0][:-1], *w[1:])
    with pytest.raises(ValueError, match=r"x of shape \(T, B, D\)"):
        kernel.forward(x[0], state(B), *w)


def test_options_that_would_do_nothing_are_warned_about():
    """LSTM(3, 4, 1, dropout=0.5) (dropout acts between layers) and variational_dropout without dropout
    were accepted silently; PyTorch warns on the first.  The tasks' own layers pass neither."""
    with pytest.warns(UserWarning, match="dropout=0.5 acts between stacked layers, so with num_layers=1 it has no"):
        LSTM(3, 4, 1, dropout=0.5)
    with pytest.warns(UserWarning, match="variational_dropout shares each dropout mask across time"):
        GRU(3, 4, 2, variational_dropout=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LSTM(3, 4, 2, dropout=0.5, variational_dropout=True)  # both act: no warning
        from rnnkit.lm.model import LanguageModel, LMConfig

        LanguageModel(LMConfig(vocab_size=9, embedding_dim=4, hidden_size=4, num_layers=1, dropout_hidden=0.5,
                               variational=True), np.random.default_rng(0))


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_huge_values_in_padding_change_nothing_and_print_nothing(cls):
    """Padding is never read: 1e30 there gives the zero-padding run's gradients, and the backward's bulk
    factors (computed over all steps, padding included) no longer print overflow warnings."""
    import warnings

    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    dout = rng.standard_normal((5, 2, 4)).astype(np.float32)
    runs = []
    for pad in (0.0, 1e30):
        layer = cls(3, 4, dtype=np.float32, rng=np.random.default_rng(0))
        xp = x.copy()
        xp[3:, 1] = pad
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out, _, cache = layer.forward(xp, lengths=np.array([5, 3]))
            runs.append((out, *layer.backward(dout, None, cache)))
    (out0, dx0, _, g0), (out1, dx1, _, g1) = runs
    assert np.array_equal(out0, out1) and np.array_equal(dx0, dx1)
    assert all(np.array_equal(g0[k], g1[k]) for k in g0)


@pytest.mark.parametrize("mask, exc, words", [
    (np.array([[1, 1], [1, 1], [0.5, 1], [0, 1]]), ValueError,
     "Expected mask to be bool or hold only 0 and 1, got values [0.5]"),
    (np.full((4, 2), 7), ValueError, "Expected mask to be bool or hold only 0 and 1, got values [7]"),
    (np.full((4, 2), np.nan), ValueError, "Expected mask to be bool or hold only 0 and 1, got values [nan]"),
    (np.full((4, 2), "1"), TypeError, "Expected mask of dtype bool (or 0/1 numbers), got <U1"),
])
@pytest.mark.parametrize("layer", [RNN, LSTM, GRU])
def test_a_mask_that_is_not_bool_or_0_1_is_refused(layer, mask, exc, words):
    """Any non-zero value was read as a real token: 0.5 or 7 ran as 1, as softmax_cross_entropy refuses."""
    with pytest.raises(exc) as info:
        layer(3, 4).forward(x_of((4, 2, 3)), mask=mask)
    assert str(info.value) == words


def test_a_mask_of_0_1_numbers_runs_as_the_bool_one(lstm):
    x = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    mask = np.array([[1, 1], [1, 1], [0, 1], [0, 1]])
    for numbers in (mask, mask.astype(np.float32)):
        np.testing.assert_array_equal(lstm.forward(x, mask=numbers)[0], lstm.forward(x, mask=mask == 1)[0])


def test_an_all_padding_mask_column_is_named_in_the_masks_words(lstm):
    """It said "Expected every length between 1 and T=3, got min 0": lengths the caller never passed."""
    mask = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0]], bool)
    with pytest.raises(ValueError) as info:
        lstm.forward(x_of((3, 3, 3)), mask=mask)
    assert str(info.value) == ("Expected at least one real step in every sequence, got mask column 1 all padding: "
                               "drop that sequence from the batch")
    mask[:, 2] = False
    with pytest.raises(ValueError, match=r"got mask columns \[1, 2\] all padding: drop those sequences"):
        lstm.forward(x_of((3, 3, 3)), mask=mask)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_learned_initial_state_of_another_dtype_is_named_as_a_parameter(cell):
    """A float64 h0 put into a float32 layer's params met the kernel's check as 'state0[0]' or 'h0 of dtype
    float32 (x's)', arguments the caller never passed; it is named as the weights are."""
    from rnnkit.recurrent import make_recurrent

    layer = make_recurrent({"cell": cell, "input_size": 3, "hidden_size": 4, "learn_init": True},
                           rng=np.random.default_rng(0))
    layer.params["h0_l0"] = np.zeros(4)  # float64
    with pytest.raises(TypeError, match=r"Expected params\['h0_l0'\] of dtype float32, got float64"):
        layer.forward(np.zeros((5, 2, 3), np.float32))


def test_a_wrong_dtype_message_gives_the_fixes_that_work():
    """Both fixes the float64 message names make the call run: the converted input, and a float64 layer; an
    integer input is told to convert (a layer of integers is no fix)."""
    from rnnkit.nn import Linear

    x = np.random.default_rng(1).standard_normal((5, 2, 3))  # float64
    with pytest.raises(TypeError, match=r"pass x\.astype\(np\.float32\), or build the layer with dtype=np\.float64$"):
        LSTM(3, 4, rng=np.random.default_rng(0)).forward(x)
    assert LSTM(3, 4, rng=np.random.default_rng(0)).forward(x.astype(np.float32))[0].dtype == np.float32
    assert LSTM(3, 4, rng=np.random.default_rng(0), dtype=np.float64).forward(x)[0].dtype == np.float64
    with pytest.raises(TypeError, match=r"got float64: pass x\.astype\(np\.float32\), or build the layer with"):
        Linear(3, 4, np.random.default_rng(0)).forward(x)
    assert Linear(3, 4, np.random.default_rng(0), dtype=np.float64).forward(x)[0].dtype == np.float64
    with pytest.raises(TypeError, match=r"got int64: pass x\.astype\(np\.float32\)$"):
        LSTM(3, 4, rng=np.random.default_rng(0)).forward(x.astype(np.int64))
