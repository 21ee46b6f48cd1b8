"""A tagger's and a classifier's training stopped mid-epoch and resumed with ``--resume`` end exactly
where the uninterrupted run ends: every array of last.safetensors (parameters, optimizer state, the
weight average, the random generator's state) bit for bit.  The language model's, the translator's
and the tree model's runs have the same test in their own files; these two tasks add their own
randomness (singleton <unk> replacement, word dropout, shuffled batches) that must resume too."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli, write_conllu

from rnnkit.checkpoint import load_checkpoint

COMMON = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--dropout", "0.2", "--weight-drop", "0.2",
          "--average", "0.9", "--progress", "none", "--checkpoint-minutes", "0", "--seed", "3"]
WORDS = {"DET": ["the", "a", "this"], "ADJ": ["big", "red", "old"], "NOUN": ["cat", "dog", "house", "car"],
         "VERB": ["sees", "likes", "has"]}


def _sentences(rng: np.random.Generator, n: int) -> list[list[tuple[str, str]]]:
    out = []
    for _ in range(n):
        tags = ["DET"] + ["ADJ"] * int(rng.integers(0, 2)) + ["NOUN", "VERB", "DET", "NOUN"]
        out.append([(WORDS[t][int(rng.integers(len(WORDS[t])))], t) for t in tags])
    return out


def _assert_same_run(capsys, argv: list[str], whole, cut, stop_after: int) -> None:
    """Train argv into `whole`; train it into `cut` for stop_after steps, then resume it there; compare."""
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(whole)])
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(cut), "--max-steps", str(stop_after)])
    assert code == 0, err
    stopped, _ = load_checkpoint(cut / "last.safetensors")
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(cut), "--resume"])
    assert code == 0, err
    a, meta_a = load_checkpoint(whole / "last.safetensors")
    b, meta_b = load_checkpoint(cut / "last.safetensors")
    assert sorted(a) == sorted(b)
    assert any(not np.array_equal(stopped[k], a[k]) for k in a), "the cut run must have stopped short"
    for k in a:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)


@pytest.mark.parametrize("crf", [True, False], ids=["crf", "softmax"])
def test_tagger_resumed_mid_epoch_equals_uninterrupted(tmp_path, capsys, crf):
    rng = np.random.default_rng(0)
    train = write_conllu(tmp_path / "train.conllu", _sentences(rng, 40))
    valid = write_conllu(tmp_path / "dev.conllu", _sentences(rng, 10))
    argv = ["train", "tagger", "--train", str(train), "--valid", str(valid), "--epochs", "3", "--lr", "0.03",
            "--char-features", "--char-embed", "4", "--char-hidden", "4", "--singleton-unk", "0.5", *COMMON]
    argv += ["--crf"] if crf else []
    _assert_same_run(capsys, argv, tmp_path / "whole", tmp_path / "cut", stop_after=14)  # 10 batches an epoch


@pytest.mark.parametrize("schedule", [["decay_after", "--decay-start", "0"], ["step", "--step-size", "1"],
                                      ["exp"]], ids=["decay-from-epoch-1", "step", "exp"])
def test_a_schedule_resumed_in_its_first_epoch_equals_uninterrupted(tmp_path, capsys, schedule):
    """--schedule decay_after --decay-start 0 trained epoch 1 at lr, while a run resumed in epoch 1 took
    lr * decay from the restored schedule: the two runs differed."""
    rng = np.random.default_rng(2)
    text = tmp_path / "t.txt"
    text.write_text("".join(" ".join(rng.choice(list("abcdef"), 8)) + "\n" for _ in range(60)), encoding="utf-8")
    argv = ["train", "lm", "--train", str(text), "--valid", str(text), "--epochs", "2", "--lr", "1",
            "--lr-decay", "0.5", "--bptt", "5", "--schedule", *schedule, *COMMON]
    _assert_same_run(capsys, argv, tmp_path / "whole", tmp_path / "cut", stop_after=5)  # ~27 batches an epoch


def test_classifier_resumed_mid_epoch_equals_uninterrupted(tmp_path, capsys):
    rng = np.random.default_rng(1)
    filler = "the a movie plot it was is and".split()
    rows = []
    for _ in range(60):
        label = ["pos", "neg"][int(rng.integers(2))]
        words = [str(w) for w in rng.choice(filler, 4)]
        words.insert(int(rng.integers(5)), "great" if label == "pos" else "dull")
        rows.append(f"{label}\t{' '.join(words)}\n")
    (tmp_path / "train.tsv").write_text("".join(rows), encoding="utf-8")
    argv = ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--valid-fraction", "0.2",
            "--epochs", "3", "--lr", "0.03", "--word-dropout", "0.2", *COMMON]
    _assert_same_run(capsys, argv, tmp_path / "whole", tmp_path / "cut", stop_after=17)  # 12 batches an epoch


def test_cross_validation_resumed_before_its_last_fold_finishes_it_and_equals_uninterrupted(tmp_path, capsys):
    """A cross-validation killed before fold 3 began: --resume used to stop at fold 3 with "no checkpoint
    to resume from"; now the folds it had not reached start afresh, and the result is the same."""
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} film {i % 7}\n" for i in range(60))
    (tmp_path / "train.tsv").write_text(rows, encoding="utf-8")
    argv = ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--epochs", "2", "--embed", "4",
            "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
    code, whole, err = run_cli(capsys, argv + ["--folds", "3", "--run-dir", str(tmp_path / "a")])
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--folds", "3", "--run-dir", str(tmp_path / "b")])
    assert code == 0, err
    for name in ("fold3/best.safetensors", "fold3/last.safetensors", "fold3/metrics.jsonl"):
        (tmp_path / "b" / name).unlink()
    code, resumed, err = run_cli(capsys, argv + ["--folds", "3", "--run-dir", str(tmp_path / "b"), "--resume"])
    assert code == 0 and resumed == whole, (resumed, whole, err)
    # other folds hold other sentences: refused naming the option (it blamed encoder.vocab)
    for changed, words in ((["--folds", "4"], "--folds 3 then, 4 now"), (["--folds", "3", "--fold-seed", "7"],
                                                                          "--fold-seed 0 then, 7 now")):
        code, _, err = run_cli(capsys, argv + [*changed, "--run-dir", str(tmp_path / "b"), "--resume"])
        assert code == 2 and words in err and "vocab" not in err, err
    # a new run removes every fold of the earlier one, not only those beyond its own count (a --resume
    # after it is killed in fold 1 continued the earlier run's fold 2 as its own); one without folds too
    code, _, err = run_cli(capsys, argv + ["--folds", "2", "--run-dir", str(tmp_path / "b")])
    assert code == 0 and "removed the earlier cross-validation's fold1, fold2, fold3" in err, err
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if p.name.startswith("fold")) == ["fold1", "fold2"]
    (tmp_path / "b" / "fold2" / "notes.txt").write_text("mine", encoding="utf-8")  # not rnnkit's: kept
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "b")])
    assert code == 0 and "removed the earlier cross-validation's fold1\n" in err, err
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if p.name.startswith("fold")) == ["fold2"]
    # and a cross-validation after a single run removes that run's model and log (classify RUN/best and
    # curves RUN read them as the cross-validation's), and says so
    assert (tmp_path / "b" / "best.safetensors").is_file() and (tmp_path / "b" / "metrics.jsonl").is_file()
    code, _, err = run_cli(capsys, argv + ["--folds", "2", "--run-dir", str(tmp_path / "b")])
    assert code == 0 and "removed the earlier run's best.safetensors and last.safetensors\n" in err, err
    assert not any((tmp_path / "b" / name).exists() for name in ("best.safetensors", "last.safetensors",
                                                                 "metrics.jsonl"))
    record = json.loads((tmp_path / "b" / "cross_validation.json").read_text(encoding="utf-8"))
    assert (record["folds"], record["fold_seed"], len(record["per_fold"])) == (2, 0, 2)
    mean = sum(f["accuracy"] for f in record["per_fold"]) / 2
    assert abs(record["mean"]["accuracy"] - mean) < 1e-12 and set(record["std"]) == {"accuracy", "macro_f1"}


