"""Bad tagging training data is refused before training with one clear line (rnnkit.tagging.checks).

Each case used to train a silently useless model, or to fail only after training: tags that break
--scheme (decoding then outputs only O), the tag column used as the word or a feature column (label
leakage), one tag everywhere (nothing to learn), a missing --valid/--test file found after 'model
saved:', and a CoNLL-U file read with --format columns.  The checks at tag and evaluate:
test_tagging_checks_evaluate.py.
"""
from __future__ import annotations

import pytest
from clirun import run_cli, write_conllu
from tagcheck import BIO, IOB1, POS, _columns, _one_error_line, _train

from rnnkit.tagging.checks import fitting_schemes, scheme_violation


def _nothing_trained(tmp_path):
    return not (tmp_path / "run" / "metrics.jsonl").exists() and not (tmp_path / "hmm.safetensors").exists()


# ---------------------------------------------------------------------- 1. tags against --scheme
def test_scheme_violation_names_the_first_illegal_move():
    bio = [[t for _, _, t in s] for s in BIO]
    iob1 = [[t for _, _, t in s] for s in IOB1]
    assert scheme_violation(bio, "bio") is None and scheme_violation(iob1, "iob1") is None
    assert scheme_violation(bio, "bioes") == (0, 2, "I-NP followed by B-VP is not legal BIOES (scheme='bioes', "
                                                    "--scheme bioes)")
    assert scheme_violation([["B-NP", "O"]], "bioes") == (0, 1, "B-NP followed by O is not legal BIOES "
                                                                "(scheme='bioes', --scheme bioes)")
    assert scheme_violation([["O", "B-NP"]], "bioes")[2] == ("B-NP at the end of a sentence is not legal BIOES "
                                                             "(scheme='bioes', --scheme bioes)")
    assert scheme_violation(iob1, "bio")[:2] == (0, 0)  # I- may start a chunk in IOB1, not in BIO
    assert scheme_violation(bio, "iob1")[:2] == (0, 0)  # B- may not start a sentence in IOB1
    assert fitting_schemes(bio) == ["bio"] and fitting_schemes(iob1) == ["iob1"]
    assert fitting_schemes([["S-NP", "O", "B-VP", "E-VP"]]) == ["bioes"]
    assert scheme_violation([["DET", "NOUN"]], "bmes")[2].startswith("tag 'DET' is not a BMES tag")


@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_bio_tags_with_scheme_bioes_are_refused_and_bio_suggested(tmp_path, capsys, kind):
    data = _columns(tmp_path / "train.txt", [[("it", "PRP", "B-NP"), (".", ".", "O")]] + BIO)
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(data), "--format", "columns",
                                          "--scheme", "bioes"))
    line = _one_error_line(code, err)
    assert line == ("rnnkit: error: " f"{data}:2: sentence 1: B-NP followed by O is not legal BIOES (scheme='bioes', "
                    "--scheme bioes); the tags look like BIO: use scheme='bio' (--scheme bio)"), err
    assert _nothing_trained(tmp_path)


@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_iob1_and_bio_are_told_apart(tmp_path, capsys, kind):
    iob1 = _columns(tmp_path / "iob1.txt", IOB1)
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(iob1), "--format", "columns", "--scheme", "bio"))
    line = _one_error_line(code, err)
    assert f"{iob1}:1: sentence 1: I-NP at the start of a sentence is not legal BIO" in line, err
    assert line.endswith("the tags look like IOB1: use scheme='iob1' (--scheme iob1)"), err
    bio = _columns(tmp_path / "bio.txt", BIO)
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(bio), "--format", "columns", "--scheme", "iob1"))
    line = _one_error_line(code, err)
    assert f"{bio}:1: sentence 1: B-NP at the start" in line and line.endswith("use scheme='bio' (--scheme bio)"), err
    assert _nothing_trained(tmp_path)
    # tags that fit the scheme train as before
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(iob1), "--format", "columns", "--scheme", "iob1"))
    assert code == 0, err


def test_tags_that_fit_no_scheme_say_scheme_none(tmp_path, capsys):
    data = write_conllu(tmp_path / "train.conllu", POS)
    code, _, err = run_cli(capsys, _train("tagger", tmp_path, "--train", str(data), "--scheme", "bio"))
    line = _one_error_line(code, err)
    assert line.startswith(f"rnnkit: error: {data}: the tags (") and "look like POS tags, not span tags" in line, err
    assert "--scheme none" in line and "--repair-spans" not in line, err


