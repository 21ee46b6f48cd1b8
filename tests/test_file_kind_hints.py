"""A file of one kind given where another is read is said to be what it looks like: label<TAB>text (a classifier's
data) to tag, evaluate or train a tagger; plain text of short lines to evaluate a tagger; a one-sentence column file
to tag without --format; CoNLL-U to train, evaluate or apply a classifier and to score or evaluate a language model.
Each said nothing of the file's kind before (tag and score went on silently, the others gave a bare reader error)."""
from __future__ import annotations

import pytest
from clirun import run_cli, write_conllu

FAST = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
SENTS = [[("the", "D", "B-NP"), ("cat", "N", "I-NP"), ("sees", "V", "B-VP")],
         [("a", "D", "B-NP"), ("dog", "N", "I-NP")]]
TSV = "pos\ta great movie\nneg\tterrible acting , boring\n"
SHORT = "a great movie\nterrible acting , boring\n"  # plain text, three or four words a line
ONE_BLOCK = ["Rockwell NNP B-NP", "International NNP I-NP", "Corp. NNP I-NP", "'s POS B-NP", "said VBD B-VP"]
SHORT_LINES = ["Hello there", "Good Morning", "see you", "the end", "Thank You"]  # plain text, two words a line


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("kinds")
    (d / "cols.txt").write_text("".join("".join(f"{w} {t} {c}\n" for w, t, c in s) + "\n" for s in SENTS * 4),
                                encoding="utf-8")
    (d / "ok.tsv").write_text(TSV, encoding="utf-8")
    (d / "short.txt").write_text(SHORT, encoding="utf-8")
    (d / "one.txt").write_text("\n".join(ONE_BLOCK) + "\n", encoding="utf-8")
    write_conllu(d / "x.conllu", [[(w, t) for w, t, _ in s] for s in SENTS])
    texts = ["the cat sat", "a dog ran on the mat", "the big cat", "a red dog ran"] * 5
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in t else 'neg'}\t{t}\n" for t in texts), encoding="utf-8")
    (d / "lm.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    for argv in (["train", "tagger", "--train", str(d / "cols.txt"), "--format", "columns", *FAST, "--run-dir",
                  str(d / "tagger")],
                 ["train", "classifier", "--train", str(d / "cls.tsv"), *FAST, "--run-dir", str(d / "clf")],
                 ["train", "ngram", "--train", str(d / "lm.txt"), "--order", "2", "--save", str(d / "kn.safetensors")]):
        assert main(argv) == 0, argv
    return d


def test_label_tab_text_is_told_from_the_other_kinds():
    from rnnkit.cli.file_looks import tsv_reason

    assert tsv_reason(TSV.splitlines()) == "every line a label, a tab and a text; the first label 'pos'"
    assert tsv_reason(["the\tD", "cat\tN", "", "a\tD", "dog\tN"]) is None  # word<TAB>TAG: one word after the tab
    assert tsv_reason(["the\tD\tB-NP", "cat\tN\tI-NP"]) is None  # three columns
    assert tsv_reason(SHORT.splitlines()) is None  # no tab


def test_tag_warns_of_label_tab_text(runs, capsys):
    code, out, err = run_cli(capsys, ["tag", str(runs / "tagger" / "last.safetensors"), str(runs / "ok.tsv")])
    assert code == 0 and out.count("\n") == 2, (out, err)
    assert "ok.tsv looks like label<TAB>text, a classifier's data (every line a label, a tab and a text; the " \
           "first label 'pos'), so each label is tagged as the first word of its text: tag the texts alone (cut " \
           f"-f2- {runs / 'ok.tsv'} | rnnkit tag MODEL)" in err, err


