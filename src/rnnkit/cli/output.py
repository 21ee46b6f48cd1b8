"""``--output`` of the commands that write one line (or sentence) per input: ``tag``, ``segment`` and
``classify``.  The file is checked before any work (a folder that cannot be made, the model or the
input named as the output), then written atomically, compressed when its name ends in ``.gz``, ``.xz``
or ``.bz2``; without ``--output`` (or with ``--output -``, standard output's usual name, as an input ``-``
is standard input) each block goes to standard output as soon as it is made."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from rnnkit.data.files import check_output_path
from rnnkit.errors import DataError, describe_encode_error, os_problem


def is_stdout(path: str | None) -> bool:
    """True for ``-``, standard output's usual name: an output option given it writes there, not to a file
    named ``-`` (``step --save-weights -``, ``tag --output -``)."""
    return path == "-"


def check_output(args: argparse.Namespace) -> None:
    """Refuse an --output that cannot be written before any work, or that is the model, the input
    (tagging a gold CoNLL-U file into itself would replace its gold tags with the predictions) or a
    user dictionary (``segment --dict``)."""
    if args.output and not is_stdout(args.output):
        check_output_path(args.output, "--output", make_folders=True,
                          inputs=[getattr(args, "model", None), getattr(args, "input", None),
                                  *(getattr(args, "user_dict", None) or ())])


def write_output(args: argparse.Namespace, blocks: Iterable[str]) -> None:
    """The output text, block by block: to --output (atomically, compressed by its name, in --encoding)
    or to stdout, each block written as soon as it is made."""
    if args.output and not is_stdout(args.output):
        from rnnkit.data.files import write_text_blocks

        try:
            write_text_blocks(args.output, blocks, args.encoding)  # .gz/.xz compressed by name, as inputs are read
        except UnicodeEncodeError as exc:
            raise DataError(f"--output {args.output}: {describe_encode_error(exc)}") from None
        except OSError as exc:
            raise OSError(f"--output {args.output}: cannot write ({os_problem(exc)}); choose another file") from None
    else:
        for block in blocks:
            sys.stdout.write(block)
            sys.stdout.flush()
