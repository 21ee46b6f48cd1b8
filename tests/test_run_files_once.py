"""A run's files are written once for each state they hold: a max_steps limit that falls on an epoch's end wrote
last.safetensors at the epoch's end and again as the limit stopped the run, and a resume with nothing to train
(a run already at its limit) rewrote last.safetensors and metrics.jsonl, unchanged, saying it trained nothing."""
from __future__ import annotations

import pytest
from quadratic_task import Quadratic, _cfg

from rnnkit import checkpoint as ckpt
from rnnkit.train.loop import Trainer


@pytest.fixture
def saves(monkeypatch) -> list[str]:
    """The names of the checkpoints written, in order."""
    written: list[str] = []
    real = ckpt.save_checkpoint

    def counting(path, *args, **kwargs):
        written.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ckpt, "save_checkpoint", counting)
    return written


@pytest.mark.parametrize("max_steps", [4, 8])  # 4 steps an epoch: the limit at epoch 1's end, or at 2's (the last)
def test_a_limit_at_an_epochs_end_writes_last_once(tmp_path, saves, max_steps):
    state = Trainer(Quadratic(), _cfg(epochs=2, max_steps=max_steps), tmp_path).fit()
    assert state.step == max_steps and state.epoch == max_steps // 4
    assert saves.count("last.safetensors") == max_steps // 4  # once an epoch, none more at the limit
    assert ckpt.load_checkpoint(tmp_path / "last.safetensors")[1]["loop"]["step"] == max_steps


def test_a_limit_inside_an_epoch_and_a_periodic_save_on_it_write_last_once(tmp_path, saves):
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6, checkpoint_steps=3), tmp_path).fit()
    assert saves == ["last.safetensors", "best.safetensors", "last.safetensors", "last.safetensors"]  # 3, 4, 6
    assert ckpt.load_checkpoint(tmp_path / "last.safetensors")[1]["loop"]["step"] == 6


@pytest.mark.parametrize("limits", [dict(epochs=5, max_steps=4), dict(epochs=5, max_steps=6), dict(epochs=2)])
def test_a_resume_with_nothing_to_train_writes_nothing_and_says_so_once(tmp_path, saves, capsys, limits):
    Trainer(Quadratic(), _cfg(**limits), tmp_path).fit()
    files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()
             if p.name != ".lock"}  # the lock names its holder
    assert {"last.safetensors", "best.safetensors", "metrics.jsonl"} <= set(files)
    capsys.readouterr()
    saves.clear()
    state = Trainer(Quadratic(), _cfg(**limits), tmp_path).fit(resume=True)
    assert saves == []
    assert files == {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()
                     if p.name != ".lock"}
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and "nothing to train" in said[0], said
    assert state.step == ckpt.load_checkpoint(tmp_path / "last.safetensors")[1]["loop"]["step"]


def test_a_resume_that_trains_on_still_saves_at_its_limit(tmp_path, saves):
    """The resumed checkpoint's step counts as saved only until the next step."""
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=5), tmp_path).fit()
    saves.clear()
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6), tmp_path).fit(resume=True)
    assert saves == ["last.safetensors"]
    assert ckpt.load_checkpoint(tmp_path / "last.safetensors")[1]["loop"]["step"] == 6
