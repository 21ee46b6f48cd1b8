"""``train lm --level bpe`` end to end: one BPE model learned from the training file rides in the checkpoint,
--resume reuses it, validation/--test/evaluate give per-word perplexity and bits per character equal to the
hand computation from the per-piece NLLs, generate and score read and write pieces as text, Chinese works,
and bad input is one line."""
from __future__ import annotations

import base64
import json
import math
import shutil
import sys

import numpy as np
import pytest
from clirun import run_cli
from test_resume_tasks import _assert_same_run

pytest.importorskip("sentencepiece")

from rnnkit.checkpoint import load_meta  # noqa: E402
from rnnkit.data import bpe  # noqa: E402
from rnnkit.lm.bpe_text import decode_pieces, learn, line_pieces, stream_pieces, text_pieces  # noqa: E402
from rnnkit.lm.io import checkpoint_bpe_model, load_lm  # noqa: E402
from rnnkit.lm.score import score_lines  # noqa: E402
from rnnkit.lm.units import count_units  # noqa: E402

WORDS = "the cat cats sat on a mat dog dogs ran far away big small red house houses tree".split()
SMALL = ["--embed", "8", "--hidden", "16", "--layers", "1", "--batch-size", "4", "--bptt", "8",
         "--progress", "none", "--checkpoint-minutes", "0"]


def _text(n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join(" ".join(rng.choice(WORDS, int(rng.integers(3, 8)))) + "\n" for _ in range(n))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("lmbpe")
    (d / "train.txt").write_text(_text(120, 0), encoding="utf-8")
    (d / "valid.txt").write_text(_text(20, 1), encoding="utf-8")
    # by hand: "  the cat  sat " 3 words + <eos>, 11 characters + 1; a blank line: nothing; "dog ran" 2 + 1, 7 + 1
    (d / "hand.txt").write_text("  the cat  sat \n\n dog ran\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def run(data):
    from rnnkit.cli.main import main

    folder = data / "run"
    assert main(["train", "lm", "--train", str(data / "train.txt"), "--valid", str(data / "valid.txt"), "--level",
                 "bpe", "--bpe-vocab", "40", "--epochs", "2", "--run-dir", str(folder), *SMALL]) == 0
    return folder


def test_the_checkpoint_holds_the_bpe_model_learned_from_the_training_file(data, run):
    task = load_meta(run / "last.safetensors")["task"]
    assert task["level"] == "bpe"
    model = base64.b64decode(task["bpe_model"])
    assert model == learn((data / "train.txt").read_text(encoding="utf-8"), 40)  # the same bytes again
    assert bpe.piece_count(model) == 40
    _, vocab, level, _ = load_lm(run / "last.safetensors")
    assert level == "bpe" and vocab.eos_token == "<eos>"
    assert set(vocab.tokens) - {"<unk>", "<eos>"} <= {p for p in text_pieces(model, (data / "train.txt").read_text())}


def test_validation_reports_per_word_perplexity_and_bits_per_character(run):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [e for e in records if e["type"] == "epoch"]
    assert len(epochs) == 2
    assert all({"valid_word_ppl", "valid_bits_per_char"} <= set(e) for e in epochs)
    assert all(e["valid_word_ppl"] > e["valid_ppl"] for e in epochs)  # a word has more than one piece's surprise
    text = (run.parent / "valid.txt").read_text(encoding="utf-8")
    units = count_units(text, len(text_pieces(checkpoint_bpe_model(run / "last.safetensors"), text)))
    for e in epochs:  # L = N x the mean over the predicted pieces (10 streams leave some out)
        assert e["valid_word_ppl"] == pytest.approx(math.exp(e["valid_loss"] * units.pieces / units.words))
        assert e["valid_bits_per_char"] == pytest.approx(e["valid_loss"] * units.pieces / units.chars / math.log(2))


def test_evaluate_equals_the_hand_computation_from_per_piece_nlls(data, run, capsys):
    """L summed here one piece at a time from <eos>; W = 7 and C = 20 counted by hand (fixture)."""
    path = run / "best.safetensors"
    model, vocab, _, task = load_lm(path)
    pieces = text_pieces(base64.b64decode(task["bpe_model"]), (data / "hand.txt").read_text(encoding="utf-8"))
    ids = [vocab.eos_id, *vocab.encode(pieces)]
    state, total = None, 0.0
    for prev, nxt in zip(ids, ids[1:]):
        logp, state = model.step_log_probs(np.array([[prev]]), state)
        total -= float(logp[0, nxt])
    code, out, err = run_cli(capsys, ["evaluate", str(path), str(data / "hand.txt"), "--json"])
    assert code == 0, err
    m = json.loads(out)
    assert (m["words"], m["chars"], m["pieces"], m["tokens"]) == (7, 20, len(pieces), len(pieces))
    assert m["loss"] == pytest.approx(total / len(pieces), rel=1e-5)
    assert m["word_ppl"] == pytest.approx(math.exp(total / 7), rel=1e-5)
    assert m["bits_per_char"] == pytest.approx(total / (20 * math.log(2)), rel=1e-5)
    code, out, err = run_cli(capsys, ["evaluate", str(path), str(data / "hand.txt")])
    assert code == 0 and "per word" in out and "bits/char (over 7 words and 20 characters" in out, out + err


def test_evaluate_with_several_streams_says_its_figures_are_estimated(data, run, capsys):
    code, out, err = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(data / "valid.txt"),
                                      "--batch-size", "3"])
    assert code == 0 and "estimated from their mean; --batch-size 1 predicts all" in out, out + err


