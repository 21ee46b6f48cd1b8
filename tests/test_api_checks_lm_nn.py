"""Arguments of rnnkit.lm and rnnkit.nn that used to be accepted silently (uninitialised memory, a wrapped
index, truncated ids, 'no' read as True) or refused with numpy's words: each is now a ValueError or
TypeError naming the argument (audit of the Python API, Dec 6: LM-1 .. LM-12, NG-1, NN-1 .. NN-3)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.data.vocab import Vocabulary
from rnnkit.lm import good_turing_ratios, modified_kn_discounts
from rnnkit.lm.adaptive_softmax import AdaptiveSoftmax
from rnnkit.lm.batching import batchify, windows
from rnnkit.lm.class_softmax import ClassSoftmax, frequency_classes
from rnnkit.lm.generate import choose, sample_ids
from rnnkit.lm.interpolate import mix, stream_log_probs
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.score import score_lines
from rnnkit.nn import Embedding, Linear, LinearCrossEntropy, dropout_backward, dropout_forward, log_softmax, softmax

IDS = np.array([[1, 2], [3, 4], [5, 6]])
TARGETS = np.array([[2, 3], [4, 5], [6, 7]])


def _lm(softmax: str = "full", **kw) -> LanguageModel:
    extra = {"word_classes": np.array([0] * 5 + [1] * 5)} if softmax == "class" else {}
    cutoffs = (3,) if softmax == "adaptive" else ()
    cfg = LMConfig(10, embedding_dim=4, hidden_size=4, num_layers=1, softmax=softmax, cutoffs=cutoffs, **kw)
    return LanguageModel(cfg, np.random.default_rng(0), **extra)


# ---------------------------------------------------------------------------------------------- LM-1, LM-2
@pytest.mark.parametrize("rows", [-1, 0, 2.5, True])
def test_token_log_probs_checks_rows(rows):
    """rows=-1 returned np.empty's uninitialised memory as log-probabilities; 0 a range() error."""
    with pytest.raises(ValueError, match=f"Expected rows to be an integer >= 1, got {rows!r}"):
        _lm().token_log_probs(IDS, TARGETS, rows=rows)


@pytest.mark.parametrize("softmax", ["full", "class", "adaptive"])
def test_token_log_probs_checks_targets_as_forward_does(softmax):
    """A -1 target scored id V-1 (the index wrapped); 10 and float targets were IndexErrors, a list an
    AttributeError."""
    lm = _lm(softmax)
    for bad in (-1, 10):
        targets = TARGETS.copy()
        targets[2, 1] = bad
        with pytest.raises(ValueError, match=rf"targets in \[0, 10\) at unmasked positions, got {bad}"):
            lm.token_log_probs(IDS, targets)
        with pytest.raises(ValueError, match=rf"targets in \[0, 10\) at unmasked positions, got {bad}"):
            lm.forward(IDS, targets)  # the same words
    for bad in (TARGETS.astype(float), TARGETS.tolist()):
        with pytest.raises(TypeError, match="targets to be an integer numpy array"):
            lm.token_log_probs(IDS, bad)
    with pytest.raises(ValueError, match=r"targets of shape \(3, 2\) \(the ids'\)"):
        lm.token_log_probs(IDS, TARGETS.T)
    with pytest.raises(ValueError, match=r"ids of shape \(T, B\)"):
        lm.token_log_probs(IDS[0], TARGETS[0])
    logp, _ = lm.token_log_probs(IDS, TARGETS, rows=1)  # rows at a time: the same numbers
    np.testing.assert_allclose(logp, lm.token_log_probs(IDS, TARGETS)[0], rtol=1e-6)
    assert logp.sum() == pytest.approx(-lm.forward(IDS, TARGETS)[0], rel=1e-5)


# ---------------------------------------------------------------------------------------------- LM-3, LM-7
@pytest.mark.parametrize("field", ["tie_weights", "variational"])
def test_config_bool_fields_must_be_bools(field):
    """tie_weights='no' tied the weights."""
    with pytest.raises(TypeError, match=f"Expected {field} to be a bool, got str 'no'"):
        LMConfig(10, **{field: "no"})
    assert getattr(LMConfig(10, **{field: np.bool_(False)}), field) is False


