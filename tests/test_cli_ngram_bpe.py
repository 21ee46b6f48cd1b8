"""``train ngram --level bpe``: the n-gram baseline of a BPE language model reads the same pieces (the same
SentencePiece model learned from the same training file), keeps the model in its ``--save`` checkpoint, reports
per-piece and per-word perplexity and bits per character equal to the hand computation, refuses ``--arpa``, and
interpolates with a BPE RNN exactly when both split text with the same SentencePiece model."""
from __future__ import annotations

import base64
import json
import math

import pytest
from clirun import run_cli
from test_cli_lm_bpe import SMALL, _text

pytest.importorskip("sentencepiece")

from rnnkit.checkpoint import load_meta  # noqa: E402
from rnnkit.lm.bpe_text import learn, text_pieces  # noqa: E402
from rnnkit.lm.io import checkpoint_bpe_model, load_language_model, save_ngram  # noqa: E402

CHINESE = " 我们 喜欢 学习 \n 我们 学习 <unk> 的 \n"  # edge spaces, as PTB's lines have, and a <unk> word


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("ngrambpe")
    (d / "train.txt").write_text(_text(120, 0) + "the <unk> sat\n" + CHINESE * 3, encoding="utf-8")
    (d / "valid.txt").write_text(_text(20, 1), encoding="utf-8")
    # by hand: "  the cat  sat " 3 words + <eos>, 11 characters + 1; a blank line: nothing; "dog ran" 2 + 1, 7 + 1
    (d / "hand.txt").write_text("  the cat  sat \n\n dog ran\n", encoding="utf-8")
    return d


def _ngram(data, path, *extra) -> list[str]:
    from rnnkit.cli.main import main

    assert main(["train", "ngram", "--train", str(data / "train.txt"), "--level", "bpe", "--order", "3",
                 "--save", str(path), *extra]) == 0
    return path


@pytest.fixture(scope="module")
def ngram(data):
    return _ngram(data, data / "ngram.safetensors", "--bpe-vocab", "40", "--valid", str(data / "valid.txt"))


@pytest.fixture(scope="module")
def rnn(data):
    from rnnkit.cli.main import main

    folder = data / "run"
    assert main(["train", "lm", "--train", str(data / "train.txt"), "--level", "bpe", "--bpe-vocab", "40",
                 "--epochs", "1", "--run-dir", str(folder), *SMALL]) == 0
    return folder / "last.safetensors"


def test_the_saved_model_holds_the_bpe_model_the_rnn_learns_from_the_same_file(data, ngram, rnn):
    task = load_meta(ngram)["task"]
    assert task["level"] == "bpe"
    learned = learn((data / "train.txt").read_text(encoding="utf-8"), 40)
    assert base64.b64decode(task["bpe_model"]) == learned == checkpoint_bpe_model(ngram) == checkpoint_bpe_model(rnn)
    _, vocab, level, bpe = load_language_model(ngram)
    _, rnn_vocab, _, rnn_bpe = load_language_model(rnn)
    assert level == "bpe" and vocab.tokens == rnn_vocab.tokens  # the same pieces, the same ids
    assert bpe == rnn_bpe == learned  # read with the model: score, generate and evaluate read it once


def _hand(ngram, path) -> tuple[float, int]:
    """(L, N): the summed NLL of the file's pieces, each from the start of the text, and their count."""
    model, vocab, _, _ = load_language_model(ngram)
    pieces = text_pieces(checkpoint_bpe_model(ngram), path.read_text(encoding="utf-8"))
    return -float(model.token_logprobs(vocab.encode(pieces)).sum()), len(pieces)