def test_resume_refuses_other_batches_or_validation(tmp_path, capsys):
    """A resumed run's cursor counts batches of the first run's size, and its best model was chosen on
    the first run's validation data: a changed --batch-size, --singleton-unk or --valid is refused."""
    rng = np.random.default_rng(2)
    train = write_conllu(tmp_path / "train.conllu", _sentences(rng, 40))
    valid = write_conllu(tmp_path / "dev.conllu", _sentences(rng, 10))
    other = write_conllu(tmp_path / "dev2.conllu", _sentences(rng, 10))
    argv = ["train", "tagger", "--train", str(train), "--epochs", "2", "--singleton-unk", "0.5", "--embed", "8",
            "--hidden", "8", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(tmp_path / "r")]
    code, _, err = run_cli(capsys, [*argv, "--valid", str(valid), "--batch-size", "4", "--max-steps", "5"])
    assert code == 0, err
    for changed, words in (
            (["--valid", str(valid), "--batch-size", "4", "--optimizer", "sgd"],
             "--optimizer (TrainConfig.optimizer) adam then, sgd now; --lr (TrainConfig.lr) 0.001 then, 0.1 now (each "
             "optimizer has its own default lr)"),
            (["--valid", str(valid), "--batch-size", "5"], "--batch-size 4 then, 5 now"),
            (["--valid", str(valid), "--batch-size", "4", "--singleton-unk", "0.25"], "--singleton-unk 0.5 then, 0.25 now"),
            (["--batch-size", "4"], "then, none now"),
            (["--valid", str(other), "--batch-size", "4"], "validation data ")):
        code, _, err = run_cli(capsys, [*argv, *changed, "--resume"])
        assert code == 2 and words in err and "other training options" in err, err
        assert len([line for line in err.splitlines() if "error" in line]) == 1, err
    code, _, err = run_cli(capsys, [*argv, "--valid", str(valid), "--batch-size", "4", "--resume"])
    assert code == 0, err


