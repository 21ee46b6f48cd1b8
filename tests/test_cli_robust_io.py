"""The command line at the edges of its input and output: Ctrl-C while it loads, a plot folder it may not
write into, a full disk under a plot or under standard output, and the temporaries a killed write leaves."""
from __future__ import annotations

import builtins
import errno
import os
import signal
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from clirun import error_line, refused, run_cli

from rnnkit.atomic import remove_stale_temporaries, write_atomically
from rnnkit.cli.main import main

FULL = "/dev/full"  # every write into it fails with ENOSPC, as on a full disk
needs_dev_full = pytest.mark.skipif(not os.path.exists(FULL), reason="needs /dev/full (Linux)")


# F9: an interrupt while rnnkit loads ----------------------------------------------------------------------------

def test_the_console_script_is_the_light_entry_module():
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "rnnkit"]
    assert script.value == "rnnkit.cli.entry:main"  # pip install -e . again after changing pyproject.toml


def test_an_interrupt_while_the_cli_modules_load_is_one_line_and_130(monkeypatch, capsys):
    from rnnkit.cli import entry

    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name == "rnnkit.cli.common":  # imported by rnnkit.cli.main as it loads
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "rnnkit.cli.main")  # loaded again, as in a new process
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        code = entry.main(["--version"])
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped: Python prints a traceback")
    monkeypatch.undo()
    assert code == 130 and capsys.readouterr().err == "rnnkit: interrupted\n"
    # a caller in this process gets its handlers back (only the console script stays deaf until it exits)
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers


def test_an_interrupt_while_the_parser_is_built_is_one_line_and_130(monkeypatch, capsys):
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("rnnkit.cli.main.build_parser", interrupted)  # the commands' modules are imported there
    try:
        code, out, err = run_cli(capsys, ["--version"])
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped: Python prints a traceback")
    assert code == 130 and out == "" and err == "rnnkit: interrupted\n"


@pytest.mark.skipif(not hasattr(os, "kill") or os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("trigger", ["rnnkit.cli.common", "rnnkit.cli.seq2seq_score"])
def test_a_real_ctrl_c_while_the_console_script_starts_is_one_line_and_130(trigger):
    """The installed console script's own lines, with a real SIGINT sent when ``trigger`` is imported:
    rnnkit.cli.common as rnnkit.cli.main loads, rnnkit.cli.seq2seq_score as the parser is built."""
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "rnnkit"]
    code = textwrap.dedent(f"""
        import builtins, os, signal, sys
        real_import = builtins.__import__
        sent = []

        def import_(name, *args, **kwargs):
            if name == {trigger!r} and not sent:
                sent.append(1)
                os.kill(os.getpid(), signal.SIGINT)
            return real_import(name, *args, **kwargs)

        builtins.__import__ = import_
        from {script.module} import {script.attr} as main
        sys.argv = ["rnnkit", "--version"]
        sys.exit(main())
    """)
    # SIGINT as a terminal leaves it: a suite run in the background (nohup, &) hands its children SIGINT
    # ignored, and Python keeps it so, as rnnkit should
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130 and proc.stderr == "rnnkit: interrupted\n", (proc.returncode, proc.stderr)
    assert proc.stdout == ""


# F10: a --plot-dir that cannot take the plot is refused before translating -----------------------------------

@pytest.fixture(scope="module")
def attention_model(tmp_path_factory):
    pytest.importorskip("matplotlib")
    d = tmp_path_factory.mktemp("robust_seq2seq")
    src = ["ein hund .", "eine katze .", "ein großer hund .", "eine kleine katze ."] * 10
    tgt = ["a dog .", "a cat .", "a big dog .", "a small cat ."] * 10
    (d / "train.de").write_text("".join(s + "\n" for s in src), encoding="utf-8")
    (d / "train.en").write_text("".join(t + "\n" for t in tgt), encoding="utf-8")
    (d / "test.de").write_text("ein hund .\neine katze .\n", encoding="utf-8")
    code = main(["train", "seq2seq", "--train", str(d / "train.de"), str(d / "train.en"), "--epochs", "1",
                 "--embed", "8", "--hidden", "8", "--run-dir", str(d / "run"), "--progress", "none",
                 "--checkpoint-minutes", "0"])
    assert code == 0
    return str(d / "run" / "last.safetensors"), str(d / "test.de")


def _translate_refused(capsys, model, src, plot_dir, *said) -> None:
    result = run_cli(capsys, ["translate", model, src, "--plot-attention", "1", "--plot-dir", str(plot_dir)])
    assert refused(result, *said).startswith(f"rnnkit: error: --plot-dir {plot_dir}")  # nothing translated


