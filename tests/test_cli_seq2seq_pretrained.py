"""``rnnkit train seq2seq --src-embeddings / --tgt-embeddings / --freeze-embeddings / --tie`` end to end."""
from __future__ import annotations

import re

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint
from rnnkit.seq2seq.io import load_translator

WORDS = {"ein": "a", "rot": "red", "hund": "dog", "katze": "cat", "haus": "house", "klein": "small"}
SRC_VECS = ["ein", "rot", "hund", "zebra"]  # zebra: not in the vocabulary
TGT_VECS = ["a", "red", "dog", "cat", "Small"]  # Small: the vocabulary's "small" does not lowercase to it


def _vectors(path, words, dim, seed):
    vecs = np.random.default_rng(seed).standard_normal((len(words), dim)).round(4)
    path.write_text("".join(w + " " + " ".join(map(str, v)) + "\n" for w, v in zip(words, vecs)), encoding="utf-8")
    return dict(zip(words, vecs.astype(np.float32)))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("pretrained")
    rng = np.random.default_rng(0)
    keys = sorted(WORDS)
    src, tgt = [], []
    for _ in range(48):
        words = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(2, 5))]
        src.append(" ".join(words))
        tgt.append(" ".join(WORDS[w] for w in reversed(words)))
    (d / "train.de").write_text("\n".join(src) + "\n", encoding="utf-8")
    (d / "train.en").write_text("\n".join(tgt) + "\n", encoding="utf-8")
    return {"dir": d, "train": [str(d / "train.de"), str(d / "train.en")],
            "src": (d / "de.txt", _vectors(d / "de.txt", SRC_VECS, 8, 1)),
            "tgt": (d / "en.txt", _vectors(d / "en.txt", TGT_VECS, 16, 2))}


