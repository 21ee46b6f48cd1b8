"""Pretrained word vectors: the readers (text and word2vec binary), filling a table, and --embeddings."""
from __future__ import annotations

import gzip
import re
import struct
import warnings

import numpy as np
import pytest
from clirun import error_line, run_cli

from rnnkit.checkpoint import load_checkpoint
from rnnkit.data.vectors import fill_embedding, read_vectors, wanted_words
from rnnkit.errors import DataError

WORDS = ["the", "good", "bad", "Movie", "plot twist", "caf\u00e9", "\u7535\u5f71"]


def _table(dim=4, seed=0):
    return np.random.default_rng(seed).standard_normal((len(WORDS), dim)).astype(np.float32)


def _text(vecs, header=False, trailing=""):
    lines = [f"{len(WORDS)} {vecs.shape[1]}\n"] if header else []
    lines += [w + " " + " ".join(repr(float(x)) for x in v) + trailing + "\n" for w, v in zip(WORDS, vecs)]
    return "".join(lines)


BIN_WORDS = [w.replace(" ", "_") for w in WORDS]  # word2vec's binary format ends a word at a space


def _binary(vecs, newline=True):
    out = [f"{len(WORDS)} {vecs.shape[1]}\n".encode()]
    for w, v in zip(BIN_WORDS, vecs):
        out.append(w.encode() + b" " + struct.pack(f"<{len(v)}f", *v) + (b"\n" if newline else b""))
    return b"".join(out)


@pytest.mark.parametrize("name,header,trailing", [("glove.txt", False, ""), ("w2v.vec", True, " "),
                                                  ("crlf.txt", True, "\r")])
def test_text_formats_read_every_word_whole(tmp_path, name, header, trailing):
    vecs = _table()
    path = tmp_path / name
    path.write_bytes(_text(vecs, header, trailing).encode("utf-8"))
    wv = read_vectors(path)
    # "plot twist" holds a space (as GloVe 840B's few such words): the last d fields are the vector
    assert wv.words == WORDS and wv.dim == 4 and wv.entries == len(WORDS) and wv.skipped == 0
    assert wv.vectors.dtype == np.float32 and np.array_equal(wv.vectors, vecs)


@pytest.mark.parametrize("newline", [True, False])
def test_word2vec_binary_and_gzip(tmp_path, newline):
    vecs = _table(dim=5)
    path = tmp_path / "vectors.bin"
    path.write_bytes(_binary(vecs, newline))
    wv = read_vectors(path)
    assert wv.words == BIN_WORDS and np.array_equal(wv.vectors, vecs)
    gz = tmp_path / "vectors.bin.gz"
    gz.write_bytes(gzip.compress(_binary(vecs, newline)))
    wv = read_vectors(gz, wanted={"bad", "\u7535\u5f71", "absent"})
    assert wv.words == ["bad", "\u7535\u5f71"] and np.array_equal(wv.vectors, vecs[[2, 6]])
    assert wv.entries == len(WORDS)


@pytest.mark.parametrize("spaced", [set(), {"plot twist"}])  # a wanted word with a space: no quick skipping
def test_only_wanted_words_kept_first_of_duplicates_and_bad_utf8_skipped(tmp_path, spaced):
    vecs = _table()
    body = _text(vecs).encode("utf-8") + b"good 9 9 9 9\n" + b"caf\xe9 1 2 3 4\n"  # a duplicate, a Latin-1 word
    path = tmp_path / "v.txt.gz"
    path.write_bytes(gzip.compress(body))
    wv = read_vectors(path, wanted={"good", "the"} | spaced)
    if spaced:
        assert wv.words == ["the", "good", "plot twist"] and np.array_equal(wv.vectors, vecs[[0, 1, 4]])
    else:  # a set without such words skips lines by their first field
        assert wv.words == ["the", "good"] and np.array_equal(wv.vectors, vecs[:2])
    assert wv.entries == len(WORDS) + 2 and wv.skipped == 1


