"""rnnkit export --onnx of CRF taggers and segmenters: the graph gives rnnkit's emission and transition scores
(random non-zero weights), and the printed code's Viterbi, under the tag scheme's rules, gives rnnkit's tags; a
softmax tagger's or segmenter's code keeps to its scheme's rules as rnnkit does too."""
from __future__ import annotations

import ast
import contextlib
import json

import numpy as np
import pytest
from clirun import run_cli
from test_export_onnx import TOL, _diff, _export_onnx, _lines, _train

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

SPAN = {"cat": "ANI", "dog": "ANI", "mat": "OBJ", "log": "OBJ"}


def _columns(tmp_path, lines):
    """BIO tags as columns: an animal or object word opens a span, and a colour word after it continues it."""
    rows = []
    for line in lines:
        prev = "O"
        for w in line.split():
            tag = f"B-{SPAN[w]}" if w in SPAN else f"I-{prev[2:]}" if w in ("red", "big") and prev != "O" else "O"
            rows.append(f"{w}\t{tag}\n")
            prev = tag
        rows.append("\n")
    path = tmp_path / "spans.tsv"
    path.write_text("".join(rows), encoding="utf-8")
    return path


def _batch(encoder, sentences):
    """(ids (T, B) padded with a non-zero id, lengths (B,)) of word lists."""
    lengths = np.array([len(s) for s in sentences])
    ids = np.full((lengths.max(), len(sentences)), 2, np.int64)
    for b, s in enumerate(sentences):
        ids[: len(s), b] = encoder.words.encode(s)
    return ids, lengths


def _decoded(ns, outs, lengths, rules):
    """The printed code's decoding of every sentence of the graph's outputs (a softmax tagger's log-probabilities
    decoded as its code does: under the rules with no transition scores)."""
    if len(outs) == 1:
        K = outs[0].shape[-1]
        outs = [outs[0], np.zeros((K, K), np.float32), np.zeros(K, np.float32), np.zeros(K, np.float32)]
    s, A, start, end = outs
    if rules is None:
        return [ns["viterbi"](s[: n, b], A, start, end)[0] for b, n in enumerate(lengths)]
    return [ns["decode"](s[: n, b], A, start, end, rules) for b, n in enumerate(lengths)]


@pytest.mark.parametrize("scheme,cell,options", [("bio", "lstm", []), ("bio", "gru", ["--residual"]),
                                                 ("none", "rnn", ["--unidirectional"]),
                                                 ("bio", "lstm", ["--layer-norm"])])  # a Scan over the cell
def test_a_crf_tagger_in_onnxruntime_gives_rnnkits_scores_and_the_code_its_tags(tmp_path, capsys, scheme, cell,
                                                                                   options):
    from rnnkit.tagging import LoadedTagger
    from rnnkit.tagging.task import TaggerBatch

    lines = _lines(40)
    data = _columns(tmp_path, lines)
    model_path = _train(tmp_path, capsys, "tagger", data, "--format", "columns", "--scheme", scheme, "--crf",
                        "--cell", cell, *options, "--layers", "2", "--embed", "5", "--hidden", "6")
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "crf.onnx")
    loaded = LoadedTagger(model_path)
    model, encoder = loaded.model, loaded.encoder
    assert [o.name for o in session.get_outputs()] == ["emissions", "transitions", "start_transitions",
                                                       "end_transitions"]
    sentences = [x.split() for x in lines[:8]] + [["cat"], ["red", "red", "red"]]
    ids, lengths = _batch(encoder, sentences)
    outs = session.run(None, {"ids": ids, "lengths": lengths})
    want, _ = model.scores(TaggerBatch(ids, lengths))  # (T, B, K)
    real = np.arange(ids.shape[0])[:, None] < lengths  # (T, B)
    assert _diff("emissions", outs[0][real], want[real]) <= TOL
    for name, got in zip(("transitions", "start_transitions", "end_transitions"), outs[1:]):
        assert np.array_equal(got, model.params["crf." + name])
    vocab = json.loads((tmp_path / "crf.vocab.json").read_text(encoding="utf-8"))
    rules = vocab.get("rules")
    assert (rules is None) == (scheme == "none")
    # the code's decoder gives rnnkit tag's tags on every sentence
    tags = loaded.tag([" ".join(s) for s in sentences])
    assert [[vocab["tags"][k] for k in path] for path in _decoded(ns, outs, lengths, rules)] == tags
    if rules is not None:  # the rules change some sentence's best tags (else the test would not see them used)
        free = [ns["viterbi"](outs[0][: n, b], *outs[1:])[0] for b, n in enumerate(lengths)]
        assert free != _decoded(ns, outs, lengths, rules)
    assert ast.literal_eval(printed.strip()) == loaded.tag(" ".join(ns["words"]))


