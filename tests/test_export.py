"""rnnkit export: a model without its training state, read by every command with the same results."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import WORDS, run_cli, toy_task_files

from rnnkit import checkpoint as ckpt
from rnnkit.export import export_model, find_checkpoint

FAST = ["--epochs", "2", "--progress", "none", "--checkpoint-minutes", "0"]
TREES = "(3 (2 the) (4 (4 good) (2 film)))\n(1 (2 a) (1 (1 bad) (2 movie)))\n(4 (4 great) (2 plot))\n" * 4


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One tiny trained model of each kind (Adam, so that their checkpoints hold optimizer state), its data."""
    d = tmp_path_factory.mktemp("models")
    lines = toy_task_files(d)
    (d / "src.txt").write_text("".join(x + "\n" for x in lines[:5]), encoding="utf-8")
    (d / "ref.txt").write_text("".join(" ".join(x.split()[::-1]) + "\n" for x in lines[:5]), encoding="utf-8")
    (d / "trees.txt").write_text(TREES, encoding="utf-8")
    from rnnkit.cli.main import main

    for kind, argv in _commands(d).items():
        assert main(argv) == 0, kind
    return d


def _commands(d):
    """The training command of each kind of model, into d."""
    small = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--optimizer", "adam", *FAST]
    return {
        "lm": ["train", "lm", "--train", str(d / "lm.txt"), "--valid", str(d / "lm.txt"), "--level", "word",
               "--layers", "2", "--bptt", "5", *small, "--run-dir", str(d / "lm")],
        "ngram": ["train", "ngram", "--train", str(d / "lm.txt"), "--order", "3", "--save", str(d / "kn.safetensors")],
        "tagger": ["train", "tagger", "--train", str(d / "tag.conllu"), "--crf", *small,
                   "--run-dir", str(d / "tagger")],
        "hmm": ["train", "hmm", "--train", str(d / "tag.conllu"), "--output", str(d / "hmm.safetensors")],
        "classifier": ["train", "classifier", "--train", str(d / "cls.tsv"), "--average", "0.9", *small,
                       "--run-dir", str(d / "cls")],
        "seq2seq": ["train", "seq2seq", "--train", str(d / "s2s.tsv"), *small, "--run-dir", str(d / "s2s")],
        "tree": ["train", "tree", "--train", str(d / "trees.txt"), "--valid", str(d / "trees.txt"), *small,
                 "--run-dir", str(d / "tree")],
    }


def _export(capsys, argv):
    code, out, err = run_cli(capsys, ["export", *argv])
    assert code == 0, err
    return out, err


def _same_output(capsys, command, model, exported, *rest):
    """``rnnkit command MODEL rest`` and the same with the exported model print the same (the model's path aside)."""
    code, want, err = run_cli(capsys, [command, str(model), *rest])
    assert code == 0, err
    code, got, err = run_cli(capsys, [command, str(exported), *rest])
    assert code == 0, err
    assert got.replace(str(exported), str(model)) == want and want.strip(), (command, rest)


