"""Pointer network (rnnkit.seq2seq.pointer): its gradients against finite differences and torch autograd, masking
of the padded positions in training and decoding, and a short training run that learns to sort."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.seq2seq.pointer import PAD, PointerNet

T, B, D, H, A = 6, 4, 2, 4, 3


def _problem(seed: int = 0, dtype=np.float64):
    """A float64 net with every parameter random and non-zero, inputs of unequal lengths padded to T (the padding
    filled with noise, which the model must never read), and targets of unequal lengths T_out = T - 1."""
    rng = np.random.default_rng(seed)
    model = PointerNet(D, H, A, dtype=dtype, rng=rng)
    for a in model.params.values():
        a[...] = rng.uniform(-0.8, 0.8, a.shape) + 0.1 * np.sign(rng.uniform(-1, 1, a.shape))
    lengths = np.array([6, 3, 5, 1])
    x = rng.normal(size=(T, B, D)).astype(dtype)  # noise at the padded steps too: masking must hide it
    target_lengths = np.array([5, 3, 2, 1])
    targets = np.full((T - 1, B), 99)  # padding: any value is ignored after a sequence's target length
    for b in range(B):
        targets[: target_lengths[b], b] = rng.integers(0, lengths[b], size=target_lengths[b])
    return model, x, lengths, targets, target_lengths


def test_every_gradient_entry_matches_finite_differences_with_masking_and_an_upstream_gradient():
    model, x, lengths, targets, tl = _problem()
    dloss = 1.7
    loss, cache = model.forward(x, lengths, targets, tl)
    grads = model.backward(cache, dloss)
    assert set(grads) == set(model.params) and len(grads) == 12
    for name, arr in model.params.items():
        num = numeric_grad(lambda: dloss * model.forward(x, lengths, targets, tl)[0], arr)
        assert np.abs(num).max() > 1e-5, name  # a parameter the loss depends on: the check can fail
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-9, err_msg=name)
    # the padded steps' noise and the padded targets do not enter the loss
    x2, t2 = x.copy(), targets.copy()
    x2[lengths[1]:, 1] = 1e3
    t2[tl[2]:, 2] = 0
    assert model.forward(x2, lengths, t2, tl)[0] == pytest.approx(loss, abs=1e-12)


def _torch_loss(model: PointerNet, x, lengths, targets, tl):
    """The module docstring's equations in torch: nn.LSTM with packed sequences, PyTorch's parameter names."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    params = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    enc, dec = (torch.nn.LSTM(D, H).double() for _ in range(2))
    for lstm, prefix in ((enc, "encoder."), (dec, "decoder.")):
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            delattr(lstm, name)
            setattr(lstm, name, params[prefix + name])
    xt = torch.tensor(x)
    L, TL = torch.tensor(lengths), torch.tensor(tl)
    packed = pack_padded_sequence(xt, L, enforce_sorted=False)
    e, (h, c) = enc(packed)
    e = pad_packed_sequence(e, total_length=T)[0]  # (T, B, H)
    T_out = targets.shape[0]
    tgt = torch.tensor(np.where(np.arange(T_out)[:, None] < tl, targets, 0))
    prev = xt[tgt[:-1], torch.arange(B)]  # (T_out - 1, B, D)
    dec_in = torch.cat([params["start"].expand(1, B, D), prev])
    d = pad_packed_sequence(dec(pack_padded_sequence(dec_in, TL, enforce_sorted=False), (h, c))[0],
                            total_length=T_out)[0]  # (T_out, B, H)
    u = torch.tanh((e.transpose(0, 1) @ params["pointer.W_k"].T)[None] + (d @ params["pointer.W_q"].T)[:, :, None])
    scores = u @ params["pointer.v"]  # (T_out, B, T)
    scores = scores.masked_fill(torch.arange(T)[None, None, :] >= L[None, :, None], float("-inf"))
    logp = torch.log_softmax(scores, dim=2).gather(2, tgt[:, :, None])[:, :, 0]
    real = torch.arange(T_out)[:, None] < TL[None, :]
    loss = -(logp * real).sum() / real.sum()
    return loss, params


def test_loss_and_every_gradient_match_torch_autograd():
    model, x, lengths, targets, tl = _problem(1)
    loss, cache = model.forward(x, lengths, targets, tl)
    grads = model.backward(cache, 0.6)
    tloss, tparams = _torch_loss(model, x, lengths, targets, tl)
    (0.6 * tloss).backward()
    assert loss == pytest.approx(tloss.item(), abs=1e-12)
    for name, p in tparams.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=0, atol=1e-10, err_msg=name)


