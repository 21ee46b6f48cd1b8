"""Where a checkpoint is in its run, said as the training log says it: the loop record counts the epochs *ended*,
the log numbers the epoch *under way*, so a run --max-steps stopped in its second epoch was exported as "step 85,
epoch 1" (and shown by ``rnnkit info`` as "epoch 1 of 3, step 85") beside a log whose last line said "epoch 2"."""
from __future__ import annotations

import json
import re

import pytest
from clirun import run_cli

from rnnkit.train.position import position_text, steps_into_epoch


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A language model run stopped part-way through its second epoch, with the training log it printed."""
    import contextlib
    import io

    from rnnkit.cli.main import main

    root = tmp_path_factory.mktemp("position")
    words = "the cat sat on a mat and the dog ran to it".split()
    (root / "train.txt").write_text("".join(" ".join(words[i:] + words[:i]) + "\n" for i in range(12)))
    (root / "valid.txt").write_text((" ".join(words) + "\n") * 3)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", "lm", "--train", str(root / "train.txt"), "--valid", str(root / "valid.txt"),
                     "--hidden", "4", "--batch-size", "2", "--bptt", "5", "--epochs", "3", "--max-steps", "20",
                     "--progress", "lines", "--log-every", "1", "--run-dir", str(root / "run")])
    assert code == 0, err.getvalue()
    return root, err.getvalue()


def test_export_and_info_name_the_epoch_the_training_log_was_in(run, capsys, tmp_path):
    root, log = run
    ended = [json.loads(line) for line in (root / "run" / "metrics.jsonl").read_text().splitlines()]
    ended = [r for r in ended if r["type"] == "epoch"]
    assert len(ended) == 1 and ended[0]["step"] < 20  # the limit fell inside epoch 2
    into = 20 - ended[0]["step"]
    shown = re.findall(r"^epoch (\d+) \|", log, re.M)
    assert shown[-1] == "2" and f"{into} steps into epoch 2" in log  # the log's words, and the stop line's
    code, _, err = run_cli(capsys, ["export", str(root / "run"), "--last", "-o", str(tmp_path / "m.safetensors")])
    assert code == 0, err
    assert f"(a language model; step 20, {into} steps into epoch 2): " in err.splitlines()[0], err
    code, out, err = run_cli(capsys, ["info", str(root / "run" / "last.safetensors")])
    assert code == 0, err
    training = next(line for line in out.splitlines() if line.startswith("training"))
    assert f"step 20, {into} steps into epoch 2 of 3; " in training
    assert f"epoch 1's training loss {ended[0]['train_loss']:.4f}" in training  # the ended epoch's mean
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "m.safetensors")])
    assert f"a training checkpoint, at step 20, {into} steps into epoch 2; weights float32" in out, out
    code, out, _ = run_cli(capsys, ["info", "--json", str(root / "run" / "last.safetensors")])
    facts = json.loads(out)["training"]
    assert (facts["epoch"], facts["step"], facts["steps_into_epoch"]) == (1, 20, into)


def test_the_best_checkpoint_is_at_its_epochs_end_and_an_export_of_an_export_keeps_it(run, capsys, tmp_path):
    root, _ = run
    code, _, err = run_cli(capsys, ["export", str(root / "run"), "-o", str(tmp_path / "a.safetensors")])
    assert code == 0 and re.search(r"; step \d+, at the end of epoch 1\): ", err.splitlines()[0]), err
    code, _, err = run_cli(capsys, ["export", str(tmp_path / "a.safetensors"), "-o", str(tmp_path / "b.safetensors"),
                                    "--dtype", "float16"])
    assert code == 0 and ", at the end of epoch 1): " in err.splitlines()[0], err


def test_position_words():
    history = [{"type": "epoch", "epoch": 1, "step": 53}]
    assert steps_into_epoch(85, history) == 32 and steps_into_epoch(53, history) == 0
    assert steps_into_epoch(7, []) == 7 and steps_into_epoch(85, "damaged") == 85
    assert steps_into_epoch(None, history) is None and steps_into_epoch(40, history) is None  # a step before it
    assert position_text(85, 1, 32, 3) == "step 85, 32 steps into epoch 2 of 3"
    assert position_text(1_234, 1, 1) == "step 1,234, 1 step into epoch 2"
    assert position_text(53, 1, 0) == "step 53, at the end of epoch 1"
    assert position_text(85, 1, None) == "step 85, 1 epoch ended"  # an export written before it was kept
    assert position_text(0, 0, 0) == "step 0, before the first epoch"
