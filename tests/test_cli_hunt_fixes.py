"""Fixes from the s30 robustness hunt: warnings that were missing (every token unknown to tag and classify, a
source<TAB>target file scored with --ref), a polarity pair of one file, and messages that pointed at the wrong
option or cause (--repair-spans, --resume into another kind's run, --labels in evaluate, unwritable outputs)."""
from __future__ import annotations

import shutil

import pytest
from clirun import run_cli, write_conllu

TINY = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
        "--checkpoint-minutes", "0"]
POS = [[("the", "DET"), ("cat", "NOUN"), ("sees", "VERB"), ("a", "DET"), ("dog", "NOUN")],
       [("a", "DET"), ("dog", "NOUN"), ("likes", "VERB"), ("the", "DET"), ("house", "NOUN")]] * 4
UNKNOWN = "xqz wvv kkj\nplo qqq xqz\nzzr wvv kkj\nplo qqq xqz\n"  # 12 tokens: short input is not judged
ALL_UNKNOWN = ("(100%: 'xqz', 'kkj', 'plo', 'qqq', 'wvv', ...) are unknown to the model, which reads them as "
               "<unk>")


def _lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    d = tmp_path_factory.mktemp("tagger")
    from rnnkit.cli.main import main

    assert main(["train", "tagger", "--train", str(write_conllu(d / "train.conllu", POS)), "--run-dir",
                 str(d / "run"), *TINY]) == 0
    return d / "run"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    d = tmp_path_factory.mktemp("classifier")
    from rnnkit.cli.main import main

    rows = [f"{'pos' if k % 2 else 'neg'}\tthe film was {'great' if k % 2 else 'dull'}" for k in range(20)]
    assert main(["train", "classifier", "--train", _lines(d / "train.tsv", rows), "--run-dir", str(d / "run"),
                 *TINY]) == 0
    return d / "run"


# ---------------------------------------------------------------------- silent 2: every token unknown
def test_tag_and_classify_warn_when_every_token_is_unknown(tagger, classifier, tmp_path, capsys):
    oov = tmp_path / "oov.txt"
    oov.write_text(UNKNOWN, encoding="utf-8")
    for model in (tagger / "last.safetensors", classifier / "last.safetensors"):
        command = "tag" if model.parent == tagger else "classify"
        code, out, err = run_cli(capsys, [command, str(model), str(oov)])
        assert code == 0 and out.count("\n") == 4, err
        counted = "words" if command == "tag" else "tokens"  # a tagger counts only tokens with letters
        assert err == (f"rnnkit: warning: {oov}: 12 of its 12 {counted} {ALL_UNKNOWN}; is the input in the "
                       "language the model was trained on (and written as its training data was: tokenised, "
                       "lowercased)?\n"), err
        known = tmp_path / "known.txt"
        known.write_text("the cat sees a dog\nthe film was great\n", encoding="utf-8")
        if command == "tag":  # an HMM has no <unk>: it guesses an unknown word's tags from its ending
            hmm = tmp_path / "hmm.safetensors"
            conllu = tmp_path / "t.conllu"
            conllu.write_text("1\tthe\t_\tDET\t_\t_\t0\t_\t_\t_\n2\tcat\t_\tNOUN\t_\t_\t0\t_\t_\t_\n\n",
                              encoding="utf-8")
            assert run_cli(capsys, ["train", "hmm", "--train", str(conllu), "--output", str(hmm)])[0] == 0
            code, _, err = run_cli(capsys, ["tag", str(hmm), str(oov)])
            assert code == 0 and ("'wvv', ...) are unknown to the model, which guesses their tags from their "
                                  "endings") in err, err
        code, _, err = run_cli(capsys, [command, str(model), str(known)])
        assert code == 0 and "unknown to the model" not in err, err
        names = _lines(tmp_path / "names.txt", ["Zelenskyy Scholz Macron"])  # unseen names, and English
        code, _, err = run_cli(capsys, [command, str(model), names])
        assert code == 0 and "unknown to the model" not in err, err


