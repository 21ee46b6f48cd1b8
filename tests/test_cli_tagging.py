"""End to end through ``rnnkit.cli.main.main``: train tagger / hmm, tag, segment, evaluate (the classifier:
test_cli_classifier.py)."""
from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import SMALL, run_cli, write_conllu

from rnnkit.checkpoint import load_checkpoint

LEXICON = {"DET": ["the", "a", "this"], "ADJ": ["big", "red", "old"], "NOUN": ["cat", "dog", "house", "car"],
           "VERB": ["sees", "likes", "has"]}


def _pos_sentences(rng, n):
    out = []
    for _ in range(n):
        pattern = ["DET"] + ["ADJ"] * int(rng.integers(0, 2)) + ["NOUN", "VERB", "DET", "NOUN"]
        out.append([(LEXICON[t][int(rng.integers(len(LEXICON[t])))], t) for t in pattern])
    return out


def _chunk_sentences(rng, n):
    """word POS chunk lines: NP = DET (ADJ) NOUN, VP = VERB."""
    out = []
    for _ in range(n):
        sent = []
        for chunk in ["NP", "VP", "NP"]:
            pattern = (["DET"] + ["ADJ"] * int(rng.integers(0, 2)) + ["NOUN"]) if chunk == "NP" else ["VERB"]
            for i, t in enumerate(pattern):
                sent.append((LEXICON[t][int(rng.integers(len(LEXICON[t])))], t, ("B-" if i == 0 else "I-") + chunk))
        out.append(sent)
    return out




@pytest.fixture()
def pos_files(tmp_path):
    rng = np.random.default_rng(0)
    train, valid = tmp_path / "train.conllu", tmp_path / "dev.conllu"
    write_conllu(train, _pos_sentences(rng, 60))
    write_conllu(valid, _pos_sentences(rng, 15))
    return train, valid