def test_test_reports_the_figures_evaluate_reports(data, run, tmp_path, capsys):
    code, out, err = run_cli(capsys, ["train", "lm", "--train", str(data / "train.txt"), "--test",
                                      str(data / "valid.txt"), "--level", "bpe", "--bpe-vocab", "40", "--epochs", "1",
                                      "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 0, err
    code, again, err = run_cli(capsys, ["evaluate", str(tmp_path / "r" / "last.safetensors"),
                                        str(data / "valid.txt")])
    assert code == 0, err
    assert out.strip() == "test: " + again.split(": ", 1)[1].strip()


def test_test_with_several_streams_names_its_own_batch_option(data, tmp_path, capsys):
    code, out, err = run_cli(capsys, ["train", "lm", "--train", str(data / "train.txt"), "--test",
                                      str(data / "valid.txt"), "--level", "bpe", "--bpe-vocab", "40", "--epochs", "1",
                                      "--test-batch-size", "3", "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 0 and "estimated from their mean; --test-batch-size 1 predicts all" in out, out + err


def test_resumed_mid_epoch_equals_uninterrupted(data, tmp_path, capsys):
    argv = ["train", "lm", "--train", str(data / "train.txt"), "--valid", str(data / "valid.txt"), "--level", "bpe",
            "--bpe-vocab", "40", "--epochs", "2", "--dropout", "0.2", "--seed", "3", *SMALL]
    _assert_same_run(capsys, argv, tmp_path / "whole", tmp_path / "cut", stop_after=7)


def test_resume_reuses_the_saved_model_and_refuses_another_size(data, run, tmp_path, capsys):
    shutil.copytree(run, tmp_path / "run")  # the module's run stays as it is
    run = tmp_path / "run"
    valid = ["--valid", str(data / "valid.txt")]
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data / "train.txt"), *valid, "--level", "bpe",
                                    "--bpe-vocab", "41", "--epochs", "3", "--run-dir", str(run), "--resume", *SMALL])
    assert code == 2 and err.count("\n") == 1
    assert f"this run's BPE model of {data / 'train.txt'} has 40 pieces, and --bpe-vocab asks for 41" in err
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data / "train.txt"), *valid, "--level", "bpe",
                                    "--epochs", "3", "--run-dir", str(run), "--resume", *SMALL])  # no --bpe-vocab
    assert code == 0 and "bpe: the resumed run's 40-piece model of " in err, err


def test_generation_is_the_decoded_pieces_and_scores_as_the_library_does(data, run, tmp_path, capsys):
    from rnnkit.lm.generate import sample_ids

    path = run / "best.safetensors"
    model, vocab, _, task = load_lm(path)
    code, out, err = run_cli(capsys, ["generate", str(path), "--seed", "5", "--lines", "2", "--length", "200"])
    assert code == 0, err
    ids = list(sample_ids(model, [vocab.eos_id], 200, np.random.default_rng(5), banned=np.array([vocab.unk_id])))
    names = vocab.decode(ids)
    ends = [k for k, t in enumerate(names) if t == "<eos>"]
    assert out == decode_pieces(names[: ends[1] + 1])  # stopped at the second line end
    lines = out.splitlines()
    (tmp_path / "gen.txt").write_text(out, encoding="utf-8")
    code, scored, err = run_cli(capsys, ["score", str(path), str(tmp_path / "gen.txt")])
    assert code == 0, err
    model_bytes = base64.b64decode(task["bpe_model"])
    want = score_lines(model, vocab, "bpe", lines, bpe_model=model_bytes)
    for row, line, s in zip(scored.splitlines(), lines, want):
        logprob, tokens = row.split("\t")[:2]
        assert int(tokens) == len(line_pieces(model_bytes, line)) == s.tokens
        assert float(logprob) == pytest.approx(s.logprob, abs=1e-4)
    total = sum(s.logprob for s in want)  # the summary's per-word figures: every line's pieces, over its words
    words = sum(len(line.split()) + 1 for line in lines if line.strip())  # a blank line is no sentence
    chars = sum(len(" ".join(line.split())) + 1 for line in lines if line.strip())
    assert (f"per word {math.exp(-total / words):.2f}, {-total / chars / math.log(2):.4f} bits/char ({words} words, "
            f"{chars} characters" in err), err


