"""``rnnkit train seq2seq``, ``rnnkit translate``, ``rnnkit evaluate`` (seq2seq) and ``rnnkit demo reverse``
end to end through ``rnnkit.cli.main.main``.  The BLEU tokenizer (Chinese targets):
test_cli_seq2seq_bleu_tokenize.py."""
from __future__ import annotations

import argparse
import io
import json

import numpy as np
import pytest
from seq2seq_cli import one_error_line, write
from threadpoolctl import threadpool_info

from rnnkit.cli.main import main
from rnnkit.cli.seq2seq_score import blas_threads
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import translate

sacrebleu = pytest.importorskip("sacrebleu")

WORDS = {"ein": "a", "rot": "red", "hund": "dog", "katze": "cat", "groß": "big", "läuft": "runs", "blau": "blue",
         "haus": "house", "klein": "small", "sieht": "sees"}


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """A toy 'translation': every word looked up, the order reversed, a full stop at the end."""
    rng = np.random.default_rng(seed)
    keys = sorted(WORDS)
    src, tgt = [], []
    for _ in range(n):
        words = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(2, 6))]
        src.append(" ".join(words) + " .")
        tgt.append(" ".join(WORDS[w] for w in reversed(words)).capitalize() + ".")
    return src, tgt


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("parallel")
    out = {}
    for split, n, seed in (("train", 240, 0), ("valid", 20, 1), ("test", 12, 2)):
        src, tgt = corpus(n, seed)
        out[split] = (write(d / f"{split}.de", src), write(d / f"{split}.en", tgt))
        out[split + "_tsv"] = write(d / f"{split}.tsv", [f"{s}\t{t}" for s, t in zip(src, tgt)])
    out["dir"] = d
    return out


SMALL = ["--level", "punct", "--embed", "16", "--hidden", "32", "--progress", "none", "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def model(files):
    run = files["dir"] / "run"
    code = main(["train", "seq2seq", "--train", *files["train"], "--valid", *files["valid"], "--epochs", "3",
                 "--lr", "0.01", "--bleu-sentences", "10", "--run-dir", str(run), *SMALL])
    assert code == 0
    return str(run / "best.safetensors")


def test_train_with_test_set_prints_bleu(files, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "seq2seq", "--train", *files["train"], "--valid", *files["valid"], "--test",
                 *files["test"], "--epochs", "1", "--beam", "2", "--cell", "lstm", "--attention", "additive",
                 "--no-input-feeding", "--layers", "2", "--dropout", "0.1", "--sampling-rate", "0.2",
                 "--lowercase", "--run-dir", str(run), *SMALL])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith("test: BLEU ") and "chrF" in out.out and "beam 2" in out.out, out.out
    assert "case:lc" in out.out, f"a lowercased model must be scored case-insensitively: {out.out}"
    cfg = load_translator(run / "best.safetensors").model.config
    assert (cfg.cell, cfg.attention, cfg.input_feeding, cfg.encoder_layers) == ("lstm", "additive", False, 2)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(m.get("type") == "epoch" and "valid_bleu" in m for m in metrics), metrics