def test_config_takes_numpy_scalars_and_stores_plain_values():
    """init_scale=np.float32(0.1) was refused; numpy sizes were kept as numpy scalars (not JSON)."""
    cfg = LMConfig(np.int64(10), embedding_dim=np.int32(4), hidden_size=4, num_layers=1,
                   init_scale=np.float32(0.1), dropout_input=np.float32(0.5))
    assert cfg.init_scale == pytest.approx(0.1) and type(cfg.init_scale) is float
    assert LMConfig(**json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(TypeError, match="init_scale to be a number or None, got str"):
        LMConfig(10, init_scale="0.1")


# ---------------------------------------------------------------------------------------------- LM-4
def test_sample_ids_checks_prime_greedy_and_sampling_options():
    lm = _lm()
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="prime_ids to be integer token ids, got float64"):
        next(sample_ids(lm, np.array([1.7]), 3, greedy=True))  # read as id 1
    with pytest.raises(TypeError, match="Expected greedy to be a bool, got str 'no'"):
        next(sample_ids(lm, [1], 3, greedy="no"))  # decoded greedily
    with pytest.raises(TypeError, match="Expected greedy to be a bool"):
        choose(np.zeros(3), rng, greedy="no")
    with pytest.raises(TypeError, match="temperature to be a number, got bool True"):
        next(sample_ids(lm, [1], 3, rng=rng, temperature=True))
    with pytest.raises(TypeError, match="top_p to be a number, got bool True"):
        next(sample_ids(lm, [1], 3, rng=rng, top_p=True))
    assert len(list(sample_ids(lm, np.array([1], np.int32), 3, rng=rng, temperature=np.float32(0.5)))) == 3


# ---------------------------------------------------------------------------------------------- LM-5
def test_windows_check_start_and_jitter():
    data = batchify(np.arange(400), 2)
    with pytest.raises(ValueError, match="start to be an integer >= 0, got -3"):
        next(windows(data, 5, start=-3))  # an empty window first
    with pytest.raises(ValueError, match="start to be an integer >= 0, got 2.5"):
        next(windows(data, 5, start=2.5))
    with pytest.raises(TypeError, match="jitter to be a bool, got str 'no'"):
        next(windows(data, 20, jitter="no", rng=np.random.default_rng(1)))  # jitter on
    assert [s for s, _, _ in windows(data, 100, start=np.int64(50))] == [150, 199]


# ---------------------------------------------------------------------------------------------- LM-6
def test_options_of_another_output_layer_are_refused():
    with pytest.raises(ValueError, match="num_classes to be an integer >= 0, got -3"):
        LMConfig(10, num_classes=-3)
    with pytest.raises(ValueError, match="num_classes only with softmax 'class'"):
        LMConfig(10, num_classes=3)
    with pytest.raises(ValueError, match="cutoffs only with softmax 'adaptive'"):
        LMConfig(10, cutoffs=(3,))
    with pytest.raises(ValueError, match="word_classes only with softmax 'class'"):
        LanguageModel(LMConfig(10, embedding_dim=4, hidden_size=4, num_layers=1), np.random.default_rng(0),
                      word_classes=np.array([0] * 5 + [1] * 5))
    with pytest.raises(ValueError, match="word_classes of at most num_classes=2 classes, got 3"):
        LanguageModel(LMConfig(10, embedding_dim=4, hidden_size=4, num_layers=1, softmax="class", num_classes=2),
                      np.random.default_rng(0), word_classes=np.arange(10) % 3)
    # fewer classes than asked is what frequency_classes gives when a frequent word spans several bins
    assert frequency_classes(np.array([100, 1, 1, 1]), 3).max() + 1 == 2
    m = _lm("class", num_classes=7)
    assert m.factored.num_classes == 2


def test_batchify_checks_its_unused_bptt():
    with pytest.raises(ValueError, match="bptt to be an integer >= 1, got 'x'"):
        batchify(np.arange(10), 2, bptt="x")
    assert batchify(np.arange(10), 2, bptt=35).shape == (5, 2)


# ---------------------------------------------------------------------------------------------- LM-8, LM-9
def test_strings_for_numbers_are_type_errors():
    with pytest.raises(TypeError, match="div_value to be a number, got str '4'"):
        LMConfig(10, softmax="adaptive", cutoffs=(3,), div_value="4")
    with pytest.raises(TypeError, match="div_value to be a number, got str '4'"):
        AdaptiveSoftmax(10, 8, [3], div_value="4")
    with pytest.raises(TypeError, match="cutoffs to be a sequence of ints .*got int 5"):
        LMConfig(10, softmax="adaptive", cutoffs=5)
    with pytest.raises(TypeError, match="cutoffs to be ints, got str '3'"):
        LMConfig(10, softmax="adaptive", cutoffs=("3",))
    with pytest.raises(TypeError, match="power to be a number, got str '1'"):
        frequency_classes(np.arange(10, 0, -1), 2, power="1")


