"""Residual connections between stacked recurrent layers (``residual=True``, GNMT): finite differences through a
3-layer stack with masking and dropout, parity with a residual stack built by hand from one-layer torch modules,
padded steps zero, and where residual cannot apply."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.recurrent import GRU, LSTM, RNN, make_recurrent

CASES = [(RNN, "RNN", {"nonlinearity": "tanh"}), (LSTM, "LSTM", {}), (GRU, "GRU", {})]
IDS = ["rnn", "lstm", "gru"]
T, B, D, H, L = 6, 3, 2, 3, 3
LENGTHS = np.array([4, 6, 2])


def _layer(cls, kw, bidirectional, residual=True, dtype=np.float64, seed=7, dropout=0.0):
    rng = np.random.default_rng(seed)
    layer = cls(D, H, L, bidirectional=bidirectional, dtype=dtype, rng=rng, residual=residual, dropout=dropout, **kw)
    for k, v in layer.params.items():  # non-zero biases, wider than the default init
        layer.params[k] = rng.uniform(-0.6, 0.6, v.shape).astype(dtype)
    return layer, rng


def _states(tname, rng, S):
    if tname == "LSTM":
        return (rng.standard_normal((S, B, H)), rng.standard_normal((S, B, H)))
    return rng.standard_normal((S, B, H))


def _dot(a, b):
    pairs = zip(a, b) if isinstance(a, tuple) else [(a, b)]
    return sum(float(np.sum(x * y)) for x, y in pairs)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_bptt_through_a_residual_stack_matches_finite_differences(cls, tname, kw, bidirectional):
    """Three layers (two with a residual path), unequal lengths, dropout between layers (fixed masks: the same
    generator seed at every call), random upstream gradients on the outputs and the final states."""
    layer, rng = _layer(cls, kw, bidirectional, dropout=0.3)
    S = L * layer.num_directions
    x = rng.standard_normal((T, B, D))
    state, dstate = _states(tname, rng, S), _states(tname, rng, S)
    dout = rng.standard_normal((T, B, layer.num_directions * H))

    def run():
        return layer.forward(x, state=state, lengths=LENGTHS, training=True, rng=np.random.default_rng(3))

    out, _, cache = run()
    dx, dstate0, grads = layer.backward(dout, dstate, cache)

    def f():
        o, fin, _ = run()
        return float(np.sum(o * dout)) + _dot(fin, dstate)

    def close(name, analytic, numeric):
        err = np.max(np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric)))
        assert err < 1e-7, f"{name}: max relative difference {err:.3e}"

    for name, p in layer.params.items():
        close(name, grads[name], numeric_grad(f, p))
    close("x", dx, numeric_grad(f, x))
    for i, (s, ds) in enumerate(zip(*(v if isinstance(v, tuple) else (v,) for v in (state, dstate0)))):
        close(f"state0[{i}]", ds, numeric_grad(f, s))
    for b, n in enumerate(LENGTHS):
        assert np.all(out[n:, b] == 0.0), f"out is not zero after length {n} in sequence {b}"
        assert np.all(dx[n:, b] == 0.0), f"dx is not zero after length {n} in sequence {b}"


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_residual_changes_the_output_by_each_upper_layers_input(cls, tname, kw, bidirectional):
    """Without dropout the residual stack's top output is the plain stack's computed layer by layer with
    y_l = RNN_l(y_{l-1}) + y_{l-1} for l >= 1: checked against one-layer rnnkit layers, so the test fails if the
    residual were added anywhere else (to layer 0, after dropout, to the states)."""
    res, rng = _layer(cls, kw, bidirectional)
    x = rng.standard_normal((T, B, D))
    out, final, _ = res.forward(x, lengths=LENGTHS)
    dirs = res.num_directions
    y, finals = x, []
    for k in range(L):
        one = cls(D if k == 0 else dirs * H, H, 1, bidirectional=bidirectional, dtype=np.float64, **kw)
        for name in one.params:
            one.params[name][...] = res.params[name.replace("_l0", f"_l{k}")]
        z, fin, _ = one.forward(y, lengths=LENGTHS)
        y = z + y if k > 0 else z
        finals.append(fin)
    np.testing.assert_allclose(out, y, atol=1e-12)
    h = final[0] if tname == "LSTM" else final
    np.testing.assert_allclose(h, np.concatenate([f[0] if tname == "LSTM" else f for f in finals]), atol=1e-12)
    plain, _ = _layer(cls, kw, bidirectional, residual=False)
    assert np.abs(plain.forward(x, lengths=LENGTHS)[0] - out).max() > 0.1


def test_dropout_acts_on_the_recurrent_branch_and_not_on_the_identity_path():
    """With the second layer's weights 0 its Elman branch gives tanh(0) = 0, so the output is the identity path
    alone: the first layer's output whole, though dropout (p = 0.5) drops half of the second layer's input."""
    rng = np.random.default_rng(5)
    layer = RNN(D, H, 2, dtype=np.float64, residual=True, dropout=0.5, rng=rng)
    for name in layer.params:
        if name.endswith("_l1"):
            layer.params[name][...] = 0.0
    first = RNN(D, H, 1, dtype=np.float64)
    for name in first.params:
        first.params[name][...] = layer.params[name]
    x = rng.standard_normal((T, B, D))
    out, _, _ = layer.forward(x, lengths=LENGTHS, training=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(out, first.forward(x, lengths=LENGTHS)[0])


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-4)], ids=["f64", "f32"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_matches_a_residual_stack_of_torch_layers(cls, tname, kw, bidirectional, dtype, tol):
    """torch has no residual option: the same stack built by hand from one-layer torch.nn modules over a packed
    batch gives the same outputs, final states and every gradient."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    res, rng = _layer(cls, kw, bidirectional, dtype=dtype)
    dirs = res.num_directions
    S = L * dirs
    x = rng.standard_normal((T, B, D)).astype(dtype)
    state = _states(tname, rng, S)
    state = tuple(s.astype(dtype) for s in state) if tname == "LSTM" else state.astype(dtype)
    dstate = _states(tname, rng, S)
    dstate = tuple(s.astype(dtype) for s in dstate) if tname == "LSTM" else dstate.astype(dtype)
    dout = rng.standard_normal((T, B, dirs * H)).astype(dtype)
    out, final, cache = res.forward(x, state=state, lengths=LENGTHS)
    dx, dstate0, grads = res.backward(dout, dstate, cache)

    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    modules = []
    for k in range(L):
        m = getattr(torch.nn, tname)(D if k == 0 else dirs * H, H, 1, bidirectional=bidirectional, **kw).to(tdtype)
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(torch.from_numpy(res.params[name.replace("_l0", f"_l{k}")]))
        modules.append(m)
    xt = torch.from_numpy(x).requires_grad_(True)
    parts = [torch.from_numpy(s).requires_grad_(True) for s in (state if tname == "LSTM" else (state,))]
    lengths = torch.from_numpy(LENGTHS)
    y, finals = xt, []
    for k, m in enumerate(modules):
        rows = slice(k * dirs, (k + 1) * dirs)
        s0 = tuple(p[rows] for p in parts) if tname == "LSTM" else parts[0][rows]
        z, fin = m(pack_padded_sequence(y, lengths, enforce_sorted=False), s0)
        z, _ = pad_packed_sequence(z, total_length=T)
        y = z + y if k > 0 else z  # the residual connection, from the second layer on
        finals.append(fin)
    tfinal = [torch.cat([f[i] for f in finals]) for i in range(2)] if tname == "LSTM" else [torch.cat(finals)]
    loss = (y * torch.from_numpy(dout)).sum()
    for f, d in zip(tfinal, dstate if tname == "LSTM" else (dstate,)):
        loss = loss + (f * torch.from_numpy(d)).sum()
    loss.backward()

    checks = {"out": (out, y.detach().numpy()), "dx": (dx, xt.grad.numpy())}
    for i, (mine, d0) in enumerate(zip(final if tname == "LSTM" else (final,),
                                       dstate0 if tname == "LSTM" else (dstate0,))):
        checks[f"final[{i}]"] = (mine, tfinal[i].detach().numpy())
        checks[f"dstate0[{i}]"] = (d0, parts[i].grad.numpy())
    for k, m in enumerate(modules):
        for name, p in m.named_parameters():
            ours = name.replace("_l0", f"_l{k}")
            checks["grad " + ours] = (grads[ours], p.grad.numpy())
    assert set(grads) == set(res.params)
    for name, (mine, theirs) in checks.items():
        assert mine.dtype == dtype, f"{name} came back as {mine.dtype}"
        diff = float(np.abs(mine.astype(np.float64) - theirs).max())
        assert diff < tol, f"{name}: max difference {diff:.3e} (tolerance {tol})"


