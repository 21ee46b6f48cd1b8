"""rnnkit export --onnx of translators with copy attention (``--copy``) and coverage (``--coverage``): the decoder
step graph gives rnnkit's log-probabilities over the extended vocabulary, attention, coverage and next state at every
step of a teacher-forced target (extended ids fed back too), on random non-zero weights; the printed onnxruntime code
translates as ``rnnkit translate`` does, greedily and by beam search, copied source words written verbatim."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli
from test_export_onnx import TOL, _randomized
from test_export_onnx_seq2seq import BOUND, _export, _run, _stacked, _train, same_as_translate

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _close(name, got, want, relative=False):
    """The largest difference of got and want where they are finite (``relative``: to max(1, |want|)); the same
    -inf (and no NaN) elsewhere."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert not np.isnan(got).any(), name
    assert np.array_equal(np.isneginf(got), np.isneginf(want)), name
    finite = np.isfinite(want)
    scale = np.maximum(1.0, np.abs(want[finite])) if relative else 1.0
    diff = float((np.abs(got[finite] - want[finite]) / scale).max()) if finite.any() else 0.0
    print(f"{name}: max {'rel' if relative else 'abs'} diff {diff:.3g}")
    return diff


def _first_step(translator, seed):
    """rnnkit's first decoder step on :func:`_compare`'s batch: the gate's z (B,), the attention weights at the real
    source tokens, log P (B, V + X)."""
    from rnnkit.seq2seq import decoder_step as ds

    src, lengths, ext = _batch(translator.model.config, np.random.default_rng(seed))
    carry = translator.model.encode(src, lengths, src_ext=ext)
    bos = np.ones(3, np.int64)
    _, weights, _, cache = ds.step_forward(translator.model.params, translator.model.spec, bos, carry)
    return cache.gate_z, weights[carry.memory.mask], translator.model.decode_step(bos, carry)[0]


def _batch(cfg, rng):
    """Sources (S, B) of unequal lengths (B,), and their extended ids (S, B): target ids and V, V + 1, V + 2,
    repeated."""
    V = cfg.tgt_vocab_size
    lengths = np.array([5, 2, 7])
    src = np.zeros((7, 3), np.int64)  # (S, B), padded with <pad>
    ext = np.zeros((7, 3), np.int64)
    for b, n in enumerate(lengths):
        src[:n, b] = rng.integers(3, cfg.src_vocab_size, n)
        ext[:n, b] = rng.choice([4, 5, V, V + 1, V + 2], n) if b != 1 else [V, V]
    return src, lengths, ext


def _compare(translator, encoder, step, seed=3, relative=False):
    """The largest difference of rnnkit's decoder steps and the graph's on a batch of unequal lengths whose
    extended ids repeat, teacher-forced over 7 target tokens (some extended: fed back as <unk>)."""
    cfg = translator.model.config
    V = cfg.tgt_vocab_size
    rng = np.random.default_rng(seed)
    src, lengths, ext = _batch(cfg, rng)
    copy = {"src_ext": ext} if cfg.copy else {}
    carry = translator.model.encode(src, lengths, **copy)
    start = _run(encoder, {"ids": src, "lengths": lengths})
    state = {k: start[k] for k in ("h", "c") if k in start}
    fixed = {"memory": start["memory"], "src_mask": start["src_mask"]}
    fixed.update({"src_ext": np.ascontiguousarray(ext.T)} if cfg.copy else {})  # (B, S)
    if cfg.input_feeding:
        state["feed"] = np.zeros((3, cfg.decoder_hidden_size), np.float32)
    if cfg.coverage:
        state["coverage"] = np.zeros((3, 7), np.float32)  # cov_0 = 0
    top = V + 3 if cfg.copy else V
    tgt_in = np.concatenate([np.ones((1, 3), np.int64), rng.integers(2, top, (6, 3))])  # (T, B)
    diffs = []
    for t in range(len(tgt_in)):  # teacher-forced: both read the same target tokens, each from its own state
        logp, weights, carry = translator.model.decode_step(tgt_in[t], carry)
        got = _run(step, {"ids": tgt_in[t], **state, **fixed})
        diffs.append(_close(f"log_probs {t}", got["log_probs"], logp, relative))
        diffs.append(_close(f"h {t}", got["h_next"], _stacked(carry.state, 0)))
        diffs.append(_close(f"attention {t}", got["attention"], weights))
        if cfg.coverage:
            diffs.append(_close(f"coverage {t}", got["coverage_next"], carry.coverage))
        state = {k: got[k + "_next"] for k in state}
    return max(diffs)


