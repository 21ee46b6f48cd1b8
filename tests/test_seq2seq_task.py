"""The translation task for the Trainer, saving / loading translators, and translating sentences."""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)
from threadpoolctl import threadpool_limits

from rnnkit import checkpoint as ckpt
from rnnkit.data.parallel import BOS_ID, EOS_ID, SentencePair, build_vocab, decode_ids, encode_pairs
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.errors import CheckpointError
from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig, greedy_decode, toy
from rnnkit.seq2seq.io import Translator, load_translator, save_translator, seq2seq_meta
from rnnkit.seq2seq.task import Seq2SeqTask
from rnnkit.seq2seq.translate import EMPTY, attention_matrix, replace_unknowns, translate
from rnnkit.train import TrainConfig, Trainer
from rnnkit.train.loop import BEST, LAST

CHAR = Tokenizer("char")


def reverse_data(n: int, seed: int, max_len: int = 6, symbols: int = 6) -> list[SentencePair]:
    pairs = toy.reverse_pairs(n, np.random.default_rng(seed), 2, max_len, symbols)
    return [SentencePair(s, t, "".join(s), "".join(t), i + 1) for i, (s, t) in enumerate(pairs)]


def small_model(vocab_size: int, seed: int = 0, dtype: str = "float32", dropout: float = 0.0,
                hidden: int = 32) -> Seq2Seq:
    cfg = Seq2SeqConfig(vocab_size, vocab_size, cell="gru", src_embedding_dim=16, tgt_embedding_dim=16,
                        encoder_hidden_size=hidden // 2, decoder_hidden_size=hidden, attention="general",
                        dropout=dropout, dtype=dtype)
    return Seq2Seq(cfg, np.random.default_rng(seed))


def make_task(model, train, valid=None, vocab=None, **kw) -> Seq2SeqTask:
    extra = {}
    if valid is not None and vocab is not None:
        extra = {"valid_references": [p.target_text for p in valid],
                 "detokenize": lambda ids: decode_ids(ids, vocab, CHAR)}
    return Seq2SeqTask(model, encode_pairs(train, vocab, vocab),
                       None if valid is None else encode_pairs(valid, vocab, vocab), **extra, **kw)


@pytest.fixture(scope="module")
def data():
    train = reverse_data(2000, 0)
    held = {p.source_text for p in train}
    valid = [p for p in reverse_data(300, 1) if p.source_text not in held][:150]
    vocab = build_vocab(p.source for p in train)
    return train, valid, vocab


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """Task + Trainer on the reverse toy: (run dir, state, vocab, valid)."""
    train, valid, vocab = data
    run = tmp_path_factory.mktemp("reverse")
    model = small_model(len(vocab), hidden=48)
    task = make_task(model, train, valid, vocab, batch_size=32, bleu_sentences=len(valid),
                     meta=seq2seq_meta(model, vocab, vocab, CHAR, CHAR))
    cfg = TrainConfig(epochs=10, optimizer="adam", lr=1e-2, schedule="exp", lr_decay=0.7, clip=5.0,
                      progress="none", checkpoint_minutes=None)
    with threadpool_limits(limits=1, user_api="blas"):
        state = Trainer(task, cfg, run).fit()
    return run, state, vocab, valid


def test_task_and_trainer_learn_to_reverse(trained):
    run, state, vocab, valid = trained
    history = state.history
    assert history[-1]["valid_loss"] < history[0]["valid_loss"], f"validation NLL did not fall: {history}"
    translator = load_translator(run / BEST)
    hyps = [t[0].text for t in translate(translator, [p.source_text for p in valid])]
    exact = np.mean([h == p.target_text for h, p in zip(hyps, valid)])
    assert exact >= 0.95, f"held-out exact match {exact:.3f}; epochs: {history}"
    # the task's own greedy exact match agrees with translate() on the same checkpoint
    best = min(history, key=lambda r: r["valid_loss"])
    assert best["valid_exact"] >= 0.95, f"best epoch {best}"
    # one "word" per sentence: BLEU has no 2- to 4-grams to match, but it is computed every epoch
    assert all("valid_bleu" in r for r in history), f"no BLEU in {history}"


