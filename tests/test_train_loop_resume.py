"""The shared training loop resumed: the divergence guard's reference, a damaged training state, the metrics
log, a finished or early-stopped run, BLAS thread counts, optimizer options, and the training files' digest."""
from __future__ import annotations

import json
import re

import pytest
from quadratic_task import Quadratic, _cfg

from rnnkit.errors import CheckpointError, TrainingDivergedError
from rnnkit.train.loop import TIMING_KEYS, Trainer


def test_file_digest_tells_changed_training_files_apart(tmp_path):
    import gzip

    from rnnkit.train.digest import file_digest

    a, b, z = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "a.txt.gz"
    a.write_bytes(b"ab")
    b.write_bytes(b"c")
    z.write_bytes(gzip.compress(b"ab"))
    assert file_digest([a]) == file_digest([z])  # the data, not its compression
    assert file_digest([a, b]) != file_digest([b, a])
    (tmp_path / "a2.txt").write_bytes(b"a")
    (tmp_path / "b2.txt").write_bytes(b"bc")
    assert file_digest([a, b]) != file_digest([tmp_path / "a2.txt", tmp_path / "b2.txt"])  # the boundary counts
    assert file_digest([a, None]) is None and file_digest([tmp_path]) is None  # stdin, not a regular file


def test_a_resumed_run_keeps_the_divergence_guards_reference(tmp_path):
    """The guard stops at 20x the run's first loss.  A run resumed after its loss had grown used to
    take its first loss after resuming as the reference, and ran on where the uninterrupted run stops."""
    cfg = _cfg(lr=1.5, epochs=10)  # above 2 / (largest Hessian eigenvalue, 1.75): SGD diverges geometrically
    with pytest.raises(TrainingDivergedError, match=r"at step (\d+)") as whole:
        Trainer(Quadratic(), cfg, tmp_path / "whole").fit()
    stop = int(re.search(r"at step (\d+)", str(whole.value)).group(1))
    assert stop > 3
    Trainer(Quadratic(), _cfg(lr=1.5, epochs=10, max_steps=stop - 2), tmp_path / "cut").fit()
    with pytest.raises(TrainingDivergedError, match=f"at step {stop}"):
        Trainer(Quadratic(), cfg, tmp_path / "cut").fit(resume=True)


@pytest.mark.parametrize("damage", ["drop loop", "history not a list", "rng renamed"])
def test_a_damaged_training_state_is_one_checkpoint_error(tmp_path, damage):
    """A header still JSON but damaged (a flipped byte in a key) gave KeyError or AttributeError tracebacks."""
    from rnnkit import checkpoint as ckpt

    Trainer(Quadratic(), _cfg(max_steps=3), tmp_path).fit()
    arrays, meta = ckpt.load_checkpoint(tmp_path / "last.safetensors")
    if damage == "drop loop":
        meta["loOp"] = meta.pop("loop")
    elif damage == "history not a list":
        meta["loop"]["history"] = 12
    else:
        meta["rnG"] = meta.pop("rng")
    ckpt.save_checkpoint(tmp_path / "last.safetensors", arrays, meta)
    with pytest.raises(CheckpointError, match=r"its training state is damaged .*start a new run \(without "
                                              r"--resume; in Python, fit\(resume=False\)\)$"):
        Trainer(Quadratic(), _cfg(), tmp_path).fit(resume=True)


def test_resume_drops_log_lines_that_are_not_records(tmp_path):
    """A cut last line that is not UTF-8, a line that is JSON but not an object, an epoch line without
    its epoch: dropped, as a line cut by a kill is (they stopped the resume, or gave tracebacks)."""
    Trainer(Quadratic(), _cfg(epochs=2), tmp_path / "whole").fit()
    Trainer(Quadratic(), _cfg(epochs=2, max_steps=6), tmp_path / "cut").fit()
    with open(tmp_path / "cut" / "metrics.jsonl", "ab") as f:
        f.write(b'[1, 2]\n{"type": "epoch"}\n{"type": "train", "step": 7, "loss": \xff\xfe')
    Trainer(Quadratic(), _cfg(epochs=2), tmp_path / "cut").fit(resume=True)

    def records(run):
        rows = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]

    assert records("cut") == records("whole")