def test_translate_greedy_beam_and_nbest(files, model, capsys, monkeypatch):
    src = [line for line in open(files["test"][0], encoding="utf-8").read().splitlines()]
    expected = [t[0].text for t in translate(load_translator(model), src)]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in src)))
    assert main(["translate", model]) == 0
    assert capsys.readouterr().out.splitlines() == expected
    assert main(["translate", model, files["test"][0], "--replace-unk"]) == 0  # no <unk> here: the same output
    assert capsys.readouterr().out.splitlines() == expected
    assert main(["translate", model, files["test"][0], "--beam", "3", "--nbest", "2", "--length-norm", "0.6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * len(src), lines
    for i, line in enumerate(lines):
        index, text, score = line.split(" ||| ")
        assert int(index) == i // 2 and float(score) <= 0.0, line
    beam = [t[0].text for t in translate(load_translator(model), src, beam_size=3, length_norm=0.6)]
    assert [line.split(" ||| ")[1] for line in lines[::2]] == beam


def test_translate_plots_attention(files, model, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["translate", model, files["test"][0], "--plot-attention", "2", "--plot-dir", str(tmp_path)]) == 0
    png = tmp_path / "attention_2.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in capsys.readouterr().err


def test_evaluate_prints_bleu_chrf_and_exact_match(files, model, capsys):
    src_path, ref_path = files["test"]
    hyps = [t[0].text for t in translate(load_translator(model), open(src_path, encoding="utf-8").read().splitlines())]
    refs = open(ref_path, encoding="utf-8").read().splitlines()
    bleu = sacrebleu.corpus_bleu(hyps, [refs]).score  # sacrebleu directly, as the oracle
    chrf = sacrebleu.corpus_chrf(hyps, [refs]).score
    assert main(["evaluate", model, src_path, "--ref", ref_path]) == 0
    out = capsys.readouterr().out
    assert f"BLEU {bleu:.2f}" in out and f"chrF {chrf:.2f}" in out and "exact match" in out, out
    assert main(["evaluate", model, files["test_tsv"], "--json"]) == 0  # the data argument as a TSV
    m = json.loads(capsys.readouterr().out)
    assert abs(m["bleu"] - bleu) < 1e-9 and abs(m["chrf"] - chrf) < 1e-9 and m["sentences"] == len(refs)
    assert m["exact_match"] == np.mean([h == r for h, r in zip(hyps, refs)])


def test_evaluate_reports_the_references_loss_as_validation_does(files, model, capsys):
    """evaluate's teacher-forced loss of the references on the validation pairs equals the validation
    loss the run logged for its best epoch (the same sum, batched alike), and its perplexity is exp of it."""
    best = [r for r in map(json.loads, open(files["dir"] / "run" / "metrics.jsonl", encoding="utf-8"))
            if r.get("type") == "epoch" and r.get("best")][-1]
    assert main(["evaluate", model, files["valid"][0], "--ref", files["valid"][1], "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert abs(m["loss"] - best["valid_loss"]) < 1e-6 * best["valid_loss"], (m["loss"], best)
    assert m["ppl"] == pytest.approx(np.exp(m["loss"])) and m["target_tokens"] > m["sentences"]
    assert main(["evaluate", model, files["valid"][0], "--ref", files["valid"][1]]) == 0
    assert f"reference loss {m['loss']:.4f} per target token (perplexity {m['ppl']:.2f}" in capsys.readouterr().out


def test_tsv_training_and_resume(files, tmp_path, capsys):
    run = str(tmp_path / "run")
    common = ["train", "seq2seq", "--train", files["train_tsv"], "--valid", files["valid_tsv"], "--epochs", "2",
              "--batch-size", "32", "--bleu-sentences", "0", "--run-dir", run, *SMALL]
    assert main(common + ["--max-steps", "3"]) == 0
    assert main(common + ["--resume"]) == 0
    epochs = [json.loads(x) for x in open(f"{run}/metrics.jsonl") if '"epoch"' in x and '"type": "epoch"' in x]
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[-1]["step"] == 16, epochs  # 240 pairs / 32 = 8 a epoch
    assert {e["selected_by"] for e in epochs} == {"loss"}, epochs
    capsys.readouterr()
    # another --select-by would compare BLEU with the NLL the best checkpoint was chosen by: refused
    cut = str(tmp_path / "cut")
    again = common[: common.index("--run-dir")] + ["--run-dir", cut, *SMALL]
    assert main(again + ["--max-steps", "3"]) == 0
    capsys.readouterr()
    bleu = [a if a != "0" or again[i - 1] != "--bleu-sentences" else "10" for i, a in enumerate(again)]
    assert main(bleu + ["--select-by", "bleu", "--resume"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("rnnkit: error")]
    assert len(errors) == 1 and "--select-by (select_by) 'loss' then, 'bleu' now" in errors[0], err


def test_weight_drop_is_recorded_and_training_differs(files, tmp_path, capsys):
    from rnnkit.checkpoint import load_checkpoint

    runs = {}
    for wd in ("0", "0.4"):
        run = tmp_path / f"wd{wd}"
        code = main(["train", "seq2seq", "--train", files["train_tsv"], "--valid", files["valid_tsv"], "--epochs", "1",
                     "--max-steps", "3", "--bleu-sentences", "0", "--dropout", "0", "--weight-drop", wd,
                     "--run-dir", str(run), *SMALL])
        err = capsys.readouterr().err
        assert code == 0 and "train: " in err and "--max-length" not in err, err  # none was given: none dropped
        arrays, meta = load_checkpoint(run / "last.safetensors")
        assert meta["task"]["seq2seq_config"]["weight_drop"] == float(wd)
        runs[wd] = arrays
    for name in ("model/encoder.weight_hh_l0", "model/encoder.weight_hh_l0_reverse", "model/decoder.weight_hh_l0"):
        assert not np.allclose(runs["0"][name], runs["0.4"][name]), name  # the masks changed the updates
    assert load_translator(tmp_path / "wd0.4" / "last.safetensors").model.config.weight_drop == 0.4
    capsys.readouterr()


def test_bad_inputs_give_one_line_and_exit_2(files, model, tmp_path, capsys, monkeypatch):
    d = tmp_path
    src, tgt = corpus(6, 5)
    short = write(d / "short.en", tgt[:5])
    s6 = write(d / "six.de", src)
    run = ["--epochs", "1", "--run-dir", str(d / "r"), *SMALL]
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, short, *run]), "six.de", "short.en", "line 6")
    holed = write(d / "holed.en", tgt[:2] + [""] + tgt[3:])
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, holed, *run]), "holed.en:3", "empty line")
    no_tab = write(d / "bad.tsv", [f"{src[0]}\t{tgt[0]}", src[1]])
    one_error_line(capsys, main(["train", "seq2seq", "--train", no_tab, *run]), "bad.tsv:2")
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, s6, s6, *run]), "--train", "3 files")
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, s6, "--select-by", "bleu", *run]), "--valid")
    # empty files are named with what they should have held; --test is read before any training
    empty = write(d / "empty.tsv", [])
    one_error_line(capsys, main(["train", "seq2seq", "--train", empty, *run]), "empty.tsv", "no training pairs",
                   "source<TAB>target")
    one_error_line(capsys, main(["train", "seq2seq", "--train", empty, empty, *run]), "no training pairs",
                   "parallel to the target sentences")
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, s6, "--valid", empty, *run]), "empty.tsv",
                   "no validation pairs")
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, s6, "--test", empty, *run]), "no test pairs")
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, s6, "--test", str(d / "none.tsv"), *run]),
                   "none.tsv", "no such file")
    one_error_line(capsys, main(["train", "seq2seq", "--train", s6, s6, "--max-length", "1", *run]),
                   "All 6 training pairs", "raise --max-length")
    assert not (d / "r").exists()  # nothing trained, and no run folder left behind
    missing = str(d / "nothing.safetensors")
    one_error_line(capsys, main(["translate", missing, s6]), "nothing.safetensors")
    one_error_line(capsys, main(["evaluate", missing, s6, "--ref", short]), "nothing.safetensors")
    one_error_line(capsys, main(["evaluate", model, s6, "--ref", short]), "six.de", "short.en")
    one_error_line(capsys, main(["translate", model, s6, "--beam", "2", "--nbest", "3"]), "--nbest 3 lists more translations than the beam keeps (--beam 2); add --beam 3")
    one_error_line(capsys, main(["translate", model, s6, "--plot-attention", "7"]), "--plot-attention")
    one_error_line(capsys, main(["translate", files["train"][0], s6]), "train.de")  # not a checkpoint