def test_residual_needs_two_layers_and_is_kept_in_the_config():
    with pytest.raises(ValueError, match=r"^Expected num_layers >= 2 with residual=True \(it adds each layer's input "
                                         r"to its output from the second layer on\), got num_layers=1$"):
        LSTM(4, 4, 1, residual=True)
    with pytest.raises(TypeError, match="Expected residual to be True or False, got 'yes'"):
        GRU(4, 4, 2, residual="yes")
    layer = GRU(4, 5, 2, bidirectional=True, residual=True)
    assert layer.config.residual and layer.config.to_dict()["residual"] is True
    again = make_recurrent(layer.config.to_dict())
    assert again.config == layer.config
    old = {k: v for k, v in layer.config.to_dict().items() if k != "residual"}  # a record from before residual
    assert make_recurrent(old).config.residual is False


def test_torch_module_and_grad_norms_per_step_refuse_a_residual_stack():
    from rnnkit.diagnostics import grad_norms_per_step

    layer = RNN(3, 4, 2, residual=True)
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="residual"):
        grad_norms_per_step(layer, x, rng=np.random.default_rng(0))
    pytest.importorskip("torch")
    from rnnkit.torch_io import to_torch_module

    with pytest.raises(ValueError, match=r"torch's RNN, LSTM and GRU have no residual connections"):
        to_torch_module(layer)


