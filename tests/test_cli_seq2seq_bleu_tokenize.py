"""``rnnkit train seq2seq`` and ``rnnkit evaluate`` with the BLEU tokenizer: exact Chinese (unspaced) translations
score BLEU 100 with sacrebleu's zh tokenizer, the tokenizer chosen in training is kept in the checkpoint and can be
overridden, and --bleu-tokenize is refused for models that compute no BLEU."""
from __future__ import annotations

import json

import numpy as np
import pytest
from seq2seq_cli import one_error_line, write

from rnnkit.cli.main import main
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import translate

sacrebleu = pytest.importorskip("sacrebleu")


CJK_SRC = "abcdefghij"
CJK_TGT = "一红狗猫大跑蓝房小看"


def zh_corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Latin letters to Chinese characters, order reversed, a Chinese full stop: an unspaced target."""
    rng = np.random.default_rng(seed)
    src, tgt = [], []
    for _ in range(n):
        word = "".join(CJK_SRC[i] for i in rng.integers(0, 10, size=rng.integers(4, 8)))
        src.append(word)
        tgt.append("".join(CJK_TGT[CJK_SRC.index(c)] for c in reversed(word)) + "。")
    return src, tgt


@pytest.fixture(scope="module")
def zh_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("zh")
    out = {"dir": d}
    for split, n, seed in (("train", 160, 0), ("valid", 12, 1), ("test", 12, 2)):
        src, tgt = zh_corpus(n, seed)
        out[split] = write(d / f"{split}.tsv", [f"{s}\t{t}" for s, t in zip(src, tgt)])
    return out


ZH_SMALL = ["--level", "char", "--embed", "16", "--hidden", "32", "--progress", "none", "--checkpoint-minutes", "0",
            "--batch-size", "16", "--lr", "0.01", "--bleu-sentences", "12"]


def test_evaluate_exact_chinese_translations_score_bleu_100(zh_files, tmp_path, capsys):
    """The audit: 'BLEU 0.00, chrF 100.00, exact match 100.00% ... tok:13a' for exact Chinese output."""
    run = tmp_path / "run"
    assert main(["train", "seq2seq", "--train", zh_files["train"], "--valid", zh_files["valid"], "--epochs", "3",
                 "--run-dir", str(run), *ZH_SMALL]) == 0
    announced = capsys.readouterr().err
    model = str(run / "best.safetensors")
    src = [line.split("\t")[0] for line in open(zh_files["test"], encoding="utf-8").read().splitlines()]
    refs = [line.split("\t")[1] for line in open(zh_files["test"], encoding="utf-8").read().splitlines()]
    hyps = [t[0].text for t in translate(load_translator(model), src)]
    # references that are the model's own output: every translation is exact
    kept = [(s, h) for s, h in zip(src, hyps) if len(h) >= 4 and "<" not in h]
    assert len(kept) >= 3, hyps
    exact = write(tmp_path / "exact.tsv", [f"{s}\t{h}" for s, h in kept])
    assert main(["evaluate", model, exact]) == 0
    out = capsys.readouterr().out
    assert "BLEU 100.00" in out and "exact match 100.00%" in out and "tok:zh" in out, out
    # against the real references: sacrebleu with its zh tokenizer, or whatever --bleu-tokenize says
    assert main(["evaluate", model, zh_files["test"], "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize="zh").score and "tok:zh" in m["bleu_signature"]
    assert m["bleu_tokenize"] == "zh"
    for tok in ("13a", "char"):
        assert main(["evaluate", model, zh_files["test"], "--json", "--bleu-tokenize", tok]) == 0
        m = json.loads(capsys.readouterr().out)
        assert m["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok).score, tok
        assert f"tok:{tok}" in m["bleu_signature"] and m["bleu_tokenize"] == tok
    assert "BLEU tokenizer zh (auto" in announced, announced  # training said which BLEU its validation computes


def test_bleu_tokenizer_chosen_in_training_is_kept_and_can_be_overridden(zh_files, tmp_path, capsys):
    from rnnkit.checkpoint import load_meta

    run = tmp_path / "run"
    assert main(["train", "seq2seq", "--train", zh_files["train"], "--valid", zh_files["valid"], "--max-steps", "2",
                 "--epochs", "1", "--select-by", "bleu", "--bleu-tokenize", "char", "--run-dir", str(run),
                 *ZH_SMALL]) == 0
    assert "BLEU tokenizer char" in capsys.readouterr().err
    model = str(run / "last.safetensors")
    assert load_meta(model)["task"]["bleu_tokenize"] == "char"
    assert load_translator(model).bleu_tokenize == "char"
    assert main(["evaluate", model, zh_files["test"]]) == 0  # the checkpoint's choice by default
    assert "tok:char" in capsys.readouterr().out
    assert main(["evaluate", model, zh_files["test"], "--bleu-tokenize", "auto"]) == 0
    assert "tok:zh" in capsys.readouterr().out
    # resuming with another tokenizer would mix two BLEUs in one run's history (the data lines come first)
    assert main(["train", "seq2seq", "--train", zh_files["train"], "--valid", zh_files["valid"], "--epochs", "1",
                 "--resume", "--bleu-tokenize", "zh", "--run-dir", str(run), *ZH_SMALL]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("rnnkit: error:") and "--bleu-tokenize (bleu_tokenize) 'char' then, 'zh' now" in last, last
    with pytest.raises(SystemExit) as exit_:  # an argparse usage error
        main(["train", "seq2seq", "--train", zh_files["train"], "--bleu-tokenize", "moses", "--run-dir",
              str(tmp_path / "r"), *ZH_SMALL])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "--bleu-tokenize: invalid choice: 'moses'" in err, err


def test_bleu_tokenize_is_refused_for_other_models(tmp_path, capsys):
    text = write(tmp_path / "text.txt", ["the cat sat on the mat", "the dog sat on the log"] * 5)
    kn = str(tmp_path / "kn.safetensors")
    assert main(["train", "ngram", "--train", text, "--order", "2", "--save", kn]) == 0
    capsys.readouterr()
    one_error_line(capsys, main(["evaluate", kn, text, "--bleu-tokenize", "zh"]),
                   "--bleu-tokenize does not apply to", "an n-gram language model", "leave it out")
