"""The coverage loss shown beside the NLL (rnnkit.seq2seq.task, rnnkit.train): a coverage model trained with
``coverage_loss`` lambda > 0 reports the NLL as its loss (and perplexity) and lambda sum min(a, cov) per target
token beside it, in the progress lines, the metrics log's train and epoch records (a resumed run's epoch mean as
the uninterrupted run's, two processes' as one's) and ``rnnkit curves --train-metric coverage_loss``."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from clirun import run_cli
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)
from test_distributed import MPIEXEC, _env, _rnnkit, needs_mpi

from rnnkit.data.parallel import build_vocab, encode_pairs
from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig, toy
from rnnkit.seq2seq.task import Seq2SeqTask
from rnnkit.train import TrainConfig, Trainer
from rnnkit.train.curves import has_series, read_run

LAMBDA = 0.5


@pytest.fixture(scope="module")
def pairs():
    raw = toy.reverse_pairs(200, np.random.default_rng(0), 3, 8, 6)
    vocab = build_vocab(s for s, _ in raw)
    return encode_pairs(raw, vocab, vocab), len(vocab)


def _task(pairs, coverage_loss=LAMBDA, dtype="float32", seed=0):
    ids, V = pairs
    cfg = Seq2SeqConfig(V, V, cell="gru", src_embedding_dim=8, tgt_embedding_dim=8, encoder_hidden_size=8,
                        decoder_hidden_size=16, attention="additive", coverage=True, dropout=0.0, dtype=dtype)
    model = Seq2Seq(cfg, np.random.default_rng(seed))
    return Seq2SeqTask(model, ids[:160], ids[160:], batch_size=32, bleu_sentences=0, coverage_loss=coverage_loss,
                       seed=3)


def test_step_reports_the_nll_and_the_coverage_loss_beside_it(pairs):
    task = _task(pairs, dtype="float64")
    rng = np.random.default_rng(1)
    for v in task.params.values():  # random non-zero parameters: the attention spreads, coverage overlaps
        v[...] = rng.normal(0.0, 0.5, v.shape)
    b = task.epoch_batches(0)[0]
    n = int(b.tgt_mask.sum())
    res = task.train_step(b, None, np.random.default_rng(2))
    nll = task.model.forward(b.src, b.src_lengths, b.tgt_in, b.tgt_out, b.tgt_mask)[0]
    total = task.model.forward(b.src, b.src_lengths, b.tgt_in, b.tgt_out, b.tgt_mask, coverage_loss=LAMBDA)[0]
    assert abs(res.loss - nll / n) < 1e-12
    assert res.penalties["coverage_loss"] > 1e-3
    assert abs(res.penalties["coverage_loss"] - (total - nll) / n) < 1e-12
    plain = _task(pairs, coverage_loss=0.0, dtype="float64")
    assert plain.train_step(b, None, np.random.default_rng(2)).penalties is None  # lambda 0: nothing to show


def _fit(task, path, max_steps=None, resume=False, progress="none", epochs=2):
    cfg = TrainConfig(epochs=epochs, optimizer="adam", lr=5e-3, progress=progress, max_steps=max_steps, log_every=1,
                      checkpoint_minutes=None, seed=7)
    Trainer(task, cfg, path).fit(resume=resume)
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]


def test_log_lines_records_resume_and_curves(pairs, tmp_path, capsys):
    first = _task(pairs).train_step(_task(pairs).epoch_batches(0)[0], None, np.random.default_rng(0))
    records = _fit(_task(pairs), tmp_path / "whole", progress="lines")
    err = capsys.readouterr().err
    train = [r for r in records if r["type"] == "train"]
    epochs = [r for r in records if r["type"] == "epoch"]
    assert train[0]["loss"] == pytest.approx(first.loss, rel=1e-6)  # the NLL, as before any update
    assert train[0]["coverage_loss"] == pytest.approx(first.penalties["coverage_loss"], rel=1e-6)
    assert all(r["coverage_loss"] > 0 for r in train)
    task = _task(pairs)
    for e, rec in enumerate(epochs):  # the epoch's mean: the logged batches' weighted by their target tokens
        steps = [r for r in train if r["epoch"] == e + 1]
        tokens = [int(b.tgt_mask.sum()) for b in task.epoch_batches(e)]
        mean = sum(r["coverage_loss"] * w for r, w in zip(steps, tokens)) / sum(tokens)
        assert rec["train_coverage_loss"] == pytest.approx(mean, rel=1e-9)
        assert f"train loss {rec['train_loss']:.4f} | train coverage loss {rec['train_coverage_loss']:.4f}" in err
    shown = [line for line in err.splitlines() if " | loss " in line]
    assert shown and all(" | coverage loss " in line for line in shown), err
    for line in shown:  # the perplexity stays the NLL's: exp of the loss shown beside it
        loss, ppl = (float(line.split(f" | {k} ")[1].split(" ")[0]) for k in ("loss", "ppl"))
        assert ppl == pytest.approx(math.exp(loss), abs=0.06 + 5e-4 * ppl), line
    _fit(_task(pairs), tmp_path / "cut", max_steps=7)  # 5 batches an epoch: stops inside epoch 2
    resumed = [r for r in _fit(_task(pairs), tmp_path / "cut", resume=True) if r["type"] == "epoch"]
    assert [r["train_coverage_loss"] for r in resumed] == [r["train_coverage_loss"] for r in epochs]
    run = read_run(tmp_path / "whole")
    assert has_series(run, "coverage_loss")
    assert np.allclose(run.train_series("coverage_loss"), [r["coverage_loss"] for r in train])
    plain = tmp_path / "plain"
    unpenalised = _fit(_task(pairs, coverage_loss=0.0), plain)
    assert not has_series(read_run(plain), "coverage_loss")
    assert all("coverage_loss" not in r and "train_coverage_loss" not in r for r in unpenalised)
    pytest.importorskip("matplotlib")
    code, out, err = run_cli(capsys, ["curves", str(tmp_path / "whole"), "--output", str(tmp_path / "c.png"),
                                      "--train-metric", "coverage_loss"])
    assert code == 0 and (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG"), err
    code, _, err = run_cli(capsys, ["curves", str(plain), "--output", str(tmp_path / "n.png"),
                                    "--train-metric", "coverage_loss"])
    assert code == 2 and "no run logged a coverage loss" in err and len(err.strip().splitlines()) == 1, err


def test_a_mid_epoch_checkpoint_without_penalty_sums_leaves_that_epochs_mean_out(pairs, tmp_path):
    """A checkpoint of an earlier version keeps no epoch_penalties: resumed inside an epoch, that epoch's record
    has no train_coverage_loss (the sum before the checkpoint is lost: the rest's over the whole epoch's units
    would be too small), also through a second checkpoint inside it; the other epochs' are the whole run's."""
    from rnnkit import checkpoint as ckpt

    whole = [r for r in _fit(_task(pairs), tmp_path / "whole", epochs=3) if r["type"] == "epoch"]
    _fit(_task(pairs), tmp_path / "cut", max_steps=7, epochs=3)  # 5 batches an epoch: inside epoch 2
    arrays, meta = ckpt.load_checkpoint(tmp_path / "cut" / "last.safetensors")
    del meta["loop"]["epoch_penalties"]
    ckpt.save_checkpoint(tmp_path / "cut" / "last.safetensors", arrays, meta)
    _fit(_task(pairs), tmp_path / "cut", max_steps=9, resume=True, epochs=3)  # saved again inside epoch 2
    resumed = [r for r in _fit(_task(pairs), tmp_path / "cut", resume=True, epochs=3) if r["type"] == "epoch"]
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in whole]
    cover = [whole[0]["train_coverage_loss"], None, whole[2]["train_coverage_loss"]]
    assert [r.get("train_coverage_loss") for r in resumed] == cover, (resumed, whole)


_COUNT = r"""
import sys

