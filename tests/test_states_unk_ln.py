"""rnnkit states marks the tokens it read as <unk>, shows an invisible one as generate --next does, and says
what a layer-normalized LSTM's c is."""
from __future__ import annotations

import json

import numpy as np
from clirun import run_cli

TEXT = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n" * 20 + "床\u3000前\n"


def _train(tmp_path, capsys, *extra):
    train = tmp_path / "zh.txt"
    train.write_text(TEXT, encoding="utf-8")
    run = tmp_path / f"run{len(extra)}"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(train), "--level", "char", "--cell", "lstm",
                                    "--hidden", "4", "--embed", "4", "--batch-size", "2", "--bptt", "8", "--epochs",
                                    "1", "--progress", "none", "--run-dir", str(run), *extra])
    assert code == 0, err
    return str(run / "last.safetensors")


def test_unknown_tokens_are_marked_in_the_table_and_the_json(tmp_path, capsys):
    model = _train(tmp_path, capsys)
    code, out, err = run_cli(capsys, ["states", model, "--text", "床X前", "--units", "0"])
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()[1:]] == ["床", "X (<unk>)", "前"]
    assert "layer normalization" not in err  # a plain LSTM's c is its cell
    code, out, err = run_cli(capsys, ["states", model, "--text", "床X前", "--units", "0", "--json"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["token"] for r in rows] == ["床", "X", "前"]
    assert [r.get("unk", False) for r in rows] == [False, True, False]


def test_an_invisible_token_is_written_as_generate_next_writes_it(tmp_path, capsys):
    """The user walk's rows that looked empty: U+3000 and the U+200D joiner inside 👨‍👩‍👧 were printed as they
    are; generate --next writes them \\u3000 and \\u200d, and so does states now."""
    model = _train(tmp_path, capsys)
    code, out, err = run_cli(capsys, ["states", model, "--text", "床\u3000👨\u200d👩", "--units", "0"])
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()[1:]] == [
        "床", "\\u3000", "👨 (<unk>)", "\\u200d (<unk>)", "👩 (<unk>)"], out
    code, out, err = run_cli(capsys, ["generate", model, "--prime", "床", "--next", "22"])
    assert code == 0 and "\t\\u3000\n" in out, (out, err)  # the same token in generate --next's list
    code, out, err = run_cli(capsys, ["states", model, "--text", "床\u3000", "--json"])  # JSON: the character
    assert [json.loads(line)["token"] for line in out.splitlines()] == ["床", "\u3000"]


def test_a_layer_normalized_lstm_says_c_is_before_its_ln(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    model_path = _train(tmp_path, capsys, "--layer-norm")
    code, out, err = run_cli(capsys, ["states", model_path, "--text", "床前", "--show", "h,c,o"])
    assert code == 0
    assert "c is the cell state before its layer normalization: h = o * tanh(LN(c))" in err
    rows = np.array([[float(x) for x in line.split("\t")[1:]] for line in out.splitlines()[1:]])  # (T, 3H)
    h, c, o = rows[:, :4], rows[:, 4:8], rows[:, 8:]
    model, *_ = load_lm(model_path)
    assert model.config.layer_norm
    assert np.abs(o * np.tanh(c) - h).max() > 1e-3  # h is not o * tanh(c): the LN sits in between