def test_a_read_only_plot_dir_is_refused_before_translating(attention_model, tmp_path, capsys):
    model, src = attention_model
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user (root) may write into a folder whatever its permissions")
        _translate_refused(capsys, model, src, folder, "no permission")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


def test_a_plot_dir_this_user_may_not_write_into_is_refused_before_translating(attention_model, tmp_path, capsys,
                                                                                monkeypatch):
    """The read-only folder of the test above, for a user (root) whom permissions do not stop: the
    operating system's answer is what the check asks for."""
    model, src = attention_model
    folder = tmp_path / "read_only"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder else real_access(p, mode, **kw))
    _translate_refused(capsys, model, src, folder, "no permission to write into this folder")


def test_a_plot_dir_below_a_file_or_holding_a_folder_of_the_plots_name_is_refused_before_translating(
        attention_model, tmp_path, capsys):
    model, src = attention_model
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    _translate_refused(capsys, model, src, blocker / "plots", f"{blocker} is a file, not a folder")
    _translate_refused(capsys, model, src, blocker / "plots" / "deeper", f"{blocker} is a file, not a folder")
    folder = tmp_path / "plots"
    (folder / "attention_1.png").mkdir(parents=True)  # used to fail after the whole file was translated
    _translate_refused(capsys, model, src, folder, f"{folder / 'attention_1.png'} is a folder")


# F11: a full disk under a plot names the plot --------------------------------------------------------------------

@pytest.fixture
def full_disk_plots(monkeypatch):
    """Every figure's write fails half-way with ENOSPC, as on a full disk."""
    figure = pytest.importorskip("matplotlib.figure")

    def savefig(self, f, **kwargs):
        f.write(b"\x89PNG\r\n\x1a\n partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(figure.Figure, "savefig", savefig)


def _names_the_full_file(code: int, err: str, path: Path) -> None:
    assert error_line(code, err) == (f"rnnkit: error: no space left on the device of {path}; free some space or "
                                     "choose another disk")
    assert not path.exists() and [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_full_disk_under_curves_and_gradflow_plots_names_the_plot(full_disk_plots, tmp_path, capsys):
    log = tmp_path / "run" / "metrics.jsonl"
    log.parent.mkdir()
    log.write_text('{"type": "train", "epoch": 1, "step": 5, "loss": 1.0, "lr": 0.1}\n'
                   '{"type": "epoch", "epoch": 1, "step": 10, "train_loss": 1.0, "valid_loss": 0.9, "best": true}\n',
                   encoding="utf-8")
    out_png = tmp_path / "curves.png"
    code, _, err = run_cli(capsys, ["curves", str(log.parent), "-o", str(out_png)])
    _names_the_full_file(code, err, out_png)
    flow = tmp_path / "flow.png"
    code, _, err = run_cli(capsys, ["gradflow", "--cell", "rnn", "--steps", "5", "--plot", str(flow)])
    _names_the_full_file(code, err, flow)


def test_a_full_disk_under_an_attention_plot_names_the_plot(attention_model, full_disk_plots, tmp_path, capsys):
    model, src = attention_model
    code, out, err = run_cli(capsys, ["translate", model, src, "--plot-attention", "1", "--plot-dir", str(tmp_path)])
    assert code == 2 and len(out.splitlines()) == 2  # the translations were written before the plot
    warnings = [line for line in err.splitlines(keepends=True) if line.startswith("rnnkit: warning:")]
    assert len(warnings) <= 1, err  # the toy model's translations may be cut at the length limit
    _names_the_full_file(code, err[len("".join(warnings)):], tmp_path / "attention_1.png")


@needs_dev_full
def test_write_errors_carry_the_file_name(tmp_path):
    """Into a device (written into, not replaced), and failing in the replacing step; not an error
    about another file the writer reads."""
    with pytest.raises(OSError) as caught:
        write_atomically(FULL, lambda f: f.write(b"x" * 100_000))
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == FULL
    target = tmp_path / "out.txt"
    target.mkdir()
    (target / "inside").write_text("keeps the folder from being replaced", encoding="utf-8")
    with pytest.raises(OSError) as caught:
        write_atomically(target, lambda f: f.write(b"x"))
    assert caught.value.filename == str(target) and ".tmp" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left

    def reads_a_font(f):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/fonts/missing.ttf")

    with pytest.raises(OSError) as caught:  # an error about another file keeps its name
        write_atomically(tmp_path / "plot.png", reads_a_font)
    assert caught.value.filename == "/fonts/missing.ttf"


# F12: temporaries of killed writes ------------------------------------------------------------------------------

def _dead_pid() -> int:
    """The PID of a process that has ended (and been waited for)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.skipif(os.name != "posix", reason="whether a process runs is asked with os.kill(pid, 0)")
def test_a_write_removes_the_temporaries_of_dead_writers_and_keeps_live_ones(tmp_path):
    out = tmp_path / "out.png"
    from rnnkit.atomic import HOST_TAG

    dead, hexes = _dead_pid(), HOST_TAG + "ef123456"
    other_host = format((int(HOST_TAG, 16) + 1) % 0x10000, "04x")
    dead_tmp = tmp_path / f".out.png.{dead}.{hexes}.tmp"
    kept = [tmp_path / f".out.png.{os.getpid()}.{hexes}.tmp",  # this process: another thread may be writing
            tmp_path / f".out.png.{os.getppid()}.{hexes}.tmp",  # a running process
            tmp_path / f".other.png.{dead}.{hexes}.tmp",  # another file's
            tmp_path / f".out.png.x.{dead}.{hexes}.tmp",  # not a temporary of out.png
            tmp_path / f".out.png.{dead}.tmp",
            tmp_path / f".out.png.{dead}.{other_host}ef123456.tmp"]  # another host's, in a shared folder
    for p in [dead_tmp, *kept]:
        p.write_bytes(b"partial")
    write_atomically(out, lambda f: f.write(b"whole"))
    assert out.read_bytes() == b"whole" and not dead_tmp.exists()
    assert all(p.exists() for p in kept), [p.name for p in kept if not p.exists()]
    assert remove_stale_temporaries(out) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_the_temporary_of_a_write_killed_half_way_is_removed_by_the_next_write(tmp_path):
    out = tmp_path / "out.png"
    code = textwrap.dedent(f"""
        import sys, time
        from rnnkit.atomic import write_atomically

        def write(f):
            f.write(b"partial")
            f.flush()
            print("writing", flush=True)
            time.sleep(120)

        write_atomically({str(out)!r}, write)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n"
    finally:
        proc.kill()  # SIGKILL: no cleanup runs
        proc.wait(timeout=60)
        proc.stdout.close()
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(f".out.png.{proc.pid}.") and left.name.endswith(".tmp")
    write_atomically(out, lambda f: f.write(b"whole"))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"] and out.read_bytes() == b"whole"


# F15: a failed write to standard output is an error --------------------------------------------------------------

@needs_dev_full
@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["gradflow", "--help"],
                                  ["gradflow", "--cell", "rnn", "--steps", "5"]])
