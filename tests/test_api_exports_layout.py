"""Exports: rnnkit.seq2seq gives its text-in, text-out translate; rnnkit.hmm, rnnkit.checkpoint and rnnkit.torch_io
say their public names in __all__.  PyTorch's batch_first=True gets one line saying rnnkit is time-major."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from rnnkit.recurrent import GRU, LSTM, RNN


def test_seq2seq_exports_translate_and_translation():
    import rnnkit.seq2seq
    from rnnkit.seq2seq.translate import Translation, translate

    assert rnnkit.seq2seq.translate is translate and rnnkit.seq2seq.Translation is Translation
    assert {"translate", "Translation"} <= set(rnnkit.seq2seq.__all__)
    assert importlib.import_module("rnnkit.seq2seq.translate").translate is translate


@pytest.mark.parametrize("name, wanted", [("rnnkit.hmm", {"HMMTagger"}),
                                          ("rnnkit.checkpoint", {"save_checkpoint", "load_checkpoint", "load_meta",
                                                                 "rng_state", "restore_rng"}),
                                          ("rnnkit.torch_io", {"layer_from_torch", "to_torch_module",
                                                               "to_torch_state_dict", "from_torch_state_dict"})])
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