MODELS = [
    ("--copy", "--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8", "--encoder-hidden", "5"),  # general
    ("--copy", "--cell", "gru", "--attention", "additive", "--no-input-feeding", "--unidirectional", "--tie",
     "--embed", "8", "--hidden", "8", "--encoder-hidden", "6"),
    ("--copy", "--cell", "rnn", "--attention", "dot", "--embed", "5", "--hidden", "8", "--encoder-hidden", "4"),
    ("--coverage", "--cell", "lstm", "--attention", "additive", "--embed", "6", "--hidden", "8"),
    ("--coverage", "--cell", "gru", "--attention", "additive", "--no-input-feeding", "--layers", "2", "--embed", "5",
     "--hidden", "6"),
    ("--copy", "--coverage", "--cell", "lstm", "--attention", "additive", "--attention-size", "7", "--embed", "6",
     "--hidden", "8", "--encoder-hidden", "5"),
    ("--copy", "--coverage", "--cell", "gru", "--attention", "additive", "--no-input-feeding", "--layer-norm",
     "--embed", "6", "--hidden", "6"),
]


@pytest.mark.parametrize("options", MODELS)
def test_the_step_graph_gives_rnnkits_extended_log_probabilities_and_coverage(tmp_path, capsys, options):
    from rnnkit.seq2seq.io import load_translator

    model = _randomized(_train(tmp_path, capsys, "--level", "punct", *options), tmp_path / "random.safetensors")
    (encoder, step), _, _ = _export(capsys, model, tmp_path / "m.onnx")
    names = {i.name for i in step.get_inputs()}
    assert ("src_ext" in names) == ("--copy" in options) and ("coverage" in names) == ("--coverage" in options)
    assert _compare(load_translator(model), encoder, step) < TOL


def test_the_step_reads_any_extended_id_at_padding_as_0(tmp_path, capsys):
    """src_ext past a sentence's end is read as 0 whatever it holds: -1 (which Gather and Scatter would count from
    the end, a row's largest id then written without its copy mass) or an id past every real one (which would widen
    log_probs) gives the log-probabilities and coverage of padding 0."""
    from rnnkit.seq2seq.io import load_translator

    model = _randomized(_train(tmp_path, capsys, "--level", "punct", "--copy", "--coverage", "--attention",
                               "additive", "--embed", "6", "--hidden", "8"), tmp_path / "random.safetensors")
    (encoder, step), _, _ = _export(capsys, model, tmp_path / "m.onnx")
    cfg = load_translator(model).model.config
    src, lengths, ext = _batch(cfg, np.random.default_rng(3))
    ext = np.ascontiguousarray(ext.T)  # (B, S)
    start = _run(encoder, {"ids": src, "lengths": lengths})
    padding = ~start["src_mask"].astype(bool)
    assert (ext[0, :lengths[0]] == ext.max()).any() and padding[0].any()  # a padded row holds the largest id
    feeds = {"ids": np.ones(3, np.int64), **{k: start[k] for k in ("h", "c", "memory", "src_mask") if k in start},
             "feed": np.zeros((3, 8), np.float32), "coverage": np.zeros((3, 7), np.float32)}
    want = _run(step, {**feeds, "src_ext": ext})
    for filler in (-1, cfg.tgt_vocab_size + 40):
        got = _run(step, {**feeds, "src_ext": np.where(padding, filler, ext)})
        for name in ("log_probs", "coverage_next"):
            assert got[name].shape == want[name].shape and np.array_equal(got[name], want[name]), (filler, name)


