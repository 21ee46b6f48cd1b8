"""Validation in parts, one per process of a data-parallel run: for every task, the metrics joined from
``evaluate_share(r, P)`` for r < P are ``evaluate()``'s, for P = 1, 2, 3 and for more parts than there
are sentences, streams or trees (parts with nothing to do).  No MPI here: the parts are computed one
after another in this process, as P processes would compute them side by side."""
from __future__ import annotations

import math

import numpy as np
import pytest
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)

PARTS = [1, 2, 3, 40]


def _assert_parts_join_to_whole(task, work=None) -> dict:
    """``work(part)``: how much of the validation data a part covers; the parts of 3 share it out."""
    whole = task.evaluate()
    assert whole and not all(isinstance(v, float) and math.isnan(v) for v in whole.values()), whole
    if work is not None:
        done = [work(task.evaluate_share(rank, 3)) for rank in range(3)]
        assert all(0 < d < sum(done) for d in done) and sum(done) == work(task.evaluate_share(0, 1)), done
    for size in PARTS:
        joined = task.evaluate_joined([task.evaluate_share(rank, size) for rank in range(size)])
        assert joined.keys() == whole.keys(), size
        for k in whole:
            assert joined[k] == pytest.approx(whole[k], rel=1e-9, abs=1e-12), (size, k)
    return whole


def _lm_task():
    from rnnkit.lm.model import LanguageModel, LMConfig
    from rnnkit.lm.task import LMTask

    rng = np.random.default_rng(0)
    model = LanguageModel(LMConfig(vocab_size=11, embedding_dim=6, hidden_size=7, num_layers=2, dtype="float64"), rng)
    return LMTask(model, rng.integers(0, 11, 400), rng.integers(0, 11, 157), batch_size=4, bptt=6,
                  eval_batch_size=7, start_id=0)


def _tagger_task(crf: bool):
    from rnnkit.tagging.io import TaggingData
    from rnnkit.tagging.model import Tagger, TaggerConfig
    from rnnkit.tagging.task import TaggerEncoder, TaggerTask

    rng = np.random.default_rng(1)
    lexicon = {"B-NP": ["the", "a"], "I-NP": ["cat", "dog", "red"], "B-VP": ["sees", "has"], "O": [".", ","]}

    def corpus(n):
        tags = [[str(t) for t in rng.choice(list(lexicon), int(rng.integers(0, 7)))] for _ in range(n)]
        return TaggingData([[str(rng.choice(lexicon[t])) for t in s] for s in tags], tags, None)

    train, valid = corpus(30), corpus(23)  # empty sentences among them
    enc = TaggerEncoder.build(train, char_features=True)
    cfg = TaggerConfig(len(enc.words), len(enc.tags), embedding_dim=5, char_vocab_size=len(enc.chars),
                       char_embedding_dim=3, char_hidden=3, hidden_size=4, output="crf" if crf else "softmax")
    task = TaggerTask(Tagger(cfg, rng), enc, enc.encode(train), enc.encode(valid), valid, "span_f1", "bio")
    return task


def test_a_language_model_validated_in_parts_of_its_streams():
    whole = _assert_parts_join_to_whole(_lm_task(), work=lambda part: part[1])  # tokens
    assert set(whole) == {"loss", "ppl", "bits"}


@pytest.mark.parametrize("crf", [True, False], ids=["crf", "softmax"])
def test_a_tagger_validated_in_parts_of_its_sentences(crf):
    whole = _assert_parts_join_to_whole(_tagger_task(crf), work=lambda part: sum(map(bool, part)))  # sentences
    assert "f1" in whole and "accuracy" in whole


