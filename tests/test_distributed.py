"""Data-parallel training over several processes (mpiexec): the same model as one process, exact
resume, one-line errors; and the gradient combination against numpy."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnkit import checkpoint as ckpt
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.task import LMTask
from rnnkit.train.distributed import SingleProcess, launched_processes

TEXT = "".join(f"line {i}: the cat sat on the mat, {i * 7 % 13} dogs sat on the log.\n" for i in range(120))
_MPIEXEC = Path(sys.executable).with_name("mpiexec")
MPIEXEC = str(_MPIEXEC) if _MPIEXEC.exists() else shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich mpi4py)")


def _env() -> dict[str, str]:
    """This environment without a launcher's variables (a test run under mpiexec itself)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MPI_LOCAL"))}


def _rnnkit(argv: list[str], processes: int = 1, timeout: float = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rnnkit.cli.main", *argv]
    if processes > 1:
        pytest.importorskip("mpi4py")
        command = [MPIEXEC, "-n", str(processes), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env())


def _train(tmp_path: Path, run: str, processes: int, *extra: str) -> subprocess.CompletedProcess:
    train = tmp_path / "train.txt"
    if not train.exists():
        train.write_text(TEXT[:6000], encoding="utf-8")
        (tmp_path / "valid.txt").write_text(TEXT[6000:7500], encoding="utf-8")
    argv = ["train", "lm", "--train", str(train), "--valid", str(tmp_path / "valid.txt"), "--level", "char",
            "--hidden", "24", "--embed", "8", "--layers", "2", "--bptt", "10", "--batch-size", "6", "--epochs", "2",
            "--seed", "4", "--progress", "lines", "--run-dir", str(tmp_path / run), *extra]
    return _rnnkit(argv, processes)


@needs_mpi
def test_two_processes_train_the_model_one_process_trains(tmp_path):
    """Without dropout, 2 processes of 3 streams each end with the weights of 1 process of 6 streams,
    and a checkpoint in mid-epoch holds the state of all 6 streams."""
    one = _train(tmp_path, "one", 1, "--max-steps", "70")
    two = _train(tmp_path, "two", 2, "--max-steps", "70")
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    a, meta_a = ckpt.load_checkpoint(tmp_path / "one" / "last.safetensors")
    b, meta_b = ckpt.load_checkpoint(tmp_path / "two" / "last.safetensors")
    assert meta_a["processes"] == 1 and meta_b["processes"] == 2 and meta_b["loop"]["cursor"] > 0
    assert set(a) == set(b) and any(k.startswith("carry/") for k in a)
    for k in a:
        assert a[k].shape == b[k].shape, k
        np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=1e-5, err_msg=k)
    # what the run says is said once, by process 0
    for said in ("vocabulary:", "model saved:"):
        assert two.stderr.count(said) == 1 == one.stderr.count(said), (said, two.stderr)
    assert two.stderr.count("epoch 1 |") == one.stderr.count("epoch 1 |") >= 1, two.stderr  # progress lines
    # and that it runs over several processes (the output was that of one: had the launcher worked?)
    assert two.stderr.count("training in 2 processes (mpiexec)") == 1 and "processes (mpiexec)" not in one.stderr


@needs_mpi
def test_two_processes_resume_exactly_with_dropout(tmp_path):
    """A run of 2 processes with dropout (each its own masks) stopped mid-epoch and resumed ends bit for
    bit where the uninterrupted run ends; resuming it with another number of processes is refused."""
    whole = _train(tmp_path, "whole", 2, "--dropout", "0.3")
    part = _train(tmp_path, "part", 2, "--dropout", "0.3", "--max-steps", "45")
    assert whole.returncode == 0 and part.returncode == 0, (whole.stderr, part.stderr)
    other = _train(tmp_path, "part", 1, "--dropout", "0.3", "--resume")
    assert other.returncode == 2, other.stderr
    assert "trained by 2 process(es), this one has 1; resume with as many (mpiexec -n)" in other.stderr
    rest = _train(tmp_path, "part", 2, "--dropout", "0.3", "--resume")
    assert rest.returncode == 0, rest.stderr
    a, _ = ckpt.load_checkpoint(tmp_path / "whole" / "last.safetensors")
    b, _ = ckpt.load_checkpoint(tmp_path / "part" / "last.safetensors")
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)
    # with dropout the processes draw their own masks: not the one-process run's weights
    assert _train(tmp_path, "one", 1, "--dropout", "0.3").returncode == 0
    c, _ = ckpt.load_checkpoint(tmp_path / "one" / "last.safetensors")
    assert not np.array_equal(a["model/rnn.weight_hh_l0"], c["model/rnn.weight_hh_l0"])