def test_train_and_evaluate_report_the_hand_computed_per_piece_and_per_word_figures(data, ngram, capsys):
    total, n = _hand(ngram, data / "hand.txt")
    code, out, err = run_cli(capsys, ["evaluate", str(ngram), str(data / "hand.txt"), "--json"])
    assert code == 0, err
    m = json.loads(out)
    assert (m["words"], m["chars"], m["pieces"], m["tokens"]) == (7, 20, n, n)
    assert m["loss"] == pytest.approx(total / n, rel=1e-9)
    assert m["word_ppl"] == pytest.approx(math.exp(total / 7), rel=1e-9)
    assert m["bits_per_char"] == pytest.approx(total / (20 * math.log(2)), rel=1e-9)
    _ngram(data, data / "again.safetensors", "--bpe-vocab", "40", "--test", str(data / "hand.txt"))
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("test: "))
    assert (f"perplexity {math.exp(total / 7):.2f} per word, {total / (20 * math.log(2)):.4f} bits/char (over 7 "
            f"words and 20 characters, line ends included); per piece: perplexity {math.exp(total / n):.2f}") in line


def test_score_sums_to_the_same_figures(data, ngram, capsys):
    total, n = _hand(ngram, data / "hand.txt")
    code, out, err = run_cli(capsys, ["score", str(ngram), str(data / "hand.txt")])
    assert code == 0, err
    assert sum(float(row.split("\t")[0]) for row in out.splitlines() if row.split("\t")[1] != "0") == \
        pytest.approx(-total, abs=1e-3)  # 4 decimals a line
    assert f"{n:,} tokens" in err and f"per word {math.exp(total / 7):.2f}" in err, err
    code, out, err = run_cli(capsys, ["score", str(ngram), str(data / "hand.txt"), "--skip-unknown"])
    assert code == 0 and "per word" not in err and "bits/char" not in err, err  # the known pieces only
    assert "per piece (the unknown ones left out" in err, err  # and the perplexity says what it is of


def test_generate_writes_text_not_pieces(data, ngram, capsys):
    code, out, err = run_cli(capsys, ["generate", str(ngram), "--lines", "3", "--seed", "1"])
    assert code == 0, err
    assert len(out.splitlines()) == 3 and "▁" not in out and set(out) <= set((data / "train.txt").read_text("utf-8"))


@pytest.mark.parametrize("options, says", [
    (["--arpa", "m.arpa"], "--arpa cannot go with --level bpe: an ARPA file holds no SentencePiece model"),
    (["--max-vocab", "9"], "--max-vocab has no effect with --level bpe"),
    (["--min-count", "2"], "--min-count has no effect with --level bpe"),
])
def test_bad_options_are_one_line(data, tmp_path, capsys, options, says):
    options = [str(tmp_path / o) if o.endswith(".arpa") else o for o in options]
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(data / "train.txt"), "--level", "bpe", *options])
    assert code == 2 and err.count("\n") == 1 and says in err, err
    assert not list(tmp_path.iterdir())


def test_bpe_vocab_needs_level_bpe(data, capsys):
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(data / "train.txt"), "--bpe-vocab", "40"])
    assert code == 2 and "--bpe-vocab has no effect without --level bpe" in err, err


def test_save_ngram_needs_the_bpe_model_at_level_bpe(ngram, tmp_path):
    model, vocab, _, _ = load_language_model(ngram)
    with pytest.raises(ValueError, match="Expected bpe_model with level 'bpe'"):
        save_ngram(tmp_path / "x.safetensors", model, vocab, "bpe")
    with pytest.raises(ValueError, match="Expected bpe_model with level 'bpe'"):
        save_ngram(tmp_path / "x.safetensors", model, vocab, "word", checkpoint_bpe_model(ngram))


