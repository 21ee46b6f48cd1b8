"""A run that max_steps stops says where: part-way through an epoch, its last steps (in last.safetensors, never
validated) were not reported at all, and best.safetensors, an earlier epoch's, looked like the whole run's."""
from __future__ import annotations

from quadratic_task import Quadratic, _cfg

from rnnkit import checkpoint as ckpt
from rnnkit.train.loop import Trainer


def _stops(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("stopped at")]


def test_a_run_stopped_inside_an_epoch_says_which_steps_no_validation_saw(tmp_path, capsys):
    state = Trainer(Quadratic(), _cfg(epochs=5, max_steps=6), tmp_path / "a").fit()  # 4 steps an epoch
    assert state.step == 6 and state.epoch == 1
    assert _stops(capsys) == ["stopped at step 6 (max_steps), 2 steps into epoch 2, which is not validated: "
                              "last.safetensors has them, best.safetensors is epoch 1's (the best validated)"]
    assert ckpt.load_checkpoint(tmp_path / "a" / "last.safetensors")[1]["loop"]["step"] == 6
    # resumed to a later limit (epochs 2 and 3 validated at 0.01 and 0.9): the best is the best validated epoch's
    Trainer(Quadratic(valid=[0.01, 0.9]), _cfg(epochs=5, max_steps=13), tmp_path / "a").fit(resume=True)
    assert _stops(capsys) == ["stopped at step 13 (max_steps), 1 step into epoch 4, which is not validated: "
                              "last.safetensors has it, best.safetensors is epoch 2's (the best validated)"]


def test_a_run_stopped_at_an_epochs_end_or_at_its_last_step(tmp_path, capsys):
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=4), tmp_path / "b").fit()
    assert _stops(capsys) == ["stopped at step 4 (max_steps) after epoch 1 of 5"]
    Trainer(Quadratic(), _cfg(epochs=2, max_steps=8), tmp_path / "c").fit()  # the limit is the run's end
    Trainer(Quadratic(), _cfg(epochs=2, max_steps=50), tmp_path / "d").fit()
    assert _stops(capsys) == []
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=4), tmp_path / "b").fit(resume=True)  # nothing left: no repeat
    assert _stops(capsys) == []


def test_a_run_that_keeps_no_best_leaves_the_stop_to_its_caller(tmp_path, capsys):
    """keep_best=False (the main demo, whose model is its final weights, which it validates and reports itself):
    no best.safetensors, and no stop line (the demo said 'stopped at step 1,000 (max_steps) ... not validated' and
    then validated those weights)."""
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6), tmp_path, keep_best=False).fit()
    assert not (tmp_path / "best.safetensors").exists() and (tmp_path / "last.safetensors").exists()
    assert _stops(capsys) == []


def test_early_stopping_at_the_step_limit_says_only_that_it_stopped_early(tmp_path, capsys):
    """Both at epoch 3's end: 'stopped at step 12 (max_steps) after epoch 3' beside the early stop suggested that a
    larger --max-steps would have gone on (it would not: the run stopped early)."""
    state = Trainer(Quadratic(valid=[0.5, 0.6, 0.7]), _cfg(epochs=5, max_steps=12, patience=1), tmp_path).fit()
    assert state.stopped_early and state.step == 12
    assert _stops(capsys) == []


def test_the_last_progress_line_and_steps_left_of_a_run_the_limit_stops(tmp_path, monkeypatch):
    """The epoch a limit stops part-way ends its display (lines: its last update) before the stop line, and the
    ETA's step budget counts from the step a resumed run starts at."""
    import io

    from rnnkit.train.progress import Progress

    budgets = []
    start = Progress.start_epoch
    monkeypatch.setattr(Progress, "start_epoch", lambda self, *a, **kw: budgets.append(kw.get("steps_left")) or
                        start(self, *a, **kw))
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6), tmp_path).fit()
    stream = io.StringIO()
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=11), tmp_path, progress=Progress("lines", every=100,
                                                                                   stream=stream)).fit(resume=True)
    assert budgets == [6, 2, 5, 3]  # epochs 1-2 from step 0; epoch 2 resumed at step 6, then epoch 3 at step 8
    lines = stream.getvalue().splitlines()
    last = next(i for i, line in enumerate(lines) if line.startswith("stopped at step 11"))
    assert lines[last - 1].startswith("epoch 3 |  75.0% |"), lines
