"""Running the command line inside a test: exit code and captured output, usage errors included."""
from __future__ import annotations

from rnnkit.cli.main import main


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``rnnkit argv``; argparse's usage errors (a value out of an
    option's range) end in SystemExit and give its code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
