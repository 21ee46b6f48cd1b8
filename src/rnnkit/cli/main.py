"""Entry point of the ``rnnkit`` command.

Each subcommand lives in its own module of this package and exposes ``register(groups)``, where
``groups`` is a :class:`CommandGroups` holding the top-level subparsers and the ``train`` and
``demo`` groups.  A module sets its parser's ``func`` to a function ``(args) -> int``.  Every
user-facing error becomes one line on stderr and exit code 2 (1 for a diverged run).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import signal
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit._version import __version__
from rnnkit.cli import processes
from rnnkit.cli.argfiles import expand_arg_files
from rnnkit.cli.common import WholeWordsFormatter, positive_int
from rnnkit.cli.given import (closest, empty_argument, given_options, held_out_is_training, required_hint,
                               unrecognized)
from rnnkit.errors import (RnnkitError, Terminated, TrainingDivergedError, describe_encode_error, describe_os_error,
                           raise_terminated)

# Subcommand modules, in the order their commands appear in --help.
COMMAND_MODULES: list[str] = [
    "rnnkit.cli.charlm_demo",
    "rnnkit.cli.lm",
    "rnnkit.cli.evaluate",
    "rnnkit.cli.score",
    "rnnkit.cli.ngram",
    "rnnkit.cli.demo",
    "rnnkit.cli.demo_tagging",
    "rnnkit.cli.longrange_demo",
    "rnnkit.cli.pointer_demo",
    "rnnkit.cli.ctc_demo",
    "rnnkit.cli.gradflow",
    "rnnkit.cli.states",
    "rnnkit.cli.gradcheck",
    "rnnkit.cli.step",
    "rnnkit.cli.curves",
    "rnnkit.cli.export",
    "rnnkit.cli.info",
    "rnnkit.cli.tagging",
    "rnnkit.cli.tag",
    "rnnkit.cli.classify",
    "rnnkit.cli.seq2seq",
    "rnnkit.cli.translate",
    "rnnkit.cli.trees",
]


@dataclass
class CommandGroups:
    """The places a subcommand module can add parsers to."""

    commands: argparse._SubParsersAction
    train: argparse._SubParsersAction
    demo: argparse._SubParsersAction
    demo_parser: argparse.ArgumentParser  # ``rnnkit demo`` itself: its default runs the main demo


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (no usage dump)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", WholeWordsFormatter)
        super().__init__(*args, **kwargs)

    def _parse_known_args(self, arg_strings: list[str], *rest: Any, **kwargs: Any) -> Any:
        self._arg_strings = list(arg_strings)  # this command's own: error() looks in them for a misspelling
        return super()._parse_known_args(arg_strings, *rest, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        if processes.launcher_rank():  # under mpiexec every process meets the same bad option: process 0 says it
            self.exit(2)
        message = required_hint(self, message, getattr(self, "_arg_strings", ()))
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _check_value(self, action: argparse.Action, value: object) -> None:
        """argparse's check of a choice, with the nearest choice suggested: ``rnnkit trian`` -> did you mean 'train'?"""
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            choices = [str(c) for c in action.choices or ()]
            near = closest(value, choices) if isinstance(value, str) and choices else None
            if near is None:
                raise
            raise argparse.ArgumentError(action, f"{exc.message}; did you mean '{near}'?") from None

    def _print_message(self, message: str, file=None) -> None:
        """argparse ignores a failed write, so ``rnnkit --help > /dev/full`` exited 0 with nothing written:
        a failed write to standard output (--help, --version) is raised, for :func:`main` to say, and
        flushed at once, so it fails here and not unseen at exit.  A reader that has gone (``rnnkit --help |
        head -1``) ends quietly, as argparse had it; a failed write to stderr is ignored, as argparse does."""
        if not message:
            return
        out = sys.stdout
        if file is None or file is not out or out is None:
            super()._print_message(message, file)
            return
        try:
            out.write(message)
            out.flush()
        except BrokenPipeError:
            _silence_stdout()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnnkit",
        description="Recurrent neural networks in numpy: train, evaluate and inspect RNN, LSTM and GRU models.",
        epilog="Arguments can come from a file: 'rnnkit @run.args' or 'rnnkit train lm @common.args --epochs 3' "
               "put the file's arguments in place of @FILE (UTF-8; each line split as a shell splits it, so "
               "'--epochs 3' and quoted paths work; # starts a comment; relative paths are relative to the "
               "current folder).",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="BLAS threads for numpy's matrix products, and the threads of rnnkit's own large "
                             "elementwise work (default: the BLAS default, all cores; one for train seq2seq, "
                             "translate, evaluate of a translator, demo reverse, demo tagging, demo segment, "
                             "demo adding, demo copy, demo pointer and demo ctc); "
                             "1 is often faster for small models or when other programs keep the cores busy")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    train = commands.add_parser("train", help="train a model (see 'rnnkit train --help')")
    train_groups = train.add_subparsers(title="models", metavar="MODEL", parser_class=_Parser)
    train.set_defaults(func=lambda args: _missing(train))
    demo = commands.add_parser("demo", help="run a built-in demonstration (see 'rnnkit demo --help')")
    demo_groups = demo.add_subparsers(title="demos", metavar="DEMO", parser_class=_Parser)
    groups = CommandGroups(commands=commands, train=train_groups, demo=demo_groups, demo_parser=demo)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(groups)
    return parser


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


