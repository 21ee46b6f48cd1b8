"""The one-line summaries of `rnnkit --help` and `rnnkit demo --help`, and the option helps that list commands,
name what the commands now do (info's files and version, demo pointer's hull task, the one-thread demos)."""
from __future__ import annotations

import inspect
import re
import sys
from clirun import run_cli
from docs_text import reference_text

from rnnkit.cli.given import command_parsers
from rnnkit.cli.main import build_parser


def _help(capsys, argv: list[str]) -> str:
    code, out, _ = run_cli(capsys, argv)
    assert code == 0
    return " ".join(out.split())  # lines joined: a phrase may be wrapped


def _one_thread_demos() -> dict[str, bool]:
    """Every demo, and whether its command module runs it on one BLAS thread (seq2seq_score.blas_threads)."""
    demos = {}
    for words, parser in command_parsers(build_parser()):
        if len(words) == 2 and words[0] == "demo":
            source = inspect.getsource(sys.modules[parser.get_default("func").__module__])
            demos[words[1]] = "blas_threads(" in source
    assert len(demos) >= 7 and any(demos.values()) and not all(demos.values()), demos
    return demos


def test_threads_help_and_the_readme_name_every_demo_that_runs_on_one_thread(capsys):
    """demo pointer runs on one BLAS thread unless --threads says otherwise, as demo copy does; --threads' help
    and the README's paragraph on thread counts left it out (and the README demo adding and demo copy too)."""
    threads = re.search(r"--threads THREADS (BLAS threads .*?busy)", _help(capsys, ["--help"])).group(1)
    readme = " ".join(reference_text().split())  # the paragraph is in docs/training.md
    said = re.search(r"\(one for the translation commands: (.*?)\), so a machine", readme).group(1)
    for demo, one_thread in _one_thread_demos().items():
        assert (f"demo {demo}" in threads) == one_thread, (demo, threads)
        assert (f"`demo {demo}`" in said) == one_thread, (demo, said)


def test_info_summary_names_the_files_it_reads_and_what_it_shows(capsys):
    """The line was cut at 'training' and spoke of models and checkpoints only: info reads --torch files, ONNX
    graphs and ARPA files too, and shows the training progress, the checksums and the writing rnnkit's version."""
    top = _help(capsys, ["--help"])
    summary = re.search(r" info (.*?) tag ", top).group(1)
    for said in ("checkpoint", "export", "--torch", "ONNX", "ARPA", "training progress", "checksums", "version"):
        assert said in summary, (said, summary)
    own = _help(capsys, ["info", "--help"])
    assert "the rnnkit version that wrote the file" in own
    assert "an ARPA file (rnnkit's, KenLM's, SRILM's; .gz, .xz or .bz2 too)" in own  # each read, as score reads it


def test_demo_pointer_summary_names_its_hull_task(capsys):
    summary = re.search(r" pointer (.*?) reverse ", _help(capsys, ["demo", "--help"])).group(1)
    assert "sort 5-10 numbers" in summary and "--task hull" in summary and "convex hulls" in summary, summary


def test_evaluate_progress_help_names_a_translators_second_display(capsys):
    """evaluate of a translator shows a second display for its teacher-forced loss pass over the references."""
    progress = re.search(r"--progress \{auto,bar,lines,none\} (progress on .*?\(default: auto\))",
                         _help(capsys, ["evaluate", "--help"])).group(1)
    assert "with a translator one for its loss pass over the references" in progress, progress
