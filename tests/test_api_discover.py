"""Discoverability (API review s30): dir() of the packages shows their exports, not their own imports;
BackoffLM's refusing methods say why and what to use; to_torch_state_dict given a layer says to pass
layer.params."""
from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

import rnnkit
import rnnkit.lm
from rnnkit import torch_io
from rnnkit.lm import BackoffLM, LanguageModel, LMConfig
from rnnkit.recurrent import GRU


def test_dir_of_the_packages_shows_their_exports_not_their_own_imports():
    for package in (rnnkit, rnnkit.lm):
        names = dir(package)
        assert "annotations" not in names and "lazy_exports" not in names, names
        assert set(package.__all__) <= set(names)
    assert "errors" in dir(rnnkit)  # a submodule already imported is still listed
    assert {"LSTM", "GRU", "load_checkpoint"} <= set(dir(rnnkit)) and "LanguageModel" in dir(rnnkit.lm)


def test_backoff_lm_fit_and_save_say_why_they_raise_and_what_to_use():
    for method, fix in ((BackoffLM.fit, "NGramLM"), (BackoffLM.save, "save_arpa")):
        doc = inspect.getdoc(method)
        assert doc and doc.startswith("Always raises") and fix in doc, doc
    with pytest.raises(TypeError, match="fit NGramLM"):
        BackoffLM(2).fit([1, 2], 3)
    with pytest.raises(ValueError, match="save_arpa"):
        BackoffLM(2).save("x.safetensors")


def test_to_torch_state_dict_given_a_layer_or_model_says_to_pass_its_params(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # the argument is checked before torch is imported
    with pytest.raises(TypeError, match=r"^Expected params as a dict of str -> numpy array \(pass layer\.params\), "
                                        r"got GRU$"):
        torch_io.to_torch_state_dict(GRU(2, 3))
    with pytest.raises(TypeError, match=r"\(pass model\.params\), got LanguageModel$"):
        torch_io.to_torch_state_dict(LanguageModel(LMConfig(5, embedding_dim=4, hidden_size=4),
                                                   np.random.default_rng(0)))
    with pytest.raises(TypeError, match=r"numpy array, got list$"):
        torch_io.to_torch_state_dict([])
