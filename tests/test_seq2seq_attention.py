"""Attention as numbers in the library: ``translate(..., return_attention=True)``, greedy's and beam
search's own attention rows (checked against a teacher-forced pass over the returned tokens), and the
JSON record and Pharaoh helpers of :mod:`rnnkit.seq2seq.alignment`.  The command line's
``--attention-out`` and ``--alignments``: tests/test_cli_translate_attention.py."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import write

from rnnkit.cli.main import main
from rnnkit.seq2seq.alignment import attention_record, hard_alignment, pharaoh
from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig
from rnnkit.seq2seq.translate import EMPTY, attention_matrix, translate

WORDS = {"ein": "a", "rot": "red", "hund": "dog", "katze": "cat", "groß": "big", "läuft": "runs", "blau": "blue",
         "haus": "house", "klein": "small", "sieht": "sees"}
SMALL = ["--level", "punct", "--embed", "16", "--hidden", "32", "--progress", "none", "--checkpoint-minutes", "0"]
PAD, BOS, EOS = 0, 1, 2


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Every word looked up, the order reversed, a full stop at the end: attention has a pattern to learn."""
    rng = np.random.default_rng(seed)
    keys = sorted(WORDS)
    src, tgt = [], []
    for _ in range(n):
        words = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(2, 7))]
        src.append(" ".join(words) + " .")
        tgt.append(" ".join(WORDS[w] for w in reversed(words)).capitalize() + ".")
    return src, tgt


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("attn")
    src, tgt = corpus(240, 0)
    test, _ = corpus(10, 2)
    return {"dir": d, "train": (write(d / "train.de", src), write(d / "train.en", tgt)), "test": test}


def _train(data, name: str, *extra: str) -> str:
    run = data["dir"] / name
    assert main(["train", "seq2seq", "--train", *data["train"], "--lr", "0.01", "--run-dir", str(run), *SMALL,
                 *extra]) == 0
    return str(run / "last.safetensors")


@pytest.fixture(scope="module")
def model(data):
    return _train(data, "run", "--epochs", "8")


def _check_rows(t, source_length: int, atol: float) -> None:
    """The shape (tokens + <eos> row, the sentence's own source tokens) and rows that are distributions."""
    assert t.attention.shape == (len(t.tokens) + t.finished, source_length), (t.attention.shape, t.tokens)
    assert (t.attention >= 0).all()
    np.testing.assert_allclose(t.attention.sum(axis=1), 1.0, atol=atol)


def test_returned_attention_has_one_row_per_target_token_over_the_real_source_tokens(data, model):
    translator = load_translator(model)
    # one batch of sentences of different lengths: the short ones' attention is padded in the decoder
    src = data["test"]
    lengths = [len(translator.source_tokenizer.tokenize(s)) for s in src]
    assert len(set(lengths)) > 2, lengths
    for beam, nbest, max_len in ((1, 1, None), (3, 3, None), (3, 2, 3)):  # max_len 3: cut translations too
        done = translate(translator, src, beam, nbest, max_len=max_len, return_attention=True)
        for n, ts in zip(lengths, done):
            for t in ts:
                _check_rows(t, n, 1e-5)
        if max_len == 3:
            assert any(not t.finished for ts in done for t in ts)
    assert translate(translator, src)[0][0].attention is None  # only when asked for
    assert translate(translator, ["", "  "], return_attention=True) == [[EMPTY], [EMPTY]]


def test_library_attention_is_the_teacher_forced_attention_of_the_output(data, model):
    """Greedy's and beam search's rows are the ones the search used: a teacher-forced pass over the
    returned tokens (attention_matrix, the plot's) gives the same numbers."""
    translator = load_translator(model)
    src = data["test"]
    for beam, nbest, max_len in ((1, 1, None), (4, 4, None), (3, 3, 4)):
        for sentence, ts in zip(src, translate(translator, src, beam, nbest, max_len=max_len, return_attention=True)):
            for t in ts:
                weights, source, target = attention_matrix(translator, sentence, t)
                assert source == translator.source_tokenizer.tokenize(sentence)
                assert target == [*t.tokens, "<eos>"][: len(t.tokens) + t.finished]
                np.testing.assert_allclose(t.attention, weights, atol=1e-5, err_msg=f"beam {beam}: {t.tokens}")


