"""rnnkit export --onnx of taggers and segmenters with other inputs than words: character features (a char
BiLSTM or a char CNN), bigrams and feature columns.  The graph, fed the inputs the printed code builds (its
spelled, bigram_ids and feature_ids: case kept, width-folded, long words cut, unknown characters and values
<unk>), gives rnnkit's own scores on random non-zero weights, and the printed code rnnkit's tags."""
from __future__ import annotations

import ast

import numpy as np
import pytest
from clirun import run_cli
from test_export_onnx import TOL, _diff, _export_onnx, _lines, _train
from test_export_onnx_crf import _columns, _decoded, _segmented

from rnnkit import checkpoint as ckpt

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _full_width(word):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def _spelled_lines(n=40, seed=0):
    """Sentences whose words' spelling varies: capitals, full-width letters (ＣＡＴ) and long hyphenated words."""
    rng = np.random.default_rng(seed)
    forms = [lambda w: w, str.capitalize, str.upper, lambda w: _full_width(w.upper()), lambda w: w + "-" + w[::-1]]
    return [" ".join(forms[int(rng.integers(len(forms)))](w) for w in line.split()) for line in _lines(n, seed)]


# what rnnkit's encoder does and the code must too: keep case (and lowercase the word for the word vocabulary only),
# fold ＣＡＴ to CAT, cut words longer than --max-chars to their first and last characters, and <unk> for an unknown
# character (é, 猫); the words of this test differ in each of those
SENTENCES = [["The", "CAT", "sat"], ["ＤＯＧ", "ran-nar", "on", "a", "Matrimonial-Xylophone"], ["naïve"], ["猫", "Dog"],
             ["the", "cat-tac", "Saw", "ａ", "BIG", "red", "log"]]
SIZE = {"bilstm": ["--char-hidden", "3"], "cnn": ["--char-filters", "4"]}


def _inputs(ns, sentences, columns=None):
    """The graph's inputs of the sentences (and their tokens' feature ``columns``), by the printed code's
    word_id, spelled, bigram_ids and feature_ids: padded with id 1 past each sentence's end and each word's
    characters (a real id: the graph must ignore it), chars (T, B, Lc) wider than the longest word."""
    lengths = np.array([len(s) for s in sentences])
    T, B = int(lengths.max()), len(sentences)
    vocab = ns["vocab"]
    index = {t: i for i, t in enumerate(vocab["words"]["tokens"])}
    feeds = {"ids": np.full((T, B), 1, np.int64), "lengths": lengths}
    for b, s in enumerate(sentences):
        feeds["ids"][: len(s), b] = [ns["word_id"](w, index, index[vocab["words"]["unk_token"]]) for w in s]
    for name, make in (("bigrams", "bigram_ids"), ("features", "feature_ids")):
        if make in ns:
            rows = [ns[make](s if name == "bigrams" else columns[b]) for b, s in enumerate(sentences)]
            feeds[name] = np.full((T, B, rows[0][name].shape[-1]), 1, np.int64)
            for b, row in enumerate(rows):
                feeds[name][: len(row[name]), b] = row[name][:, 0]
    if "spelled" in ns:
        spelled = [ns["spelled"](s) for s in sentences]
        feeds["chars"] = np.ones((T, B, max(s["chars"].shape[2] for s in spelled) + 2), np.int64)  # (T, B, Lc)
        feeds["char_lengths"] = np.zeros((T, B), np.int64)  # past a sentence's end: 0
        for b, sp in enumerate(spelled):
            for t, n in enumerate(sp["char_lengths"][:, 0]):
                feeds["chars"][t, b, :n] = sp["chars"][t, 0, :n]
                feeds["char_lengths"][t, b] = n
    return feeds


def _sharpened(path):
    """The random checkpoint ``path`` with its emission weights 4 times larger and its transition scores 4 times
    smaller, saved over it, so each word's tags follow its own scores (its spelling) and vary across sentences."""
    arrays, meta = ckpt.load_checkpoint(path)
    for k in arrays:
        if k in ("model/output.weight", "model/output.bias") or k.startswith("model/crf."):
            arrays[k] = (arrays[k] * (4 if k.startswith("model/output") else 0.25)).astype(arrays[k].dtype)
    ckpt.save_checkpoint(path, arrays, meta)
    return path