def test_float32_fast_path_agrees_with_float64():
    m64, x, lengths, targets, tl = _problem(2)
    m32 = PointerNet(D, H, A, dtype=np.float32)
    for k, a in m64.params.items():
        m32.params[k][...] = a
    l64, c64 = m64.forward(x, lengths, targets, tl)
    l32, c32 = m32.forward(x.astype(np.float32), lengths, targets, tl)
    g64, g32 = m64.backward(c64), m32.backward(c32)
    assert l32 == pytest.approx(l64, rel=1e-5)
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-3, atol=1e-5, err_msg=k)


def _random_net(seed: int, scale: float):
    """(the Generator, a float64 net with every parameter drawn from U(-scale, scale) by it)."""
    rng = np.random.default_rng(seed)
    model = PointerNet(D, H, A, dtype=np.float64, rng=rng)
    for a in model.params.values():
        a[...] = rng.uniform(-scale, scale, a.shape)
    return rng, model


def test_greedy_and_beam_decoding_never_point_at_padding():
    """Short sequences in a long padded batch: unmasked, the padded positions (encoder state 0) would win
    at many steps of these random weights."""
    rng, model = _random_net(3, 2.0)
    n = 60
    lengths = rng.integers(1, 4, size=n)
    x = rng.normal(size=(8, n, D))
    steps = rng.integers(1, 8, size=n)
    for distinct, beam in ((False, 1), (True, 1), (False, 4), (True, 4)):
        s = np.minimum(steps, lengths) if distinct else steps
        out = model.beam_search(x, lengths, beam, steps=s, distinct=distinct)[0]
        assert out.shape == (int(s.max()), n)
        real = np.arange(out.shape[0])[:, None] < s
        assert ((out >= 0) & (out < lengths))[real].all()
        assert (out[~real] == PAD).all()
        if distinct:
            for b in range(n):
                assert len(set(out[: s[b], b])) == s[b]  # each position at most once


