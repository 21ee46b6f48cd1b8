"""rnnkit.lm.states.hidden_states against a step-by-step run of the cells' equations and against torch's
nn.LSTM/GRU/RNN on the same weights; the cell equations hold between the returned gates and states; and
``rnnkit states`` end to end on tiny models trained here."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.states import QUANTITIES, WINDOW, hidden_states

CELLS = ("lstm", "gru", "rnn")


def _model(cell, layers=2, dtype="float64", H=7, peephole=False):
    # init_scale draws every parameter, biases too, from U(-s, s): no zero bias hides a mistake
    cfg = LMConfig(vocab_size=13, cell=cell, embedding_dim=5, hidden_size=H, num_layers=layers, init_scale=0.6,
                   dtype=dtype, peephole=peephole)
    return LanguageModel(cfg, np.random.default_rng(1))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _hand_run(model, ids, layer):
    """Every layer's cell run one step at a time from the textbook equations (PyTorch's gate order)."""
    cell, H = model.config.cell, model.config.hidden_size
    x = model.params["embedding.weight"][ids]  # (T, E)
    for k in range(layer + 1):
        w_ih, w_hh, b_ih, b_hh = (model.params[f"rnn.{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih",
                                                                          "bias_hh"))
        # peephole (Graves 2013): i and f also read c_{t-1}, o reads c_t, each through a vector of H
        p_i, p_f, p_o = ((model.params[f"rnn.{n}_l{k}"] for n in ("weight_ci", "weight_cf", "weight_co"))
                         if model.config.peephole else (np.zeros(H),) * 3)
        h, c = np.zeros(H), np.zeros(H)
        rows = {name: [] for name in QUANTITIES[cell]}
        for t in range(len(ids)):
            a, b = w_ih @ x[t] + b_ih, w_hh @ h + b_hh
            if cell == "lstm":
                i, f = _sigmoid(a[:H] + b[:H] + p_i * c), _sigmoid(a[H:2 * H] + b[H:2 * H] + p_f * c)
                g = np.tanh(a[2 * H:3 * H] + b[2 * H:3 * H])
                c = f * c + i * g
                o = _sigmoid(a[3 * H:] + b[3 * H:] + p_o * c)
                h = o * np.tanh(c)
                step = {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o}
            elif cell == "gru":
                r, z = _sigmoid(a[:H] + b[:H]), _sigmoid(a[H:2 * H] + b[H:2 * H])
                n = np.tanh(a[2 * H:] + r * b[2 * H:])
                h = (1 - z) * n + z * h
                step = {"h": h, "r": r, "z": z, "n": n}
            else:
                h = np.tanh(a + b)
                step = {"h": h}
            for name, v in step.items():
                rows[name].append(v)
        x = np.array(rows["h"])  # (T, H): the next layer's input
    return {name: np.array(v) for name, v in rows.items()}


@pytest.mark.parametrize("cell", CELLS + ("peephole",))
@pytest.mark.parametrize("layer", [0, 1])
def test_hidden_states_equal_a_hand_run_of_the_cells(cell, layer):
    # "peephole": an LSTM whose kernel keeps its gates in PyTorch's order (i, f, g, o), not the plain one's
    model = _model("lstm", peephole=True) if cell == "peephole" else _model(cell)
    cell = model.config.cell
    ids = np.random.default_rng(2).integers(0, 13, 40)
    start = 4
    got = hidden_states(model, ids, layer=layer, start_id=start)
    want = _hand_run(model, np.r_[start, ids], layer)
    assert list(got) == list(QUANTITIES[cell])
    for name, v in got.items():
        assert v.shape == (40, 7) and v.dtype == np.float64
        err = np.abs(v - want[name][1:]).max()  # the start token's row is not returned
        assert err < 1e-12, f"{cell} layer {layer} {name}: max difference {err:.3g}"


@pytest.mark.parametrize("cell", CELLS)
def test_hidden_states_match_torch_across_windows(cell):
    torch = pytest.importorskip("torch")
    model = _model(cell)
    T = WINDOW + 45  # more than one window: the state must carry across them
    ids = np.random.default_rng(3).integers(0, 13, T)
    layer_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    net = layer_cls(5, 7, 2).double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(model.params["rnn." + name]))
        x = torch.from_numpy(model.params["embedding.weight"][np.r_[0, ids]])[:, None]  # (T+1, 1, E)
        out, _ = net(x)
        first = layer_cls(5, 7, 1).double()  # layer 0 alone: its outputs are layer 0's h
        for name, p in first.named_parameters():
            p.copy_(torch.from_numpy(model.params["rnn." + name]))
        out0, _ = first(x)
    for layer, want in ((1, out), (0, out0)):
        got = hidden_states(model, ids, layer=layer, start_id=0)["h"]
        err = np.abs(got - want[1:, 0].numpy()).max()
        assert err < 1e-12, f"{cell} layer {layer}: max difference {err:.3g} from torch"


def test_lstm_gates_satisfy_the_cell_equations():
    model = _model("lstm", dtype="float32", H=16)
    ids = np.random.default_rng(4).integers(0, 13, 60)
    s = hidden_states(model, ids)  # from zero state: c_0 = 0
    assert all(v.dtype == np.float32 for v in s.values())
    c_prev = np.vstack([np.zeros((1, 16), np.float32), s["c"][:-1]])  # (T, H)
    assert np.abs(s["f"] * c_prev + s["i"] * s["g"] - s["c"]).max() < 1e-6
    assert np.abs(s["o"] * np.tanh(s["c"]) - s["h"]).max() < 1e-6
    for gate in "ifo":
        assert 0 < s[gate].min() and s[gate].max() < 1
    assert np.abs(s["g"]).max() < 1 and s["g"].min() < 0  # tanh, not a sigmoid: the kernel order is undone


def test_gru_gates_satisfy_the_cell_equation():
    model = _model("gru", dtype="float32")
    s = hidden_states(model, np.random.default_rng(5).integers(0, 13, 30))
    h_prev = np.vstack([np.zeros((1, 7), np.float32), s["h"][:-1]])
    assert np.abs((1 - s["z"]) * s["n"] + s["z"] * h_prev - s["h"]).max() < 1e-6


def test_hidden_states_refuses_what_it_cannot_read():
    from rnnkit.lm.ngram import NGramLM

    model = _model("gru", layers=1)
    with pytest.raises(ValueError, match="layer in 0..0"):
        hidden_states(model, [1, 2], layer=1)
    with pytest.raises(ValueError, match=r"\(T,\) array"):
        hidden_states(model, [[1, 2]])
    with pytest.raises(TypeError, match="n-gram model has no hidden state"):
        hidden_states(NGramLM(order=2), [1, 2])
    assert hidden_states(model, [])["h"].shape == (0, 7)


# ---------------------------------------------------------------------------- the command

ZH = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n" * 20
EN = "the cat sat on the mat .\nthe dog sat on the log .\n" * 20


def _train(tmp_path, capsys, text, level, cell, layers="1"):
    train = tmp_path / f"{level}.txt"
    train.write_text(text, encoding="utf-8")
    run = tmp_path / f"run-{level}"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(train), "--level", level, "--cell", cell,
                                    "--hidden", "6", "--embed", "6", "--layers", layers, "--batch-size", "2",
                                    "--bptt", "8", "--epochs", "1", "--progress", "none", "--run-dir", str(run)])
    assert code == 0, err
    return str(run / "last.safetensors")


def test_states_prints_a_table_of_the_library_values(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    model_path = _train(tmp_path, capsys, ZH, "char", "lstm", layers="2")
    code, out, err = run_cli(capsys, ["states", model_path, "--text", "床前\n明月", "--units", "0,4-5"])
    assert code == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["token"] + [f"{q}{u}" for q in "hcifgo" for u in (0, 4, 5)]
    assert [r[0] for r in rows[1:]] == ["床", "前", "\\n", "明", "月"]
    model, vocab, _, _ = load_lm(model_path)
    want = hidden_states(model, vocab.encode(list("床前\n明月")), start_id=vocab.token_id("\n"))
    table = np.array([[float(x) for x in r[1:]] for r in rows[1:]])  # (T, 18)
    assert np.abs(table[:, :3] - want["h"][:, [0, 4, 5]]).max() <= 5e-5
    assert np.abs(table[:, 15:] - want["o"][:, [0, 4, 5]]).max() <= 5e-5
    code, out, err = run_cli(capsys, ["states", model_path, "--text", "床前", "--layer", "0", "--show", "f,h"])
    assert code == 0, err
    assert out.splitlines()[0].split("\t") == ["token"] + [f"f{u}" for u in range(6)] + [f"h{u}" for u in range(6)]


def test_states_json_of_a_word_level_gru_read_from_a_file(tmp_path, capsys):
    model_path = _train(tmp_path, capsys, EN, "word", "gru")
    text = tmp_path / "in.txt"
    text.write_text("the cat\nsat on a mat\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["states", model_path, str(text), "--json", "--units", "2"])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["token"] for r in rows] == ["the", "cat", "<eos>", "sat", "on", "a", "mat", "<eos>"]
    assert [r["position"] for r in rows] == list(range(1, 9))
    assert set(rows[0]) == {"position", "token", "h", "r", "z", "n"} and len(rows[0]["z"]) == 1
    assert 0 < rows[0]["z"][0] < 1


def test_states_refuses_with_one_line(tmp_path, capsys):
    model_path = _train(tmp_path, capsys, EN, "word", "rnn")
    corpus = tmp_path / "word.txt"
    ngram = tmp_path / "kn.safetensors"
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(corpus), "--order", "2", "--save", str(ngram)])
    assert code == 0, err
    for argv, needle in [([str(ngram), "--text", "the"], "n-gram language model has no hidden state"),
                         ([model_path, "--text", "the", "--layer", "1"], "--layer 1: "),
                         ([model_path, "--text", "the", "--units", "6"], "unit 6 is beyond the layer's 6 units"),
                         ([model_path, "--text", "the", "--units", "a"], "expected unit numbers"),
                         ([model_path, "--text", "the", "--show", "c"], "'c' is not a quantity of RNN layers"),
                         ([model_path, "--text", " "], "no word token"),
                         ([model_path, str(corpus), "--text", "the"], "not both")]:
        code, out, err = run_cli(capsys, ["states", *argv])
        assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, (argv, err)


def test_states_plot_is_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model_path = _train(tmp_path, capsys, ZH, "char", "lstm")
    png = tmp_path / "plots" / "states.png"
    code, out, err = run_cli(capsys, ["states", model_path, "--text", "床前 明月光", "--output", str(png)])
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written: {png}" in err and len(out.splitlines()) == 7  # the table too: header + 6 tokens


def test_states_plot_draws_the_first_units_unless_told(tmp_path, capsys, monkeypatch):
    """Six panels of every unit of a 256-unit LSTM were thousands of pixels tall: without --units the plot
    draws the first PLOT_UNITS (said on stderr) and the table keeps them all; --units draws those asked."""
    pytest.importorskip("matplotlib")
    import rnnkit.cli.states as states_cli
    import rnnkit.lm.states_plot as states_plot

    model_path = _train(tmp_path, capsys, ZH, "char", "lstm")  # 6 units
    monkeypatch.setattr(states_cli, "PLOT_UNITS", 4)
    drawn = []
    real = states_plot.plot_states
    monkeypatch.setattr(states_plot, "plot_states",
                        lambda values, tokens, units, *a, **k: (drawn.append((list(units), values["h"].shape[1])),
                                                                real(values, tokens, units, *a, **k))[1])
    code, out, err = run_cli(capsys, ["states", model_path, "--text", "床前", "--output", str(tmp_path / "a.png")])
    assert code == 0 and "plotting units 0-3 of 6 (the table has them all); choose others with --units" in err, err
    assert drawn[-1] == ([0, 1, 2, 3], 4) and out.splitlines()[0].count("\th") == 6  # the table: all 6 units
    code, out, err = run_cli(capsys, ["states", model_path, "--text", "床前", "--units", "0-5", "--output",
                                      str(tmp_path / "b.png")])
    assert code == 0 and "plotting units" not in err and drawn[-1] == ([0, 1, 2, 3, 4, 5], 6), err


def test_states_plot_title_counts_layers_from_one(tmp_path, capsys, monkeypatch):
    """The last of 2 layers was titled 'layer 1 of 2' (the 0-based index read as a count): it is 'layer 2 of 2',
    with the --layer value that picks it, and --layer 0 is 'layer 1 of 2'."""
    pytest.importorskip("matplotlib")
    import rnnkit.lm.states_plot as states_plot

    model_path = _train(tmp_path, capsys, ZH, "char", "lstm", layers="2")
    titles = []
    monkeypatch.setattr(states_plot, "plot_states", lambda *a, title=None, **k: titles.append(title) or a[3])
    for extra in ([], ["--layer", "0"]):
        code, _, err = run_cli(capsys, ["states", model_path, "--text", "床前", "--output", str(tmp_path / "a.png"),
                                        *extra])
        assert code == 0, err
    assert "LSTM layer 2 of 2 (--layer 1), " in titles[0] and "LSTM layer 1 of 2 (--layer 0), " in titles[1], titles
