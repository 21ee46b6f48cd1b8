"""rnnkit export --onnx: the graph, run in onnxruntime, gives rnnkit's own log-probabilities (and a language
model's final states), on random non-zero weights; the printed onnxruntime code runs and agrees."""
from __future__ import annotations

import ast
import json

import numpy as np
import pytest
from clirun import run_cli, write_conllu

from rnnkit import checkpoint as ckpt

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big", "saw", "log"]
FAST = ["--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]
TOL = 1e-5


def _lines(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, int(rng.integers(2, 9)))) for _ in range(n)]


def _randomized(trained, out, seed=1):
    """The checkpoint ``trained`` with every weight replaced by a random non-zero value, |w| in [0.1, 0.7]
    (biases too: training leaves some at their zero start), saved to ``out``."""
    arrays, meta = ckpt.load_checkpoint(trained)
    rng = np.random.default_rng(seed)
    for k, v in arrays.items():
        if k.startswith("model/") and v.dtype.kind == "f":
            arrays[k] = (rng.choice([-1, 1], v.shape) * rng.uniform(0.1, 0.7, v.shape)).astype(v.dtype)
    ckpt.save_checkpoint(out, arrays, meta)
    return out


def _train(tmp_path, capsys, command, data, *options):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", command, "--train", str(data), *FAST, *options, "--run-dir", str(run)])
    assert code == 0, err
    return _randomized(run / "last.safetensors", tmp_path / "random.safetensors")


def _export_onnx(capsys, model, out_path, *options):
    """Export with --onnx; check the graph; run the printed code (as a user would, as a script); return the
    onnxruntime session, the code's namespace and what it printed."""
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(out_path), "--onnx", *options])
    assert code == 0, err
    assert "an ONNX graph (its vocabulary in " in err and err.count("\n") == 2, err
    assert max(len(line) for line in out.splitlines() if str(out_path.parent) not in line) <= 120
    onnx.checker.check_model(onnx.load(str(out_path)), full_check=True)
    namespace = {"__name__": "__main__"}
    exec(compile(out, "exported.py", "exec"), namespace)
    return ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"]), namespace, \
        capsys.readouterr().out


def _recurrent_ops(path, layer_norm):
    """The recurrent layers of the graph at ``path``: ONNX's RNN/LSTM/GRU operators, or for a layer-normalized
    model (``layer_norm``) Scans and none of those."""
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert ("Scan" in ops) == layer_norm and bool(ops & {"RNN", "LSTM", "GRU"}) != layer_norm, ops


def _diff(name, got, want):
    diff = float(np.abs(np.asarray(got, np.float64) - want).max())
    print(f"{name}: max abs diff {diff:.3g}")
    return diff


