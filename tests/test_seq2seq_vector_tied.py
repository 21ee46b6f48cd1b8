"""VectorDecoder with its output layer tied to the target embedding (``tie_weights``, Press & Wolf 2017),
as test_seq2seq_tied checks Seq2Seq's: finite differences, torch parity with one shared Parameter, the
summed gradient, sizes refused, a checkpoint of the one matrix saved and loaded, decoding, and one batch
overfitted.

Finite differences in float64 with random non-zero parameters (biases too), random features, a random
dloss, target batches of unequal lengths (masked), T = 6 target steps (the helpers of seq2seq_tiny).
"""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import _batch, _check_gradients, _one_blas_thread, _randomise  # noqa: F401 (a fixture)
from seq2seq_torch import _assert_matches_torch, _torch_vector_loss
from test_seq2seq_tied import check_tying_is_sharing

from rnnkit import checkpoint as ckpt
from rnnkit.optim import make_optimizer
from rnnkit.seq2seq import toy
from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.model import VectorDecoder, VectorDecoderConfig

F, V = 6, 6  # features, target vocabulary (seq2seq_tiny's V_TGT: its _batch draws the targets)


def _tied(**kw):
    """A float64 tied VectorDecoderConfig, E = H = 4, two layers, input feeding unless told."""
    base = dict(cell="lstm", embedding_dim=4, hidden_size=4, num_layers=2, input_feeding=True, dtype="float64",
                tie_weights=True)
    return VectorDecoderConfig(F, V, **{**base, **kw})


def _targets(rng):
    _, _, tgt_in, tgt_out, tgt_mask = _batch(rng)  # (6, 3), the second and third rows masked after 3 and 5
    return tgt_in, tgt_out, tgt_mask


