"""Coverage's (rnnkit.seq2seq.coverage) backward: float64 finite differences on every entry of every parameter
(attention.w_cov and both embeddings included) with the coverage loss on and off, with and without copy attention,
unequal source and target lengths, T = 6, random parameters and a random upstream gradient; and the same loss and
every gradient as the model written in PyTorch (seq2seq_torch)."""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import _batch, _config, _randomise, assert_float32_follows, assert_rows_add_up
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)
from seq2seq_torch import _assert_matches_torch, _torch_loss
from test_seq2seq_copy_grads import copy_batch

from rnnkit.gradcheck import numeric_grad_at
from rnnkit.seq2seq.coverage import NAME
from rnnkit.seq2seq.model import Seq2Seq

CASES = [dict(cell="lstm", decoder_layers=2, encoder_layers=1, coverage_loss=0.0),
         dict(cell="gru", encoder_layers=1, decoder_layers=1, coverage_loss=0.7),
         dict(cell="gru", encoder_layers=1, decoder_layers=1, copy=True, coverage_loss=1.3),
         dict(cell="lstm", encoder_layers=1, decoder_layers=1, copy=True, coverage_loss=0.0, input_feeding=False),
         dict(cell="rnn", encoder_layers=1, decoder_layers=1, bidirectional=False, dropout=0.3, weight_drop=0.3,
              coverage_loss=1.0),
         dict(cell="gru", encoder_layers=1, decoder_layers=1, tgt_embedding_dim=5, tie_weights=True, copy=True,
              sampling_rate=0.5, coverage_loss=0.5)]


def _setup(case, seed):
    """(model, batch, src_ext or None, lambda, sampling rate) for one case, with random parameters."""
    case = dict(case)
    rate, lam = case.pop("sampling_rate", 0.0), case.pop("coverage_loss")
    rng = np.random.default_rng(seed)
    model = Seq2Seq(_config(attention="additive", coverage=True, **case), rng)
    _randomise(model, rng)
    if model.config.copy:
        *batch, ext = copy_batch(rng)
    else:
        batch, ext = list(_batch(rng)), None
    return model, batch, ext, lam, rate


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_gradient_entry_matches_finite_differences(case):
    model, batch, ext, lam, rate = _setup(case, 3)
    assert model.params[NAME].shape == (model.config.attention_size,)
    training = model.config.dropout > 0 or model.config.weight_drop > 0 or rate > 0

    def run():  # a fixed seed: the same dropout masks and sampled tokens at every call
        return model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate,
                             src_ext=ext, coverage_loss=lam)

    _, cache = run()
    assert (cache[1].coverage_loss > 0) == (lam > 0)
    dloss = float(np.random.default_rng(4).uniform(0.5, 1.5))
    grads = model.backward(dloss, cache)
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        num = dloss * numeric_grad_at(lambda: run()[0], p, range(p.size), 1e-6)
        diff = np.abs(grads[name].reshape(-1) - num) / (1e-7 + 1e-5 * np.abs(num))
        assert diff.max() < 1.0, f"{name}: entry {int(diff.argmax())} off by {diff.max():.2f} x (1e-7 + 1e-5 |num|)"
    assert np.abs(grads[NAME]).max() > 1e-5  # coverage is really in the loss (FD noise ~1e-9)


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[2], CASES[3]],
                         ids=lambda c: f"{c['cell']}-copy={c.get('copy', False)}-lambda={c['coverage_loss']}")
def test_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    model, batch, ext, lam, _ = _setup(case, 11)
    loss, cache = model.forward(*batch, src_ext=ext, coverage_loss=lam)
    grads = model.backward(1.0, cache)
    t_loss, named = _torch_loss(torch, model.config, model.params, *batch, src_ext=ext, coverage_loss=lam)
    t_loss.backward()
    _assert_matches_torch(loss, grads, t_loss, named)


def test_coverage_loss_is_lambda_times_the_summed_minimum():
    """The loss part is lambda sum_t mask_t sum_i min(a_ti, cov_ti), cov_t the sum of the earlier rows, as read
    off the model's own teacher-forced attention weights; lambda 0 leaves the NLL alone."""
    model, batch, _, _, _ = _setup(CASES[1], 5)
    nll, _ = model.forward(*batch)
    both, cache = model.forward(*batch, coverage_loss=0.7)
    src, lengths, tgt_in, _, mask = batch
    a = model.attention_weights(src, lengths, tgt_in)  # (T, B, S)
    cov = np.cumsum(a, axis=0) - a  # sum over t' < t
    expected = 0.7 * float((mask[:, :, None] * np.minimum(a, cov)).sum())
    assert expected > 0.1
    assert abs(cache[1].coverage_loss - expected) < 1e-12 * max(1.0, expected)
    assert abs(both - nll - expected) < 1e-9


def test_padding_and_batch_companions_change_nothing():
    """A sentence's loss and gradients (coverage's included) are its own: the batch equals the sum of its rows."""
    model, batch, ext, lam, _ = _setup(CASES[2], 5)
    assert_rows_add_up(model, *batch, src_ext=ext, coverage_loss=lam)


def test_float32_follows_float64():
    kw = dict(cell="lstm", attention="additive", coverage=True, encoder_layers=1, decoder_layers=1)
    assert_float32_follows(lambda dtype: Seq2Seq(_config(dtype=dtype, **kw), np.random.default_rng(0)),
                           _batch(np.random.default_rng(1)), coverage_loss=1.0)


@pytest.mark.parametrize("attention", ["general", "dot", "none"])
def test_other_scores_are_refused(attention):
    with pytest.raises(ValueError, match=r"^Expected attention='additive' for coverage=True .*got attention="):
        _config(attention=attention, coverage=True)


def test_coverage_loss_needs_a_coverage_model():
    rng = np.random.default_rng(0)
    model = Seq2Seq(_config(attention="additive", encoder_layers=1, decoder_layers=1), rng)
    with pytest.raises(ValueError, match=r"^Expected coverage_loss 0 for a model without coverage"):
        model.forward(*_batch(rng), coverage_loss=1.0)


def test_the_task_trains_on_the_coverage_loss_and_reports_the_nll():
    """Seq2SeqTask(coverage_loss=lambda): the gradients are those of NLL + coverage loss, the loss it reports is the
    NLL alone (per target token); a model without coverage is refused."""
    from rnnkit.data.parallel import make_batch
    from rnnkit.seq2seq.task import Seq2SeqTask

    model, batch, _, _, _ = _setup(CASES[1], 8)
    rng = np.random.default_rng(1)
    pairs = [(rng.integers(3, 7, size=n), rng.integers(3, 6, size=m)) for n, m in ((5, 4), (2, 3), (4, 6))]
    task = Seq2SeqTask(model, pairs, coverage_loss=0.7)
    b = make_batch(pairs)
    result = task.train_step(b, None, np.random.default_rng(0))
    n = int(b.tgt_mask.sum())
    nll, _ = model.forward(*b[:5])
    both, cache = model.forward(*b[:5], coverage_loss=0.7)
    assert both - nll > 0.1 and abs(result.loss - nll / n) < 1e-12
    expected = model.backward(1.0 / n, cache)
    assert all(np.array_equal(result.grads[k], expected[k]) for k in expected)
    plain = Seq2Seq(_config(attention="additive", encoder_layers=1, decoder_layers=1), rng)
    with pytest.raises(ValueError, match=r"^Expected coverage_loss 0 for a model without coverage"):
        Seq2SeqTask(plain, pairs, coverage_loss=0.7)