@needs_mpi
def test_errors_under_mpiexec_are_one_line_said_once(tmp_path):
    """A batch that does not split, a missing file, a command that trains in one process only and a
    cross-validation given a --valid file: one line each, from process 0, exit 2."""
    odd = _train(tmp_path, "odd", 2, "--batch-size", "5")
    assert odd.returncode == 2 and odd.stderr.strip().splitlines() == [
        "rnnkit: error: --batch-size 5 does not split into 2 equal shares, one per process (mpiexec -n 2); give a "
        "multiple of 2"], odd.stderr
    missing = _rnnkit(["train", "lm", "--train", str(tmp_path / "nope.txt"), "--run-dir", str(tmp_path / "r")], 2)
    assert missing.returncode == 2 and missing.stderr.strip().splitlines() == [
        f"rnnkit: error: {tmp_path / 'nope.txt'}: no such file; check the path"], missing.stderr
    hmm = _rnnkit(["train", "hmm", "--train", str(tmp_path / "nope.conllu"), "--output", str(tmp_path / "h")], 2)
    assert hmm.returncode == 2 and hmm.stderr.strip().splitlines() == [
        "rnnkit: error: started as one of 2 processes (mpiexec -n 2), but this command runs in one; only the "
        "neural 'train' commands (lm, tagger, classifier, seq2seq, tree) train over several"], hmm.stderr
    (tmp_path / "pos.txt").write_text("good fun\nnice one\n" * 5, encoding="utf-8")
    (tmp_path / "neg.txt").write_text("bad day\nawful one\n" * 5, encoding="utf-8")
    folds = _rnnkit(["train", "classifier", "--format", "polarity", "--pos", str(tmp_path / "pos.txt"), "--neg",
                     str(tmp_path / "neg.txt"), "--folds", "2", "--valid", str(tmp_path / "pos.txt"), "--run-dir",
                     str(tmp_path / "cv")], 2)
    assert folds.returncode == 2 and folds.stderr.strip().splitlines() == [
        "rnnkit: error: --folds 2 validates and tests on each fold's held-out part, so --valid and --test would be "
        "ignored: leave them out, or drop --folds to use them"], folds.stderr
    # errors of the parser itself (a value out of range, an unknown option) used to be said by every process
    for bad, said in ((["--batch-size", "0"], "argument --batch-size: Expected an integer >= 1, got 0"),
                      (["--bogus"], "unrecognized arguments: --bogus")):
        parsed = _rnnkit(["train", "lm", "--train", str(tmp_path / "nope.txt"), *bad], 2)
        lines = parsed.stderr.strip().splitlines()
        assert parsed.returncode == 2 and len(lines) == 1 and said in lines[0], parsed.stderr


@needs_mpi
def test_a_cross_validation_over_two_processes_is_the_one_process_cross_validation(tmp_path):
    """--folds 3 under mpiexec -n 2: each fold trained by both processes, tested by process 0; without
    dropout the folds' scores and the summary are one process's, said once; a resume after the end
    trains nothing and says the same."""
    rng = np.random.default_rng(7)
    good, bad, filler = ["good", "fine", "great"], ["bad", "dull", "awful"], ["the", "film", "was", "plot", "a"]
    for name, words in (("pos", good), ("neg", bad)):
        lines = [" ".join([*rng.choice(filler, 3), str(rng.choice(words))]) for _ in range(24)]
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    outs = []
    for run, n, *again in (("cv1", 1), ("cv2", 2), ("cv2", 2, "--resume")):
        done = _rnnkit(["train", "classifier", "--format", "polarity", "--pos", str(tmp_path / "pos.txt"), "--neg",
                        str(tmp_path / "neg.txt"), "--folds", "3", "--embed", "6", "--hidden", "5", "--dropout", "0",
                        "--batch-size", "8", "--epochs", "3", "--progress", "none", "--run-dir", str(tmp_path / run),
                        *again], n)
        assert done.returncode == 0, done.stderr
        assert done.stderr.count("had finished its 3 epochs; nothing to train") == 3 * bool(again), done.stderr
        outs.append(done.stdout.splitlines())
        for fold in (1, 2, 3):
            assert (tmp_path / run / f"fold{fold}" / "best.safetensors").exists()
    assert outs[0] == outs[1] == outs[2] and len(outs[1]) == 4, outs
    assert outs[1][-1].startswith("3-fold cross-validation:"), outs
    for fold in (1, 2, 3):
        _same_weights(tmp_path / "cv1" / f"fold{fold}", tmp_path / "cv2" / f"fold{fold}")


