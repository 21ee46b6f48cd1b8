"""Helpers shared by the language-model benchmarks (bench_ptb.py, bench_ptb_torch.py, bench_shakespeare.py).

They run ``rnnkit`` in a child process the way a user would (``python -m rnnkit.cli.main ...``), log
its output with timestamps, parse the progress lines and ``metrics.jsonl``, and write a run's record
into one ``### subsection`` of the benchmark's ``## section`` of RESULTS.md, leaving every other
section (owned by other benchmarks) byte for byte as it was.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
RESULTS = BENCH_DIR / "RESULTS.md"
RUNS = Path("/tmp/rnnkit-bench")  # checkpoints and logs: outside the repository

# Tuning variables some build machines export; a user's machine does not set them, so the child
# process must not inherit them or its speed would not be the speed a user sees.
DROPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# "epoch 3 |  45.2% | 11,590 tok/s | loss ..." from rnnkit's plain progress lines
PROGRESS_RE = re.compile(r"^epoch (\d+) \|\s*([\d.]+)% \| ([\d,]+) (\w+)/s")


def user_env(blas_threads: int | None = None) -> dict[str, str]:
    """The environment for a child run: ours minus DROPPED_ENV; thread caps only when asked."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    if blas_threads is not None:
        for k in THREAD_ENV:
            env[k] = str(blas_threads)
    return env


def utc_date() -> str:
    """``date -u``, as a person would read it."""
    return subprocess.run(["date", "-u"], capture_output=True, text=True, check=True).stdout.strip()


def machine_load() -> str:
    """The load-average part of ``uptime`` (1, 5 and 15 minutes)."""
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    return out[out.index("load average") :] if "load average" in out else out


def shell_join(cmd: list[str]) -> str:
    return " ".join(shlex.quote(str(c)) for c in cmd)


def this_command() -> str:
    """The command that started this benchmark, as run from the repository root.

    ``nice`` is prefixed only when the process really runs at a lowered priority.
    """
    script = f"benchmarks/{Path(sys.argv[0]).name}"
    prefix = "nice python" if os.nice(0) > 0 else "python"
    return f"{prefix} {shell_join([script, *sys.argv[1:]])}"


def rnnkit_cmd(*args: str) -> list[str]:
    """The ``rnnkit`` command run with this Python (the entry point module, no PATH lookup)."""
    return [sys.executable, "-m", "rnnkit.cli.main", *args]


def mpi_cmd(cmd: list[str], processes: int) -> list[str]:
    """``cmd`` run as ``processes`` processes by the MPI launcher beside this Python (MPICH's wheel puts
    ``mpiexec`` there), or the one on PATH; ``cmd`` itself for one process."""
    if processes == 1:
        return cmd
    beside = Path(sys.executable).with_name("mpiexec")
    launcher = str(beside) if beside.exists() else shutil.which("mpiexec")
    if launcher is None:
        raise SystemExit("--processes needs an MPI launcher: pip install mpi4py mpich")
    return [launcher, "-n", str(processes), *cmd]


def shown_cmd(cmd: list[str]) -> str:
    """The command as a user types it: ``rnnkit ...`` instead of ``python -m rnnkit.cli.main ...``."""
    if len(cmd) > 3 and Path(cmd[0]).name == "mpiexec":
        return f"mpiexec -n {cmd[2]} {shown_cmd(cmd[3:])}"
    if cmd[:3] == [sys.executable, "-m", "rnnkit.cli.main"]:
        return shell_join(["rnnkit", *cmd[3:]])
    if cmd and cmd[0] == sys.executable:
        return shell_join(["python", *cmd[1:]])
    return shell_join(cmd)


def run_logged(cmd: list[str], log_path: Path, env: dict[str, str] | None = None,
               on_line: Callable[[str, float], None] | None = None) -> tuple[int, float]:
    """Run cmd, echoing stdout+stderr and appending it to log_path with elapsed seconds.

    ``on_line(line, elapsed)`` sees every line as it arrives.  Returns (exit code, wall seconds).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"# {utc_date()} | {machine_load()}\n# {shell_join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            elapsed = time.perf_counter() - t0
            line = line.rstrip("\n")
            log.write(f"[{elapsed:8.1f}s] {line}\n")
            log.flush()
            print(line, flush=True)
            if on_line is not None:
                on_line(line, elapsed)
        rc = proc.wait()
    return rc, time.perf_counter() - t0


class ProgressRates:
    """Keeps the last training rate rnnkit printed for each epoch (units/s since the epoch began)."""

    def __init__(self) -> None:
        self.rate: dict[int, float] = {}
        self.epoch_done_at: dict[int, float] = {}

    def __call__(self, line: str, elapsed: float) -> None:
        m = PROGRESS_RE.match(line)
        if m:
            self.rate[int(m.group(1))] = float(m.group(3).replace(",", ""))
        m = re.match(r"^epoch (\d+) done", line)
        if m:
            self.epoch_done_at[int(m.group(1))] = elapsed

    def last_rate(self) -> float:
        return self.rate[max(self.rate)] if self.rate else float("nan")


def read_epochs(run_dir: Path) -> list[dict]:
    """The per-epoch records of a run's metrics.jsonl."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("type") == "epoch"]