def test_counts_and_sizes_must_be_integers_and_flags_bools():
    with pytest.raises(ValueError, match="num_classes to be an integer >= 1, got 2.5"):
        frequency_classes(np.arange(10, 0, -1), 2.5)  # built 3 classes
    with pytest.raises(ValueError, match="vocab_size to be an integer >= 2, got 10.7"):
        AdaptiveSoftmax(10.7, 8, [3])
    with pytest.raises(ValueError, match="hidden_size to be an integer >= 1, got 8.9"):
        AdaptiveSoftmax(10, 8.9, [3])
    with pytest.raises(TypeError, match="head_bias to be a bool, got str 'no'"):
        AdaptiveSoftmax(10, 8, [3], head_bias="no")  # kept the bias
    layer = AdaptiveSoftmax(np.int64(10), np.int64(8), [np.int64(3)])
    assert (layer.vocab_size, layer.hidden_size) == (10, 8)
    with pytest.raises(ValueError, match="H to be an integer >= 1, got 0"):
        ClassSoftmax.init_params(5, 2, 0, np.random.default_rng(0))  # numpy's OverflowError


# ---------------------------------------------------------------------------------------------- LM-10
def _class_softmax(rng):
    cs = ClassSoftmax(np.array([0, 0, 1, 1, 1]))
    return cs, ClassSoftmax.init_params(5, 2, 3, rng)


def _adaptive(rng):
    layer = AdaptiveSoftmax(10, 3, [3], 1.0)
    return layer, layer.init_params(rng)


@pytest.mark.parametrize("make", [_class_softmax, _adaptive])
def test_factored_outputs_refuse_a_dtype_mix(make):
    """float64 h with float32 parameters computed dh (and, adaptive, every gradient) in float64."""
    rng = np.random.default_rng(0)
    layer, params = make(rng)
    h = rng.standard_normal((4, 3))
    targets = np.array([0, 1, 2, 4])
    with pytest.raises(TypeError, match="Expected h of dtype float32 .the parameters'., got float64"):
        layer.loss(params, h, targets)
    with pytest.raises(TypeError, match="Expected h of dtype float32"):
        layer.log_probs(params, h)
    loss, cache = layer.loss(params, h.astype(np.float32), targets)
    dh, grads = layer.loss_backward(params, 1.0, cache)
    assert dh.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("make", [_class_softmax, _adaptive])
def test_factored_outputs_check_shapes(make):
    rng = np.random.default_rng(0)
    layer, params = make(rng)
    targets = np.array([0, 1, 2, 4])
    with pytest.raises(ValueError, match=r"h of shape \(N, 3\) .*got \(4, 2\)"):
        layer.loss(params, np.ones((4, 2), np.float32), targets)  # a matmul error
    with pytest.raises(ValueError, match=r"h of shape \(N, 3\) .*got \(3,\)"):
        layer.log_probs(params, np.ones(3, np.float32))  # an AxisError from numpy
    if isinstance(layer, ClassSoftmax):
        other = ClassSoftmax.init_params(3, 2, 3, rng)
        with pytest.raises(ValueError, match=r"params\['weight'\] of shape \(5, 3\), got \(3, 3\)"):
            layer.loss(other, np.ones((4, 3), np.float32), targets)  # an IndexError
    else:
        other = dict(params, **{"tail.0.1.weight": params["tail.0.1.weight"][:4]})
        with pytest.raises(ValueError, match=r"params\['tail.0.1.weight'\] of shape \(7, 3\), got \(4, 3\)"):
            layer.loss(other, np.ones((4, 3), np.float32), targets)


# ---------------------------------------------------------------------------------------------- LM-11
def test_choose_names_a_bad_logp():
    rng = np.random.default_rng(0)
    assert choose([0.0, -1.0], None, greedy=True) == 0  # was an AttributeError
    with pytest.raises(ValueError, match=r"logp of shape \(V,\) .*got shape \(2, 3\)"):
        choose(np.zeros((2, 3)), rng)
    with pytest.raises(TypeError, match="logp to be an array of log-probabilities"):
        choose("abc", rng)
    with pytest.raises(ValueError, match="finite maximum .*got -inf for every token"):
        choose(np.full(3, -np.inf), rng)  # 'Probabilities contain NaN'
    with pytest.raises(ValueError, match="finite maximum .*got NaN"):
        choose(np.array([0.0, np.nan]), None, greedy=True)  # picked id 1


# ---------------------------------------------------------------------------------------------- LM-12
def _scoring_setup():
    vocab = Vocabulary.build("the cat sat on the mat".split())
    cfg = LMConfig(len(vocab), embedding_dim=4, hidden_size=4, num_layers=1)
    return LanguageModel(cfg, np.random.default_rng(0)), vocab