def test_an_rnn_interpolates_with_the_ngram_of_the_same_pieces(data, ngram, rnn, capsys):
    """Weight 1 is the RNN alone, 0 the n-gram alone (its own per-word figures); between, a mixture."""
    runs = {}
    for w in ("1", "0", "0.5"):
        code, out, err = run_cli(capsys, ["evaluate", str(rnn), str(data / "hand.txt"), "--interpolate", str(ngram),
                                          "--weight", w, "--json"])
        assert code == 0, err
        runs[w] = json.loads(out)
    code, out, err = run_cli(capsys, ["evaluate", str(rnn), str(data / "hand.txt"), "--batch-size", "1", "--json"])
    alone = json.loads(out)
    total, _ = _hand(ngram, data / "hand.txt")
    assert runs["1"]["word_ppl"] == pytest.approx(alone["word_ppl"], rel=1e-5)
    assert runs["1"]["model"]["bits_per_char"] == pytest.approx(alone["bits_per_char"], rel=1e-5)
    assert runs["0"]["word_ppl"] == pytest.approx(math.exp(total / 7), rel=1e-6)
    assert runs["0.5"]["interpolate"]["word_ppl"] == pytest.approx(math.exp(total / 7), rel=1e-6)
    assert runs["0.5"]["words"] == 7 and runs["0.5"]["chars"] == 20
    code, out, err = run_cli(capsys, ["evaluate", str(rnn), str(data / "hand.txt"), "--interpolate", str(ngram)])
    assert code == 0 and "per word" in out and "per piece" in out and "over " in out, out + err


def test_interpolation_refuses_other_pieces_or_levels_in_one_line(data, rnn, capsys):
    other = _ngram(data, data / "other.safetensors", "--bpe-vocab", "45")
    capsys.readouterr()
    code, _, err = run_cli(capsys, ["evaluate", str(rnn), str(data / "hand.txt"), "--interpolate", str(other)])
    assert code == 2 and err.count("\n") == 1 and "split text with different SentencePiece models" in err, err
    from rnnkit.cli.main import main

    word = data / "word.safetensors"
    assert main(["train", "ngram", "--train", str(data / "train.txt"), "--order", "2", "--save", str(word)]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, ["evaluate", str(rnn), str(data / "hand.txt"), "--interpolate", str(word)])
    assert code == 2 and err.count("\n") == 1 and "is a BPE-level one (--level bpe) while the other is not" in err


@pytest.mark.parametrize("value, says", [("not base64!", "bpe_model is not base64 text"),
                                         (None, "without its bpe_model"),
                                         ("AAAA", "Expected bpe_model to hold a SentencePiece model")])
def test_a_damaged_sentencepiece_model_in_an_ngram_checkpoint_is_one_line(ngram, tmp_path, capsys, value, says):
    from rnnkit import checkpoint as ckpt

    arrays, meta = ckpt.load_checkpoint(ngram)
    meta["task"]["bpe_model"] = value
    if value is None:
        del meta["task"]["bpe_model"]
    ckpt.save_checkpoint(tmp_path / "bad.safetensors", arrays, meta)
    for command in ("evaluate", "score"):
        code, out, err = run_cli(capsys, [command, str(tmp_path / "bad.safetensors"), str(ngram.parent / "hand.txt")])
        assert code == 2 and err.count("\n") == 1 and says in err and not out, err


def test_bpe_models_of_one_sentencepiece_model_but_other_pieces_are_refused_in_one_line(data, tmp_path, capsys):
    """The same SentencePiece model, another training text: other pieces seen alone, so other vocabularies."""
    from rnnkit.lm.bpe_text import counted_ids, sentences
    from rnnkit.lm.ngram import NGramLM

    model = learn((data / "train.txt").read_text(encoding="utf-8"), 40)
    for name, text in (("a", (data / "train.txt").read_text(encoding="utf-8")), ("b", "the cat sat\n")):
        got = counted_ids(sentences(text), model)[0]
        lm = NGramLM(2).fit(got.ids, len(got.vocab), eos_id=got.vocab.eos_id)
        lm.save(tmp_path / f"{name}.safetensors", vocab=got.vocab, level="bpe", bpe_model=model)
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "a.safetensors"), str(data / "hand.txt"),
                                    "--interpolate", str(tmp_path / "b.safetensors")])
    assert code == 2 and err.count("\n") == 1 and "have different vocabularies" in err, err
    assert err.rstrip().endswith("train both on the same file with the same --bpe-vocab"), err