@pytest.mark.parametrize("name,content,message", [
    ("v.txt", b"the 0.1 0.2\ngood 0.3 abc\n", r"v\.txt: line 2: expected 2 numbers after the word 'good', got 'abc'"),
    ("v.txt", b"the 0.1 0.2 0.3\ngood 0.3\n", r"v\.txt: line 2: expected a word and 3 numbers, got 2 fields"),
    ("v.txt", b"\n\n", r"v\.txt: no word vectors in the file"),
    ("v.txt", b"lonely\n", r"v\.txt: line 1: expected a word and its vector"),
    ("v.txt", b"the nan 0.2\n", r"v\.txt: the vector of 'the' holds NaN or inf"),
    ("v.txt", b"the 1e308 0.2\n", r"v\.txt: the vector of 'the' holds NaN or inf \(or a number beyond float32"),
    ("v.bin", b"the 0.1 0.2\n", r"v\.bin: expected word2vec's binary header 'count dim' on line 1"),
    ("v.bin", b"\xd9\x9e+\xef\x04\x19>\x00\x01\n", r"v\.bin: expected word2vec's binary header 'count dim' on line 1, "
                                                r"got binary data \(not text\); a text file"),  # not its bytes
    ("v.bin", b"3 2\nthe " + struct.pack("<2f", 1, 2) + b"\ngood " + b"\x00\x00", r"v\.bin: ends inside entry 2 of 3"),
    ("v.txt.gz", b"not gzip at all", r"v\.txt\.gz: cannot be decompressed"),
    # a binary file without the .bin name: its "words" are not UTF-8 (they were all skipped, silently)
    ("v.dat", b"".join(b"\xe0\x09\xd5" + bytes([k]) + b" 0.5 0.25\n" for k in range(0xa0, 0xa6)),
     r"v\.dat: 6 of its 6 words are not UTF-8 text; is it a binary file\? A word2vec binary file must end in \.bin"),
    ("v.vec", b"3 2\nthe 0.1 0.2\n", r"v\.vec: line 1 says 3 vectors, but the file holds 1; it is truncated"),
    ("v.vec", b"1 2\nthe 0.1 0.2\na 0.3 0.4\n", r"v\.vec: line 1 says 1 vectors, but the file holds 2; correct"),
])
def test_bad_files_raise_one_clear_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_vectors(path)


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    for header in (b"", b"2 2\n"):
        path = tmp_path / "bom.txt"
        path.write_bytes(b"\xef\xbb\xbf" + header + b"the 0.1 0.2\ngood 0.3 0.4\n")
        assert read_vectors(path, wanted={"the", "good"}).words == ["the", "good"]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_vectors(tmp_path / "none.txt")
    with pytest.raises(DataError, match="is a directory, expected a word-vector file"):
        read_vectors(tmp_path)


def test_fill_embedding_exact_then_lowercase_and_leaves_the_rest(tmp_path):
    vecs = _table()
    path = tmp_path / "v.txt"
    path.write_text(_text(vecs), encoding="utf-8")
    tokens = ["<unk>", "good", "Good", "MOVIE", "Movie", "the", "\u7535\u5f71", "zebra"]
    wv = read_vectors(path, wanted_words(tokens))
    weight = np.full((len(tokens), 4), 7.0, dtype=np.float32)
    cov = fill_embedding(weight, tokens, wv)
    # "Good" -> "good" by lowercasing; "MOVIE" lowercases to "movie", which the file (holding "Movie") lacks
    assert (cov.exact, cov.lowercased, cov.found, cov.total) == (4, 1, 5, 8)
    expect = {"good": 1, "Good": 1, "Movie": 3, "the": 0, "\u7535\u5f71": 6}
    for row, tok in enumerate(tokens):
        if tok in expect:
            assert np.array_equal(weight[row], vecs[expect[tok]]), tok
        else:
            assert (weight[row] == 7.0).all(), tok
    with pytest.raises(ValueError, match="embedding size 5, got 4-dimensional"):
        fill_embedding(np.zeros((len(tokens), 5), np.float32), tokens, wv)
    with pytest.raises(ValueError, match="one token per row"):
        fill_embedding(weight[:3], tokens, wv)


# ---------------------------------------------------------------------- the CLI's --embeddings
SMALL = ["--hidden", "8", "--batch-size", "8", "--dropout", "0.1", "--progress", "none", "--checkpoint-minutes", "0",
         "--lr", "0.03"]
CUES = {"pos": "great", "neg": "dull"}
FILLER = "the a movie plot it was is and".split()