def test_batches_are_bucketed_deterministic_and_cover_the_epoch(data):
    train, _, vocab = data
    task = make_task(small_model(len(vocab)), train, vocab=vocab, batch_size=32, seed=3)
    first = task.epoch_batches(0)
    again = task.epoch_batches(0)
    other = task.epoch_batches(1)
    assert all(np.array_equal(a.index, b.index) for a, b in zip(first, again)), "same epoch, different batches"
    assert not all(np.array_equal(a.index, b.index) for a, b in zip(first, other)), "epochs 0 and 1 identical"
    seen = np.sort(np.concatenate([b.index for b in first]))
    assert np.array_equal(seen, np.arange(len(train))), "an epoch must use every pair exactly once"
    # sorted inside pools: the source lengths of a batch span far less than the data's range
    spans = [int(b.src_lengths.max() - b.src_lengths.min()) for b in first]
    assert max(spans) <= 1, f"batches are not bucketed by length: spans {spans}"
    units = sum(int(b.tgt_mask.sum()) for b in first)
    assert units == task.epoch_units(), f"epoch_units {task.epoch_units()} but batches hold {units} tokens"
    resumed = [b for _, b in task.train_batches(0, 5, np.random.default_rng(99))]
    assert all(np.array_equal(a.index, b.index) for a, b in zip(first[5:], resumed)), "resume at cursor 5 differs"


