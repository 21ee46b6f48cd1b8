"""Ctrl-C (SIGINT) or SIGTERM during training: finish the step, save, stop.

Without this, an interrupt loses every step since the last checkpoint (``--checkpoint-minutes``,
5 by default).  With it, the first signal only asks the loop to stop after the step it is in; the loop
then writes its last checkpoint -- the same state a checkpoint every N steps holds, so ``--resume``
goes on exactly as an uninterrupted run would -- and :meth:`GracefulStop.stop` raises
KeyboardInterrupt (:class:`~rnnkit.errors.Terminated` for SIGTERM), which the command line reports as
``interrupted`` (exit code 130) or ``terminated`` (143), as before.  A second signal stops at once,
unsaved, as the first one used to.

Handlers are installed only in the main thread (Python runs signal handlers there) and only for a
single-process run: processes under MPI would all have to stop after the same step.  The handler
itself only records the signal and writes one line with ``os.write``, which, unlike ``print``, is safe
whatever the interrupted code was doing.
"""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any, Callable, NoReturn

from rnnkit.errors import Terminated

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """Context manager: while entered, the first SIGINT/SIGTERM sets :attr:`requested` instead of
    raising; the training loop checks it after every step."""

    def __init__(self, enabled: bool, say: Callable[[str], Any]) -> None:
        self.enabled = enabled
        self.say = say  # the loop's message line (progress-bar aware)
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Whether a first SIGINT or SIGTERM has asked the run to stop after the step under way."""
        return self.signum is not None

    def __enter__(self) -> GracefulStop:
        if self.enabled and threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                try:
                    if signal.getsignal(sig) is signal.SIG_IGN:  # a background job (cmd &): the shell's Ctrl-C is
                        continue  # meant for the script that started it, not for this run
                    self._previous[sig] = signal.signal(sig, self._handler)
                except (ValueError, OSError):  # a platform without it
                    pass
        return self

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # the second one: stop at once
            self._restore()
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        self.signum = signum
        try:
            os.write(2, b"\nrnnkit: stopping after this step to save a checkpoint (again to stop at once, "
                        b"unsaved)\n")
        except OSError:  # no standard error
            pass

    def stop(self, checkpoint: Path, step: int) -> NoReturn:
        """Say where the run was saved, then raise what the signal would have raised."""
        how = "terminated" if self.signum == signal.SIGTERM else "interrupted"  # SIGTERM was said "interrupted" too
        self.say(f"{how} after step {step}: saved {checkpoint}; run the same command with --resume (in Python, "
                 "fit(resume=True)) to go on")
        raise Terminated() if self.signum == signal.SIGTERM else KeyboardInterrupt()