def test_dot_attention_size_mismatch_names_the_options(files, tmp_path, capsys):
    """Dot attention needs --hidden == directions x --encoder-hidden: said with the options a user typed,
    in one line, before the data are read (no 'train: ...' line first)."""
    run = ["--train", *files["train"], "--epochs", "1", "--run-dir", str(tmp_path / "r"), *SMALL]  # --hidden 32
    err = one_error_line(capsys, main(["train", "seq2seq", "--attention", "dot", "--encoder-hidden", "3", *run]),
                         "--attention dot", "--hidden", "2 x --encoder-hidden", "= 6", "got --hidden 32",
                         "--attention general", "set --hidden 6")
    assert "decoder_hidden_size" not in err and "dirs" not in err, err
    one_error_line(capsys, main(["train", "seq2seq", "--attention", "dot", "--encoder-hidden", "3", "--unidirectional",
                                 *run]), "--encoder-hidden (--unidirectional encoder) = 3", "set --hidden 3")
    one_error_line(capsys, main(["train", "seq2seq", "--attention", "dot", *run, "--hidden", "7"]),
                   "even --hidden", "got --hidden 7", "--hidden 6 or 8", "--unidirectional")
    assert not (tmp_path / "r").exists()


def test_evaluate_empty_file_names_it(model, tmp_path, capsys):
    empty = write(tmp_path / "empty.de", [])
    ref = write(tmp_path / "empty.en", [])
    err = one_error_line(capsys, main(["evaluate", model, empty, "--ref", ref]), empty, "empty file", ref)
    assert "hypothesis" not in err, err
    one_error_line(capsys, main(["evaluate", model, empty, "--ref", ref, "--json"]), empty, "empty file")
    one_error_line(capsys, main(["evaluate", model, empty]), empty, "empty file", "source<TAB>reference")