# NER with the stray I- that real corpora hold: O I-PER (conlleval: a PER span) and B-PER I-LOC (a new LOC span)
STRAY = [[("Ann", "NNP", "O"), ("Lee", "NNP", "I-PER"), ("met", "VBD", "O"), ("Bo", "NNP", "B-PER"),
          ("Rome", "NNP", "I-LOC")],
         [("Bo", "NNP", "B-PER"), ("Lee", "NNP", "I-PER"), ("left", "VBD", "O")]]


@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_stray_inside_tags_stop_training_or_are_repaired_as_conlleval_reads_them(tmp_path, capsys, kind):
    from rnnkit.tagging.checks import repair_spans
    from rnnkit.tagging.io import DataSpec, read_tagged

    data = _columns(tmp_path / "ner.txt", STRAY * 4)
    args = ["--train", str(data), "--format", "columns", "--scheme", "bio"]
    line = _one_error_line(*run_cli(capsys, _train(kind, tmp_path, *args))[::2])
    assert f"{data}:2: sentence 1: O followed by I-PER is not legal BIO" in line and "--repair-spans" in line, line
    assert _nothing_trained(tmp_path)
    code, _, err = run_cli(capsys, _train(kind, tmp_path, *args, "--repair-spans"))
    warned = [w for w in err.splitlines() if w.startswith("rnnkit: warning:")
              and "deleted interpolation" not in w]  # 8 sentences: an HMM's unigram weight may be 0, also warned of
    assert code == 0 and len(warned) == 1 and f"{data}:2: sentence 1: O followed by I-PER" in warned[0], err
    assert "and 3 more of the 8 sentences break BIO" in warned[0], warned
    spec = DataSpec("columns", -1, 0, (), "bio")
    read = read_tagged(data, spec)
    assert repair_spans(spec, read, data) and read.tags[0] == ["O", "B-PER", "O", "B-PER", "B-LOC"]
    assert read.tags[1] == ["B-PER", "I-PER", "O"]  # legal already: unchanged
    assert repair_spans(spec, read, data) is None  # nothing left to repair
    read.tags[1] = ["O", "I-PER", "O"]  # one sentence: no 'and 0 more'
    said = repair_spans(spec, read, data)
    assert said.endswith("O followed by I-PER is not legal BIO (scheme='bio', --scheme bio): repair_spans "
                         "(--repair-spans) reads it as conlleval does and trains on it rewritten in BIO"), said
    spec = DataSpec("columns", -1, 0, (), "bioes")
    read = read_tagged(_columns(tmp_path / "ner-bioes.txt", [[("a", "X", "O"), ("b", "X", "E-PER")]]), spec)
    assert repair_spans(spec, read, data) and read.tags == [["O", "S-PER"]]
    spec = DataSpec("columns", -1, 0, (), "bio")  # a tag of another scheme's form: nothing repaired, nothing touched
    read = read_tagged(_columns(tmp_path / "mixed.txt", [[("a", "X", "O"), ("b", "X", "I-NP")],
                                                        [("c", "X", "B-NP"), ("d", "X", "E-NP")]]), spec)
    assert repair_spans(spec, read, data) is None and read.tags == [["O", "I-NP"], ["B-NP", "E-NP"]]


def test_repair_spans_needs_a_span_scheme(tmp_path, capsys):
    data = write_conllu(tmp_path / "train.conllu", POS)
    line = _one_error_line(*run_cli(capsys, _train("tagger", tmp_path, "--train", str(data), "--repair-spans"))[::2])
    assert "--repair-spans" in line and "give --scheme bio, iob1 or bioes" in line, line


# ---------------------------------------------------------------------- 2. label leakage
@pytest.mark.parametrize("kind", ["tagger", "hmm"])
@pytest.mark.parametrize("columns", [["--word-column", "2", "--tag-column", "2"],
                                     ["--word-column", "2"],  # the default --tag-column -1 is column 2 of 3
                                     ["--word-column", "-1", "--tag-column", "2"]])
def test_word_column_that_is_the_tag_column_is_refused(tmp_path, capsys, kind, columns):
    data = _columns(tmp_path / "train.txt", BIO)
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(data), "--format", "columns", *columns))
    line = _one_error_line(code, err)
    assert f"{data}:1: word_column=" in line and "(--word-column " in line, err
    assert "is the tag column (tag_column=" in line and ", --tag-column " in line, err
    assert _nothing_trained(tmp_path)


@pytest.mark.parametrize("columns", [["--feature-columns", "1", "2"],
                                     ["--feature-columns", "-1"],
                                     ["--feature-columns", "-1", "--tag-column", "2"],
                                     ["--feature-columns", "0", "2", "--tag-column", "-1"]])
