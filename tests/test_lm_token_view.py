"""A language model token by token: per-token log-probabilities (`score --per-token`, score_tokens) and
the most likely next tokens (`generate --next`, top_next_tokens), against `score`'s line totals and each
other, for recurrent models of every softmax and n-gram models, word and character (Chinese) level."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.data import Vocabulary
from rnnkit.lm import NGramLM
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.next_tokens import next_log_probs, top_next_tokens
from rnnkit.lm.score import line_tokens, score_lines, score_tokens

WORDS = "the cat sat on a mat dog ran far away from".split()
LINES = ["the cat sat", "", "a dog ran far away from the cat", "zebra the", "the"]
POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
ZH_LINES = ["床前明月光", "", "明月x光", "低头思故乡。"]


def word_vocab() -> Vocabulary:
    return Vocabulary(["<unk>", "<eos>", *WORDS], eos_token="<eos>")


def char_vocab() -> Vocabulary:
    return Vocabulary(["<unk>", "\n", *sorted(set(POEM))], eos_token=None)


def rnn(V: int, softmax: str, seed: int = 0) -> LanguageModel:
    """A float64 LSTM LM with every parameter, biases too, random and non-zero."""
    kw = {"word_classes": np.arange(V) % 3} if softmax == "class" else {}
    cfg = LMConfig(vocab_size=V, cell="lstm", embedding_dim=6, hidden_size=8, num_layers=2, softmax=softmax,
                   num_classes=3 if softmax == "class" else 0, cutoffs=(4, 8) if softmax == "adaptive" else (),
                   div_value=2.0, dtype="float64")
    model = LanguageModel(cfg, np.random.default_rng(seed), **kw)
    rng = np.random.default_rng(seed + 1)
    for v in model.params.values():
        v[...] = rng.uniform(-0.8, 0.8, v.shape)
    return model


def ngram(vocab: Vocabulary, level: str, order: int = 3) -> NGramLM:
    rng = np.random.default_rng(2)
    if level == "word":
        seqs = [vocab.encode(line_tokens(" ".join(rng.choice(WORDS, size=6)), "word")) for _ in range(60)]
        return NGramLM(order).fit(seqs, len(vocab), eos_id=vocab.eos_id)
    text = (POEM + "\n") * 5 + "".join(rng.choice(list(POEM), size=40))
    return NGramLM(order, "katz").fit(vocab.encode(list(text)), len(vocab))


CASES = [("word", "full"), ("word", "class"), ("word", "adaptive"), ("word", "ngram"), ("char", "full"),
         ("char", "ngram")]


def model_and_data(level: str, kind: str):
    vocab = word_vocab() if level == "word" else char_vocab()
    model = ngram(vocab, level) if kind == "ngram" else rnn(len(vocab), kind)
    return model, vocab, LINES if level == "word" else ZH_LINES


@pytest.mark.parametrize("level,kind", CASES)
def test_token_log_probs_add_up_to_the_line_scores(level, kind):
    model, vocab, lines = model_and_data(level, kind)
    per = score_tokens(model, vocab, level, lines, batch_size=2)
    for skip in (False, True):
        whole = score_lines(model, vocab, level, lines, batch_size=2, skip_unknown=skip)
        for line, t, s in zip(lines, per, whole):
            assert t.tokens == line_tokens(line, level)  # words and <eos>, or characters and "\n"
            assert t.known.tolist() == [tok in vocab for tok in t.tokens]
            counted = t.known if skip else np.ones(t.known.size, dtype=bool)
            assert math.fsum(t.logprobs[counted]) == pytest.approx(s.logprob, rel=1e-12, abs=1e-12)
            assert s.tokens == int(counted.sum()) and s.oov == int((~t.known).sum())
    assert [len(t.tokens) for t in per] == ([4, 0, 9, 3, 2] if level == "word" else [6, 1, 5, 7])
    assert per[2 if level == "char" else 3].known.tolist().count(False) == 1  # "x", "zebra"


@pytest.mark.parametrize("level,kind", CASES)
def test_next_token_log_probs_are_the_per_token_terms_of_every_continuation(level, kind):
    """log P(v | prefix) of every v in the vocabulary is what score_tokens gives v after the prefix: two
    paths (one step at a time through step_log_probs or distribution, and the batched line scores)."""
    model, vocab, _ = model_and_data(level, kind)
    prefixes = [["the", "cat"], [], ["zebra"]] if level == "word" else [list("床前明月"), [], list("x光")]
    for prefix in prefixes:
        logp = next_log_probs(model, vocab, level, prefix)
        assert logp.shape == (len(vocab),) and logp.dtype == np.float64
        assert math.fsum(np.exp(logp)) == pytest.approx(1.0, abs=1e-12)  # exact, normalised
        end = "<eos>" if level == "word" else "\n"
        lines, where = [], []
        for v in vocab.tokens:  # the line whose token m + 1 is v: the prefix alone when v is its end
            if v == end and not prefix and level == "word":  # a blank word line has no <eos> to score
                logp[vocab.token_id(v)] = np.nan
                continue
            toks = prefix if v == end else [*prefix, v]
            lines.append(" ".join(toks) if level == "word" else "".join(toks))
            where.append(len(prefix))
        per = score_tokens(model, vocab, level, lines, batch_size=3)
        want = [t.logprobs[m] for t, m in zip(per, where)]
        np.testing.assert_allclose(logp[~np.isnan(logp)], want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("level,kind", CASES)
def test_top_next_tokens_are_sorted_and_their_probabilities_exact(level, kind):
    model, vocab, _ = model_and_data(level, kind)
    prefix = ["the"] if level == "word" else ["明"]
    logp = next_log_probs(model, vocab, level, prefix)
    every = top_next_tokens(model, vocab, level, prefix, len(vocab))  # k = V: all of them
    assert sorted(t.token for t in every) == sorted(vocab.tokens)
    probs = [t.prob for t in every]
    assert probs == sorted(probs, reverse=True) and math.fsum(probs) == pytest.approx(1.0, abs=1e-12)
    for t in every:
        assert vocab.token_id(t.token) == t.id and t.logprob == logp[t.id]
        assert t.prob == pytest.approx(math.exp(logp[t.id]), rel=1e-14)
    assert top_next_tokens(model, vocab, level, prefix, 3) == every[:3]
    with pytest.raises(ValueError, match=rf"Expected k <= {len(vocab)}, the vocabulary's size"):
        top_next_tokens(model, vocab, level, prefix, len(vocab) + 1)
    with pytest.raises(ValueError, match="Expected k to be an integer >= 1"):
        top_next_tokens(model, vocab, level, prefix, 0)


def test_a_word_prefix_given_as_one_str_is_refused():
    vocab = word_vocab()
    with pytest.raises(TypeError, match="Expected prefix to be a sequence of word tokens, got a str"):
        next_log_probs(rnn(len(vocab), "full"), vocab, "word", "the cat")
    with pytest.raises(TypeError, match=r"Expected prefix to be a sequence of BPE pieces, got a str 'the cat' \(split "
                                        r"it: rnnkit\.lm\.bpe_text\.text_pieces\(bpe_model, text, end=False\)\)"):
        next_log_probs(rnn(len(vocab), "full"), vocab, "bpe", "the cat")
    vocab = char_vocab()  # characters: a str is its characters
    model = rnn(len(vocab), "full")
    np.testing.assert_array_equal(next_log_probs(model, vocab, "char", "床前"),
                                  next_log_probs(model, vocab, "char", ["床", "前"]))


# ---- the command line -----------------------------------------------------------------------------

EN = "the cat sat on the mat .\nthe dog sat on the log .\n" * 30
ZH = (POEM + "\n") * 30


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny checkpoints trained in a second or two each: RNNs of every softmax, and n-grams."""
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("lms")
    (d / "en.txt").write_text(EN, encoding="utf-8")
    (d / "zh.txt").write_text(ZH, encoding="utf-8")
    out = {}
    rnn_args = ["--hidden", "12", "--layers", "1", "--batch-size", "2", "--bptt", "8", "--epochs", "3",
                "--optimizer", "adam", "--lr", "0.01", "--progress", "none"]
    for name, text, extra in (("word-full", "en", []), ("word-class", "en", ["--softmax", "class", "--classes", "3"]),
                              ("word-adaptive", "en", ["--softmax", "adaptive", "--cutoffs", "3,6",
                                                                          "--div-value", "2"]),
                              ("char-full", "zh", ["--level", "char"])):
        assert main(["train", "lm", "--train", str(d / f"{text}.txt"), "--run-dir", str(d / name), *rnn_args,
                     *extra]) == 0
        out[name] = str(d / name / "last.safetensors")
    for level, text in (("word", "en"), ("char", "zh")):
        out[f"{level}-ngram"] = str(d / f"{level}-ngram.safetensors")
        assert main(["train", "ngram", "--train", str(d / f"{text}.txt"), "--order", "3", "--level", level,
                     "--save", out[f"{level}-ngram"]]) == 0
    return out


