"""The ``rnnkit`` console script's entry point ([project.scripts] in pyproject.toml).

It imports nothing but ``sys`` before its ``try``: importing :mod:`rnnkit.cli.main` (numpy, every
command's module) takes a noticeable part of a second, and a Ctrl-C in it showed a Python traceback, as
it came before :func:`rnnkit.cli.main.main` handles interrupts.  Here an interrupt at any moment of the
command gives one line and exit 130, as during the work.

(The ``rnnkit`` package's own ``__init__`` runs before this module; it imports only the version and the
error classes, the rest on first use.  Only Python's own start-up, before any rnnkit code, remains.)
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import signal

    mask = getattr(signal, "pthread_sigmask", None)  # POSIX
    try:
        if mask is not None:  # a Ctrl-C in numpy's import made it report a broken installation, or was lost
            mask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            from rnnkit.cli.main import main as run
        finally:
            if mask is not None:
                mask(signal.SIG_UNBLOCK, {signal.SIGINT})  # one that came meanwhile is raised here, in the try
        code = run(argv)
        if getattr(sys.modules.get("rnnkit.cli.main"), "said", None) is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):  # ending after an interrupt: a late second one changes
                signal.signal(sig, signal.SIG_IGN)       # nothing (it killed the exiting interpreter: status -15)
        return code
    except KeyboardInterrupt as exc:  # before rnnkit.cli.main could take it, or a second one as it ended
        from rnnkit.errors import Terminated

        reported = getattr(sys.modules.get("rnnkit.cli.main"), "said", None)
        if reported is not None:  # the first one was said: this one came in the last instants
            return reported
        if isinstance(exc, Terminated):
            print("rnnkit: terminated", file=sys.stderr)
            return 143
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