def _segmented(tmp_path, singles=True):
    lines = ["我 喜欢 北京 天安门", "今天 天气 很 好", "我们 喜欢 学习", "北京 是 首都", "天气 好"] * 6
    if not singles:  # no one-character word: the model has no S tag, and one character has no legal sequence
        lines = [" ".join(w for w in line.split() if len(w) > 1) for line in lines]
    path = tmp_path / "seg.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("singles,output", [(True, ["--crf"]), (False, ["--crf"]), (True, []), (False, [])])
def test_a_segmenter_in_onnxruntime_cuts_chinese_as_rnnkit_segment_does(tmp_path, capsys, singles, output):
    from rnnkit.tagging import LoadedTagger

    model_path = _train(tmp_path, capsys, "tagger", _segmented(tmp_path, singles), "--format", "segmented",
                        *output, "--embed", "5", "--hidden", "6")
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "分词.onnx")
    loaded = LoadedTagger(model_path)
    assert ("S" in loaded.encoder.tags) == singles
    text = "".join(ns["chars"])
    assert printed.strip() == " ".join(loaded.segment(text))
    texts = ["我喜欢北京", "今天天气很好", "天", "学习是首都好天气", "京我"]
    ids, lengths = _batch(loaded.encoder, [list(t) for t in texts])
    outs = session.run(None, {"ids": ids, "lengths": lengths})
    rules = ns["vocab"]["rules"]
    words = [ns["bmes_words"](list(t), [ns["vocab"]["tags"][k] for k in path])
             for t, path in zip(texts, _decoded(ns, outs, lengths, rules))]
    # "天", one character, has no legal BMES sequence without S: rnnkit warns and decodes it without the rules
    with pytest.warns(UserWarning) if not singles else contextlib.nullcontext():
        want = loaded.segment(texts)
    assert words == want


def test_a_softmax_taggers_code_keeps_to_its_span_schemes_legal_sequences_as_rnnkit_tag(tmp_path, capsys):
    from rnnkit.tagging import LoadedTagger

    lines = _lines(40)
    model_path = _train(tmp_path, capsys, "tagger", _columns(tmp_path, lines), "--format", "columns", "--scheme",
                        "bio", "--embed", "5", "--hidden", "6")
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "bio.onnx")
    loaded = LoadedTagger(model_path)
    sentences = [x.split() for x in lines[:10]] + [["red", "red", "red"]]
    ids, lengths = _batch(loaded.encoder, sentences)
    outs = session.run(["log_probs"], {"ids": ids, "lengths": lengths})
    rules = ns["vocab"]["rules"]
    tags = [[ns["vocab"]["tags"][k] for k in path] for path in _decoded(ns, outs, lengths, rules)]
    assert tags == loaded.tag([" ".join(s) for s in sentences])
    argmax = [outs[0][: n, b].argmax(-1).tolist() for b, n in enumerate(lengths)]
    assert argmax != _decoded(ns, outs, lengths, rules)  # the rules change some sentence's tags
    assert ast.literal_eval(printed.strip()) == loaded.tag(" ".join(ns["words"]))


def test_a_float16_crf_tagger_serves_its_rounded_scores(tmp_path, capsys):
    from rnnkit.tagging import LoadedTagger
    from rnnkit.tagging.task import TaggerBatch

    model_path = _train(tmp_path, capsys, "tagger", _columns(tmp_path, _lines(20)), "--format", "columns",
                        "--scheme", "bio", "--crf", "--embed", "5", "--hidden", "6")
    session, _, _ = _export_onnx(capsys, model_path, tmp_path / "crf16.onnx", "--dtype", "float16")
    code, _, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "m16.safetensors"), "--dtype",
                                    "float16"])
    assert code == 0, err
    loaded = LoadedTagger(tmp_path / "m16.safetensors")  # rnnkit's float16 export: the same rounded weights
    ids, lengths = _batch(loaded.encoder, [x.split() for x in _lines(4, seed=3)])
    outs = session.run(None, {"ids": ids, "lengths": lengths})
    want, _ = loaded.model.scores(TaggerBatch(ids, lengths))
    real = np.arange(ids.shape[0])[:, None] < lengths
    assert all(o.dtype == np.float32 for o in outs)
    assert _diff("float16 emissions", outs[0][real], want[real]) <= TOL
    assert np.array_equal(outs[1], loaded.model.params["crf.transitions"])