def _json_rows(text: str) -> list[dict]:
    return [json.loads(r) for r in text.splitlines()]


CLI_LINES = {"word": ["the cat sat on the mat .", "", "the zebra sat on the log"],
             "char": ["床前明月光", "", "举头x\t望明月", "a\\b"]}


@pytest.mark.parametrize("name", ["word-full", "word-class", "word-adaptive", "word-ngram", "char-full", "char-ngram"])
def test_cli_per_token_rows_add_up_to_score(models, name, tmp_path, capsys):
    level = name.split("-")[0]
    lines = CLI_LINES[level]
    data = tmp_path / "lines.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for skip in ([], ["--skip-unknown"]):
        code, out, err = run_cli(capsys, ["score", models[name], str(data), "--json", *skip])
        assert code == 0, err
        whole = _json_rows(out)
        code, out, err2 = run_cli(capsys, ["score", models[name], str(data), "--json", "--per-token", *skip])
        assert code == 0 and err2 == err  # the same summary
        rows = _json_rows(out)
        for w in whole:
            mine = [r for r in rows if r["line"] == w["line"]]
            assert [r["position"] for r in mine] == list(range(1, len(mine) + 1))
            assert [r["token"] for r in mine] == line_tokens(lines[w["line"] - 1], level)
            counted = [r["logprob"] for r in mine if not (skip and r["oov"])]
            assert math.fsum(counted) == pytest.approx(w["logprob"], rel=1e-12, abs=1e-12)
            assert len(counted) == w["tokens"] and sum(r["oov"] for r in mine) == w["oov"]
            assert all(r["bits"] == pytest.approx(-r["logprob"] / math.log(2), rel=1e-12) for r in mine)
    blank = [r["token"] for r in rows if r["line"] == 2]
    assert blank == ([] if level == "word" else ["\n"])  # a blank word line has no token; a character line its end
    code, out, _ = run_cli(capsys, ["score", models[name], str(data), "--per-token"])  # the same rows, as TSV
    assert code == 0
    tsv = [r.split("\t") for r in out.splitlines()]
    assert all(len(r) == 6 for r in tsv)  # a tab or newline token is escaped, not a column or row break
    assert [(int(r[0]), int(r[1]), float(r[3]), float(r[4]), r[5]) for r in tsv] == [
        (j["line"], j["position"], pytest.approx(j["logprob"], abs=5e-5), pytest.approx(j["bits"], abs=5e-5),
         str(int(j["oov"]))) for j in rows]
    shown = [r[2] for r in tsv]
    if level == "char":
        assert shown[:6] == ["床", "前", "明", "月", "光", "\\n"] and "\\t" in shown and "\\\\" in shown
    else:
        assert shown[:8] == "the cat sat on the mat . <eos>".split() and "zebra" in shown


