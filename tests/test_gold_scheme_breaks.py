"""Gold tags that break the span scheme (``O I-LOC`` under BIO) in ``evaluate``'s file, ``--valid`` or ``--test``
were scored silently, though training refuses them: one warning a file, with how many sentences break it, the
first one's line, and how they are scored (as conlleval reads spans)."""
from __future__ import annotations

import pytest
from clirun import run_cli

SENTENCE = "John B-PER\nSmith I-PER\nlives O\nin O\nNew B-LOC\nYork I-LOC\n\n"


def _write(path, n, broken_at=()):
    """``n`` sentences of 6 lines and a blank one; those of ``broken_at`` (0-based) with O I-LOC in place of
    O B-LOC (line 5 of the sentence)."""
    text = "".join(SENTENCE.replace("New B-LOC", "New I-LOC") if k in broken_at else SENTENCE for k in range(n))
    path.write_text(text, encoding="utf-8")
    return path


def test_scheme_breaks_names_each_broken_sentence_once():
    from rnnkit.tagging.checks import scheme_breaks, scheme_violation

    sentences = [["O", "I-LOC", "O", "I-PER"], ["B-LOC", "I-LOC"], ["I-LOC"], ["B-PER", "I-LOC"]]
    assert [k for k, _, _ in scheme_breaks(sentences, "bio")] == [0, 2, 3]
    assert scheme_violation(sentences, "bio")[:2] == (0, 1) == scheme_breaks(sentences, "bio")[0][:2]
    assert scheme_breaks([["B-LOC", "E-LOC"]], "bioes") == [] and len(scheme_breaks([["B-LOC", "O"]], "bioes")) == 1


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("breaks")
    _write(d / "train.txt", 20)
    _write(d / "valid.txt", 10, broken_at=(2, 5, 6))
    _write(d / "test.txt", 10, broken_at=(9,))
    return d


def test_valid_and_test_files_that_break_the_scheme_are_warned_of_once_each(run, capsys):
    base = ["train", "tagger", "--train", str(run / "train.txt"), "--format", "columns", "--scheme", "bio", "--embed",
            "4", "--hidden", "4", "--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]
    code, _, err = run_cli(capsys, [*base, "--valid", str(run / "valid.txt"), "--test", str(run / "test.txt"),
                                    "--run-dir", str(run / "r")])
    assert code == 0, err
    said = [line for line in err.splitlines() if "break BIO" in line]
    assert len(said) == 2, err
    assert said[0].startswith(f"rnnkit: warning: {run / 'valid.txt'}: 3 of its 10 sentences have gold tags that "
                              f"break BIO, which training refuses (the first at {run / 'valid.txt'}:19: sentence 3: "
                              "O followed by I-LOC is not legal BIO"), said[0]
    assert "scored as conlleval scores them: span F1 reads their spans as conlleval does (O I-LOC opens a LOC span " \
           "at the I-" in said[0]
    assert said[1].startswith(f"rnnkit: warning: {run / 'test.txt'}: 1 of its 10 sentences"), said[1]
    code, _, err = run_cli(capsys, [*base, "--valid", str(run / "train.txt"), "--run-dir", str(run / "clean")])
    assert code == 0 and "break BIO" not in err, err  # the control: a file that follows BIO is not warned of
    code, out, err = run_cli(capsys, ["evaluate", str(run / "r" / "best.safetensors"), str(run / "valid.txt")])
    assert code == 0 and err.count("break BIO") == 1 and err.count("\n") == 1, err
    assert "3 of its 10 sentences" in err and out.startswith(f"{run / 'valid.txt'}: spans"), out
