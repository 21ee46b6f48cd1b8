"""``train seq2seq --level bpe`` end to end: the SentencePiece models ride in the checkpoint (translate,
evaluate and export need no other file), output is plain text scored on it, --resume reuses the models,
and a missing package or an unfillable --bpe-vocab is one line."""
from __future__ import annotations

import base64
import json
import shutil
import sys

import numpy as np
import pytest
from clirun import run_cli

pytest.importorskip("sentencepiece")

from rnnkit.checkpoint import load_meta  # noqa: E402
from rnnkit.data import bpe  # noqa: E402
from rnnkit.seq2seq.io import load_translator  # noqa: E402

WORDS = {"a": "一个", "man": "男人", "woman": "女人", "dog": "狗", "cat": "猫", "runs": "跑", "sees": "看见",
         "big": "大", "small": "小", "red": "红", "house": "房子", "street": "街上", "ball": "球"}
SMALL = ["--embed", "8", "--hidden", "16", "--progress", "none", "--checkpoint-minutes", "0", "--batch-size", "8"]


def corpus(n: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    keys = sorted(WORDS)
    pairs = []
    for _ in range(n):
        words = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(2, 6))]
        pairs.append((" ".join(words).capitalize() + ".", "".join(WORDS[w] for w in words) + "。"))
    return pairs


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("bpe")
    files = {}
    for name, seed in (("train", 0), ("test", 1)):
        files[name] = d / f"{name}.tsv"
        files[name].write_text("".join(f"{s}\t{t}\n" for s, t in corpus(40 if name == "train" else 8, seed)),
                               encoding="utf-8")
    return {"dir": d, **{k: str(v) for k, v in files.items()}}


@pytest.fixture(scope="module")
def run(data):
    from rnnkit.cli.main import main

    folder = data["dir"] / "run"
    assert main(["train", "seq2seq", "--train", data["train"], "--test", data["test"], "--level", "bpe",
                 "--bpe-vocab", "40", "--epochs", "2", "--run-dir", str(folder), *SMALL]) == 0
    return folder


def lines(path: str, column: int) -> list[str]:
    return [line.split("\t")[column] for line in open(path, encoding="utf-8").read().splitlines()]


def test_the_checkpoint_holds_each_side_s_model_learned_from_its_training_lines(data, run):
    task = load_meta(run / "last.safetensors")["task"]
    for k, side in enumerate(("source", "target")):
        fields = task[f"{side}_tokenizer"]
        assert fields["level"] == "bpe"
        # the whole training side, as train_bpe learns it (deterministic: the same bytes again)
        assert base64.b64decode(fields["bpe_model"]) == bpe.train_bpe(lines(data["train"], k), 40)


def test_lowercase_learns_the_model_from_lowercased_lines(data, tmp_path, capsys):
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["train"], "--level", "bpe", "--bpe-vocab", "40",
                                    "--lowercase", "--max-steps", "1", "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 0, err
    task = load_meta(tmp_path / "r" / "last.safetensors")["task"]
    source = [line.lower() for line in lines(data["train"], 0)]
    assert base64.b64decode(task["source_tokenizer"]["bpe_model"]) == bpe.train_bpe(source, 40)
    assert task["source_tokenizer"]["lowercase"] is True
    # the vocabulary line says why it counts fewer types than the model's 40 pieces
    assert "a bpe vocabulary holds the pieces the training text is split into" in err, err


def test_translate_and_evaluate_need_the_checkpoint_alone_and_score_plain_text(data, run, tmp_path, capsys):
    sacrebleu = pytest.importorskip("sacrebleu")
    alone = tmp_path / "model.safetensors"
    shutil.copy(run / "last.safetensors", alone)  # no run folder, no .model file beside it
    code, out, _ = run_cli(capsys, ["translate", str(alone), _sources(data, tmp_path)])
    assert code == 0
    hyps = out.splitlines()
    assert len(hyps) == 8 and not any("▁" in h for h in hyps), hyps  # pieces joined back into text
    code, out, _ = run_cli(capsys, ["evaluate", str(alone), data["test"], "--json"])
    assert code == 0
    scores = json.loads(out)
    assert scores["bleu_tokenize"] == "zh"  # the references are Chinese, raw
    refs = lines(data["test"], 1)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], tokenize="zh").score)