def test_feature_column_that_is_the_tag_column_is_refused(tmp_path, capsys, columns):
    data = _columns(tmp_path / "train.txt", BIO)
    code, _, err = run_cli(capsys, _train("tagger", tmp_path, "--train", str(data), "--format", "columns", *columns))
    line = _one_error_line(code, err)
    assert "(feature_columns, --feature-columns " in line and "is the tag column" in line and "leave column" in line, \
        err
    assert _nothing_trained(tmp_path)


@pytest.mark.parametrize("columns, said", [
    (["1", "1"], "feature_columns (--feature-columns) 1 is given twice; give each column once"),
    (["1", "-2"], "feature_columns (--feature-columns) 1 and -2 are both column 1 of 3; give each column once"),
    (["0"], "feature column 0 (feature_columns, --feature-columns 0) is the word column (word_column=0, --word-column "
            "0), which the model reads anyway; leave column 0 out of feature_columns (--feature-columns)")])
def test_a_feature_column_given_twice_or_that_is_the_word_column_is_refused(tmp_path, capsys, columns, said):
    """Both were accepted: the same column embedded twice, or the words read again as a feature."""
    data = _columns(tmp_path / "train.txt", BIO)
    code, _, err = run_cli(capsys, _train("tagger", tmp_path, "--train", str(data), "--format", "columns",
                                          "--feature-columns", *columns))
    assert f"{data}:1: {said}" in _one_error_line(code, err), err
    assert _nothing_trained(tmp_path)


# ---------------------------------------------------------------------- 3. one tag only
@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_a_tag_column_with_one_tag_is_refused(tmp_path, capsys, kind):
    data = write_conllu(tmp_path / "train.conllu", POS)  # XPOS is _ everywhere
    for column in ("xpos", "XPOS"):  # as CoNLL-U's documentation writes it
        code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(data), "--tag-column", column))
        line = _one_error_line(code, err)
        assert line == (f"rnnkit: error: {data}: every token's tag (column xpos) is '_': nothing to learn; "
                        "use tag_column='upos' (--tag-column upos)")
    cols = _columns(tmp_path / "train.txt", [[(w, p, "O") for w, p, _ in s] for s in BIO])
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(cols), "--format", "columns"))
    line = _one_error_line(code, err)
    assert line.endswith("every token's tag (column -1) is 'O': nothing to learn; use tag_column=1 (--tag-column 1)"), \
        err
    assert _nothing_trained(tmp_path)


# ---------------------------------------------------------------------- 6. --valid / --test before training
@pytest.mark.parametrize("kind", ["tagger", "hmm"])
@pytest.mark.parametrize("option", ["--valid", "--test"])
def test_a_missing_valid_or_test_file_stops_before_training(tmp_path, capsys, kind, option):
    data = write_conllu(tmp_path / "train.conllu", POS)
    missing = tmp_path / "nonexistent.conllu"
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(data), option, str(missing)))
    line = _one_error_line(code, err)
    assert line == f"rnnkit: error: {missing}: no such file; check the path", err
    assert "model saved" not in err and _nothing_trained(tmp_path)


def test_hmm_scheme_error_names_the_file(tmp_path, capsys):
    data = write_conllu(tmp_path / "train.conllu", POS)
    code, _, err = run_cli(capsys, _train("hmm", tmp_path, "--train", str(data), "--scheme", "bmes"))
    line = _one_error_line(code, err)
    assert f"{data}:2: sentence 1: tag 'DET' is not a BMES tag" in line and "--scheme" in line, err
    assert _nothing_trained(tmp_path)


# ---------------------------------------------------------------------- 7. CoNLL-U read as columns
def test_conllu_read_as_columns_suggests_format_conllu(tmp_path, capsys):
    data = write_conllu(tmp_path / "train.conllu", POS)
    code, _, err = run_cli(capsys, _train("tagger", tmp_path, "--train", str(data), "--format", "columns"))
    line = _one_error_line(code, err)
    assert f"{data}:2: expected 4 whitespace-separated columns" in line, err
    assert line.endswith("looks like CoNLL-U (its first line '# sent_id = 1' is a comment): use --format conllu"), err
    # without comment lines every row has 10 columns: the MISC column (-1) is _ everywhere, and the
    # fix is --format conllu, not another --tag-column (column 0 would be read as the words)
    bare = tmp_path / "bare.conllu"
    bare.write_text("".join(line for line in data.read_text(encoding="utf-8").splitlines(keepends=True)
                            if not line.startswith("#")), encoding="utf-8")
    code, _, err = run_cli(capsys, _train("hmm", tmp_path, "--train", str(bare), "--format", "columns"))
    line = _one_error_line(code, err)
    assert line.endswith("nothing to learn; "
                         f"{bare} looks like CoNLL-U (its lines have 10 tab-separated columns): use --format conllu"), err
    assert _nothing_trained(tmp_path)
    # a column file whose first token is the pound sign "#" (WSJ) is not taken for CoNLL-U
    pound = tmp_path / "pound.txt"
    pound.write_text("# # B-NP\n200 CD I-NP\n\nit PRP\n\n", encoding="utf-8")
    code, _, err = run_cli(capsys, _train("hmm", tmp_path, "--train", str(pound), "--format", "columns"))
    line = _one_error_line(code, err)
    assert f"{pound}:4: expected 3 whitespace-separated columns" in line and "CoNLL-U" not in line, err