def _train(data, run, *extra):
    return ["train", "seq2seq", "--train", *data["train"], "--epochs", "1", "--batch-size", "8", "--hidden", "16",
            "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(run), *extra]


def _rows(path, side):
    """{token: row} of a side's embedding table in a checkpoint, and the loaded translator."""
    tr = load_translator(path)
    vocab = tr.source_vocab if side == "src" else tr.target_vocab
    table = tr.model.params[f"{side}_embedding.weight"]
    return {t: table[i] for i, t in enumerate(vocab.tokens)}, tr


def test_vectors_fill_both_sides_and_frozen_tables_stay_the_files(data, tmp_path, capsys):
    (src_file, src_vecs), (tgt_file, tgt_vecs) = data["src"], data["tgt"]
    run = tmp_path / "frozen"
    code, _, err = run_cli(capsys, _train(data, run, "--src-embeddings", str(src_file), "--tgt-embeddings",
                                          str(tgt_file), "--freeze-embeddings"))
    assert code == 0, err
    assert re.search(r"source embeddings: 3 of 10 vocabulary words have a vector in .*de\.txt \(30\.0%, 0 of them "
                     r"lowercased; 4 vectors of size 8 in the file\); the others start random, and the table is "
                     r"frozen", err), err
    assert "target embeddings: 4 of 10 vocabulary words have a vector in" in err and "size 16" in err, err
    path = run / "last.safetensors"
    assert load_checkpoint(path)[1]["train_config"]["frozen"] == ["src_embedding.weight", "tgt_embedding.weight"]
    src_rows, tr = _rows(path, "src")
    tgt_rows, _ = _rows(path, "tgt")
    cfg = tr.model.config
    assert (cfg.src_embedding_dim, cfg.tgt_embedding_dim) == (8, 16)  # the vectors' sizes, not --embed's 128
    for w in ("ein", "rot", "hund"):
        assert np.array_equal(src_rows[w], src_vecs[w]), w
    for w in ("a", "red", "dog", "cat"):
        assert np.array_equal(tgt_rows[w], tgt_vecs[w]), w

    run = tmp_path / "tuned"  # without --freeze-embeddings the vectors are where training starts, and move
    code, _, err = run_cli(capsys, _train(data, run, "--src-embeddings", str(src_file), "--tgt-embeddings",
                                          str(tgt_file)))
    assert code == 0 and "and the table is frozen" not in err, err
    src_rows, _ = _rows(run / "last.safetensors", "src")
    tgt_rows, _ = _rows(run / "last.safetensors", "tgt")
    for rows, vecs, w in ((src_rows, src_vecs, "hund"), (tgt_rows, tgt_vecs, "dog")):
        assert not np.array_equal(rows[w], vecs[w]) and np.abs(rows[w] - vecs[w]).max() < 0.5, w


def test_one_side_takes_its_vectors_size_and_the_other_embed(data, tmp_path, capsys):
    src_file, src_vecs = data["src"]
    run = tmp_path / "one"
    code, _, err = run_cli(capsys, _train(data, run, "--src-embeddings", str(src_file), "--embed", "12",
                                          "--freeze-embeddings"))
    assert code == 0 and "source embeddings: 3 of 10" in err and "target embeddings" not in err, err
    path = run / "last.safetensors"
    rows, tr = _rows(path, "src")
    assert (tr.model.config.src_embedding_dim, tr.model.config.tgt_embedding_dim) == (8, 12)
    assert np.array_equal(rows["rot"], src_vecs["rot"])
    assert load_checkpoint(path)[1]["train_config"]["frozen"] == ["src_embedding.weight"]


def test_tied_model_trains_saves_one_matrix_and_translates(data, tmp_path, capsys):
    tgt_file, tgt_vecs = data["tgt"]
    run = tmp_path / "tied"
    code, _, err = run_cli(capsys, _train(data, run, "--tie", "--tgt-embeddings", str(tgt_file),
                                          "--freeze-embeddings"))
    assert code == 0 and "--tie makes the output layer the target table, so it is frozen too" in err, err
    path = run / "last.safetensors"
    arrays, meta = load_checkpoint(path)
    assert "model/output.weight" not in arrays and "model/output.bias" in arrays
    assert meta["task"]["seq2seq_config"]["tie_weights"] is True
    rows, tr = _rows(path, "tgt")
    assert tr.model.config.tie_weights and "output.weight" not in tr.model.params
    assert np.array_equal(rows["dog"], tgt_vecs["dog"])  # frozen: as the output layer too
    src = tmp_path / "in.de"
    src.write_text("ein rot hund\nkatze\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["translate", str(path), str(src)])
    assert code == 0 and len(out.splitlines()) == 2, err

    code, _, err = run_cli(capsys, _train(data, tmp_path / "plain", "--tie", "--embed", "16"))  # --embed = --hidden
    assert code == 0, err
    assert load_translator(tmp_path / "plain" / "last.safetensors").model.config.tie_weights


@pytest.mark.parametrize("extra,message", [
    (["--tie"], "--tie shares one matrix between the target embedding and the output layer, which reads the "
                "decoder's --hidden 16 units, so the target embedding size (--embed 128) must equal it: give --embed "
                "16 or --hidden 128, or leave --tie out"),
    (["--tie", "--embed", "8"], "(--embed 8) must equal it"),
    (["--freeze-embeddings"], "--freeze-embeddings needs --src-embeddings FILE or --tgt-embeddings FILE"),
    (["--embed", "8", "SRC", "TGT"], "--embed has no effect when both sides have pretrained vectors"),
])
def test_option_errors_are_one_line_before_the_data_are_read(data, tmp_path, capsys, extra, message):
    files = {"SRC": ["--src-embeddings", str(data["src"][0])], "TGT": ["--tgt-embeddings", str(data["tgt"][0])]}
    extra = [a for x in extra for a in files.get(x, [x])]
    code, _, err = run_cli(capsys, _train(data, tmp_path / "r", *extra))
    assert code == 2 and err.startswith("rnnkit: error: ") and "\n" not in err.strip(), err
    assert message in err, err


def test_tied_vectors_of_another_size_than_hidden_are_refused(data, tmp_path, capsys):
    code, _, err = run_cli(capsys, _train(data, tmp_path / "r", "--tie", "--tgt-embeddings", str(data["src"][0])))
    last = err.strip().splitlines()[-1]
    assert code == 2 and last == ("rnnkit: error: --tie needs the target embedding size to equal --hidden (16); the "
                                  "--tgt-embeddings vectors have 8 dimensions: give --hidden 8, or leave --tie "
                                  "out"), err
    assert not (tmp_path / "r").exists()


def test_resume_refuses_changed_tie_vectors_and_freezing(data, tmp_path, capsys):
    src_file = str(data["src"][0])
    other = data["dir"] / "de2.txt"
    other.write_text(data["src"][0].read_text(encoding="utf-8") + "klein " + " ".join(["0.5"] * 8) + "\n",
                     encoding="utf-8")
    base = _train(data, tmp_path / "r", "--embed", "16", "--src-embeddings", src_file, "--max-steps", "2")
    assert run_cli(capsys, base)[0] == 0
    more = [a if a != "2" else "4" for a in base]  # --max-steps 4
    code, _, err = run_cli(capsys, [*more, "--resume", "--tie"])
    assert code == 2 and "--tie (seq2seq_config.tie_weights): False then, True now" in err, err
    code, _, err = run_cli(capsys, [*[a if a != src_file else str(other) for a in more], "--resume"])
    assert code == 2 and "(--src-embeddings de.txt (" in err and "bytes) then, de2.txt (" in err, err
    at = more.index("--embed")  # en.txt's 16-dimensional vectors set the target side's size instead
    code, _, err = run_cli(capsys, [*more[:at], *more[at + 2:], "--resume", "--tgt-embeddings", str(data["tgt"][0])])
    assert code == 2 and "--tgt-embeddings none then, en.txt (" in err, err
    code, _, err = run_cli(capsys, [*more, "--resume", "--freeze-embeddings"])
    assert code == 2 and "--freeze-embeddings (TrainConfig.frozen) not given then, given now" in err, err
    code, _, err = run_cli(capsys, [*more, "--resume"])
    assert code == 0 and "resumed from" in err, err

    tied = _train(data, tmp_path / "t", "--embed", "16", "--tie", "--max-steps", "2")
    assert run_cli(capsys, tied)[0] == 0
    code, _, err = run_cli(capsys, [*[a for a in tied if a != "--tie"], "--resume"])
    assert code == 2 and "--tie (seq2seq_config.tie_weights): True then, False now" in err, err