def test_evaluate_and_train_tagger_say_a_tsv_file_is_a_classifiers(runs, capsys):
    tsv = str(runs / "ok.tsv")
    code, _, err = run_cli(capsys, ["evaluate", str(runs / "tagger" / "last.safetensors"), tsv])
    # its lines split at their tabs into 2 columns, a text in the second
    assert code == 2 and "ok.tsv:1: a line of 2 columns, and the model reads gold tags from column 2 (as in its " \
        f"training data); give the file with its gold tags in that column, or tag it ('rnnkit tag') rather than " \
        f"evaluate it; {tsv} looks like label<TAB>text, a classifier's data (" in err and "evaluating needs tagged data, in " \
        f"column files (the model's format); to score a classifier on it, rnnkit evaluate CLASSIFIER {tsv}" in err, err
    code, _, err = run_cli(capsys, ["train", "tagger", "--format", "columns", "--train", tsv, *FAST, "--run-dir",
                                    str(runs / "never")])
    assert code == 2 and f"{tsv} looks like label<TAB>text, a classifier's data (" in err and \
        f"to train a classifier on it, rnnkit train classifier --train {tsv}" in err, err
    assert not (runs / "never").exists()


def test_a_word_tab_tag_file_whose_tags_hold_a_space_trains_a_tagger(runs, capsys):
    """``The<TAB>DET Def`` (a tag of features) looked like label<TAB>text and was refused as a classifier's data:
    a text must hold three words or more on most lines, as a sentence does."""
    feats = runs / "feat.tsv"
    feats.write_text("The\tDET Def\ncat\tNOUN Sing\nsleeps\tVERB Fin\n\nA\tDET Ind\ndog\tNOUN Sing\n\n",
                     encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--format", "columns", "--train", str(feats), *FAST,
                                    "--run-dir", str(runs / "feats")])
    assert code == 0 and "2 sentences, 5 words" in err and "4 tags" in err, err


def test_evaluate_tagger_on_short_plain_lines_says_plain_text(runs, capsys):
    from rnnkit.cli.file_looks import plain_text_reason

    assert plain_text_reason(SHORT.splitlines()) == "its lines hold 3 to 4 words"
    code, _, err = run_cli(capsys, ["evaluate", str(runs / "tagger" / "last.safetensors"), str(runs / "short.txt")])
    assert code == 2 and "short.txt looks like plain text, one sentence a line (its lines hold 3 to 4 words): " \
        "evaluating needs tagged data, in column files (the model's format)" in err, err


def test_one_sentence_column_file_is_told_from_short_plain_lines(runs, capsys):
    from rnnkit.cli.file_looks import column_reason

    assert column_reason(ONE_BLOCK) == "3 columns, one token a line, tags after the first"
    assert column_reason(ONE_BLOCK[:2]) == "3 columns, one token a line, tags after the first"  # NNP twice
    assert column_reason(SHORT_LINES) is None  # two words a line, but words, not tags
    assert column_reason(["STOP NOW", "GO HOME"]) is None  # tag-like, but no tag repeated
    assert column_reason(["He PRP", "ran VBD", "home NN x"]) is None  # not one width
    code, out, err = run_cli(capsys, ["tag", str(runs / "tagger" / "last.safetensors"), str(runs / "one.txt")])
    assert code == 0 and "one.txt looks like a column file (3 columns, one token a line, tags after the first), " \
        "and --format raw (the default) reads one sentence a line: give --format columns" in err, err
    (runs / "lines.txt").write_text("\n".join(SHORT_LINES) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["tag", str(runs / "tagger" / "last.safetensors"), str(runs / "lines.txt")])
    assert code == 0 and "column file" not in err, err


def test_train_and_evaluate_classifier_say_conllu_is_a_taggers(runs, capsys):
    conllu = str(runs / "x.conllu")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", conllu, *FAST, "--run-dir", str(runs / "c2")])
    assert code == 2 and f"{conllu} looks like CoNLL-U (its first line '# sent_id = 1' is a comment), a tagger's " \
        f"data: to train a tagger on it, rnnkit train tagger --format conllu --train {conllu}" in err, err
    code, _, err = run_cli(capsys, ["evaluate", str(runs / "clf" / "last.safetensors"), conllu])
    assert code == 2 and f"a tagger's data: to score a tagger on it, rnnkit evaluate TAGGER {conllu}" in err, err