def _rnnkits_scores(loaded, sentences, columns=None):
    """rnnkit's own emission scores (T, B, K) of the sentences, read by its own encoder, and its word ids."""
    from rnnkit.tagging.io import TaggingData
    from rnnkit.tagging.task import make_batch

    data = TaggingData(sentences, None, columns)
    batch = make_batch(loaded.encoder.encode(data), np.arange(len(sentences)))
    return loaded.model.scores(batch)[0], batch.words


@pytest.mark.parametrize("options", [
    ("--char-encoder", "bilstm", "--crf", "--lowercase", "--fold-width", "--max-chars", "6", "--char-hidden", "3"),
    ("--char-encoder", "bilstm", "--cell", "gru", "--layers", "2", "--residual", "--char-hidden", "4"),
    ("--char-encoder", "cnn", "--crf", "--fold-width", "--max-chars", "5", "--char-filters", "5", "--char-window",
     "3"),
    ("--char-encoder", "cnn", "--unidirectional", "--char-filters", "4", "--char-window", "2", "--max-chars", "7"),
    ("--char-encoder", "cnn", "--crf", "--cell", "rnn", "--char-filters", "3", "--char-window", "4",
     "--lowercase"),
    # the word layers a Scan (layer norm), the char BiLSTM still ONNX's LSTM
    ("--char-encoder", "bilstm", "--crf", "--layer-norm", "--layers", "2", "--char-hidden", "3")])
def test_a_tagger_with_character_features_in_onnxruntime_gives_rnnkits_scores_and_tags(tmp_path, capsys, options):
    from rnnkit.nn.softmax import log_softmax
    from rnnkit.tagging import LoadedTagger

    data = _columns(tmp_path, _spelled_lines())  # BIO spans of the lowercase words, the others O
    model_path = _train(tmp_path, capsys, "tagger", data, "--format", "columns", "--scheme", "bio", "--char-features",
                        "--char-embed", "4", "--embed", "5", "--hidden", "6", *options)
    _sharpened(model_path)
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "chars.onnx")
    loaded = LoadedTagger(model_path)
    assert [i.name for i in session.get_inputs()] == ["ids", "lengths", "chars", "char_lengths"]
    feeds = _inputs(ns, SENTENCES)
    outs = session.run(None, feeds)
    want, words = _rnnkits_scores(loaded, SENTENCES)
    real = np.arange(len(words))[:, None] < feeds["lengths"]  # (T, B)
    assert np.array_equal(feeds["ids"][real], words[real])  # the code's word_id is rnnkit's
    crf = "--crf" in options
    assert _diff("scores", outs[0][real], (want if crf else log_softmax(want))[real]) <= TOL
    # past a sentence's end char_lengths may hold any value, one beyond Lc too (the char BiLSTM's LSTM refuses it)
    beyond = {**feeds, "char_lengths": np.where(real, feeds["char_lengths"], feeds["chars"].shape[2] + 5)}
    assert np.array_equal(session.run(None, beyond)[0][real], outs[0][real])
    tags = loaded.tag([" ".join(s) for s in SENTENCES])
    assert len({tuple(t) for t in tags}) > 2  # varied tags: the decoding is seen at work
    assert [[ns["vocab"]["tags"][k] for k in path]
            for path in _decoded(ns, outs, feeds["lengths"], ns["vocab"]["rules"])] == tags
    assert ast.literal_eval(printed.strip()) == loaded.tag(" ".join(ns["words"]))
    # and rnnkit tag's, from the command line, on the example and on the test's sentences
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(" ".join(s) for s in [ns["words"], *SENTENCES]) + "\n", encoding="utf-8")
    capsys.readouterr()
    code, out, err = run_cli(capsys, ["tag", str(model_path), str(raw)])
    assert code == 0, err
    cli = [[token.rsplit("/", 1)[1] for token in line.split()] for line in out.splitlines()]
    assert cli == [ast.literal_eval(printed.strip()), *tags]