@pytest.mark.parametrize("options", [
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8"),
    ("--cell", "gru", "--layers", "2", "--embed", "8", "--hidden", "8", "--tie"),
    ("--cell", "rnn", "--layers", "3", "--embed", "5", "--hidden", "7"),
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8", "--peephole"),  # ONNX's P input
    ("--cell", "gru", "--layers", "3", "--embed", "8", "--hidden", "8", "--residual"),  # an Add after layers 1, 2
    ("--cell", "lstm", "--layers", "1", "--embed", "5", "--hidden", "6", "--softmax", "class", "--classes", "4"),
    ("--cell", "gru", "--layers", "2", "--embed", "6", "--hidden", "6", "--softmax", "class", "--tie"),
    ("--cell", "lstm", "--layers", "1", "--embed", "5", "--hidden", "6", "--softmax", "adaptive", "--cutoffs", "4,8",
     "--div-value", "2"),
    # layer-normalized: a Scan over one step of the cell (rnnkit.export_onnx_ln)
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8", "--layer-norm"),
    ("--cell", "gru", "--layers", "2", "--embed", "8", "--hidden", "8", "--tie", "--layer-norm"),
    ("--cell", "rnn", "--layers", "3", "--embed", "5", "--hidden", "7", "--residual", "--layer-norm"),
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8", "--peephole", "--residual", "--layer-norm"),
])
def test_a_language_model_in_onnxruntime_gives_rnnkits_log_probabilities_and_states(tmp_path, capsys, options):
    from rnnkit.lm.generate import stream_text
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", text, "--bptt", "6", "--batch-size", "4", *options)
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "lm.onnx")
    lm, vocab, _, _ = load_lm(model_path)
    cfg = lm.config
    assert cfg.layer_norm == ("--layer-norm" in options)
    _recurrent_ops(tmp_path / "lm.onnx", cfg.layer_norm)
    lstm = cfg.cell == "lstm"
    rng = np.random.default_rng(5)
    T, B = 7, 3
    ids = rng.integers(0, len(vocab), (T, B))  # (T, B)
    h0 = rng.uniform(-0.8, 0.8, (cfg.num_layers, B, cfg.hidden_size)).astype(np.float32)  # a state to go on from
    c0 = rng.uniform(-0.8, 0.8, h0.shape).astype(np.float32)
    feed = {"ids": ids, "h_0": h0, **({"c_0": c0} if lstm else {})}
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, feed)))
    assert got["log_probs"].dtype == np.float32 and got["log_probs"].shape == (T, B, len(vocab))
    state = (h0, c0) if lstm else h0
    for t in range(T):  # rnnkit's log P(next) after each prefix, from the same state
        want, final = lm.step_log_probs(ids[: t + 1], state)
        assert _diff(f"log_probs[{t}]", got["log_probs"][t], want) <= TOL
    assert _diff("h_n", got["h_n"], final[0] if lstm else final) <= TOL
    if lstm:
        assert _diff("c_n", got["c_n"], final[1]) <= TOL
    # the printed example: its number is rnnkit's score of its tokens, and its greedy line rnnkit's greedy line
    first, second = printed.split("\n", 1)
    x = [vocab.token_id(t) for t in ns["text"]]
    lp, _ = lm.token_log_probs(np.array(x[:-1])[:, None], np.array(x[1:])[:, None])
    assert first.endswith(" nats") and abs(float(first.split()[0]) - lp.sum()) <= 1e-4
    logp, state = lm.step_log_probs(np.array(x)[:, None], None)
    greedy = []
    for _ in range(8):
        greedy.append(int(logp[0].argmax()))
        logp, state = lm.step_log_probs(np.array([[greedy[-1]]]), state)
    written_out = []  # the greedy line as 'rnnkit generate' writes words: <eos> a line end, not the token
    stream_text(iter([vocab.tokens[i] for i in greedy]), "word", written_out.append)
    assert ns["out"] == greedy and second == "".join(written_out) + "\n", (second, written_out)
    written = json.loads((tmp_path / "lm.vocab.json").read_text(encoding="utf-8"))
    assert written["vocab"]["tokens"] == vocab.tokens and written["model"] == "lm"


def test_a_class_softmax_whose_classes_interleave_in_word_order_gives_rnnkits_log_probabilities(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    trained = _train(tmp_path, capsys, "lm", text, "--softmax", "class", "--classes", "3", "--cell", "gru", "--layers",
                     "1", "--embed", "5", "--hidden", "6", "--bptt", "6", "--batch-size", "4")
    arrays, meta = ckpt.load_checkpoint(trained)
    V = len(meta["task"]["word_classes"])
    meta["task"]["word_classes"] = [int(c) for c in np.random.default_rng(7).permutation(np.arange(V) % 3)]
    ckpt.save_checkpoint(tmp_path / "mixed.safetensors", arrays, meta)  # frequency bins are runs of ids: not these
    session, _, _ = _export_onnx(capsys, tmp_path / "mixed.safetensors", tmp_path / "mixed.onnx")
    lm, vocab, _, _ = load_lm(tmp_path / "mixed.safetensors")
    assert np.any(np.diff(lm.word_classes) < 0)
    ids = np.random.default_rng(8).integers(0, V, (5, 2))
    got = session.run(["log_probs"], {"ids": ids, "h_0": np.zeros((1, 2, 6), np.float32)})[0]
    want, _ = lm.step_log_probs(ids, None)
    assert _diff("interleaved classes, log_probs", got[-1], want) <= TOL
    assert np.allclose(np.exp(got.astype(np.float64)).sum(-1), 1, atol=1e-5)


def _classifier_data(tmp_path):
    lines = _lines()
    tsv = tmp_path / "train.tsv"
    tsv.write_text("".join(f"{'pos' if 'cat' in x else 'neg' if 'dog' in x else 'mid'}\t{x}\n" for x in lines),
                   encoding="utf-8")
    return tsv, lines


@pytest.mark.parametrize("pooling,cell,direction", [("last", "lstm", []), ("mean", "gru", []),
                                                    ("max", "rnn", ["--unidirectional"]), ("max", "lstm", []),
                                                    ("attention", "lstm", []),
                                                    ("attention", "gru", ["--unidirectional"]),
                                                    ("last", "lstm", ["--peephole"]),  # both directions' peepholes
                                                    ("last", "lstm", ["--residual"]),  # the cells' own final states
                                                    ("mean", "rnn", ["--residual"]),
                                                    ("last", "lstm", ["--layer-norm"]),  # the reverse Scan's final h
                                                    ("last", "gru", ["--residual", "--layer-norm"]),
                                                    ("mean", "rnn", ["--layer-norm"]),
                                                    ("max", "lstm", ["--peephole", "--layer-norm"]),
                                                    ("attention", "gru", ["--unidirectional", "--layer-norm"]),
                                                    ("last", "rnn", ["--unidirectional", "--residual",
                                                                     "--layer-norm"])])
def test_a_classifier_in_onnxruntime_gives_rnnkits_class_log_probabilities(tmp_path, capsys, pooling, cell, direction):
    from rnnkit.classify.task import load_classifier, pad_batch

    tsv, lines = _classifier_data(tmp_path)
    model_path = _train(tmp_path, capsys, "classifier", tsv, "--pooling", pooling, "--cell", cell, *direction,
                        "--layers", "2", "--embed", "5", "--hidden", "6", "--batch-size", "8",
                        *(["--attention-size", "4"] if pooling == "attention" else []))
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "cls.onnx")
    model, encoder, _ = load_classifier(model_path)
    assert model.config.peephole == ("--peephole" in direction) and printed.strip() in encoder.labels
    assert model.config.layer_norm == ("--layer-norm" in direction)
    _recurrent_ops(tmp_path / "cls.onnx", model.config.layer_norm)
    ids, lengths = pad_batch(encoder.encode(lines[:6]))  # (T, B), unequal lengths
    assert len(set(lengths.tolist())) > 2
    ids[ids.shape[0] - 1, lengths < ids.shape[0]] = 3  # padding holds other ids than 0: the graph must ignore them
    outs = session.run(None, {"ids": ids, "lengths": lengths})
    assert _diff("log_probs", outs[0], np.log(model.predict_proba(ids, lengths).astype(np.float64))) <= TOL
    if pooling == "attention":
        _, weights = model.attention(ids, lengths)
        assert _diff("attention", outs[1], weights) <= TOL
    assert [o.name for o in session.get_outputs()] == ["log_probs"] + (["attention"] if pooling == "attention" else [])


