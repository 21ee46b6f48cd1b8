"""ARPA export of n-gram models: an independent reader of the format, written from its specification
(back off through the listed weights until the n-gram is listed), gives the model's own probabilities."""
from __future__ import annotations

import gzip
import io
import math

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.data import Vocabulary
from rnnkit.lm import NGramLM
from rnnkit.lm.arpa import arpa_blocks, write_arpa

WORDS = "the a cat dog sat ran on mat far away".split()


def read_arpa(text: str) -> tuple[dict, dict, dict]:
    """(counts by order from the header, {words: log10 p}, {words: log10 bow})."""
    counts, probs, bows = {}, {}, {}
    section = None
    lines = iter(text.splitlines())
    assert next(lines) == "\\data\\"
    for line in lines:
        if line.startswith("ngram "):
            k, n = line[6:].split("=")
            counts[int(k)] = int(n)
        elif line.startswith("\\") and line.endswith("-grams:"):
            section = int(line[1:line.index("-")])
        elif line == "\\end\\":
            section = "end"
        elif line and section not in (None, "end"):
            fields = line.split("\t")
            words = tuple(fields[1].split(" "))
            assert len(words) == section and words not in probs, line
            probs[words] = float(fields[0])
            if len(fields) == 3:
                bows[words] = float(fields[2])
    assert section == "end"
    return counts, probs, bows


def arpa_logprob(probs: dict, bows: dict, history: tuple, word: str) -> float:
    """log10 p(word | history) by the ARPA back-off rule."""
    if history + (word,) in probs:
        return probs[history + (word,)]
    if not history:
        raise KeyError(word)
    return bows.get(history, 0.0) + arpa_logprob(probs, bows, history[1:], word)


def random_corpus(rng, n_sentences):
    return [list(rng.choice(WORDS, int(rng.integers(1, 9)))) for _ in range(n_sentences)]


def fitted(smoothing, order, seed=0):
    rng = np.random.default_rng(seed)
    vocab = Vocabulary(["<unk>", "<eos>", *WORDS[:-1]])  # "away" is unknown: <unk>
    train = [vocab.encode(s + ["<eos>"]) for s in random_corpus(rng, 60)]
    return NGramLM(order, smoothing).fit(train, len(vocab), eos_id=vocab.eos_id), vocab, rng


@pytest.mark.parametrize("smoothing", ["kneser_ney", "katz"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_an_arpa_reader_gives_the_models_probabilities(smoothing, order):
    model, vocab, rng = fitted(smoothing, order)
    buf = io.StringIO()
    write_arpa(buf, model, vocab)
    counts, probs, bows = read_arpa(buf.getvalue())
    # written in blocks of 3 n-grams (a large model's file is never held whole): the same text
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("rnnkit.lm.arpa.ROWS", 3)
        assert "".join(arpa_blocks(model, vocab)) == buf.getvalue() and len(model.keys_[0]) > 3
    assert counts == {k + 1: len(model.keys_[k]) for k in range(order)}
    assert probs[("<s>",)] == -99 and ("<eos>",) not in probs and ("</s>",) in probs
    names = ["</s>" if t == "<eos>" else t for t in vocab.tokens]
    for sentence in random_corpus(rng, 25):  # test sentences, with unseen n-grams and <unk>
        ids = vocab.encode(sentence + ["<eos>"])
        want = model.token_logprobs([ids]) / math.log(10)
        history = ("<s>",)
        for i, tok in enumerate(ids):
            got = arpa_logprob(probs, bows, history[-(order - 1):] if order > 1 else (), names[tok])
            assert got == pytest.approx(want[i], rel=1e-7, abs=1e-7)
            history = history + (names[tok],)
    # every listed history's distribution sums to one over the words (<s> is never predicted)
    for history in [h for h in probs if len(h) < order][:200]:
        if history[-1] == "</s>":
            continue
        total = sum(10 ** arpa_logprob(probs, bows, history, w) for w in names)
        assert total == pytest.approx(1.0, abs=1e-6), history


def test_models_without_an_arpa_form_are_refused():
    model, vocab, _ = fitted("add_delta", 3)
    with pytest.raises(ValueError, match=r"add-delta smoothing has no ARPA form.*smoothing 'kneser_ney' or 'katz' "
                                         r"\(--smoothing\)"):  # the library's parameter, then the option
        write_arpa(io.StringIO(), model, vocab)
    chars = Vocabulary(["<unk>", "a", "<space>", " "], eos_token=None)  # a token and a placeholder: one word
    model = NGramLM(2).fit([np.array([1, 3, 2, 1])], 4)
    with pytest.raises(ValueError, match="would both be written '<space>'"):
        write_arpa(io.StringIO(), model, chars)
    model = NGramLM(2).fit([np.array([1, 3, 2, 1])], 4, eos_id=1)
    with pytest.raises(ValueError, match="eos_id=vocab.eos_id"):
        write_arpa(io.StringIO(), model, chars)


def test_train_ngram_writes_an_arpa_file_and_refuses_what_has_none(tmp_path, capsys):
    rng = np.random.default_rng(3)
    train = tmp_path / "train.txt"
    train.write_text("".join(" ".join(s) + "\n" for s in random_corpus(rng, 80)), encoding="utf-8")
    out = tmp_path / "lm" / "kn3.arpa.gz"
    code, text, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--order", "3", "--arpa", str(out)])
    assert code == 0 and f"ARPA file written: {out}" in text, err
    counts, probs, _ = read_arpa(gzip.decompress(out.read_bytes()).decode("utf-8"))
    assert set(counts) == {1, 2, 3} and any(h[0] == "<s>" for h in probs if len(h) == 3)
    for argv, said in ((["--smoothing", "add_delta"], "--arpa needs --smoothing kneser_ney or katz"),
                       (["--save", str(tmp_path / "x.arpa")], "is also --save's path")):
        code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--arpa", str(tmp_path / "x.arpa"),
                                        *argv])
        assert code == 2 and said in err and err.count("\n") == 1, err
        assert not (tmp_path / "x.arpa").exists()