@pytest.mark.parametrize("scheme,train_scheme,output", [("bio", "bioes", ["--crf"]), ("iob1", "bioes", []),
                                                        ("iob1", "bio", ["--crf"])])
def test_a_tagger_trained_in_another_scheme_prints_the_datas_tags_as_rnnkit_tag(tmp_path, capsys, scheme,
                                                                                 train_scheme, output):
    """--train-scheme: the code wrote the model's own tags (BIOES of BIO data), rnnkit tag the data's."""
    from rnnkit.data.spans import convert
    from rnnkit.tagging import LoadedTagger

    lines = _lines(40)
    data = _columns(tmp_path, lines)
    if scheme == "iob1":  # the same spans in IOB1: B only where a span follows one of its type
        blocks = [[row.split("\t") for row in block.splitlines()] for block in data.read_text().split("\n\n")[:-1]]
        data.write_text("".join("".join(f"{w}\t{t}\n" for (w, _), t in
                                        zip(rows, convert([t for _, t in rows], "iob2", "iob1"))) + "\n"
                                for rows in blocks), encoding="utf-8")
    model_path = _train(tmp_path, capsys, "tagger", data, "--format", "columns", "--scheme", scheme,
                        "--train-scheme", train_scheme, *output, "--embed", "5", "--hidden", "6")
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "retagged.onnx")
    loaded = LoadedTagger(model_path)
    assert ast.literal_eval(printed.strip()) == loaded.tag(" ".join(ns["words"]))  # the example, as rnnkit tag
    sentences = [x.split() for x in lines] + [["cat"], ["cat", "dog"], ["cat", "red", "dog", "big", "mat", "log"]]
    ids, lengths = _batch(loaded.encoder, sentences)
    rules = ns["vocab"]["rules"]
    assert (rules["scheme"], rules["data_scheme"]) == (train_scheme, scheme)
    trained = [[ns["vocab"]["tags"][k] for k in path]
               for path in _decoded(ns, session.run(None, {"ids": ids, "lengths": lengths}), lengths, rules)]
    want = loaded.tag([" ".join(s) for s in sentences])
    assert [ns["data_tags"](tags, rules) for tags in trained] == want
    changed = {(a, b) for tags, data_tags in zip(trained, want) for a, b in zip(tags, data_tags) if a != b}
    print(sorted(changed))
    assert changed  # the model's tags are not the data's: some were rewritten
    if scheme == "iob1":
        assert any(t.startswith("B-") for tags in want for t in tags)  # a span right after one of its type
    # a vocabulary file of an earlier export has no data_scheme: its tags are read as the data's
    old = {k: v for k, v in rules.items() if k != "data_scheme"}
    assert all(ns["data_tags"](tags, old) == tags for tags in trained)


def test_the_printed_data_tags_convert_every_sequence_as_rnnkit_does():
    """A sequence the scheme forbids (decoded without the rules when they allow no path: a tag set without O or
    S-X) came back tag by tag: ['I-X'] stayed I-X in BIO where rnnkit's SchemeMap writes B-X."""
    import itertools

    from rnnkit.export_onnx_crf import DATA_TAGS
    from rnnkit.tagging.train_scheme import SchemeMap

    ns: dict = {}
    exec("\n".join(DATA_TAGS), ns)
    for data, trained in [("bio", "bioes"), ("iob1", "bioes"), ("iob1", "bio")]:
        tags = ["O"] + [f"{p}-{k}" for p in ("BIES" if trained == "bioes" else "BI") for k in ("X", "Y")]
        scheme = SchemeMap(tags, data, trained)
        for n in range(1, 4):
            for seq in map(list, itertools.product(tags, repeat=n)):
                assert ns["data_tags"](seq, {"scheme": trained, "data_scheme": data}) == scheme.sequence(seq), seq
    assert ns["data_tags"](["I-X"], {"scheme": "bioes", "data_scheme": "bio"}) == ["B-X"]