def test_a_language_model_keeps_its_weights_and_loses_its_training_state(models, tmp_path, capsys):
    out_path = tmp_path / "ship" / "lm.safetensors"  # a missing folder is made, as --run-dir is
    out, err = _export(capsys, [str(models / "lm"), "-o", str(out_path)])
    assert out == "" and err.count("\n") == 2, err
    best = models / "lm" / "best.safetensors"
    before, after = best.stat().st_size, out_path.stat().st_size
    read, wrote = err.splitlines()
    assert read.startswith(f"read {best} (a language model; step ") and read.endswith(
        f": {before:,} bytes, with its training state")
    assert wrote == f"wrote {out_path}: {after:,} bytes ({after / before:.1%}), the model alone, weights in float32"
    arrays, meta = ckpt.load_checkpoint(best)
    got, got_meta = ckpt.load_checkpoint(out_path)
    assert any(k.startswith("optim/") for k in arrays) and not any(k.startswith("optim/") for k in got)
    assert set(got) == {k for k in arrays if k.startswith("model/")}
    for k, v in got.items():
        assert v.dtype == np.float32 and np.array_equal(v, arrays[k]), k
    assert got_meta["task"] == meta["task"] and got_meta["kind"] == "model"
    assert got_meta["export"] == {"source": "best.safetensors", "source_kind": "training-run",
                                  "step": meta["loop"]["step"], "epoch": meta["loop"]["epoch"],
                                  "steps_into_epoch": 0, "dtype": "float32"}  # best: at an epoch's end
    assert after < before / 2  # Adam's two moments were twice the model
    text = models / "lm.txt"
    _same_output(capsys, "evaluate", best, out_path, str(text))
    _same_output(capsys, "score", best, out_path, str(text), "--per-token")
    _same_output(capsys, "generate", best, out_path, "--length", "30", "--seed", "3")
    _same_output(capsys, "generate", best, out_path, "--prime", "the cat", "--next", "4")
    _same_output(capsys, "states", best, out_path, "--text", "the cat sat")


def test_last_takes_the_runs_last_checkpoint_and_best_is_the_default(models, tmp_path, capsys):
    run = models / "lm"
    assert find_checkpoint(run) == run / "best.safetensors"
    assert find_checkpoint(run, last=True) == run / "last.safetensors"
    _export(capsys, [str(run), "--last", "-o", str(tmp_path / "last.safetensors")])
    _, meta = ckpt.load_checkpoint(run / "last.safetensors")
    assert ckpt.load_meta(tmp_path / "last.safetensors")["export"]["step"] == meta["loop"]["step"]
    _same_output(capsys, "evaluate", run / "last.safetensors", tmp_path / "last.safetensors", str(models / "lm.txt"))
    kept_none = tmp_path / "run"  # a run that validated but keeps no best.safetensors (Trainer keep_best=False)
    kept_none.mkdir()
    shutil.copy(run / "last.safetensors", kept_none / "last.safetensors")
    _, err = _export(capsys, [str(kept_none), "-o", str(tmp_path / "x.safetensors")])
    assert "the run keeps no best.safetensors" in err and "no validation" not in err
    no_valid = tmp_path / "unvalidated"  # a run without validation has only last.safetensors: taken, and said
    assert not (models / "s2s" / "best.safetensors").exists()  # trained without --valid
    shutil.copytree(models / "s2s", no_valid)
    _, err = _export(capsys, [str(no_valid), "-o", str(tmp_path / "y.safetensors")])
    assert "no best.safetensors: it had no validation" in err


@pytest.mark.parametrize("kind", ["tagger", "hmm", "classifier", "seq2seq", "tree", "ngram"])
def test_every_kind_of_model_gives_the_same_results_exported(models, tmp_path, capsys, kind):
    d = models
    source = {"hmm": d / "hmm.safetensors", "ngram": d / "kn.safetensors", "classifier": d / "cls",
              "seq2seq": d / "s2s"}.get(kind, d / kind)
    out_path = tmp_path / f"{kind}.safetensors"
    _, err = _export(capsys, [str(source), "-o", str(out_path)])
    model = find_checkpoint(source)
    dropped = "no training state in it" if kind in ("hmm", "ngram") else "with its training state"
    assert dropped in err, err
    runs = {
        "tagger": [("tag", str(d / "lm.txt"), "--probs"), ("evaluate", str(d / "tag.conllu"))],
        "hmm": [("tag", str(d / "lm.txt"), "--nbest", "2"), ("evaluate", str(d / "tag.conllu"))],
        "classifier": [("classify", str(d / "lm.txt"), "--probs"), ("evaluate", str(d / "cls.tsv"))],
        "seq2seq": [("translate", str(d / "src.txt"), "--beam", "2"),
                    ("evaluate", str(d / "src.txt"), "--ref", str(d / "ref.txt"))],
        "tree": [("classify", str(d / "trees.txt"), "--probs"), ("evaluate", str(d / "trees.txt"))],
        "ngram": [("evaluate", str(d / "lm.txt")), ("generate", "--length", "20", "--seed", "1")],
    }[kind]
    for command, *rest in runs:
        _same_output(capsys, command, model, out_path, *rest)
    if kind not in ("hmm", "ngram"):  # in half precision too, every kind loads and runs
        half = tmp_path / f"{kind}16.safetensors"
        _export(capsys, [str(source), "-o", str(half), "--dtype", "float16"])
        assert {a.dtype.name for a in ckpt.load_checkpoint(half)[0].values()} == {"float16"}
        for command, *rest in runs:
            code, out, err = run_cli(capsys, [command, str(half), *rest])
            assert code == 0 and out.strip(), err
    if kind == "classifier":  # an --average run: the average is the model; its training weights (raw/) go
        arrays, _ = ckpt.load_checkpoint(model)
        assert any(k.startswith("raw/") for k in arrays) and set(ckpt.load_checkpoint(out_path)[0]) == {
            k for k in arrays if k.startswith("model/")}