def test_a_saturated_gate_and_underflowing_weights_stay_finite_as_in_rnnkit(tmp_path, capsys):
    """Weights scaled up: p_gen is 1.0 in float32 and attention weights underflow to 0, where 1 - p_gen and log a
    would be -inf; the graph works in log space as rnnkit does."""
    from rnnkit import checkpoint as ckpt
    from rnnkit.seq2seq.io import load_translator

    trained = _train(tmp_path, capsys, "--copy", "--coverage", "--attention", "additive", "--embed", "6", "--hidden",
                     "8")
    model = _randomized(trained, tmp_path / "random.safetensors")
    arrays, meta = ckpt.load_checkpoint(model)
    arrays["model/decoder.copy_gate.bias"] = np.full(1, 40.0, np.float32)  # z ~ 40: 1 - sigmoid(z) == 0 in float32
    arrays["model/attention.v"] = arrays["model/attention.v"] * np.float32(300.0)  # scores apart by 100s
    ckpt.save_checkpoint(tmp_path / "big.safetensors", arrays, meta)
    translator = load_translator(tmp_path / "big.safetensors")
    (encoder, step), _, _ = _export(capsys, tmp_path / "big.safetensors", tmp_path / "m.onnx")
    z, weights, logp = _first_step(translator, seed=5)
    assert (z > 20).all() and (weights == 0).any()  # saturated, underflowed
    assert (logp[np.isfinite(logp)] < -88).any()  # below float32's smallest normal probability, e^-87.3
    assert _compare(translator, encoder, step, seed=5, relative=True) < TOL  # log-probs down to -1e3 and beyond


def test_torch_still_refuses_copy_and_coverage_in_one_line(tmp_path, capsys):
    model = _train(tmp_path, capsys, "--copy", "--coverage", "--attention", "additive", "--embed", "4", "--hidden",
                   "4")
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "m.pt"), "--torch"])
    assert code != 0 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert "export it with --onnx instead" in err, err


SENTENCES = ["ein rot hund .", "klein katze sieht ein haus .", "Ein  Blau   Haus läuft .", "猫 sieht 狗 .",
             "zebra ein Zorro haus .", "   ", "hund hund Zorro hund hund hund hund hund hund ."]


@pytest.mark.parametrize("options", [
    ("--copy", "--level", "punct", "--cell", "gru"),
    ("--copy", "--coverage", "--attention", "additive", "--source-level", "char", "--target-level", "word",
     "--lowercase", "--cell", "lstm"),
    ("--coverage", "--attention", "additive", "--level", "word", "--cell", "gru", "--no-input-feeding"),
    ("--copy", "--level", "bpe", "--bpe-vocab", "40", "--cell", "gru"),
])
def test_the_printed_code_translates_and_copies_as_rnnkit_translate(tmp_path, capsys, options):
    """Greedy and beam (with a length penalty, with no repeated n-gram) on sentences whose source words are outside
    the target vocabulary (the German source's, and names never seen): the same outputs as rnnkit translate, and
    the beam's best hypotheses the same scores (a hypothesis given another's coverage moves only scores)."""
    from rnnkit.seq2seq.io import load_translator
    from rnnkit.seq2seq.translate import translate

    model = _train(tmp_path, capsys, *options, "--embed", "12", "--hidden", "16", "--lr", "0.01", epochs="4")
    text = tmp_path / "input.txt"
    text.write_text("".join(s + "\n" for s in SENTENCES), encoding="utf-8")
    copied, worst = 0, 0.0
    for checkpoint in (model, _randomized(model, tmp_path / "random.safetensors")):
        _, code, _ = _export(capsys, checkpoint, tmp_path / "m.onnx")
        width, flat = ("V + X", "rows * (V + X)") if "--copy" in options else ("V", "rows * V")  # log P's shapes
        assert code.count(f"(rows, {width})") == code.count("(rows, V") == 3, code  # docstring, comments
        assert code.count(f"({flat},)") == code.count("(rows * ") == 1, code
        namespace = {"__name__": "__main__"}
        exec(compile(code, "exported.py", "exec"), namespace)
        assert "->" in capsys.readouterr().out  # the example's translation
        same_as_translate(capsys, checkpoint, text, SENTENCES, namespace,
                          ((1, 0.0, 0), (3, 0.0, 0), (4, 0.6, 0), (1, 0.0, 2), (3, 0.0, 1), *BOUND))
        translator = load_translator(checkpoint)
        V = translator.model.config.tgt_vocab_size
        copied += sum(i >= V for found in translate(translator, SENTENCES, beam_size=3) for i in found[0].ids)
        worst = max(worst, _beam_score_difference(translator, namespace,
                                                  ((3, 0.0, 0), (4, 0.6, 0), (3, 0.0, 1), *BOUND)))
    print("extended ids written (beam 3, trained and random):", copied, "; beam scores' largest relative difference:", worst)
    assert worst < 1e-5
    assert copied > 0 or "--copy" not in options  # copy models do write source words


