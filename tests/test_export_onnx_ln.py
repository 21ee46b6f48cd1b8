"""rnnkit export --onnx of layer-normalized recurrent layers (--layer-norm: a Scan over one step of the cell,
:mod:`rnnkit.export_onnx_ln`): onnxruntime gives rnnkit's own outputs and final states, on random non-zero
weights (LN gains and shifts too), with variable lengths, both directions, stacks and residual connections."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli, write_conllu
from test_export_onnx import TOL, WORDS, _classifier_data, _diff, _export_onnx, _lines, _train

from rnnkit import checkpoint as ckpt

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _scans(path):
    """The operators of the graph at ``path``: the LN layers are Scans, no RNN/LSTM/GRU operator."""
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "Scan" in ops and not ops & {"RNN", "LSTM", "GRU"}, ops
    return ops


@pytest.mark.parametrize("options", [
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8"),
    ("--cell", "gru", "--layers", "2", "--embed", "8", "--hidden", "8", "--tie"),
    ("--cell", "rnn", "--layers", "3", "--embed", "5", "--hidden", "7", "--residual"),
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8", "--peephole", "--residual"),
])
def test_a_layer_normalized_language_model_gives_rnnkits_log_probabilities_and_states(tmp_path, capsys, options):
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", text, "--bptt", "6", "--batch-size", "4", "--layer-norm", *options)
    session, ns, printed = _export_onnx(capsys, model_path, tmp_path / "lm.onnx")
    _scans(tmp_path / "lm.onnx")
    lm, vocab, _, _ = load_lm(model_path)
    cfg = lm.config
    assert cfg.layer_norm and cfg.peephole == ("--peephole" in options)
    lstm = cfg.cell == "lstm"
    rng = np.random.default_rng(5)
    T, B = 7, 3
    ids = rng.integers(0, len(vocab), (T, B))  # (T, B)
    h0 = rng.uniform(-0.8, 0.8, (cfg.num_layers, B, cfg.hidden_size)).astype(np.float32)  # a state to go on from
    c0 = rng.uniform(-0.8, 0.8, h0.shape).astype(np.float32)
    got = dict(zip([o.name for o in session.get_outputs()],
                   session.run(None, {"ids": ids, "h_0": h0, **({"c_0": c0} if lstm else {})})))
    state = (h0, c0) if lstm else h0
    for t in range(T):  # rnnkit's log P(next) after each prefix, from the same state
        want, final = lm.step_log_probs(ids[: t + 1], state)
        assert _diff(f"log_probs[{t}]", got["log_probs"][t], want) <= TOL
    assert _diff("h_n", got["h_n"], final[0] if lstm else final) <= TOL
    if lstm:
        assert _diff("c_n", got["c_n"], final[1]) <= TOL
    x = [vocab.token_id(t) for t in ns["text"]]  # the printed code's score is rnnkit's
    lp, _ = lm.token_log_probs(np.array(x[:-1])[:, None], np.array(x[1:])[:, None])
    assert abs(float(printed.split()[0]) - lp.sum()) <= 1e-4


@pytest.mark.parametrize("pooling,cell,options", [("last", "lstm", []),  # both directions' final states
                                                  ("last", "gru", ["--residual"]),
                                                  ("mean", "rnn", []),
                                                  ("max", "lstm", ["--peephole"]),
                                                  ("attention", "gru", ["--unidirectional"]),
                                                  ("last", "rnn", ["--unidirectional", "--residual"])])
def test_a_layer_normalized_classifier_gives_rnnkits_class_log_probabilities(tmp_path, capsys, pooling, cell, options):
    from rnnkit.classify.task import load_classifier, pad_batch

    tsv, lines = _classifier_data(tmp_path)
    model_path = _train(tmp_path, capsys, "classifier", tsv, "--pooling", pooling, "--cell", cell, *options,
                        "--layer-norm", "--layers", "2", "--embed", "5", "--hidden", "6", "--batch-size", "8",
                        *(["--attention-size", "4"] if pooling == "attention" else []))
    session, _, printed = _export_onnx(capsys, model_path, tmp_path / "cls.onnx")
    _scans(tmp_path / "cls.onnx")
    model, encoder, _ = load_classifier(model_path)
    assert model.config.layer_norm and printed.strip() in encoder.labels
    ids, lengths = pad_batch(encoder.encode(lines[:6]))  # (T, B), unequal lengths
    assert len(set(lengths.tolist())) > 2
    ids[ids.shape[0] - 1, lengths < ids.shape[0]] = 3  # padding holds other ids than 0: the graph must ignore them
    outs = session.run(None, {"ids": ids, "lengths": lengths})
    assert _diff("log_probs", outs[0], np.log(model.predict_proba(ids, lengths).astype(np.float64))) <= TOL
    if pooling == "attention":
        _, weights = model.attention(ids, lengths)
        assert _diff("attention", outs[1], weights) <= TOL


@pytest.mark.parametrize("cell,options", [("lstm", []), ("gru", ["--residual"]), ("rnn", []),
                                          ("lstm", ["--peephole", "--residual"]), ("gru", ["--crf"]),
                                          ("lstm", ["--unidirectional"])])
def test_a_layer_normalized_tagger_gives_rnnkits_scores_at_every_word(tmp_path, capsys, cell, options):
    from rnnkit.nn.softmax import log_softmax
    from rnnkit.tagging.io import load_tagger
    from rnnkit.tagging.task import TaggerBatch

    lines = _lines()
    tag = {w: ("DET" if w in ("the", "a") else "VERB" if w in ("sat", "ran", "saw") else "NOUN") for w in WORDS}
    conllu = write_conllu(tmp_path / "tags.conllu", [[(w, tag[w]) for w in x.split()] for x in lines])
    crf = "--crf" in options
    model_path = _train(tmp_path, capsys, "tagger", conllu, "--cell", cell, *options, "--layer-norm", "--layers", "2",
                        "--embed", "5", "--hidden", "6")
    session, _, _ = _export_onnx(capsys, model_path, tmp_path / "tagger.onnx")
    _scans(tmp_path / "tagger.onnx")
    model, encoder, _ = load_tagger(model_path)
    assert model.config.layer_norm and (model.config.output == "crf") == crf
    sentences = [x.split() for x in lines[:5]]
    lengths = np.array([len(s) for s in sentences])
    assert len(set(lengths.tolist())) > 2
    ids = np.full((lengths.max(), len(sentences)), 2, np.int64)  # (T, B), padded with an id that is not 0
    for b, s in enumerate(sentences):
        ids[: len(s), b] = encoder.words.encode(s)
    scores, _ = model.scores(TaggerBatch(ids, lengths))  # (T, B, K)
    got = session.run(None, {"ids": ids, "lengths": lengths})[0]  # (T, B, K)
    real = np.arange(ids.shape[0])[:, None] < lengths  # (T, B)
    want = scores.astype(np.float64) if crf else log_softmax(scores.astype(np.float64))
    assert _diff("scores", got[real], want[real]) <= TOL


def test_a_float16_layer_normalized_model_computes_as_rnnkits_float16_export(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    model_path = _train(tmp_path, capsys, "lm", text, "--bptt", "6", "--batch-size", "4", "--embed", "16",
                        "--hidden", "16", "--cell", "lstm", "--peephole", "--layer-norm", "--layers", "2")
    session, _, _ = _export_onnx(capsys, model_path, tmp_path / "lm16.onnx", "--dtype", "float16")
    stored = {t.name: t.data_type for t in onnx.load(str(tmp_path / "lm16.onnx")).graph.initializer}
    assert stored["rnn.ln_cell_weight_l0"] == stored["rnn.weight_hh_l0^T"] == onnx.TensorProto.FLOAT16
    code, _, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "m16.safetensors"), "--dtype",
                                    "float16"])
    assert code == 0, err
    lm16, vocab, _, _ = load_lm(tmp_path / "m16.safetensors")  # rnnkit's float16 export: the same rounded weights
    ids = np.random.default_rng(2).integers(0, len(vocab), (6, 2))
    zeros = np.zeros((2, 2, 16), np.float32)
    got = session.run(["log_probs"], {"ids": ids, "h_0": zeros, "c_0": zeros})[0]
    want, _ = lm16.step_log_probs(ids, None)
    assert _diff("float16 log_probs", got[-1], want) <= TOL
    lm32, _, _, _ = load_lm(model_path)
    full, _ = lm32.step_log_probs(ids, None)
    assert 0 < np.abs(full - want).max() < 1e-2


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_projections_far_from_zero_mean_are_normalized_to_rnnkits_digits(tmp_path, capsys, cell):
    # every row of W_ih shifted by 40 and the embeddings positive: x_t W_ih^T has |mean| >> std over its units.
    # rnnkit projects by centred weights and does not take the mean again; ONNX's LayerNormalization (onnxruntime:
    # var = mean(a^2) - mean(a)^2) gave 8e-6 here, uncentred weights 2e-5: within a few float32 ulps of log P ~ 3
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    trained = _train(tmp_path, capsys, "lm", text, "--bptt", "6", "--batch-size", "4", "--layer-norm", "--cell", cell,
                     "--layers", "1", "--embed", "16", "--hidden", "8")
    arrays, meta = ckpt.load_checkpoint(trained)
    arrays["model/rnn.weight_ih_l0"] = arrays["model/rnn.weight_ih_l0"] + np.float32(40)
    arrays["model/embedding.weight"] = np.abs(arrays["model/embedding.weight"])
    ckpt.save_checkpoint(tmp_path / "far.safetensors", arrays, meta)
    session, _, _ = _export_onnx(capsys, tmp_path / "far.safetensors", tmp_path / "far.onnx")
    lm, vocab, _, _ = load_lm(tmp_path / "far.safetensors")
    ids = np.random.default_rng(3).integers(0, len(vocab), (6, 3))
    zeros = np.zeros((1, 3, 8), np.float32)
    got = session.run(["log_probs"], {"ids": ids, "h_0": zeros, **({"c_0": zeros} if cell == "lstm" else {})})[0]
    want, _ = lm.step_log_probs(ids, None)
    assert _diff("far from zero mean, log_probs", got[-1], want) <= 2e-6
