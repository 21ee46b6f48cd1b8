"""The long-range demos (adding problem, copy task): their data is what the papers describe (checked against
targets computed here), the model's gradients are right (finite differences, and RTRL equal to BPTT), a
short run learns an easy setting, the same seed gives the same numbers, and the command line runs and
refuses bad values in one line."""
from __future__ import annotations

import math

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.demos.adding import BASELINE_MSE, AddingTask, adding_batch, run_adding_demo
from rnnkit.demos.copying import CopyTask, copy_batch, run_copy_demo
from rnnkit.demos.longrange import LongRangeConfig, LongRangeModel, format_table, multiply_adds, outputs_in_chunks
from rnnkit.gradcheck import numeric_grad_at

EASY = LongRangeConfig(steps=150, hidden=8, batch_size=16, lr=0.03)


# ---------------------------------------------------------------- data

@pytest.mark.parametrize("length", [2, 3, 7, 50])
def test_adding_batch_marks_one_step_in_each_half_and_sums_them(length):
    x, y = adding_batch(np.random.default_rng(length), length, 200)
    assert x.shape == (length, 200, 2) and x.dtype == np.float32 and y.shape == (200,)
    values, markers = x[:, :, 0], x[:, :, 1]
    assert np.all((values >= 0) & (values <= 1)) and set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    for b in range(200):
        marked = np.flatnonzero(markers[:, b])
        assert len(marked) == 2, f"sequence {b}: markers at {marked}"
        assert marked[0] < half <= marked[1], f"sequence {b}: markers at {marked}, halves split at {half}"
        want = float(values[marked[0], b]) + float(values[marked[1], b])
        assert y[b] == pytest.approx(want, abs=1e-6), f"sequence {b}"


def test_adding_baseline_is_one_sixth():
    _, y = adding_batch(np.random.default_rng(0), 10, 200_000, dtype=np.float64)
    assert np.mean((y - 1) ** 2) == pytest.approx(BASELINE_MSE, abs=2e-3)
    assert np.mean(y) == pytest.approx(1.0, abs=5e-3)  # why always predicting 1 is the best blind guess


@pytest.mark.parametrize("delay, K, A", [(1, 1, 2), (4, 3, 8), (20, 10, 8)])
def test_copy_batch_is_symbols_blanks_delimiter_then_the_symbols_back(delay, K, A):
    inputs, targets = copy_batch(np.random.default_rng(delay), delay, 50, copy_length=K, symbols=A)
    T = delay + 2 * K
    assert inputs.shape == targets.shape == (T, 50)
    for b in range(50):
        data = inputs[:K, b]
        assert np.all((data >= 1) & (data <= A))
        want_in = list(data) + [0] * (delay - 1) + [A + 1] + [0] * K
        want_out = [0] * (delay + K) + list(data)
        assert inputs[:, b].tolist() == want_in, f"sequence {b}"
        assert targets[:, b].tolist() == want_out, f"sequence {b}"
    assert len(np.unique(inputs[:K])) > 1  # symbols are drawn, not constant


def test_copy_task_one_hot_and_baseline():
    task = CopyTask(delay=6, copy_length=3, symbols=4)
    x, y = task.batch(np.random.default_rng(1), 5)
    assert x.shape == (12, 5, 6) and task.output_size == 5 and task.length == 12
    assert np.all(x.sum(axis=2) == 1)
    ids, targets = copy_batch(np.random.default_rng(1), 6, 5, 3, 4)
    assert np.array_equal(x.argmax(axis=2), ids) and np.array_equal(y, targets)
    assert task.baseline_ce() == pytest.approx(3 * math.log(4) / 12)
    # the memoryless strategy the baseline describes scores exactly it
    z = np.full((12, 5, 5), -1e9)
    z[: 6 + 3, :, 0] = 0.0  # blank, certain
    z[6 + 3:, :, 1:] = 0.0  # uniform over the 4 symbols
    m = task.metrics(z, y)
    assert m["sequence_ce"] == pytest.approx(task.baseline_ce()) and m["recall_ce"] == pytest.approx(math.log(4))


def test_same_seed_same_batches():
    for draw in (lambda rng: adding_batch(rng, 9, 4), lambda rng: copy_batch(rng, 5, 4, 3)):
        a, b, c = draw(np.random.default_rng(7)), draw(np.random.default_rng(7)), draw(np.random.default_rng(8))
        assert all(np.array_equal(u, v) for u, v in zip(a, b))
        assert not np.array_equal(a[0], c[0])