def test_a_classifier_validated_in_parts_of_its_sentences():
    from rnnkit.classify.model import Classifier, ClassifierConfig
    from rnnkit.classify.task import ClassifierTask

    rng = np.random.default_rng(2)
    seqs = [rng.integers(0, 12, int(rng.integers(1, 9))) for _ in range(29)]
    model = Classifier(ClassifierConfig(12, 3, embedding_dim=4, hidden_size=5, dropout=0.0, dtype="float64"), rng)
    task = ClassifierTask(model, seqs[:10], rng.integers(0, 3, 10), seqs, rng.integers(0, 3, 29))
    whole = _assert_parts_join_to_whole(task, work=lambda part: int(part.any(axis=1).sum()))  # sentences
    assert set(whole) == {"loss", "accuracy", "macro_f1"}


def test_a_tree_model_validated_in_parts_of_its_trees():
    from rnnkit.data.trees import parse_tree
    from rnnkit.treenet.model import TreeNet, TreeNetConfig
    from rnnkit.treenet.task import TreeEncoder, TreeTask

    rng = np.random.default_rng(3)
    words = ["good", "bad", "film", "the", "plot"]
    lines = []
    for _ in range(19):
        a, b, c = (f"({int(rng.integers(0, 5))} {w})" for w in rng.choice(words, 3))
        lines.append(f"({int(rng.integers(0, 5))} {a} ({int(rng.integers(0, 5))} {b} {c}))")
    trees = [parse_tree(line) for line in lines]
    enc = TreeEncoder.build(trees[:5], 5)
    model = TreeNet(TreeNetConfig(len(enc.vocab), 5, "lstm", 4, 3, 0.0, dtype="float64"), rng)
    whole = _assert_parts_join_to_whole(TreeTask(model, enc, trees[:5], trees), work=lambda part: part["trees"])
    assert set(whole) == {"loss", "root_accuracy", "root_macro_f1", "node_accuracy", "node_macro_f1"}


def test_a_translator_validated_in_parts_of_its_batches_and_greedy_outputs(monkeypatch):
    from rnnkit.data.parallel import SentencePair, build_vocab, decode_ids, encode_pairs
    from rnnkit.data.tokenizer import Tokenizer
    from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig, toy
    from rnnkit.seq2seq.task import Seq2SeqTask

    pairs = toy.reverse_pairs(37, np.random.default_rng(4), 2, 6, 5)
    pairs = [SentencePair(s, t, "".join(s), "".join(t), i + 1) for i, (s, t) in enumerate(pairs)]
    vocab = build_vocab(p.source for p in pairs)
    model = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), cell="gru", src_embedding_dim=6, tgt_embedding_dim=6,
                                  encoder_hidden_size=4, decoder_hidden_size=8, attention="general",
                                  dtype="float64"), np.random.default_rng(5))
    task = Seq2SeqTask(model, encode_pairs(pairs[:8], vocab, vocab), encode_pairs(pairs, vocab, vocab),
                       batch_size=4, eval_batch_size=5, bleu_sentences=31,
                       valid_references=[p.target_text for p in pairs],
                       detokenize=lambda ids: decode_ids(ids, vocab, Tokenizer("char")))
    import rnnkit.seq2seq.task as seq2seq_task

    scored = []  # the hypotheses BLEU is given, in order: the whole's, then each joining's
    monkeypatch.setattr(seq2seq_task, "_bleu", lambda hyps, refs, tokenize: scored.append(hyps) or 10.0)
    whole = _assert_parts_join_to_whole(task, work=lambda part: part["tokens"] + len(part["hyps"]))
    assert {"loss", "ppl", "exact", "bleu"} <= set(whole)
    assert len(scored[0]) == 31 and len(set(scored[0])) > 3 and all(s == scored[0] for s in scored), scored


def test_without_validation_data_the_parts_say_so():
    """No validation data: every part is None and the joined metrics are evaluate()'s (no loss to select by)."""
    from rnnkit.lm.task import LMTask

    task = _lm_task()
    bare = LMTask(task.model, np.arange(400) % 11, None, batch_size=4, bptt=6)
    assert bare.evaluate_share(1, 2) is None
    assert math.isnan(bare.evaluate_joined([None, None])["loss"]) and math.isnan(bare.evaluate()["loss"])
