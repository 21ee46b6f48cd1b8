"""Bad input found by a fuzzing audit of the command line (Dec 6): each now gets one line and exit 2,
said before any training, where it used to give a traceback, train on nothing, or exit 0."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from clirun import error_line, run_cli, write_conllu

from rnnkit import checkpoint as ckpt
from rnnkit.errors import DataError

FAST = ["--epochs", "1", "--hidden", "4", "--embed", "4", "--progress", "none", "--checkpoint-minutes", "0"]


def _conllu(tmp_path, n=12, name="tr.conllu"):
    words = {"DET": ["the", "a"], "NOUN": ["cat", "dog", "car"], "VERB": ["sees", "has"]}
    rng = np.random.default_rng(0)
    sents = [[(str(rng.choice(words[t])), t) for t in ("DET", "NOUN", "VERB", "DET", "NOUN")] for _ in range(n)]
    return write_conllu(tmp_path / name, sents)


def test_a_damaged_hmm_is_a_data_error_not_a_traceback(tmp_path):
    from rnnkit.hmm import HMMTagger

    hmm = HMMTagger().fit([["the", "cat"], ["a", "dog"]], [["DET", "NOUN"], ["DET", "NOUN"]])
    hmm.save(tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    HMMTagger.loads(json.dumps(data))  # the control
    for key, bad, said in (("words", "x", "a damaged or foreign model"),  # was AttributeError: 'str' ... 'items'
                           ("version", 99, "format version 99, and this rnnkit reads version 1"),
                           ("tags", [None, "NOUN"], "tags to be a list of strings, got NoneType"),  # tagged None
                           ("tags", ["DET", "DET"], "tags to be distinct"),
                           ("words", {"the": [[-1, 2]]}, "tag -1, count 2; expected both >= 0"),  # took the last tag
                           ("words", {"the": [[0, -2]]}, "count -2"),
                           ("ngrams", [[-c for c in data["ngrams"][0]], *data["ngrams"][1:]], "negative")):
        with pytest.raises(DataError, match=re.escape(said)):
            HMMTagger.loads(json.dumps({**data, key: bad}))


def test_weights_with_nan_are_refused_even_under_a_valid_checksum(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("the cat sat on the mat\n" * 30, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "t.txt"), "--batch-size", "2", "--bptt",
                                    "5", *FAST, "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    arrays, meta = ckpt.load_checkpoint(tmp_path / "run" / "last.safetensors")
    name = next(k for k in arrays if k.startswith("model/") and "bias" in k)
    arrays[name][0] = np.nan
    ckpt.save_checkpoint(tmp_path / "nan.safetensors", arrays, meta)  # digests of the edited arrays: they match
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "nan.safetensors"), str(tmp_path / "t.txt")])
    error_line(code, err, "hold NaN or inf", name[len("model/"):])  # was: exit 0, "perplexity nan"
    assert "nan" not in out


def test_a_language_model_of_an_unknown_level_or_negative_counts_is_refused(tmp_path, capsys):
    """A damaged level ("xyz") or a negative n-gram count used to load and score; now a damaged checkpoint."""
    (tmp_path / "t.txt").write_text("the cat sat on the mat\n" * 30, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "t.txt"), "--batch-size", "2", "--bptt",
                                    "5", *FAST, "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(tmp_path / "t.txt"), "--order", "3",
                                    "--save", str(tmp_path / "kn.safetensors")])
    assert code == 0, err
    for source, edit, said in (("run/last.safetensors", "level", "Expected level 'word', 'char' or 'bpe', got 'xyz'"),
                               ("kn.safetensors", "level", "Expected level 'word', 'char' or 'bpe', got 'xyz'"),
                               ("kn.safetensors", "counts", "table counts.2 holds a negative, NaN or infinite entry")):
        arrays, meta = ckpt.load_checkpoint(tmp_path / source)
        if edit == "level":
            meta["task"]["level"] = "xyz"
        else:
            arrays["model/counts.2"][0] = -3
        ckpt.save_checkpoint(tmp_path / "bad.safetensors", arrays, meta)
        code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "bad.safetensors"), str(tmp_path / "t.txt")])
        error_line(code, err, said, "bad.safetensors")
        assert not out


def test_greedy_with_top_k_0_is_refused_as_any_given_top_k(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("the cat sat on the mat\n" * 30, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "t.txt"), "--batch-size", "2", "--bptt",
                                    "5", *FAST, "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    model = str(tmp_path / "run" / "last.safetensors")
    code, _, err = run_cli(capsys, ["generate", model, "--greedy", "--top-k", "0", "--length", "3"])
    error_line(code, err, "--greedy", "--top-k")
    code, out, err = run_cli(capsys, ["generate", model, "--greedy", "--length", "3"])  # the control
    assert code == 0 and out.strip(), err


def test_a_min_count_above_every_count_is_refused(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat\n" * 30, encoding="utf-8")
    (tmp_path / "c.tsv").write_text("pos\tgood film\nneg\tbad film\n" * 6, encoding="utf-8")
    (tmp_path / "t.tree").write_text("(3 (2 the) (4 good))\n(1 (2 the) (0 bad))\n" * 3, encoding="utf-8")
    conllu = _conllu(tmp_path)
    for argv in (["train", "lm", "--train", str(text), "--batch-size", "2", "--bptt", "5", *FAST],
                 ["train", "ngram", "--train", str(text), "--save", str(tmp_path / "ng.json")],
                 ["train", "tagger", "--train", str(conllu), *FAST],
                 ["train", "classifier", "--train", str(tmp_path / "c.tsv"), *FAST],
                 ["train", "tree", "--train", str(tmp_path / "t.tree"), *FAST]):
        run = ["--run-dir", str(tmp_path / "r")] if argv[1] != "ngram" else []
        code, _, err = run_cli(capsys, argv + ["--min-count", "1000"] + run)
        error_line(code, err, "--min-count 1000 leaves no token of", "lower --min-count")
        assert not (tmp_path / "r").exists()
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "c.tsv"), "--folds", "2", *FAST,
                                    "--min-count", "1000", "--run-dir", str(tmp_path / "r")])
    error_line(code, err, f"--min-count 1000 leaves no token of {tmp_path / 'c.tsv'} in")  # before fold 1 starts
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), *FAST, "--min-count", "1000",
                                    "--char-features", "--run-dir", str(tmp_path / "r")])
    assert code == 0, err  # characters alone still tag


def test_the_same_file_for_both_polarities_is_refused(tmp_path, capsys):
    (tmp_path / "p.txt").write_text("good film\nnice one\n" * 5, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--format", "polarity", "--pos", str(tmp_path / "p.txt"),
                                    "--neg", str(tmp_path / "p.txt"), *FAST, "--run-dir", str(tmp_path / "r")])
    error_line(code, err, "the same file", "--neg")


def test_trees_of_one_label_are_refused(tmp_path, capsys):
    (tmp_path / "n.tree").write_text("(2 (2 the) (2 movie))\n(2 (2 a) (2 film))\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(tmp_path / "n.tree"), *FAST,
                                    "--run-dir", str(tmp_path / "r")])
    error_line(code, err, "is label 2", "nothing to learn")
    # binary: labels 0-1 and 3-4 are two classes; 2 is left out, so 1 and 0 alone are one
    (tmp_path / "b.tree").write_text("(1 (2 the) (0 movie))\n(0 (1 a) (2 film))\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(tmp_path / "b.tree"), "--classes", "2", *FAST,
                                    "--run-dir", str(tmp_path / "r")])
    error_line(code, err, "is negative (--classes 2)")


@pytest.mark.parametrize("argv, said", [
    (["train", "tagger", "--train", "x.conllu", "--feature-columns"], "--feature-columns: expected at least one"),
    (["train", "lm", "--train", "x.txt", "--schedule", "plateau", "--lr-decay", "1"], "--lr-decay: Expected a number"),
    (["train", "lm", "--train", "x.txt", "--schedule", "exp", "--lr-decay", "1.0"], "--lr-decay: Expected a number"),
    (["demo", "addition", "--test-bits", "5000"], "--test-bits <= 4096"),
])
def test_options_out_of_their_range_are_named(tmp_path, capsys, argv, said):
    code, _, err = run_cli(capsys, argv)
    error_line(code, err, said, usage=True)


def test_curves_leave_out_a_last_line_cut_by_a_kill(tmp_path, capsys):
    log = tmp_path / "metrics.jsonl"
    records = [{"type": "train", "step": s, "loss": 2.0 / s} for s in (1, 2, 3)]
    whole = "".join(json.dumps(r) + "\n" for r in records)
    log.write_text(whole + '{"type": "epo', encoding="utf-8")
    code, out, err = run_cli(capsys, ["curves", str(log)])
    assert code == 0 and "0.6667" in out, err  # the loss of step 3
    log.write_text('{"type": "epo\n' + whole, encoding="utf-8")  # not the last line: damaged, said
    code, _, err = run_cli(capsys, ["curves", str(log)])
    error_line(code, err, "line 1: not a metrics record")


def test_tagger_format_messages_name_what_set_the_format(tmp_path, capsys):
    conllu = _conllu(tmp_path)
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), *FAST, "--run-dir", str(tmp_path / "r")])
    assert code == 0, err
    # the model was trained on CoNLL-U; --format columns is the user's choice, which the fix names
    code, _, err = run_cli(capsys, ["tag", str(tmp_path / "r" / "last.safetensors"), str(conllu), "--format",
                                    "columns"])
    error_line(code, err, "looks like CoNLL-U", "use --format conllu")
    lines = conllu.read_text(encoding="utf-8").split("\n")
    lines[2] = "\t".join(lines[2].split("\t")[:8])
    (tmp_path / "cut.conllu").write_text("\n".join(lines), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), "--test", str(tmp_path / "cut.conllu"),
                                    *FAST, "--run-dir", str(tmp_path / "r2")])
    error_line(code, err, "--valid and --test are read as the training data is, as CoNLL-U")
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "r" / "last.safetensors"), str(tmp_path / "cut.conllu")])
    error_line(code, err, "The model reads CoNLL-U, as it was trained", "in this file's format")


def test_a_cross_validation_checks_every_folds_hold_out_before_training(tmp_path, capsys):
    (tmp_path / "s.tsv").write_text("pos\tgood\npos\tnice\npos\tgreat\nneg\tbad\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "s.tsv"), "--folds", "4", *FAST,
                                    "--run-dir", str(tmp_path / "cv")])
    error_line(code, err, "fold 2's training part", "no training text labelled 'neg'")
    assert not (tmp_path / "cv").exists()  # no fold trained first


def test_classify_warns_when_given_label_tab_text_lines(tmp_path, capsys):
    (tmp_path / "c.tsv").write_text("pos\tgood film\nneg\tbad film\n" * 4, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "c.tsv"), "--valid-fraction", "0",
                                    *FAST, "--run-dir", str(tmp_path / "r")])
    assert code == 0, err
    model = str(tmp_path / "r" / "last.safetensors")
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "c.tsv")])
    assert code == 0 and len(out.splitlines()) == 8 and "starts with one of the model's labels" in err, err
    (tmp_path / "t.txt").write_text("good film\nneg\tis a word here\n", encoding="utf-8")  # not every line
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "t.txt")])
    assert code == 0 and "warning" not in err, err
    code, out, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "c.tsv")])  # what the warning suggests
    assert code == 0 and "accuracy" in out, err
