"""train classifier refuses data it cannot learn from with one clear line; classify keeps blank lines.

Before: one label trained a model that reported accuracy 1; one text failed with 'Expected
num_classes to be an integer >= 1, got 0'; two texts without --valid failed with 'Expected labels
among ['neg'] in the validation data, got ['pos']' (the automatic hold-out); classify dropped blank
input lines, so its output no longer lined up with the input.
"""
from __future__ import annotations

import io

from clirun import run_cli

TINY = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
        "--checkpoint-minutes", "0"]


def _tsv(path, rows):
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    return path


def _error(code, err):
    assert code == 2, err
    errors = [line for line in err.strip().splitlines() if line.startswith("rnnkit: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def test_a_single_label_is_refused(tmp_path, capsys):
    train = _tsv(tmp_path / "train.tsv", [("pos", "a good film"), ("pos", "great fun"), ("pos", "fine acting")])
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--run-dir", str(run), *TINY])
    assert _error(code, err) == (f"rnnkit: error: only one label ('pos') in {train}: a classifier needs at least two; "
                                 "add texts of another label")
    assert not (run / "metrics.jsonl").exists()
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--folds", "2",
                                    "--run-dir", str(run), *TINY])
    assert "only one label ('pos')" in _error(code, err)


def test_one_text_is_one_clear_line(tmp_path, capsys):
    train = _tsv(tmp_path / "one.tsv", [("pos", "a good film")])
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--run-dir", str(tmp_path / "r"), *TINY])
    line = _error(code, err)
    assert line.startswith(f"rnnkit: error: only 1 text in {train}: a classifier needs texts of at least two labels"), err
    assert "num_classes" not in err


def test_hold_out_that_takes_a_whole_label_says_to_give_valid(tmp_path, capsys):
    train = _tsv(tmp_path / "two.tsv", [("pos", "a good film"), ("neg", "a dull film")])
    run = tmp_path / "r"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--run-dir", str(run), *TINY])
    line = _error(code, err)
    assert line.startswith(f"rnnkit: error: without --valid, 1 of the 2 texts of {train} are held out for "
                           "validation (--valid-fraction 0.1), and that leaves no training text labelled "), err
    assert line.endswith("give a --valid file, more texts of every label, or --valid-fraction 0 to train "
                         "without validation"), err
    assert "Expected labels among" not in err and not (run / "metrics.jsonl").exists()
    # the ways out it names work
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid", str(train),
                                    "--run-dir", str(run), *TINY])
    assert code == 0, err
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid-fraction", "0",
                                    "--run-dir", str(tmp_path / "r0"), *TINY])
    assert code == 0, err
    # with --folds, where --valid is refused, it is not offered as the way out
    five = _tsv(tmp_path / "five.tsv", [("a", "x y"), ("a", "y z"), ("b", "z w"), ("b", "w v"), ("c", "v u")])
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(five), "--folds", "3",
                                    "--run-dir", str(tmp_path / "cv"), *TINY])
    line = _error(code, err)
    assert "--valid file" not in line and line.endswith("give more texts of every label, or --valid-fraction 0 to "
                                                        "train without validation"), line


def test_a_held_out_part_too_small_to_choose_an_epoch_is_warned_about_once(tmp_path, capsys):
    """7 held-out texts kept their accuracy tied at 4/7 for 25 epochs, so epoch 1 was kept, silently."""
    rows = [("pos" if k % 2 else "neg", f"text number {k} {'good' if k % 2 else 'dull'}") for k in range(60)]
    train = _tsv(tmp_path / "t.tsv", rows)
    said = "texts of {} are held out to pick the best epoch (--valid-fraction {}): their accuracy moves in steps"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--run-dir", str(tmp_path / "a"),
                                    *TINY])
    assert code == 0 and err.count("rnnkit: warning:") == 1 and said.format(train, "0.1") in err, err
    assert "only 6 of the 60 texts" in err and "steps of 17%" in err and "a --valid file" in err
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--folds", "3", "--run-dir",
                                    str(tmp_path / "cv"), *TINY])
    assert code == 0 and err.count("held out to pick the best epoch") == 1, err  # once, not once a fold
    assert "fold 1's training part" in err and "a --valid file" not in err, err
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid-fraction", "0.5",
                                    "--run-dir", str(tmp_path / "b"), *TINY])
    assert code == 0 and "held out to pick" not in err, err  # 30 texts: enough