@pytest.mark.parametrize("name,prime,after", [("word-full", "the cat", "sat"), ("word-class", "the dog", "sat"),
                                              ("word-adaptive", "the cat sat", "on"), ("word-ngram", "sat", "on"),
                                              ("char-full", "床前明月", "光"), ("char-ngram", "床前明月", "光")])
def test_cli_next_tokens_are_exp_of_the_per_token_log_probs(models, name, prime, after, tmp_path, capsys):
    level = name.split("-")[0]
    code, out, err = run_cli(capsys, ["generate", models[name], "--prime", prime, "--next", "1000000"])
    assert code == 2 and err.count("\n") == 1 and "--next 1000000 asks for more tokens than" in err, err
    V = int(err.split("vocabulary has ")[1].split(",")[0])
    code, out, err = run_cli(capsys, ["generate", models[name], "--prime", prime, "--next", str(V + 1)])
    assert code == 2 and out == "" and f"--next {V + 1} asks for more tokens" in err and f"--next {V} or less" in err
    code, out, err = run_cli(capsys, ["generate", models[name], "--prime", prime, "--next", str(V), "--json"])
    assert code == 0, err
    rows = _json_rows(out)
    assert [r["rank"] for r in rows] == list(range(1, V + 1)) and len({r["token"] for r in rows}) == V
    probs = [r["prob"] for r in rows]
    assert probs == sorted(probs, reverse=True) and math.fsum(probs) == pytest.approx(1.0, abs=1e-5)
    assert all(r["prob"] == pytest.approx(math.exp(r["logprob"]), rel=1e-12) for r in rows)
    assert f"the {V} most likely of {V} next tokens after {prime!r}" in err
    # each of the 4 most likely, written after the prime, scores as --next says (end token: the prime alone)
    end = "<eos>" if level == "word" else "\n"
    sep = " " if level == "word" else ""
    lines = [prime if r["token"] == end else prime + sep + r["token"] for r in rows[:4]]
    data = tmp_path / "continued.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, ["score", models[name], str(data), "--per-token", "--json"])
    m = len(line_tokens(prime, level)) - 1  # the prime's tokens, its line's end aside
    per = {r["line"]: r for r in _json_rows(out) if r["position"] == m + 1}
    for k, r in enumerate(rows[:4], start=1):
        assert per[k]["token"] == r["token"]
        assert math.exp(per[k]["logprob"]) == pytest.approx(r["prob"], rel=2e-5, abs=1e-7)  # float32 models
    assert after in [r["token"] for r in rows[:2]]  # the models learnt their text
    code, out, _ = run_cli(capsys, ["generate", models[name], "--prime", prime, "--next", "3"])
    tsv = [r.split("\t") for r in out.splitlines()]
    assert [int(r[0]) for r in tsv] == [1, 2, 3] and [r[3] for r in tsv] == [
        "\\n" if r["token"] == "\n" else r["token"] for r in rows[:3]]
    assert [float(r[1]) for r in tsv] == pytest.approx(probs[:3], abs=5e-7)