@pytest.mark.parametrize("cell,direction", [("lstm", []), ("gru", []), ("rnn", ["--unidirectional"]),
                                            ("lstm", ["--peephole"]),  # both directions' peepholes
                                            ("gru", ["--residual"]),  # 0 + 0 past a sentence's end
                                            ("lstm", ["--layer-norm"]), ("gru", ["--residual", "--layer-norm"]),
                                            ("rnn", ["--layer-norm"]),
                                            ("lstm", ["--peephole", "--residual", "--layer-norm"]),
                                            ("lstm", ["--unidirectional", "--layer-norm"])])
def test_a_softmax_tagger_in_onnxruntime_gives_rnnkits_tag_log_probabilities(tmp_path, capsys, cell, direction):
    from rnnkit.nn.softmax import log_softmax
    from rnnkit.tagging.io import load_tagger
    from rnnkit.tagging.task import TaggerBatch

    lines = _lines()
    tag = {w: ("DET" if w in ("the", "a") else "VERB" if w in ("sat", "ran", "saw") else "NOUN") for w in WORDS}
    conllu = write_conllu(tmp_path / "tags.conllu", [[(w, tag[w]) for w in x.split()] for x in lines])
    model_path = _train(tmp_path, capsys, "tagger", conllu, "--cell", cell, *direction, "--layers", "2", "--embed",
                        "5", "--hidden", "6")
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "tagger.onnx")
    model, encoder, _ = load_tagger(model_path)
    assert model.config.layer_norm == ("--layer-norm" in direction)
    _recurrent_ops(tmp_path / "tagger.onnx", model.config.layer_norm)
    shown = ast.literal_eval(printed.strip())
    assert len(shown) == 3 and set(shown) <= set(encoder.tags)
    sentences = [x.split() for x in lines[:5]]
    lengths = np.array([len(s) for s in sentences])
    assert len(set(lengths.tolist())) > 2
    ids = np.full((lengths.max(), len(sentences)), 2, np.int64)  # (T, B), padded with an id that is not 0
    for b, s in enumerate(sentences):
        ids[: len(s), b] = encoder.words.encode(s)
    scores, _ = model.scores(TaggerBatch(ids, lengths))  # (T, B, K)
    got = session.run(["log_probs"], {"ids": ids, "lengths": lengths})[0]  # (T, B, K)
    real = np.arange(ids.shape[0])[:, None] < lengths  # (T, B)
    assert _diff("log_probs", got[real], log_softmax(scores.astype(np.float64))[real]) <= TOL