def test_resume_of_a_finished_or_early_stopped_run_says_so_and_a_larger_patience_goes_on(tmp_path, capsys):
    """A finished run's --resume said 'resumed at epoch 4' of 3 and trained nothing; a larger --patience
    on resume was ignored after an early stop (the README lets --patience change on resume)."""
    valid = [5.0, 4.0, 4.5, 4.6, 4.7, 4.8]
    state = Trainer(Quadratic(valid=valid), _cfg(epochs=6, patience=1), tmp_path).fit()
    assert state.stopped_early and state.epoch == 4
    capsys.readouterr()
    state = Trainer(Quadratic(valid=valid), _cfg(epochs=6, patience=1), tmp_path).fit(resume=True)
    err = capsys.readouterr().err
    assert state.epoch == 4 and "had stopped early after epoch 4 (2 epochs without improvement)" in err, err
    assert "give a larger patience (--patience)" in err and "resumed from" not in err
    task = Quadratic(valid=valid)
    task.epochs = 4  # its validation list goes on where the first run's left it
    state = Trainer(task, _cfg(epochs=6, patience=5), tmp_path).fit(resume=True)
    err = capsys.readouterr().err
    assert "resumed from" in err and state.epoch == 6 and not state.stopped_early, err
    state = Trainer(Quadratic(valid=valid), _cfg(epochs=6, patience=5), tmp_path).fit(resume=True)
    err = capsys.readouterr().err
    assert state.epoch == 6 and "had finished its 6 epochs; nothing to train: give epochs (--epochs) above 6" in err, \
        err
    Trainer(Quadratic(), _cfg(epochs=6, max_steps=2), tmp_path / "steps").fit()
    capsys.readouterr()
    Trainer(Quadratic(), _cfg(epochs=6, max_steps=2), tmp_path / "steps").fit(resume=True)
    assert "has taken its 2 steps; nothing to train: give a larger max_steps (--max-steps)" in capsys.readouterr().err


def test_resume_message_counts_one_epoch_in_the_singular():
    from pathlib import Path
    from types import SimpleNamespace

    from rnnkit.train.digest import resume_message

    for epoch, said in ((1, "had finished its 1 epoch; nothing"), (3, "had finished its 3 epochs; nothing")):
        state = SimpleNamespace(stopped_early=False, epoch=epoch, step=10, bad_epochs=0)
        config = SimpleNamespace(epochs=epoch, max_steps=None)
        assert said in resume_message(state, config, Path("runs/x/last.safetensors"))


def test_a_run_resumed_with_another_blas_thread_count_says_it_will_not_be_bit_for_bit(tmp_path, capsys, monkeypatch):
    """OpenBLAS sums a long float32 product in another order over another number of threads, so the same
    seed gives weights ~1e-6 apart: a resume on another count is said (it went on silently)."""
    for where in ("loop", "loop_checkpoints"):  # the count the run compares, and the one its checkpoints keep
        monkeypatch.setattr(f"rnnkit.train.{where}.blas_threads", lambda: 2)
    Trainer(Quadratic(), _cfg(epochs=2, max_steps=3), tmp_path).fit()
    capsys.readouterr()
    Trainer(Quadratic(), _cfg(epochs=2, max_steps=4), tmp_path).fit(resume=True)
    assert "BLAS thread" not in capsys.readouterr().err  # the same count: nothing to say
    for where in ("loop", "loop_checkpoints"):  # the count the run compares, and the one its checkpoints keep
        monkeypatch.setattr(f"rnnkit.train.{where}.blas_threads", lambda: 1)
    Trainer(Quadratic(), _cfg(epochs=2, max_steps=5), tmp_path).fit(resume=True)
    err = capsys.readouterr().err
    assert ("note: this run trained with 2 BLAS thread(s) and goes on with 1, so its float32 sums round "
            "differently: it will not be bit for bit the uninterrupted run; for that, resume with "
            "'rnnkit --threads 2 train ...'") in err, err


