"""The binary-addition demo: its data is right, and a short run adds numbers longer than it saw."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.gradcheck import numeric_grad
from rnnkit.demos.addition import AdditionModel, addition_batch, bits_to_int, encode_pairs, run_addition_demo


@pytest.mark.parametrize("n_bits", [1, 5, 8, 70])
def test_encoding_is_python_integer_addition(n_bits):
    rng = np.random.default_rng(n_bits)
    x, y = addition_batch(rng, n_bits, 20)
    assert x.shape == (n_bits + 1, 20, 2) and y.shape == (n_bits + 1, 20)
    assert np.all(x[-1] == 0)  # the padding step that holds the last carry
    for j in range(20):
        a = bits_to_int(x[:n_bits, j, 0].astype(int))
        b = bits_to_int(x[:n_bits, j, 1].astype(int))
        assert bits_to_int(y[:, j]) == a + b, f"pair {j}: {a} + {b}"


def test_encode_pairs_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="a_bits and b_bits"):
        encode_pairs(np.zeros((3, 2), int), np.zeros((4, 2), int))


def test_model_gradients_match_finite_differences():
    """Every entry of every array, the parameters drawn at random (biases non-zero too)."""
    rng = np.random.default_rng(0)
    model = AdditionModel(4, rng, dtype=np.float64)
    for v in model.params.values():
        v[...] = rng.uniform(-0.8, 0.8, v.shape)
    x, y = addition_batch(rng, 5, 3, dtype=np.float64)
    _, grads = model.loss_and_grads(x, y)
    assert set(grads) == set(model.params)
    for name, arr in model.params.items():
        num = numeric_grad(lambda: model.loss_and_grads(x, y)[0], arr)
        diff = np.max(np.abs(num - grads[name]))
        assert diff < 1e-8, f"{name}: max difference {diff:.3e}"
        assert np.abs(num).max() > 1e-6, f"{name}: the loss does not depend on it"


def test_short_run_adds_numbers_longer_than_training():
    lines = []
    result = run_addition_demo(seed=0, steps=400, test_bits=(16, 32), eval_pairs=300, examples=3,
                               log_every=100, log=lines.append)
    acc = result["accuracy"]
    print(acc, f"{result['seconds']:.1f}s")
    assert set(acc) == {8, 16, 32}
    assert acc[16] >= 0.95 and acc[32] >= 0.95, acc
    assert len(result["examples"]) == 3
    for ex in result["examples"]:
        assert ex["n_bits"] == 32
        assert ex["correct"] == (ex["predicted"] == ex["a"] + ex["b"])
    assert any(line.startswith("step   100/400") for line in lines)
    assert any("32-bit numbers" in line for line in lines)


def test_untrained_network_cannot_add():
    result = run_addition_demo(seed=0, steps=1, test_bits=(32,), eval_pairs=200, examples=0)
    assert result["accuracy"][32] < 0.05


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="train_bits"):
        run_addition_demo(train_bits=0)
    with pytest.raises(ValueError, match="test_bits"):
        run_addition_demo(test_bits=())
    with pytest.raises(ValueError, match="lr"):
        run_addition_demo(lr=0.0)


def test_cli_demo_addition(capsys):
    code = main(["demo", "addition", "--steps", "300", "--test-bits", "16", "24", "--eval-pairs", "100",
                 "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "16-bit numbers" in out and "24-bit numbers" in out
    assert " + " in out and " = " in out
    assert "step   300/300" in out
    # a length given twice is tested once (it was printed twice)
    code = main(["demo", "addition", "--steps", "50", "--test-bits", "16", "16", "--eval-pairs", "10"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip().startswith("16-bit numbers:")]
    assert code == 0 and len(lines) == 1 and "random additions per length" in out, out


def test_cli_demo_addition_bad_value(capsys):
    with pytest.raises(SystemExit) as exc:  # a usage error, reported by argparse
        main(["demo", "addition", "--train-bits", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--train-bits" in err
    # test lengths must be longer than the training ones: that is what the demo shows
    assert main(["demo", "addition", "--test-bits", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--test-bits 4 is not longer than --train-bits 8" in err, err
    assert main(["demo", "reverse", "--max-len", "2"]) == 2  # was 'Expected 1 <= min_len <= max_len'
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-len 2 is below the demo's shortest strings (3 letters)" in err, err