CASES = [dict(cell=c, input_feeding=f) for c in ("rnn", "lstm", "gru") for f in (True, False)]
CASES += [
    dict(cell="gru", num_layers=1),
    dict(cell="lstm", num_layers=3, input_feeding=False),
    dict(cell="gru", sampling_rate=0.5, dropout=0.2, weight_drop=0.3),
    dict(cell="lstm", dropout=0.3),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_tied_vector_decoder_gradient_matches_finite_differences(case):
    case = dict(case)
    rate = case.pop("sampling_rate", 0.0)
    rng = np.random.default_rng(30)
    model = VectorDecoder(_tied(**case), rng)
    assert "output.weight" not in model.params
    _randomise(model, rng)
    feats = rng.standard_normal((3, F))
    targets = _targets(rng)
    assert targets[2].shape[0] >= 5 and not targets[2].all()  # T >= 5 steps, some of them masked
    training = model.config.dropout > 0 or model.config.weight_drop > 0 or rate > 0

    def loss():  # a fixed seed: the same dropout masks and sampled tokens at every call
        return model.forward(feats, *targets, training=training, rng=np.random.default_rng(7), sampling_rate=rate)[0]

    _, cache = model.forward(feats, *targets, training=training, rng=np.random.default_rng(7), sampling_rate=rate)
    dloss = float(rng.uniform(0.5, 1.5))
    # every entry of the shared table (6 x 4): a row the targets never feed still gets the output layer's gradient
    _check_gradients(loss, model.params, model.backward(dloss, cache), rng, dloss, per_param=30)


@pytest.mark.parametrize("input_feeding", [False, True], ids=["", "input-feeding"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_tied_vector_decoder_matches_pytorch(cell, input_feeding):
    """torch's decoder with m.output.weight = m.tgt_embedding.weight (one Parameter): the loss and every
    gradient, dloss != 1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(31)
    cfg = _tied(cell=cell, input_feeding=input_feeding)
    model = VectorDecoder(cfg, rng)
    _randomise(model, rng)
    feats = rng.standard_normal((3, F))
    targets = _targets(rng)
    dloss = float(rng.uniform(0.5, 1.5))
    loss, cache = model.forward(feats, *targets)
    grads = model.backward(dloss, cache)
    t_loss, named = _torch_vector_loss(torch, cfg, model.params, feats, *targets)
    assert "output.weight" not in named and named["tgt_embedding.weight"].shape == (V, 4)
    (dloss * t_loss).backward()
    _assert_matches_torch(loss, grads, t_loss, named)


def test_tied_equals_an_untied_model_with_the_same_matrix_and_summed_gradients():
    """Tying changes nothing but the sharing (test_seq2seq_tied.check_tying_is_sharing)."""
    rng = np.random.default_rng(5)
    feats = rng.standard_normal((3, F))
    p_grads = check_tying_is_sharing(VectorDecoder, VectorDecoderConfig, _tied(cell="gru"), (feats, *_targets(rng)))
    assert np.abs(p_grads["tgt_embedding.weight"]).max() > 1e-3  # and so is the embedding's


def test_tying_mismatched_sizes_is_refused_naming_both():
    with pytest.raises(ValueError, match=r"embedding_dim == hidden_size to tie .* got embedding_dim=3 and "
                                         r"hidden_size=4: make them equal or set tie_weights=False"):
        _tied(embedding_dim=3)
    with pytest.raises(ValueError, match="embedding_dim=32 and hidden_size=64"):
        VectorDecoderConfig(F, V, tie_weights=True)  # the defaults differ
    with pytest.raises(TypeError, match="tie_weights"):
        _tied(tie_weights="yes")
    assert VectorDecoderConfig(F, V, embedding_dim=3, hidden_size=4).tie_weights is False  # untied: any sizes


def test_tied_checkpoint_holds_one_matrix_loads_and_decodes_the_same(tmp_path):
    """Parameters and config saved as safetensors + JSON, rebuilt from the config's dict: the file has no
    output.weight, the loaded decoder has the same loss and decodes the same hypotheses; the tied arrays
    do not load into an untied decoder (it lacks output.weight), and a config dict written before
    tie_weights existed builds an untied decoder."""
    cfg = _tied(cell="gru", dtype="float32")
    model = VectorDecoder(cfg, np.random.default_rng(8))
    _randomise(model, np.random.default_rng(9), scale=1.0)
    path = ckpt.save_checkpoint(tmp_path / "tied.safetensors", model.params, {"config": cfg.to_dict()})
    arrays, meta = ckpt.load_checkpoint(path)
    assert "output.weight" not in arrays and arrays["tgt_embedding.weight"].shape == (V, 4)
    loaded = VectorDecoder(VectorDecoderConfig(**meta["config"]), np.random.default_rng(0))
    assert loaded.config == cfg and loaded.config.tie_weights is True
    loaded.load_arrays(arrays)
    for k, v in model.params.items():
        assert np.array_equal(loaded.params[k], v), k
    rng = np.random.default_rng(10)
    feats, targets = rng.standard_normal((3, F)).astype(np.float32), _targets(rng)
    assert loaded.forward(feats, *targets)[0] == model.forward(feats, *targets)[0]
    want = beam_search(model, feats, None, 3, 7, toy.BOS, toy.EOS)
    got = beam_search(loaded, feats, None, 3, 7, toy.BOS, toy.EOS)
    assert [[h.tokens for h in hs] for hs in got] == [[h.tokens for h in hs] for hs in want]
    assert [[h.score for h in hs] for hs in got] == [[h.score for h in hs] for hs in want]

    untied = VectorDecoder(VectorDecoderConfig(**{**cfg.to_dict(), "tie_weights": False}), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"missing \['output.weight'\], unexpected \[\]"):
        untied.load_arrays(arrays)
    old = {k: v for k, v in cfg.to_dict().items() if k != "tie_weights"}
    assert "output.weight" in VectorDecoder(VectorDecoderConfig(**old), np.random.default_rng(0)).params


def test_tied_greedy_scores_are_the_teacher_forced_log_probabilities():
    """Decoding reads the tied matrix as the loss does: each greedy hypothesis's score is minus the
    teacher-forced NLL of its own tokens (EOS included when it finished)."""
    rng = np.random.default_rng(11)
    model = VectorDecoder(_tied(cell="lstm"), rng)
    _randomise(model, rng, scale=1.0)
    model.params["output.bias"][toy.EOS] += 1.6  # some sentences end, others run to max_len
    feats = rng.standard_normal((8, F))
    hyps = greedy_decode(model, feats, None, 8, toy.BOS, toy.EOS)
    assert any(h.finished for h in hyps) and not all(h.finished for h in hyps)
    for b, h in enumerate(hyps):
        out = list(h.tokens) + ([toy.EOS] if h.finished else [])
        tgt_in = np.array([toy.BOS, *out[:-1]])[:, None]
        tgt_out = np.array(out)[:, None]
        nll = model.forward(feats[b:b + 1], tgt_in, tgt_out, np.ones_like(tgt_in, dtype=bool))[0]
        assert abs(h.score + nll) < 1e-9, f"sentence {b}: score {h.score} vs -NLL {-nll}"


def test_a_tied_vector_decoder_overfits_one_batch():
    """Number to words from its digit one-hots: 16 numbers learned by heart with the tied table."""
    rng = np.random.default_rng(0)
    vocab = toy.number_vocab()
    nums = rng.choice(10000, 16, replace=False)
    feats = toy.number_features(nums, 4)
    targets = toy.target_arrays([vocab.encode(toy.number_to_words(n)) for n in nums])
    model = VectorDecoder(VectorDecoderConfig(40, len(vocab), cell="gru", embedding_dim=32, hidden_size=32,
                                              tie_weights=True), rng)
    opt = make_optimizer("adam", model.params, lr=1e-2)
    first = None
    for _ in range(150):
        loss, cache = model.forward(feats, *targets, training=True, rng=rng)
        first = loss if first is None else first
        opt.step(model.backward(1.0 / targets[2].sum(), cache))
    assert loss < 0.02 * first, f"loss {first:.2f} -> {loss:.4f}"
    hyps = greedy_decode(model, feats, None, 10, toy.BOS, toy.EOS)
    assert [vocab.decode(h.tokens) for h in hyps] == [toy.number_to_words(n) for n in nums]