def test_classify_score_and_evaluate_lm_say_what_becomes_of_conllu_lines(runs, capsys):
    conllu = str(runs / "x.conllu")
    code, out, err = run_cli(capsys, ["classify", str(runs / "clf" / "last.safetensors"), conllu])
    assert code == 0 and "and classify reads one text a line, so each of its comment and token lines is " \
        "classified as a text of its own; give the sentences one a line" in err, err
    for argv in (["score", str(runs / "kn.safetensors"), conllu], ["evaluate", str(runs / "kn.safetensors"), conllu]):
        code, out, err = run_cli(capsys, argv)
        assert code == 0 and f"{conllu} looks like CoNLL-U (its first line '# sent_id = 1' is a comment)" in err \
            and "is scored as a sentence of its own" in err, (argv, err)
    code, out, err = run_cli(capsys, ["score", str(runs / "kn.safetensors"), str(runs / "lm.txt")])
    assert code == 0 and "CoNLL-U" not in err, err


def test_conllu_warning_without_text_comments_points_to_the_form_column(runs, capsys):
    """UD Chinese has no comment lines: the warning speaks of token lines and gives a command that prints the
    FORM column's words a sentence a line, for the file itself (not a literal FILE)."""
    import subprocess

    bare = runs / "bare.conllu"
    bare.write_text("".join(line + "\n" for line in (runs / "x.conllu").read_text(encoding="utf-8").splitlines()
                            if not line.startswith("#")), encoding="utf-8")
    code, out, err = run_cli(capsys, ["score", str(runs / "kn.safetensors"), str(bare)])
    assert code == 0 and "each of its token lines is scored" in err and "comment" not in err, err
    command = err[err.index("awk "):err.index(f"' {bare})") + len(f"' {bare}")]
    printed = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout
    assert printed == "".join(" ".join(w for w, _, _ in s) + "\n" for s in SENTS), printed
    texted = runs / "texted.conllu"
    texted.write_text("# text = the cat sees\n" + bare.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", str(runs / "clf" / "last.safetensors"), str(texted)])
    assert "each of its comment and token lines" in err and f"sed -n 's/^# text = //p' {texted})" in err, err


def test_classifier_commands_say_a_column_file_is_a_taggers(runs, capsys):
    """A CoNLL-2000 column file given for label<TAB>text: train classifier and evaluate CLASSIFIER name it and
    give the tagger's command (not --pos/--neg, nor a bare "without a tab"); classify warns."""
    cols = str(runs / "cols.txt")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", cols, *FAST, "--run-dir", str(runs / "c3")])
    assert code == 2 and f"{cols} looks like a column file (3 columns, one token a line), a tagger's data: to train " \
        f"a tagger on it, rnnkit train tagger --format columns --train {cols}" in err, err
    code, _, err = run_cli(capsys, ["evaluate", str(runs / "clf" / "last.safetensors"), cols])
    assert code == 2 and f"a tagger's data: to score a tagger on it, rnnkit evaluate TAGGER {cols}" in err and \
        "--pos" not in err and "--format" not in err, err  # evaluate refuses --format for a tagger
    code, out, err = run_cli(capsys, ["classify", str(runs / "clf" / "last.safetensors"), cols])
    assert code == 0 and f"{cols} looks like a column file (3 columns, one token a line), a tagger's data, and " \
        "classify reads one text a line, so each of its token lines is classified as a text of its own; to train " \
        f"a tagger on it, rnnkit train tagger --format columns --train {cols}" in err, err
    code, out, err = run_cli(capsys, ["classify", str(runs / "clf" / "last.safetensors"), str(runs / "lm.txt")])
    assert code == 0 and "column file" not in err, err