@pytest.mark.parametrize("cell", [["gru"], ["lstm", "--peephole", "--layer-norm"]])  # a Scan over float16 weights
def test_float16_stores_half_the_weights_and_computes_as_rnnkits_float16_export(tmp_path, capsys, cell):
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", text, "--bptt", "6", "--batch-size", "4", "--embed", "16",
                        "--hidden", "16", "--cell", *cell)
    _export_onnx(capsys, model_path, tmp_path / "lm32.onnx")
    session, _, _ = _export_onnx(capsys, model_path, tmp_path / "lm16.onnx", "--dtype", "float16")
    sizes = [(tmp_path / f"lm{bits}.onnx").stat().st_size for bits in (32, 16)]
    weights = [sum(len(t.raw_data) for t in onnx.load(str(tmp_path / f"lm{bits}.onnx")).graph.initializer)
               for bits in (32, 16)]
    print("float32, float16 bytes:", sizes, "of which weights:", weights)
    assert weights[1] < 0.51 * weights[0] and sizes[1] < (0.6 if "--layer-norm" not in cell else 0.75) * sizes[0]
    stored = {t.name: t.data_type for t in onnx.load(str(tmp_path / "lm16.onnx")).graph.initializer}
    assert stored["embedding.weight"] == onnx.TensorProto.FLOAT16
    if "--layer-norm" in cell:  # the LN gains and the projections too, widened (and centred) in the graph
        assert stored["rnn.ln_cell_weight_l1"] == stored["rnn.weight_hh_l1^T"] == onnx.TensorProto.FLOAT16
    code, _, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "m16.safetensors"), "--dtype",
                                    "float16"])
    assert code == 0, err
    lm16, vocab, _, _ = load_lm(tmp_path / "m16.safetensors")  # rnnkit's float16 export: the same rounded weights
    ids = np.random.default_rng(2).integers(0, len(vocab), (6, 2))
    h0 = np.zeros((2, 2, 16), np.float32)
    got = session.run(["log_probs"], {"ids": ids, "h_0": h0, **({"c_0": h0} if cell[0] == "lstm" else {})})[0]
    want, _ = lm16.step_log_probs(ids, None)
    assert _diff("float16 log_probs", got[-1], want) <= TOL
    lm32, _, _, _ = load_lm(model_path)
    full, _ = lm32.step_log_probs(ids, None)
    assert 0 < np.abs(full - want).max() < 1e-2


def test_a_chinese_character_models_code_reads_its_own_characters(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    poems = tmp_path / "poems.txt"
    poems.write_text("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n" * 10, encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", poems, "--level", "char", "--embed", "6", "--hidden", "6",
                        "--bptt", "8", "--batch-size", "2")
    _, ns, printed = _export_onnx(capsys, model_path, tmp_path / "诗.onnx")
    lm, vocab, _, _ = load_lm(model_path)
    assert ns["text"][0] == ns["text"][-1] == "\n" and all(t in vocab.tokens[1:] for t in ns["text"])
    x = [vocab.token_id(t) for t in ns["text"]]
    lp, _ = lm.token_log_probs(np.array(x[:-1])[:, None], np.array(x[1:])[:, None])
    assert abs(float(printed.split()[0]) - lp.sum()) <= 1e-4
    assert "床" in (tmp_path / "诗.vocab.json").read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_what_the_onnx_export_does_not_build_is_refused_in_one_line(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(text), "--order", "2", "--save",
                                    str(tmp_path / "kn.safetensors")])
    assert code == 0, err
    for source, needle in [(tmp_path / "kn.safetensors", "which is not exported to ONNX (the ONNX export builds")]:
        out_path = tmp_path / "t.onnx"
        code, out, err = run_cli(capsys, ["export", str(source), "-o", str(out_path), "--onnx"])
        assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, err
        assert err.startswith("rnnkit export: error: --onnx: ") or "--onnx: " in err, err
        assert not out_path.exists() and not (tmp_path / "t.vocab.json").exists()
    code, _, err = run_cli(capsys, ["export", str(tmp_path / "kn.safetensors"), "-o", str(tmp_path / "t.onnx"),
                                    "--onnx", "--torch"])
    assert code == 2 and "not allowed with argument" in err


def test_without_the_onnx_package_the_export_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", text, "--embed", "4", "--hidden", "4", "--bptt", "6")
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # import onnx now raises ImportError
    code, out, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "m.onnx"), "--onnx"])
    assert code != 0 and out == "" and err.count("\n") == 1 and "pip install 'rnnkit[onnx]'" in err, err
    assert not (tmp_path / "m.onnx").exists()