def test_float16_halves_the_weights_and_stays_close(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    text = tmp_path / "t.txt"
    rng = np.random.default_rng(1)
    text.write_text("".join(" ".join(rng.choice(WORDS, 7)) + "\n" for _ in range(30)), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(text), "--embed", "48", "--hidden", "48",
                                    "--layers", "2", "--bptt", "6", "--batch-size", "4", "--epochs", "1", "--progress",
                                    "none", "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    full, half = tmp_path / "f32.safetensors", tmp_path / "f16.safetensors"
    _export(capsys, [str(tmp_path / "run"), "-o", str(full)])
    _, err = _export(capsys, [str(tmp_path / "run"), "-o", str(half), "--dtype", "float16"])
    assert "the model alone, weights in float16 (each moved by at most " in err, err
    assert half.stat().st_size < 0.55 * full.stat().st_size
    stored, meta = ckpt.load_checkpoint(half)
    assert {v.dtype for v in stored.values()} == {np.dtype(np.float16)} and meta["export"]["dtype"] == "float16"
    m32, vocab, _, _ = load_lm(full)
    m16, _, _, _ = load_lm(half)  # widened to float32 on loading: the model computes as trained
    for k, w in m32.params.items():
        assert m16.params[k].dtype == np.float32
        assert np.array_equal(m16.params[k], w.astype(np.float16).astype(np.float32)), k
        assert np.abs(m16.params[k] - w).max() <= 2.0 ** -11 * max(np.abs(w).max(), 2.0 ** -14), k
    ids = rng.integers(0, len(vocab), (12, 3))
    lp32, _ = m32.token_log_probs(ids[:-1], ids[1:])
    lp16, _ = m16.token_log_probs(ids[:-1], ids[1:])
    assert 0 < np.abs(lp32 - lp16).max() < 1e-2  # rounded weights: close, not equal
    code, out32, _ = run_cli(capsys, ["evaluate", str(full), str(text)])
    code, out16, _ = run_cli(capsys, ["evaluate", str(half), str(text)])
    ppl32, ppl16 = (float(o.split("perplexity ")[1].split()[0].rstrip(",;")) for o in (out32, out16))
    assert abs(ppl16 - ppl32) / ppl32 < 1e-3, (out32, out16)
    _, err = _export(capsys, [str(half), "-o", str(tmp_path / "again.safetensors"), "--dtype", "float32"])
    assert "moved" not in err and "no training state in it" in err  # float16 -> float32 is exact
    assert all(v.dtype == np.float32 for v in ckpt.load_checkpoint(tmp_path / "again.safetensors")[0].values())


@pytest.mark.parametrize("kind,folder", [("lm", "lm"), ("tagger", "tagger"), ("classifier", "cls"),
                                         ("seq2seq", "s2s"), ("tree", "tree")])
def test_resuming_from_an_export_is_refused_in_one_line(models, tmp_path, capsys, kind, folder):
    run = tmp_path / "run"
    shutil.copytree(models / folder, run)
    export_model(run, run / "last.safetensors.new", last=True)
    (run / "last.safetensors.new").replace(run / "last.safetensors")  # someone shipped over the run's checkpoint
    argv = _commands(models)[kind]
    argv = [*argv[:argv.index("--run-dir")], "--epochs", "3", "--run-dir", str(run), "--resume"]
    code, out, err = run_cli(capsys, argv)
    errors = [line for line in err.splitlines() if line.startswith("rnnkit: error:")]
    assert code == 2 and len(errors) == 1 and err.endswith(errors[0] + "\n"), err
    assert f"{run / 'last.safetensors'}: an exported model (rnnkit export) holds the weights only, no optimizer " \
           "or training state, so a run cannot resume from it" in err
    assert ("start a new run (without --resume; in Python, resume=False), or put back the run's own "
            "last.safetensors") in err


def test_mistakes_get_one_line(models, tmp_path, capsys):
    best = models / "lm" / "best.safetensors"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model\n", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    folder_out = tmp_path / "out"
    folder_out.mkdir()
    ok = str(tmp_path / "ok.safetensors")
    folds = tmp_path / "cv"  # a cross-validation's models are its folds'
    for k in (1, 2):
        (folds / f"fold{k}").mkdir(parents=True)
        shutil.copy(models / "cls" / "last.safetensors", folds / f"fold{k}" / "best.safetensors")
    cases = [
        ([str(tmp_path / "nope")], f"{tmp_path / 'nope'}: no such checkpoint"),
        ([str(notes)], "is a text file, not a checkpoint"),
        ([str(empty)], "no best.safetensors or last.safetensors in it"),
        ([str(folds)], f"is a 2-fold cross-validation run: its models are {folds / 'fold1' / 'best.safetensors'} to"),
        ([str(best), "--last"], "last=True (--last) picks a run folder's last.safetensors"),
        ([str(models / "kn.safetensors"), "--dtype", "float16"], "dtype (--dtype): "),
    ]
    for argv, needle in cases:
        code, out, err = run_cli(capsys, ["export", *argv, "-o", ok])
        assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, (argv, err)
    outputs = [
        (str(best), "output (-o) " + str(best) + " is the checkpoint being exported"),
        (str(models / "lm" / "last.safetensors"), "is a training run's checkpoint"),
        (str(folder_out), "is a folder; give a file name"),
        (str(notes / "x.safetensors"), "is a file, not a folder"),
        (str(tmp_path / "lm.safetensors.gz"), "saved uncompressed"),
    ]
    for out_path, needle in outputs:
        code, out, err = run_cli(capsys, ["export", str(models / "lm"), "-o", out_path])
        assert code == 2 and err.count("\n") == 1 and needle in err, (out_path, err)
    assert ckpt.load_meta(best)["kind"] == "training-run"  # untouched
    code, _, err = run_cli(capsys, ["export", str(models / "lm")])
    assert code == 2 and "-o" in err and err.count("\n") == 1


def test_an_existing_export_is_replaced_atomically(models, tmp_path, capsys):
    out_path = tmp_path / "m.safetensors"
    _export(capsys, [str(models / "lm"), "-o", str(out_path)])
    _export(capsys, [str(models / "cls"), "-o", str(out_path)])  # replaced, as other commands replace their output
    assert ckpt.load_meta(out_path)["task"]["model"] == "classifier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temporary left


def test_unwritable_output_is_one_line(models, tmp_path, capsys):
    import os

    if os.geteuid() == 0:  # root writes into a read-only folder: /proc refuses everyone
        target = "/proc/rnnkit-export.safetensors"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "m.safetensors")
    code, out, err = run_cli(capsys, ["export", str(models / "lm"), "-o", target])
    assert code == 2 and err.count("\n") == 1 and "choose another path" in err, err


def test_the_export_record_says_where_the_model_came_from(models, tmp_path):
    report = export_model(models / "lm", tmp_path / "a.safetensors")
    again = export_model(tmp_path / "a.safetensors", tmp_path / "b.safetensors", dtype="float16")
    first, second = (ckpt.load_meta(p)["export"] for p in (report.output, again.output))
    assert second["source"] == "a.safetensors" and second["source_kind"] == "model"
    assert (second["step"], second["epoch"]) == (first["step"], first["epoch"]) and second["dtype"] == "float16"
    assert json.dumps(first)  # plain JSON


@pytest.mark.skipif(not Path("/dev/stdout").is_symlink(), reason="needs /dev/stdout as a link to the open file")
@pytest.mark.parametrize("target", [[], ["--torch"]])
def test_output_to_dev_stdout_redirected_to_a_file_says_the_files_real_size(models, tmp_path, target):
    """`rnnkit export RUN -o /dev/stdout > file`: the write replaces the file standard output leads to, and
    the report names its size, not the 0 bytes of the file it replaced (still standard output, nameless)."""
    out_path = tmp_path / "out.safetensors"
    with open(out_path, "wb") as out:
        done = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "export", str(models / "lm"), "-o",
                               "/dev/stdout", *target], stdout=out, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    size = out_path.stat().st_size
    assert size > 1000 and f"wrote /dev/stdout: {size:,} bytes (" in done.stderr, (size, done.stderr)
    assert done.stderr.count("\n") == 2 + bool(target), done.stderr
    if target:  # the code would have gone into the file the weights replaced, naming them /dev/stdout
        assert "-o /dev/stdout is standard output, which holds the export, so the torch code that loads it is not " \
               "printed; write the export to a file of its own (-o FILE)" in done.stderr, done.stderr


