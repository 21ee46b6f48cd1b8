"""``rnnkit train seq2seq --tie`` end to end on tiny TSV pairs, for the encoder-decoder without attention
(``--attention none``) and with it: the checkpoint holds the one shared matrix, ``translate`` and
``evaluate`` read it, and a run stopped and resumed ends with the weights of the run never stopped."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import translate

sacrebleu = pytest.importorskip("sacrebleu")

WORDS = {"ein": "a", "rot": "red", "hund": "dog", "katze": "cat", "haus": "house", "klein": "small"}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Word-by-word 'translations' in reverse order, 40 for training and 6 for validation, as TSV files."""
    d = tmp_path_factory.mktemp("tied_tsv")
    rng = np.random.default_rng(0)
    keys = sorted(WORDS)
    lines = []
    for _ in range(46):
        words = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(2, 5))]
        lines.append(" ".join(words) + "\t" + " ".join(WORDS[w] for w in reversed(words)))
    (d / "train.tsv").write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    (d / "valid.tsv").write_text("\n".join(lines[40:]) + "\n", encoding="utf-8")
    (d / "valid.src").write_text("\n".join(line.split("\t")[0] for line in lines[40:]) + "\n", encoding="utf-8")
    return d


def _train(d, run, attention, *extra):
    return ["train", "seq2seq", "--train", str(d / "train.tsv"), "--valid", str(d / "valid.tsv"), "--tie",
            "--attention", attention, "--embed", "16", "--hidden", "16", "--epochs", "2", "--batch-size", "8",
            "--bleu-sentences", "0", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(run), *extra]


@pytest.mark.parametrize("attention", ["none", "general"])
def test_tied_model_trains_translates_evaluates_and_resumes(pairs, tmp_path, capsys, attention):
    whole = tmp_path / "whole"
    code, _, err = run_cli(capsys, _train(pairs, whole, attention))
    assert code == 0, err
    path = whole / "last.safetensors"
    arrays, meta = load_checkpoint(path)
    cfg = meta["task"]["seq2seq_config"]
    assert cfg["tie_weights"] is True and cfg["attention"] == attention
    assert "model/output.weight" not in arrays and arrays["model/tgt_embedding.weight"].shape[1] == 16
    tr = load_translator(path)
    assert tr.model.config.tie_weights and "output.weight" not in tr.model.params

    src = (pairs / "valid.src").read_text(encoding="utf-8").splitlines()
    want = [t[0].text for t in translate(tr, src)]
    code, out, err = run_cli(capsys, ["translate", str(path), str(pairs / "valid.src")])
    assert code == 0 and out.splitlines() == want, err

    refs = [line.split("\t")[1] for line in (pairs / "valid.tsv").read_text(encoding="utf-8").splitlines()]
    code, out, err = run_cli(capsys, ["evaluate", str(path), str(pairs / "valid.tsv"), "--json"])
    assert code == 0, err
    m = json.loads(out)
    assert m["sentences"] == 6 and abs(m["bleu"] - sacrebleu.corpus_bleu(want, [refs]).score) < 1e-9
    assert np.isfinite(m["loss"]) and m["loss"] > 0

    # stopped after 3 of its 10 steps (40 pairs / 8 a batch, 2 epochs), then resumed: the same weights
    part = tmp_path / "part"
    code, _, err = run_cli(capsys, _train(pairs, part, attention, "--max-steps", "3"))
    assert code == 0, err
    code, _, err = run_cli(capsys, [*_train(pairs, part, attention), "--resume"])
    assert code == 0 and "resumed from" in err and "at epoch 1, step 3" in err, err
    resumed, _ = load_checkpoint(part / "last.safetensors")
    assert set(resumed) == set(arrays)
    for k, v in arrays.items():
        if k.startswith("model/"):
            assert np.array_equal(resumed[k], v), k