def test_a_float64_model_is_served_in_float32_and_the_files_move_with_the_code(tmp_path, capsys):
    import subprocess
    import sys

    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    arrays, meta = ckpt.load_checkpoint(_train(tmp_path, capsys, "lm", text, "--cell", "gru", "--embed", "5",
                                               "--hidden", "6", "--bptt", "6"))
    rng = np.random.default_rng(4)
    arrays = {k: rng.uniform(-0.7, 0.7, v.shape) if k.startswith("model/") else v for k, v in arrays.items()}
    meta["task"]["lm_config"]["dtype"] = "float64"
    ckpt.save_checkpoint(tmp_path / "lm64.safetensors", arrays, meta)
    out = tmp_path / "made" / "lm.onnx"
    code, printed, err = run_cli(capsys, ["export", str(tmp_path / "lm64.safetensors"), "-o", str(out), "--onnx"])
    assert code == 0 and "weights in float32 (each moved by at most " in err, err
    lm, vocab, _, _ = load_lm(tmp_path / "lm64.safetensors")
    assert lm.params["embedding.weight"].dtype == np.float64
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(3).integers(0, len(vocab), (5, 2))
    got = session.run(["log_probs"], {"ids": ids, "h_0": np.zeros((2, 2, 6), np.float32)})[0]
    want, _ = lm.step_log_probs(ids, None)
    assert _diff("float64 model, log_probs", got[-1], want) <= TOL
    # the graph, its vocabulary and the printed code, moved together to another folder, still run there
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for path in (out, tmp_path / "made" / "lm.vocab.json"):
        path.rename(moved / path.name)
    (moved / "run.py").write_text(printed, encoding="utf-8")
    ran = subprocess.run([sys.executable, str(moved / "run.py")], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.split("\n")[0].endswith(" nats"), ran.stderr


def test_rnnkit_names_an_onnx_file_and_refuses_a_model_too_large_for_one(tmp_path, capsys, monkeypatch):
    import rnnkit.export_onnx

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", text, "--embed", "4", "--hidden", "4", "--bptt", "6")
    _export_onnx(capsys, model_path, tmp_path / "lm.onnx")
    for argv in (["generate", str(tmp_path / "lm.onnx")], ["export", str(tmp_path / "lm.onnx"), "-o",
                                                            str(tmp_path / "x.onnx"), "--onnx"]):
        code, _, err = run_cli(capsys, argv)
        assert code == 2 and "an ONNX graph that 'rnnkit export --onnx' wrote" in err and err.count("\n") == 1, err
    monkeypatch.setattr(rnnkit.export_onnx, "ONNX_LIMIT", 1000)
    code, out, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "big.onnx"), "--onnx"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "beyond what one ONNX file holds" in err, err
    assert "export with dtype float16 (--dtype float16) to halve them, or as an rnnkit checkpoint" in err, err
    assert not (tmp_path / "big.onnx").exists()


def test_the_code_reads_a_chinese_classifiers_text_as_rnnkit_does(tmp_path, capsys):
    from rnnkit.classify.task import load_classifier, pad_batch

    tsv = tmp_path / "train.tsv"
    rows = [("正面", "很好 ＡＢＣ 看 Good ok"), ("负面", "很差 ｘｙ Bad 无聊 dog"), ("正面", "好看 ＯＫ 吧 good"),
            ("负面", "难看 ＸＹ bad 糟糕 ＤＯＧ")] * 6
    tsv.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    model_path = _train(tmp_path, capsys, "classifier", tsv, "--level", "char", "--fold-width", "--lowercase",
                        "--max-length", "5", "--embed", "5", "--hidden", "6", "--batch-size", "8")
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "情感.onnx")
    model, encoder, _ = load_classifier(model_path)
    texts = ["ＧＯＯＤ很好看电影ＡＢＣ", "Bad 无\u3000聊ＸＹＺ。", "Cafe\u0301 ｏｋ ＯＫ", "好"]
    assert [ns["tokens"](t) for t in texts] == [encoder.tokenize(t) for t in texts]
    ids, lengths = pad_batch(encoder.encode(texts))
    got = session.run(["log_probs"], {"ids": ids, "lengths": lengths})[0]
    assert _diff("chinese classifier log_probs", got, np.log(model.predict_proba(ids, lengths))) <= TOL
    assert printed.strip() in ("正面", "负面")
    written = json.loads((tmp_path / "情感.vocab.json").read_text(encoding="utf-8"))
    assert written["labels"] == encoder.labels and written["vocab"]["tokens"] == encoder.vocab.tokens
