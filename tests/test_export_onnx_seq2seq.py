"""rnnkit export --onnx of a translator: the encoder graph gives rnnkit's memory, mask and initial state, the decoder
step graph rnnkit's log-probabilities, attention and next state at every step of a teacher-forced target, on random
non-zero weights; the printed onnxruntime code translates as ``rnnkit translate`` does, greedily and by beam search."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from clirun import run_cli
from seq2seq_cli import write
from test_cli_seq2seq import corpus
from test_export_onnx import FAST, TOL, _diff, _randomized

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

CHINESE = [("猫 sieht 狗 .", "Dog sees cat."), ("狗 läuft .", "Dog runs.")]  # UTF-8 beyond Latin-1


def _corpus(tmp_path):
    """test_cli_seq2seq's toy translation (every word looked up, the order reversed) and a few Chinese pairs."""
    src, tgt = corpus(60, 0)
    src, tgt = src + [s for s, _ in CHINESE], tgt + [t for _, t in CHINESE]
    return [write(tmp_path / "train.de", src), write(tmp_path / "train.en", tgt)]


def _train(tmp_path, capsys, *options, epochs="1"):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", *_corpus(tmp_path), *FAST[2:], "--epochs", epochs,
                                    "--run-dir", str(run), *options])
    assert code == 0, err
    return run / "last.safetensors"


def _export(capsys, model, out_path, *options):
    """Export with --onnx; check both graphs; return the two sessions, the printed code and the stderr."""
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(out_path), "--onnx", *options])
    assert code == 0, err
    step_path = out_path.with_name(out_path.stem + ".step.onnx")
    assert f"decoder step in {step_path}" in err, err
    assert max(len(line) for line in out.splitlines() if str(out_path.parent) not in line) <= 120
    sessions = []
    for path in (out_path, step_path):
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        sessions.append(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    return sessions, out, err


def _run(session, feeds):
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def _stacked(state, i):
    """rnnkit's per-layer decoder state as (L, B, H): h (i = 0) or c (i = 1)."""
    return np.stack([s[i] if isinstance(s, tuple) else s for s in state])


@pytest.mark.parametrize("options", [
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8", "--encoder-hidden", "5"),  # general
    ("--cell", "gru", "--attention", "additive", "--attention-size", "7", "--no-input-feeding", "--unidirectional",
     "--tie", "--embed", "8", "--hidden", "8", "--encoder-hidden", "6"),
    ("--cell", "rnn", "--attention", "dot", "--layers", "3", "--residual", "--embed", "5", "--hidden", "8",
     "--encoder-hidden", "4"),
    ("--cell", "lstm", "--attention", "none", "--peephole", "--layers", "2", "--residual", "--embed", "5",
     "--hidden", "6", "--encoder-hidden", "7"),
    ("--cell", "lstm", "--attention", "dot", "--peephole", "--no-input-feeding", "--embed", "6", "--hidden", "6",
     "--encoder-hidden", "3"),
    # layer-normalized: a Scan over the cell's steps in the encoder, over one step in the decoder
    ("--cell", "lstm", "--layer-norm", "--layers", "2", "--embed", "6", "--hidden", "8", "--encoder-hidden", "5"),
    ("--cell", "gru", "--layer-norm", "--attention", "additive", "--residual", "--layers", "2", "--tie", "--embed",
     "8", "--hidden", "8", "--encoder-hidden", "6"),
    ("--cell", "rnn", "--layer-norm", "--attention", "dot", "--unidirectional", "--embed", "5", "--hidden", "4",
     "--encoder-hidden", "4"),
    ("--cell", "lstm", "--layer-norm", "--peephole", "--attention", "none", "--embed", "5", "--hidden", "6",
     "--encoder-hidden", "7"),
])
def test_a_translator_in_onnxruntime_gives_rnnkits_memory_state_and_step_log_probabilities(tmp_path, capsys, options):
    from rnnkit.seq2seq.io import load_translator

    model = _randomized(_train(tmp_path, capsys, "--level", "punct", *options), tmp_path / "random.safetensors")
    (encoder, step), _, _ = _export(capsys, model, tmp_path / "m.onnx")
    assert _compare(load_translator(model), encoder, step) < TOL


def test_a_float16_translator_in_onnxruntime_gives_rnnkits_float16_export(tmp_path, capsys):
    from rnnkit.seq2seq.io import load_translator

    model = _randomized(_train(tmp_path, capsys, "--embed", "6", "--hidden", "8"), tmp_path / "random.safetensors")
    (encoder, step), _, err = _export(capsys, model, tmp_path / "m.onnx", "--dtype", "float16")
    assert "weights in float16" in err
    code, _, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "half.safetensors"), "--dtype",
                                    "float16"])
    assert code == 0, err
    assert _compare(load_translator(tmp_path / "half.safetensors"), encoder, step) < TOL