def test_train_tagger_evaluate_and_tag(tmp_path, capsys, monkeypatch, pos_files):
    train, valid = pos_files
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--valid", str(valid), "--test", str(valid),
                                   "--crf", "--char-features", "--char-embed", "4", "--char-hidden", "4",
                                   "--epochs", "3", "--lr", "0.03", "--weight-drop", "0.2", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    assert load_checkpoint(run / "best.safetensors")[1]["task"]["tagger_config"]["weight_drop"] == 0.2
    acc = float(re.search(r"test: token accuracy ([\d.]+)%", out).group(1))
    assert acc > 90, out
    model = str(run / "best.safetensors")
    code, out, _ = run_cli(capsys, ["evaluate", model, str(valid)])
    assert code == 0 and f"token accuracy {acc:.2f}%" in out, out

    monkeypatch.setattr("sys.stdin", io.StringIO("the big dog sees a cat\n\nthis car has a house\n"))
    code, out, _ = run_cli(capsys, ["tag", model])
    lines = out.split("\n")
    assert code == 0 and lines[0].split(" ")[2] == "dog/NOUN" and lines[1] == "", out
    assert [t.rsplit("/", 1)[0] for t in lines[2].split()] == "this car has a house".split()
    # tagged and written a block of lines at a time: blocks of 2 give the same text (on stdout and to a file)
    text = "the big dog sees a cat\n\nthis car has a house\na cat\n\n\nthe dog\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    whole = run_cli(capsys, ["tag", model])[1]
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 2)
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert run_cli(capsys, ["tag", model])[1] == whole and whole.count("\n") == 7
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert run_cli(capsys, ["tag", model, "--output", str(tmp_path / "tags.txt.gz")])[0] == 0
    assert gzip.decompress((tmp_path / "tags.txt.gz").read_bytes()).decode() == whole
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 10_000)
    # standard input is decoded with --encoding like a file (it used to become U+FFFD silently)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("the caf\u00e9 sees a cat\n".encode("cp1252"))))
    code, out, err = run_cli(capsys, ["tag", model])
    assert code == 2 and err.startswith("rnnkit: error: <stdin>:1: byte 0xe9 at offset 7 is not valid UTF-8"), err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("the caf\u00e9 sees a cat\n".encode("cp1252"))))
    code, out, err = run_cli(capsys, ["tag", model, "--encoding", "cp1252"])
    assert code == 0 and out.split()[1].startswith("caf\u00e9/"), out

    # the input file after an option (argparse used to say "unrecognized arguments: FILE")
    code, between, err = run_cli(capsys, ["tag", model, "--format", "conllu", str(valid)])
    assert code == 0, err
    code, after, _ = run_cli(capsys, ["tag", model, str(valid), "--format", "conllu"])
    assert code == 0 and between == after and between.strip()
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 2)  # tagged and written 2 sentences at a time: the same text
    assert run_cli(capsys, ["tag", model, str(valid), "--format", "conllu"])[1] == after and after.count("\n\n") > 2
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 10_000)
    code, _, err = run_cli(capsys, ["tag", model, "--format", "conllu", str(valid), "extra.txt"])
    assert code == 2 and "unrecognized arguments: extra.txt" in err, err

    pred = tmp_path / "pred.conllu"
    code, _, _ = run_cli(capsys, ["tag", model, str(valid), "--format", "conllu", "--output", str(pred)])
    gold_lines = valid.read_text().splitlines()
    pred_lines = pred.read_text().splitlines()
    assert code == 0 and len(gold_lines) == len(pred_lines)
    for g, p in zip(gold_lines, pred_lines):
        g_cols, p_cols = g.split("\t"), p.split("\t")
        assert g_cols[:3] == p_cols[:3] and g_cols[4:] == p_cols[4:], "only UPOS may change"
    # an --output that cannot be written is refused before tagging, naming the option and the fix
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for output, said in ((tmp_path, f"--output {tmp_path} is a folder; give a file name"),
                         (tmp_path / "afile" / "x.txt", f"{tmp_path / 'afile'} is a file, not a folder"),
                         (model, "is a file this command reads"),  # the model: it was replaced by tags
                         (valid, "is a file this command reads")):  # its gold tags were replaced by predictions
        before = Path(output).read_bytes() if Path(output).is_file() else None
        code, out, err = run_cli(capsys, ["tag", model, str(valid), "--format", "conllu", "--output", str(output)])
        assert code == 2 and out == "" and err.startswith("rnnkit: error: ") and said in err, err
        assert "Errno" not in err and err.count("\n") == 1, err
        assert before is None or Path(output).read_bytes() == before
    # a missing folder is made, as train's --run-dir and train hmm's --output are (it was refused)
    nested = tmp_path / "none" / "deeper" / "x.conllu"
    code, _, err = run_cli(capsys, ["tag", model, str(valid), "--format", "conllu", "--output", str(nested)])
    assert code == 0 and err == "" and nested.read_text(encoding="utf-8") == pred.read_text(encoding="utf-8"), err
    # CoNLL-U read as raw text (the default --format): its token lines were tagged column by column, silently
    code, out, err = run_cli(capsys, ["tag", model, str(valid)])
    assert code == 0 and f"{valid} looks like CoNLL-U (" in err and "give --format conllu to tag its words" in err
    assert err.count("\n") == 1, err
    code, out, err = run_cli(capsys, ["tag", model, str(valid), "--format", "conllu"])
    assert code == 0 and err == "", err


def test_chunker_with_feature_column_reports_spans(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(1)
    files = {}
    for name, n in (("train", 60), ("test", 15)):
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text("".join(" ".join(r) + "\n" for s in _chunk_sentences(rng, n) for r in s + [()])
                               .replace("\n\n\n", "\n\n"), encoding="utf-8")
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, ["train", "tagger", "--train", str(files["train"]), "--valid", str(files["test"]),
                                   "--format", "columns", "--scheme", "bio", "--feature-columns", "1",
                                   "--epochs", "3", "--lr", "0.03", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    epochs = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["type"] == "epoch"]
    assert {e["selected_by"] for e in epochs} == {"f1"} and all("valid_f1" in e for e in epochs), epochs  # span F1
    code, out, _ = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(files["test"])])
    assert code == 0 and re.search(r"spans precision [\d.]+% recall [\d.]+% F1 [\d.]+", out) and "NP:" in out, out
    f1 = float(re.search(r"F1 ([\d.]+)", out).group(1))
    assert f1 > 80, out
    code, tagged, _ = run_cli(capsys, ["tag", str(run / "best.safetensors"), str(files["test"]), "--format", "columns"])
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 1)  # a sentence at a time: the same text
    again = run_cli(capsys, ["tag", str(run / "best.safetensors"), str(files["test"]), "--format", "columns"])[1]
    assert again == tagged
    first = tagged.splitlines()[0].split()
    assert code == 0 and len(first) == 4 and first[3] in ("B-NP", "I-NP", "B-VP", "I-VP", "O"), tagged
    # the tagged file has a column more; the model still reads its gold tags from column 2 (the training
    # file's last), not the appended predictions (which once scored 100): set those to O, the score stays
    wide = tmp_path / "tagged.txt"
    wide.write_text(re.sub(r" \S+$", " O", tagged, flags=re.M), encoding="utf-8")
    code, again, _ = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(wide)])
    assert code == 0 and float(re.search(r"F1 ([\d.]+)", again).group(1)) == f1, again
    # from Python, words without the feature column: the message says how to read them, not only the option
    from rnnkit.tagging.confidence import confidence
    from rnnkit.tagging.io import raw_sentences, read_tagged
    from rnnkit.tagging.loaded import LoadedTagger

    loaded = LoadedTagger(run / "best.safetensors")
    for call in (loaded.predict, lambda data: confidence(loaded, data)):
        with pytest.raises(ValueError, match=r"feature columns \[1\], got sentences without features: pass "
                                             r"features=.* or read a column file as the model does \(read_tagged"):
            call(raw_sentences(["the cat sat"]))
    assert len(loaded.predict(read_tagged(files["test"], loaded.spec))[0]) > 0


