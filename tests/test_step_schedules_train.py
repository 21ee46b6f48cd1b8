"""Per-step schedules in the training loop and on the command line: stepped after every optimizer step,
spanning epochs x batches (or --max-steps), a killed run resumed bit for bit, --resume refusing a changed
span or warmup, and the options' checks."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint
from rnnkit.errors import CheckpointError
from rnnkit.lm.task import LMTask
from rnnkit.optim import SGD, schedule_with_warmup
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import TIMING_KEYS, StepResult, Trainer


class Toy:
    """Least squares over 4 row pairs; ``per_epoch[e]`` batches in epoch e (the last entry repeats), noisy
    gradients drawn from the loop's generator; ``kill_at``: step that raises, as a killed process stops."""

    def __init__(self, per_epoch=(4,), kill_at=None):
        rng = np.random.default_rng(0)
        self.params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
        self.x = rng.standard_normal((8, 3))
        self.y = rng.standard_normal((8, 2))
        self.per_epoch, self.kill_at, self.steps = per_epoch, kill_at, 0

    def epoch_units(self):
        return 4

    def train_batches(self, epoch, cursor, rng):
        n = self.per_epoch[min(epoch, len(self.per_epoch) - 1)]
        for i in range(cursor, n):
            yield i + 1, (i * 3 + epoch) % 4

    def train_step(self, batch, carry, rng):
        self.steps += 1
        if self.steps == self.kill_at:
            raise RuntimeError("killed")
        rows = slice(2 * batch, 2 * batch + 2)
        err = self.x[rows] @ self.params["w"] + self.params["b"] - self.y[rows]  # (2, 2)
        noise = 0.01 * rng.standard_normal(err.shape)  # dropout's stand-in: the generator must resume too
        grads = {"w": self.x[rows].T @ (err + noise), "b": (err + noise).sum(axis=0)}
        return StepResult(float(np.mean(err**2)), 2, grads)

    def evaluate(self):
        return {"loss": float(np.mean((self.x @ self.params["w"] + self.params["b"] - self.y) ** 2))}

    def carry_arrays(self, carry):
        return {}

    def carry_from_arrays(self, arrays):
        return None

    def meta(self):
        return {"model": "toy"}


def _cfg(**kw):
    base = dict(epochs=3, optimizer="adam", lr=0.05, clip=None, progress="none", log_every=1,
                checkpoint_minutes=None, schedule="cosine", warmup_steps=3)
    base.update(kw)
    return TrainConfig(**base)


def _records(run, kind):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows if r["type"] == kind]


def _expected_rates(kind, warmup, total, lr):
    opt = SGD({"w": np.zeros(1)}, lr=lr)
    sched = schedule_with_warmup(opt, kind, warmup, total)
    out = []
    for _ in range(total):
        out.append(opt.lr)
        sched.step()
    return out


@pytest.mark.parametrize("kind", ["cosine", "linear", "none"])
def test_the_loop_steps_the_schedule_after_every_step(tmp_path, kind):
    state = Trainer(Toy(), _cfg(schedule=kind), tmp_path).fit()
    assert state.step == 12
    train = _records(tmp_path, "train")
    assert [r["lr"] for r in train] == pytest.approx(_expected_rates("constant" if kind == "none" else kind, 3, 12,
                                                                     0.05), rel=1e-15)
    # an epoch's line shows the rate of its last step (not the next one's)
    assert [r["lr"] for r in _records(tmp_path, "epoch")] == [train[3]["lr"], train[7]["lr"], train[11]["lr"]]
    _, meta = load_checkpoint(tmp_path / "last.safetensors")
    assert meta["schedule_steps"] == 12 and meta["schedule"]["step_count"] == 12
    assert meta["train_config"]["warmup_steps"] == 3


@pytest.mark.parametrize("kill_at", [3, 6, 9], ids=["in-warmup", "mid-epoch-2", "after-epoch-2"])
def test_a_killed_run_resumed_equals_the_uninterrupted_one_bit_for_bit(tmp_path, kill_at):
    cfg = _cfg(checkpoint_steps=1)
    Trainer(Toy(), cfg, tmp_path / "whole").fit()
    with pytest.raises(RuntimeError, match="killed"):
        Trainer(Toy(kill_at=kill_at), cfg, tmp_path / "cut").fit()
    stopped, meta = load_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert meta["loop"]["step"] == kill_at - 1 and meta["schedule"]["step_count"] == kill_at - 1
    Trainer(Toy(), cfg, tmp_path / "cut").fit(resume=True)
    a, meta_a = load_checkpoint(tmp_path / "whole" / "last.safetensors")
    b, meta_b = load_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert sorted(a) == sorted(b)
    assert any(not np.array_equal(stopped[k], a[k]) for k in a), "the cut run must have stopped short"
    for k in a:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
    assert meta_b["schedule"] == meta_a["schedule"] and meta_b["rng"] == meta_a["rng"]
    for kind in ("train", "epoch"):
        assert _records(tmp_path / "cut", kind) == _records(tmp_path / "whole", kind)