@pytest.fixture()
def cls_files(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(80):
        label = ["pos", "neg"][int(rng.integers(2))]
        words = [str(w) for w in rng.choice(FILLER, 4)]
        words.insert(int(rng.integers(5)), CUES[label])
        rows.append(f"{label}\t{' '.join(words)}\n")
    (tmp_path / "train.tsv").write_text("".join(rows), encoding="utf-8")
    known = ["The", "great", "dull", "movie", "plot", "absent"]  # "The" reaches "the" only by lowercasing
    vecs = np.random.default_rng(2).standard_normal((len(known), 6)).astype(np.float32)
    lines = [f"{len(known)} 6\n"] + [w + " " + " ".join(f"{x:.6f}" for x in v) + "\n" for w, v in zip(known, vecs)]
    (tmp_path / "vec.vec").write_text("".join(lines), encoding="utf-8")
    file_vecs = dict(zip(known, read_vectors(tmp_path / "vec.vec").vectors))
    return tmp_path / "train.tsv", tmp_path / "vec.vec", file_vecs


def test_classifier_frozen_embeddings_stay_the_files_vectors(tmp_path, capsys, cls_files):
    from rnnkit.classify.task import load_classifier

    train, vec, file_vecs = cls_files
    run = tmp_path / "frozen"
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--embeddings", str(vec),
                                   "--freeze-embeddings", "--epochs", "2", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    assert re.search(r"embeddings: 4 of \d+ vocabulary words have a vector in .*vec\.vec \([\d.]+%, 0 of them "
                     r"lowercased; 6 vectors of size 6 in the file\); the others start random, and the table is "
                     r"frozen", err), err
    model, enc, _ = load_classifier(run / "last.safetensors")
    table = model.params["embedding.weight"]
    assert model.config.embedding_dim == 6  # the vectors' size, without --embed
    tokens = enc.vocab.tokens
    for w in ("great", "dull", "movie", "plot"):
        assert np.array_equal(table[tokens.index(w)], file_vecs[w]), w
    assert load_checkpoint(run / "last.safetensors")[1]["train_config"]["frozen"] == ["embedding.weight"]

    run = tmp_path / "tuned"  # without --freeze-embeddings the vectors are a starting point and move
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--embeddings", str(vec), "--lowercase",
                                 "--epochs", "2", "--run-dir", str(run), *SMALL])
    assert code == 0 and "embeddings: 4 of" in err, err  # vocabulary "the" lowercases to itself: "The" is not it
    model, enc, _ = load_classifier(run / "last.safetensors")
    row = model.params["embedding.weight"][enc.vocab.tokens.index("great")]
    assert not np.array_equal(row, file_vecs["great"]) and np.abs(row - file_vecs["great"]).max() < 1.0


def test_classifier_folds_read_the_vectors_once(tmp_path, capsys, cls_files, monkeypatch):
    import rnnkit.cli.pretrained as pretrained

    train, vec, _ = cls_files
    calls = []
    real = pretrained.read_vectors
    monkeypatch.setattr(pretrained, "read_vectors", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(pretrained, "_LAST", None)
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--embeddings", str(vec), "--folds", "3",
                                   "--epochs", "1", "--run-dir", str(tmp_path / "cv"), *SMALL])
    assert code == 0 and "3-fold cross-validation" in out, err
    assert len(calls) == 1 and err.count("embeddings: ") == 3


def test_tagger_and_tree_take_embeddings(tmp_path, capsys):
    from rnnkit.tagging.io import load_tagger
    from rnnkit.treenet.task import load_treenet

    vecs = {"the": [0.5, -1.0, 2.0], "dog": [1.5, 0.25, -0.75], "good": [-2.0, 1.0, 0.5]}
    vec = tmp_path / "glove.txt"
    vec.write_text("".join(w + " " + " ".join(map(str, v)) + "\n" for w, v in vecs.items()), encoding="utf-8")
    conllu = tmp_path / "t.conllu"
    conllu.write_text("".join(f"1\tthe\tthe\tDET\t_\t_\t0\tdep\t_\t_\n2\t{n}\t{n}\tNOUN\t_\t_\t0\tdep\t_\t_\n\n"
                              for n in ["dog", "cat", "Dog"] * 5), encoding="utf-8")
    run = tmp_path / "tag"
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), "--embeddings", str(vec), "--freeze-embeddings",
                                 "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0 and "embeddings: 3 of 5 vocabulary words" in err and "1 of them lowercased" in err, err
    model, encoder, _ = load_tagger(run / "last.safetensors")
    table, tokens = model.params["embedding.weight"], encoder.words.tokens
    assert table.shape[1] == 3 and np.allclose(table[tokens.index("Dog")], vecs["dog"])
    assert np.allclose(table[tokens.index("the")], vecs["the"])

    trees = tmp_path / "trees.txt"
    trees.write_text("(3 (2 the) (4 good))\n(1 (2 the) (0 bad))\n" * 5, encoding="utf-8")
    run = tmp_path / "tree"
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(trees), "--embeddings", str(vec), "--freeze-embeddings",
                                 "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0 and re.search(r"embeddings: 2 of \d+ vocabulary words", err), err
    model, enc = load_treenet(run / "last.safetensors")
    for w in ("the", "good"):
        assert np.allclose(model.params["embedding.weight"][enc.vocab.tokens.index(w)], vecs[w])


