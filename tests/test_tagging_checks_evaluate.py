"""tag and evaluate on files a tagging model cannot read as it was trained: one clear line, or a score with
a note (the checks of the training data: test_tagging_checks.py).

Each case used to give a score that means nothing (token accuracy 0.00%, gold tags outside the model's tag
set or scheme) or a message in terms no option fixes; a pipe was emptied by the look at its head."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

from clirun import run_cli, write_conllu
from tagcheck import BIO, IOB1, POS, _columns, _one_error_line, _train


def test_evaluating_a_column_file_without_a_gold_column_is_refused(tmp_path, capsys):
    """A one-column file against a model trained on word/tag columns: the tag column -1 was the word
    column, and evaluate reported 'token accuracy 0.00%' as a result."""
    train = _columns(tmp_path / "train.txt", [[(w, t) for w, t in s] for s in POS])
    model = str(tmp_path / "hmm.safetensors")
    assert run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "columns", "--output", model])[0] == 0
    words = tmp_path / "words.txt"
    words.write_text("the\ncat\n\na\ndog\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["evaluate", model, str(words)])
    assert _one_error_line(code, err) == (f"rnnkit: error: {words}:1: a line of 1 column, and the model reads gold "
                                          "tags from column 1 (as in its training data); give the file with its "
                                          "gold tags in that column, or tag it ('rnnkit tag') rather than evaluate "
                                          "it")
    code, out, err = run_cli(capsys, ["tag", model, str(words), "--format", "columns"])  # tagging it is fine
    assert code == 0 and out.splitlines()[0] == "the DET", err


def test_a_file_without_the_models_feature_column_is_said_in_the_models_terms(tmp_path, capsys):
    """tag and evaluate said 'feature column 1 asked for ...; choose one from 0 to 0': no option chooses it."""
    train = _columns(tmp_path / "train.txt", BIO * 4)
    code, _, err = run_cli(capsys, _train("tagger", tmp_path, "--train", str(train), "--format", "columns",
                                          "--feature-columns", "1", "--scheme", "bio"))
    assert code == 0, err
    model = str(next(p for p in (tmp_path / "run" / "best.safetensors", tmp_path / "run" / "last.safetensors")
                     if p.exists()))
    words = tmp_path / "words.txt"
    words.write_text("the\ncat\n\na\ndog\n", encoding="utf-8")
    for command, fix in (("tag", "the training data's columns (the tag column may be left out)"),
                         ("evaluate", "the training data's columns, its gold tags included")):
        argv = [command, model, str(words)] + (["--format", "columns"] if command == "tag" else [])
        line = _one_error_line(*run_cli(capsys, argv)[::2])
        assert line == (f"rnnkit: error: {words}:1: a line of 1 column, and the model reads feature column 1 as in "
                        f"its training data; give the file with {fix}"), line


def test_evaluate_names_gold_tags_the_model_does_not_know(tmp_path, capsys):
    """A model scored on another tag set (UPOS '_', a POS column read as chunks) reported 0% as a result."""
    train = write_conllu(tmp_path / "train.conllu", POS * 4)
    model = str(tmp_path / "hmm.safetensors")
    assert run_cli(capsys, ["train", "hmm", "--train", str(train), "--output", model])[0] == 0
    blank = write_conllu(tmp_path / "nogold.conllu", [[(w, "_") for w, _ in s] for s in POS])
    code, out, err = run_cli(capsys, ["evaluate", model, str(blank)])
    assert code == 0 and "token accuracy 0.00%" in out
    assert "6 of its 6 gold tags (100.0%: '_') are tags the model was not trained on" in err
    assert "is the file tagged in the model's tag set and column?" in err
    code, _, err = run_cli(capsys, ["evaluate", model, str(train)])
    assert code == 0 and "not trained on" not in err


def test_evaluate_of_a_span_model_on_tags_that_are_not_spans_names_the_file(tmp_path, capsys):
    train = _columns(tmp_path / "train.txt", BIO * 3)
    model = str(tmp_path / "hmm.safetensors")
    assert run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "columns", "--scheme", "bio",
                            "--output", model])[0] == 0
    pos = _columns(tmp_path / "pos.txt", [[(w, p, p) for w, p, _ in s] for s in BIO])  # POS in the chunk column
    code, _, err = run_cli(capsys, ["evaluate", model, str(pos)])
    line = _one_error_line(code, err)
    # where, as training's checks say it (file:line: sentence, counted from 1; it was "gold sentence 0")
    assert f"{pos}:1: sentence 1: gold tag 'DT' is not a BIO span tag (O, B-TYPE, I-TYPE)" in line, line
    assert "the model is scored on BIO spans; give the file with its tags in the model's scheme" in line, line
    bioes = [[(w, p, t) for (w, p, _), t in zip(s, tags)]  # the same chunks in BIOES
             for s, tags in zip(BIO, (["B-NP", "E-NP", "S-VP", "S-NP", "O"], ["S-NP", "S-VP", "O"]))]
    path = _columns(tmp_path / "bioes.txt", bioes)
    line = _one_error_line(*run_cli(capsys, ["evaluate", model, str(path)])[::2])
    assert line.startswith(f"rnnkit: error: {path}:2: sentence 1: gold tag 'E-NP' is not a BIO span tag"), line
    assert "(the file's tags look like BIOES)" in line, line
    # IOB1 gold: prefixes a BIO model knows, in moves BIO forbids; scored, with a note on token accuracy
    iob1 = _columns(tmp_path / "iob1.txt", IOB1)
    code, out, err = run_cli(capsys, ["evaluate", model, str(iob1)])
    assert code == 0 and "F1" in out, out
    assert f"{iob1}:1: sentence 1: I-NP at the start of a sentence is not legal BIO" in err, err
    assert "the gold tags look like IOB1; span F1 reads the spans either way" in err, err
    code, _, err = run_cli(capsys, ["evaluate", model, str(train)])
    assert code == 0 and "look like" not in err, err


def test_evaluate_says_the_models_format_not_an_option_it_lacks(tmp_path, capsys):
    model = str(tmp_path / "hmm.safetensors")
    assert run_cli(capsys, ["train", "hmm", "--train", str(write_conllu(tmp_path / "t.conllu", POS * 3)),
                            "--output", model])[0] == 0
    columns = _columns(tmp_path / "c.txt", BIO)
    code, _, err = run_cli(capsys, ["evaluate", model, str(columns)])
    line = _one_error_line(code, err)
    assert "The model reads CoNLL-U, as it was trained" in line and "--format" not in line


def test_segmented_text_through_a_pipe_is_read(tmp_path, capsys):
    """A pipe (bash's <(...)) cannot be read twice; the CoNLL-U look at its head emptied it."""
    seg = tmp_path / "seg.txt"
    seg.write_text("我們 喜歡 北京\n老師 在 大學 工作\n" * 4, encoding="utf-8")
    model = str(tmp_path / "seg.safetensors")
    assert run_cli(capsys, ["train", "hmm", "--train", str(seg), "--format", "segmented", "--output", model])[0] == 0
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(seg.read_bytes()), daemon=True)
    writer.start()
    # in a process of its own: a second open of the pipe waits for a writer that never comes
    done = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "evaluate", model, str(fifo)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "F1 100.00" in done.stdout, done.stderr