@pytest.mark.parametrize("target", ["--torch", "--onnx"])
def test_an_output_that_is_standard_output_by_its_own_name_holds_the_export_alone(models, tmp_path, target):
    """`rnnkit export RUN -o m.out --torch > m.out`: the file is the export, not the code appended to it (nor the
    code lost in the file the export replaced); one line says where the code went."""
    if target == "--onnx":
        pytest.importorskip("onnx")
    out_path = tmp_path / "m.out"
    with open(out_path, "wb") as out:
        done = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "export", str(models / "lm"), "-o",
                               str(out_path), target], stdout=out, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 0 and "code that" in done.stderr and "is not printed" in done.stderr, done.stderr
    assert f"wrote {out_path}: {out_path.stat().st_size:,} bytes" in done.stderr, done.stderr
    assert b"import" not in out_path.read_bytes()[:64]  # the export's own bytes: safetensors' header, or a graph


def test_library_messages_name_the_parameters_and_the_options_beside_them(models, tmp_path):
    """export_model's refusals, called from Python, name its parameters (last, dtype, output), not only the options."""
    from rnnkit.export import narrow

    best = models / "lm" / "best.safetensors"
    with pytest.raises(ValueError, match=r"^last=True \(--last\) picks a run folder's last.safetensors"):
        export_model(best, tmp_path / "a.safetensors", last=True)
    with pytest.raises(ValueError, match=r"^dtype \(--dtype\): .* leave dtype \(--dtype\) out$"):
        export_model(models / "kn.safetensors", tmp_path / "a.safetensors", dtype="float16")
    with pytest.raises(ValueError, match=r"^output \(-o\) .* is the checkpoint being exported"):
        export_model(best, best)
    with pytest.raises(ValueError, match=r"^dtype \(--dtype\) float16: the weights w reach 1e\+05"):
        narrow({"w": np.full(2, 1e5, np.float32)}, "float16", ["w"])
