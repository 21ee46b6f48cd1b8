"""``--no-repeat-ngram`` and ``--coverage-penalty`` on ``rnnkit translate``, ``rnnkit evaluate`` and ``train seq2seq
--test`` (with ``--min-len``): they reach
the search, and values or combinations without effect are refused in one line.  The search itself:
tests/test_seq2seq_beam_penalties.py."""
from __future__ import annotations

import json

import pytest
from clirun import refused, run_cli
from test_seq2seq_attention import SMALL, _train, corpus, write

from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import translate

# a word twice in each: a correct translation holds "a" or "dog" twice too (the small model of 8 epochs
# here answers the last with "Dog dog dog.")
TWICE = ["ein hund sieht ein haus .", "katze sieht ein rot haus ein .", "hund sieht hund ."]
TWICE_REF = ["House a sees dog a.", "A house red a sees cat.", "Dog sees dog."]  # the toy's reversed order


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("penalties")
    src, tgt = corpus(240, 0)
    test, _ = corpus(8, 2)
    return {"dir": d, "train": (write(d / "train.de", src), write(d / "train.en", tgt)), "test": test,
            "test_file": write(d / "test.de", test), "twice": write(d / "twice.de", TWICE)}


@pytest.fixture(scope="module")
def model(data):
    return _train(data, "run", "--epochs", "8")


@pytest.fixture(scope="module")
def plain(data):
    return _train(data, "plain", "--epochs", "1", "--attention", "none")


def test_translate_passes_the_options_to_the_search(data, model, capsys):
    """The n-best rows are the library's translations with the same options, scores = log P / lp + cp."""
    code, out, err = run_cli(capsys, ["translate", model, data["test_file"], "--beam", "3", "--nbest", "2",
                                      "--length-norm", "0.6", "--coverage-penalty", "0.4", "--no-repeat-ngram", "2"])
    assert code == 0, err
    translator = load_translator(model)
    lib = translate(translator, data["test"], 3, 2, length_norm=0.6, coverage_penalty=0.4, no_repeat_ngram=2)
    assert out.splitlines() == [f"{i} ||| {t.text} ||| {t.norm_score:.4f}" for i, ts in enumerate(lib) for t in ts]
    without = translate(translator, data["test"], 3, 2, length_norm=0.6)
    # the coverage penalty is in the printed score: it lowers it (cp <= 0), strictly for most translations
    lower = [(a.norm_score < b.norm_score - 1e-9) for ts, us in zip(lib, without) for a, b in zip(ts, us)
             if a.ids == b.ids]
    assert lower and sum(lower) >= len(lower) // 2, lower


def test_no_repeat_ngram_keeps_a_word_to_one_use(data, model, capsys):
    """Sentences whose translation repeats a word: without the option some output does, with --no-repeat-ngram 1
    none does (greedy and beam)."""
    code, out, err = run_cli(capsys, ["translate", model, data["twice"], "--beam", "3"])
    assert code == 0, err
    assert any(len(set(line.lower().split())) < len(line.split()) for line in out.splitlines()), out
    for beam in ("1", "3"):
        code, out, err = run_cli(capsys, ["translate", model, data["twice"], "--beam", beam, "--no-repeat-ngram", "1"])
        assert code == 0, err
        lines = out.splitlines()
        assert len(lines) == len(TWICE)
        translator = load_translator(model)
        for line in lines:
            tokens = translator.target_tokenizer.tokenize(line)
            assert len(set(tokens)) == len(tokens), f"--beam {beam}: {line!r} repeats a token"


def test_evaluate_decodes_with_the_options(data, model, tmp_path, capsys):
    ref = write(tmp_path / "twice.en", TWICE_REF)
    scores = {}
    for extra in ([], ["--no-repeat-ngram", "1"], ["--coverage-penalty", "0.3", "--no-repeat-ngram", "2"]):
        code, out, err = run_cli(capsys, ["evaluate", model, data["twice"], "--ref", ref, "--beam", "3", "--json",
                                          *extra])
        assert code == 0, err
        scores[" ".join(extra)] = json.loads(out)
    # the outputs differ (test_no_repeat_ngram_keeps_a_word_to_one_use), and so must their BLEU
    assert scores["--no-repeat-ngram 1"]["bleu"] != scores[""]["bleu"], scores