def evaluate_json(model: Path, data: Path, log_path: Path, env: dict[str, str], *extra: str
                  ) -> tuple[dict, str, float]:
    """``rnnkit evaluate MODEL DATA --json [extra ...]`` (by default one stream: every token predicted);
    (metrics, command, seconds)."""
    cmd = rnnkit_cmd("evaluate", str(model), str(data), "--json", *extra)
    lines: list[str] = []
    rc, wall = run_logged(cmd, log_path, env, lambda line, _: lines.append(line))
    if rc != 0:
        raise RuntimeError(f"{shown_cmd(cmd)} failed with exit code {rc}; see {log_path}")
    found = [line for line in lines if line.startswith("{")]
    if not found:
        raise RuntimeError(f"{shown_cmd(cmd)} printed no JSON; see {log_path}")
    return json.loads(found[-1]), shown_cmd(cmd), wall


def train_logged(cmd: list[str], log: Path, env: dict[str, str], rates: "ProgressRates", run_dir: Path
                 ) -> tuple[float, Path]:
    """Run a training command (see :func:`run_logged`); returns its wall time and the checkpoint to
    evaluate: best.safetensors, or last.safetensors when the run had no validation data."""
    rc, wall = run_logged(cmd, log, env, rates)
    if rc != 0:
        raise SystemExit(f"training failed (exit code {rc}); see {log}")
    model = run_dir / "best.safetensors"
    return wall, model if model.exists() else run_dir / "last.safetensors"


class Tee(io.TextIOBase):
    """Write to a stream (the real stdout) and keep a copy, so a benchmark can read its run's output back."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, s: str) -> int:
        self.stream.write(s)
        self.stream.flush()
        return self.copy.write(s)


def run_cli_one_thread(cmd: list[str]) -> tuple[int, str, str, str, float]:
    """Run ``rnnkit CMD`` in this process on one BLAS thread, echoing its stdout.

    Returns (exit code, the stdout it printed, the UTC date and machine load at the start, wall seconds).
    """
    import contextlib

    from threadpoolctl import threadpool_limits

    from rnnkit.cli.main import main as rnnkit_main

    print(f"$ rnnkit {shlex.join(cmd)}", flush=True)
    tee = Tee(sys.stdout)
    date, load0 = utc_date(), machine_load()
    t0 = time.perf_counter()
    with threadpool_limits(1), contextlib.redirect_stdout(tee):
        code = rnnkit_main(cmd)
    return code, tee.copy.getvalue(), date, load0, time.perf_counter() - t0


def fmt_time(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


NOTES = "<!-- notes: kept when a benchmark rewrites this subsection -->"


def write_subsection(section: str, intro: str, subsection: str, body: str, path: Path = RESULTS) -> None:
    """Put ``### subsection`` with body into ``## section`` of path (created at the end if absent).

    A subsection of the same title is replaced, except for the notes written by hand after a ``NOTES``
    line in it (a rerun had dropped a run's history with the table it explained), which follow the new
    body; other subsections, and every other ``## `` section, are kept exactly.  The file is re-read
    just before writing, as other benchmarks write to it too.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines()
    head = f"## {section}"
    if head not in lines:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [head, "", *intro.strip().splitlines(), ""]
    start = lines.index(head)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    block = lines[start:end]
    sub = f"### {subsection}"
    new = [sub, "", *body.strip().splitlines(), ""]
    if sub in block:
        s = block.index(sub)
        e = next((i for i in range(s + 1, len(block)) if block[i].startswith("### ")), len(block))
        notes = block[s:e][block[s:e].index(NOTES):] if NOTES in block[s:e] else []
        if notes and notes[-1].strip():
            notes.append("")
        block[s:e] = new + notes
    else:
        while block and not block[-1].strip():
            block.pop()
        block += ["", *new]
    rest = lines[end:]
    if rest and block[-1].strip():
        block.append("")
    lines[start:end] = block
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, path)