def test_a_finished_run_resumed_with_another_blas_thread_count_says_no_thread_note(tmp_path, capsys, monkeypatch):
    """Nothing trains, so nothing rounds differently: the note followed "nothing to train" (in every fold
    of a finished cross-validation)."""
    for count in (2, 1):
        for where in ("loop", "loop_checkpoints"):
            monkeypatch.setattr(f"rnnkit.train.{where}.blas_threads", lambda count=count: count)
        Trainer(Quadratic(), _cfg(epochs=2, max_steps=3), tmp_path).fit(resume=count == 1)
    err = capsys.readouterr().err
    assert "nothing to train" in err and "BLAS thread" not in err, err


def test_optimizer_options_reach_the_optimizer_and_are_fixed_on_resume(tmp_path):
    """Nesterov momentum, Adam's betas and the like through the Trainer (it once took only lr, momentum and
    weight decay); a resumed run refuses other options, as it refuses another --lr."""
    cfg = _cfg(epochs=1, momentum=0.9, optimizer_options={"nesterov": True})
    trainer = Trainer(Quadratic(), cfg, tmp_path)
    assert trainer.optimizer.nesterov and trainer.optimizer.momentum == 0.9
    trainer.fit()
    adam = Trainer(Quadratic(), _cfg(optimizer="adam", optimizer_options={"betas": (0.5, 0.9)}), tmp_path / "a")
    assert adam.optimizer.betas == (0.5, 0.9)
    with pytest.raises(CheckpointError, match=r"TrainConfig.optimizer_options \{.nesterov.: True\} then, \{\} now"):
        Trainer(Quadratic(), _cfg(epochs=2, momentum=0.9), tmp_path).fit(resume=True)
    with pytest.raises(ValueError, match=r"Expected optimizer_options among Adam's arguments \['betas', 'eps', "
                                         r"'amsgrad'\], got 'nesterov'"):
        _cfg(optimizer="adam", optimizer_options={"nesterov": True})


def test_a_resumed_epoch_counts_the_training_seconds_before_its_checkpoint(tmp_path, monkeypatch):
    """After a resume mid-epoch, its train_seconds (and info's time) counted only the part since the resume: the
    loop record keeps the seconds trained up to the checkpoint.  A clock that moves 10 s a step, and only then."""
    import time

    from rnnkit import checkpoint as ckpt
    from rnnkit.checkpoint_info import checkpoint_info

    clock = [1000.0]

    class Timed(Quadratic):
        def train_step(self, batch, carry, rng):
            clock[0] += 10.0
            return super().train_step(batch, carry, rng)

    monkeypatch.setattr(time, "monotonic", lambda: clock[0])

    def seconds(run):
        rows = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [r["train_seconds"] for r in rows if r["type"] == "epoch"]

    Trainer(Timed(), _cfg(epochs=2), tmp_path / "whole").fit()
    assert seconds("whole") == [40.0, 40.0]  # 4 steps an epoch
    Trainer(Timed(), _cfg(epochs=2, max_steps=6), tmp_path / "cut").fit()  # 2 steps into epoch 2
    assert ckpt.load_meta(tmp_path / "cut" / "last.safetensors")["loop"]["epoch_seconds"] == 20.0
    Trainer(Timed(), _cfg(epochs=2), tmp_path / "cut").fit(resume=True)
    assert seconds("cut") == seconds("whole")
    assert checkpoint_info(tmp_path / "cut" / "last.safetensors")["training"]["seconds"] == \
        checkpoint_info(tmp_path / "whole" / "last.safetensors")["training"]["seconds"]
    assert ckpt.load_meta(tmp_path / "cut" / "last.safetensors")["loop"]["epoch_seconds"] == 0.0  # at an epoch's end
    # a checkpoint written before the record kept them resumes, counting the resumed part alone, as it did
    Trainer(Timed(), _cfg(epochs=2, max_steps=6), tmp_path / "old").fit()
    arrays, meta = ckpt.load_checkpoint(tmp_path / "old" / "last.safetensors")
    del meta["loop"]["epoch_seconds"]
    ckpt.save_checkpoint(tmp_path / "old" / "last.safetensors", arrays, meta)
    Trainer(Timed(), _cfg(epochs=2), tmp_path / "old").fit(resume=True)
    assert seconds("old") == [40.0, 20.0]
