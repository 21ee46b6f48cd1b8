"""N-gram language models: normalisation, hand-computed probabilities, an independent Kneser-Ney
reference, perplexity, files and the command line."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data import Vocabulary, read_tokens
from rnnkit.errors import CheckpointError
from rnnkit.lm import NGramLM

UNK, EOS, A, B, C = range(5)  # ids of the hand-made vocabulary below
V_SMALL = 5
SMOOTHINGS = ("kneser_ney", "katz", "add_delta")


def random_stream(rng, n_tokens, V, eos=1, p_eos=0.15, skew=1.0):
    """Ids in [2, V) (Zipf-like when skew > 0) with eos between sentences; ends with eos."""
    weights = 1.0 / np.arange(1, V - 1) ** skew
    words = rng.choice(np.arange(2, V), size=n_tokens, p=weights / weights.sum())
    ends = rng.random(n_tokens) < p_eos
    words[ends] = eos
    words[-1] = eos
    return words.astype(np.int64)


def sentences_of(ids, eos=1):
    out, cur = [], []
    for t in ids:
        cur.append(int(t))
        if t == eos:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def hand_corpus():
    # "a b <eos> a c <eos> b c <eos>"
    return np.array([A, B, EOS, A, C, EOS, B, C, EOS])


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(7)
    return random_stream(rng, 160, V=8), 8


def assert_close(name, got, want, atol):
    diff = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
    assert diff <= atol, f"{name}: max difference {diff:.3g} > {atol}"


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_sums_to_one(corpus, smoothing, order):
    ids, V = corpus
    model = NGramLM(order, smoothing, delta=0.3 if smoothing == "add_delta" else None).fit(ids, V, eos_id=1)
    contexts = [ids[:i] for i in range(ids.size)]
    # unseen ones: <unk> never occurs in training; and a repeat no sentence has
    contexts += [np.array([0, 0, 0]), np.array([2, 0]), np.array([1, 7, 7, 7, 7])]
    for ctx in contexts:
        dist = model.distribution(ctx)
        assert dist.shape == (V,)
        assert np.all(dist >= 0), f"negative probability after context {ctx[-3:]}"
        assert_close(f"sum of p(.|{ctx[-3:].tolist()})", dist.sum(), 1.0, 1e-9)
    for i in range(0, ids.size, 7):
        want = np.log(model.distribution(ids[:i])[ids[i]])
        assert_close(f"logprob at {i}", model.logprob(ids[:i], ids[i]), want, 1e-12)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_an_order_longer_than_every_sentence(smoothing):
    """Sentences of at most 2 words (+ <eos>, after <s>) have no 5-grams: an order-6 model fits, its
    distributions sum to 1, and Kneser-Ney and Katz give what order 4 gives (it used to raise
    IndexError on the empty tables: the default --order 5 on a file of short lines)."""
    ids = np.array([A, B, EOS, C, EOS, A, C, EOS, B, EOS])
    long = NGramLM(6, smoothing, delta=0.3 if smoothing == "add_delta" else None).fit(ids, V_SMALL, eos_id=EOS)
    test = np.array([A, B, EOS, B, A, C, EOS, UNK, EOS])
    logp = long.token_logprobs(test)
    assert logp.shape == test.shape and np.all(np.isfinite(logp))
    for i in range(test.size):
        assert_close(f"sum after {test[:i].tolist()}", long.distribution(test[:i]).sum(), 1.0, 1e-9)
    if smoothing != "add_delta":  # add-delta's top order decides alone, so its unseen contexts differ
        four = NGramLM(4, smoothing, delta=0.3 if smoothing == "add_delta" else None).fit(ids, V_SMALL, eos_id=EOS)
        assert_close("order 6 against order 4", logp, four.token_logprobs(test), 1e-12)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_char_level_stream_without_eos_sums_to_one(smoothing):
    rng = np.random.default_rng(11)
    ids = rng.integers(0, 6, size=120)
    model = NGramLM(3, smoothing).fit(ids, 6)
    for i in range(0, ids.size, 3):
        assert_close(f"sum at {i}", model.distribution(ids[:i]).sum(), 1.0, 1e-9)


@pytest.mark.parametrize("order", [1, 3, 4, 5])
@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("eos_id", [1, None])
def test_perplexity_is_exp_mean_nll_of_logprob(corpus, smoothing, eos_id, order):
    """logprob (and so distribution and generation) conditions on what perplexity does, at every
    position: orders 4 and 5 once kept only the last tokens of a history shorter than order - 1,
    dropping the sentence start."""
    ids, V = corpus
    model = NGramLM(order, smoothing).fit(ids, V, eos_id=eos_id)
    test = random_stream(np.random.default_rng(8), 60, V)
    test[5] = 0  # a token never seen in training
    nll = [-model.logprob(test[:i], test[i]) for i in range(test.size)]
    want = float(np.exp(np.mean(nll)))
    got = model.perplexity(test)
    assert np.isfinite(got)
    assert_close("perplexity", got, want, 1e-9 * want)
    assert_close("token_logprobs", model.token_logprobs(test), -np.array(nll), 1e-12)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("eos_id, order", [(EOS, 3), (EOS, 5), (None, 4)])
def test_scoring_span_by_span_gives_the_same_bits(corpus, smoothing, eos_id, order, monkeypatch):
    """token_logprobs scores SCORE_CHUNK positions at a time with order - 1 of history in front: spans
    of 7 (cutting sentences, and <s> marks, anywhere) give exactly the one-piece result."""
    from rnnkit.lm import ngram

    ids, V = corpus
    model = NGramLM(order, smoothing).fit(ids, V, eos_id=eos_id)
    test = random_stream(np.random.default_rng(9), 300, V)
    whole = model.token_logprobs(test)
    monkeypatch.setattr(ngram, "SCORE_CHUNK", 7)
    spans = model.token_logprobs(test)
    assert whole.shape == (300,) and np.array_equal(spans, whole)
    assert np.array_equal(model.token_logprobs(sentences_of(test)), whole) == (eos_id is not None)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_sentences_or_one_stream_give_the_same_model(corpus, smoothing):
    ids, V = corpus
    stream = NGramLM(3, smoothing).fit(ids, V, eos_id=1)
    sents = NGramLM(3, smoothing).fit([np.array(s) for s in sentences_of(ids)], V, eos_id=1)
    test = random_stream(np.random.default_rng(12), 40, V)
    assert_close("log p, stream vs sentences", sents.token_logprobs(test), stream.token_logprobs(test), 1e-12)
    # without an eos id, each sequence of a list starts afresh: the same as sentences with eos
    fresh = NGramLM(3, smoothing).fit([np.array(s) for s in sentences_of(ids)], V)
    assert_close("log p, fresh sequences", fresh.token_logprobs(sentences_of(test)),
                 stream.token_logprobs(test), 1e-12)


def test_kneser_ney_bigram_by_hand():
    D1, D2, D3 = 0.5, 1.0, 1.5
    model = NGramLM(2, "kneser_ney", discounts=[D1, D2, D3]).fit(hand_corpus(), V_SMALL, eos_id=EOS)
    # padded: <s> a b </s>  <s> a c </s>  <s> b c </s>
    # unigram continuation counts, distinct left neighbours: a {<s>} 1, b {a, <s>} 2, c {a, b} 2,
    # <eos> {b, c} 2, <unk> 0; total 7; one count of 1, three of 2
    gamma1 = (D1 * 1 + D2 * 3) / 7
    p1_a = (1 - D1) / 7 + gamma1 / V_SMALL
    p1_c = (2 - D2) / 7 + gamma1 / V_SMALL
    p1_unk = gamma1 / V_SMALL
    # history "a": raw bigrams (a b) 1 and (a c) 1
    gamma_a = (D1 + D1) / 2
    assert_close("p(c|a)", np.exp(model.logprob([A], C)), (1 - D1) / 2 + gamma_a * p1_c, 1e-12)
    assert_close("p(<unk>|a)", np.exp(model.logprob([A], UNK)), gamma_a * p1_unk, 1e-12)
    # history <s> (sentence start): raw bigrams (<s> a) 2 and (<s> b) 1
    gamma_s = (D2 + D1) / 3
    want = (2 - D2) / 3 + gamma_s * p1_a
    assert_close("p(a|<s>)", np.exp(model.logprob([], A)), want, 1e-12)
    assert_close("p(a|... <eos>)", np.exp(model.logprob([A, C, EOS], A)), want, 1e-12)


def test_add_delta_by_hand():
    delta = 0.5
    ids = hand_corpus()
    bigram = NGramLM(2, "add_delta", delta=delta).fit(ids, V_SMALL, eos_id=EOS)
    # c(a .) = 2 with c(a c) = 1; c(<s> .) = 3 with c(<s> a) = 2
    assert_close("p(c|a)", np.exp(bigram.logprob([A], C)), (1 + delta) / (2 + delta * V_SMALL), 1e-12)
    assert_close("p(a|<s>)", np.exp(bigram.logprob([], A)), (2 + delta) / (3 + delta * V_SMALL), 1e-12)
    assert_close("p(b|<unk>)", np.exp(bigram.logprob([UNK], B)), 1 / V_SMALL, 1e-12)
    laplace = NGramLM(1, "add_delta", delta=1.0).fit(ids, V_SMALL, eos_id=EOS)
    # 9 predicted tokens, b twice
    assert_close("p(b)", np.exp(laplace.logprob([A], B)), (2 + 1) / (9 + V_SMALL), 1e-12)


def padded_ngrams(sentences, k):
    """Counter of the k-grams whose last token is predicted, with -1 for <s>."""
    grams = Counter()
    for s in sentences:
        p = [-1] + s
        for i in range(1, len(p)):
            if i - k + 1 >= 0:
                grams[tuple(p[i - k + 1 : i + 1])] += 1
    return grams


def chen_goodman(counts):
    n = Counter(min(c, 5) for c in counts if c > 0)
    y = n[1] / (n[1] + 2 * n[2])
    return np.array([1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3]])


def test_kneser_ney_discounts_follow_chen_goodman():
    # many rare words, so that unigram continuation counts 1..4 all occur
    ids = random_stream(np.random.default_rng(1), 5000, V=300, skew=1.1)
    model = NGramLM(2, "kneser_ney").fit(ids, 300, eos_id=1)
    sents = sentences_of(ids)
    bigrams = padded_ngrams(sents, 2)
    assert_close("D at order 2", model.discounts_[1], chen_goodman(bigrams.values()), 1e-12)
    left = defaultdict(set)
    for (v, w) in bigrams:
        left[w].add(v)
    assert_close("D at order 1", model.discounts_[0], chen_goodman([len(s) for s in left.values()]), 1e-12)


def reference_kneser_ney(sentences, V, order, discounts):
    """Plain-dict interpolated modified KN, written from the equations, to check the numpy trie."""
    raw = {k: padded_ngrams(sentences, k) for k in range(1, order + 1)}
    left = defaultdict(set)
    for k in range(2, order + 1):
        for g in raw[k]:
            left[g[1:]].add(g[0])

    def count(g):
        if len(g) == order or g[0] == -1:
            return raw[len(g)][g]
        return len(left[g])

    children = defaultdict(list)
    for k in range(1, order + 1):
        for g in raw[k]:
            children[g[:-1]].append(g)

    def disc(k, c):
        return 0.0 if c == 0 else min(discounts[k - 1][min(c, 3) - 1], c)

    def prob(w, h):
        lower = prob(w, h[1:]) if h else 1.0 / V
        k = len(h) + 1
        total = sum(count(g) for g in children[h])
        if total == 0:
            return lower
        gamma = sum(disc(k, count(g)) for g in children[h]) / total
        c = count(h + (w,)) if h + (w,) in raw[k] else 0
        return max(c - disc(k, c), 0.0) / total + gamma * lower

    return prob


def test_kneser_ney_matches_reference_implementation():
    rng = np.random.default_rng(5)
    train = random_stream(rng, 400, V=9)
    test = random_stream(rng, 80, V=9)
    order = 3
    model = NGramLM(order, "kneser_ney").fit(train, 9, eos_id=1)
    prob = reference_kneser_ney(sentences_of(train), 9, order, model.discounts_)
    want = []
    for s in sentences_of(test):
        hist = [-1]
        for w in s:
            want.append(np.log(prob(w, tuple(hist[-(order - 1):]))))
            hist.append(w)
    assert_close("log p, numpy trie vs dict reference", model.token_logprobs(test), want, 1e-12)


def test_katz_uses_good_turing_and_backs_off():
    V = 60
    ids = random_stream(np.random.default_rng(2), 6000, V=V)
    model = NGramLM(2, "katz").fit(ids, V, eos_id=1)
    unigram = NGramLM(1, "katz").fit(ids, V, eos_id=1)
    bigrams = padded_ngrams(sentences_of(ids), 2)
    n = Counter(min(c, 7) for c in bigrams.values())
    common = 6 * n[6] / n[1]
    d = {}
    for r in range(1, 6):
        star_ratio = (r + 1) * n[r + 1] / (r * n[r])
        ratio = (star_ratio - common) / (1 - common)
        # out-of-range ratios mean no discount (SRILM's rule)
        d[r] = ratio if 0 < ratio <= 1 and star_ratio <= 1 else 1.0
    assert sum(x < 1 for x in d.values()) >= 3, "corpus too odd for a Good-Turing check"
    hist = 5
    seen = {g[1]: c for g, c in bigrams.items() if g[0] == hist}
    total = sum(seen.values())
    assert any(c <= 5 for c in seen.values()) and any(c > 5 for c in seen.values())
    explicit = {w: (d[c] if c <= 5 else 1.0) * c / total for w, c in seen.items()}
    for w, p in explicit.items():
        assert_close(f"p({w}|{hist})", np.exp(model.logprob([hist], w)), p, 1e-12)
    p1 = unigram.distribution([])
    alpha = (1 - sum(explicit.values())) / (1 - sum(p1[w] for w in seen))
    unseen = [w for w in range(V) if w not in seen]
    assert unseen, "every token follows the history: no backoff to check"
    for w in unseen:
        assert_close(f"p({w}|{hist}) backed off", np.exp(model.logprob([hist], w)), alpha * p1[w], 1e-12)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_save_and_load_give_the_same_model(tmp_path, corpus, smoothing):
    ids, V = corpus
    model = NGramLM(4, smoothing, delta=0.2 if smoothing == "add_delta" else None).fit(ids, V, eos_id=1)
    vocab = Vocabulary(["<unk>", "<eos>"] + [f"w{i}" for i in range(2, V)])
    path = tmp_path / "lm.safetensors"
    model.save(path, vocab=vocab)
    again = NGramLM.load(path)
    test = random_stream(np.random.default_rng(9), 50, V)
    assert again.perplexity(test) == model.perplexity(test)
    assert (again.order, again.smoothing, again.eos_id_) == (4, smoothing, 1)
    assert NGramLM.load_vocabulary(path) == vocab
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        NGramLM.load(junk)


def test_bad_arguments():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, "witten_bell")
    with pytest.raises(ValueError, match="delta"):
        NGramLM(2, "add_delta", delta=0.0)
    with pytest.raises(ValueError, match="fitted"):
        NGramLM(2).perplexity([1, 2])
    with pytest.raises(ValueError, match=r"data in \[0, 5\), got 7"):
        NGramLM(2).fit([1, 7], 5)
    model = NGramLM(2).fit(hand_corpus(), V_SMALL, eos_id=EOS)
    with pytest.raises(ValueError, match="token_id"):
        model.logprob([A], 9)
    with pytest.raises(TypeError, match="context"):
        model.logprob([[A]], B)


def write_corpus(tmp_path):
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in rng.integers(0, 15, size=300)]
    lines = [" ".join(words[i : i + 8]) for i in range(0, 300, 8)]
    train = tmp_path / "train.txt"
    train.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    valid = tmp_path / "valid.txt"
    valid.write_text("\n".join(lines[-5:]) + "\nzz w1\n", encoding="utf-8")
    return train, valid


def test_cli_end_to_end(tmp_path, capsys):
    train, valid = write_corpus(tmp_path)
    save = tmp_path / "kn.safetensors"
    code = main(["train", "ngram", "--train", str(train), "--valid", str(valid), "--order", "3",
                 "--save", str(save)])
    out = capsys.readouterr().out
    assert code == 0
    vocab = NGramLM.load_vocabulary(save)
    model = NGramLM.load(save)
    assert f"vocabulary: {len(vocab) - 2} word types (+ <unk>, <eos>) from" in out
    for name, path in (("train", train), ("valid", valid)):
        ppl = model.perplexity(vocab.encode(read_tokens(path)))
        assert f"{name}: {path}:" in out and f"perplexity {ppl:.2f}" in out
    assert "OOV 1 (" in out  # "zz" in the valid file


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    train, _ = write_corpus(tmp_path)
    bad = tmp_path / "cp1252.txt"
    bad.write_bytes(b"caf\xe9\n")
    cases = [
        (["--train", str(bad)], "cp1252.txt"),
        (["--train", str(train), "--test", str(tmp_path / "gone.txt")], "gone.txt"),
        (["--train", str(train), "--order", "0"], "order"),
    ]
    for extra, needle in cases:
        try:
            code = main(["train", "ngram", *extra])
        except SystemExit as e:  # argparse's own usage errors
            code = e.code
        err = capsys.readouterr().err
        assert code == 2, f"{extra}: exit code {code}"
        assert err.count("\n") == 1 and needle in err, f"{extra}: stderr {err!r}"


def test_tokens_given_where_ids_go_are_named_and_the_way_to_ids_said():
    """NGramLM(3).fit(["the", "cat"], 10) said 'got <U3 of shape ()', of each token read as a sequence."""
    for data, said in ((["the", "cat", "<eos>"], "got str tokens ('the')"), ([["a", "b"]], "got str tokens (['a', 'b'])")):
        with pytest.raises(TypeError, match="Expected data to be int ids") as info:
            NGramLM(2).fit(data, 10)
        assert said in str(info.value) and "vocab.encode(tokens)" in str(info.value)
    with pytest.raises(TypeError, match=r"int ids, got float64 of shape \(2,\)"):  # one stream, said whole
        NGramLM(2).fit([1.0, 2.0], 10)
    assert NGramLM(2).fit([[1, 2], [3]], 10).vocab_size_ == 10
