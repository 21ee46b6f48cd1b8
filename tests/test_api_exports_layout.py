"""Exports: rnnkit.seq2seq says where its text-in, text-out translate is; rnnkit.hmm, rnnkit.checkpoint,
rnnkit.torch_io and rnnkit.init say their public names in __all__.
PyTorch's batch_first=True gets one line saying rnnkit is time-major."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from rnnkit.recurrent import GRU, LSTM, RNN


def test_seq2seq_translate_is_reached_through_its_module():
    """The package says where text-in, text-out translate is, and does not re-export it: the name would hide
    the module, so that ``import rnnkit.seq2seq.translate as m`` gave the function."""
    import rnnkit.seq2seq
    import rnnkit.seq2seq.translate as module
    from rnnkit.seq2seq.translate import translate

    assert module is importlib.import_module("rnnkit.seq2seq.translate") and module.translate is translate
    assert "from rnnkit.seq2seq.translate import translate" in rnnkit.seq2seq.__doc__


@pytest.mark.parametrize("name, wanted", [("rnnkit.hmm", {"HMMTagger"}),
                                          ("rnnkit.checkpoint", {"save_checkpoint", "load_checkpoint", "load_meta",
                                                                 "rng_state", "restore_rng"}),
                                          ("rnnkit.torch_io", {"layer_from_torch", "to_torch_module",
                                                               "to_torch_state_dict", "from_torch_state_dict"}),
                                          ("rnnkit.init", {"orthogonal", "xavier_uniform", "init_recurrent_params"})])
def test_modules_name_their_public_api_in_all(name, wanted):
    module = importlib.import_module(name)
    assert wanted <= set(module.__all__)
    assert all(hasattr(module, n) for n in module.__all__)
    assert not any(n.startswith("_") for n in module.__all__)


@pytest.mark.parametrize("layer", [LSTM, GRU, RNN])
def test_batch_first_true_says_rnnkit_is_time_major(layer):
    with pytest.raises(ValueError) as info:
        layer(4, 3, batch_first=True)
    message = str(info.value)
    assert message.startswith("Expected batch_first=False") and "(T, B, D)" in message and "transpose" in message
    assert "\n" not in message
    x = np.zeros((5, 2, 4), np.float32)  # (T, B, D)
    out, _, _ = layer(4, 3, batch_first=False).forward(x)  # PyTorch's default, rnnkit's layout: accepted
    assert out.shape == (5, 2, 3)


@pytest.mark.parametrize("layer", [LSTM, GRU, RNN])
def test_batch_first_as_numpy_bools_and_non_bools_as_the_other_flags(layer):
    """numpy's np.False_ (a flag read from an array) is False, and np.True_ True; 0 or None is refused as a non-bool
    is by the other flags (learn_init=0): a TypeError, not the layout's ValueError."""
    assert layer(4, 3, batch_first=np.False_).forward(np.zeros((5, 2, 4), np.float32))[0].shape == (5, 2, 3)
    with pytest.raises(ValueError, match="^Expected batch_first=False"):
        layer(4, 3, batch_first=np.True_)
    for value in (0, None, "False"):
        with pytest.raises(TypeError) as info:
            layer(4, 3, batch_first=value)
        with pytest.raises(TypeError) as other:
            layer(4, 3, learn_init=value)
        assert str(info.value) == str(other.value).replace("learn_init", "batch_first")