def test_step_loss_is_mean_nll_per_target_token(data):
    train, _, vocab = data
    model = small_model(len(vocab), seed=5, dtype="float64")
    rng = np.random.default_rng(0)
    for v in model.params.values():  # random non-zero parameters, biases included
        v[...] = rng.normal(0.0, 0.3, v.shape)
    task = make_task(model, train[:40], vocab=vocab, batch_size=40)
    batch = task.epoch_batches(0)[0]
    res = task.train_step(batch, None, np.random.default_rng(1))
    n = int(batch.tgt_mask.sum())
    summed, _ = model.forward(batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out, batch.tgt_mask)
    assert res.units == n
    assert abs(res.loss - summed / n) < 1e-12, f"loss {res.loss} vs summed NLL / tokens {summed / n}"
    # the gradients are those of the mean: central differences on a few entries of every array
    eps = 1e-6
    for name, w in model.params.items():
        for idx in list(np.ndindex(w.shape))[:: max(1, w.size // 3)][:3]:
            old = w[idx]
            w[idx] = old + eps
            up, _ = model.forward(batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out, batch.tgt_mask)
            w[idx] = old - eps
            down, _ = model.forward(batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out, batch.tgt_mask)
            w[idx] = old
            numeric = (up - down) / (2 * eps) / n
            diff = abs(numeric - res.grads[name][idx])
            assert diff < 1e-6, f"{name}{idx}: max difference {diff:.3g} (numeric {numeric:.6g})"


def test_evaluate_reports_nll_exact_and_bleu(data):
    train, valid, vocab = data
    model = small_model(len(vocab), seed=2)
    task = make_task(model, train[:50], valid[:30], vocab, bleu_sentences=20, eval_batch_size=7)
    m = task.evaluate()
    total = 0.0
    count = 0
    for s, t in encode_pairs(valid[:30], vocab, vocab):  # one sentence at a time: batching must not matter
        src = np.asarray(s)[:, None]
        tgt_in = np.array([BOS_ID, *t])[:, None]
        tgt_out = np.array([*t, EOS_ID])[:, None]
        loss, _ = model.forward(src, np.array([len(s)]), tgt_in, tgt_out, np.ones_like(tgt_in, dtype=bool))
        total += loss
        count += len(t) + 1
    assert abs(m["loss"] - total / count) < 1e-4, f"valid loss {m['loss']} vs per-sentence NLL {total / count}"
    assert set(m) >= {"loss", "ppl", "exact", "bleu"}, f"metrics {sorted(m)}"
    hyps = task.greedy_ids(encode_pairs(valid[:20], vocab, vocab))
    refs = [list(t) for _, t in encode_pairs(valid[:20], vocab, vocab)]
    assert m["exact"] == np.mean([h == r for h, r in zip(hyps, refs)])
    bleu_task = make_task(model, train[:50], valid[:30], vocab, bleu_sentences=20, select_by="bleu")
    by_bleu = bleu_task.evaluate()  # the loss stays the validation NLL; the selection criterion is 100 - BLEU
    assert abs(by_bleu["loss"] - m["loss"]) < 1e-6 and bleu_task.criterion(by_bleu) == 100.0 - by_bleu["bleu"]
    assert task.criterion(m) == m["loss"]
    assert np.isnan(make_task(model, train[:50], vocab=vocab).evaluate()["loss"]), "no validation data: NaN"


def test_trainer_resume_mid_epoch_is_exact(data, tmp_path):
    train, valid, vocab = data

    def run(path, max_steps=None, resume=False):
        model = small_model(len(vocab), seed=4, dropout=0.2)
        task = make_task(model, train[:300], valid[:20], vocab, batch_size=32, bleu_sentences=0,
                         sampling_rate=0.3, seed=7)
        cfg = TrainConfig(epochs=2, optimizer="adam", lr=5e-3, progress="none", max_steps=max_steps,
                          checkpoint_minutes=None, seed=7)
        Trainer(task, cfg, path).fit(resume=resume)
        return model.params

    whole = run(tmp_path / "whole")
    run(tmp_path / "cut", max_steps=13)  # 10 batches per epoch: stops inside epoch 2
    resumed = run(tmp_path / "cut", resume=True)
    for k in whole:
        diff = float(np.max(np.abs(whole[k] - resumed[k])))
        assert diff == 0.0, f"{k}: max difference {diff:.3g} after resuming"


def test_save_load_round_trip_translates_identically(trained, tmp_path):
    run, _, vocab, valid = trained
    original = load_translator(run / LAST)
    path = save_translator(tmp_path / "model.safetensors", original)
    copy = load_translator(path)
    for k, v in original.model.params.items():
        assert np.array_equal(v, copy.model.params[k]), f"{k} changed in the round trip"
    assert copy.source_vocab == vocab and copy.target_tokenizer == CHAR
    sentences = [p.source_text for p in valid[:25]]
    for beam, nbest in ((1, 1), (4, 3)):
        a = translate(original, sentences, beam, nbest, length_norm=0.6)
        b = translate(copy, sentences, beam, nbest, length_norm=0.6)
        got = [[(t.text, t.score) for t in ts] for ts in b]
        assert [[(t.text, t.score) for t in ts] for ts in a] == got, f"beam {beam}: translations differ"
        assert all(len(ts) == nbest for ts in b)
        assert all(ts[i].norm_score >= ts[i + 1].norm_score for ts in b for i in range(nbest - 1) if ts[i + 1].finished)


def test_translate_matches_greedy_decode_and_keeps_order(trained):
    run, _, vocab, valid = trained
    tr = load_translator(run / BEST)
    sentences = [p.source_text for p in valid[:30]]
    out = translate(tr, sentences, batch_size=4)  # length-sorted batches of 4, returned in input order
    for s, ts in zip(sentences, out):
        src = vocab.encode(list(s))[:, None]
        h = greedy_decode(tr.model, src, np.array([len(s)]), tr.length_rule.limits(np.array([len(s)])), BOS_ID, EOS_ID)[0]
        assert ts[0].ids == h.tokens and ts[0].text == "".join(vocab.decode(h.tokens)), f"sentence {s!r}"
        assert abs(ts[0].score - h.score) < 1e-4


def test_an_empty_sentence_gets_the_empty_translation_in_place(trained):
    run, _, _, valid = trained
    tr = load_translator(run / BEST)
    sentences = [valid[0].source_text, "", valid[1].source_text, "   "]
    def fields(ts):
        return [(t.text, t.tokens, t.ids, t.score, t.norm_score, t.finished) for t in ts]

    for beam, nbest in ((1, 1), (3, 2)):
        out = translate(tr, sentences, beam_size=beam, nbest=nbest, replace_unk=True)
        alone = translate(tr, [sentences[0], sentences[2]], beam_size=beam, nbest=nbest, replace_unk=True)
        assert len(out) == 4 and len(out[0]) == nbest
        assert fields(out[0]) == fields(alone[0]) and fields(out[2]) == fields(alone[1])  # as if alone
        for empty in (out[1], out[3]):  # one translation: nothing, with log-probability 0
            assert fields(empty) == [("", (), (), 0.0, 0.0, True)]
    assert translate(tr, [""]) == [[EMPTY]] and translate(tr, []) == []
    assert replace_unknowns(tr, "", EMPTY) is EMPTY


def test_attention_matrix_rows_are_distributions(trained):
    run, _, _, valid = trained
    tr = load_translator(run / BEST)
    sentence = valid[0].source_text
    t = translate(tr, [sentence])[0][0]
    w, src, tgt = attention_matrix(tr, sentence, t)
    assert w.shape == (len(tgt), len(src)) == (len(t.tokens) + int(t.finished), len(sentence))
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-5), f"row sums {w.sum(axis=1)}"
    # reversal: the first output letter looks mostly at the last source letter
    assert int(np.argmax(w[0])) == len(src) - 1, f"attention of the first output {np.round(w[0], 2)}"


def test_unknown_target_tokens_are_copied_from_the_attended_source(data, tmp_path):
    train, valid, src_vocab = data
    # the target vocabulary lacks the rarest letter: the model can only say <unk> for it
    tgt_vocab = build_vocab((p.target for p in train), max_size=len(src_vocab) - 1)
    lost = next(tok for tok in src_vocab.tokens if tok not in tgt_vocab)
    model = small_model(len(src_vocab), hidden=48)
    model = Seq2Seq(Seq2SeqConfig(**{**model.config.to_dict(), "tgt_vocab_size": len(tgt_vocab)}),
                    np.random.default_rng(0))
    task = Seq2SeqTask(model, encode_pairs(train, src_vocab, tgt_vocab), batch_size=32)
    cfg = TrainConfig(epochs=8, optimizer="adam", lr=1e-2, schedule="exp", lr_decay=0.7, progress="none",
                      checkpoint_minutes=None)
    Trainer(task, cfg, tmp_path).fit()
    tr = Translator(model, src_vocab, tgt_vocab, CHAR, CHAR)
    with_lost = [p for p in valid if lost in p.source_text]
    assert len(with_lost) >= 20, f"only {len(with_lost)} held-out strings hold {lost!r}"
    sentences = [p.source_text for p in with_lost]
    plain = [t[0] for t in translate(tr, sentences)]
    copied = [t[0] for t in translate(tr, sentences, replace_unk=True)]
    assert all("<unk>" in t.tokens for t in plain), f"expected <unk> for {lost!r}: {[t.text for t in plain[:5]]}"
    exact = np.mean([t.text == p.target_text for t, p in zip(copied, with_lost)])
    assert exact >= 0.9, f"exact match with <unk> replaced {exact:.3f}: {[t.text for t in copied[:5]]}"
    for a, b in zip(plain, copied):  # only the <unk> tokens change; ids and scores stay
        assert a.ids == b.ids and a.score == b.score and "<unk>" not in b.tokens
        assert all(x == y for x, y in zip(a.tokens, b.tokens) if x != "<unk>"), (a.tokens, b.tokens)
    # the attention passes run in padded batches; one sentence at a time gives the same copies
    one_by_one = [replace_unknowns(tr, s, t) for s, t in zip(sentences, plain)]
    assert [t.tokens for t in one_by_one] == [t.tokens for t in copied]
    small_batches = [t[0] for t in translate(tr, sentences, batch_size=3, replace_unk=True)]
    assert [t.tokens for t in small_batches] == [t.tokens for t in copied]


def test_errors_name_the_argument(data, tmp_path):
    train, valid, vocab = data
    model = small_model(len(vocab))
    with pytest.raises(ValueError, match="batch_size"):
        make_task(model, train, vocab=vocab, batch_size=0)
    with pytest.raises(ValueError, match="select_by"):
        make_task(model, train, vocab=vocab, select_by="bleu")
    with pytest.raises(ValueError, match="train"):
        Seq2SeqTask(model, [])
    tr = Translator(model, vocab, vocab, CHAR, CHAR)
    with pytest.raises(ValueError, match="empty sentence at position 0"):
        attention_matrix(tr, " ", translate(tr, ["abc"])[0][0])  # no source token, no attention to show
    with pytest.raises(ValueError, match="nbest"):
        translate(tr, ["abc"], beam_size=2, nbest=3)
    with pytest.raises(TypeError, match="list of str"):
        translate(tr, "abc")
    with pytest.raises(ValueError, match="source_vocab"):
        seq2seq_meta(model, build_vocab([["x"]]), vocab, CHAR, CHAR)
    other = tmp_path / "other.safetensors"
    ckpt.save_checkpoint(other, {"model/w": np.zeros(2, np.float32)}, {"task": {"model": "lm"}})
    with pytest.raises(CheckpointError, match="not a translation-model checkpoint"):
        load_translator(other)
    with pytest.raises(CheckpointError, match="missing.safetensors"):
        load_translator(tmp_path / "missing.safetensors")


CHINESE = ["两个年轻的白人男子在户外。", "几个男人正在操作一个巨大的滑轮系统。", "一个小女孩爬进木制的游戏屋。",
           "一个男人站在梯子上擦窗户。"]


def test_valid_bleu_of_exact_chinese_output_is_100(data):
    """Validation BLEU (and so select_by='bleu') was 0 for exact Chinese output: 13a left each line one token."""
    train, valid, vocab = data
    model = small_model(len(vocab), seed=3)
    refs = [CHINESE[i % len(CHINESE)] + str(i) for i in range(12)]

    def task(**kw) -> Seq2SeqTask:
        answers = iter(refs)  # stands in for a perfect model: each detokenised output is its reference
        return Seq2SeqTask(model, encode_pairs(train[:40], vocab, vocab), encode_pairs(valid[:12], vocab, vocab),
                           valid_references=refs, detokenize=lambda ids: next(answers), bleu_sentences=12,
                           select_by="bleu", **kw)

    auto = task()
    m = auto.evaluate()
    assert m["bleu"] == pytest.approx(100.0) and auto.criterion(m) == pytest.approx(0.0), m
    assert auto.bleu_tokenize == "zh"
    assert task(bleu_tokenize="char").evaluate()["bleu"] == pytest.approx(100.0)
    assert task(bleu_tokenize="13a").evaluate()["bleu"] == 0.0  # the old behaviour, when asked for
    with pytest.raises(ValueError, match="bleu_tokenize"):
        task(bleu_tokenize="spaces")


def test_checkpoint_keeps_the_bleu_tokenizer_and_old_ones_load(data, tmp_path):
    vocab = data[2]
    model = small_model(len(vocab))
    meta = seq2seq_meta(model, vocab, vocab, CHAR, CHAR, bleu_tokenize="char")
    assert meta["bleu_tokenize"] == "char"
    path = save_translator(tmp_path / "t.safetensors", Translator(model, vocab, vocab, CHAR, CHAR, "char"))
    assert load_translator(path).bleu_tokenize == "char"
    old = tmp_path / "old.safetensors"  # written before the option existed: no "bleu_tokenize" in its metadata
    task_meta = {k: v for k, v in seq2seq_meta(model, vocab, vocab, CHAR, CHAR).items() if k != "bleu_tokenize"}
    ckpt.save_checkpoint(old, {"model/" + k: v for k, v in model.params.items()},
                         {"kind": "seq2seq-model", "task": task_meta})
    assert load_translator(old).bleu_tokenize == "auto"
    bad = tmp_path / "bad.safetensors"
    ckpt.save_checkpoint(bad, {"model/" + k: v for k, v in model.params.items()},
                         {"kind": "seq2seq-model", "task": {**task_meta, "bleu_tokenize": "spaces"}})
    with pytest.raises(CheckpointError, match="bad.safetensors.*bleu_tokenize"):
        load_translator(bad)


def test_a_task_without_meta_saves_its_length_rule(data, tmp_path):
    """A library caller's run (no meta) keeps the fitted length rule in its checkpoints too."""
    train, _, vocab = data
    task = Seq2SeqTask(small_model(len(vocab)), encode_pairs(train[:40], vocab, vocab), batch_size=16)
    assert task.meta() == {"length_rule": task.length_rule.to_dict()}
    cfg = TrainConfig(epochs=1, max_steps=1, progress="none", checkpoint_minutes=None)
    Trainer(task, cfg, tmp_path).fit()
    assert ckpt.load_meta(tmp_path / LAST)["task"]["length_rule"] == task.length_rule.to_dict()
