"""Library arguments that used to give a wrong result, hang, or an obscure error: each is now one
ValueError or TypeError naming the argument (audit of the Python API, Dec 5)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data import Vocabulary
from rnnkit.lm import NGramLM
from rnnkit.lm.batching import batchify, windows
from rnnkit.lm.class_softmax import frequency_classes
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.nn import Embedding, Linear
from rnnkit.recurrent import GRU, LSTM, RNN, make_recurrent

IDS = np.random.default_rng(0).integers(0, 10, (5, 3))


def _lm(softmax: str) -> LanguageModel:
    extra = {"word_classes": frequency_classes(np.arange(10, 0, -1), 3)} if softmax == "class" else {}
    cutoffs = (3,) if softmax == "adaptive" else ()
    return LanguageModel(LMConfig(10, embedding_dim=4, hidden_size=4, softmax=softmax, cutoffs=cutoffs),
                         np.random.default_rng(0), **extra)


@pytest.mark.parametrize("softmax", ["full", "class", "adaptive"])
def test_every_output_layer_checks_targets_and_mask_alike(softmax):
    """The class and adaptive softmaxes took a -1 target as the last word, (B, T) targets for (T, B),
    and a mask of 0.5 as a weight (class) or as 1 (adaptive)."""
    lm = _lm(softmax)
    bad = IDS.copy()
    bad[0, 0] = -1
    with pytest.raises(ValueError, match=r"targets in \[0, 10\) at unmasked positions, got -1"):
        lm.forward(IDS, bad)
    with pytest.raises(ValueError, match=r"targets of shape \(5, 3\)"):
        lm.forward(IDS, IDS.T)
    with pytest.raises(ValueError, match=r"mask of shape \(5, 3\)"):
        lm.forward(IDS, IDS, mask=np.ones((3, 5)))
    with pytest.raises(ValueError, match="mask to be bool or hold only 0 and 1"):
        lm.forward(IDS, IDS, mask=np.full((5, 3), 0.5))
    with pytest.raises(ValueError, match=r"ids of shape \(T, B\)"):
        lm.forward(IDS[0], IDS[0])
    mask = np.ones((5, 3), bool)
    mask[0, 0] = False  # a masked position may hold any target (padding -1)
    loss, _, _ = lm.forward(IDS, bad, mask=mask)
    assert loss == pytest.approx(lm.forward(IDS, np.where(mask, IDS, 0), mask=mask)[0])


@pytest.mark.parametrize("classes, said", [
    ([-1, 0, 1, 1, 1, 1, 1, 1, 1, 1], "got class -1"),  # probabilities summed to 2.006
    ([0, 0, 5, 5, 5, 5, 5, 5, 5, 5], r"no word in class\(es\) \[1, 2, 3, 4\]"),
    ([0, 0, 1, 1, 1], "word_classes for all 10 words, got 5"),
    ([0.0] * 10, "integer array"),
])
def test_word_classes_are_checked(classes, said):
    with pytest.raises(ValueError, match=said):
        LanguageModel(LMConfig(10, embedding_dim=4, hidden_size=4, softmax="class"), np.random.default_rng(0),
                      word_classes=np.array(classes))


def test_kneser_ney_discounts_must_leave_probabilities_positive():
    with pytest.raises(ValueError, match=r"D1 in \[0, 1\], D2 in \[0, 2\], D3\+ in \[0, 3\]"):
        NGramLM(3, "kneser_ney", discounts=[-1, -1, -1])  # gave negative probabilities
    with pytest.raises(ValueError, match="D1 in"):
        NGramLM(3, "kneser_ney", discounts=[np.nan] * 3)
    with pytest.raises(ValueError, match="discounts only with smoothing 'kneser_ney'"):
        NGramLM(3, "katz", discounts=[0.5, 1.0, 1.5])  # was ignored
    with pytest.raises(ValueError, match="delta to be a finite number"):
        NGramLM(3, "add_delta", delta="1")
    with pytest.raises(ValueError, match="delta only with smoothing 'add_delta'"):
        NGramLM(3, "kneser_ney", delta=0.5)  # was ignored
    assert NGramLM(3, "add_delta").delta == 1.0  # add-one unless given
    data = np.random.default_rng(0).integers(0, 6, 50)
    for eos in ("0", 2.5, True):
        with pytest.raises(ValueError, match="eos_id to be an integer"):
            NGramLM(2).fit(data, 6, eos_id=eos)
    NGramLM(3, "kneser_ney", discounts=[0.5, 1.0, 1.5]).fit(data, 6, eos_id=0)


def test_layer_options_of_another_cell_are_refused_not_dropped():
    with pytest.raises(ValueError, match="no nonlinearity for LSTM"):
        make_recurrent({"cell": "lstm", "input_size": 3, "hidden_size": 4, "nonlinearity": "relu"})
    with pytest.raises(ValueError, match="no forget_bias for GRU"):
        make_recurrent({"cell": "gru", "input_size": 3, "hidden_size": 4, "forget_bias": 1.0})
    assert make_recurrent({"cell": "rnn", "input_size": 3, "hidden_size": 4, "nonlinearity": "relu"}
                          ).config.nonlinearity == "relu"


def test_layer_construction_checks():
    with pytest.raises(ValueError, match="forget_bias to be a finite number"):
        LSTM(3, 4, forget_bias=np.nan)
    with pytest.raises(ValueError, match="init_scale only with init='uniform'"):
        LSTM(3, 4, init_scale=0.1)  # was ignored
    assert np.abs(LSTM(3, 4, init="uniform", init_scale=0.1).params["weight_hh_l0"]).max() <= 0.1
    with pytest.raises(TypeError, match="bidirectional to be True or False"):
        LSTM(3, 4, bidirectional="no")  # was bidirectional
    with pytest.raises(TypeError, match="numpy.random.Generator or None, got int .*default_rng"):
        GRU(3, 4, rng=0)
    with pytest.raises(TypeError, match="Expected dtype float32 or float64, got 'foo'"):
        RNN(3, 4, dtype="foo")
    with pytest.raises(ValueError, match="in_features to be a positive int"):
        Linear(True, 3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="padding_idx to be an int"):
        Embedding(5, 3, np.random.default_rng(0), padding_idx=True)


def test_layer_forward_checks():
    layer = GRU(4, 5, num_layers=2, dropout=0.5)
    x = np.zeros((6, 3, 4), np.float32)
    h0 = np.zeros((2, 3, 5), np.float32)
    h0[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite values in state"):  # was NaN in every output
        layer.forward(x, h0)
    with pytest.raises(TypeError, match="training to be True or False"):
        layer.forward(x, training="no")  # applied dropout
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        layer.forward(x, training=True, rng=3)
    with pytest.raises(TypeError, match="integer lengths.*a mask"):
        layer.forward(x, lengths=np.array([True, True, True]))  # was lengths 1, 1, 1
    layer.params["bias_ih_l1"] = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match=r"params\['bias_ih_l1'\] of shape \(15,\), got \(16,\)"):
        layer.forward(x)
    del layer.params["bias_ih_l1"]
    with pytest.raises(ValueError, match=r"params\['bias_ih_l1'\] of shape \(15,\), got nothing"):
        layer.forward(x)


def test_language_model_data_checks():
    with pytest.raises(ValueError, match="bptt to be an integer >= 1"):
        next(windows(np.zeros((10, 2), np.int64), 0))  # yielded empty windows forever
    with pytest.raises(TypeError, match="rng .for jitter."):
        next(windows(np.zeros((10, 2), np.int64), 3, jitter=True))
    with pytest.raises(TypeError, match="integer token ids"):
        batchify(np.array([1.7, 2.2, 3.9, 4.1]), 2)  # was truncated to 1, 2, 3, 4
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"init_scale to be a finite number > 0"):
            LMConfig(10, init_scale=bad)
    with pytest.raises(ValueError, match=r"init_scale to be a number in \(0, 1e\+06\] .* to draw the initial"):
        LanguageModel(LMConfig(10, init_scale=1e30), np.random.default_rng(0))  # 1e30 overflowed float32 products
    vocab = Vocabulary(["<unk>", "<eos>", "a", "b", "c"])
    with pytest.raises(TypeError, match=r"got a str \(list\(text\)"):
        vocab.encode("abc")
    with pytest.raises(TypeError, match="integer ids, got 1.7"):
        vocab.decode([1.7])
    assert vocab.decode(np.array([2, 3])) == ["a", "b"]


def test_sampling_checks_rng_and_banned_ids():
    from rnnkit.lm.generate import choose

    logp = np.log(np.full(10, 0.1))
    with pytest.raises(TypeError, match=r"rng \(for sampling\) to be a numpy.random.Generator"):
        choose(logp, None)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"banned token ids in \[0, 10\), got \[12\]"):
        choose(logp, rng, banned=[12])  # was an IndexError
    with pytest.raises(ValueError, match="leave some of the 10 tokens"):
        choose(logp, rng, banned=np.arange(10))  # was 'Probabilities contain NaN'
    assert choose(logp, rng, banned=np.arange(9)) == 9
    assert choose(logp, None, greedy=True, banned=[0]) == 1  # greedy needs no rng


def test_state_loading_names_what_is_malformed():
    from rnnkit.checkpoint_task import copy_into
    from rnnkit.optim import Adam, ParameterAverage

    params = {"w": np.ones(3, np.float32)}
    opt = Adam(params)
    opt.step({"w": np.ones(3, np.float32)})
    sd = opt.state_dict()
    for change, said in ((("arrays", []), "state_dict\\['arrays'\\] to map names"),
                         (("no_decay", None), "'no_decay'\\] as a list of parameter names"),
                         (("param_steps", ["w"]), "'param_steps'\\] to map parameter names")):
        key, value = change
        bad = {"arrays": value, "meta": sd["meta"]} if key == "arrays" else \
            {"arrays": sd["arrays"], "meta": {**sd["meta"], key: value}}
        with pytest.raises(ValueError, match=said):
            Adam({"w": np.ones(3, np.float32)}).load_state_dict(bad)
    with pytest.raises(TypeError, match="Expected w as a numpy array, got list"):
        copy_into({"w": np.ones(3)}, {"w": [1.0, 2.0, 3.0]})
    with pytest.raises(TypeError, match="average of w as a numpy array"):
        ParameterAverage(params, 0.9).load({"w": [1.0, 2.0, 3.0]})


def test_metrics_and_output_layers_name_their_arguments():
    from rnnkit.data.spans import spans
    from rnnkit.metrics import token_accuracy
    from rnnkit.nn import LinearCrossEntropy

    with pytest.raises(TypeError, match="sentence 0 as a list of tags, got a str"):
        token_accuracy([["A", "B"]], ["AB"])  # scored 1.0
    with pytest.raises(ValueError, match=r"BIO is 'iob2' here\), got 'bio'$"):
        spans(["B-NP", "I-NP"], scheme="bio")
    x = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"weight of shape \(V, H\)"):
        LinearCrossEntropy().forward(x, np.zeros(4, np.float32), None, np.zeros(2, np.int64))
    with pytest.raises(TypeError, match="bias to be a float numpy array"):
        LinearCrossEntropy().forward(x, np.zeros((5, 4), np.float32), [0.0] * 5, np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="batch_size to be an integer >= 1"):
        _lm("full").initial_state(-1)


def test_accuracy_refuses_what_it_would_compare_wrongly():
    from rnnkit.checkpoint import restore_rng, rng_state
    from rnnkit.metrics import accuracy

    with pytest.raises(ValueError, match=r"gold as a 1-D sequence of labels, got an array of shape \(2, 1\)"):
        accuracy(np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="got a str"):
        accuracy("ab", "ab")
    assert accuracy([("a", 1), ("b", 2)], [("a", 1), ("b", 3)]) == 0.5  # tuples are labels too
    state = rng_state(np.random.Generator(np.random.MT19937(0)))
    state["state"]["key"] = state["state"]["key"][:2]  # a damaged checkpoint's rng state (was an IndexError)
    with pytest.raises(ValueError, match="valid .* state from rng_state"):
        restore_rng(state)


def test_a_tiny_temperature_samples_the_best_token_not_nan():
    from rnnkit.lm.generate import choose

    logp = np.log(np.array([0.1, 0.5, 0.4]))
    for extra in ({}, {"top_k": 2}, {"top_p": 0.5}):
        assert choose(logp, np.random.default_rng(0), temperature=1e-308, **extra) == 1, extra


def test_a_stream_too_short_for_one_prediction_is_named():
    from rnnkit.errors import DataError

    with pytest.raises(DataError, match=r"^one.txt has 1 token; at least 2 are needed \(one to read, one to "
                                        r"predict\): use a longer file$"):
        batchify(np.array([5]), 1, name="one.txt")  # advised a smaller --batch-size than 1


def test_backward_names_a_cache_that_is_not_one():
    with pytest.raises(TypeError, match="the cache this layer's forward returned, got str"):
        GRU(2, 3).backward(None, None, "junk")  # was an AttributeError


def test_softmax_over_no_classes_and_labels_of_mixed_types():
    from rnnkit.metrics.classification import confusion_matrix, macro_f1
    from rnnkit.nn.softmax import log_softmax, softmax

    for f in (softmax, log_softmax):
        with pytest.raises(ValueError, match="at least one class along axis -1"):
            f(np.zeros((2, 0), np.float32))
        assert f(np.zeros((0, 3), np.float32)).shape == (0, 3)  # no rows is fine: nothing to normalise
    # 1 and "1" are two labels (a file read as str, a model's int ids): scored, not a TypeError from sorted()
    assert confusion_matrix([1, "1", 1], [1, 1, "1"])[1] == [1, "1"]
    assert macro_f1([1, "1", 1], [1, 1, "1"]) == pytest.approx(0.25)


def test_numbers_that_used_to_pass_or_be_misnamed():
    """numpy scalars are numbers, strings are not, and a message names the real limit."""
    from rnnkit.init import init_recurrent_params, uniform_

    rng = np.random.default_rng(0)
    assert LSTM(3, 4, forget_bias=np.float32(1.5), dtype=np.float64).params["bias_ih_l0"][4:8].tolist() == [1.5] * 4
    params = {"bias_ih_l0": np.zeros(16), "bias_hh_l0": np.zeros(16)}
    init_recurrent_params(params, 4, rng, forget_bias=np.float64(1.0))  # was "Expected a finite number"
    assert params["bias_ih_l0"][4:8].tolist() == [1.0] * 4
    for bad in ("1", True, 2000.0):  # "1" and True used to be taken as 1.0; 2000 was called "not finite"
        with pytest.raises(ValueError, match=r"forget_bias to be a finite number between -1000 and 1000"):
            LSTM(3, 4, forget_bias=bad)
    assert LSTM(3, 4, init="uniform", init_scale=np.float32(0.05)).params["weight_hh_l0"].max() <= 0.05
    with pytest.raises(ValueError, match="Expected bound to be a finite number >= 0, got '1'"):
        uniform_((2, 2), "1", rng)
    assert np.abs(uniform_((2, 2), np.array(0.1), rng)).max() <= 0.1  # a 0-d array is a number
    for counts in ([1.0, np.nan, 2.0], [1, -5, 2], [1.0, np.inf, 2.0]):
        with pytest.raises(ValueError, match="counts to be finite and >= 0 .*for word 1"):
            frequency_classes(np.array(counts), 2)
    with pytest.raises(ValueError, match=r"every length between 1 and T=3, got min 2.0 and max 1e\+20"):
        GRU(3, 4).forward(np.zeros((3, 2, 3), np.float32), lengths=np.array([1e20, 2.0]))