# ---------------------------------------------------------------- gradients

def _model_problem(cell, every_step, seed=0):
    rng = np.random.default_rng(seed)
    task = CopyTask(delay=3, copy_length=2, symbols=3) if every_step else AddingTask(6)
    model = LongRangeModel(cell, task.input_size, 4, task.output_size, every_step, rng, dtype=np.float64)
    for v in model.params.values():  # random non-zero biases too
        v[...] = 0.5 * rng.standard_normal(v.shape)
    x, y = task.batch(rng, 3)
    x = x.astype(np.float64)
    dz_scale = rng.uniform(0.5, 2.0, size=(task.length, 3, task.output_size) if every_step else (3, 1))

    def loss():  # a random contraction of the outputs: an all-ones upstream gradient hides transposes
        z, _ = model.forward(x)
        return float(np.sum(z * dz_scale))

    return model, x, dz_scale, loss


@pytest.mark.parametrize("every_step", [False, True], ids=["last-step", "every-step"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_model_gradients_match_finite_differences_and_rtrl(cell, every_step):
    model, x, dz, loss = _model_problem(cell, every_step)
    _, cache = model.forward(x)
    bptt = model.backward(dz, cache, "bptt")
    rtrl = model.backward(dz, cache, "rtrl")
    assert set(bptt) == set(model.params) == set(rtrl)
    for name, arr in model.params.items():
        idx = range(0, arr.size, max(1, arr.size // 12))  # a spread of entries of every array
        numeric = numeric_grad_at(loss, arr, idx)
        diff = np.max(np.abs(bptt[name].reshape(-1)[list(idx)] - numeric))
        assert diff < 1e-7, f"{cell} {name}: BPTT vs finite differences, max difference {diff:.2e}"
        diff = np.max(np.abs(rtrl[name] - bptt[name]))
        assert diff < 1e-10, f"{cell} {name}: RTRL vs BPTT, max difference {diff:.2e}"


# ---------------------------------------------------------------- training

@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_short_runs_learn_an_easy_setting(cell):
    from dataclasses import replace

    cfg = replace(EASY, cell=cell)
    (adding,) = run_adding_demo(cfg, length=4)
    m = adding["metrics"]
    assert m["mse"] < 0.25 * m["baseline_mse"], m
    (copy,) = run_copy_demo(replace(cfg, hidden=16), delay=2, copy_length=2, symbols=4)
    m = copy["metrics"]
    assert m["recall_accuracy"] > 0.6 and m["sequence_ce"] < 0.6 * m["baseline_ce"], m


def test_untrained_model_is_no_better_than_the_baseline():
    (result,) = run_adding_demo(LongRangeConfig(steps=1, hidden=8), length=6)
    assert result["metrics"]["mse"] > 0.8 * result["metrics"]["baseline_mse"]


def test_same_seed_same_run_and_another_seed_another():
    cfg = LongRangeConfig(steps=20, hidden=6, batch_size=8)
    a, b = run_adding_demo(cfg, length=5)[0], run_adding_demo(cfg, length=5)[0]
    assert a["metrics"] == b["metrics"] and a["history"] == b["history"]
    assert all(np.array_equal(a["params"][k], b["params"][k]) for k in a["params"])
    from dataclasses import replace

    c = run_adding_demo(replace(cfg, seed=1), length=5)[0]
    assert c["metrics"] != a["metrics"]


def test_compare_gives_every_cell_the_same_batches_and_test_set():
    from rnnkit.demos.longrange import run_long_range

    class Recorded(AddingTask):  # the adding task, keeping every batch it draws
        drawn: list = []

        def batch(self, rng, size):
            x, y = super().batch(rng, size)
            self.drawn.append(x)
            return x, y

    task = Recorded(5)
    results = run_long_range(task, LongRangeConfig(steps=3, hidden=4, batch_size=2, test_size=6), ["rnn", "gru"])
    assert [r["cell"] for r in results] == ["rnn", "gru"] and len(task.drawn) == 8  # 3 steps and the test, twice
    for first, second in zip(task.drawn[:4], task.drawn[4:]):
        assert np.array_equal(first, second)
    assert results[0]["metrics"]["baseline_mse"] == results[1]["metrics"]["baseline_mse"]
    assert results[0]["metrics"]["mse"] != results[1]["metrics"]["mse"]


def test_compare_prints_a_row_per_cell():
    lines = []
    run_copy_demo(LongRangeConfig(steps=4, hidden=5, batch_size=4, test_size=30), delay=3, copy_length=2,
                  cells=["rnn", "gru"], log=lines.append)
    table = lines[-3:]
    assert table[0].split()[:3] == ["cell", "recall", "accuracy"] and table[1].startswith("Elman RNN")
    assert table[2].startswith("GRU") and len({len(row) for row in table}) == 1, table  # aligned columns
    assert any(line == "-- GRU" for line in lines)


def test_rtrl_training_takes_the_same_steps_as_bptt():
    from dataclasses import replace

    cfg = LongRangeConfig(cell="rnn", steps=3, hidden=4, batch_size=3, test_size=5)
    lines = []
    bptt = run_adding_demo(cfg, length=5)[0]
    rtrl = run_adding_demo(replace(cfg, gradient="rtrl"), length=5, log=lines.append)[0]
    for k in bptt["params"]:
        np.testing.assert_allclose(rtrl["params"][k], bptt["params"][k], atol=1e-5, err_msg=k)
    assert any(line.startswith("RTRL: about") for line in lines)
    cost = multiply_adds("rnn", 5, 2, 4, 3)
    assert cost["rtrl"] > cost["bptt"]


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="cell"):
        run_adding_demo(LongRangeConfig(cell="elman"))
    with pytest.raises(ValueError, match="gradient"):
        run_adding_demo(LongRangeConfig(gradient="forward"))
    with pytest.raises(ValueError, match="lr"):
        run_adding_demo(LongRangeConfig(lr=0.0))
    with pytest.raises(ValueError, match="length"):
        AddingTask(1)
    with pytest.raises(ValueError, match="symbols"):
        CopyTask(symbols=1)
    with pytest.raises(ValueError, match="cells"):
        run_adding_demo(cells=["rnn", "tree"])


def test_format_table_rows_align():
    rows = format_table(AddingTask(5), [{"cell": "rnn", "metrics": {"mse": 0.17, "baseline_mse": 0.16}, "seconds": 1.0},
                                        {"cell": "lstm", "metrics": {"mse": 0.001, "baseline_mse": 0.16},
                                         "seconds": 12.25}])
    assert len({len(r) for r in rows}) == 1 and rows[2].startswith("LSTM") and rows[2].endswith("12.2s"), rows


# ---------------------------------------------------------------- command line

def test_cli_demo_adding_compare(capsys):
    code, out, err = run_cli(capsys, ["demo", "adding", "--cell", "all", "--length", "4", "--steps", "40",
                                      "--hidden", "6", "--batch-size", "8", "--seed", "2"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Adding problem, T = 4: Elman RNN, LSTM, GRU, 6 hidden units, 40 steps of 8")
    header = [i for i, line in enumerate(lines) if line.startswith("cell ")]
    assert len(header) == 1 and [row.split()[0] for row in lines[header[0] + 1:]] == ["Elman", "LSTM", "GRU"]
    assert out.count("test MSE") == 4 and "step     40/40" in out


def test_cli_demo_copy_and_rtrl(capsys):
    code, out, err = run_cli(capsys, ["demo", "copy", "--delay", "3", "--copy-length", "2", "--steps", "5",
                                      "--hidden", "4", "--cell", "gru", "--gradient", "rtrl"])
    assert code == 0, err
    assert out.startswith("Copy task, 2 symbols after a delay of 3: GRU, 4 hidden units, 5 steps")
    assert "RTRL: about" in out and "recalled symbols:" in out and "guessing: 12.5%" in out


@pytest.mark.parametrize("argv, says", [
    (["demo", "adding", "--length", "1"], "--length: Expected an integer >= 2, got 1"),
    (["demo", "adding", "--length", "20000"], "Expected --length <= 10000, got 20000"),
    (["demo", "adding", "--cell", "elman"], "--cell: invalid choice: 'elman'"),
    (["demo", "adding", "--lr", "0"], "--lr: Expected a finite number > 0, got 0"),
    (["demo", "adding", "--gradient", "rtr"], "did you mean 'rtrl'?"),
    (["demo", "copy", "--delay", "0"], "--delay: Expected an integer >= 1, got 0"),
    (["demo", "copy", "--copy-length", "10001"], "Expected --copy-length <= 10000"),
    (["demo", "copy", "--delay", "10000", "--copy-length", "2"], "Expected --delay + 2 x --copy-length <= 10000"),
    (["demo", "copy", "--length", "5"], "--length"),
    (["demo", "--seed", "3", "adding"], "--seed before 'adding' is an option of the default demo"),
    (["demo", "--seed", "3", "adding"], "rnnkit demo adding --seed ..."),
    # an option the named demo lacks is not advised after its name ("rnnkit demo adding --run-dir ...")
    (["demo", "--run-dir", "xx", "adding"], "'demo adding' has no --run-dir: leave it out"),
    (["demo", "--temperature", "0.5", "copy"], "'demo copy' has no --temperature: leave it out"),
    (["demo", "--progress", "none", "copy"], "'demo copy' has no --progress: leave it out"),
])
def test_cli_bad_values_are_one_line(capsys, argv, says):
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and err.count("\n") == 1 and says in err, err
    assert "Traceback" not in err and not out


@pytest.mark.parametrize("every_step", [True, False])
def test_the_test_set_is_run_in_chunks_with_the_same_outputs(every_step):
    """The test pass runs a training batch's worth of sequences at a time (memory), and gives what one pass gives."""
    model = LongRangeModel("gru", 3, 5, 2, every_step, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((7, 10, 3)).astype(np.float32)  # (T, N, D)
    whole, _ = model.forward(x)
    np.testing.assert_allclose(outputs_in_chunks(model, x, 3), whole, rtol=1e-6, atol=1e-7)  # 3 + 3 + 3 + 1


@pytest.mark.parametrize("lr", ["1e20", "1e39"])  # 1e39: the weights' own update overflows float32
def test_a_blown_up_demo_run_is_one_line_naming_the_lr(capsys, lr):
    code, out, err = run_cli(capsys, ["--threads", "1", "demo", "adding", "--length", "6", "--lr", lr,
                                      "--steps", "30", "--hidden", "4"])
    assert code == 2 and err.count("\n") == 1, err
    assert "training loss became" in err and f"give a smaller lr (--lr, now {float(lr):g})" in err, err


def test_a_slow_run_prints_a_line_every_few_seconds_and_keeps_its_history_to_the_steps(monkeypatch):
    """demo adding --gradient rtrl printed nothing for 45 s: its 200 steps between lines take that long."""
    import itertools

    from rnnkit.demos import longrange

    clock = itertools.count(0.0, 3.0)  # every reading of the clock 3 s later: a line every second step
    monkeypatch.setattr(longrange.time, "perf_counter", lambda: next(clock))
    lines: list[str] = []
    (result,) = run_adding_demo(LongRangeConfig(steps=10, hidden=3, batch_size=2, log_every=10), length=4,
                                log=lines.append)
    steps = [int(line.split()[1].split("/")[0]) for line in lines if line.startswith("step")]
    assert steps == [2, 4, 6, 8, 10], lines
    assert [s for s, _ in result["history"]] == [10]  # the same whatever the clock says


@pytest.mark.parametrize("tick, says", [
    (30.0, ["about 5 min for --steps 10 (30 s a step); a smaller --hidden, shorter sequences or fewer --steps are "
            "quicker"]),
    (1000.0, ["about 2.8 h for --steps 10 (1e+03 s a step); a smaller --hidden, shorter sequences or fewer --steps "
              "are quicker"]),
    (11.0, []),  # 110 s in all: not long
])
def test_a_long_run_says_once_how_long_it_will_take(monkeypatch, tick, says):
    """demo adding --gradient rtrl at its defaults takes hours, which its cost line in multiply-adds left the user to
    work out: the first steps' time (the first LOG_SECONDS or ESTIMATE_STEPS) gives an estimate, said once."""
    import itertools

    from rnnkit.demos import longrange

    clock = itertools.count(0.0, tick)  # every reading of the clock `tick` seconds later: a step takes `tick`
    monkeypatch.setattr(longrange.time, "perf_counter", lambda: next(clock))
    lines: list[str] = []
    run_adding_demo(LongRangeConfig(steps=10, hidden=3, batch_size=2), length=4, log=lines.append)
    assert [line for line in lines if line.startswith("about")] == says, lines


def test_a_quick_run_says_no_time_estimate(capsys):
    code, out, err = run_cli(capsys, ["demo", "adding", "--length", "4", "--steps", "6", "--hidden", "3",
                                      "--gradient", "rtrl"])
    assert code == 0 and "RTRL: about" in out and " for --steps " not in out, err