def test_a_run_without_valid_says_what_it_holds_out_at_the_start(tmp_path, capsys):
    """The README walk: without --valid, 10% of --train was held out (and chose best.safetensors) unsaid."""
    rows = [("pos" if k % 2 else "neg", f"text number {k} {'good' if k % 2 else 'dull'}") for k in range(1200)]
    train = _tsv(tmp_path / "t.tsv", rows)
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--run-dir", str(tmp_path / "a"),
                                    *TINY])
    lines = err.splitlines()
    said = (f"valid: 120 of the 1,200 texts of {train} held out for validation (--valid-fraction 0.1; give "
            "--valid FILE, or --valid-fraction 0 to train on all)")
    assert code == 0 and lines[:2] == [lines[0], said] and lines[0].startswith("data: 1,200 texts"), err
    assert (tmp_path / "a" / "best.safetensors").exists()
    pos, neg = tmp_path / "p.txt", tmp_path / "n.txt"
    pos.write_text("".join(f"good {k}\n" for k in range(50)), encoding="utf-8")
    neg.write_text("".join(f"dull {k}\n" for k in range(50)), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--format", "polarity", "--pos", str(pos), "--neg",
                                    str(neg), "--valid-fraction", "0.2", "--run-dir", str(tmp_path / "p"), *TINY])
    assert code == 0 and (f"valid: 20 of the 100 texts of --pos {pos} / --neg {neg} held out for validation "
                          "(--valid-fraction 0.2; give --valid FILE (or --valid-pos F --valid-neg F), or "
                          "--valid-fraction 0 to train on all)") in err.splitlines(), err
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--folds", "3", "--run-dir",
                                    str(tmp_path / "cv"), *TINY])
    assert code == 0 and err.count("held out for validation") == 1, err  # once, not once a fold
    assert ("valid: 80 of the 800 texts of fold 1's training part held out for validation, and about as many of "
            "every fold's (--valid-fraction 0.1; --valid-fraction 0 to train on all)") in err.splitlines(), err
    for extra in (["--valid-fraction", "0"], ["--valid", str(train)]):
        code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), *extra, "--run-dir",
                                        str(tmp_path / "b"), *TINY])
        assert code == 0 and "held out" not in err, err


def test_classify_keeps_blank_lines_so_output_lines_up(tmp_path, capsys, monkeypatch):
    train = _tsv(tmp_path / "train.tsv", [("pos", "a good film"), ("neg", "a dull film")] * 3)
    run = tmp_path / "r"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid", str(train),
                                    "--run-dir", str(run), *TINY])
    assert code == 0, err
    model = str(run / "best.safetensors")
    text = "a good film\n\n   \na dull film\n\n"
    for probs in ([], ["--probs"]):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        code, out, err = run_cli(capsys, ["classify", model, *probs])
        lines = out.split("\n")
        assert code == 0 and out.endswith("\n") and len(lines) - 1 == len(text.split("\n")) - 1, out
        assert lines[1] == lines[2] == lines[4] == "", out
        assert lines[0].endswith("\ta good film") and lines[3].endswith("\ta dull film"), out
        assert lines[0].split("\t")[0] in ("pos", "neg") and len(lines[0].split("\t")) == 2 + len(probs), out
    infile = tmp_path / "in.txt"
    infile.write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", model, str(infile), "--probs"])
    assert code == 0 and out.count("\n") == 5 and out.split("\n")[1:3] == ["", ""], out
    monkeypatch.setattr("rnnkit.cli.classify.BLOCK", 2)  # classified and written 2 lines at a time: the same
    blocked = run_cli(capsys, ["classify", model, str(infile), "--probs"])[1]  # (in other batches: float32 rounding)
    rows, rows_blocked = ([r.split("\t") for r in o.split("\n")] for o in (out, blocked))
    assert [(r[0], r[-1]) for r in rows_blocked] == [(r[0], r[-1]) for r in rows]
    probs = [[float(q.split(":")[1]) for r in o.split("\n") if "\t" in r for q in r.split("\t")[1].split()]
             for o in (out, blocked)]
    assert len(probs[0]) == 4 and max(abs(a - b) for a, b in zip(*probs)) <= 2e-4, probs
    monkeypatch.setattr("rnnkit.cli.classify.BLOCK", 10_000)
    conllu = tmp_path / "in.conllu"  # each token line was classified as a text, silently (segment warned)
    conllu.write_text("# text = a good film\n1\ta\ta\tDET\t_\t_\t2\tdet\t_\t_\n"
                      "2\tgood\tgood\tADJ\t_\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", model, str(conllu)])
    assert code == 0 and f"{conllu} looks like CoNLL-U (its first line '# text = a good film' is a comment)" in err
    code, out, _ = run_cli(capsys, ["classify", "--help"])
    assert "blank input line gives an empty output line" in " ".join(out.split())