def _sources(data, tmp_path) -> str:
    path = tmp_path / "src.txt"
    path.write_text("".join(s + "\n" for s in lines(data["test"], 0)), encoding="utf-8")
    return str(path)


def test_chinese_source_and_per_side_levels(data, tmp_path, capsys):
    zh_en = tmp_path / "zh_en.tsv"
    zh_en.write_text("".join(f"{t}\t{s}\n" for s, t in corpus(40, 2)), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", str(zh_en), "--source-level", "bpe",
                                    "--target-level", "word", "--source-bpe-vocab", "30", "--epochs", "1",
                                    "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code == 0, err
    translator = load_translator(tmp_path / "r" / "last.safetensors")
    assert translator.source_tokenizer.level == "bpe" and translator.target_tokenizer.level == "word"
    assert bpe.piece_count(translator.source_tokenizer.bpe_model) == 30
    source = "一个男人看见红房子。"
    assert translator.source_tokenizer.detokenize(translator.source_tokenizer.tokenize(source)) == source
    text = tmp_path / "zh.txt"
    text.write_text("".join(t + "\n" for _, t in corpus(12, 3)), encoding="utf-8")
    code, out, err = run_cli(capsys, ["translate", str(tmp_path / "r" / "last.safetensors"), str(text)])
    assert code == 0 and len(out.splitlines()) == 12
    assert "segment" not in err, err  # pieces need no spaces between words: no advice to segment first


def test_resume_reuses_the_models_and_export_keeps_them(data, run, tmp_path, monkeypatch, capsys):
    import rnnkit.cli.seq2seq_bpe as cli_bpe

    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    before = load_meta(folder / "last.safetensors")["task"]

    def refuse(*_):
        raise AssertionError("--resume learned a BPE model again")

    monkeypatch.setattr(cli_bpe, "train_bpe", refuse)
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["train"], "--level", "bpe", "--bpe-vocab",
                                    "40", "--epochs", "3", "--resume", "--run-dir", str(folder), *SMALL])
    assert code == 0, err
    assert "bpe: the resumed run's 40-piece model of the source side" in err, err
    after = load_meta(folder / "last.safetensors")["task"]
    assert after["source_tokenizer"] == before["source_tokenizer"]
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["train"], "--level", "bpe", "--bpe-vocab",
                                    "30", "--epochs", "4", "--resume", "--run-dir", str(folder), *SMALL])
    assert code == 2 and "resume with --bpe-vocab 40" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli(capsys, ["export", str(folder / "last.safetensors"), "-o", str(tmp_path / "x.safetensors")])
    assert code == 0, err
    exported = load_translator(tmp_path / "x.safetensors")
    assert exported.target_tokenizer == load_translator(folder / "last.safetensors").target_tokenizer