def test_a_prime_is_continued_where_it_ends(run, capsys):
    code, out, err = run_cli(capsys, ["generate", str(run / "best.safetensors"), "--prime", "the ca", "--lines",
                                      "1", "--seed", "2"])
    assert code == 0, err
    assert out.startswith("the ca") and out.endswith("\n") and out.count("\n") == 1
    said = []
    stream_pieces(["t", "\u2581sat", "<eos>", "\u2581a"], said.append, line_start=False)
    assert "".join(said) == "t sat\na"  # the first piece joins the prime; a line's first ▁ is no space
    assert decode_pieces(["\u2581the", "\u2581ca", "t", "<eos>"]) == "the cat\n"


def test_chinese_text_trains_evaluates_and_generates(tmp_path, capsys):
    rng = np.random.default_rng(4)
    words = ["床前", "明月", "光", "疑是", "地上", "霜", "，", "。", "举头", "望", "低头", "思故乡"]
    text = "".join("".join(rng.choice(words, int(rng.integers(3, 7)))) + "\n" for _ in range(80))
    (tmp_path / "zh.txt").write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "zh.txt"), "--test",
                                      str(tmp_path / "zh.txt"), "--level", "bpe", "--bpe-vocab", "30", "--epochs",
                                      "1", "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 0, err
    units = count_units(text, 1)
    assert units.words == 160 and units.chars == len(text)  # one "word" and one <eos> a line; every character
    assert f"over {units.words} words and {units.chars:,} characters" in out
    model = checkpoint_bpe_model(tmp_path / "r" / "last.safetensors")
    assert decode_pieces(text_pieces(model, text)) == text  # pieces join back into the text exactly
    code, out, err = run_cli(capsys, ["generate", str(tmp_path / "r" / "last.safetensors"), "--lines", "2",
                                      "--prime", "床前"])
    assert code == 0 and out.startswith("床前") and set(out) <= set(text), err


def test_text_units_count_words_and_characters_as_documented():
    # "a  b" -> "a b": 2 words + <eos>, 3 characters + 1; "  " is blank; "中文，好" 1 word + <eos>, 4 + 1
    assert count_units("a  b\n  \n中文，好", 9)[1:] == (3 + 2, 4 + 5)


def test_units_of_a_files_lines_or_of_its_sentences_are_the_same():
    from rnnkit.lm.bpe_text import sentences
    from rnnkit.lm.units import line_units

    text = " \tthe  cat\x0bsat \r\n\n\u3000\n中文 ，好\n  x"
    lines = sentences(text)  # ["the cat sat", "中文 ，好", "x"]
    want = (len(lines) + sum(len(s.split()) for s in lines), sum(len(s) + 1 for s in lines))  # as documented
    assert line_units(text.split("\n"), 7)[1:] == line_units(lines, 7)[1:] == count_units(text, 7)[1:] == want


@pytest.mark.parametrize("options, says", [
    (["--level", "word", "--bpe-vocab", "40"], "--bpe-vocab has no effect without --level bpe"),
    (["--level", "char", "--bpe-vocab", "40"], "--bpe-vocab has no effect without --level bpe"),
    (["--level", "bpe", "--max-vocab", "30"], "--max-vocab has no effect with --level bpe"),
    (["--level", "bpe", "--min-count", "2"], "--min-count has no effect with --level bpe"),
    (["--level", "bpe", "--bpe-vocab", "5000"], "--bpe-vocab 5000 is more pieces than BPE can make of"),
    (["--level", "bpe", "--bpe-vocab", "5"], "--bpe-vocab 5 is fewer pieces than"),
    (["--level", "bpe"], "--bpe-vocab 8000 is more pieces than BPE can make of"),  # the default, too many here
])
def test_bad_options_are_one_line(data, tmp_path, capsys, options, says):
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data / "train.txt"), "--run-dir",
                                    str(tmp_path / "r"), *SMALL, *options])
    assert code == 2 and says in err and err.count("\n") == 1, err


