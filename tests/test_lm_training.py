"""Language-model training end to end: overfitting, falling loss, perplexity, sampling, exact resume."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnkit.lm.batching import batchify
from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.lm.generate import choose, sample_ids
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.task import LMTask
from rnnkit.optim import Adam, clip_grad_norm
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import Trainer

TEXT = ("the cat sat on the mat . the dog sat on the log . a cat and a dog sat on a mat .\n" * 30)


def _char_ids(text=TEXT):
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return np.array([index[c] for c in text], dtype=np.int64), len(chars)


def test_overfits_one_batch():
    rng = np.random.default_rng(0)
    V, T, B = 11, 12, 4
    model = LanguageModel(LMConfig(vocab_size=V, embedding_dim=16, hidden_size=32, num_layers=1), rng)
    x = rng.integers(0, V, (T, B))
    y = rng.integers(0, V, (T, B))
    opt = Adam(model.params, lr=0.02)
    first = None
    for _ in range(200):
        loss, _, cache = model.forward(x, y)
        first = first if first is not None else loss / (T * B)
        grads = model.backward(1.0 / (T * B), cache)
        clip_grad_norm(grads, 5.0)
        opt.step(grads)
    final = model.forward(x, y)[0] / (T * B)
    assert first > 2.0 and final < 0.1, (first, final)


@pytest.mark.parametrize("softmax", ["full", "class"])
def test_loss_falls_on_tiny_corpus(tmp_path, softmax):
    ids, V = _char_ids()
    classes = np.arange(V) % 4 if softmax == "class" else None
    model = LanguageModel(LMConfig(vocab_size=V, embedding_dim=16, hidden_size=32, num_layers=2, softmax=softmax),
                          np.random.default_rng(1), word_classes=classes)
    split = int(0.9 * ids.size)
    task = LMTask(model, ids[:split], ids[split:], batch_size=4, bptt=16, eval_batch_size=2)
    before = task.evaluate()["loss"]
    cfg = TrainConfig(epochs=3, optimizer="adam", lr=0.01, clip=1.0, progress="none")
    state = Trainer(task, cfg, tmp_path).fit()
    after = task.evaluate()["loss"]
    assert after < 0.6 * before, (before, after)
    assert len(state.history) == 3 and (tmp_path / "best.safetensors").exists()


@pytest.mark.parametrize("loss_scale", ["token", "batch"])
def test_a_window_shorter_than_bptt_weighs_by_its_tokens(loss_scale):
    """The epoch's last window here is 1 token: its gradient is 1/bptt of what the mean over its own tokens
    gives ("token"), so it is no larger a step than a full window's (it was, just before validation); a full
    window's is the mean per token, unchanged; "batch" sums over time as before."""
    rng = np.random.default_rng(3)
    V, B, bptt = 9, 2, 5
    model = LanguageModel(LMConfig(vocab_size=V, embedding_dim=6, hidden_size=7, num_layers=1), rng)
    ids = rng.integers(0, V, B * (2 * bptt + 2))  # 12 a stream, 11 targets: windows of 5, 5 and 1
    task = LMTask(model, ids, None, batch_size=B, bptt=bptt, loss_scale=loss_scale)
    batches = [b for _, b in task.train_batches(0, 0, rng)]
    assert [x.shape[0] for x, _ in batches] == [bptt, bptt, 1]
    carry = None
    for x, y in batches:
        T = x.shape[0]
        got = task.train_step((x, y), carry, np.random.default_rng(0))
        _, _, cache = model.forward(x, y, carry, training=True, rng=np.random.default_rng(0))
        summed = model.backward(1.0, cache)  # d(summed NLL of the window)
        per = bptt * B if loss_scale == "token" else B
        for name, g in got.grads.items():
            g = g.to_dense() if hasattr(g, "to_dense") else g
            np.testing.assert_allclose(g, summed[name] / per, rtol=1e-5, atol=1e-7, err_msg=f"{name}, T={T}")
        assert got.loss == pytest.approx(float(model.forward(x, y, carry)[0]) / (T * B))  # shown: mean per token
        carry = got.carry


def test_perplexity_is_exp_mean_nll_by_hand():
    ids, V = _char_ids(TEXT[:200])
    model = LanguageModel(LMConfig(vocab_size=V, embedding_dim=8, hidden_size=8, num_layers=1, dtype="float64"),
                          np.random.default_rng(2))
    m = evaluate_stream(model, ids, batch_size=1, bptt=7)
    # by hand: feed one token at a time, carrying the state, summing -log p(next)
    state = None
    nll = 0.0
    for t in range(ids.size - 1):
        logp, state = model.step_log_probs(ids[t : t + 1].reshape(1, 1), state)
        nll -= logp[0, ids[t + 1]]
    assert m["tokens"] == ids.size - 1
    np.testing.assert_allclose(m["loss"], nll / (ids.size - 1), rtol=1e-10)
    np.testing.assert_allclose(m["ppl"], math.exp(nll / (ids.size - 1)), rtol=1e-10)
    np.testing.assert_allclose(m["bits"], nll / (ids.size - 1) / math.log(2), rtol=1e-10)