_COMBINE = r"""
import numpy as np
from mpi4py import MPI
from rnnkit.row_sparse import RowSparseGrad
from rnnkit.train.distributed import MPIGroup

g = MPIGroup(MPI.COMM_WORLD)
r, P = g.rank, g.size
units = [7, 0, 12][r]
rng = np.random.default_rng(100 + r)
W = rng.standard_normal((4, 5)).astype(np.float32)
b = rng.standard_normal(3)  # float64: its own reduction
rows = np.sort(rng.choice(9, size=3 + r, replace=False))
E = RowSparseGrad(rows, rng.standard_normal((rows.size, 2)).astype(np.float32), (9, 2))
penalties = {"coverage_loss": 0.25 * (r + 1), "other": -float(r)}  # a step's, weighted as its loss
loss, total, out, means = g.reduce_step(0.5 * (r + 1), units, {"W": W, "E": E, "b": b}, means=penalties)
every = g.comm.allgather((units, W, E.to_dense(), b))
U = sum(u for u, *_ in every)
assert total == U == 19 and abs(loss - sum(0.5 * (k + 1) * u for k, (u, *_) in enumerate(every)) / U) < 1e-12
np.testing.assert_allclose(out["W"], sum(u * w for u, w, _, _ in every) / U, rtol=1e-6)
np.testing.assert_allclose(out["b"], sum(u * x for u, _, _, x in every) / U, rtol=1e-12)
np.testing.assert_allclose(out["E"].to_dense(), sum(u * e for u, _, e, _ in every) / U, rtol=1e-6)
assert out["W"].dtype == np.float32 and out["b"].dtype == np.float64 and list(out) == ["W", "E", "b"]
union = np.unique(np.concatenate([np.nonzero(e.any(1))[0] for _, _, e, _ in every]))
assert np.array_equal(out["E"].indices, union)  # every process's rows, that of no units too
assert abs(means["coverage_loss"] - sum(0.25 * (k + 1) * u for k, (u, *_) in enumerate(every)) / U) < 1e-12
assert abs(means["other"] - sum(-k * u for k, (u, *_) in enumerate(every)) / U) < 1e-12
same = g.comm.allgather((out["W"].tobytes(), out["E"].values.tobytes(), out["b"].tobytes()))
assert all(s == same[0] for s in same)  # every process holds the same bits
print(f"<ok{r}>", flush=True)
"""


@needs_mpi
def test_gradients_are_combined_weighted_by_units():
    """reduce_step over 3 processes: dense (float32 and float64) and row-sparse gradients, the loss and the
    penalties are the units-weighted means (a process with no units counts for nothing), the same bits everywhere
    (tests/test_seq2seq_coverage_log.py counts the Allreduce calls of a training step)."""
    pytest.importorskip("mpi4py")
    done = subprocess.run([MPIEXEC, "-n", "3", sys.executable, "-c", _COMBINE], capture_output=True, text=True,
                          timeout=120, env=_env())
    assert done.returncode == 0 and all(f"<ok{r}>" in done.stdout for r in range(3)), (done.stdout, done.stderr)