def test_training_data_options_that_would_be_ignored_are_refused(tmp_path, capsys):
    """--train with --format polarity, and --pos/--neg without it, were silently ignored."""
    train = _tsv(tmp_path / "train.tsv", [("pos", "a good film"), ("neg", "a dull film")] * 4)
    pos, neg = tmp_path / "p.txt", tmp_path / "n.txt"
    pos.write_text("a good film\n", encoding="utf-8")
    neg.write_text("a dull film\n", encoding="utf-8")
    run = ["--run-dir", str(tmp_path / "r"), *TINY]
    cases = [(["--train", str(train), "--format", "polarity", "--pos", str(pos), "--neg", str(neg)],
              f"--train {train} would be ignored"),
             (["--train", str(train), "--pos", str(pos)], "--pos and --neg are read with --format polarity"),
             (["--format", "polarity", "--neg", str(neg)], "--pos is missing"),
             (["--format", "polarity"], "--pos and --neg are missing"),
             ([], "no training data: give --train FILE"),
             (["--format", "polarity", "--pos", str(pos), "--neg", str(neg), "--header"],
              "--header has no effect with --format polarity (it skips a TSV file's first line): use --format tsv, "
              "or leave --header out")]
    for argv, said in cases:
        code, _, err = run_cli(capsys, ["train", "classifier", *argv, *run])
        assert said in _error(code, err), (argv, err)
    assert not (tmp_path / "r").exists()


def test_a_tsv_with_more_columns_is_read_with_a_warning(tmp_path, capsys):
    """label<TAB>text<TAB>extra: the extra column joins the text, as documented, and now says so."""
    train = tmp_path / "train.tsv"
    train.write_text("pos\ta good film\t7\nneg\ta dull film\nneg\tdull\t8\npos\tgood\n" * 3, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid-fraction", "0",
                                    "--run-dir", str(tmp_path / "r"), *TINY])
    assert code == 0, err
    assert (f"rnnkit: warning: {train}:1: 6 of 12 lines have more than two tab-separated columns; the text is "
            "everything after the first tab") in err, err


def test_more_folds_than_texts_names_the_option(tmp_path, capsys):
    train = _tsv(tmp_path / "train.tsv", [("pos", "a good film"), ("neg", "a dull film")] * 2)
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--folds", "5",
                                    "--run-dir", str(tmp_path / "r"), *TINY])
    assert _error(code, err) == (f"rnnkit: error: --folds 5 needs at least 5 texts (each fold holds some out to test "
                                 f"on), and {train} has 4; give --folds 4 or fewer")


def test_resuming_a_cross_validation_that_saved_nothing_names_the_folds_checkpoints(tmp_path, capsys):
    train = _tsv(tmp_path / "train.tsv", [("pos", "a good film"), ("neg", "a dull film")] * 4)
    (tmp_path / "cv").mkdir()
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--folds", "3", "--resume",
                                    "--run-dir", str(tmp_path / "cv"), *TINY])
    assert _error(code, err) == (f"rnnkit: error: {tmp_path / 'cv' / 'fold*' / 'last.safetensors'}: no checkpoint "
                                 "to resume from (the cross-validation stopped before its first fold's first, or it "
                                 "is another folder); start the run without --resume")