@pytest.mark.parametrize("options, says", [
    (["--bpe-vocab", "5000"], "--bpe-vocab 5000 is more pieces than BPE can make of the source side"),
    (["--target-bpe-vocab", "8", "--source-bpe-vocab", "40"], "--target-bpe-vocab 8 is fewer pieces than the target"),
    (["--level", "word", "--bpe-vocab", "40"], "--bpe-vocab has no effect without a side at level bpe"),
    (["--source-level", "word", "--target-level", "bpe", "--source-bpe-vocab", "40"],
     "--source-bpe-vocab has no effect when the source side is not at level bpe"),
    (["--source-level", "char", "--target-level", "bpe", "--target-bpe-vocab", "40", "--bpe-vocab", "60"],
     "--bpe-vocab has no effect with --target-bpe-vocab, which sets the target side, the only one at level bpe, "
     "or leave --bpe-vocab out"),
    (["--source-bpe-vocab", "40", "--target-bpe-vocab", "40", "--bpe-vocab", "60"],
     "--bpe-vocab has no effect with both --source-bpe-vocab and --target-bpe-vocab"),
])
def test_unusable_bpe_options_are_one_line(data, tmp_path, capsys, options, says):
    argv = ["train", "seq2seq", "--train", data["train"], "--run-dir", str(tmp_path / "r"), *SMALL]
    code, _, err = run_cli(capsys, argv + (["--level", "bpe"] if "--level" not in options and
                                           "--target-level" not in options else []) + options)
    message = [line for line in err.splitlines() if line.startswith("rnnkit: error")]
    assert code == 2 and len(message) == 1 and says in message[0], err
    assert "Traceback" not in err and "trainer_interface" not in err


def test_a_missing_sentencepiece_is_one_line_before_reading(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", str(tmp_path / "absent.tsv"), "--level", "bpe",
                                    "--run-dir", str(tmp_path / "r"), *SMALL])
    assert code != 0 and "pip install 'rnnkit[bpe]'" in err and "absent.tsv" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_bpe_model_without_sentencepiece_says_what_to_install(data, run, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    bpe.processor.cache_clear()  # models loaded by earlier tests would need no import
    code, _, err = run_cli(capsys, ["translate", str(run / "last.safetensors"), data["test"]])
    assert code != 0 and "pip install 'rnnkit[bpe]'" in err and len(err.strip().splitlines()) == 1, err


def test_characters_that_never_stand_alone_are_warned_about_and_fewer_merges_leave_fewer(data, tmp_path, capsys):
    """A character always merged in the split training text has no vocabulary row: new text that needs it alone
    reads it as <unk>.  Training says how many, per side; a smaller --bpe-vocab leaves fewer."""
    counts = []
    for size in ("60", "22"):  # 22: the fewest the target side's 20 characters and <unk> allow
        folder = tmp_path / size
        code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["train"], "--source-level", "char",
                                        "--target-level", "bpe", "--target-bpe-vocab", size, "--epochs", "1",
                                        "--run-dir", str(folder), *SMALL])
        assert code == 0, err
        t = load_translator(folder / "last.safetensors")
        chars = bpe.characters(t.target_tokenizer.bpe_model)
        lone = [c for c in chars if c not in t.target_vocab.tokens]  # no row: read as <unk>
        warned = [line for line in err.splitlines() if "never stand alone" in line]
        if lone:
            assert warned == [f"rnnkit: warning: bpe: {len(lone)} of the target side's {len(chars)} characters never "
                              f"stand alone in its training text ({warned[0].split('(', 1)[1].split('), so')[0]}), "
                              "so they have no vocabulary row and new text that needs one alone reads it as <unk>; "
                              "a smaller --target-bpe-vocab (fewer merges) or a larger training text leaves more "
                              "of them alone"], err
        else:
            assert warned == [], err
        counts.append(len(lone))
    assert counts[0] > counts[1] > 0, counts  # 12 and 1


def test_characters_that_never_stand_alone_are_warned_about_once_not_again_on_resume(data, tmp_path, capsys):
    folder = tmp_path / "run"
    argv = ["train", "seq2seq", "--train", data["train"], "--source-level", "char", "--target-level", "bpe",
            "--target-bpe-vocab", "60", "--run-dir", str(folder), *SMALL]
    code, _, err = run_cli(capsys, [*argv, "--epochs", "1"])
    assert code == 0 and err.count("never stand alone") == 1, err
    code, _, err = run_cli(capsys, [*argv, "--epochs", "2", "--resume"])
    assert code == 0 and "the resumed run's 60-piece model of the target side" in err, err
    assert "never stand alone" not in err, err
