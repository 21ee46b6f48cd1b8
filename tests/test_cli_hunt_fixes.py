"""Fixes from the s30 robustness hunt: warnings that were missing (every token unknown to tag and classify, a
source<TAB>target file scored with --ref), a polarity pair of one file, and messages that pointed at the wrong
option or cause (--repair-spans, --resume into another kind's run, --labels in evaluate, unwritable outputs)."""
from __future__ import annotations

import pytest
from clirun import run_cli, write_conllu

TINY = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
        "--checkpoint-minutes", "0"]
POS = [[("the", "DET"), ("cat", "NOUN"), ("sees", "VERB"), ("a", "DET"), ("dog", "NOUN")],
       [("a", "DET"), ("dog", "NOUN"), ("likes", "VERB"), ("the", "DET"), ("house", "NOUN")]] * 4
UNKNOWN = "xqz wvv kkj\nplo qqq xqz\n"
ALL_UNKNOWN = "tokens (100%: 'xqz', 'kkj', 'plo', 'qqq', 'wvv', ...) are unknown to the model, which reads them as <unk>"


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
        assert code == 0 and out.count("\n") == 2, err
        assert err == (f"rnnkit: warning: {oov}: 6 of its 6 {ALL_UNKNOWN}; is the input in the language the model "
                       "was trained on (and written as its training data was: tokenised, lowercased)?\n"), err
        known = tmp_path / "known.txt"
        known.write_text("the cat sees a dog\nthe film was great\n", encoding="utf-8")
        code, _, err = run_cli(capsys, [command, str(model), str(known)])
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
