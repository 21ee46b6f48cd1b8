"""The ``rnnkit`` console script's entry point ([project.scripts] in pyproject.toml).

It imports nothing but ``sys``, ``signal`` and rnnkit's error classes before its ``try``: importing
:mod:`rnnkit.cli.main` (numpy, every command's module) takes a noticeable part of a second, and a Ctrl-C
in it showed a Python traceback, as it came before :func:`rnnkit.cli.main.main` handles interrupts.  Here an interrupt at any moment of the
command gives one line and exit 130 (a SIGTERM: 143), as during the work, and a second one while the run
ends changes nothing.

(The ``rnnkit`` package's own ``__init__`` runs before this module; it imports only the version and the
error classes, the rest on first use.  Only Python's own start-up, before any rnnkit code, remains.)
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import signal

    from rnnkit.errors import Terminated, raise_terminated  # imported by rnnkit's __init__ already: free

    found = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    found = {sig: handler for sig, handler in found.items() if handler is not None}  # None: set outside Python
    try:  # SIGTERM raises here too, before and after rnnkit.cli.main's own handler, so the except below takes it
        signal.signal(signal.SIGTERM, raise_terminated)
    except (ValueError, OSError):  # not the main thread
        found = {}
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
    except KeyboardInterrupt as exc:  # before rnnkit.cli.main could take it, or a second one as it ended
        code = getattr(sys.modules.get("rnnkit.cli.main"), "said", None)
        if code is None:  # nothing said yet: it came before rnnkit.cli.main could take it (else: a late second one)
            code = 143 if isinstance(exc, Terminated) else 130
            print(f"rnnkit: {'terminated' if code == 143 else 'interrupted'}", file=sys.stderr)
    interrupted = code in (130, 143)  # an interrupt's codes, said here or by rnnkit.cli.main
    for sig, handler in found.items():
        # the console script (argv None) ends after an interrupt deaf to a late second one, which killed the
        # exiting interpreter (status -15); a caller in the same process gets its handlers back
        signal.signal(sig, signal.SIG_IGN if interrupted and argv is None else handler)
    return code