def test_sampling_reproducible_and_top_k_respected():
    rng = np.random.default_rng(3)
    model = LanguageModel(LMConfig(vocab_size=30, embedding_dim=8, hidden_size=8, num_layers=1), rng)
    a = list(sample_ids(model, np.array([1, 2]), 50, np.random.default_rng(7), temperature=1.3))
    b = list(sample_ids(model, np.array([1, 2]), 50, np.random.default_rng(7), temperature=1.3))
    c = list(sample_ids(model, np.array([1, 2]), 50, np.random.default_rng(8), temperature=1.3))
    assert a == b and a != c
    logp = np.log(rng.dirichlet(np.ones(30)))
    top = set(np.argsort(-logp)[:3])
    draws = {choose(logp, rng, top_k=3) for _ in range(500)}
    assert draws <= top and len(draws) == 3
    # top-p: the smallest set reaching p; with p tiny only the argmax survives
    assert {choose(logp, rng, top_p=1e-9) for _ in range(50)} == {int(np.argmax(logp))}
    # a known distribution: ids 1, 2, 0 hold 0.5, 0.3, 0.2; the smallest set reaching p, no more, no less
    known = np.log(np.array([0.2, 0.5, 0.3]))
    for top_p, kept in ((0.4, {1}), (0.7, {1, 2}), (0.79, {1, 2}), (0.85, {0, 1, 2})):
        assert {choose(known, rng, top_p=top_p) for _ in range(300)} == kept, top_p
    draws = np.array([choose(known, rng, top_p=0.7) for _ in range(4000)])
    assert abs(np.mean(draws == 1) - 0.625) < 0.03  # renormalised over the kept set: 0.5 / 0.8
    assert choose(logp, None, greedy=True) == int(np.argmax(logp))


@pytest.mark.parametrize("kwargs, needle", [
    ({"length": -1}, "length"),
    ({"temperature": 0.0}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"temperature": float("inf")}, "temperature"),
    ({"top_k": -2}, "top_k"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.01}, "top_p"),
])
def test_sampling_options_out_of_range_raise_before_any_token(kwargs, needle):
    model = LanguageModel(LMConfig(vocab_size=12, embedding_dim=4, hidden_size=4, num_layers=1),
                          np.random.default_rng(0))
    args = {"length": 5, **kwargs}
    tokens = sample_ids(model, np.array([1]), args.pop("length"), np.random.default_rng(1), **args)
    with pytest.raises(ValueError, match=needle):
        next(tokens)


def _cli(args, **kw):
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _train_args(tmp_path, run, extra=()):
    return ["train", "lm", "--train", str(tmp_path / "train.txt"), "--valid", str(tmp_path / "valid.txt"),
            "--level", "char", "--cell", "lstm", "--layers", "2", "--hidden", "24", "--batch-size", "4",
            "--bptt", "10", "--epochs", "3", "--optimizer", "adam", "--lr", "0.01", "--dropout", "0.2",
            "--jitter", "--checkpoint-steps", "7", "--progress", "none", "--run-dir", str(tmp_path / run), *extra]


def _metrics(run_dir):
    """metrics.jsonl of a run without its wall-clock fields."""
    import json

    from rnnkit.train.loop import TIMING_KEYS

    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


def _params(path):
    from rnnkit.checkpoint import load_checkpoint

    arrays, _ = load_checkpoint(path)
    return {k: v for k, v in arrays.items() if k.startswith("model/")}


def test_killed_and_resumed_run_equals_uninterrupted(tmp_path):
    """SIGKILL a training run at whatever moment it has reached, resume it: bit-identical parameters."""
    (tmp_path / "train.txt").write_text(TEXT * 3, encoding="utf-8")
    (tmp_path / "valid.txt").write_text(TEXT[:400], encoding="utf-8")
    full = _cli(_train_args(tmp_path, "full"))
    assert full.wait(timeout=300) == 0, full.stderr.read().decode()
    kills = 0
    for attempt in range(3):
        run = f"killed{attempt}"
        proc = _cli(_train_args(tmp_path, run))
        ckpt = tmp_path / run / "last.safetensors"
        deadline = time.time() + 120
        while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.05 * attempt)  # a different moment each time
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        resumed = _cli(_train_args(tmp_path, run, ["--resume"]))
        assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
        a = _params(tmp_path / "full" / "last.safetensors")
        b = _params(tmp_path / run / "last.safetensors")
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), f"{k} differs after kill at attempt {attempt}"
        assert _metrics(tmp_path / "full") == _metrics(tmp_path / run)
    assert kills >= 1, "the run finished before it could be killed: make it longer"


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, True])
def test_batchify_rejects_a_batch_size_that_is_not_a_positive_int(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        batchify(np.arange(100), batch_size)


def test_stopped_by_max_steps_mid_epoch_with_jitter_and_resumed_equals_uninterrupted(tmp_path, capsys):
    """--max-steps stops before the next (jittered) window, whose draws are undone: the resumed run
    makes that window again and ends bit for bit where the uninterrupted run does."""
    from clirun import run_cli

    from rnnkit.checkpoint import load_checkpoint

    (tmp_path / "train.txt").write_text(TEXT * 3, encoding="utf-8")
    (tmp_path / "valid.txt").write_text(TEXT[:400], encoding="utf-8")
    assert run_cli(capsys, _train_args(tmp_path, "full"))[0] == 0
    assert run_cli(capsys, _train_args(tmp_path, "cut", ["--max-steps", "5"]))[0] == 0
    assert run_cli(capsys, _train_args(tmp_path, "cut", ["--resume"]))[0] == 0
    a, _ = load_checkpoint(tmp_path / "full" / "last.safetensors")
    b, _ = load_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
    assert _metrics(tmp_path / "full") == _metrics(tmp_path / "cut")
