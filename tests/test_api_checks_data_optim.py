"""Argument checks of the vocabulary, word-vector reader, metrics, optimizer helpers, RTRL and gradient_flow
(audit findings VE, VO, ME, OP, RT, DG): a bad argument is refused naming it, a valid numpy scalar accepted."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.vectors import fill_embedding, read_vectors, wanted_words
from rnnkit.data.vocab import Vocabulary, oov_rate
from rnnkit.diagnostics import gradient_flow
from rnnkit.errors import DataError
from rnnkit.metrics import accuracy, segmentation_prf, span_prf, token_accuracy
from rnnkit.optim import SGD, DecayAfter, HalveOnPlateau, ParameterAverage, StepLR, clip_coefficient
from rnnkit.rtrl import rtrl_gradients
from rnnkit.rtrl_online import OnlineRTRL


def _file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- VE: word vectors -----------------------------------------------------------------------------

def test_ve1_lines_with_more_numbers_than_the_header_says_are_refused(tmp_path):
    hdr = _file(tmp_path, "hdr.vec", "2 3\nthe 0.1 0.2 0.3 0.4 0.5\ncat 0.4 0.5 0.6 0.7 0.8\n")
    msg = r"hdr\.vec: line 2: expected a word and 3 numbers \(the dimension line 1 gives\), got 'the' and 5 numbers"
    with pytest.raises(DataError, match=msg):
        read_vectors(hdr)
    with pytest.raises(DataError, match=msg):  # the wanted words were silently never found
        read_vectors(hdr, wanted={"the", "cat"})
    with pytest.raises(DataError, match=r"line 2: expected a word and 3 numbers"):  # no wanted word at all
        read_vectors(hdr, wanted={"dog"})


def test_ve1_a_ragged_glove_file_is_refused_but_spaced_words_still_read(tmp_path):
    ragged = _file(tmp_path, "ragged.txt", "the 0.1 0.2 0.3\ncat 0.4 0.5 0.6 0.7\n")
    with pytest.raises(DataError, match=r"ragged\.txt: line 2: expected a word and 3 numbers \(as many as line 1 "
                                        r"holds\), got 'cat' and 4 numbers"):
        read_vectors(ragged)
    spaced = _file(tmp_path, "spaced.txt", "the 0.1 0.2 0.3\nat name@domain.com 0.4 0.5 0.6\n")
    wv = read_vectors(spaced)
    assert wv.words == ["the", "at name@domain.com"] and wv.dim == 3


def test_ve2_a_str_of_words_is_refused(tmp_path):
    glove = _file(tmp_path, "glove.txt", "the 0.1 0.2 0.3\ncat 0.4 0.5 0.6\n")
    with pytest.raises(TypeError, match="Expected wanted to be a collection of words .*got a str"):
        read_vectors(glove, wanted="the cat")
    with pytest.raises(TypeError, match="Expected tokens to be a collection of words .*got a str"):
        wanted_words("The")
    assert wanted_words(["The"]) == {"The", "the"}


def test_ve3_fill_embedding_and_read_vectors_arguments(tmp_path):
    wv = read_vectors(_file(tmp_path, "glove.txt", "the 0.1 0.2 0.3\ncat 0.4 0.5 0.6\n"))
    table = np.zeros((2, 3), int)
    with pytest.raises(TypeError, match="Expected weight to be a float array, got dtype int64"):
        fill_embedding(table, ["the", "cat"], wv)  # stored the vectors as zeros
    assert not table.any()
    weight = np.zeros((2, 3), np.float32)
    cov = fill_embedding(weight, Vocabulary(["<unk>", "the"], eos_token=None), wv)  # a Vocabulary is accepted
    assert cov.exact == 1 and np.allclose(weight[1], [0.1, 0.2, 0.3]) and not weight[0].any()
    assert wanted_words(Vocabulary(["<unk>", "The"], eos_token=None)) == {"<unk>", "The", "the"}
    with pytest.raises(TypeError, match="Expected every token to be a str, got int 5 at row 1"):
        fill_embedding(np.zeros((2, 3), np.float32), ["the", 5], wv)
    with pytest.raises(TypeError, match="Expected path to be a str or path-like object, got NoneType"):
        read_vectors(None)


# --- VO: vocabulary -------------------------------------------------------------------------------

def test_vo1_a_str_or_none_is_not_an_iterable_of_tokens():
    v = Vocabulary.build(["ab", "cd"])
    with pytest.raises(TypeError, match="Expected tokens to be an iterable of str tokens, got NoneType"):
        Vocabulary.build(None)
    with pytest.raises(TypeError, match="Expected tokens to be a sequence of tokens, got a str"):
        Vocabulary.build("hello world")
    with pytest.raises(TypeError, match="Expected tokens to be a sequence of tokens, got a str"):
        oov_rate("ab zz", v)
    with pytest.raises(TypeError, match="Expected tokens to be an iterable of str tokens, got NoneType"):
        oov_rate(None, v)
    assert oov_rate(["ab", "zz"], v).count == 1


def test_vo2_encode_refuses_ids_and_none_and_from_json_a_dict():
    v = Vocabulary.build(["a", "b"])
    with pytest.raises(TypeError, match=r"Expected every token to be a str, got int 2 \(ids\? decode\(\)"):
        v.encode([2, 3])  # was [0, 0]
    with pytest.raises(TypeError, match="got int 3"):
        v.encode(["a", 3])  # a non-str later in the list: refused too, at no cost for known tokens
    with pytest.raises(TypeError, match="Expected tokens to be an iterable of str tokens, got NoneType"):
        v.encode(None)
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        v.encode([["a"]])
    np.testing.assert_array_equal(v.encode(iter(["a", "zz", "b"])), [v.token_id("a"), v.unk_id, v.token_id("b")])
    np.testing.assert_array_equal(v.encode(np.array(["b"])), [v.token_id("b")])
    with pytest.raises(TypeError, match=r"Expected text to be a JSON string \(json.dumps\(obj\) for a dict\), got dict"):
        Vocabulary.from_json({"tokens": ["<unk>"]})


def test_vo3_numpy_integers_are_accepted_as_sizes():
    v = Vocabulary.build(["a", "b", "b"], max_size=np.int64(3), min_count=np.int64(2))
    assert v.tokens == ["<unk>", "<eos>", "b"]
    assert Vocabulary.build(["a", "b"], max_size=np.int64(5)).tokens == ["<unk>", "<eos>", "a", "b"]


# --- ME: metrics ----------------------------------------------------------------------------------

def test_me1_nested_label_lists_are_refused_like_the_array():
    with pytest.raises(ValueError, match="Expected pred as a 1-D sequence of labels, got a nested sequence"):
        accuracy([1, 2], [[1], [2]])  # was 0.0
    with pytest.raises(ValueError, match="Expected gold as a 1-D sequence of labels"):
        accuracy([[1], [2]], [1, 2])
    assert accuracy([(1, 2), ("a",)], [(1, 2), ("b",)]) == 0.5  # tuple labels are fine


def test_me2_train_vocab_as_a_str_is_refused():
    with pytest.raises(TypeError, match="Expected train_vocab to be a collection of words or None, got a str"):
        segmentation_prf([["ab", "c"]], [["ab", "c"]], train_vocab="ab c")
    assert segmentation_prf([["ab", "c"]], [["ab", "c"]], train_vocab=["ab", "c"])["oov_rate"] == 0.0


def test_me3_bio_scheme_and_0_1_masks_are_accepted():
    pytest.importorskip("seqeval")
    assert span_prf([["B-X", "O"]], [["B-X", "O"]], scheme="bio")["f1"] == 1.0
    assert span_prf([["I-X", "B-X"]], [["I-X", "I-X"]], scheme="iob1")["per_type"]["X"]["support"] == 2
    with pytest.raises(ValueError, match=r"Expected scheme to be one of \('bio', 'iob2', 'iob1', 'bioes'\).*"
                                         r"got 'bmes'$"):
        span_prf([["B-X"]], [["B-X"]], scheme="bmes")  # no "in gold sentence 0"


def test_me3_token_accuracy_takes_a_0_1_int_mask():
    gold, pred = np.array([[1, 2]]), np.array([[1, 3]])
    assert token_accuracy(gold, pred, mask=np.array([[1, 0]])) == 1.0
    assert token_accuracy(gold, pred, mask=np.array([[True, False]])) == 1.0
    with pytest.raises(ValueError, match=r"Expected mask to be bool or hold only 0 and 1, got values \[2\]"):
        token_accuracy(gold, pred, mask=np.array([[2, 0]]))
    with pytest.raises(TypeError, match="Expected mask of dtype bool"):
        token_accuracy(gold, pred, mask=np.array([["a", "b"]]))


def test_me4_ragged_arrays_generators_and_a_str_oov_key():
    assert token_accuracy([[1, 2], [3]], np.array([[1, 2], [3]], dtype=object)) == 1.0
    with pytest.raises(ValueError, match="Expected gold as an array of tag ids"):
        token_accuracy([[1, 2], [3]], np.array([[1, 2]]))
    with pytest.raises(TypeError, match=r"Expected gold to be a list or 1-D array of labels, got generator"):
        accuracy((x for x in [1]), [1])
    with pytest.raises(TypeError, match=r"Expected oov_key to be a function word -> key or None \(str.lower"):
        segmentation_prf([["ab"]], [["ab"]], train_vocab=["ab"], oov_key="lower")
    assert segmentation_prf([["Ab"]], [["Ab"]], train_vocab=["ab"], oov_key=str.lower)["oov_rate"] == 0.0


# --- OP: optimizer helpers ------------------------------------------------------------------------

def _params():
    return {"w": np.ones((2, 2))}


def test_op1_schedules_take_numpy_integers():
    s = StepLR(SGD(_params()), step_size=np.int64(2))
    assert s.step_size == 2 and type(s.state_dict()["step_size"]) is int
    assert DecayAfter(SGD(_params()), start_epoch=np.int64(4), gamma=0.5).start_epoch == 4
    assert HalveOnPlateau(SGD(_params()), patience=np.int64(1)).patience == 1
    with pytest.raises(TypeError, match="Expected step_size to be an int"):
        StepLR(SGD(_params()), step_size=np.bool_(True))


def test_op2_clip_coefficient_checks_the_norm():
    with pytest.raises(ValueError, match=r"Expected total to be a norm >= 0 .*got -5.0"):
        clip_coefficient(-5.0, 1.0)  # was -0.2
    with pytest.raises(TypeError, match="Expected total to be a number .*got str '5'"):
        clip_coefficient("5", 1.0)
    assert clip_coefficient(float("nan"), 1.0) == 1.0 and clip_coefficient(float("inf"), 1.0) == 1.0
    c = clip_coefficient(np.float32(10.0), 5.0)
    assert type(c) is float and c == pytest.approx(0.5)


def test_op3_parameter_average_checks_step_and_params():
    pa = ParameterAverage({"w": np.ones((2, 2))}, 0.99)
    for bad in (-5, -10, 0, "3"):
        with pytest.raises(ValueError, match=r"Expected step to be an integer >= 1"):
            pa.update(bad)
    assert (pa.average["w"] == 1.0).all()
    pa.update(np.int64(3))
    with pytest.raises(TypeError, match=r"Expected params\['w'\] to be a float numpy array, got dtype int64"):
        ParameterAverage({"w": np.ones(2, int)}, 0.9)


# --- RT: RTRL -------------------------------------------------------------------------------------

def _elman(D=2, H=3):
    rng = np.random.default_rng(0)
    return {"weight_ih_l0": rng.standard_normal((H, D)), "weight_hh_l0": rng.standard_normal((H, H)) * 0.3,
            "bias_ih_l0": np.zeros(H), "bias_hh_l0": np.zeros(H)}


def test_rt1_numpy_learning_rate_and_batch_size_are_accepted():
    net = OnlineRTRL(_elman(), np.float32(0.1), batch_size=np.int64(2))
    assert type(net.optimizer_step) is float and net.batch_size == 2
    h, _ = net.step(np.ones((2, 2)), np.ones((2, 3)))
    assert h.shape == (2, 3)


@pytest.mark.parametrize("lr,error,match", [(-0.1, ValueError, r">= 0.0, got -0.1"),
                                            (float("nan"), ValueError, "to be finite"),
                                            (True, TypeError, "Expected optimizer_step as a callable")])
def test_rt2_a_bad_learning_rate_is_refused(lr, error, match):
    with pytest.raises(error, match=match):
        OnlineRTRL(_elman(), lr)


def test_rt3_non_finite_inputs_are_refused():
    with pytest.raises(ValueError, match="Expected finite values in x, got NaN or inf"):
        rtrl_gradients(_elman(), np.full((4, 2, 2), np.nan), None, np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match="Expected finite values in h0"):
        rtrl_gradients(_elman(), np.ones((4, 2, 2)), np.full((2, 3), np.inf), np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match="Expected finite values in x_t"):
        OnlineRTRL(_elman(), 0.1).step(np.array([[np.nan, 0.0]]), np.ones((1, 3)))
    learner, twin = OnlineRTRL(_elman(), 0.1), OnlineRTRL(_elman(), 0.1)
    before = {k: v.copy() for k, v in learner.params.items()}
    for bad in (np.full((1, 3), np.nan), lambda h: h * np.inf):  # dL/dh used to reach the weights as NaN
        with pytest.raises(ValueError, match=r"finite values in dloss \(dL_t/dh_t at step 1\)"):
            learner.step(np.array([[0.5, -1.0]]), bad)
    assert all(np.array_equal(before[k], learner.params[k]) for k in before) and learner.steps_ == 0
    h1, _ = learner.step(np.array([[0.5, -1.0]]), np.ones((1, 3)))
    h2, _ = twin.step(np.array([[0.5, -1.0]]), np.ones((1, 3)))
    assert np.array_equal(h1, h2) and all(np.array_equal(learner.params[k], twin.params[k]) for k in before)


# --- DG: gradient_flow ----------------------------------------------------------------------------

def test_dg1_gradient_flow_takes_numpy_scalars_and_names_a_bad_seed():
    assert gradient_flow(steps=5, hidden=4, batch=2, init=np.float32(0.5)).shape == (5,)
    out = gradient_flow("lstm", steps=5, hidden=4, batch=2, forget_bias=np.float32(1.0))
    np.testing.assert_array_equal(out, gradient_flow("lstm", steps=5, hidden=4, batch=2, forget_bias=1.0))
    with pytest.raises(ValueError, match="Expected seed to be an integer >= 0, got -1"):
        gradient_flow(steps=5, hidden=4, batch=2, seed=-1)
    with pytest.raises(ValueError, match="Expected forget_bias to be a finite number or None, got True"):
        gradient_flow("lstm", steps=5, hidden=4, batch=2, forget_bias=True)