def test_bad_values_and_options_without_effect_are_refused(data, model, plain, tmp_path, capsys):
    src = data["test_file"]
    ref = write(tmp_path / "ref.en", ["x"] * len(data["test"]))
    refused(run_cli(capsys, ["translate", model, src, "--beam", "2", "--no-repeat-ngram", "0"]),
            "--no-repeat-ngram: Expected an n-gram size >= 1, got 0", "leave --no-repeat-ngram out", usage=True)
    refused(run_cli(capsys, ["translate", model, src, "--no-repeat-ngram", "two"]), "Expected an integer >= 1",
            usage=True)
    for value in ("-0.2", "nan", "inf"):
        refused(run_cli(capsys, ["translate", model, src, "--beam", "2", "--coverage-penalty", value]),
                "--coverage-penalty: Expected a finite number >= 0", usage=True)
    for command in (["translate", model, src], ["evaluate", model, src, "--ref", ref]):
        refused(run_cli(capsys, [*command, "--coverage-penalty", "0.2"]),
                "--coverage-penalty has no effect with --beam 1", "give --beam K")
        refused(run_cli(capsys, [*command, "--no-repeat-ngram", "4", "--max-len", "4"]),
                "--no-repeat-ngram has no effect with --max-len 4", "an n-gram of 4 needs 5 to repeat")
    assert run_cli(capsys, ["translate", model, src, "--no-repeat-ngram", "3", "--max-len", "4"])[0] == 0
    for command in (["translate", plain, src], ["evaluate", plain, src, "--ref", ref]):
        refused(run_cli(capsys, [*command, "--beam", "2", "--coverage-penalty", "0.2"]),
                "--coverage-penalty reads the decoder's attention", "--attention none")
    text = write(tmp_path / "text.txt", ["the cat sat on the mat", "the dog sat on the log"] * 5)
    kn = str(tmp_path / "kn.safetensors")
    assert run_cli(capsys, ["train", "ngram", "--train", text, "--order", "2", "--save", kn])[0] == 0
    refused(run_cli(capsys, ["evaluate", kn, text, "--no-repeat-ngram", "2", "--coverage-penalty", "0.1"]),
            "--coverage-penalty, --no-repeat-ngram do not apply to", "an n-gram language model")


def test_train_seq2seq_test_decodes_with_evaluates_options(data, model, tmp_path, capsys):
    """train seq2seq --test had --beam, --length-norm and --replace-unk alone: its test line is now evaluate's with
    the same --beam, --length-norm, --coverage-penalty, --no-repeat-ngram and --min-len (the run resumed with
    nothing left to train, which scores the test set again with the new options)."""
    ref = write(tmp_path / "twice.en", TWICE_REF)
    run = str(data["dir"] / "run")  # the model fixture's (no --valid: the model is last.safetensors)
    lines = {}
    for extra in ([], ["--no-repeat-ngram", "1"], ["--length-norm", "0.6", "--coverage-penalty", "0.3",
                                                   "--no-repeat-ngram", "2", "--min-len", "3"]):
        code, out, err = run_cli(capsys, ["train", "seq2seq", "--train", *data["train"], "--lr", "0.01", "--run-dir",
                                          run, *SMALL, "--epochs", "8", "--resume", "--test", data["twice"], ref,
                                          "--beam", "3", *extra])
        assert code == 0, err
        (line,) = [x for x in out.splitlines() if x.startswith("test: ")]
        code, out, err = run_cli(capsys, ["evaluate", model, data["twice"], "--ref", ref, "--beam", "3", *extra])
        assert code == 0, err
        assert line[len("test: "):] == out.strip().split(": ", 1)[1], (line, out)
        lines[" ".join(extra)] = line
    assert lines["--no-repeat-ngram 1"] != lines[""], lines  # the option reached the search


def test_train_seq2seq_refuses_test_decoding_options_without_effect(data, tmp_path, capsys):
    src, tgt = data["train"]
    run = ["train", "seq2seq", "--train", src, tgt, "--epochs", "1", "--run-dir", str(tmp_path / "r"), *SMALL]
    test = ["--test", data["test_file"], write(tmp_path / "ref.en", ["x"] * len(data["test"]))]
    for option in (["--min-len", "2"], ["--no-repeat-ngram", "2"], ["--coverage-penalty", "0.2"]):
        refused(run_cli(capsys, [*run, *option]), f"{option[0]} has no effect without --test", "give --test")
    refused(run_cli(capsys, [*run, *test, "--coverage-penalty", "0.2"]),
            "--coverage-penalty has no effect with --beam 1", "give --beam K")
    refused(run_cli(capsys, [*run, *test, "--beam", "2", "--coverage-penalty", "0.2", "--attention", "none"]),
            "--coverage-penalty favours translations whose attention covered the source", "--attention none")
    refused(run_cli(capsys, [*run, *test, "--no-repeat-ngram", "4", "--max-decode-len", "4"]),
            "--no-repeat-ngram has no effect with --max-decode-len 4", "an n-gram of 4 needs 5 to repeat")
    refused(run_cli(capsys, [*run, *test, "--min-len", "5", "--max-decode-len", "4"]),
            "--min-len 5 is above --max-decode-len 4", "raise --max-decode-len")
    assert not (tmp_path / "r").exists()
