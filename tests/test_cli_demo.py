"""``rnnkit demo``: the main demo takes its options and a named demo refuses them, and the main demo's corpus
(this Python's standard-library slice, or rnnkit's own source where that is missing, and one line when neither is)."""
from __future__ import annotations

import re
from pathlib import Path

from clirun import _one_line

from rnnkit.cli.main import main


def test_the_main_demo_takes_its_options_and_a_named_demo_refuses_them(tmp_path, capsys):
    """`rnnkit demo --run-dir X reverse` ran the reverse demo in runs/reverse (removing an earlier run's
    checkpoints there) and ignored X: options before a demo's name are the default demo's."""
    code = main(["demo", "--steps", "3", "--run-dir", str(tmp_path / "main"), "--progress", "none"])
    out = capsys.readouterr()
    assert code == 0 and (tmp_path / "main" / "model.safetensors").exists(), out.err
    # the header counts the epochs the steps make (it said '1 epoch(s)' for 3 steps and 2 for 200 of 186), the
    # folder has no best.safetensors (an epoch end's, older than the model), the last line says what is there
    per_epoch = int(re.search(r" of (\d+) steps\)$", out.out.splitlines()[1]).group(1))
    assert out.out.splitlines()[1].endswith(f" for 3 steps of 32x64 characters ({3 / per_epoch:.3g} epochs of "
                                            f"{per_epoch} steps)"), out.out
    files = sorted(p.name for p in (tmp_path / "main").iterdir() if not p.name.startswith("."))  # .lock: the run lock
    assert files == ["last.safetensors", "model.safetensors"], files
    assert (f"model saved: {tmp_path / 'main' / 'model.safetensors'}, the weights after step 3 (beside it: "
            "last.safetensors, the same with the optimizer's state)\n") in out.out, out.out
    assert out.err == "", out.err  # no "stopped at step 3 (max_steps)": --steps is the demo's length, not a cut
    for argv, option in ((["demo", "--run-dir", str(tmp_path / "x"), "reverse", "--epochs", "1"], "--run-dir"),
                         (["demo", "--steps", "7", "addition"], "--steps"),
                         (["demo", "--progress", "none", "reverse"], "--progress"),
                         # written with its default value, it is still written (it was taken as not given)
                         (["demo", "--run-dir", "runs/demo", "reverse", "--epochs", "1"], "--run-dir"),
                         (["demo", "--seed", "0", "addition"], "--seed")):
        assert main(argv) == 2
        err = _one_line(capsys.readouterr().err)
        demo = argv[3]
        assert err.rstrip("\n") == (f"rnnkit: error: {option} before '{demo}' is an option of the default demo "
                                     f"(rnnkit demo); give the options of 'demo {demo}' after its name: rnnkit demo "
                                     f"{demo} {option} ..."), err
    assert not (tmp_path / "x").exists()


def test_the_main_demo_learns_rnnkit_source_where_the_standard_library_source_is_missing(tmp_path, capsys,
                                                                                          monkeypatch):
    """Minimal images and embedded Pythons may carry only .pyc files: the demo said so with a traceback."""
    from rnnkit.demos import charlm

    empty = tmp_path / "stdlib"
    empty.mkdir()
    (empty / "textwrap.py").write_text("x = 1\n", encoding="utf-8")  # a few files are not enough
    monkeypatch.setattr(charlm.sysconfig, "get_paths", lambda *a, **k: {"stdlib": str(empty)})
    code = main(["demo", "--steps", "2", "--run-dir", str(tmp_path / "run"), "--progress", "none"])
    out = capsys.readouterr().out
    assert code == 0 and (tmp_path / "run" / "model.safetensors").exists()
    files = charlm.package_corpus()[1]
    assert 10 < files < len(list(Path(charlm.__file__).resolve().parents[1].rglob("*.py")))  # the first 400,000
    assert f"corpus: 400,000 characters of rnnkit's own source ({files} files; Python " in out, out
    assert f"standard-library source is not installed under {empty})" in out
    text, source = charlm.demo_corpus(1000, stdlib_root=empty)
    assert text.startswith("# ==== __init__.py ====\n") and len(text) == 1000
    # a broken installation with neither: one line, and what to do instead
    monkeypatch.setattr(charlm, "package_corpus", lambda *a: ("", 0))
    assert main(["demo", "--steps", "2", "--run-dir", str(tmp_path / "run2"), "--progress", "none"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "the demo found no Python source to learn from" in err and "rnnkit train lm --train FILE" in err, err


def test_the_demo_corpus_is_this_pythons_standard_library_slice(tmp_path):
    from rnnkit.demos import charlm

    text, source = charlm.demo_corpus()
    assert len(text) == 400_000 and text.startswith("# ==== textwrap.py ====\n")
    assert source.endswith("'s standard library (14 modules)")
    # too little is not a corpus (a folder of its own: rnnkit.demos, used here once, has grown past the minimum)
    (tmp_path / "small.py").write_text("x = 1\n" * (charlm.MIN_CORPUS // 12), encoding="utf-8")
    assert charlm.package_corpus(10**9, tmp_path) == ("", 0)
    (tmp_path / "more.py").write_text("x = 1\n" * (charlm.MIN_CORPUS // 6), encoding="utf-8")
    assert charlm.package_corpus(10**9, tmp_path)[1] == 2


def test_the_demo_counts_the_standard_library_modules_it_found(tmp_path):
    import shutil
    import sysconfig

    from rnnkit.demos import charlm

    for name in charlm.CORPUS_FILES[2:]:  # a Python without textwrap.py and string.py
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(sysconfig.get_paths()["stdlib"]) / name, tmp_path / name)
    text, source = charlm.demo_corpus(stdlib_root=tmp_path)
    assert text.startswith("# ==== bisect.py ====\n") and source.endswith("'s standard library (12 modules)")
