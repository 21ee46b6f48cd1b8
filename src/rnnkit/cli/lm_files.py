"""The language model that ``evaluate``, ``score`` and ``generate`` read: a checkpoint (recurrent or n-gram),
which records its token level, or an ARPA file (``*.arpa``, ``.gz``/``.xz``/``.bz2``, or any file whose
first line is ``\\data\\``), read at ``--level`` (word unless told, or unless rnnkit wrote it of a character model)."""
from __future__ import annotations

import argparse

LEVEL_HELP = ("how to read MODEL when it is an ARPA file (KenLM's lmplz, SRILM's ngram-count, 'train ngram "
              "--arpa'): word (default): whitespace-separated words, </s> read as <eos>, each line a sentence; "
              "char: each token a character, a space written <space>, a newline </s>, other whitespace "
              "<U+XXXX>, and the text read character by character.  Default: char for a file 'train ngram --level "
              "char --arpa' wrote (it says so in a comment line), else word.  A checkpoint records its own level")


def add_level_option(p: argparse.ArgumentParser) -> None:
    """The command's --level for an ARPA model."""
    p.add_argument("--level", choices=("word", "char"), default=None, help=LEVEL_HELP)


def arpa_level(args: argparse.Namespace, *paths: str | None, warn: bool = True) -> str:
    """--level for the ARPA files among ``paths``; when not given, "char" if each of them says it is a
    character model (rnnkit writes that line), else "word"; a ValueError when it is given and none of them
    is an ARPA file (a checkpoint's level is its own).  ``warn=False``: a check made again later, whose
    warning (--level word on rnnkit's own character file) that later call gives."""
    from rnnkit.lm.arpa_read import declared_level, is_arpa

    if args.level is not None and not any(path is not None and is_arpa(path) for path in paths):
        given = [path for path in paths if path is not None]
        which = f"{given[0]} is not an ARPA file" if len(given) == 1 else f"neither {' nor '.join(given)} is one"
        raise ValueError(f"--level says how to read an ARPA file's tokens, and {which} (a checkpoint records its "
                         "own level); leave --level out")
    arpa = [path for path in paths if path is not None and is_arpa(path)]
    if args.level is not None:
        other = next((path for path in arpa if args.level == "word" and declared_level(path) == "char"), None)
        if other is not None and warn:
            from rnnkit.cli.text_warnings import warn as say

            say(f"{other} is a character model's ARPA file (rnnkit wrote it so: '# rnnkit: text=stream'), read at "
                 "--level word as asked: its tokens are single characters, and words will be <unk>; leave --level "
                 "out to read it at the character level")
        return args.level
    return "char" if arpa and all(declared_level(path) == "char" for path in arpa) else "word"