def test_steps_beyond_the_counted_span_keep_the_final_rate(tmp_path):
    """Epochs longer than the first (--jitter's windows): the cosine stays at its end instead of rising again."""
    Trainer(Toy(per_epoch=(4, 6)), _cfg(epochs=2, warmup_steps=0), tmp_path).fit()
    rates = [r["lr"] for r in _records(tmp_path, "train")]
    assert len(rates) == 10
    assert rates[:8] == pytest.approx(_expected_rates("cosine", 0, 8, 0.05), rel=1e-15)
    assert rates[8:] == [0.0, 0.0]
    assert load_checkpoint(tmp_path / "last.safetensors")[1]["schedule"]["step_count"] == 8


def test_max_steps_sets_the_span_and_a_resume_may_not_change_it(tmp_path):
    Trainer(Toy(), _cfg(max_steps=7), tmp_path / "a").fit()
    assert [r["lr"] for r in _records(tmp_path / "a", "train")] == pytest.approx(
        _expected_rates("cosine", 3, 7, 0.05), rel=1e-15)
    with pytest.raises(CheckpointError, match=r"schedule='cosine' \(--schedule\) spans this run's 7 steps, and "
                                              r"would span 12 now, from epochs=3 \(--epochs\) of 4 batches; resume "
                                              r"with the epochs and max_steps it started with, or start a new run "
                                              r"\(without --resume; in Python, fit\(resume=False\)\)$"):
        Trainer(Toy(), _cfg(), tmp_path / "a").fit(resume=True)
    with pytest.raises(CheckpointError, match=r"warmup-steps \(TrainConfig.warmup_steps\) 3 then, 2 now"):
        Trainer(Toy(), _cfg(max_steps=7, warmup_steps=2), tmp_path / "a").fit(resume=True)
    # a warmup to a constant rate spans nothing after it: more epochs go on at the base rate
    Trainer(Toy(), _cfg(schedule="none", epochs=2), tmp_path / "b").fit()
    state = Trainer(Toy(), _cfg(schedule="none", epochs=3), tmp_path / "b").fit(resume=True)
    assert state.step == 12 and [r["lr"] for r in _records(tmp_path / "b", "train")][3:] == [0.05] * 9


def test_a_runs_step_counts_are_said_with_thousands_separators():
    from rnnkit.train.run_schedule import check_warmup, schedule_span, span_problem

    cfg = _cfg(schedule="cosine", warmup_steps=3000, epochs=2)
    total, how = schedule_span(cfg, 1265)
    assert (total, how) == (2530, "epochs=2 (--epochs) of 1,265 batches")
    with pytest.raises(ValueError, match=r"^warmup_steps=3000 \(--warmup-steps\) is not below the run's 2,530 steps, "
                                         r"from epochs=2 \(--epochs\) of 1,265 batches:"):
        check_warmup(cfg, total, how)
    assert span_problem(cfg, 1200, total, how).startswith(
        "schedule='cosine' (--schedule) spans this run's 1,200 steps, and would span 2,530 now, from epochs=2 "
        "(--epochs) of 1,265 batches;")


def test_a_warmup_must_end_before_the_run_does(tmp_path):
    with pytest.raises(ValueError, match=r"^warmup_steps=12 \(--warmup-steps\) is not below the run's 12 steps, "
                                         r"from epochs=3 \(--epochs\) of 4 batches: give fewer warmup steps, or more "
                                         r"epochs$"):
        Trainer(Toy(), _cfg(warmup_steps=12), tmp_path)
    with pytest.raises(ValueError, match=r"run's 5 steps, from max_steps=5 \(--max-steps\), fewer than epochs=3 "
                                         r"\(--epochs\) of 4 batches: give fewer warmup steps, or a larger "
                                         r"max_steps$"):
        Trainer(Toy(), _cfg(warmup_steps=5, max_steps=5, schedule="none"), tmp_path)
    Trainer(Toy(), _cfg(warmup_steps=11), tmp_path)  # one step of decay is enough


