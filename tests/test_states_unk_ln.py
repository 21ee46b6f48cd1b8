"""rnnkit states marks the tokens it read as <unk>, shows an invisible one as generate --next does, and says
what a layer-normalized LSTM's c is."""
from __future__ import annotations

import json

import numpy as np
import pytest
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


def test_unknown_tokens_are_marked_in_the_plot_as_in_the_table(tmp_path, capsys, monkeypatch):
    """The heatmap's token labels left an <unk> token unmarked, while the table marks it ' (<unk>)'."""
    pytest.importorskip("matplotlib")
    import rnnkit.lm.states_plot as states_plot

    model = _train(tmp_path, capsys)
    figures = []
    real = states_plot.save_figure
    monkeypatch.setattr(states_plot, "save_figure", lambda fig, *a: (figures.append(fig), real(fig, *a))[1])
    png = tmp_path / "states.png"
    code, out, err = run_cli(capsys, ["states", model, "--text", "床X前", "--units", "0", "--output", str(png)])
    assert code == 0 and png.is_file(), err
    bottom = [ax for ax in figures[0].axes if ax.get_xlabel().startswith("token")]
    labels = [t.get_text() for t in bottom[0].get_xticklabels()]
    # (床 and 前 are spelled U+5E8A, U+524D where no installed font has them)
    assert [label.endswith(" (<unk>)") for label in labels] == [False, True, False] and labels[1] == "X (<unk>)", \
        labels


def test_plot_states_refuses_unknown_flags_of_another_length(tmp_path):
    pytest.importorskip("matplotlib")
    from rnnkit.lm.states_plot import plot_states

    with pytest.raises(ValueError, match=r"^Expected unknown with one flag per token \(2\), got 1$"):
        plot_states({"h": np.zeros((2, 1))}, ["a", "b"], [0], tmp_path / "x.png", unknown=[True])
