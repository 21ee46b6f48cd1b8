"""The library's messages that put a number after an article say "an 8-gram", "an 11-word sentence", "an 8-fold
run", not "a 8-gram": :func:`rnnkit.english.a_or_an`, which the library can use (it lived in the CLI before)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("order, article", [(8, "an"), (11, "an"), (3, "a")])
def test_a_duplicate_ngram_is_named_with_its_article(order, article):
    from rnnkit.lm.backoff import DuplicateNGram

    assert str(DuplicateNGram(order, 2)).startswith(f"{article} {order}-gram is listed twice"), order


@pytest.mark.parametrize("words, article", [(8, "an"), (11, "an"), (5, "a")])
def test_hmm_nbest_names_an_8_word_sentence(monkeypatch, words, article):
    from rnnkit.hmm_nbest import hmm_nbest

    monkeypatch.setattr("rnnkit.crf_nbest.MAX_BACK_BYTES", 4)  # one back-pointer: any n > 1 is refused
    rng = np.random.default_rng(0)
    log_trans = np.log(rng.dirichlet(np.ones(3), size=3))  # (K + 1, K + 1): BOS/EOS and 2 tags
    log_emit = np.log(rng.uniform(0.1, 1.0, (words, 2)))  # (T, K)
    with pytest.raises(ValueError, match=f"the 4 best paths of {article} {words}-word sentence over 2 tags"):
        hmm_nbest(log_trans, log_emit, 4)


def test_a_folder_of_8_folds_is_an_8_fold_run(tmp_path):
    from rnnkit.checkpoint_files import folds_hint

    for k in range(1, 9):
        (tmp_path / f"fold{k}").mkdir()
        (tmp_path / f"fold{k}" / "best.safetensors").write_bytes(b"")
    assert folds_hint(tmp_path).startswith(f"{tmp_path} is an 8-fold cross-validation run"), folds_hint(tmp_path)


def test_an_exported_translator_of_8_layers_is_described_with_an():
    from rnnkit.export_onnx_seq2seq_code import _describe

    cfg = {"cell": "lstm", "bidirectional": True, "attention": "none", "tgt_vocab_size": 30, "encoder_layers": 8,
           "decoder_layers": 11}
    assert "an 8-layer bidirectional LSTM encoder and\nan 11-layer decoder" in _describe(cfg), _describe(cfg)


def test_a_bioes_tag_is_not_an_bioes_tag():
    from rnnkit.data.spans import split_tag

    with pytest.raises(ValueError) as refused:
        split_tag("X-PER", "bioes")
    assert "Expected a BIOES tag (O, B-TYPE" in str(refused.value), refused.value
    with pytest.raises(ValueError, match=r"^Expected an IOB2 tag \(O, B-TYPE, I-TYPE\)"):
        split_tag("X-PER", "iob2")


def test_names_spelled_out_take_the_article_of_their_first_letter():
    """'is not a IOB1 tag' and 'expected a XPOS': a scheme's or a column's name is read letter by letter."""
    from rnnkit.data.conll import parse_conllu
    from rnnkit.english import a_or_an_letters
    from rnnkit.errors import DataError
    from rnnkit.tagging.checks import scheme_violation

    assert [a_or_an_letters(n) for n in ("IOB1", "XPOS", "BIO", "UPOS", "BMES")] == ["an", "an", "a", "a", "a"]
    assert "is not an IOB1 tag" in scheme_violation([["B-NP", "X"]], "iob1")[2]
    assert "is not a BIO tag" in scheme_violation([["B-NP", "X"]], "bio")[2]
    with pytest.raises(DataError, match="expected an XPOS in column 5"):
        parse_conllu("1\tcat\tcat\tNOUN\t\t_\t0\troot\t_\t_\n\n", column="xpos")


def test_an_array_given_as_a_shape_is_named_with_its_dtypes_article():
    from rnnkit.init import uniform_

    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="got an int64 array of shape"):
        uniform_(np.zeros(3, np.int64), 0.1, rng)
    with pytest.raises(TypeError, match="got a float32 array of shape"):
        uniform_(np.zeros(3, np.float32), 0.1, rng)
    with pytest.raises(TypeError, match="got a uint8 array of shape"):  # a "u" read "you": not "an uint8"
        uniform_(np.zeros(3, np.uint8), 0.1, rng)


def test_a_type_or_dtype_name_takes_the_article_of_its_sound():
    from rnnkit.english import a_or_an_name

    names = ("int", "int64", "object", "ndarray", "float32", "uint8", "str", "list", "NoneType", "bool")
    assert [a_or_an_name(n) for n in names] == ["an"] * 4 + ["a"] * 6


def test_a_checkpoints_task_of_another_type_is_named_with_its_article(tmp_path):
    from rnnkit import checkpoint as ckpt
    from rnnkit.checkpoint_task import load_task_checkpoint
    from rnnkit.errors import CheckpointError

    path = tmp_path / "m.safetensors"
    ckpt.save_checkpoint(path, {"model/w": np.zeros(2, np.float32)}, {"task": 7})
    with pytest.raises(CheckpointError, match="its task is an int, not an object"):
        load_task_checkpoint(path, "lm", "language-model", "rnnkit train lm")
