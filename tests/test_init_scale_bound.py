"""--init-scale is bounded as gradflow's --init is; a numpy overflow warning says its cause; a perplexity of
hundreds of digits is shown in scientific notation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from clirun import run_cli
from test_not_learning import _lm


def test_init_scale_is_bounded_as_gradflows_init(tmp_path, capsys):
    for value in ("1e30", "1e300", "0", "inf", "x"):
        code, err, _ = _lm(tmp_path, capsys, "--init-scale", value)
        assert code == 2, value
        assert "--init-scale: Expected a number s in (0, 1e+06] for U(-s, s) (Zaremba: 0.1" in err, err
    code, _, err = run_cli(capsys, ["gradflow", "--init", "1e7"])
    assert code == 2 and "a number s in (0, 1e+06] for U(-s, s)" in err
    from rnnkit.lm.model import LanguageModel, LMConfig

    with pytest.raises(ValueError, match=r"init_scale to be a number in \(0, 1e\+06\]"):
        LanguageModel(LMConfig(vocab_size=10, init_scale=1e300), np.random.default_rng(0))


def test_a_checkpoint_saved_with_a_larger_init_scale_still_loads(tmp_path, capsys):
    """The bound is a rule for drawing new weights: a checkpoint of a run trained when --init-scale
    allowed more (its config edited here to 1e7) was refused whole as damaged metadata."""
    from rnnkit import checkpoint as ckpt
    from rnnkit.lm.io import load_lm

    assert _lm(tmp_path, capsys, "--epochs", "1", "--init-scale", "0.1")[0] == 0
    arrays, meta = ckpt.load_checkpoint(tmp_path / "run" / "last.safetensors")
    meta["task"]["lm_config"]["init_scale"] = 1e7
    ckpt.save_checkpoint(tmp_path / "old.safetensors", arrays, meta)
    model, _, _, _ = load_lm(tmp_path / "old.safetensors")
    assert model.config.init_scale == 1e7  # kept as saved
    for name, value in model.params.items():
        assert np.array_equal(value, arrays["model/" + name]), name  # the saved weights, none drawn
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "old.safetensors"), str(tmp_path / "valid.txt")])
    assert code == 0 and "perplexity" in out, err
    code, err, _ = _lm(tmp_path, capsys, "--init-scale", "1e7")  # new training: still refused
    assert code == 2 and "--init-scale: Expected a number s in (0, 1e+06]" in err, err
    ckpt.save_checkpoint(tmp_path / "run" / "last.safetensors", arrays, meta)  # the old run's folder
    code, err, _ = _lm(tmp_path, capsys, "--epochs", "2", "--resume")  # nor resumed: said so, not "same options"
    assert code == 2 and ("--init-scale (lm_config.init_scale) 10000000.0 then: above 1e+06, which --init-scale no "
                          "longer accepts, so this run cannot be resumed") in err, err
    meta["task"]["lm_config"]["init_scale"] = -1.0  # not a bound at all: damaged
    ckpt.save_checkpoint(tmp_path / "bad.safetensors", arrays, meta)
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "bad.safetensors"), str(tmp_path / "valid.txt")])
    assert code == 2 and "damaged language-model metadata (Expected init_scale to be a finite number > 0" in err, err


def test_the_largest_init_scale_is_named_as_the_cause_and_perplexity_is_readable(tmp_path, capsys):
    code, err, epochs = _lm(tmp_path, capsys, "--init-scale", "1e6", "--epochs", "1")
    assert code == 0
    assert "overflow encountered" not in err
    assert ("before any update, and the epoch came down less than a tenth of the way to 4.13, so the initial "
            "weights are too large: give a smaller init_scale (--init-scale; 1e+06 now, Zaremba: 0.1), or none for "
            "PyTorch's initialisation") in err, err
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "last.safetensors"),
                                      str(tmp_path / "valid.txt")])
    assert code == 0
    assert "perplexity >1.014e+304, loss " in out, out  # not a number of 305 digits


def test_a_numpy_overflow_warning_says_its_cause(tmp_path, capsys):
    from rnnkit import checkpoint as ckpt

    assert _lm(tmp_path, capsys, "--epochs", "1")[0] == 0
    arrays, meta = ckpt.load_checkpoint(tmp_path / "run" / "last.safetensors")
    huge = {k: v * np.float32(1e30) if k.startswith("model/") else v for k, v in arrays.items()}
    ckpt.save_checkpoint(tmp_path / "huge.safetensors", huge, meta)  # finite weights, far too large
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "huge.safetensors"), str(tmp_path / "valid.txt")])
    assert code == 0
    assert "rnnkit: warning: overflow" not in err
    assert ("numbers beyond the floating-point range came up (numpy: overflow encountered in matmul), so results are "
            "inf or NaN: the model's weights or the input numbers are far too large") in err, err


def test_perplexity_format():
    from rnnkit.train.progress import format_metric, format_perplexity

    assert format_perplexity(143.2712) == "143.27"
    assert format_perplexity(999_999.0) == "999999.00"
    assert format_perplexity(3.45915599834769e14) == "3.459e+14"
    assert format_perplexity(math.exp(700.0)) == ">1.014e+304"  # the cap stands for any larger one
    assert format_perplexity(math.nan) == "nan"
    assert format_metric("ppl", 2.6e10) == "2.6e+10"


def test_perplexity_caps_instead_of_overflowing():
    from rnnkit.train.progress import PPL_CAP, perplexity

    assert perplexity(math.log(143.0)) == pytest.approx(143.0)
    assert perplexity(700.0) == PPL_CAP
    assert perplexity(5000.0) == PPL_CAP  # math.exp(5000) would raise OverflowError
    assert math.isnan(perplexity(math.nan))