@contextlib.contextmanager
def _early_lock(func, args: argparse.Namespace):
    """A training command takes its run folder's lock before it reads any data, so a second run into a
    folder in use stops at once (the training loop takes it again, re-entrantly).  A folder that does
    not exist yet is created here, so two runs started together into a new folder cannot both read
    their data; if the command ends (it failed, most likely) with nothing in it but the lock, the folder is
    removed again, so a mistyped data file does not leave an empty run folder behind.  With several
    processes (mpiexec) the folder is process 0's, which tells the others whether it could take it."""
    run_dir = getattr(args, "run_dir", None)
    if not run_dir or not getattr(func, "__name__", "").startswith("train"):
        yield
        return
    group = processes.group()
    with contextlib.ExitStack() as stack:
        problem = None
        if group.rank == 0:
            try:
                _claim_run_folder(stack, args)
            except (RnnkitError, ValueError, OSError) as exc:
                problem = exc
        if group.size > 1:
            problem = group.broadcast(problem)  # so that every process stops here, together
        if problem is not None:
            raise problem
        yield


def _claim_run_folder(stack: contextlib.ExitStack, args: argparse.Namespace) -> None:
    """Check a --resume has something to resume, make the run folder (to be removed on ``stack``'s
    exit if nothing but the lock is in it) and take its lock (until ``stack``'s exit)."""
    from rnnkit.train.run_lock import LOCK, make_run_folder, run_lock

    run_dir = args.run_dir
    folder = Path(run_dir).absolute()
    if getattr(args, "resume", False):  # said before the data are read (a big corpus takes a while)
        if not folder.is_dir():
            raise ValueError(f"{run_dir}: no run to resume (no such folder); check --run-dir, or start the run "
                             "without --resume")
        from rnnkit.cli.classify_folds import cross_validation_or_not

        cross_validation_or_not(folder, run_dir, args)
        if not (folder / "last.safetensors").exists() and not any(folder.glob("fold*/last.safetensors")):
            from rnnkit.train.earlier_run import resume_hint

            last = Path(run_dir) / "last.safetensors"
            why = resume_hint(last) or " (the run stopped before its first, or it is another folder)"
            if getattr(args, "folds", 0):  # a cross-validation's checkpoints are its folds'
                last = Path(run_dir) / "fold*" / "last.safetensors"
                why = " (the cross-validation stopped before its first fold's first, or it is another folder)"
            raise ValueError(f"{last}: no checkpoint to resume from{why}; start the run without --resume")
    created = make_run_folder(run_dir)  # the folders made here, innermost first

    def remove_if_unused() -> None:
        with contextlib.suppress(OSError):
            if [p.name for p in folder.iterdir()] in ([], [LOCK]):
                (folder / LOCK).unlink(missing_ok=True)
                for made in created:
                    made.rmdir()  # OSError when not empty: something else was written there

    if created:
        stack.callback(remove_if_unused)  # after the lock's release, which comes first
    stack.enter_context(run_lock(Path(run_dir)))  # named as given in its message; keyed by the resolved path


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning on the command line: one line, without Python's file name and source line;
    numpy's overflow warnings with their cause (:func:`rnnkit.cli.text_warnings.numeric_warning`)."""
    from rnnkit.cli.text_warnings import numeric_warning, warn

    text = str(message)
    warn(numeric_warning(text) if issubclass(category, RuntimeWarning) else text)


def _run(func, args: argparse.Namespace) -> int:
    from rnnkit.cli.pipes import outlasting_readers
    from rnnkit.cli.run_folders import read_run_folders

    # outlasting_readers: a training run goes on when the reader of its output has gone (| head)
    with warnings.catch_warnings(), _early_lock(func, args), outlasting_readers(func):  # warnings restored after
        warnings.showwarning = _one_line_warning
        read_run_folders(func, args)  # a run folder given for a model: its best, else last, checkpoint
        code = int(func(args) or 0)
    sys.stdout.flush()  # a closed pipe shows here, inside main, not as a message at interpreter exit
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no real file behind stdout
        pass