def test_a_missing_sentencepiece_is_the_one_line_install_advice(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "absent.txt"), "--level", "bpe",
                                    "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code != 0 and "pip install 'rnnkit[bpe]'" in err and "absent.txt" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_bpe_model_without_sentencepiece_says_what_to_install(data, run, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    bpe.processor.cache_clear()  # models loaded by earlier tests would need no import
    code, _, err = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(data / "valid.txt")])
    assert code != 0 and "pip install 'rnnkit[bpe]'" in err and len(err.strip().splitlines()) == 1, err


def test_export_keeps_the_model(data, run, tmp_path, capsys):
    """(--torch and --onnx: tests/test_export_bpe.py)"""
    code, _, err = run_cli(capsys, ["export", str(run / "best.safetensors"), "-o", str(tmp_path / "m.safetensors")])
    assert code == 0, err
    assert checkpoint_bpe_model(tmp_path / "m.safetensors") == checkpoint_bpe_model(run / "best.safetensors")
    code, a, err = run_cli(capsys, ["evaluate", str(tmp_path / "m.safetensors"), str(data / "hand.txt")])
    assert code == 0, err
    code, b, err = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(data / "hand.txt")])
    assert a.split(": ", 1)[1] == b.split(": ", 1)[1]


def test_a_texts_own_unk_words_are_one_token_each_not_pieces_and_not_oov(data):
    """PTB writes rare words as <unk>: SentencePiece read its < and > as unknown characters, so each became
    5 pieces, two of them <unk> and counted out of vocabulary (6.7% of PTB's training pieces)."""
    from rnnkit.lm.bpe_text import counted_ids, sentences

    text = (data / "train.txt").read_text(encoding="utf-8")
    text += "".join(f"the <unk> sat on a {w}\n<unk> ran far\n" for w in ("mat", "<unk>"))
    model = learn(text, 40)
    got = counted_ids(sentences(text), model)[0]
    assert got.oov.count == 0
    assert line_pieces(model, "<unk> ran  <unk>")[0] == "<unk>" and line_pieces(model, "<unk> ran <unk>")[-2:] == [
        "<unk>", "<eos>"]
    assert decode_pieces(line_pieces(model, " <unk> ran far <unk> ")) == "<unk> ran far <unk>\n"
    last = line_pieces(model, "<unk> ran far")
    assert last[0] == "<unk>" and "<unk>" not in last[1:] and got.vocab.decode(got.ids[-len(last):]) == last


def test_states_reads_pieces_and_a_model_interpolates_with_itself(data, run, capsys):
    path = str(run / "best.safetensors")
    code, out, err = run_cli(capsys, ["states", path, "--text", "the cat\n"])
    assert code == 0, err
    model = checkpoint_bpe_model(path)
    assert [row.split("\t")[0] for row in out.splitlines()[1:]] == text_pieces(model, "the cat\n")
    code, out, err = run_cli(capsys, ["evaluate", path, str(data / "hand.txt"), "--interpolate", path, "--json"])
    assert code == 0, err  # the same SentencePiece model: the same pieces (tests/test_cli_ngram_bpe.py: the rest)
    m = json.loads(out)
    assert m["word_ppl"] == pytest.approx(m["model"]["word_ppl"]) and (m["words"], m["chars"]) == (7, 20)


def test_characters_that_never_stand_alone_are_warned_about(data, tmp_path, capsys):
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data / "train.txt"), "--level", "bpe", "--bpe-vocab",
                                    "90", "--max-steps", "1", "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 0, err
    _, vocab, _, task = load_lm(tmp_path / "r" / "last.safetensors")
    chars = bpe.characters(base64.b64decode(task["bpe_model"]))
    lone = [c for c in chars if c not in vocab.tokens]  # no row: read as <unk>
    assert lone and f"rnnkit: warning: bpe: {len(lone)} of {data / 'train.txt'}'s {len(chars)} characters never " \
                    "stand alone in its training text" in err, err


def test_scoring_at_level_bpe_needs_the_bpe_model(run):
    model, vocab, _, _ = load_lm(run / "best.safetensors")
    with pytest.raises(ValueError, match="Expected bpe_model"):
        score_lines(model, vocab, "bpe", ["the cat"])


def test_characters_that_never_stand_alone_are_warned_about_once_not_again_on_resume(data, tmp_path, capsys):
    """As train seq2seq --level bpe: a resume takes the run's model, whose first training said it."""
    argv = ["train", "lm", "--train", str(data / "train.txt"), "--level", "bpe", "--bpe-vocab", "60",
            "--run-dir", str(tmp_path / "run"), *SMALL]
    code, _, err = run_cli(capsys, [*argv, "--epochs", "1"])
    assert code == 0 and err.count("never stand alone") == 1, err
    code, _, err = run_cli(capsys, [*argv, "--epochs", "2", "--resume"])
    assert code == 0 and "bpe: the resumed run's 60-piece model of " in err and "never stand alone" not in err, err
