"""A library caller's usual mistakes get a message that names the mistake and the fix, and the task
packages export what their training needs (found by a review that used rnnkit as a library)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit.lm import LanguageModel, LMConfig
from rnnkit.nn import Linear, LinearCrossEntropy, softmax_cross_entropy, softmax_cross_entropy_backward
from rnnkit.recurrent import LSTM
from rnnkit.seq2seq import Seq2SeqConfig


def test_a_torch_tensor_is_named_as_the_wrong_type_with_the_conversion():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    said = "to be a numpy array, got Tensor (a torch tensor: pass t.detach().cpu().numpy())"
    with pytest.raises(TypeError, match=r"Expected x " + re.escape(said)):
        Linear(4, 3, rng).forward(torch.zeros(2, 4))  # the shape was right: the message once said shape
    model = LanguageModel(LMConfig(vocab_size=5, embedding_dim=4, hidden_size=4, num_layers=1), rng)
    with pytest.raises(TypeError, match="Expected ids to be a numpy array, got Tensor"):
        model.forward(torch.zeros(5, 2, dtype=torch.long), np.zeros((5, 2), int))
    layer = LSTM(3, 4, rng=rng)
    _, _, cache = layer.forward(np.zeros((5, 2, 3), np.float32))
    with pytest.raises(TypeError, match="Expected dout to be a numpy array, got Tensor"):
        layer.backward(torch.zeros(5, 2, 4), None, cache)


def test_batch_first_input_with_lengths_is_named():
    layer = LSTM(4, 3, rng=np.random.default_rng(1))
    x = np.zeros((2, 7, 4), np.float32)  # (B, T, D): 2 sequences of 7 steps
    with pytest.raises(ValueError, match=r"got \(2,\); x is time-major \(T, B, \.\.\.\) with T = 2, B = 7: "
                                         r"batch-first input needs x\.swapaxes\(0, 1\)"):
        layer.forward(x, lengths=np.array([7, 5]))
    with pytest.raises(ValueError, match=r"got \(3,\)$"):  # another length count: no batch-first guess
        layer.forward(x, lengths=np.array([1, 1, 1]))


def test_a_spent_or_stale_cache_says_what_to_do():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((4, 5)).astype(np.float32)
    _, cache = softmax_cross_entropy(logits, np.array([0, 1, 2, 3]))
    softmax_cross_entropy_backward(1.0, cache)
    with pytest.raises(ValueError, match="run the forward again for another backward"):
        softmax_cross_entropy_backward(1.0, cache)  # Classifier.backward twice once said "pass overwrite=False"
    ce = LinearCrossEntropy()
    w = rng.standard_normal((5, 3)).astype(np.float32)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    _, first = ce.forward(x, w, None, np.array([0, 1, 2, 3]))
    ce.forward(x, w, None, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="backpropagate each forward before the next"):
        ce.backward(1.0, first)


def test_configs_keep_a_numpy_dtype_as_its_name():
    """LMConfig(dtype=np.float64) once trained a whole epoch and failed at the first checkpoint (its JSON)."""
    import json

    cfg = LMConfig(vocab_size=5, dtype=np.float64)
    assert cfg.dtype == "float64" and json.loads(json.dumps(cfg.to_dict()))["dtype"] == "float64"
    assert Seq2SeqConfig(src_vocab_size=5, tgt_vocab_size=5, dtype=np.dtype("float64")).dtype == "float64"
    with pytest.raises(ValueError, match="Expected dtype 'float32' or 'float64', got 'float16'"):
        LMConfig(vocab_size=5, dtype="float16")


def test_the_task_packages_export_their_training_pieces():
    import rnnkit.lm
    import rnnkit.seq2seq
    import rnnkit.treenet

    for module, names in ((rnnkit.lm, ["LanguageModel", "LMConfig", "LMTask", "load_lm", "sample_ids", "batchify"]),
                          (rnnkit.seq2seq, ["Seq2SeqTask", "Translator", "load_translator"]),
                          (rnnkit.treenet, ["TreeTask", "TreeEncoder", "load_treenet"])):
        for name in names:
            assert name in module.__all__ and callable(getattr(module, name)), (module.__name__, name)
    assert "later" not in rnnkit.lm.__doc__


def test_gradient_diagnostics_and_online_rtrl_name_the_mistake():
    from rnnkit.diagnostics import grad_norms_per_step
    from rnnkit.errors import NonFiniteError
    from rnnkit.recurrent import RNN
    from rnnkit.rtrl_online import OnlineRTRL

    x = np.zeros((5, 2, 3), np.float32)
    with pytest.raises(NonFiniteError, match="Expected finite values in dout"):  # gave NaN norms, silently
        grad_norms_per_step(LSTM(3, 4), x, dout=np.full((5, 2, 4), np.nan, np.float32))
    params = RNN(3, 4, rng=np.random.default_rng(0), dtype=np.float64).params
    with pytest.raises(ValueError, match="an Elman cell is named by its nonlinearity here: 'tanh' or 'relu'"):
        OnlineRTRL(params, 0.1, cell="rnn")


def test_labels_numpy_meta_and_in_place_init_calls_are_named(tmp_path):
    from rnnkit.checkpoint import save_checkpoint
    from rnnkit.classify import Classifier, ClassifierConfig
    from rnnkit.init import uniform_

    rng = np.random.default_rng(3)
    model = Classifier(ClassifierConfig(vocab_size=6, num_classes=3, embedding_dim=4, hidden_size=4), rng)
    ids = np.array([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"Expected labels in \[0, 3\), got values in \[0, 3\]"):  # said "targets"
        model.loss(ids, np.array([2, 2]), np.array([0, 3]))
    with pytest.raises(TypeError, match=r"got float32 np.float32\(1.5\) at meta\['stats'\]\['loss'\] \(a numpy number: "
                                        r"convert it with float\(\) or int\(\)\)"):
        save_checkpoint(tmp_path / "m.safetensors", {"w": np.zeros(2)}, {"stats": {"loss": np.float32(1.5)}})
    assert not (tmp_path / "m.safetensors").exists()
    with pytest.raises(TypeError, match=r"these functions return a new array; to fill one in place, "
                                        r"w\[\.\.\.\] = uniform_\(w\.shape, bound, rng\)"):
        uniform_(np.zeros(5, np.float32), 0.1, rng)  # torch's in-place call: its zeros were read as a shape
