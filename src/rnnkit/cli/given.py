"""Which options the user wrote, as against those left at their defaults; and the refusal of an option
that would have no effect where it is given.

argparse does not record which options were given: ``--eval-batch-size 10`` and no option at all both
leave 10.  :func:`given_options` parses the command line a second time with every default replaced by a
marker; a destination that still holds the marker was not written.  Options that add to their default
(``append``, ``extend``, ``count``) get None instead, which argparse starts them from; one written is no longer None.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence

_UNSET = object()
_ADDING = (argparse._AppendAction, argparse._AppendConstAction, argparse._CountAction)  # extend subclasses append


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every action of ``parser`` and of its subcommands' parsers, each once."""
    seen: set[int] = set()
    stack = [parser]
    while stack:
        p = stack.pop()
        if id(p) in seen:
            continue
        seen.add(id(p))
        for action in p._actions:
            yield action
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The destinations (``args`` attribute names) of the options written in ``argv``, which parsed
    without error with ``parser``."""
    saved = [(a, a.default) for a in _actions(parser)
             if a.default is not argparse.SUPPRESS and a.option_strings]  # options, not positionals
    adding = {a.dest for a, _ in saved if isinstance(a, _ADDING)}
    try:
        for action, _ in saved:
            action.default = None if isinstance(action, _ADDING) else _UNSET
        marked, _ = parser.parse_known_args(argv)
    finally:
        for action, default in saved:
            action.default = default
    return {name for name, value in vars(marked).items()
            if value is not _UNSET and not (name in adding and value is None)}


def empty_argument(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The option (or positional) of ``args`` that holds an empty string, as an unset shell variable
    leaves it, or None.  Parsed as given, it was read as the option left out (``--valid ''`` trained
    without validation) or as the current folder ('.')."""
    names = {}
    for action in _actions(parser):
        names.setdefault(action.dest, action.option_strings[0] if action.option_strings else action.dest)
    for dest, value in vars(args).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if dest in names and any(isinstance(v, str) and v == "" for v in values):
            return names[dest]
    return None


def held_out_is_training(args: argparse.Namespace) -> list[str]:
    """Warnings for a ``--valid`` or ``--test`` file that is a ``--train`` file (the same path, or the same
    file by another path or link): its scores are training scores, which cannot show overfitting, and the
    best epoch and early stopping then follow the training data.  Each option may hold one file or a list
    (train seq2seq's source and target files)."""
    def files(value: object) -> list[str]:
        return [v for v in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(v, str) and v]

    train = files(getattr(args, "train", None))
    said = []
    for option, what in (("valid", "validation"), ("test", "test")):
        if option == "test" and getattr(args, "unsupervised", False):  # induced tags are scored on their training
            continue                                                     # text as a rule (EM never read its tags)
        for path in files(getattr(args, option, None)):
            same = next((t for t in train if t == path or same_file(t, path)), None)
            if same is not None:
                said.append(f"--{option} {path} is the training file{'' if same == path else f' {same}'}: the {what} "
                            f"scores will be training scores, which cannot show overfitting"
                            + (", and the best epoch and early stopping will follow the training data"
                               if option == "valid" and hasattr(args, "epochs") else "") + "; give held-out data")
    return said


def same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` are one file (by path or link); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # a file that does not exist is said by the command itself
        return False


def given(args: argparse.Namespace, name: str) -> bool:
    """Whether option ``name`` (its destination, e.g. "div_value") was written on the command line.
    A Namespace built without :func:`given_options` (a library caller) has given nothing."""
    return name in getattr(args, "_given", ())


def refuse_unused(args: argparse.Namespace, rules: Sequence[tuple[str, bool, str]]) -> None:
    """Refuse the first option of ``rules`` that was given and would have no effect.

    Each rule is (option, no effect here?, why and how to fix), e.g. ("--div-value", args.softmax !=
    "adaptive", "without --softmax adaptive: add it"); the message then reads "--div-value has no
    effect without --softmax adaptive: add it, or leave --div-value out"."""
    for flag, useless, reason in rules:
        if useless and given(args, flag.lstrip("-").replace("-", "_")):
            raise ValueError(f"{flag} has no effect {reason}, or leave {flag} out")


def command_parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                              argparse.ArgumentParser]]:
    """(command words, parser) of ``parser`` and of every subcommand under it."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if sub is not parser:
                    yield from command_parsers(sub, (*words, name))


def unrecognized(parser: argparse.ArgumentParser, argv: Sequence[str], extras: Sequence[str]) -> str:
    """argparse's "unrecognized arguments: ..." with the command named, and, when the first unknown
    option is one of a parent or sibling command (``rnnkit demo reverse --steps``: the default demo's), which."""
    words: tuple[str, ...] = ()
    p = parser
    for token in argv:  # the command the words name: rnnkit demo reverse
        sub = next((a for a in p._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None:
            break
        if token in sub.choices:
            words, p = (*words, token), sub.choices[token]
    command = " ".join(("rnnkit", *words))
    text = f"unrecognized arguments: {' '.join(extras)}"
    option = next((e.split("=", 1)[0] for e in extras if e.startswith("-")), None)
    related = [(w, q) for w, q in command_parsers(parser)  # the command's parents and siblings: demo, demo addition
               if w != words and (w == words[:len(w)] or w[:-1] == words[:-1]) and w]
    owners = [" ".join(("rnnkit", *w)) for w, q in related
              if option is not None and any(option in a.option_strings for a in q._actions)]
    near = closest(option, [s for a in p._actions for s in a.option_strings if s.startswith("--")]) if option else None
    if owners:
        shown = owners[0] if len(owners) == 1 else ", ".join(owners[:-1]) + " and " + owners[-1]
        mean = f": did you mean {near}?" if near else ""  # gradcheck --hidden-size: step's name of its --hidden
        return f"{text}: {option} is an option of {shown}, not of {command}{mean} (see {command} --help)"
    if near:
        return f"{text}: did you mean {near}? (see {command} --help for its options)"
    return f"{text} (see {command} --help for its options)"


REQUIRED = "the following arguments are required: "  # argparse's message


def required_hint(parser: argparse.ArgumentParser, message: str, argv: Sequence[str]) -> str:
    """argparse's "the following arguments are required: --train" with the unknown options of ``argv`` (the
    command's arguments) named: one near a missing option as "(got --trian: did you mean --train?)", one near
    another option of the command as "got --hiden: did you mean --hidden?", any other as "--hidn is not an
    option".  argparse says the missing option before the unrecognized ones, so the misspelling was never named."""
    if not message.startswith(REQUIRED):
        return message
    missing = [name for names in message[len(REQUIRED):].split(", ") for name in names.split("/")
               if name.startswith("--")]
    known = {s for a in parser._actions for s in a.option_strings}
    notes = []
    for token in argv:
        if token == "--":  # the rest are positionals
            break
        option = token.split("=", 1)[0]
        if not option.startswith("--") or option in known or any(k.startswith(option) for k in known):
            continue  # a value, a known option or an abbreviation of one (argparse takes those)
        near = closest(option, missing) or closest(option, [k for k in known if k.startswith("--")])
        notes.append(f"got {option}: did you mean {near}?" if near else f"{option} is not an option")
    return f"{message} ({'; '.join(notes)})" if notes else message


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice most like ``word`` (a misspelt option or command: --hiden, trian), or None when none is
    close (difflib's ratio below 0.75)."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return found[0] if found else None