@pytest.mark.parametrize("kw, error, said", [
    ({"warmup_steps": -1}, ValueError, "Expected warmup_steps >= 0, got -1"),
    ({"warmup_steps": 2.0}, TypeError, "Expected warmup_steps to be an integer"),
    ({"schedule": "exp", "warmup_steps": 5}, ValueError, "Expected warmup_steps 0 with schedule 'exp'"),
    ({"schedule": "cosine", "warmup_steps": 0, "lr_decay": 0.3}, ValueError, "Expected lr_decay only with a schedule"),
])
def test_train_config_checks_the_new_fields(kw, error, said):
    with pytest.raises(error, match=said):
        _cfg(**kw)


def test_train_config_per_step_and_make_schedule():
    assert _cfg().per_step and _cfg(schedule="linear", warmup_steps=0).per_step
    assert _cfg(schedule="none").per_step and not _cfg(schedule="none", warmup_steps=0).per_step
    assert not _cfg(schedule="exp", warmup_steps=0).per_step
    opt = SGD({"w": np.zeros(1)}, lr=0.1)
    with pytest.raises(ValueError, match="Expected total_steps for schedule 'cosine'"):
        _cfg().make_schedule(opt)
    assert _cfg(schedule="none", warmup_steps=0).make_schedule(opt) is None


# ---------------------------------------------------------------- the command line

TEXT = "".join(f"the {w} sat on the mat and the {v} ran\n" for w in ("cat", "dog", "bird") for v in ("fox", "cow")) * 8


def _argv(tmp_path, run, *more):
    (tmp_path / "train.txt").write_text(TEXT, encoding="utf-8")
    return ["train", "lm", "--train", str(tmp_path / "train.txt"), "--hidden", "8", "--embed", "8", "--layers", "1",
            "--batch-size", "2", "--bptt", "6", "--epochs", "2", "--dropout", "0.2", "--optimizer", "adam",
            "--lr", "0.01", "--progress", "none", "--checkpoint-minutes", "0", "--seed", "4", "--log-every", "1",
            "--run-dir", str(run), *more]


def test_cli_run_killed_by_a_signal_and_resumed_equals_uninterrupted(tmp_path, capsys, monkeypatch):
    sched = ["--schedule", "linear", "--warmup-steps", "4"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert run_cli(capsys, _argv(tmp_path, whole, *sched))[0] == 0
    original = LMTask.train_step
    count = {"n": 0}

    def train_step(self, *args, **kwargs):  # SIGINT inside step 6: the loop saves after it and stops
        count["n"] += 1
        result = original(self, *args, **kwargs)
        if count["n"] == 6:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    with monkeypatch.context() as m:
        m.setattr(LMTask, "train_step", train_step)
        code, _, err = run_cli(capsys, _argv(tmp_path, cut, *sched))
    assert code == 130 and "interrupted after step 6" in err, err
    assert run_cli(capsys, _argv(tmp_path, cut, *sched, "--resume"))[0] == 0
    a, meta_a = load_checkpoint(whole / "last.safetensors")
    b, meta_b = load_checkpoint(cut / "last.safetensors")
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
    assert meta_a["train_config"]["schedule"] == "linear" and meta_a["train_config"]["warmup_steps"] == 4
    total = meta_a["schedule_steps"]
    assert total == meta_a["loop"]["step"] > 4
    rates = [r["lr"] for r in _records(whole, "train")]
    assert rates == pytest.approx(_expected_rates("linear", 4, total, 0.01), rel=1e-15)
    assert _records(cut, "train") == _records(whole, "train")


def test_cli_resume_refuses_a_changed_warmup_or_span(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, _argv(tmp_path, run, "--schedule", "cosine", "--warmup-steps", "3",
                                 "--max-steps", "5"))[0] == 0
    for more, said in ((["--warmup-steps", "2", "--max-steps", "5"],
                        "(--warmup-steps (TrainConfig.warmup_steps) 3 then, 2 now)"),
                       (["--warmup-steps", "3"], "schedule='cosine' (--schedule) spans this run's 5 steps, and "
                                                 "would span")):
        code, _, err = run_cli(capsys, _argv(tmp_path, run, "--schedule", "cosine", "--resume", *more))
        assert code == 2 and said in err.splitlines()[-1] and said not in "".join(err.splitlines()[:-1]), err
    # the same options: nothing left, and the way on is a new run (a larger --max-steps would be refused above)
    code, _, err = run_cli(capsys, _argv(tmp_path, run, "--schedule", "cosine", "--warmup-steps", "3",
                                         "--max-steps", "5", "--resume"))
    assert code == 0 and "has taken its 5 steps; nothing to train: its cosine schedule (--schedule) has ended" in err


@pytest.mark.parametrize("more, said", [
    (["--warmup-steps", "-1"], "argument --warmup-steps: Expected an integer >= 0, got -1"),
    (["--schedule", "exp", "--warmup-steps", "5"], "--warmup-steps has no effect with --schedule exp"),
    (["--schedule", "cosine", "--lr-decay", "0.3"], "--schedule is cosine (which has none)"),
])
def test_cli_bad_values_are_one_line_before_the_data(tmp_path, capsys, more, said):
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "MISSING.txt"), *more])
    assert code == 2 and err.count("\n") == 1 and said in err and "MISSING" not in err, err