def test_tag_warns_of_a_column_file_read_as_raw_text(tmp_path, capsys):
    """The README walk: a chunker's column file given to tag without --format columns had each of its token
    lines tagged as a sentence of its fields, with no word said."""
    rng = np.random.default_rng(3)
    train = tmp_path / "train.txt"
    train.write_text("".join(" ".join(r) + "\n" for s in _chunk_sentences(rng, 20) for r in s + [()]),
                     encoding="utf-8")
    model = tmp_path / "hmm.safetensors"
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "columns", "--output",
                                    str(model)])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["tag", str(model), str(train)])
    first, *rest = err.splitlines()  # and its token lines, read as sentences, mostly have probability 0
    assert code == 0 and first == (f"rnnkit: warning: {train} looks like a column file (3 columns, one token a "
                                   "line), and --format raw (the default) reads one sentence a line: give --format "
                                   "columns")
    assert all("probability 0 under the model" in line for line in rest), rest
    asked = run_cli(capsys, ["tag", str(model), str(train), "--format", "raw"])[2]  # asked for: not warned of
    assert "looks like" not in asked and all("probability 0 under" in line for line in asked.splitlines())
    assert run_cli(capsys, ["tag", str(model), str(train), "--format", "columns"])[2] == ""
    texts = {"en.txt": "the big cat sees a dog\nthe dog likes the old house\n\na red car\nthis cat has a car\n"
                       "the old dog sees this big house\n",
             "pairs.txt": "the cat\n\na dog\n\nthe car\n\nthis house\n",  # two words a line, a line a block
             "zh.txt": "我們喜歡北京\n老師在大學工作\n\n學生是老師\n我們在北京工作\n"}
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        code, _, err = run_cli(capsys, ["tag", str(model), str(tmp_path / name)])
        assert code == 0 and "column file" not in err, (name, err)


WORDS = ["我們", "喜歡", "北京", "大學", "學生", "的", "是", "老師", "在", "工作"]