def test_value_digest_tells_data_sets_apart():
    from rnnkit.train.digest import value_digest

    a = [np.arange(5), np.array([1, 2])]
    assert value_digest(None) is None
    assert value_digest(a) == value_digest([np.arange(5), np.array([1, 2])])
    for b in ([np.arange(5), np.array([2, 1])], [np.arange(5)], [np.arange(5).astype(np.int32), np.array([1, 2])],
              [np.arange(5), np.array([1, 2]), "x"], [np.arange(5).reshape(5, 1), np.array([1, 2])]):
        assert value_digest(b) != value_digest(a)
    assert value_digest({"b": 1, "a": "x"}) == value_digest({"a": "x", "b": 1})


def test_resume_refuses_other_validation_batching_or_decoding(tmp_path, capsys):
    """The validation figures a run's best model and schedule follow depend on how validation is batched
    (train lm --eval-batch-size: its streams) and decoded (train seq2seq --max-decode-len, --eval-batch-size):
    a resume that changed them went on silently with other validation figures."""
    rng = np.random.default_rng(4)
    text = tmp_path / "t.txt"
    text.write_text("".join(" ".join(rng.choice(list("abcdef"), 8)) + "\n" for _ in range(60)), encoding="utf-8")
    lm = ["train", "lm", "--train", str(text), "--valid", str(text), "--bptt", "5", "--epochs", "2", *COMMON,
          "--run-dir", str(tmp_path / "lm")]
    pairs = tmp_path / "p.tsv"
    pairs.write_text("".join(f"{' '.join(w)}\t{' '.join(reversed(w))}\n"
                             for w in (rng.choice(list("abcdef"), 4) for _ in range(40))), encoding="utf-8")
    mt = ["train", "seq2seq", "--train", str(pairs), "--valid", str(pairs), "--epochs", "2", "--embed", "8",
          "--hidden", "8", "--batch-size", "8", "--progress", "none",
          "--checkpoint-minutes", "0", "--bleu-sentences", "5", "--run-dir", str(tmp_path / "mt")]
    for argv, changed, words in ((lm, ["--eval-batch-size", "5"], "--eval-batch-size 10 then, 5 now"),
                                 (mt, ["--eval-batch-size", "16"], "--eval-batch-size 128 then, 16 now"),
                                 (mt, ["--max-decode-len", "9"], "--max-decode-len none then, 9 now")):
        if not (tmp_path / argv[-1]).exists():
            code, _, err = run_cli(capsys, [*argv, "--max-steps", "3"])
            assert code == 0, err
        code, _, err = run_cli(capsys, [*argv, *changed, "--resume"])
        assert code == 2 and words in err and "other training options" in err, err
    for argv in (lm, mt):
        code, _, err = run_cli(capsys, [*argv, "--resume"])
        assert code == 0, err
    # without validation they shape the final test alone, which a resume may change
    test_only = ["train", "seq2seq", "--train", str(pairs), "--test", str(pairs), "--epochs", "2", "--embed", "8",
                 "--hidden", "8", "--batch-size", "8", "--progress", "none", "--checkpoint-minutes", "0",
                 "--run-dir", str(tmp_path / "mt-test")]
    code, _, err = run_cli(capsys, [*test_only, "--max-steps", "3"])
    assert code == 0, err
    code, _, err = run_cli(capsys, [*test_only, "--eval-batch-size", "16", "--max-decode-len", "9", "--resume"])
    assert code == 0 and "resumed from" in err, err