def test_every_model_passes_residual_to_its_stack():
    """The language model, the tagger, the classifier and the translator's encoder: the same seed with and without
    residual gives the same weights and the flag in the stack."""
    from rnnkit.classify.model import Classifier, ClassifierConfig
    from rnnkit.lm.model import LanguageModel, LMConfig
    from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig
    from rnnkit.tagging.model import Tagger, TaggerConfig

    makers = {
        "lm": lambda r: LanguageModel(LMConfig(vocab_size=7, embedding_dim=4, hidden_size=4, residual=r),
                                      np.random.default_rng(0)).rnn,
        "tagger": lambda r: Tagger(TaggerConfig(7, 3, embedding_dim=4, hidden_size=4, num_layers=2, residual=r),
                                   np.random.default_rng(0)).rnn,
        "classifier": lambda r: Classifier(ClassifierConfig(7, 2, embedding_dim=4, hidden_size=4, num_layers=2,
                                                            residual=r), np.random.default_rng(0)).rnn,
        "seq2seq": lambda r: Seq2Seq(Seq2SeqConfig(7, 8, encoder_layers=2, residual=r),
                                     np.random.default_rng(0)).encoder,
    }
    for name, make in makers.items():
        plain, res = make(False), make(True)
        assert res.config.residual and not plain.config.residual, name
        assert all(np.array_equal(plain.params[k], res.params[k]) for k in plain.params), name
    with pytest.raises(ValueError, match="Expected num_layers >= 2 with residual=True"):
        Classifier(ClassifierConfig(7, 2, residual=True), np.random.default_rng(0))
    with pytest.raises(TypeError, match="residual"):
        ClassifierConfig(7, 2, num_layers=2, residual=1)