def _compare(translator, encoder, step):
    """The largest difference between rnnkit's encoder and decoder steps and the graphs' on a batch of unequal
    lengths, teacher-forced over 7 target tokens."""
    cfg = translator.model.config
    rng = np.random.default_rng(3)
    lengths = np.array([5, 2, 7])
    src = np.zeros((7, 3), np.int64)  # (S, B), padded with <pad>
    for b, n in enumerate(lengths):
        src[:n, b] = rng.integers(3, cfg.src_vocab_size, n)
    carry = translator.model.encode(src, lengths)
    start = _run(encoder, {"ids": src, "lengths": lengths})
    diffs = [_diff("h_0", start["h"], _stacked(carry.state, 0))]
    state = {"h": start["h"]}
    if cfg.cell == "lstm":
        diffs.append(_diff("c_0", start["c"], _stacked(carry.state, 1)))
        state["c"] = start["c"]
    fixed = {}
    if cfg.attention != "none":
        assert np.array_equal(start["src_mask"], carry.memory.mask)
        diffs.append(_diff("memory", start["memory"], carry.memory.values))
        fixed = {"memory": start["memory"], "src_mask": start["src_mask"]}
    else:
        assert set(start) == set(state)
    if cfg.input_feeding:
        state["feed"] = np.zeros((3, cfg.decoder_hidden_size), np.float32)
    tgt_in = np.concatenate([np.ones((1, 3), np.int64), rng.integers(2, cfg.tgt_vocab_size, (6, 3))])  # (T, B)
    for t in range(len(tgt_in)):  # teacher-forced: both read the same target tokens, each from its own state
        logp, weights, carry = translator.model.decode_step(tgt_in[t], carry)
        got = _run(step, {"ids": tgt_in[t], **state, **fixed})
        diffs.append(_diff(f"log_probs {t}", got["log_probs"], logp))
        diffs.append(_diff(f"h {t}", got["h_next"], _stacked(carry.state, 0)))
        if cfg.cell == "lstm":
            diffs.append(_diff(f"c {t}", got["c_next"], _stacked(carry.state, 1)))
        if cfg.attention != "none":
            diffs.append(_diff(f"attention {t}", got["attention"], weights))
            assert np.all(got["attention"][~carry.memory.mask] == 0)  # exactly 0 past each sentence's end
        else:
            assert "attention" not in got
        state = {k: got[k + "_next"] for k in state}
    return max(diffs)


SENTENCES = ["ein rot hund .", "klein katze sieht ein haus .", "Ein  Blau   Haus läuft .", "猫 sieht 狗 .",
             "zebra ein haus .", "   ", "hund hund hund hund hund hund hund hund hund ."]


@pytest.mark.parametrize("levels", [
    ("--level", "punct", "--cell", "gru"),
    ("--source-level", "char", "--target-level", "word", "--lowercase", "--cell", "gru"),
    ("--level", "bpe", "--bpe-vocab", "40", "--cell", "gru"),
    ("--level", "word", "--cell", "lstm", "--attention", "none", "--no-input-feeding", "--layers", "2", "--layer-norm"),
])
def test_the_printed_code_translates_as_rnnkit_translate_greedily_and_by_beam_search(tmp_path, capsys, levels):
    model = _train(tmp_path, capsys, *levels, "--embed", "12", "--hidden", "16", "--lr", "0.01",
                   epochs="4")
    text = tmp_path / "input.txt"
    text.write_text("".join(s + "\n" for s in SENTENCES), encoding="utf-8")
    seen = []
    settings = ((1, 0.0, 0), (3, 0.0, 0), (4, 0.6, 0), (1, 0.0, 2), (3, 0.0, 1), (2, 0.3, 2), (4, 2.0, 0), *BOUND)
    # the trained model, and the same with random weights: outputs of every length, some cut at the length limit
    for checkpoint in (model, _randomized(model, tmp_path / "random.safetensors")):
        _, code, _ = _export(capsys, checkpoint, tmp_path / "m.onnx")
        namespace = {"__name__": "__main__"}
        exec(compile(code, "exported.py", "exec"), namespace)
        assert "->" in capsys.readouterr().out  # the example's translation
        # greedy decoding, beam search, and either with no repeated bigram or no token twice
        seen += same_as_translate(capsys, checkpoint, text, SENTENCES, namespace, settings)
    print(*seen, sep="\n")
    moved = tmp_path / "moved"  # the script moved with the three files beside it: it opens them there
    moved.mkdir()
    for name in ("m.onnx", "m.step.onnx", "m.vocab.json"):
        (tmp_path / name).rename(moved / name)
    (moved / "m_onnx.py").write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(moved / "m_onnx.py")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "->" in done.stdout, done.stderr
    assert all(len(set(got)) > 2 for *_, got in seen[len(settings):])  # random weights: not one output for every sentence
    trained = seen[:len(settings)]  # the trained model's: --beam-stop bound changes some of its translations
    k_finished = {s[:3]: s[-1] for s in trained if len(s) == 4}
    assert any(k_finished.get(s[:3], s[-1]) != s[-1] for s in trained if len(s) == 5), trained