def test_segmenter_and_hmm(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(2)
    for name, n in (("train", 80), ("dev", 20)):
        lines = ["  ".join(str(w) for w in rng.choice(WORDS, int(rng.integers(3, 8)))) for _ in range(n)]
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    train, dev = str(tmp_path / "train.txt"), str(tmp_path / "dev.txt")
    run = tmp_path / "seg"
    code, out, err = run_cli(capsys, ["train", "tagger", "--train", train, "--valid", dev, "--format", "segmented",
                                   "--bigrams", "--bigram-embed", "8", "--crf", "--epochs", "4", "--lr", "0.03",
                                   "--run-dir", str(run), *SMALL])
    assert code == 0, err
    model = str(run / "best.safetensors")
    code, out, _ = run_cli(capsys, ["evaluate", model, dev])
    assert code == 0 and "words precision" in out and "OOV rate 0.00%" in out, out  # dev uses the train words
    assert "OOV recall n/a (no OOV words)" in out and "nan" not in out, out
    assert float(re.search(r"F1 ([\d.]+)", out).group(1)) > 80, out
    code, out, _ = run_cli(capsys, ["evaluate", model, dev, "--json"])
    scores = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON: {out}"))
    assert code == 0 and scores["oov_recall"] is None and scores["oov_rate"] == 0.0, out
    (tmp_path / "blank.txt").write_text("\n\n", encoding="utf-8")  # nothing to score: an error, not F1 0.00
    code, out, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "blank.txt")])
    assert code == 2 and "blank.txt: expected segmented sentences" in err and "only 2 blank lines" in err, err
    monkeypatch.setattr("sys.stdin", io.StringIO("我們喜歡北京\n\n老師在大學工作 學生\n"))
    code, out, _ = run_cli(capsys, ["segment", model])
    lines = out.split("\n")
    assert code == 0 and lines[0].replace(" ", "") == "我們喜歡北京" and lines[1] == ""
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 1)  # segmented and written a line at a time: the same text
    monkeypatch.setattr("sys.stdin", io.StringIO("我們喜歡北京\n\n老師在大學工作 學生\n"))
    assert run_cli(capsys, ["segment", model])[1] == out
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 10_000)
    # a line longer than LONG_LINE is read in pieces cut after its sentence ends: the words of the pieces,
    # each segmented as a line of its own (a book as one line once took 1.5 GB for 150,000 characters)
    pieces = ["我們喜歡北京。", "老師在大學工作！", "學生喜歡老師，", "北京大學"]  # the cuts of LONG_LINE 9
    monkeypatch.setattr("rnnkit.tagging.segmenter.LONG_LINE", 9)
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(pieces) + "\n"))
    long_line = run_cli(capsys, ["segment", model])[1]
    monkeypatch.setattr("rnnkit.tagging.segmenter.LONG_LINE", 5_000)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(pieces) + "\n"))
    apart = run_cli(capsys, ["segment", model])[1]
    assert long_line == " ".join(apart.split()) + "\n" and long_line.replace(" ", "") == "".join(pieces) + "\n"
    # --output compressed by its name, as inputs are read
    monkeypatch.setattr("sys.stdin", io.StringIO("我們喜歡北京\n"))
    code, _, err = run_cli(capsys, ["segment", model, "--output", str(tmp_path / "out.txt.gz")])
    assert code == 0 and gzip.decompress((tmp_path / "out.txt.gz").read_bytes()).decode().replace(" ", "") == \
        "我們喜歡北京\n", err
    raw = tmp_path / "raw.txt"  # segmenting a file into itself would lose the raw text: refused
    raw.write_text("我們喜歡北京\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["segment", model, str(raw), "--output", str(raw)])
    assert code == 2 and "is a file this command reads" in err and raw.read_text(encoding="utf-8") == "我們喜歡北京\n"
    # a terminal that cannot show Chinese: one line saying how to get UTF-8, not a codec traceback
    monkeypatch.setattr("sys.stdin", io.StringIO("我們喜歡北京\n"))
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    code, _, err = run_cli(capsys, ["segment", model])
    assert code == 2 and "in the ascii encoding" in err and "PYTHONIOENCODING=utf-8" in err, err
    assert "--encoding" not in err, err  # --encoding is segment's input encoding: no help for stdout
    monkeypatch.undo()
    assert lines[2].replace(" ", "") == "老師在大學工作學生" and lines[2].endswith(" 學生"), out

    hmm = str(tmp_path / "hmm.safetensors")
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", train, "--test", dev, "--format", "segmented",
                                   "--order", "2", "--output", hmm])
    assert code == 0 and "test: words precision" in out, err
    code, out, _ = run_cli(capsys, ["evaluate", hmm, dev])
    assert code == 0 and float(re.search(r"F1 ([\d.]+)", out).group(1)) > 80, out
    code, out, err = run_cli(capsys, ["tag", hmm])
    assert code == 2 and "rnnkit segment" in err


def test_hmm_pos_tagger(tmp_path, capsys, pos_files):
    train, valid = pos_files
    hmm = str(tmp_path / "hmm.safetensors")
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--valid", str(valid), "--output", hmm])
    assert code == 0 and "valid: token accuracy" in out, err
    code, out, _ = run_cli(capsys, ["evaluate", hmm, str(valid), "--json"])
    assert code == 0 and '"accuracy"' in out
    # add_k's k is an option (it was fixed at 0.1), saved with the model, and refused for another emission
    from rnnkit.tagging.loaded import LoadedTagger

    for k in ("0.1", "2.5"):
        path = str(tmp_path / f"hmm{k}.safetensors")
        argv = ["train", "hmm", "--train", str(train), "--emission", "add_k", "--add-k", k, "--output", path]
        assert run_cli(capsys, argv)[0] == 0
    small, large = (LoadedTagger(tmp_path / f"hmm{k}.safetensors").model for k in ("0.1", "2.5"))
    assert (small.k, large.k) == (0.1, 2.5)
    assert not np.allclose(small.log_emit_, large.log_emit_)
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--add-k", "1", "--output", hmm])
    assert code == 2 and "--add-k has no effect without --emission add_k (it is its k): add it" in err, err