@pytest.mark.parametrize("encoder", ["bilstm", "cnn"])
def test_a_segmenter_with_character_features_cuts_chinese_as_rnnkit_segment_does(tmp_path, capsys, encoder):
    from rnnkit.tagging import LoadedTagger

    model_path = _train(tmp_path, capsys, "tagger", _segmented(tmp_path), "--format", "segmented", "--crf",
                        "--char-features", "--char-encoder", encoder, "--char-embed", "3", *SIZE[encoder], "--embed",
                        "5", "--hidden", "6")
    _sharpened(model_path)
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "分词.onnx")
    loaded = LoadedTagger(model_path)
    assert printed.strip() == " ".join(loaded.segment("".join(ns["chars"])))
    texts = ["我喜欢北京", "今天天气很好", "天", "学习是首都好天气", "京我"]
    feeds = _inputs(ns, [list(t) for t in texts])
    outs = session.run(None, feeds)
    want, _ = _rnnkits_scores(loaded, [list(t) for t in texts])
    real = np.arange(len(want))[:, None] < feeds["lengths"]
    assert _diff("emissions", outs[0][real], want[real]) <= TOL
    words = [ns["bmes_words"](list(t), [ns["vocab"]["tags"][k] for k in path])
             for t, path in zip(texts, _decoded(ns, outs, feeds["lengths"], ns["vocab"]["rules"]))]
    assert words == loaded.segment(texts)
    assert {len(w) for ws in words for w in ws} > {1}  # not every character a word: the decoding is seen at work


@pytest.mark.parametrize("encoder", ["bilstm", "cnn"])
def test_a_float16_tagger_with_chars_bigrams_and_feature_columns_serves_its_rounded_scores(tmp_path, capsys, encoder):
    from rnnkit.tagging import LoadedTagger

    model_path = _train(tmp_path, capsys, "tagger", _pos_columns(tmp_path, _spelled_lines(20)), "--format",
                        "columns", "--scheme", "bio", "--crf", "--char-features", "--char-encoder", encoder,
                        "--char-embed", "4", *SIZE[encoder], "--bigrams", "--bigram-embed", "3", "--feature-columns",
                        "1", "2", "--feature-embed", "3", "--embed", "5", "--hidden", "6")
    session, ns, _ = _export_onnx(capsys, model_path, tmp_path / "c16.onnx", "--dtype", "float16")
    code, _, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "m16.safetensors"), "--dtype",
                                    "float16"])
    assert code == 0, err
    loaded = LoadedTagger(tmp_path / "m16.safetensors")  # rnnkit's float16 export: the same rounded weights
    columns = _feature_columns(SENTENCES, 2)
    feeds = _inputs(ns, SENTENCES, columns)
    assert set(feeds) == {"ids", "lengths", "chars", "char_lengths", "bigrams", "features"}
    outs = session.run(None, feeds)
    want, _ = _rnnkits_scores(loaded, SENTENCES, columns)
    real = np.arange(len(want))[:, None] < feeds["lengths"]
    assert all(o.dtype == np.float32 for o in outs)
    assert _diff("float16 emissions", outs[0][real], want[real]) <= TOL


@pytest.mark.parametrize("options", [["--crf"], ["--crf", "--fold-width", "--char-features", "--char-encoder", "cnn",
                                                 "--char-embed", "3", "--char-filters", "3"], []])