import numpy as np
from mpi4py import MPI

from rnnkit.data.parallel import build_vocab, encode_pairs
from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig, toy
from rnnkit.seq2seq.task import Seq2SeqTask
from rnnkit.train import TrainConfig, Trainer
from rnnkit.train.distributed import MPIGroup


class Counted:  # COMM_WORLD, counting its Allreduce calls
    def __init__(self, comm):
        self.comm, self.allreduces = comm, 0

    def Allreduce(self, *args):
        self.allreduces += 1
        return self.comm.Allreduce(*args)

    def __getattr__(self, name):
        return getattr(self.comm, name)


raw = toy.reverse_pairs(40, np.random.default_rng(0), 3, 8, 6)
vocab = build_vocab(s for s, _ in raw)
ids = encode_pairs(raw, vocab, vocab)
cfg = Seq2SeqConfig(len(vocab), len(vocab), cell="gru", src_embedding_dim=8, tgt_embedding_dim=8,
                    encoder_hidden_size=8, decoder_hidden_size=8, attention="additive", coverage=True, dropout=0.0)
task = Seq2SeqTask(Seq2Seq(cfg, np.random.default_rng(0)), ids[:32], ids[32:], batch_size=8, bleu_sentences=0,
                   coverage_loss=0.5, seed=3)
comm = Counted(MPI.COMM_WORLD)
st = Trainer(task, TrainConfig(epochs=1, progress="none", seed=7), sys.argv[1], group=MPIGroup(comm)).fit()
print(f"<{comm.allreduces} Allreduce in {st.step} steps>", flush=True)
"""


@needs_mpi
def test_two_processes_carry_the_coverage_loss_in_the_steps_one_scalar_allreduce(tmp_path):
    """Each step's Allreduce calls: one for its scalars (loss, units and coverage loss) and one for its float32
    gradients, none more."""
    pytest.importorskip("mpi4py")
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-c", _COUNT, str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=240, env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("<8 Allreduce in 4 steps>") == 2, done.stdout


@needs_mpi
def test_two_processes_report_the_one_process_coverage_loss(tmp_path):
    """Each batch split between 2 processes (a process without a share at the last batch of one pair): the
    coverage loss of every logged step and epoch is combined by target tokens, as the NLL is."""
    rng = np.random.default_rng(0)
    words = ["the", "cat", "dog", "runs", "sat", "a", "big", "red"]
    pairs = [" ".join(rng.choice(words, size=int(rng.integers(2, 6)))) for _ in range(17)]  # batches 8, 8, 1
    (tmp_path / "pairs.tsv").write_text("".join(f"{t}\t{' '.join(reversed(t.split()))}\n" for t in pairs),
                                        encoding="utf-8")
    logs = []
    for run, n in (("one", 1), ("two", 2)):
        done = _rnnkit(["train", "seq2seq", "--train", str(tmp_path / "pairs.tsv"), "--embed", "6", "--hidden", "6",
                        "--attention", "additive", "--coverage", "--coverage-loss", "0.5", "--log-every", "1",
                        "--dropout", "0", "--batch-size", "8", "--epochs", "2", "--progress", "none", "--run-dir",
                        str(tmp_path / run)], n)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        logs.append([r.get("coverage_loss", r.get("train_coverage_loss")) for r in rows])
    assert len(logs[0]) == 8 and all(v > 0 for v in logs[0]), logs  # 3 steps and an epoch record, twice
    assert logs[1] == pytest.approx(logs[0], rel=1e-5), logs