def main(argv: list[str] | None = None) -> int:
    """Run ``rnnkit argv``; the exit code.  An interrupt (Ctrl-C) at any moment, building the parser
    included, is one line and 130; a failed write of --help or --version to standard output one line and 2."""
    global said
    said = None
    previous = _on_sigterm()
    on_int = signal.getsignal(signal.SIGINT)
    try:
        code = _main(argv)
    except KeyboardInterrupt as exc:
        code = _ended_by(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(ValueError, OSError, TypeError):  # not the main thread; a handler set in C
            signal.signal(signal.SIGINT, on_int)
    processes.leave(code)  # one of several processes failed: end the others, which may be waiting for it
    return code


def _on_sigterm():
    """Make SIGTERM raise :class:`~rnnkit.errors.Terminated` (in the main thread); the handler it replaced."""
    try:
        return signal.signal(signal.SIGTERM, raise_terminated)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        return None


def _ended_by(exc: BaseException) -> int:
    """Say the interrupt and give its exit code, deaf from now on to another SIGINT or SIGTERM (until
    :func:`main` puts the handlers it found back): a second SIGTERM right after the first one's
    checkpoint made the run say "interrupted" too and exit 130."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError, AttributeError):  # not the main thread
            signal.signal(sig, signal.SIG_IGN)
    global said
    said = _interrupted(exc)
    return said


said: int | None = None  # the exit code of an interrupt main() has already reported (see rnnkit.cli.entry)


def _interrupted(exc: BaseException) -> int:
    if isinstance(exc, Terminated):
        print("rnnkit: terminated", file=sys.stderr)
        return 143
    print("rnnkit: interrupted", file=sys.stderr)
    return 130


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``rnnkit argv`` parsed with ``parser`` (:func:`build_parser`'s) as :func:`main` parses it once its @FILE
    arguments are read, and nothing run: a usage error (an unknown command or option, a choice or value out of
    range) is one line on stderr and ``SystemExit(2)``; ``--help`` and ``--version`` print and raise
    ``SystemExit(0)``.  ``argv`` None: ``sys.argv[1:]``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = parser.parse_known_args(argv)
    if extras:
        # argparse fills an optional positional (tag/segment/classify/translate's input file) in the same
        # pass as the one before it, so `rnnkit tag MODEL --format columns FILE` left FILE unmatched
        if not extras[0].startswith("-") and getattr(args, "input", False) is None:
            args.input = extras.pop(0)
        if extras and any(e == "--threads" or e.startswith("--threads=") for e in extras):
            parser.error("--threads goes before the command, as an option of rnnkit itself: "
                         "rnnkit --threads N COMMAND ...")
        if extras:
            parser.error(unrecognized(parser, argv, extras))
    args._given = given_options(parser, argv)  # the options written, for refusing those with no effect
    empty = empty_argument(parser, args)
    if empty:  # --valid "$UNSET": it read as no --valid at all, or as the folder "."
        parser.error(f"argument {empty}: expected a value, got an empty string (an unset shell variable?)")
    return args


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:  # @FILE arguments read first, so every command and the check of the options given see them
        argv = expand_arg_files(sys.argv[1:] if argv is None else argv)
    except RnnkitError as exc:  # a missing, unreadable or malformed argument file
        parser.error(str(exc))
    try:
        args = parse_command_line(parser, argv)
    except OSError as exc:  # --help or --version into a full disk (see _Parser._print_message)
        _silence_stdout()  # what could not be written would fail again at exit
        print(f"rnnkit: error: {_error_line(exc)}", file=sys.stderr)
        return 2
    if not processes.launcher_rank():  # under mpiexec, process 0 says it
        from rnnkit.cli.text_warnings import warn

        for line in held_out_is_training(args):
            warn(line)
    if getattr(args, "input", None) == "-":  # the usual name for standard input (tag, segment, classify, ...)
        args.input = None
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        processes.enter(func)  # started by mpiexec: join the other processes, or refuse
        threads = args.threads if args.threads is not None else processes.blas_threads()
        if threads is not None:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=threads, user_api="blas"):
                return _run(func, args)
        return _run(func, args)
    except BrokenPipeError:  # the reader of our output has gone (`rnnkit tag ... | head`): stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for `yes | head`
    except TrainingDivergedError as exc:
        processes.say_error(str(exc))
        return 1
    except (RnnkitError, ValueError, TypeError, OSError, ImportError) as exc:  # ImportError: an optional extra
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        processes.say_error(_error_line(exc))
        return 2
    except MemoryError as exc:  # numpy's names the array: "Unable to allocate 284. PiB for an array ..."
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        sizes = [flag for dest, flag in (("hidden", "--hidden"), ("embed", "--embed"), ("batch_size", "--batch-size"),
                                         ("batch", "--batch"), ("steps", "--steps"), ("max_vocab", "--max-vocab"))
                 if getattr(args, dest, None) is not None]  # the size options this command has
        processes.say_error(f"out of memory ({exc or 'an allocation failed'}); choose smaller sizes"
                            + (f" ({', '.join(sizes)})" if sizes else ""))
        return 2


def _error_line(exc: Exception) -> str:
    """The one line (after "rnnkit: error: ") for a user's error."""
    if isinstance(exc, UnicodeEncodeError):
        # files written with --encoding (tag/segment --output) say their own error; what gets here is
        # standard output, and --encoding, where a command has it, is the encoding of its input
        return describe_encode_error(exc, file_option=False)
    if isinstance(exc, OSError) and str(exc).startswith("[Errno"):  # raw: "[Errno 21] Is a directory: 'x'"
        return describe_os_error(exc)
    from rnnkit.data.encodings import option_first

    return option_first(str(exc))  # the library's "encoding='x' (--encoding x)" read option first


if __name__ == "__main__":
    sys.exit(main())