@pytest.mark.parametrize("extra,message", [
    (["--embed", "10"], r"--embed 10 does not match the 6-dimensional vectors in .*vec\.vec; leave --embed out or set it to 6"),
    (["--freeze-embeddings", "--embeddings", None], r"--freeze-embeddings needs --embeddings FILE"),
    (["--embeddings", "MISSING"], r"MISSING: no such file; check the path"),
])
def test_embedding_option_errors_are_one_line(tmp_path, capsys, cls_files, extra, message):
    train, vec, _ = cls_files
    args = ["train", "classifier", "--train", str(train), "--epochs", "1", "--run-dir", str(tmp_path / "r"), *SMALL]
    if "--embeddings" not in extra:
        args += ["--embeddings", str(vec)]
    extra = [x for x in extra if x is not None]
    if extra[-1:] == ["--embeddings"]:
        extra = extra[:-1]
    code, _, err = run_cli(capsys, args + extra)
    assert re.search(message, error_line(code, err))  # the error alone: the "data: ..." line is said after it


def test_language_model_takes_embeddings(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    (tmp_path / "t.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 30, encoding="utf-8")
    vecs = {w: np.random.default_rng(len(w)).standard_normal(6).round(4) for w in ["the", "cat", "sat", "<eos>"]}
    vec = tmp_path / "v.txt"
    vec.write_text("".join(w + " " + " ".join(map(str, v)) + "\n" for w, v in vecs.items()), encoding="utf-8")
    common = ["train", "lm", "--train", str(tmp_path / "t.txt"), "--level", "word", "--embeddings", str(vec),
              "--epochs", "1", "--bptt", "5", "--batch-size", "4", "--progress", "none"]
    code, _, err = run_cli(capsys, [*common, "--hidden", "6", "--tie", "--freeze-embeddings",
                                    "--run-dir", str(tmp_path / "lm")])
    assert code == 0 and "embeddings: 4 of 9 vocabulary words" in err and "output layer" in err, err
    model, vocab, _, _ = load_lm(tmp_path / "lm" / "last.safetensors")
    for w, v in vecs.items():
        assert np.allclose(model.params["embedding.weight"][vocab.token_id(w)], v), w
    code, _, err = run_cli(capsys, [*common, "--hidden", "8", "--tie", "--run-dir", str(tmp_path / "lm2")])
    assert code == 2 and "--tie needs the embedding size to equal --hidden (8); the --embeddings vectors have 6 " \
        "dimensions: give --hidden 6" in err, err
    # vectors of other words only (another language): trained all the same, with a warning
    other = tmp_path / "fr.txt"
    other.write_text("le 0.1 0.2 0.3 0.4 0.5 0.6\nchat 0.1 0.2 0.3 0.4 0.5 0.6\n", encoding="utf-8")
    code, _, err = run_cli(capsys, [*common[:7], str(other), *common[8:], "--hidden", "6",
                                    "--run-dir", str(tmp_path / "lm3")])
    assert code == 0 and f"rnnkit: warning: no vocabulary word has a vector in {other}, so the embeddings are " \
                         "all random" in err, err


def test_extend_vocab_adds_evaluation_words_that_have_vectors(tmp_path, capsys, cls_files):
    from rnnkit.classify.task import load_classifier
    from rnnkit.tagging.io import load_tagger
    from rnnkit.treenet.task import load_treenet

    train, vec, file_vecs = cls_files  # vectors for The, great, dull, movie, plot, absent
    test = tmp_path / "test.tsv"
    test.write_text("pos\tabsent great\nneg\tunseen dull\n", encoding="utf-8")  # "unseen" has no vector
    run = tmp_path / "ext"
    args = ["train", "classifier", "--train", str(train), "--test", str(test), "--embeddings", str(vec),
            "--freeze-embeddings", "--epochs", "1", *SMALL]
    code, _, err = run_cli(capsys, [*args, "--extend-vocab", "--run-dir", str(run)])
    assert code == 0 and "vocabulary: 1 of the 2 words of the evaluation data missing from the training data" in err, err
    no_eval = [a for a in args if a not in ("--test", str(test))]  # nothing to take words from: it did nothing
    code, _, err = run_cli(capsys, [*no_eval, "--extend-vocab", "--valid-fraction", "0", "--run-dir", str(run)])
    assert code == 2 and "--extend-vocab adds the words of the evaluation data" in err, err
    model, enc, _ = load_classifier(run / "last.safetensors")
    tokens = enc.vocab.tokens
    assert tokens[-1] == "absent" and "unseen" not in tokens
    assert np.array_equal(model.params["embedding.weight"][tokens.index("absent")], file_vecs["absent"])
    code, _, err = run_cli(capsys, [*args, "--run-dir", str(tmp_path / "plain")])
    assert code == 0 and "absent" not in load_classifier(tmp_path / "plain" / "last.safetensors")[1].vocab.tokens

    conllu = tmp_path / "t.conllu"
    conllu.write_text("1\tthe\tthe\tDET\t_\t_\t0\tdep\t_\t_\n2\tmovie\tmovie\tNOUN\t_\t_\t0\tdep\t_\t_\n\n" * 8,
                      encoding="utf-8")
    dev = tmp_path / "d.conllu"
    dev.write_text("1\tThe\tthe\tDET\t_\t_\t0\tdep\t_\t_\n2\tplot\tplot\tNOUN\t_\t_\t0\tdep\t_\t_\n\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), "--valid", str(dev), "--embeddings",
                                    str(vec), "--extend-vocab", "--epochs", "1", "--run-dir", str(tmp_path / "tag"),
                                    *SMALL])
    assert code == 0, err
    assert load_tagger(tmp_path / "tag" / "last.safetensors")[1].words.tokens[-2:] == ["The", "plot"]

    trees = tmp_path / "trees.txt"
    trees.write_text("(3 (2 the) (4 great))\n(1 (2 the) (0 dull))\n" * 4, encoding="utf-8")
    dev_trees = tmp_path / "dev.txt"
    dev_trees.write_text("(3 (2 movie) (4 great))\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(trees), "--valid", str(dev_trees), "--embeddings",
                                    str(vec), "--extend-vocab", "--epochs", "1", "--run-dir", str(tmp_path / "tree"),
                                    *SMALL])
    assert code == 0 and load_treenet(tmp_path / "tree" / "last.safetensors")[1].vocab.tokens[-1] == "movie", err

    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(trees), "--extend-vocab", "--epochs", "1",
                                    "--run-dir", str(tmp_path / "tree2"), *SMALL])
    assert code == 2 and "--extend-vocab needs --embeddings FILE" in err