# ---------------------------------------------------------------------- silent 5: a TSV as DATA with --ref
def test_evaluate_of_a_source_target_file_with_ref_warns_about_tabs(tmp_path, capsys):
    src = ["ein hund", "eine katze", "ein rot hund", "eine katze läuft"] * 5
    tgt = ["a dog", "a cat", "a red dog", "a cat runs"] * 5
    s, t = _lines(tmp_path / "train.de", src), _lines(tmp_path / "train.en", tgt)
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", s, t, "--run-dir", str(tmp_path / "run"), *TINY])
    assert code == 0, err
    tsv = _lines(tmp_path / "pairs.tsv", [f"{a}\t{b}" for a, b in zip(src, tgt)])
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "last.safetensors"), tsv, "--ref", t])
    assert code == 0, err
    assert (f"rnnkit: warning: {tsv}: 20 of its 20 lines hold a tab, as a source<TAB>reference file does, and with "
            "--ref each whole line is read as one source sentence: to score its pairs, leave out --ref") in err, err
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "last.safetensors"), s, "--ref", t])
    assert code == 0 and "hold a tab" not in err, err


# ---------------------------------------------------------------------- silent 6: --pos F --neg F
def test_evaluate_refuses_one_file_as_both_pos_and_neg(classifier, tmp_path, capsys):
    pos = _lines(tmp_path / "pos.txt", ["the film was great"] * 3)
    (tmp_path / "sub").mkdir()
    for neg in (pos, str(tmp_path / "sub" / ".." / "pos.txt")):  # the same path, or another path to the file
        code, out, err = run_cli(capsys, ["evaluate", str(classifier / "last.safetensors"), "--pos", pos,
                                          "--neg", neg])
        assert code == 2 and out == "" and err == (f"rnnkit: error: --pos {pos} and --neg {neg} are the same file, "
                                                   "so every sentence would have both labels; give the negative "
                                                   "sentences' file to --neg\n"), err


# ---------------------------------------------------------------------- message 1: --repair-spans
@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_span_scheme_errors_name_the_tag_instead_of_suggesting_repair_spans(kind, tmp_path, capsys):
    def train(*args):
        out = (["--run-dir", str(tmp_path / "run"), *TINY] if kind == "tagger"
               else ["--output", str(tmp_path / "hmm.safetensors")])
        return run_cli(capsys, ["train", kind, *args, *out])

    dash = tmp_path / "dash.txt"
    dash.write_text("He PRP I-\nis VBZ B-VP\ngood JJ I-\n\n", encoding="utf-8")
    for repair in ([], ["--repair-spans"]):
        code, _, err = train("--train", str(dash), "--format", "columns", "--scheme", "bio", *repair)
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"rnnkit: error: {dash}:1: sentence 1: tag 'I-' has no type after I-; "), err
        assert "--repair-spans" not in err, err
    pos = write_conllu(tmp_path / "pos.conllu", POS)
    code, _, err = train("--train", str(pos), "--scheme", "bio")
    assert code == 2 and err.count("\n") == 1 and "--repair-spans" not in err, err
    assert err == (f"rnnkit: error: {pos}: the tags (DET, NOUN, VERB, ...) look like POS tags, not span tags: none "
                   "starts with B- or I- as scheme='bio' (--scheme bio) needs; give scheme='none' (--scheme none) "
                   "to train on them with token accuracy\n"), err
    # a sequence --repair-spans can fix still points at it
    stray = tmp_path / "stray.txt"
    stray.write_text("He PRP O\nis VBZ I-VP\n\nHe PRP O\nis VBZ B-NP\n\n", encoding="utf-8")
    code, _, err = train("--train", str(stray), "--format", "columns", "--scheme", "bio")
    assert code == 2 and "with repair_spans=True (--repair-spans)" in err, err
    assert train("--train", str(stray), "--format", "columns", "--scheme", "bio", "--repair-spans")[0] == 0