def test_cli_next_without_a_prime_is_the_start_of_a_sentence(models, tmp_path, capsys):
    data = tmp_path / "first.txt"
    data.write_text("the\n", encoding="utf-8")
    for name in ("word-full", "word-ngram"):
        code, out, err = run_cli(capsys, ["generate", models[name], "--next", "2", "--json"])
        assert code == 0 and "next tokens at the start of a sentence" in err
        best = {r["token"]: r["prob"] for r in _json_rows(out)}
        _, out, _ = run_cli(capsys, ["score", models[name], str(data), "--per-token", "--json"])
        first = _json_rows(out)[0]
        assert math.exp(first["logprob"]) == pytest.approx(best["the"], rel=2e-5)


@pytest.mark.parametrize("argv,needle", [
    (["--next", "3", "--seed", "1"], "--seed has no effect with --next"),
    (["--next", "3", "--length", "10"], "--length has no effect with --next"),
    (["--next", "3", "--temperature", "0.5"], "--temperature has no effect with --next"),
    (["--next", "3", "--top-k", "0"], "--top-k has no effect with --next"),  # written, whatever its value
    (["--next", "3", "--greedy"], "--greedy has no effect with --next"),
    (["--next", "3", "--lines", "2"], "--lines has no effect with --next"),
    (["--json"], "--json has no effect without --next"),
    (["--next", "0"], "argument --next: Expected an integer >= 1, got 0"),
    (["--next", "many"], "argument --next: Expected an integer >= 1"),
])
def test_cli_next_bad_options_are_one_line(models, argv, needle, capsys):
    code, out, err = run_cli(capsys, ["generate", models["word-ngram"], *argv])
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, err
