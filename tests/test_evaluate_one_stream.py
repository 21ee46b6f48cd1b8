"""`rnnkit evaluate` (and `train lm --test`) of a language model reads the file as one stream, while `rnnkit score`
starts each line afresh and says so: their totals differed with nothing on evaluate's line to tell why."""
from __future__ import annotations

import pytest
from clirun import run_cli

TEXT = "the cat sat on the mat\nthe dog sat on the log\n" * 20


@pytest.mark.parametrize("level", ["word", "char", "bpe"])
def test_evaluate_and_train_test_lines_say_the_file_is_read_as_one_stream(level, tmp_path, capsys):
    data = tmp_path / "train.txt"
    data.write_text(TEXT, encoding="utf-8")
    extra = ["--bpe-vocab", "30"] if level == "bpe" else []
    code, out, err = run_cli(capsys, ["train", "lm", "--train", str(data), "--test", str(data), "--level", level,
                                      *extra, "--epochs", "1", "--embed", "4", "--hidden", "4", "--bptt", "4",
                                      "--batch-size", "2", "--test-batch-size", "1", "--progress", "none",
                                      "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    test_line = [line for line in out.splitlines() if line.startswith("test: ")]
    assert len(test_line) == 1 and test_line[0].endswith(", the file read as one stream"), out
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "last.safetensors"), str(data)])
    assert code == 0 and out.startswith(f"{data}: ") and out.endswith(", the file read as one stream\n"), (out, err)


def test_a_bpe_lms_epoch_line_marks_its_estimated_per_word_figures(tmp_path, capsys):
    data = tmp_path / "train.txt"
    data.write_text(TEXT, encoding="utf-8")
    common = ["train", "lm", "--train", str(data), "--valid", str(data), "--level", "bpe", "--bpe-vocab", "30",
              "--epochs", "1", "--embed", "4", "--hidden", "4", "--bptt", "4", "--batch-size", "2",
              "--progress", "lines"]
    for streams, mark in (("10", "~"), ("1", "")):  # one stream from <eos> predicts every piece: exact
        code, _, err = run_cli(capsys, [*common, "--eval-batch-size", streams, "--run-dir", str(tmp_path / streams)])
        line = next(line for line in err.splitlines() if line.startswith("epoch 1 done"))
        assert code == 0 and "| valid bits/piece " in line and f"| valid {mark}word_ppl " in line, line
        assert f"| valid {mark}bits/char " in line, line