def test_missing_seqeval_is_said_before_training(tmp_path, capsys, monkeypatch):
    """Span F1 needs seqeval: without it, train tagger / train hmm stop at once with the install hint
    (before, the tagger trained a whole epoch and then failed); without a file to score they train."""
    rng = np.random.default_rng(4)
    data = tmp_path / "chunks.txt"
    data.write_text("".join(" ".join(r) + "\n" for s in _chunk_sentences(rng, 8) for r in s + [()])
                    .replace("\n\n\n", "\n\n"), encoding="utf-8")
    monkeypatch.setitem(sys.modules, "seqeval", None)  # makes "import seqeval" fail
    hint = "rnnkit: error: span F1 needs seqeval: pip install 'rnnkit[tagging]' (or pip install seqeval)"
    run = tmp_path / "run"
    held = shutil.copy(data, tmp_path / "held.txt")  # not the training file, which is warned about
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(data), "--valid", str(held), "--format",
                                    "columns", "--scheme", "bio", "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 2 and err.strip() == hint, err
    assert not (run / "metrics.jsonl").exists()  # nothing was trained
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(data), "--test", str(held), "--format", "columns",
                                    "--scheme", "bio", "--output", str(tmp_path / "hmm.safetensors")])
    assert code == 2 and err.strip() == hint and not (tmp_path / "hmm.safetensors").exists(), err
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(data), "--format", "columns", "--scheme", "bio",
                                    "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0, err


def test_bad_data_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tthe\tthe\tDET\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["train", "tagger", "--train", str(bad), "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 2 and "bad.conllu:1:" in err and len(err.strip().splitlines()) == 1, err
    good = tmp_path / "good.txt"
    good.write_text("the DET\ncat NOUN\n\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(good), "--format", "columns", "--scheme", "bio",
                                 "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 2 and "--scheme bio" in err and len(err.strip().splitlines()) == 1, err


def test_line_pieces_cut_after_sentence_ends_then_commas_then_anywhere():
    from rnnkit.tagging.segmenter import line_pieces

    assert line_pieces("短句。", 5) == [(0, 3)]  # within the limit: whole
    text = "一二三。四五六七！」八九，十一二三四五六七八"
    spans = line_pieces(text, 8)
    assert [text[a:b] for a, b in spans] == ["一二三。", "四五六七！」", "八九，", "十一二三四五六七", "八"]
    assert spans[0][0] == 0 and spans[-1][1] == len(text) and all(b == c for (_, b), (c, _) in zip(spans, spans[1:]))


def test_train_tagger_with_a_gru_reading_left_to_right(tmp_path, capsys):
    """--cell gru --unidirectional: the checkpoint holds a one-direction GRU, tag and evaluate load it,
    and a --resume with another --cell is refused."""
    rng = np.random.default_rng(3)
    train = tmp_path / "train.conllu"
    write_conllu(train, _pos_sentences(rng, 40))
    args = ["train", "tagger", "--train", str(train), "--valid", str(train), "--epochs", "2", "--cell", "gru",
            "--unidirectional", "--crf", "--lr", "0.05", "--run-dir", str(tmp_path / "run"), *SMALL]
    code, _, err = run_cli(capsys, args)
    assert code == 0, err
    arrays, meta = load_checkpoint(tmp_path / "run" / "best.safetensors")
    cfg = meta["task"]["tagger_config"]
    assert (cfg["cell"], cfg["bidirectional"]) == ("gru", False), cfg
    assert arrays["model/rnn.weight_hh_l0"].shape == (24, 8) and "model/rnn.weight_hh_l0_reverse" not in arrays
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "best.safetensors"), str(train)])
    assert code == 0 and "accuracy" in out, (out, err)
    code, _, err = run_cli(capsys, [*args[:8], "--cell", "lstm", *args[10:], "--resume", "--epochs", "3"])
    assert code == 2 and "--cell (tagger_config.cell): 'gru' then, 'lstm' now" in err.strip().splitlines()[-1], err
    code, _, err = run_cli(capsys, [*args[:10], *args[11:], "--resume", "--epochs", "3"])  # both directions now
    assert code == 2 and "--unidirectional (tagger_config.bidirectional) given then, not given now" in err, err