# --beam-stop bound: with no length penalty, with a large one (where it goes on longest: it changes the trained
# models' translations here), with one and no repeated bigram
BOUND = ((3, 0.0, 0, "bound"), (4, 2.0, 0, "bound"), (2, 0.6, 2, "bound"))


def same_as_translate(capsys, checkpoint, text, sentences, namespace, settings):
    """The printed code's (run into ``namespace``) translations of ``sentences`` (the lines of the file ``text``) for
    each (beam, alpha, no_repeat[, beam stop]) of ``settings``, each list checked equal to rnnkit translate's;
    returns them as (beam, alpha, no_repeat[, beam stop], translations)."""
    seen = []
    for beam, alpha, n, *stop in settings:
        options = (["--length-norm", str(alpha)] if alpha else []) + (["--no-repeat-ngram", str(n)] if n else [])
        options += ["--beam-stop", *stop] if stop else []
        status, out, err = run_cli(capsys, ["translate", str(checkpoint), str(text), "--beam", str(beam), *options])
        assert status == 0, err
        want = out.split("\n")[:-1]
        got = [namespace["translate"](s, n) if beam == 1 else namespace["beam_translate"](s, beam, alpha, n, *stop)
               for s in sentences]
        seen.append((beam, alpha, n, *stop, got))
        assert got == want, (beam, alpha, n, *stop)
    return seen


def test_a_decoder_step_file_that_cannot_be_written_is_refused_before_either_graph(tmp_path, capsys):
    model = _train(tmp_path, capsys, "--embed", "4", "--hidden", "4")
    (tmp_path / "m.step.onnx").mkdir()
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "m.onnx"), "--onnx"])
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "m.step.onnx" in err and "Traceback" not in err, err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.vocab.json").exists()


def test_torch_refuses_a_translator_and_names_onnx(tmp_path, capsys):
    model = _train(tmp_path, capsys, "--embed", "4", "--hidden", "4")
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "m.pt"), "--torch"])
    assert code != 0 and out == "" and err.count("\n") == 1 and "--onnx writes it" in err, err
    assert "export it with --onnx instead, or without either" in err, err


def test_a_translator_rnnkit_cannot_load_is_refused_in_its_loaders_words(tmp_path, capsys):
    from rnnkit import checkpoint as ckpt

    arrays, meta = ckpt.load_checkpoint(_train(tmp_path, capsys, "--embed", "4", "--hidden", "4"))
    del arrays["model/attention.W"]
    ckpt.save_checkpoint(tmp_path / "damaged.safetensors", arrays, meta)
    code, out, err = run_cli(capsys, ["export", str(tmp_path / "damaged.safetensors"), "-o", str(tmp_path / "m.onnx"),
                                      "--onnx"])
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "missing ['attention.W']" in err and "Traceback" not in err, err
    assert not (tmp_path / "m.onnx").exists()


def test_an_encoder_named_as_a_decoder_step_file_is_refused(tmp_path, capsys):
    """-o ex/m.step.onnx of a translator wrote its encoder over an earlier export's step and its own step in
    m.step.step.onnx."""
    model = _train(tmp_path, capsys, "--embed", "4", "--hidden", "4")
    _export(capsys, model, tmp_path / "ex" / "m.onnx")
    step = (tmp_path / "ex" / "m.step.onnx").read_bytes()
    for name in ("m.step.onnx", "M.Step.ONNX"):
        code, out, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "ex" / name), "--onnx"])
        assert code == 2 and out == "" and err.count("\n") == 1, (code, err)
        assert (f"-o {tmp_path / 'ex' / name}: is named as the decoder step file written beside an export; give the "
                f"export's own name, e.g. {tmp_path / 'ex' / name[:-len('.step.onnx')]}.onnx") in err, err
    assert (tmp_path / "ex" / "m.step.onnx").read_bytes() == step
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["m.onnx", "m.step.onnx", "m.vocab.json"]


def test_the_summary_names_the_files_the_export_wrote_beside_it(tmp_path):
    """The summary reads the step, vocabulary and SentencePiece files from the report, not from OUT's name."""
    import argparse

    from rnnkit.cli.export import summary
    from rnnkit.export import ExportReport

    sides = (tmp_path / "s" / "a.step.onnx", tmp_path / "v" / "b.vocab.json", tmp_path / "p" / "c.bpe.model")
    args = argparse.Namespace(model=str(tmp_path / "run"), last=False, torch=False, onnx=True)
    report = ExportReport(tmp_path / "q.safetensors", tmp_path / "m.onnx", "seq2seq", "training-run", 3, 1, 100, 40,
                          "float32", 0.0, sides)
    wrote = summary(report, args).splitlines()[1]
    assert all(str(p) in wrote for p in sides) and "m.step.onnx" not in wrote and "m.vocab.json" not in wrote, wrote
    # its size is both graphs': said so (it read "wrote m.onnx: 527,935 bytes" of a 156,019-byte m.onnx)
    assert wrote.startswith(f"wrote {tmp_path / 'm.onnx'} and {sides[0]}: 40 bytes together (40.0%)"), wrote