def test_one_process_without_a_launcher(monkeypatch):
    """No launcher's variables: one process, collective operations are the identity."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert launched_processes() == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert launched_processes() == 4
    g = SingleProcess()
    grads = {"w": np.ones(3)}
    assert g.reduce_step(1.5, 4, grads) == (1.5, 4, grads, {}) and g.gather(3) == [3] and g.all_failing()
    assert g.reduce_step(1.5, 4, grads, means={"coverage_loss": 0.5})[3] == {"coverage_loss": 0.5}


def test_a_shard_is_its_columns_of_the_streams():
    """LMTask.shard(r, P) keeps streams [r B/P, (r+1) B/P); the shares' states join into all B streams,
    and a state of all B gives each share its own."""
    ids = np.arange(600) % 17
    model = LanguageModel(LMConfig(vocab_size=17, embedding_dim=4, hidden_size=5, num_layers=2),
                          np.random.default_rng(0))
    whole = LMTask(model, ids, None, batch_size=6, bptt=5)
    parts = [LMTask(model, ids, None, batch_size=6, bptt=5) for _ in range(3)]
    for r, part in enumerate(parts):
        part.shard(r, 3)
        assert np.array_equal(part.data, whole.data[:, 2 * r:2 * r + 2])
        assert part.resume_options()["--batch-size"] == 6
    h = np.random.default_rng(1).standard_normal((2, 6, 5))
    c = h + 1
    shares = [part.carry_from_arrays({"h": h, "c": c}) for part in parts]
    assert all(np.array_equal(s[0], h[:, 2 * r:2 * r + 2]) for r, s in enumerate(shares))
    joined = whole.join_carry_arrays([part.carry_arrays(s) for part, s in zip(parts, shares)])
    assert np.array_equal(joined["h"], h) and np.array_equal(joined["c"], c)
    with pytest.raises(ValueError, match=r"batch_size 6 \(--batch-size\) does not split into 4 equal shares"):
        LMTask(model, ids, None, batch_size=6, bptt=5).shard(0, 4)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux's /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in children.read_text().split()]
            except OSError:  # ended meanwhile
                pass
    return found


@needs_mpi
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc to find the processes")
def test_two_processes_killed_at_any_moment_resume_exactly(tmp_path):
    """SIGKILL to mpiexec and both processes at two moments, each after a checkpoint: the resumed run ends
    with the uninterrupted run's weights, bit for bit."""
    pytest.importorskip("mpi4py")
    extra = ("--dropout", "0.2", "--checkpoint-steps", "7", "--epochs", "3")
    assert _train(tmp_path, "whole", 2, *extra).returncode == 0
    last = tmp_path / "cut" / "last.safetensors"
    rng = np.random.default_rng(0)
    for kill in range(2):
        argv = [MPIEXEC, "-n", "2", sys.executable, "-m", "rnnkit.cli.main", "train", "lm", "--train",
                str(tmp_path / "train.txt"), "--valid", str(tmp_path / "valid.txt"), "--level", "char", "--hidden", "24",
                "--embed", "8", "--layers", "2", "--bptt", "10", "--batch-size", "6", "--seed", "4", "--progress",
                "none", "--run-dir", str(tmp_path / "cut"), *extra, *(["--resume"] if kill else [])]
        run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        start = ckpt.load_meta(last)["loop"]["step"] if kill else -1
        deadline = time.monotonic() + 120
        while run.poll() is None and time.monotonic() < deadline:  # a checkpoint newer than the start
            if last.exists() and ckpt.load_meta(last)["loop"]["step"] > start:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))  # then any moment: mid-step, mid-save, mid-validation
        for pid in reversed(_descendants(run.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.wait(timeout=30)
        assert run.returncode != 0, "the run ended before it could be killed: make it longer"
    rest = _train(tmp_path, "cut", 2, *extra, "--resume")
    assert rest.returncode == 0, rest.stderr
    a, _ = ckpt.load_checkpoint(tmp_path / "whole" / "last.safetensors")
    b, _ = ckpt.load_checkpoint(last)
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


def _same_weights(run_a: Path, run_b: Path) -> None:
    a, _ = ckpt.load_checkpoint(run_a / "last.safetensors")
    b, meta = ckpt.load_checkpoint(run_b / "last.safetensors")
    assert meta["processes"] == 2 and set(a) == set(b)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=1e-5, err_msg=k)


def _same_validation(run_a: Path, run_b: Path) -> None:
    """The epochs' validation metrics of two runs (their metrics logs) are the same, up to float order."""
    def valid(run: Path) -> list[dict]:
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k.startswith("valid_") and k != "valid_seconds"}
                for r in rows if r["type"] == "epoch"]

    a, b = valid(run_a), valid(run_b)
    assert len(a) == len(b) == 2 and all(r for r in a), a
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert rb[k] == pytest.approx(ra[k], rel=1e-4, abs=1e-6), (k, ra, rb)