def test_the_printed_code_finds_a_sentences_words_outside_the_target_vocabulary_once(tmp_path, capsys):
    """source_oovs runs once for each sentence translated: its list gives both the step's extended ids and the
    output's copied words."""
    model = _train(tmp_path, capsys, "--copy", "--level", "punct", "--embed", "4", "--hidden", "4")
    _, code, _ = _export(capsys, model, tmp_path / "m.onnx")
    namespace = {"__name__": "exported"}
    exec(compile(code, "exported.py", "exec"), namespace)
    calls, found = [], namespace["source_oovs"]
    namespace["source_oovs"] = lambda tokens: calls.append(tokens) or found(tokens)
    assert namespace["translate"]("Zorro sieht Xerxes .") == namespace["beam_translate"]("Zorro sieht Xerxes .", 1)
    assert calls == [["Zorro", "sieht", "Xerxes", "."]] * 2, calls


def _beam_score_difference(translator, namespace, settings):
    """The largest relative difference (to max(1, |score|)) of the best hypothesis's score (log P / lp) between the
    printed code's beam_search and rnnkit's, over :data:`SENTENCES` (the blank one left out) and each (beam, alpha,
    no_repeat[, beam stop]) of ``settings``; whether it finished and its tokens must be the same."""
    from rnnkit.seq2seq.translate import translate

    worst = 0.0
    sentences = [s for s in SENTENCES if s.strip()]
    for beam, alpha, n, *stop in settings:
        want = translate(translator, sentences, beam_size=beam, length_norm=alpha, no_repeat_ngram=n,
                         beam_stop=stop[0] if stop else "k-finished")
        for sentence, found in zip(sentences, want):
            finished, score, tokens = namespace["beam_search"](namespace["source_tokens"](sentence), beam, alpha, n,
                                                               *stop)
            assert (finished, tuple(tokens)) == (found[0].finished, found[0].tokens), (sentence, beam, alpha, n, *stop)
            worst = max(worst, abs(score - found[0].norm_score) / max(1.0, abs(found[0].norm_score)))
    return worst


def test_info_describes_the_step_and_checks_its_vocabulary_by_the_configuration(tmp_path, capsys):
    """The step's log_probs has no fixed width (V + the sentence's own source words), so the vocabulary file is
    checked against the configuration's target vocabulary: a stray one of another size is named."""
    import json

    model = _train(tmp_path, capsys, "--copy", "--coverage", "--attention", "additive", "--embed", "4", "--hidden",
                   "4")
    _export(capsys, model, tmp_path / "m.onnx")
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "m.step.onnx"), "--json"])
    assert code == 0, err
    info = json.loads(out)
    assert "copy attention" in info["architecture"]["extras"] and "coverage" in info["architecture"]["extras"]
    outputs = {o["name"]: o["shape"] for o in info["onnx"]["outputs"]}
    inputs = {o["name"]: o["shape"] for o in info["onnx"]["inputs"]}
    assert outputs["log_probs"] == ["B", "V_ext"] and outputs["coverage_next"] == ["B", "S"], outputs
    assert inputs["src_ext"] == ["B", "S"] and inputs["coverage"] == ["B", "S"], inputs
    assert info["companions"]["problems"] == []
    vocab = json.loads((tmp_path / "m.vocab.json").read_text(encoding="utf-8"))
    vocab["target_vocab"]["tokens"].append("extra")
    (tmp_path / "m.vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "m.step.onnx"), "--json"])
    problems = json.loads(out)["companions"]["problems"]
    assert code == 0 and len(problems) == 1 and "target vocabulary tokens" in problems[0], problems
