"""``--progress lines`` shows a line at the run's steps that are multiples of --log-every (and at each epoch's
end), counted from the run's start: a run stopped and resumed shows its lines at the steps the uninterrupted run
does (they came every --log-every updates from the resume, and from each epoch's start: at other steps)."""
from __future__ import annotations

import io
import re

import pytest
from clirun import run_cli
from quadratic_task import Quadratic, _cfg

import rnnkit.train.progress as progress
from rnnkit.train.loop import Trainer

STEPS = 10  # an epoch's steps, one unit each


class _Longer(Quadratic):
    """Quadratic with an epoch of STEPS steps."""

    def epoch_units(self):
        return STEPS

    def train_batches(self, epoch, cursor, rng):
        for i in range(cursor, STEPS):
            yield i + 1, i


def _line_steps(text: str) -> list[int]:
    """The run's step at each progress line of ``text``: its epoch's steps before it, and its share of the epoch."""
    found = re.findall(r"^epoch (\d+) \| +([\d.]+)%", text, re.M)
    return [(int(epoch) - 1) * STEPS + round(float(pct) * STEPS / 100) for epoch, pct in found]


def _fit(run_dir, resume=False, **kw) -> list[int]:
    stream = io.StringIO()
    shown = progress.Progress("lines", every=kw["log_every"], stream=stream)
    Trainer(_Longer(), _cfg(**kw), run_dir, progress=shown).fit(resume=resume)
    return _line_steps(stream.getvalue())


@pytest.mark.parametrize("every, cut", [(4, 3), (4, 5), (3, 12), (7, 9)])
def test_a_resumed_run_shows_its_lines_at_the_uninterrupted_runs_steps(tmp_path, every, cut):
    whole = _fit(tmp_path / "whole", epochs=3, log_every=every)
    expected = sorted({s for s in range(1, 3 * STEPS + 1) if s % every == 0 or s % STEPS == 0})
    assert whole == expected  # each epoch's line too, not every updates from its start
    first = _fit(tmp_path / "cut", epochs=3, log_every=every, max_steps=cut)
    assert first == [s for s in whole if s < cut] + [cut]  # and the stop's own line
    resumed = _fit(tmp_path / "cut", resume=True, epochs=3, log_every=every)
    assert resumed == [s for s in whole if s > cut], (whole, resumed)


def test_the_command_line_resumed_run_prints_at_the_same_steps(tmp_path, capsys):
    """rnnkit train lm --progress lines --log-every 3, stopped at step 2 and resumed: lines at steps 3, 6, ...
    (they came at 5, 8, ...), as the uninterrupted run's."""
    (tmp_path / "t.txt").write_text("".join(f"{' '.join('abcdef'[(i + j) % 6] for j in range(8))}\n"
                                            for i in range(40)), encoding="utf-8")
    argv = ["train", "lm", "--train", str(tmp_path / "t.txt"), "--embed", "4", "--hidden", "4", "--batch-size", "4",
            "--bptt", "5", "--epochs", "1", "--checkpoint-minutes", "0", "--progress", "lines", "--log-every", "3"]
    pct = r"^epoch 1 \| +([\d.]+)%"
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "whole")])
    assert code == 0, err
    whole = re.findall(pct, err, re.M)
    assert len(whole) >= 3, err
    assert run_cli(capsys, argv + ["--run-dir", str(tmp_path / "cut"), "--max-steps", "2"])[0] == 0
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "cut"), "--resume"])
    assert code == 0 and re.findall(pct, err, re.M) == whole, (whole, err)