def test_a_value_beyond_float32_is_named_without_a_numpy_warning(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"the 1e308 0.2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" used to come first
        with pytest.raises(DataError, match="beyond float32's range"):
            read_vectors(path)


@pytest.mark.parametrize("header", [b"", b"3 3\n"])
def test_a_short_last_line_is_named_even_when_its_word_is_not_wanted(tmp_path, header):
    path = tmp_path / "v.txt"  # the download stopped inside the last line: no "\n", a number lost
    path.write_bytes(header + b"the 0.1 0.2 0.3\ngood 0.4 0.5 0.6\nbadword 0.1 0.2")
    line = 3 + bool(header)
    with pytest.raises(DataError, match=rf"v\.txt: line {line}: expected a word and 3 numbers, got 3 fields"):
        read_vectors(path, wanted=["the", "bad"])
    path.write_bytes(header + b"the 0.1 0.2 0.3\ngood 0.4 0.5 0.6\nbad 0.7 0.8 0.9")  # whole, only its "\n" lost
    assert read_vectors(path, wanted=["the", "bad"]).words == ["the", "bad"]


@pytest.mark.parametrize("header", [b"", b"4 3\n"])
def test_a_short_line_inside_the_file_is_checked_only_when_its_word_is_wanted(tmp_path, header):
    path = tmp_path / "v.txt"  # line 3 lost a number; its fields are counted only when it is parsed anyway
    path.write_bytes(header + b"the 0.1 0.2 0.3\ngood 0.4 0.5 0.6\nbadword 0.1 0.2\nbad 0.7 0.8 0.9\n")
    line = 3 + bool(header)
    with pytest.raises(DataError, match=rf"v\.txt: line {line}: expected a word and 3 numbers, got 3 fields"):
        read_vectors(path, wanted=["the", "badword"])
    read = read_vectors(path, wanted=["the", "bad"])  # passed over unsplit, for speed: counted, not checked
    assert (read.words, read.entries) == (["the", "bad"], 4)
    blank = header.replace(b"4", b"3") + b"the 0.1 0.2 0.3\ngood 0.4 0.5 0.6\n\nbad 0.7 0.8 0.9\n"
    path.write_bytes(blank)  # a blank line is no entry
    assert read_vectors(path, wanted=["the", "bad"]).entries == 3