def _random_model(seed: int, V: int = 7) -> tuple[Seq2Seq, np.ndarray, np.ndarray]:
    """A float64 model with random non-zero parameters; EOS likely enough that most searches finish."""
    rng = np.random.default_rng(seed)
    cfg = Seq2SeqConfig(V, V, cell="lstm", src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                        decoder_hidden_size=8, attention="additive", attention_size=5, dtype="float64")
    model = Seq2Seq(cfg, rng)
    for v in model.params.values():
        v[...] = rng.uniform(-1.5, 1.5, v.shape)
    model.params["output.bias"][EOS] += 1.0
    src = rng.integers(3, V, (6, 4))  # (S, B)
    return model, src, np.array([6, 2, 4, 3])


def _teacher_forced(model, src, lengths, b: int, tokens, finished: bool) -> np.ndarray:
    """Attention (T, S_b) of sentence b alone, teacher-forced on ``tokens`` (the EOS step when finished)."""
    n = int(lengths[b])
    tgt_in = np.array([[BOS, *tokens[: len(tokens) + finished - 1]]]).T  # (T, 1): BOS, then all but the last step's
    return model.attention_weights(src[:n, b : b + 1], lengths[b : b + 1], tgt_in)[:, 0, :]  # (T, S_b)


def test_beam_search_keeps_the_attention_of_each_returned_hypothesis():
    """Over random float64 models (beams reorder and drop at every step), every hypothesis's rows equal a
    teacher-forced recomputation of its own tokens, finished or cut, with the batch's padding at 0."""
    checked = cut = 0
    for seed in range(6):
        model, src, lengths = _random_model(seed)
        for max_len in (3, 8):
            for b, hyps in enumerate(beam_search(model, src, lengths, 4, max_len, BOS, EOS, 0.6, 4, PAD, min_len=0)):
                for h in hyps:
                    assert h.attention.shape == (len(h.tokens) + h.finished, src.shape[0])
                    n = int(lengths[b])
                    assert not h.attention[:, n:].any(), "padding must get no attention"
                    want = _teacher_forced(model, src, lengths, b, h.tokens, h.finished)
                    np.testing.assert_allclose(h.attention[:, :n], want, atol=1e-10,
                                               err_msg=f"seed {seed} sentence {b} {h.tokens}")
                    checked += 1
                    cut += not h.finished
    assert checked > 100 and cut > 10, (checked, cut)


def test_greedy_decode_attention_is_its_own_too():
    model, src, lengths = _random_model(11)
    for b, h in enumerate(greedy_decode(model, src, lengths, 8, BOS, EOS)):
        want = _teacher_forced(model, src, lengths, b, h.tokens, h.finished)
        np.testing.assert_allclose(h.attention[:, : lengths[b]], want, atol=1e-10)


def test_pharaoh_helpers():
    w = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [0.0, 0.1, 0.9]])  # (T, S): 2 tokens and the <eos> row
    assert pharaoh(hard_alignment(w, 2)) == "1-0 0-1"  # the tie goes to the first source token
    assert pharaoh(hard_alignment(w, 3)) == "1-0 0-1 2-2"  # cut at the length limit: no <eos> row
    assert pharaoh(hard_alignment(w[:1], 0)) == ""  # an empty translation: only the <eos> row
    with pytest.raises(ValueError, match=r"T = 1 or 2"):
        hard_alignment(w, 1)
    rec = attention_record(3, 0, ["a", "b", "c"], ["x", "y"], True, w / 3 * 3)
    assert rec["target"] == ["x", "y", "<eos>"] and rec["attention"][0] == [0.1, 0.7, 0.2]
    with pytest.raises(ValueError, match=r"\(T, S\) = \(2, 3\)"):
        attention_record(3, 0, ["a", "b", "c"], ["x", "y"], False, w)