def test_wrong_inputs_are_one_line_errors():
    model, x, lengths, targets, tl = _problem()
    bad = targets.copy()
    bad[0, 1] = lengths[1]  # a padded position of sequence 1
    with pytest.raises(ValueError, match=r"^Expected targets\[t, b\] in 0..lengths\[b\]-1 .* at t=0, b=1"):
        model.forward(x, lengths, bad, tl)
    with pytest.raises(TypeError, match="^Expected x of the model's dtype float64, got float32"):
        model.forward(x.astype(np.float32), lengths, targets, tl)
    with pytest.raises(ValueError, match=r"^Expected every length between 1 and T=6, got min 0 and max 6$"):
        model.forward(x, np.array([6, 0, 5, 1]), targets, tl)
    with pytest.raises(ValueError, match=r"^Expected every value of target_lengths between 1 and T=5, got min 0 "):
        model.forward(x, lengths, targets, np.array([6, 0, 5, 1]))
    with pytest.raises(ValueError, match=r"^Expected steps >= 1 \(output steps per sequence\), got min 0 at b=2$"):
        model.greedy(x, lengths, steps=np.array([2, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"^Expected x with at least one input position \(T >= 1\), got shape "
                                         r"\(0, 4, 2\)"):
        model.greedy(x[:0], lengths)
    with pytest.raises(ValueError, match="^Expected steps <= lengths with distinct=True"):
        model.greedy(x, lengths, steps=np.full(B, 6), distinct=True)


def test_sort_batch_targets_put_the_numbers_in_increasing_order():
    from rnnkit.demos.pointer_sort import sort_batch

    lengths = np.array([3, 7, 1, 5])
    x, targets = sort_batch(np.random.default_rng(0), lengths)
    assert x.shape == (7, 4, 1) and targets.shape == (7, 4)
    for b, n in enumerate(lengths):
        assert sorted(targets[:n, b]) == list(range(n))
        assert (np.diff(x[targets[:n, b], b, 0]) >= 0).all()
        assert (x[n:, b] == 0).all()


def test_a_short_training_run_learns_to_sort():
    from threadpoolctl import threadpool_limits

    from rnnkit.demos.pointer_sort import PointerDemoConfig, evaluate_sorter, train_sorter

    cfg = PointerDemoConfig(seed=0, steps=250, min_len=3, max_len=5, hidden=24, batch_size=32, lr=0.01)
    with threadpool_limits(limits=1, user_api="blas"):
        model = train_sorter(cfg)
        m = evaluate_sorter(model, 5, 200, np.random.default_rng(7))
    # chance: 1/5 per position and 1/120 of whole sequences
    assert m["per_position"] > 0.6 and m["exact"] > 0.2, m


def test_the_cli_demo_trains_shows_examples_and_tests_seen_and_longer_lengths(capsys):
    from clirun import _one_line, run_cli

    code, out, err = run_cli(capsys, ["demo", "pointer", "--steps", "4", "--hidden", "8", "--seed", "3",
                                      "--test-lengths", "5", "12", "--test-size", "20"])
    assert code == 0, err
    assert "4 Adam steps of 64 sequences of 5-10 numbers (seed 3)" in out and "step      4/4  loss" in out
    assert out.count("    -> ") == 3  # three examples
    rows = [line.split() for line in out.splitlines() if line.startswith(("     5 ", "    12 "))]
    assert [r[0] for r in rows] == ["5", "12"] and out.count("(longer than training)") == 1, out
    code, out, err = run_cli(capsys, ["demo", "pointer", "--steps", "2", "--hidden", "8", "--test-lengths", "4",
                                      "--test-size", "5", "--beam", "3"])
    assert code == 0 and "test, 5 sequences per length, beam search, 3 beams" in out, err
    assert len([line for line in out.splitlines() if line.startswith("     4 ")]) == 1, out
    code, out, err = run_cli(capsys, ["demo", "pointer", "--min-len", "7", "--max-len", "5"])
    assert code == 2 and _one_line(err) == "rnnkit: error: Expected --min-len <= --max-len, got 7 and 5"


def test_the_cli_demo_caps_training_lengths_not_test_lengths(capsys):
    """Training at n holds (n, 64, n, H) floats (15 GiB at n = 1000): --max-len stops at 200, tests go on to 1000."""
    from clirun import _one_line, run_cli

    code, _, err = run_cli(capsys, ["demo", "pointer", "--min-len", "200", "--max-len", "201", "--steps", "1",
                                    "--hidden", "2", "--test-lengths", "2", "--test-size", "1"])
    assert code == 2 and _one_line(err).startswith("rnnkit: error: Expected --max-len <= 200, got 201: a training "
                                                   "batch holds (n, 64, n, H) floats"), err
    assert "--test-lengths (up to 1000)" in err
    code, _, err = run_cli(capsys, ["demo", "pointer", "--test-lengths", "1001"])
    assert code == 2 and _one_line(err).startswith("rnnkit: error: Expected --test-lengths <= 1000, got 1001"), err
    code, out, err = run_cli(capsys, ["demo", "pointer", "--steps", "1", "--hidden", "4", "--min-len", "2",
                                      "--max-len", "3", "--test-lengths", "300", "--test-size", "1"])
    assert code == 0 and "   300 " in out, err


def _sequence_log_prob(model, x, lengths, b, positions):
    """log p(positions | input b) from the teacher-forced loss: the mean -log p over its steps, times their count."""
    n = len(positions)
    loss, _ = model.forward(x[: lengths[b], b : b + 1], lengths[b : b + 1], np.array(positions)[:, None],
                            np.array([n]))
    return -loss * n


@pytest.mark.parametrize("distinct", [False, True])
def test_a_beam_as_wide_as_every_output_finds_the_most_probable_one(distinct):
    """K = 27 beams keep every output of up to 3 positions out of up to 3: the beam search is then exhaustive, and
    must return the most probable of the enumerated outputs (permutations with ``distinct``) and its log-probability,
    the model's own (the teacher-forced loss of that output)."""
    import itertools

    rng, model = _random_net(6, 1.5)
    n = 24
    lengths = rng.integers(1, 4, size=n)
    steps = rng.integers(1, lengths + 1) if distinct else np.full(n, 3)  # repeats allowed: 3 steps over 1 position
    x = rng.normal(size=(3, n, D))
    out, logp = model.beam_search(x, lengths, 27, steps=steps, distinct=distinct)
    greedy = model.greedy(x, lengths, steps=steps, distinct=distinct)
    assert out.shape == (int(steps.max()), n) and (out[np.arange(3)[:, None] >= steps] == PAD).all()
    wins = 0
    for b in range(n):
        pick = itertools.permutations if distinct else lambda r, k: itertools.product(r, repeat=k)
        scores = {seq: _sequence_log_prob(model, x, lengths, b, seq)
                  for seq in pick(range(lengths[b]), int(steps[b]))}
        best = max(scores, key=scores.get)
        assert tuple(out[: steps[b], b]) == best and logp[b] == pytest.approx(scores[best], abs=1e-10)
        g = tuple(greedy[: steps[b], b])
        assert scores[g] <= scores[best] + 1e-12
        wins += scores[g] < scores[best] - 1e-9
    assert wins >= 1  # the beam beat greedy decoding somewhere: the test tells them apart
    # one beam is greedy decoding, and its log-probability is the greedy output's
    out1, logp1 = model.beam_search(x, lengths, 1, steps=steps, distinct=distinct)
    assert (out1 == greedy).all()
    for b in range(n):
        assert logp1[b] == pytest.approx(_sequence_log_prob(model, x, lengths, b, out1[: steps[b], b]), abs=1e-10)