@needs_mpi
def test_a_tagger_a_classifier_a_translator_and_a_tree_model_over_two_processes_train_one_process_models(tmp_path):
    """Each batch's sentences split between 2 processes, losses combined by tokens (a CRF tagger with
    character features, an attentional encoder-decoder), by sentences (a classifier) or by labelled
    nodes (a Tree-LSTM): without dropout, the one-process weights, a batch of one sentence (and a process
    without a share) included; validated in two parts, the one-process metrics."""
    rng = np.random.default_rng(0)
    words = ["the", "cat", "dog", "runs", "sat", "a", "big", "red"]
    tags = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "runs": "VERB", "sat": "VERB", "big": "ADJ",
            "red": "ADJ"}
    lines = []
    for _ in range(25):  # 25 sentences in batches of 8: the last holds 1, process 1 stands in with no weight
        sent = rng.choice(words, size=int(rng.integers(2, 7)))
        lines += [f"{w}\t{tags[w]}" for w in sent] + [""]
    (tmp_path / "pos.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "pos_dev.tsv").write_text("\n".join(lines[: len(lines) // 3]) + "\n", encoding="utf-8")
    for run, n in (("t1", 1), ("t2", 2)):
        done = _rnnkit(["train", "tagger", "--train", str(tmp_path / "pos.tsv"), "--format", "columns", "--crf",
                        "--valid", str(tmp_path / "pos_dev.tsv"),
                        "--char-features", "--char-embed", "4", "--char-hidden", "4", "--embed", "6", "--hidden", "5",
                        "--dropout", "0", "--singleton-unk", "0",
                        "--batch-size", "8", "--epochs", "2", "--progress", "none", "--run-dir", str(tmp_path / run)],
                       n)
        assert done.returncode == 0, done.stderr
    _same_weights(tmp_path / "t1", tmp_path / "t2")
    _same_validation(tmp_path / "t1", tmp_path / "t2")
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 6)))) for _ in range(45)]
    (tmp_path / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in t else 'neg'}\t{t}\n" for t in texts),
                                      encoding="utf-8")
    for run, n in (("c1", 1), ("c2", 2)):
        done = _rnnkit(["train", "classifier", "--train", str(tmp_path / "cls.tsv"), "--embed", "6", "--hidden", "5",
                        "--dropout", "0",
                        "--batch-size", "8", "--epochs", "2", "--progress", "none", "--run-dir", str(tmp_path / run)],
                       n)
        assert done.returncode == 0, done.stderr
        assert done.stderr.count("model saved:") == 1, done.stderr
    _same_weights(tmp_path / "c1", tmp_path / "c2")
    _same_validation(tmp_path / "c1", tmp_path / "c2")  # --valid-fraction's held-out sentences
    pairs = [" ".join(rng.choice(words, size=int(rng.integers(1, 6)))) for _ in range(33)]  # batches 8, ..., 1
    (tmp_path / "pairs.tsv").write_text("".join(f"{t}\t{' '.join(reversed(t.split()))}\n" for t in pairs),
                                        encoding="utf-8")
    for run, n in (("s1", 1), ("s2", 2)):
        done = _rnnkit(["train", "seq2seq", "--train", str(tmp_path / "pairs.tsv"), "--embed", "6", "--hidden", "5",
                        "--valid", str(tmp_path / "pairs.tsv"), "--eval-batch-size", "4",
                        "--dropout", "0", "--batch-size", "8", "--epochs", "2", "--progress", "none", "--run-dir",
                        str(tmp_path / run)], n)
        assert done.returncode == 0, done.stderr
    _same_weights(tmp_path / "s1", tmp_path / "s2")
    _same_validation(tmp_path / "s1", tmp_path / "s2")
    leaves = [f"({int(rng.integers(0, 5))} {w})" for w in words]
    trees = []
    for _ in range(17):  # batches of 8: the last holds 1
        a, b, c = rng.choice(len(leaves), size=3)
        trees.append(f"({int(rng.integers(0, 5))} {leaves[a]} ({int(rng.integers(0, 5))} {leaves[b]} {leaves[c]}))")
    (tmp_path / "trees.txt").write_text("\n".join(trees) + "\n", encoding="utf-8")
    for run, n in (("r1", 1), ("r2", 2)):
        done = _rnnkit(["train", "tree", "--train", str(tmp_path / "trees.txt"), "--cell", "lstm", "--embed", "6",
                        "--valid", str(tmp_path / "trees.txt"),
                        "--hidden", "5", "--dropout", "0", "--batch-size", "8", "--epochs", "2", "--progress", "none",
                        "--run-dir", str(tmp_path / run)], n)
        assert done.returncode == 0, done.stderr
    _same_weights(tmp_path / "r1", tmp_path / "r2")
    _same_validation(tmp_path / "r1", tmp_path / "r2")


def test_shares_of_a_batch_and_the_stand_in():
    """split_rows gives nearly equal consecutive runs; a process left without a share computes the first
    share's gradient as a stand-in (share_of's flag), to be counted with no weight."""
    from rnnkit.train.distributed import share_of, split_rows

    class Task:
        split_batch = staticmethod(split_rows)

    class Group:
        def __init__(self, rank, size):
            self.rank, self.size = rank, size

    batch = np.array([7, 3, 9, 4, 1])
    assert [p.tolist() for p in split_rows(batch, 2)] == [[7, 3, 9], [4, 1]]
    assert [share_of(Task, batch, Group(r, 3))[0].tolist() for r in range(3)] == [[7, 3], [9, 4], [1]]
    one = np.array([5])
    assert split_rows(one, 3)[1:] == [None, None]
    share, stand_in = share_of(Task, one, Group(2, 3))
    assert share.tolist() == [5] and stand_in and not share_of(Task, one, Group(0, 3))[1]