@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_conllu_read_as_segmented_text_gives_its_tokens_as_the_gold_words(tmp_path, capsys, kind):
    """A segmenter trains and is scored on UD's CoNLL-U as it comes (users had to convert it first): a
    multiword token is one surface word, its syntactic words and empty nodes are left out."""
    from rnnkit.tagging.io import read_conllu_segmentation

    sentences = [[("我們", "PRON"), ("喜歡", "VERB"), ("北京", "PROPN")], [("老師", "NOUN"), ("在", "ADP"),
                                                                       ("大學", "NOUN"), ("工作", "VERB")]] * 4
    data = write_conllu(tmp_path / "train.conllu", sentences)
    text = data.read_text(encoding="utf-8").replace(  # a multiword token over words 2-3, and an empty node
        "2\t喜歡", "2-3\t喜歡北京\t_\t_\t_\t_\t_\t_\t_\t_\n2\t喜歡", 1).replace(
        "3\t北京\t北京\tPROPN\t_\t_\t0\tdep\t_\t_\n", "3\t北京\t北京\tPROPN\t_\t_\t0\tdep\t_\t_\n"
        "3.1\t去\t去\tVERB\t_\t_\t_\t_\t0:dep\t_\n", 1)
    data.write_text(text, encoding="utf-8")
    read = read_conllu_segmentation(data)
    assert read.source[0] == ["我們", "喜歡北京"] and read.source[1] == ["老師", "在", "大學", "工作"]
    assert read.words[0] == list("我們喜歡北京") and read.tags[0] == ["B", "E", "B", "M", "M", "E"]
    seg = tmp_path / "seg.txt"  # the same gold words as segmented text
    seg.write_text("".join(" ".join(w) + "\n" for w in read.source), encoding="utf-8")
    out = tmp_path / ("model.safetensors" if kind == "hmm" else "run")
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(data), "--format", "segmented")
                           if kind == "tagger" else ["train", "hmm", "--train", str(data), "--format", "segmented",
                                                     "--output", str(out)])
    assert code == 0 and f"{data}: CoNLL-U, read as segmented text: its tokens (the FORM column) are the gold words" \
        in err, err
    model = str(out if kind == "hmm" else next(p for p in (out / "best.safetensors", out / "last.safetensors")
                                                if p.exists()))
    scores = [run_cli(capsys, ["evaluate", model, str(f), "--json"])[1] for f in (data, seg)]
    assert scores[0] == scores[1] and '"f1"' in scores[0], scores  # the same F1 from either form of the gold
    code, _, err = run_cli(capsys, ["segment", model, str(data)])  # raw text expected: said, not silent
    assert code == 0 and f"{data} looks like CoNLL-U (" in err and f"rnnkit evaluate {model} FILE" in err, err



@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_a_column_file_without_blank_lines_is_said_to_run_its_sentences_together(tmp_path, capsys, kind):
    """It read as one sentence of every token and trained a useless model, silently."""
    rows = "".join(f"{w} {p} {t}\n" for s in BIO * 150 for w, p, t in s)  # 1,200 tokens, no blank line
    train = tmp_path / "train.txt"
    train.write_text(rows, encoding="utf-8")
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(train), "--format", "columns", "--scheme",
                                          "bio"))
    assert code == 0 and (f"{train}:1: sentence 1 has 1,200 tokens; a sentence that long is usually several run "
                          "together: are the blank lines between sentences missing?") in err, err
    assert kind == "hmm" or "train: 1 sentence, 1,200 words" in err, err
    code, _, err = run_cli(capsys, _train(kind, tmp_path, "--train", str(_columns(tmp_path / "ok.txt", BIO * 150)),
                                          "--format", "columns", "--scheme", "bio"))
    assert code == 0 and "run together" not in err, err