# ---------------------------------------------------------------------- message 2: --resume of another kind
def test_resume_into_another_kinds_run_names_the_kind(tagger, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tagger / "last.safetensors", run / "last.safetensors")
    text = _lines(tmp_path / "lm.txt", ["the cat sees a dog"] * 10)
    code, _, err = run_cli(capsys, ["train", "lm", "--train", text, "--run-dir", str(run), "--resume", "--bptt", "5",
                                    *TINY])
    assert code == 2 and err.endswith(f"rnnkit: error: {run / 'last.safetensors'}: this run folder holds a tagger "
                                 "run's checkpoint, not a language model's: give another run_dir (--run-dir), or "
                                 "resume it with 'rnnkit train tagger'\n") and "data has changed" not in err, err


# ---------------------------------------------------------------------- message 3: evaluate of a tree model
def test_evaluate_of_a_tree_label_out_of_range_gives_no_training_option(tmp_path, capsys):
    train = _lines(tmp_path / "trees.txt", ["(3 (2 a) (4 good))", "(1 (2 a) (0 bad))"] * 4)
    code, _, err = run_cli(capsys, ["train", "tree", "--train", train, "--run-dir", str(tmp_path / "run"), *TINY])
    assert code == 0, err
    nine = _lines(tmp_path / "nine.txt", ["(9 (2 good) (4 film))"])
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "last.safetensors"), nine])
    assert code == 2 and err.count("\n") == 1 and "give --labels" not in err, err
    assert "it was trained with --labels sst5" in err and "'rnnkit train tree --labels as-is'" in err, err


# ---------------------------------------------------------------------- message 4: outputs checked first
def test_outputs_that_cannot_be_made_are_refused_before_training(tmp_path, capsys, monkeypatch):
    import rnnkit.data.files as files

    blocked = tmp_path / "blocked"  # a folder that takes no new files (as /proc does, even for root)
    blocked.mkdir()
    real_open = files.os.open

    def refusing_open(path, *args, **kwargs):
        if str(path).startswith(str(blocked)):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refusing_open)
    text = _lines(tmp_path / "lm.txt", ["the cat sees a dog"] * 10)
    conllu = str(write_conllu(tmp_path / "pos.conllu", POS))
    for argv, option in ((["train", "ngram", "--train", text, "--arpa", str(blocked / "x.arpa")], "--arpa"),
                         (["train", "ngram", "--train", text, "--save", str(blocked / "x.safetensors")], "--save"),
                         (["train", "hmm", "--train", conllu, "--output", str(blocked / "x.safetensors")], "--output")):
        code, out, err = run_cli(capsys, argv)
        assert code == 2 and out == "" and err.count("\n") == 1, err  # nothing fitted first
        assert err.startswith(f"rnnkit: error: {option} {blocked}/x.") and (
            f"cannot create a file in {blocked} (the folder takes no new files); choose another path") in err, err


def test_a_device_output_is_checked_by_its_own_permission_not_its_folders(tmp_path, capsys, monkeypatch):
    """--arpa /dev/null or --output /dev/stdout was refused for any user but root: /dev is root's to write,
    and the check asked the folder; a device is written into, not replaced in its folder."""
    import os

    from rnnkit.data.files import check_output_path

    real = os.access

    def as_a_user(path, mode):  # what os.access answers for an unprivileged user
        return False if str(path) == "/dev" and mode == os.W_OK else real(path, mode)

    monkeypatch.setattr(os, "access", as_a_user)
    check_output_path("/dev/null", "--arpa")  # no error
    train = _lines(tmp_path / "t.txt", ["a b c", "b c d"] * 5)
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", train, "--order", "2", "--arpa", "/dev/null"])
    assert code == 0, err
    with pytest.raises(ValueError, match="--save /dev/x.safetensors: no permission to write there"):
        check_output_path("/dev/x.safetensors", "--save", suffix=".safetensors")  # a new file in /dev: refused