def test_standard_output_into_a_full_disk_fails_with_one_line(argv):
    with open(FULL, "w") as full:
        proc = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert error_line(proc.returncode, proc.stderr) == ("rnnkit: error: no space left on device (writing to standard "
                                                        "output or another stream); free some space or choose another "
                                                        "disk")


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_into_a_closed_pipe_still_ends_quietly(argv):
    """`rnnkit --help | head -1`, head gone before the help is written: quiet and 0, as before."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == b"", err.decode()


def test_importing_rnnkit_and_the_entry_module_does_not_load_numpy():
    """The package's names load on first use: the console script's try begins before numpy loads."""
    import subprocess
    import sys

    code = ("import sys, rnnkit, rnnkit.cli.entry; assert 'numpy' not in sys.modules, 'numpy loaded'; "
            "from rnnkit import LSTM, load_checkpoint; assert 'numpy' in sys.modules; print(LSTM.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "LSTM", done.stderr


def test_sigterm_ends_a_training_run_with_one_line_and_143_and_it_resumes(tmp_path):
    """kill, timeout, batch schedulers and docker stop send SIGTERM: it ended the process with no word
    and left a checkpoint write's temporary behind; now it unwinds as Ctrl-C does."""
    import signal
    import subprocess
    import sys
    import time

    words = "the cat sat on a mat and the dog ran to the big red house".split()
    text = "".join(" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) + "\n" for i in range(3000))
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    run = tmp_path / "run"
    args = [sys.executable, "-c", "import sys; from rnnkit.cli.entry import main; sys.exit(main())", "train", "lm",
            "--train", str(tmp_path / "t.txt"), "--level", "word", "--hidden", "64", "--batch-size", "4",
            "--bptt", "10", "--epochs", "50", "--checkpoint-steps", "5", "--progress", "none", "--run-dir", str(run)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "last.safetensors").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.strip().splitlines()[-1] == "rnnkit: terminated", err
    assert "Traceback" not in err and not list(run.glob(".*.tmp")), (err, list(run.iterdir()))
    resumed = subprocess.run([*args[:-2], "--epochs", "1", "--run-dir", str(run), "--resume", "--max-steps", "1"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0 and "nothing to train" in resumed.stderr, resumed.stderr