def test_cli_warmup_longer_than_the_run_is_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, _argv(tmp_path, tmp_path / "run", "--schedule", "linear", "--warmup-steps", "500"))
    assert code == 2, err
    last = err.splitlines()[-1]
    assert last.startswith("rnnkit: error: warmup_steps=500 (--warmup-steps) is not below the run's "), err
    assert not (tmp_path / "run" / "last.safetensors").exists()


@pytest.mark.parametrize("folds", [[], ["--folds", "2"]])
def test_a_refused_warmup_leaves_no_run_folder_behind_with_or_without_folds(tmp_path, capsys, folds):
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} film\n" for i in range(40))
    (tmp_path / "train.tsv").write_text(rows, encoding="utf-8")
    run = tmp_path / "runs" / "cv"
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), *folds,
                                      "--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none",
                                      "--warmup-steps", "500", "--run-dir", str(run)])
    assert code == 2 and err.splitlines()[-1].startswith("rnnkit: error: warmup_steps=500 (--warmup-steps) is "), err
    assert not (tmp_path / "runs").exists(), sorted(p.name for p in run.iterdir())  # no lock, no record
    run.mkdir(parents=True)  # a folder that was there stays, holding nothing of the refused run but its lock
    code, _, _ = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), *folds,
                                  "--epochs", "1", "--warmup-steps", "500", "--run-dir", str(run)])
    assert code == 2 and {p.name for p in run.iterdir()} <= {".lock"}


@pytest.mark.parametrize("command", ["lm", "tagger", "classifier", "seq2seq", "tree"])
def test_every_train_command_offers_the_per_step_schedules(command, capsys):
    code, out, _ = run_cli(capsys, ["train", command, "--help"])
    text = " ".join(out.split())
    assert code == 0 and "--warmup-steps N raise the lr linearly from 0" in text and "(default: 0)" in text
    assert "{none,step,exp,plateau,decay_after,cosine,linear}" in text and "cosine (cosine annealing" in text


def test_a_checkpoint_of_an_earlier_version_had_the_new_fields_at_their_defaults():
    """A run saved before --warmup-steps, --tie, --cell (tagger) or --tgt-embeddings existed: its resume with
    one of them set is refused (a warmup restarted halfway through the old run; vectors were read, then
    overwritten), and with them at their defaults goes on."""
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.digest import resume_problem

    now = TrainConfig().to_dict()
    old = {k: v for k, v in now.items() if k != "warmup_steps"}
    tagger = {"tagger_config": {"vocab_size": 5, "num_tags": 2, "hidden_size": 8}}
    meta = {"train_config": old, "task": tagger, "run_options": {"--batch-size": 4}}
    same = {"tagger_config": {**tagger["tagger_config"], "cell": "lstm", "bidirectional": True}}
    assert resume_problem(meta, same, now, None, {"--batch-size": 4, "--tgt-embeddings": None}) is None
    said = resume_problem(meta, same, {**now, "warmup_steps": 5}, None, {"--batch-size": 4})
    assert said and "--warmup-steps (TrainConfig.warmup_steps) 0 then, 5 now" in said, said
    said = resume_problem(meta, {"tagger_config": {**same["tagger_config"], "cell": "gru"}}, now, None, {})
    assert said and "--cell (tagger_config.cell): 'lstm' then, 'gru' now" in said, said
    said = resume_problem(meta, same, now, None, {"--batch-size": 4, "--tgt-embeddings": "v.txt (9 bytes)"})
    assert said and "--tgt-embeddings none then, v.txt (9 bytes) now" in said, said
    s2s = {"seq2seq_config": {"src_vocab_size": 5, "tgt_vocab_size": 5}}
    said = resume_problem({**meta, "task": s2s}, {"seq2seq_config": {**s2s["seq2seq_config"], "tie_weights": True}},
                          now, None, {})
    assert said and "--tie (seq2seq_config.tie_weights): False then, True now" in said, said
