"""Messages from the library API review (s30): the argument that was wrong is blamed, a dict for a config
and a tuple for a batch are named with the fix, and library errors name the Python argument (batch_size,
run_dir) with the option where the command line shows the same message."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.classify import Classifier, ClassifierConfig
from rnnkit.data.text import require_tokens
from rnnkit.errors import DataError
from rnnkit.lm import LanguageModel, LMConfig, LMTask, batchify
from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig, VectorDecoder
from rnnkit.tagging import Tagger, TaggerBatch, TaggerConfig
from rnnkit.train import Trainer, TrainConfig
from rnnkit.treenet import TreeNet


def rng():
    return np.random.default_rng(0)


def _seq2seq():
    cfg = Seq2SeqConfig(9, 9, src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=3, decoder_hidden_size=6)
    src = np.array([[4, 5, 6], [6, 7, 8], [8, 4, 0]])  # (S=3, B=3)
    lengths = np.array([3, 3, 2])
    tgt_in = np.array([[1, 1, 1], [4, 5, 6], [6, 0, 7], [5, 0, 0], [4, 0, 0]])  # (T=5, B=3)
    tgt_out = np.array([[4, 5, 6], [6, 2, 7], [5, 0, 2], [4, 0, 0], [2, 0, 0]])
    return Seq2Seq(cfg, rng()), src, lengths, tgt_in, tgt_out, tgt_out != 0


# B. messages that named the wrong thing


def test_seq2seq_tgt_mask_as_a_list_is_named_as_a_list():
    model, src, lengths, tgt_in, tgt_out, mask = _seq2seq()
    with pytest.raises(TypeError, match=r"^Expected tgt_mask to be a numpy array, got list$"):  # was "got None"
        model.forward(src, lengths, tgt_in, tgt_out, mask.tolist())
    with pytest.raises(ValueError, match=r"^Expected tgt_mask of shape \(T, B\) = \(5, 3\), got \(3, 5\)$"):
        model.forward(src, lengths, tgt_in, tgt_out, mask.T)
    assert np.isfinite(model.forward(src, lengths, tgt_in, tgt_out, mask)[0])


def test_seq2seq_blames_a_batch_first_src_not_the_targets():
    model, src, lengths, tgt_in, tgt_out, mask = _seq2seq()
    long = np.concatenate([src, src[:1]], axis=0)  # (S=4, B=3)
    with pytest.raises(ValueError, match=r"^Expected src of shape \(S, B=3\), the batch size of tgt_in and "
                                         r"src_lengths, got \(3, 4\): src\.T fits"):  # blamed tgt_in and tgt_out
        model.forward(long.T.copy(), lengths, tgt_in, tgt_out, mask)
    with pytest.raises(ValueError, match=r"Expected src of shape \(S, B=3\), the batch size of tgt_in and "
                                         r"src_lengths, got \(4, 2\)$"):  # no batch of 3 either way: no hint
        model.forward(long[:, :2].copy(), lengths, tgt_in, tgt_out, mask)
    assert np.isfinite(model.forward(long, lengths, tgt_in, tgt_out, mask)[0])
    # the targets wrong, src and src_lengths agreeing: the targets are named, as before
    with pytest.raises(ValueError, match=r"Expected tgt_in and tgt_out of shape \(T, B=3\), got \(3, 5\)"):
        model.forward(src, lengths, tgt_in.T.copy(), tgt_out.T.copy(), mask.T)


@pytest.mark.parametrize("make, cls", [
    (lambda d: LanguageModel(d, rng()), "an LMConfig"),
    (lambda d: Tagger(d, rng()), "a TaggerConfig"),
    (lambda d: Classifier(d, rng()), "a ClassifierConfig"),
    (lambda d: TreeNet(d, rng()), "a TreeNetConfig"),
    (lambda d: Seq2Seq(d, rng()), "a Seq2SeqConfig"),
    (lambda d: VectorDecoder(d, rng()), "a VectorDecoderConfig"),
    (lambda d: Trainer(None, d, "run"), "a TrainConfig"),
])
def test_a_dict_for_a_config_says_how_to_make_the_config(make, cls):
    name = cls.split()[1]
    with pytest.raises(TypeError, match=rf"^Expected config to be {cls} \(for a dict d, pass {name}\(\*\*d\)\), "
                                        r"got dict$"):
        make({"vocab_size": 5, "num_tags": 3})
    with pytest.raises(TypeError, match=rf"^Expected config to be {cls}, got str$"):
        make("lstm")


def test_the_models_refuse_a_seed_for_the_generator():
    for make in (lambda: Tagger(TaggerConfig(5, 3), 0), lambda: Classifier(ClassifierConfig(5, 2), 0)):
        with pytest.raises(TypeError, match=r"numpy.random.Generator, got int \(for a seed s"):
            make()


def test_tagger_loss_names_a_tuple_batch_before_reading_its_tags():
    tagger = Tagger(TaggerConfig(vocab_size=5, num_tags=3, embedding_dim=4, hidden_size=4), rng())
    words, lengths = np.zeros((2, 1), np.int64), np.array([2])
    with pytest.raises(TypeError, match=r"^Expected batch to be a TaggerBatch \(for a tuple, pass "
                                        r"TaggerBatch\(words, lengths, tags=tags\)\), got tuple$"):
        tagger.loss((words, lengths))
    with pytest.raises(TypeError, match=r"^Expected batch to be a TaggerBatch, got dict$"):
        tagger.scores({"words": words})
    with pytest.raises(ValueError, match=r"Expected batch.tags \(T, B\) to compute a loss, got None"):
        tagger.loss(TaggerBatch(words, lengths))
    assert np.isfinite(tagger.loss(TaggerBatch(words, lengths, tags=np.zeros((2, 1), np.int64)))[0])


# C. library messages name the Python argument, and the option where the CLI shows the same message


def _lm():
    return LanguageModel(LMConfig(vocab_size=5, embedding_dim=4, hidden_size=4, num_layers=1), rng())


def test_too_short_data_names_batch_size_and_its_option():
    msg = r"corpus has 10 tokens; 20 streams need at least 40: use a smaller batch_size \(--batch-size\) or a longer"
    with pytest.raises(DataError, match=msg):
        batchify(np.arange(10), 20)
    with pytest.raises(DataError, match=r"training data has 10 tokens.*use a smaller batch_size \(--batch-size\)"):
        LMTask(_lm(), np.arange(10) % 5, None, batch_size=20, bptt=3)
    with pytest.raises(DataError, match=r"evaluation data has 3 tokens.*a smaller batch_size \(--batch-size\)"):
        evaluate_stream(_lm(), np.arange(3), batch_size=10)
    with pytest.raises(DataError, match=r"use a smaller batch_size/bptt \(--batch-size/--bptt\)"):
        require_tokens(10, 100, "small.txt", batch_size=20, bptt=4)


def test_lm_task_shard_names_batch_size():
    with pytest.raises(ValueError, match=r"^batch_size 6 \(--batch-size\) does not split into 4 equal shares"):
        LMTask(_lm(), np.arange(200) % 5, None, batch_size=6, bptt=5).shard(0, 4)


def test_trainer_into_a_file_names_run_dir_and_its_option(tmp_path):
    file = tmp_path / "file"
    file.write_text("x", encoding="utf-8")
    task = LMTask(_lm(), np.arange(200) % 5, None, batch_size=2, bptt=4)
    cfg = TrainConfig(epochs=1, progress="none")
    with pytest.raises(ValueError, match=r"file is a file, not a run folder; give run_dir \(--run-dir\) a folder"):
        Trainer(task, cfg, file).fit()
    with pytest.raises(ValueError, match=r"file is a file, not a folder; give run_dir \(--run-dir\) a folder$"):
        Trainer(task, cfg, file / "run").fit()