def test_demo_reverse_runs_and_reports_exact_match(tmp_path, capsys):
    code = main(["demo", "reverse", "--epochs", "1", "--train-size", "300", "--run-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "test exact match:" in out and "seen neither in training nor in validation" in out, out
    assert "examples (test strings):" in out, out
    assert "epoch 1: train loss" in out and "exact match on the 200 validation strings" in out, out
    assert (tmp_path / "best.safetensors").exists()


def test_demo_reverse_picks_its_epoch_on_strings_it_does_not_report_on():
    """The best epoch was chosen on the first 200 of the 500 strings the exact match was then reported on."""
    from rnnkit.demos.reverse import DEFAULTS, VALID_SIZE, make_data

    train, valid, test = make_data(DEFAULTS)
    sets = [{p.source_text for p in part} for part in (train, valid, test)]
    assert (len(train), len(valid), len(test)) == (DEFAULTS.train_size, VALID_SIZE, DEFAULTS.test_size)
    assert len(sets[1]) == VALID_SIZE and len(sets[2]) == DEFAULTS.test_size  # no repeats inside either
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]


def test_blas_threads_default_to_one_unless_asked():
    def blas_limits() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    if not blas_limits():
        pytest.skip("no BLAS library found by threadpoolctl")
    before = blas_limits()
    with blas_threads(argparse.Namespace(threads=None)):
        assert set(blas_limits()) == {1}
    with blas_threads(argparse.Namespace(threads=2)):
        assert blas_limits() == before  # main() has applied --threads itself
    assert blas_limits() == before


def test_options_that_would_be_ignored_are_refused(files, model, tmp_path, capsys):
    """--attention-size without additive attention, and evaluate's language-model options for a translation
    model, were accepted and silently ignored."""
    run = ["--train", *files["train"], "--epochs", "1", "--run-dir", str(tmp_path / "r"), *SMALL]
    one_error_line(capsys, main(["train", "seq2seq", "--attention", "none", "--attention-size", "8", *run]),
                   "--attention-size", "--attention none", "--attention additive")
    one_error_line(capsys, main(["train", "seq2seq", "--attention-size", "8", *run]), "--attention general")
    assert not (tmp_path / "r").exists()
    src_path, ref_path = files["test"]
    one_error_line(capsys, main(["evaluate", model, src_path, "--ref", ref_path, "--bptt", "20", "--batch-size", "4"]),
                   "--batch-size, --bptt do not apply to", "a translation model", "leave them out")


def test_translate_keeps_blank_lines_so_output_line_k_answers_input_line_k(files, model, tmp_path, capsys,
                                                                          monkeypatch):
    """A blank input line was refused ('empty line ... (delete the line)'); segment, tag and classify keep it."""
    src = open(files["test"][0], encoding="utf-8").read().splitlines()[:4]
    lines = ["", src[0], "   ", src[1], src[2], "", "\t", src[3], ""]
    expected = {i: t[0].text for i, t in zip([1, 3, 4, 7], translate(load_translator(model), src))}
    want = [expected.get(i, "") for i in range(len(lines))]
    holed = write(tmp_path / "holed.de", lines)
    assert main(["translate", model, holed]) == 0
    assert capsys.readouterr().out.split("\n") == [*want, ""]  # one output line per input line, blank for blank
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))
    assert main(["translate", model]) == 0
    assert capsys.readouterr().out.split("\n") == [*want, ""]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n\n"))  # nothing but blank lines: blank lines back
    assert main(["translate", model]) == 0
    assert capsys.readouterr().out == "\n\n"
    # n-best: the index is the 0-based input line; a blank line has one entry, the empty translation, score 0
    assert main(["translate", model, holed, "--beam", "3", "--nbest", "2"]) == 0
    rows = [line.split(" ||| ") for line in capsys.readouterr().out.splitlines()]
    beam = translate(load_translator(model), src, beam_size=3, nbest=2)
    assert [int(i) for i, _, _ in rows] == [0, 1, 1, 2, 3, 3, 4, 4, 5, 6, 7, 7, 8], rows
    for i, text, score in rows:
        if int(i) in expected:
            k = [1, 3, 4, 7].index(int(i))
            assert text in [t.text for t in beam[k]] and float(score) <= 0.0
        else:
            assert (text, score) == ("", "0.0000")
    one_error_line(capsys, main(["translate", model, holed, "--plot-attention", "3"]), "--plot-attention",
                         "line 3", "blank")