def test_scoring_checks_level_lines_ids_and_weight():
    lm, vocab = _scoring_setup()
    with pytest.raises(ValueError, match="level 'word', 'char' or 'bpe', got 'Word'"):
        score_lines(lm, vocab, "Word", ["the cat"])  # scored as characters
    with pytest.raises(TypeError, match=r"lines to be a sequence of str, one per line, got a str"):
        score_lines(lm, vocab, "word", "the cat")  # 7 one-character lines
    assert len(score_lines(lm, vocab, "word", iter(["the cat", "a mat"]))) == 2
    with pytest.raises(TypeError, match="ids to be integer token ids, got float64"):
        stream_log_probs(lm, np.array([1.7, 2.2]), vocab.eos_id)  # truncated to 1, 2
    with pytest.raises(TypeError, match="weight to be a number, got str '0.5'"):
        mix([0.0], [0.0], "0.5")
    assert mix([0.0], [0.0], np.float32(0.5)).tolist() == [0.0]


# ---------------------------------------------------------------------------------------------- NG-1
def test_discount_helpers_check_counts():
    np.testing.assert_array_equal(good_turing_ratios([1, 2, 3]), good_turing_ratios(np.array([1, 2, 3])))
    np.testing.assert_array_equal(modified_kn_discounts([1, 1, 2, 3, 4]),
                                  modified_kn_discounts(np.array([1, 1, 2, 3, 4])))
    with pytest.raises(TypeError, match="counts to be integer n-gram counts, got float64"):
        good_turing_ratios(np.array([1.5, 2.0, 3.0]))
    with pytest.raises(TypeError, match="counts to be integer n-gram counts, got float64"):
        modified_kn_discounts(np.array([1.5, 2.0, 3.0]))
    with pytest.raises(ValueError, match="max_count to be an integer >= 0, got -1"):
        good_turing_ratios(np.array([1, 2, 3]), max_count=-1)  # returned []


# ---------------------------------------------------------------------------------------------- NN-1 .. NN-3
def test_layer_flags_must_be_bools():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="sparse to be a bool, got str 'no'"):
        Embedding(5, 3, rng, sparse="no")
    with pytest.raises(TypeError, match="bias to be a bool, got str 'no'"):
        Linear(3, 2, rng, bias="no")
    assert sorted(Linear(3, 2, rng, bias=np.bool_(False)).params) == ["weight"]


def test_linear_cross_entropy_refuses_a_dtype_mix():
    """float64 x with float32 weight and bias made the loss and every gradient float64."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    b = np.zeros(5, np.float32)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 3])
    with pytest.raises(TypeError, match="Expected x of dtype float32 .the weight's., got float64"):
        LinearCrossEntropy().forward(x.astype(np.float64), w, b, t)
    with pytest.raises(TypeError, match="Expected bias of dtype float32 .the weight's., got float64"):
        LinearCrossEntropy().forward(x, w, b.astype(np.float64), t)
    layer = LinearCrossEntropy()
    _, cache = layer.forward(x, w, b, t)
    dx, grads = layer.backward(1.0, cache)
    assert dx.dtype == np.float32 and grads["weight"].dtype == grads["bias"].dtype == np.float32


def test_dropout_backward_refuses_a_gradient_of_another_dtype():
    """A float64 dout after a float32 forward came back as a float64 dx."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    _, cache = dropout_forward(x, 0.5, rng)
    with pytest.raises(TypeError, match="dout of dtype float32 .the forward input's., got float64"):
        dropout_backward(x.astype(np.float64), cache)
    assert dropout_backward(x, cache)[0].dtype == np.float32


@pytest.mark.parametrize("fn", [softmax, log_softmax])
def test_softmax_names_a_bad_axis(fn):
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"axis in \[-2, 2\) for x of shape \(4, 3\), got 5"):
        fn(x, axis=5)  # IndexError: tuple index out of range
    with pytest.raises(TypeError, match="axis to be an int, got float"):
        fn(x, axis=1.0)
    np.testing.assert_allclose(softmax(x, axis=np.int64(0)).sum(axis=0), 1.0, rtol=1e-6)


def test_sampling_from_a_model_whose_numbers_overflow_names_the_model():
    """A model with NaN log-probabilities (weights far too large) was met by _choose's check of the caller's
    input ("Expected log-probabilities with a finite maximum"), naming nothing the caller gave."""
    from rnnkit.errors import NonFiniteError

    class Overflowing:
        def step_log_probs(self, ids, state):
            k = 0 if state is None else state + 1
            logp = np.log(np.full((1, 4), 0.25))
            if k >= 2:
                logp[0, 1] = np.nan
            return logp, k

    got = sample_ids(Overflowing(), np.array([0]), 5, rng=np.random.default_rng(0))
    assert len([next(got), next(got)]) == 2
    with pytest.raises(NonFiniteError, match=r"the model's log-probabilities are NaN at token 3 \(its numbers "
                                             r"overflow: weights far too large, as init_scale \(--init-scale\)"):
        next(got)