def test_a_size_of_a_part_one_run_lacks_is_not_named_on_resume():
    """attention_size sizes attention pooling (a classifier's) and additive attention (a translator's) alone, and
    is recorded at its default without them: a change is named only when both runs have the part.  A checkpoint
    from before the field existed (no attention_size) compares as before."""
    from rnnkit.train.digest import task_changes

    def clf(**kw):
        return {"classifier_config": {"hidden_size": 8, "pooling": "max", "attention_size": 100, **kw}}

    assert task_changes(clf(), clf(pooling="attention", attention_size=8)) == [
        "--pooling (classifier_config.pooling): 'max' then, 'attention' now"]
    assert task_changes(clf(pooling="attention", attention_size=8), clf()) == [
        "--pooling (classifier_config.pooling): 'attention' then, 'max' now"]
    assert task_changes(clf(pooling="mean", attention_size=5), clf()) == [
        "--pooling (classifier_config.pooling): 'mean' then, 'max' now"]
    assert task_changes(clf(attention_size=5), clf()) == []  # neither has attention pooling: the same model
    assert task_changes(clf(pooling="attention", attention_size=8), clf(pooling="attention", attention_size=6)) == [
        "--attention-size (classifier_config.attention_size): 8 then, 6 now"]
    # --attention-size not given follows --hidden: a changed --hidden alone is named
    assert task_changes(clf(pooling="attention", attention_size=8), clf(pooling="attention", hidden_size=6,
                                                                        attention_size=6)) == [
        "--hidden (classifier_config.hidden_size): 8 then, 6 now"]
    assert task_changes(clf(pooling="attention", attention_size=8), clf(pooling="attention", hidden_size=6,
                                                                        attention_size=7)) == [
        "--attention-size (classifier_config.attention_size): 8 then, 7 now",
        "--hidden (classifier_config.hidden_size): 8 then, 6 now"]
    old = {"classifier_config": {"hidden_size": 8, "pooling": "max"}}  # written before attention_size was recorded
    assert task_changes(old, clf()) == []
    assert task_changes(old, clf(pooling="attention", attention_size=8)) == [
        "--pooling (classifier_config.pooling): 'max' then, 'attention' now"]

    def mt(**kw):
        return {"seq2seq_config": {"attention": "general", "attention_size": 8, **kw}}

    assert task_changes(mt(), mt(attention_size=16)) == []
    assert task_changes(mt(), mt(attention="additive", attention_size=16)) == [
        "--attention (seq2seq_config.attention): 'general' then, 'additive' now"]
    assert task_changes(mt(attention="additive"), mt(attention="additive", attention_size=16)) == [
        "--attention-size (seq2seq_config.attention_size): 8 then, 16 now"]
    assert task_changes(mt(attention="additive", decoder_hidden_size=8),
                        mt(attention="additive", decoder_hidden_size=16, attention_size=16)) == [
        "--hidden (seq2seq_config.decoder_hidden_size): 8 then, 16 now"]  # --attention-size follows --hidden