def test_attention_options_on_a_model_without_attention_fail_before_translating(files, model, tmp_path, capsys):
    """--plot-attention and --replace-unk read the attention: a model without it is refused before any
    sentence is translated (the plot used to fail after the whole file had been translated)."""
    run = ["--train", *files["valid"], "--epochs", "1", "--run-dir", str(tmp_path / "r"), *SMALL]
    one_error_line(capsys, main(["train", "seq2seq", "--attention", "none", "--replace-unk", *run]),
                   "--replace-unk", "--attention none", "--attention general")
    assert main(["train", "seq2seq", "--attention", "none", *run]) == 0
    plain = str(tmp_path / "r" / "last.safetensors")
    capsys.readouterr()
    src = files["test"][0]
    for option in (["--plot-attention", "1"], ["--replace-unk"]):
        code = main(["translate", plain, src, *option])
        out, err = capsys.readouterr()
        assert code == 2 and out == "", out  # nothing translated
        assert err == (f"rnnkit: error: {option[0]} reads the decoder's attention, and {plain} was trained with "
                       f"--attention none; leave {option[0]} out or use a model trained with attention\n")
    one_error_line(capsys, main(["evaluate", plain, src, "--ref", files["test"][1], "--replace-unk"]),
                   "--replace-unk reads the decoder's attention")
    # a --plot-dir that cannot be a folder, and an empty input, are said before translating too
    pytest.importorskip("matplotlib")
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    code = main(["translate", model, src, "--plot-attention", "1", "--plot-dir", str(blocker)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and f"--plot-dir {blocker}: cannot make the folder ({blocker} is a file" in err
    empty = write(tmp_path / "empty.de", [])
    one_error_line(capsys, main(["translate", model, empty, "--plot-attention", "1"]), "empty.de has no lines")


def test_evaluate_exact_match_is_validations(files, tmp_path, capsys):
    """evaluate's exact match compares tokens under the model's target tokenizer, as validation's "valid exact"
    does (their ids): on the validation pairs the run scored (--bleu-sentences 10), with the references written
    otherwise ("Dog red a ." for "Dog red a."), the two agree."""
    run = tmp_path / "run"
    assert main(["train", "seq2seq", "--train", *files["train"], "--valid", *files["valid"], "--epochs", "30",
                 "--lr", "0.02", "--bleu-sentences", "10", "--run-dir", str(run), *SMALL]) == 0
    best = [r for r in map(json.loads, open(run / "metrics.jsonl", encoding="utf-8"))
            if r.get("type") == "epoch" and r.get("best")][-1]
    src = open(files["valid"][0], encoding="utf-8").read().splitlines()[:10]
    refs = open(files["valid"][1], encoding="utf-8").read().splitlines()[:10]
    spaced = write(tmp_path / "spaced.tsv", [f"{s}\t{r[:-1]} ." for s, r in zip(src, refs)])
    capsys.readouterr()
    assert main(["evaluate", str(run / "best.safetensors"), spaced, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert best["valid_exact"] > 0 and m["exact_match"] == pytest.approx(best["valid_exact"]), (m, best)


def test_evaluate_json_records_every_decoding_option(files, model, capsys):
    """A --json record says how its translations were made: every decoding option, not --beam alone."""
    src_path, ref_path = files["test"]
    assert main(["evaluate", model, src_path, "--ref", ref_path, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert {k: m[k] for k in ("beam", "beam_stop", "length_norm", "coverage_penalty", "no_repeat_ngram", "min_len",
                              "max_len", "replace_unk")} == {
        "beam": 1, "beam_stop": "k-finished", "length_norm": 0.0, "coverage_penalty": 0.0, "no_repeat_ngram": None,
        "min_len": 1, "max_len": None, "replace_unk": False}
    assert main(["evaluate", model, src_path, "--ref", ref_path, "--json", "--beam", "3", "--length-norm", "0.6",
                 "--coverage-penalty", "0.2", "--beam-stop", "bound", "--no-repeat-ngram", "3", "--min-len", "2",
                 "--max-len", "30", "--replace-unk"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert (m["beam"], m["beam_stop"], m["length_norm"], m["coverage_penalty"], m["no_repeat_ngram"], m["min_len"],
            m["max_len"], m["replace_unk"]) == (3, "bound", 0.6, 0.2, 3, 2, 30, True), m


def test_the_pairs_count_names_those_max_length_dropped_only_when_there_are_some(files, tmp_path, capsys):
    said = {}
    for longest in ("100", "3"):
        assert main(["train", "seq2seq", "--train", files["train_tsv"], "--max-length", longest, "--max-steps", "1",
                     "--run-dir", str(tmp_path / longest), *SMALL]) == 0
        out = capsys.readouterr()
        said[longest] = next(line for line in (out.out + out.err).splitlines() if line.startswith("train: "))
    assert said["100"].startswith("train: 240 pairs; vocabulary"), said  # none dropped: no "(0 ... dropped)"
    dropped = int(said["3"].split("(")[1].split()[0])
    assert said["3"].startswith(f"train: {240 - dropped} pairs ({dropped} longer than --max-length dropped)"), said