def test_a_segmenter_with_bigrams_cuts_chinese_as_rnnkit_segment_does(tmp_path, capsys, options):
    from rnnkit.nn.softmax import log_softmax
    from rnnkit.tagging import LoadedTagger

    data = _segmented(tmp_path)
    data.write_text(data.read_text(encoding="utf-8") + "２０２６ 年\n", encoding="utf-8")  # full-width digits
    model_path = _train(tmp_path, capsys, "tagger", data, "--format", "segmented", "--bigrams", "--bigram-embed", "3",
                        *options, "--embed", "5", "--hidden", "6")
    _sharpened(model_path)
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "分词.onnx")
    loaded = LoadedTagger(model_path)
    assert "bigrams" in [i.name for i in session.get_inputs()]
    assert printed.strip() == " ".join(loaded.segment("".join(ns["chars"])))
    texts = ["我喜欢北京", "今天天气很好", "天", "学习是首都好天气", "京我", "2026年北京", "２０２６年北京"]
    feeds = _inputs(ns, [list(t) for t in texts])
    outs = session.run(None, feeds)
    want, words = _rnnkits_scores(loaded, [list(t) for t in texts])
    real = np.arange(len(want))[:, None] < feeds["lengths"]
    assert np.array_equal(feeds["ids"][real], words[real])
    assert _diff("scores", outs[0][real], (want if "--crf" in options else log_softmax(want))[real]) <= TOL
    words = [ns["bmes_words"](list(t), [ns["vocab"]["tags"][k] for k in path])
             for t, path in zip(texts, _decoded(ns, outs, feeds["lengths"], ns["vocab"]["rules"]))]
    # rnnkit segment also keeps a number whole (rnnkit.data.segment_rules), the code cuts by the tags alone
    assert words[:5] == loaded.segment(texts[:5])
    assert {len(w) for ws in words for w in ws} > {1}  # not every character a word: the decoding is seen at work


def _feature_columns(sentences, F):
    """The first F of the POS and shape columns of the sentences' words (a POS value, VB, no training word has)."""
    pos = {"the": "DT", "a": "DT", "cat": "VB"}  # VB: a value the column's vocabulary lacks (<unk>)
    return [[[pos.get(w.lower(), "NN"), "X" if w[0].isupper() else "x"][:F] for w in s] for s in sentences]


def _pos_columns(tmp_path, lines):
    """word, POS, shape and BIO tag columns: the POS and shape columns are the tagger's feature columns."""
    rows = _columns(tmp_path, lines).read_text(encoding="utf-8").splitlines(keepends=True)
    out = []
    for row in rows:
        if row.strip():
            word, tag = row.split()
            out.append(f"{word}\t{'DT' if word.lower() in ('the', 'a') else 'NN'}\t{'X' if word[0].isupper() else 'x'}"
                       f"\t{tag}\n")
        else:
            out.append(row)
    path = tmp_path / "pos.tsv"
    path.write_text("".join(out), encoding="utf-8")
    return path


@pytest.mark.parametrize("options", [["--crf", "--feature-columns", "1", "2", "--feature-embed", "3"],
                                     ["--feature-columns", "1", "--bigrams", "--lowercase", "--fold-width",
                                      "--char-features", "--char-hidden", "3", "--char-embed", "3"]])
def test_a_tagger_with_feature_columns_and_bigrams_gives_rnnkits_scores_and_tags(tmp_path, capsys, options):
    from rnnkit.nn.softmax import log_softmax
    from rnnkit.tagging import LoadedTagger

    model_path = _train(tmp_path, capsys, "tagger", _pos_columns(tmp_path, _spelled_lines()), "--format", "columns",
                        "--scheme", "bio", "--embed", "5", "--hidden", "6", *options)
    _sharpened(model_path)
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "pos.onnx")
    loaded = LoadedTagger(model_path)
    F = 2 if "2" in options else 1
    assert session.get_inputs()[-1].name == "features" and session.get_inputs()[-1].shape[-1] == F
    columns = _feature_columns(SENTENCES, F)
    feeds = _inputs(ns, SENTENCES, columns)
    outs = session.run(None, feeds)
    want, words = _rnnkits_scores(loaded, SENTENCES, columns)
    real = np.arange(len(words))[:, None] < feeds["lengths"]
    assert np.array_equal(feeds["ids"][real], words[real])
    assert _diff("scores", outs[0][real], (want if "--crf" in options else log_softmax(want))[real]) <= TOL
    tags = loaded.tag([" ".join(s) for s in SENTENCES], features=columns)
    assert len({tuple(t) for t in tags}) > 2  # varied tags: the decoding is seen at work
    assert [[ns["vocab"]["tags"][k] for k in path]
            for path in _decoded(ns, outs, feeds["lengths"], ns["vocab"]["rules"])] == tags
    assert ast.literal_eval(printed.strip()) == loaded.tag(" ".join(ns["words"]), features=[ns["columns"]])
