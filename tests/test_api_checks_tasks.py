"""Arguments of the task packages (tagging, classify, treenet, CRF, HMM) that used to be accepted
silently, refused with an obscure error, or refused though valid: each is now computed right or
refused with one ValueError or TypeError naming the argument (audit of the Python API, IDs TR, TG,
CRF, CL and HM)."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.classify import (Classifier, ClassifierConfig, ClassifierEncoder, ClassifierTask, cross_validate,
                             holdout_split, kfold_indices, predict_proba)
from rnnkit.crf import crf_nll, init_crf_params, viterbi_decode
from rnnkit.data.trees import parse_tree, parse_trees, read_trees
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import DataError
from rnnkit.hmm import HMMTagger
from rnnkit.tagging import (DataSpec, Tagger, TaggerConfig, TaggerEncoder, TaggerTask, TaggingData,
                            format_predictions, make_batch, predict_ids, read_tagged, score)
from rnnkit.tagging.model import TaggerBatch
from rnnkit.treenet import TreeNet, TreeNetConfig
from rnnkit.treenet import make_batch as tree_batch


def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------- trees (TR)
TREE = "(3 (2 The) (4 good))"


def test_tr2_a_huge_label_is_a_data_error_naming_the_line(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text(f"{TREE}\n(99999999999999999999 (2 a) (1 b))\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"huge.txt:2: .*label.*99999999999999999999"):
        read_trees(path)  # was OverflowError from numpy


def test_tr2_no_other_exception_of_a_line_escapes(monkeypatch):
    def broken(line, *options):
        raise IndexError("list index out of range")

    monkeypatch.setattr("rnnkit.data.trees.parse_tree", broken)
    with pytest.raises(DataError, match=r"f.txt:1: cannot read this line as a tree \(IndexError"):
        parse_trees([TREE], "f.txt")


def test_tr2_the_cli_says_one_line_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "huge.txt"
    path.write_text(f"{TREE}\n(99999999999999999999 (2 a) (1 b))\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(path), "--run-dir", str(tmp_path / "r")])
    assert code == 2 and f"{path}:2:" in err and "Traceback" not in err, err


def _tree_net():
    return TreeNet(TreeNetConfig(10, 5, embedding_dim=4, hidden_size=4, dropout=0.0), rng())


def test_tr1_float_ids_float_labels_and_negative_labels_are_refused():
    tree = parse_tree(TREE)
    with pytest.raises(TypeError, match=r"word_ids\[0\] to be integer ids, got float64"):
        tree_batch([tree], [np.array([1.7, 2.2])])  # was [1, 2]
    with pytest.raises(TypeError, match=r"labels\[0\] to be integer ids"):
        tree_batch([tree], [np.array([1, 2])], [np.array([0.5, 1.5, 2.9])])  # was [0, 1, 2]
    with pytest.raises(ValueError, match=r"labels\[0\] >= -1, got -5"):
        tree_batch([tree], [np.array([1, 2])], [np.array([-5, -5, 1])])  # was 'unlabelled'
    batch = tree_batch([tree], [np.array([1, 2])])
    with pytest.raises(ValueError, match=r"labels in \[0, 5\) \(or -1 for none\), got -5"):
        _tree_net().loss(batch._replace(labels=np.array([-5, -5, 1])))
    assert _tree_net().loss(tree_batch([tree], [np.array([1, 2])], [np.array([-1, -1, 1])]))[1] == 1


@pytest.mark.parametrize("bad", [0, None])
def test_tr3_treenet_rng_is_checked(bad):
    with pytest.raises(TypeError, match="rng to be a numpy.random.Generator"):
        TreeNet(TreeNetConfig(10, 5, embedding_dim=4, hidden_size=4), bad)


def test_tr4_treenet_config_takes_numpy_dtypes_and_keeps_the_name():
    cfg = TreeNetConfig(10, 5, dtype=np.float32)
    assert cfg.dtype == "float32" and cfg.to_dict()["dtype"] == "float32"
    assert TreeNetConfig(10, 5, dtype=np.dtype("float64")).dtype == "float64"
    with pytest.raises(ValueError, match="dtype 'float32' or 'float64', got 'int32'"):
        TreeNetConfig(10, 5, dtype="int32")


def test_tree_task_batch_size_and_seed():
    from rnnkit.treenet.task import TreeEncoder, TreeTask

    trees = [parse_tree(TREE)]
    enc = TreeEncoder.build(trees, 5)
    model = TreeNet(TreeNetConfig(len(enc.vocab), 5, embedding_dim=4, hidden_size=4), rng())
    with pytest.raises(ValueError, match="batch_size to be an integer >= 1, got -1"):
        TreeTask(model, enc, trees, batch_size=-1)  # an epoch of no steps
    with pytest.raises(ValueError, match="seed to be an integer >= 0, got -1"):
        TreeTask(model, enc, trees, seed=-1)


def test_tr5_words_and_trees_in_place_of_ids_and_batches_are_named():
    tree = parse_tree(TREE)
    with pytest.raises(TypeError, match=r"word_ids\[0\] to be integer ids, got str"):
        tree_batch([tree], [["The", "good"]])
    with pytest.raises(TypeError, match="batch to be a TreeBatch"):
        _tree_net().predict_proba([tree])


# ---------------------------------------------------------------------- tagging (TG)
def _tagging():
    data = TaggingData([["the", "cat", "sat"], ["a", "dog"], []], [["D", "N", "V"], ["D", "N"], []], None)
    enc = TaggerEncoder.build(data)
    encoded = enc.encode(data)
    model = Tagger(TaggerConfig(len(enc.words), len(enc.tags), embedding_dim=4, hidden_size=4, dropout=0.0), rng())
    return data, enc, encoded, model


@pytest.mark.parametrize("bad", [-1, 0, 2.5])
def test_tg1_predict_ids_batch_size(bad):
    _, _, encoded, model = _tagging()
    with pytest.raises(ValueError, match=f"batch_size to be an integer >= 1, got {bad}"):
        predict_ids(model, encoded, batch_size=bad)  # -1 gave every sentence no tags


@pytest.mark.parametrize("kwargs, said", [({"batch_size": -1}, "batch_size"), ({"batch_size": 0}, "batch_size"),
                                          ({"singleton_unk": 1.5}, "singleton_unk <= 1"),
                                          ({"singleton_unk": -0.5}, "singleton_unk >= 0")])
def test_tg2_tagger_task_batch_size_and_singleton_unk(kwargs, said):
    _, enc, encoded, model = _tagging()
    with pytest.raises(ValueError, match=said):
        TaggerTask(model, enc, encoded, **kwargs)


def test_tg3_span_f1_needs_a_span_scheme_and_metrics_are_known():
    data, enc, encoded, model = _tagging()
    with pytest.raises(ValueError, match="scheme one of .* for metric 'span_f1'.*got 'none'"):
        TaggerTask(model, enc, encoded, valid=encoded, valid_data=data, metric="span_f1")  # KeyError at evaluate
    with pytest.raises(ValueError, match="for metric 'span_f1'.*got 'bmes'"):
        score("span_f1", [["B-NP", "I-NP"]], [["B-NP", "I-NP"]], scheme="bmes")
    with pytest.raises(ValueError, match="metric one of .*got 'acc'"):
        score("acc", [["D"]], [["D"]])  # fell through to word F1


def test_tg4_word_f1_needs_words_for_every_sentence():
    with pytest.raises(ValueError, match="words, gold and pred for the same sentences, got 1, 2 and 2"):
        score("word_f1", [["B", "E"], ["S"]], [["B", "E"], ["B"]], words=[["a", "b"]])  # was 1.0
    assert score("word_f1", [["B", "E"]], [["B", "E"]], words=[["a", "b"]])["f1"] == 1.0


def test_tg5_tagger_encoder_arguments():
    vocab = Vocabulary(["<unk>"], eos_token=None)
    with pytest.raises(TypeError, match="tags to be a list of strings, got a str 'DNV'"):
        TaggerEncoder(vocab, "DNV")
    with pytest.raises(TypeError, match="lowercase to be a bool, got str 'no'"):
        TaggerEncoder.build(_tagging()[0], lowercase="no")
    with pytest.raises(ValueError, match="max_chars to be an integer >= 2, got 2.7"):
        TaggerEncoder(vocab, ["D"], max_chars=2.7)


def test_tg6_a_sentence_given_as_a_str_is_refused():
    _, enc, _, _ = _tagging()
    with pytest.raises(TypeError, match=r"sentence 0 of data.words as a list of tokens, got str"):
        enc.encode(TaggingData(["the cat"], None, None))
    with pytest.raises(ValueError, match=r"data.tags\[0\] to hold one entry per token \(2\), got 1"):
        enc.encode(TaggingData([["the", "cat"]], [["D"]], None))  # the second tag was padded with tag 0


@pytest.mark.parametrize("indices, said", [([-3], r"indices in \[0, 3\), got values in \[-3, -3\]"),
                                           (np.array([], dtype=int), "non-empty"),
                                           ([5], r"indices in \[0, 3\)"),
                                           ([2], "empty sentence 2"),
                                           ([0.0], "integer ids")])
def test_tg7_make_batch_indices(indices, said):
    _, _, encoded, _ = _tagging()
    with pytest.raises((ValueError, TypeError), match=said):
        make_batch(encoded, np.asarray(indices))  # -3 wrapped to sentence 0


@pytest.mark.parametrize("sizes, error, said", [((2.7,), TypeError, "float 2.7"), (("12",), TypeError, "str '12'"),
                                                (5, TypeError, "sequence of integers, got int 5"),
                                                ((0,), ValueError, "integers >= 1, got 0")])
def test_tg8_feature_vocab_sizes(sizes, error, said):
    with pytest.raises(error, match=f"feature_vocab_sizes .*{said}"):
        TaggerConfig(10, 3, feature_vocab_sizes=sizes)
    assert TaggerConfig(10, 3, feature_vocab_sizes=[np.int64(4)]).feature_vocab_sizes == (4,)


@pytest.mark.parametrize("kwargs, said", [({"char_vocab_size": 5, "char_hidden": 0}, "char_hidden"),
                                          ({"char_vocab_size": 5, "char_embedding_dim": 2.5}, "char_embedding_dim"),
                                          ({"bigram_vocab_size": 5, "bigram_embedding_dim": 0}, "bigram_embedding_dim"),
                                          ({"char_vocab_size": -3}, "char_vocab_size to be an integer >= 0"),
                                          ({"feature_vocab_sizes": (4,), "feature_embedding_dim": 0},
                                           "feature_embedding_dim")])
def test_tg9_input_part_sizes_are_named(kwargs, said):
    with pytest.raises(ValueError, match=said):
        Tagger(TaggerConfig(10, 3, embedding_dim=4, hidden_size=4, **kwargs), rng())


def test_tg10_tagger_batch_lengths_list_and_features_list():
    _, _, _, model = _tagging()
    words = np.array([[1, 2], [3, 4], [5, 0]])
    as_list = model.predict(TaggerBatch(words, [3, 2]))  # was a cryptic TypeError
    assert as_list == model.predict(TaggerBatch(words, np.array([3, 2])))
    with pytest.raises(TypeError, match="Expected integer lengths, got dtype bool"):
        model.predict(TaggerBatch(words, np.array([True, True])))
    featured = Tagger(TaggerConfig(10, 3, feature_vocab_sizes=(4,), embedding_dim=4, hidden_size=4), rng())
    with pytest.raises(TypeError, match="batch.features to be a numpy array, got list"):
        featured.predict(TaggerBatch(words, np.array([3, 2]), features=[[[1]] * 2] * 3))


def test_tg11_data_spec_columns():
    spec = DataSpec(format="columns", tag_column=np.int64(2))  # was refused
    assert spec.tag_column == 2 and type(spec.tag_column) is int
    with pytest.raises(TypeError, match="feature_columns to hold integers, got float 1.9"):
        DataSpec(format="columns", tag_column=3, feature_columns=(1.9,))  # was (1,)
    with pytest.raises(TypeError, match="feature_columns to be a sequence of integers, got int 1"):
        DataSpec(format="columns", tag_column=2, feature_columns=1)
    with pytest.raises(ValueError, match="integer tag_column for column files"):
        DataSpec(format="columns", tag_column=2.0)


def test_tg12_format_predictions_needs_every_tag():
    data = _tagging()[0]
    with pytest.raises(ValueError, match="predictions for each of the 3 sentences, got 1"):
        format_predictions(data, [["D", "N", "V"]], None)
    with pytest.raises(ValueError, match=r"one predicted tag per token of sentence 0 \(3\), got 1"):
        format_predictions(data, [["D"], ["D", "N"], []], None)  # 'cat sat' was dropped
    assert format_predictions(data, [["D", "N", "V"], ["D", "N"], []], None) == "the/D cat/N sat/V\na/D dog/N\n\n"


def test_tg13_read_tagged_labelled_is_a_bool(tmp_path):
    path = tmp_path / "cols.txt"
    path.write_text("He PRP B-NP\nran VBD B-VP\n\n", encoding="utf-8")
    with pytest.raises(TypeError, match="labelled to be a bool, got str 'no'"):
        read_tagged(path, DataSpec(format="columns", tag_column=2), labelled="no")
    assert read_tagged(path, DataSpec(format="columns", tag_column=2), labelled=False).tags is None


# ---------------------------------------------------------------------- CRF
def _crf():
    return init_crf_params(4, rng())


def test_crf1_non_finite_emissions_are_named_not_a_forbidden_path():
    E = np.zeros((3, 2, 4), np.float32)
    E[1, 1, 2] = np.nan
    with pytest.raises(ValueError, match="finite emissions, got nan at step 1 of sequence 1"):
        crf_nll(E, np.zeros((3, 2), int), None, _crf())
    with pytest.raises(ValueError, match="finite emissions"):
        viterbi_decode(np.full((3, 2, 4), np.inf, np.float32), None, _crf())
    # padding may hold anything: only real steps count
    loss, _ = crf_nll(E, np.zeros((3, 2), int), np.array([3, 1]), _crf())
    assert np.isfinite(loss)
    for value, said in ((np.inf, r"without \+inf \(-inf forbids a transition\), got \+inf"), (np.nan, "without NaN")):
        params = _crf()
        params["transitions"][1, 2] = value
        E = np.zeros((3, 2, 4), params["transitions"].dtype)
        for call in (lambda: crf_nll(E, np.zeros((3, 2), int), None, params), lambda: viterbi_decode(E, None, params)):
            with pytest.raises(ValueError, match=r"params\['transitions'\] " + said):
                call()


@pytest.mark.parametrize("args, kwargs, error, said", [
    ((3,), {"dtype": np.int32}, TypeError, "dtype to be a floating type"),
    ((-1,), {}, ValueError, "K to be an integer >= 1, got -1"),
    ((2.5,), {}, ValueError, "K to be an integer >= 1, got 2.5"),
    ((3,), {"scale": "0.1"}, TypeError, "scale to be a number"),
])
def test_crf2_init_crf_params_arguments(args, kwargs, error, said):
    with pytest.raises(error, match=said):
        init_crf_params(*args, rng(), **kwargs)


def test_crf3_params_as_lists_are_named():
    params = {k: v.tolist() for k, v in _crf().items()}
    with pytest.raises(TypeError, match=r"params\['transitions'\] to be a numpy array of shape \(4, 4\), got list"):
        crf_nll(np.zeros((3, 2, 4), np.float32), np.zeros((3, 2), int), None, params)


# ---------------------------------------------------------------------- classify (CL)
def _classifier():
    return Classifier(ClassifierConfig(10, 2, embedding_dim=4, hidden_size=4, dropout=0.0, pooling="mean"), rng())


IDS = np.array([[1, 2], [3, 4], [5, 0]])
SEQS = [np.array([1, 2]), np.array([3])]


@pytest.mark.parametrize("lengths, error", [(np.array([3, 1.9]), TypeError), (np.array([True, True]), TypeError),
                                            (["3", "2"], TypeError), (None, TypeError)])
def test_cl1_classifier_lengths(lengths, error):
    with pytest.raises(error, match="lengths"):
        _classifier().logits(IDS, lengths)  # 1.9 was read as 1, [True, True] as [1, 1]


@pytest.mark.parametrize("bad", [-1, 0, 1.5])
def test_cl2_predict_proba_batch_size(bad):
    with pytest.raises(ValueError, match=f"batch_size to be an integer >= 1, got {bad}"):
        predict_proba(_classifier(), SEQS, batch_size=bad)  # -1 gave all-zero probabilities


def test_cl3_float_ids_are_refused():
    with pytest.raises(TypeError, match=r"seqs\[0\] to be integer ids, got float64"):
        predict_proba(_classifier(), [np.array([1.7, 2.2])])


def test_cl4_cl5_classifier_encoder_arguments():
    vocab = Vocabulary(["<unk>", "good", "film"], eos_token=None)
    with pytest.raises(TypeError, match="labels to be a list of strings, got a str 'pos'"):
        ClassifierEncoder(vocab, "pos")
    enc = ClassifierEncoder(vocab, ["neg", "pos"])
    with pytest.raises(TypeError, match="texts to be a list of strings, got a str 'good film'"):
        enc.encode("good film")
    with pytest.raises(TypeError, match="texts to be a list of strings"):
        ClassifierEncoder.build("good film", ["pos"])
    with pytest.raises(TypeError, match="lowercase to be a bool"):
        ClassifierEncoder(vocab, ["a"], lowercase="no")
    with pytest.raises(ValueError, match="max_length to be an integer >= 0, got -1"):
        ClassifierEncoder(vocab, ["a"], max_length=-1)  # dropped the last token
    with pytest.raises(ValueError, match="max_length to be an integer >= 0, got 2.9"):
        ClassifierEncoder(vocab, ["a"], max_length=2.9)


def test_cl6_cl7_classifier_task_labels_and_batch_size():
    model = _classifier()
    with pytest.raises(TypeError, match="labels to be integer ids, got float64"):
        ClassifierTask(model, SEQS, np.array([0.7, 1.2]))  # was [0, 1]
    with pytest.raises(ValueError, match=r"labels in \[0, 2\), got values in \[0, 2\]"):
        ClassifierTask(model, SEQS, np.array([0, 2]))
    for bad in (-1, 0):
        with pytest.raises(ValueError, match="batch_size to be an integer >= 1"):
            ClassifierTask(model, SEQS, np.array([0, 1]), batch_size=bad)
    with pytest.raises(ValueError, match=r"valid_labels in \[0, 2\), got values in \[-1, 0\]"):
        ClassifierTask(model, SEQS, np.array([0, 1]), valid_seqs=SEQS, valid_labels=np.array([0, -1]))
    with pytest.raises(TypeError, match="valid_labels to be integer ids, got str"):
        ClassifierTask(model, SEQS, np.array([0, 1]), valid_seqs=SEQS, valid_labels=["neg", "pos"])


def test_cl8_crossval_arguments():
    for n in (10.0, "10"):
        with pytest.raises(ValueError, match="n to be an integer >= 1"):
            kfold_indices(n, 2)
    with pytest.raises(ValueError, match="seed to be an integer >= 0, got -1"):
        kfold_indices(10, 2, seed=-1)
    with pytest.raises(TypeError, match="fraction to be a number"):
        holdout_split(np.arange(10), "0.1")
    with pytest.raises(ValueError, match=r"indices as a 1-D array, got shape \(2, 3\)"):
        holdout_split(np.arange(6).reshape(2, 3), 0.5)
    with pytest.raises(TypeError, match="run_fold to return a dict of metrics, got NoneType for fold 0"):
        cross_validate(4, 2, lambda fold, tr, te: None)
    assert cross_validate(4, 2, lambda fold, tr, te: {"accuracy": np.float64(fold)}).mean == {"accuracy": 0.5}


# ---------------------------------------------------------------------- HMM (HM)
HS = [["the", "cat", "sat"], ["a", "dog", "ran"]]
HT = [["D", "N", "V"], ["D", "N", "V"]]


def test_hm1_a_generator_of_sentences_is_tagged():
    hmm = HMMTagger().fit(HS, HT)
    assert hmm.predict(iter([["the", "cat"]])) == hmm.predict([["the", "cat"]]) != []  # was []


def test_hm2_tag_with_score_refuses_a_str():
    with pytest.raises(TypeError, match="sentence as a list of words, got a str 'the cat'"):
        HMMTagger().fit(HS, HT).tag_with_score("the cat")  # tagged 7 characters


@pytest.mark.parametrize("start, trans, end, said", [
    ([5.0, 3.0], [[0.5, 0.5], [0.5, 0.5]], None, "start to sum to 1 .*got 8"),
    ([0.5, 0.5], [[9.0, 0.0], [0.0, 9.0]], None, "each row of transitions to sum to 1 .*got 9 for row 0"),
    ([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [0.5, 0.0], "row of transitions plus its end .*got 1.5 for row 0"),
])
def test_hm3_from_probabilities_needs_distributions(start, trans, end, said):
    with pytest.raises(ValueError, match=said):
        HMMTagger.from_probabilities(["A", "B"], start, trans, ["x", "y"], [[0.9, 0.1], [0.1, 0.9]], end=end)
    with pytest.raises(ValueError, match="each tag's emissions .* got 1.8 for column 0"):
        HMMTagger.from_probabilities(["A", "B"], [0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], ["x", "y"],
                                     [[0.9, 0.1], [0.9, 0.9]])


def test_hm4_hm5_hm6_hmm_config_and_corpus():
    with pytest.raises(ValueError, match="k to be finite, got inf"):
        HMMTagger(emission="add_k", k=float("inf")).fit(HS, HT)  # every emission was NaN
    with pytest.raises(TypeError, match="k to be a number, got str"):
        HMMTagger(emission="add_k", k="0.1").fit(HS, HT)
    with pytest.raises(ValueError, match="suffix_length to be an integer >= 0, got -1"):
        HMMTagger(suffix_length=-1).fit(HS, HT)  # named max_length
    with pytest.raises(TypeError, match="tags as a list of lists of strings, got NoneType"):
        HMMTagger().fit(HS, None)
    with pytest.raises(TypeError, match="words as strings, got int 1"):
        HMMTagger().fit(HS, HT).predict([[1, 2]])
    with pytest.raises(TypeError, match="words as strings, got int"):
        HMMTagger().fit([[1, 2]], [["A", "B"]])
    a = HMMTagger(suffix_length=np.int64(3), rare_threshold=np.int64(3)).fit(HS, HT)  # were refused
    assert a.suffix_length == 3 and type(a.suffix_length) is int and type(a.rare_threshold) is int
