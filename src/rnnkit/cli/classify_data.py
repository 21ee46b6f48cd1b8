"""The classifier's training data as the command line gives it: ``--train`` (``label<TAB>text``) or
``--format polarity --pos F --neg F``, each misuse of those options refused in their own names (and
the validation and test data: a file, or a polarity pair ``--valid-pos/--valid-neg``); the
checks that it can train a classifier (two labels, a hold-out that leaves every label), and the
'data:' line."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.cli.classify_trees import read_tree_examples
from rnnkit.cli.text_warnings import unsegmented, warn
from rnnkit.errors import DataError


def refuse_same_pair(pos: str, neg: str, pos_option: str = "--pos", neg_option: str = "--neg") -> None:
    """A polarity pair whose two files are one (the same path, or two paths to one file) would give every
    sentence both labels: refuse it, naming the options."""
    if pos == neg or (os.path.isfile(pos) and os.path.isfile(neg) and os.path.samefile(pos, neg)):
        raise ValueError(f"{pos_option} {pos} and {neg_option} {neg} are the same file, so every sentence would have "
                         f"both labels; give the negative sentences' file to {neg_option}")


def read_examples(args: argparse.Namespace, path: str | None = None, labels: Sequence[str] = ()) -> list:
    """The training texts, or with ``path`` a held-out file's, whose --header line is refused when it reads as
    an example of one of ``labels`` (the training data's)."""
    from rnnkit.data.classification import read_polarity

    if path is not None and args.format == "tree":
        return read_tree_examples(args, path, "validate or test on")
    if path is not None:
        return read_labelled(path, args.encoding, args.header, labels, several=True, fix="give label<TAB>text lines")
    if args.format == "polarity":
        if args.train:
            raise ValueError(f"--format polarity reads its training data from --pos and --neg, so --train "
                             f"{args.train} would be ignored; leave it out, or drop --format polarity to read it "
                             "as label<TAB>text lines")
        missing = [option for option, value in (("--pos", args.pos), ("--neg", args.neg)) if not value]
        if missing:
            raise ValueError(f"--format polarity needs --pos FILE (positive sentences, one a line) and --neg FILE "
                             f"(negative ones); {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                             "missing")
        refuse_same_pair(args.pos, args.neg, "--pos", "--neg")
        return read_polarity(args.pos, args.neg, args.encoding)
    if args.pos or args.neg:
        raise ValueError("--pos and --neg are read with --format polarity; add --format polarity, or leave them out "
                         "and give --train FILE of label<TAB>text lines")
    if not args.train:
        raise ValueError("no training data: give --train FILE (label<TAB>text lines; with --format tree one "
                         "labelled tree a line), or --format polarity with --pos FILE and --neg FILE")
    if args.format == "tree":
        return read_tree_examples(args, args.train)
    several = bool(args.valid or getattr(args, "test", None))
    return read_labelled(args.train, args.encoding, args.header, several=several,
                         fix=f"to train a tagger on it, rnnkit train tagger --format {{format}} --train {args.train}")


def read_labelled(path: str, encoding: str, header: bool, labels: Sequence[str] = (), several: bool = False,
                  fix: str = "", untabbed: Sequence[str] | None = None) -> list:
    """:func:`rnnkit.data.classification.read_tsv`, its error told that the file looks like CoNLL-U or a column
    file (a tagger's data) with ``fix`` (its ``{format}`` made conllu or columns), or, when no line has a tab,
    how to give sentences alone (``untabbed``: the model's labels, :func:`untabbed_fix`)."""
    from rnnkit.cli.file_looks import column_reason, conllu_reason, head_lines
    from rnnkit.data.classification import read_tsv

    try:
        return read_tsv(path, encoding, header, labels, several=several)
    except DataError as exc:
        head = head_lines(path, encoding) or []
        for kind, form, why in (("CoNLL-U", "conllu", conllu_reason(head)), ("a column file", "columns",
                                                                             column_reason(head))):
            if why:
                raise DataError(f"{exc}; {path} looks like {kind} ({why}), a tagger's data: "
                                f"{fix.replace('{format}', form)}") from None
        if untabbed is None or "without a tab" not in str(exc):
            raise
        raise DataError(f"{exc}{untabbed_fix(path, encoding, untabbed)}") from None


def held_data(args: argparse.Namespace, which: str, labels: Sequence[str] = ()) -> tuple[list | None, str | None]:
    """The ``which`` ("valid" or "test") texts and their name for messages: ``--valid F`` (label<TAB>text
    lines), or with --format polarity a pair ``--valid-pos P --valid-neg N`` read as the training pair
    is; (None, None) when neither is given."""
    from rnnkit.data.classification import read_polarity

    path = getattr(args, which)
    pos, neg = getattr(args, f"{which}_pos", None), getattr(args, f"{which}_neg", None)
    if not (pos or neg):
        return (read_examples(args, path, labels), path) if path else (None, None)
    options = f"--{which}-pos and --{which}-neg"
    if args.format != "polarity":
        raise ValueError(f"{options} are read with --format polarity (like --pos and --neg); add --format polarity, "
                         f"or give --{which} FILE of label<TAB>text lines")
    if path:
        raise ValueError(f"--{which} {path} and {options} would both be the {which} data; give one of them")
    if not (pos and neg):
        given, missing = (f"--{which}-pos", f"--{which}-neg") if pos else (f"--{which}-neg", f"--{which}-pos")
        raise ValueError(f"{given} needs {missing} too (the {which} data's other class); give both files")
    refuse_same_pair(pos, neg, f"--{which}-pos", f"--{which}-neg")
    return read_polarity(pos, neg, args.encoding), f"--{which}-pos {pos} / --{which}-neg {neg}"


def data_source(args: argparse.Namespace) -> str:
    """The training data as the user named it, for messages."""
    return f"--pos {args.pos} / --neg {args.neg}" if args.format == "polarity" else str(args.train)


def check_labels(args: argparse.Namespace, examples: list) -> None:
    """A classifier needs texts of two labels at least: with one it learns nothing and scores 100%."""
    labels = sorted({e.label for e in examples})
    if len(examples) == 1:
        raise DataError(f"only 1 text in {data_source(args)}: a classifier needs texts of at least two labels "
                        f"(and, without --valid, some to hold out for validation); add more" + (
                            " (--header skipped its first line: if it has no header line, leave out --header, "
                            "which applies to every TSV file given, and remove the others' header lines)"
                            if getattr(args, "header", False) else ""))
    if len(labels) == 1:
        raise DataError(f"only one label ({labels[0]!r}) in {data_source(args)}: a classifier needs at least two; "
                        f"add texts of another label")


def holdout(args: argparse.Namespace, train: list, seed: int, part: str) -> tuple[list, list]:
    """``(rest, held)``: --valid-fraction of ``train`` held out for validation.  DataError when a
    label would then have no training text (the held-out texts are taken from ``part``)."""
    from rnnkit.classify.crossval import holdout_split

    rest, held = holdout_split(np.arange(len(train)), args.valid_fraction, seed)
    rest, held = [train[i] for i in rest], [train[i] for i in held]
    missing = sorted({e.label for e in held} - {e.label for e in rest})
    if missing:
        shown = ", ".join(repr(label) for label in missing)
        raise DataError(f"without --valid, {len(held):,} of the {len(train):,} texts of {part} are held out for "
                        f"validation (--valid-fraction {args.valid_fraction:g}), and that leaves no training text "
                        f"labelled {shown}; give "
                        + ("" if args.folds else "a --valid file, ")  # with --folds, --valid is refused
                        + "more texts of every label, or --valid-fraction 0 to train without validation")
    return rest, held


def say_holdout(args: argparse.Namespace, held: int, total: int, part: str) -> None:
    """Say on stderr, before training, that ``held`` of the ``total`` texts of ``part`` are held out for
    validation (--valid-fraction): they are not trained on, and they choose best.safetensors."""
    others, fix = "", "--valid-fraction 0 to train on all"
    if args.folds:  # --valid is refused with --folds
        others = ", and about as many of every fold's"
    else:
        valid = "--valid FILE (or --valid-pos F --valid-neg F)" if args.format == "polarity" else "--valid FILE"
        fix = f"give {valid}, or {fix}"
    print(f"valid: {held:,} of the {total:,} texts of {part} held out for validation{others} "
          f"(--valid-fraction {args.valid_fraction:g}; {fix})", file=sys.stderr)


def warn_small_holdout(args: argparse.Namespace, held: int, total: int, part: str) -> None:
    """Warn when the ``held`` texts held out of ``total`` are too few for their accuracy to choose an epoch
    (7 texts: accuracy tied at 4/7 for 25 epochs while the loss fell, and epoch 1 was kept)."""
    if 0 < held < SMALL_HOLDOUT:
        warn(f"only {held} of the {total:,} texts of {part} are held out to pick the best epoch "
             f"(--valid-fraction {args.valid_fraction:g}): their accuracy moves in steps of {100 / held:.0f}%, "
             "too coarse to tell epochs apart (a tie keeps the earlier epoch); give more texts"
             + ("" if args.folds else ", a --valid file") + " or a larger --valid-fraction")


SMALL_HOLDOUT = 30  # held-out texts below which validation accuracy cannot choose an epoch


def data_summary(args: argparse.Namespace, examples: list) -> str:
    """The 'data:' line: texts, tokens and token types at the chosen level (after --lowercase and
    --max-length), and how many types --min-count keeps when it drops some; a --min-count that keeps none is
    refused (ValueError) instead, before any fold's training part meets it."""
    from collections import Counter

    from rnnkit.classify.task import ClassifierEncoder
    from rnnkit.cli.common import check_min_count
    from rnnkit.data.vocab import Vocabulary

    tokenizer = ClassifierEncoder(Vocabulary(["<unk>"], eos_token=None), [], args.lowercase, args.max_length,
                                  args.level, args.fold_width)
    counts: Counter = Counter()
    sizes = np.zeros(len(examples), dtype=np.int64)  # (N,) tokens of each text
    for i, e in enumerate(examples):
        tokens = tokenizer.tokenize(e.text)
        counts.update(tokens)
        sizes[i] = len(tokens)
    unit = "character" if args.level == "char" else "word"
    warn_long_text(args, sizes, unit, sum(e.label == "pos" for e in examples))
    line = f"data: {len(examples):,} texts, {sum(counts.values()):,} {unit}s, {len(counts):,} {unit} types"
    if args.min_count > 1:
        kept = sum(n >= args.min_count for n in counts.values())
        if not kept:  # the tokenizer's vocabulary holds <unk> alone, as the one built would
            check_min_count(args.min_count, tokenizer.vocab, data_source(args))
        line += f" ({kept:,} seen at least --min-count {args.min_count} times)"
    return line


OUTLIER = 10  # a text this many times the 99th percentile's length is an outlier (when it strains memory too)


def warn_long_text(args: argparse.Namespace, sizes: np.ndarray, unit: str, positives: int = 0) -> None:
    """Warn of the longest text, naming its line, when it is an outlier (:data:`OUTLIER` times the 99th
    percentile) long enough that a batch of --batch-size texts padded to it would exceed
    :data:`rnnkit.packing.TRAIN_TOKENS`: training would run such a batch in sub-batches (whether its batch
    is one depends on the texts it meets: often the last, partial batch), and --max-length would cut it.
    ``positives``: with --format polarity, the texts read from --pos, which come before --neg's."""
    from rnnkit.packing import TRAIN_TOKENS

    longest = int(sizes.argmax())
    n, usual = int(sizes[longest]), int(np.percentile(sizes, 99, method="lower"))  # a length of the data
    if n <= OUTLIER * usual or n * args.batch_size <= TRAIN_TOKENS:
        return
    if args.format == "tsv":
        where = f"{args.train}:{longest + 1 + args.header}"
    elif args.format == "polarity":  # every line of --pos, then of --neg, is one text
        where = f"{args.pos}:{longest + 1}" if longest < positives else f"{args.neg}:{longest + 1 - positives}"
    else:
        where = f"{data_source(args)}: text {longest + 1}"
    warn(f"{where}: a text of {n:,} {unit}s, where 99% of them have at most {usual:,}; a batch of "
         f"{args.batch_size:,} texts padded to its length would exceed {TRAIN_TOKENS:,} tokens and is then run in "
         f"sub-batches to bound the memory, and it takes as long as "
         f"{n // max(1, usual):,} ordinary texts: if it is not one text (a file pasted whole, a missing line break), "
         f"fix the line, or cut every text with --max-length {max(usual, 1)}")


def untabbed_fix(path: str, encoding: str, labels: list[str]) -> str:
    """The fix for a file with no tab on any line (sentences alone, as a polarity file holds them), to
    add to its error; "" when some line has a tab (the file is label<TAB>text with a bad line), or when the file
    is a pipe, which its reader has read (a second open of a named pipe waits for a writer that has gone)."""
    from rnnkit.data.files import read_text_file

    if not Path(path).is_file():
        return ""
    try:
        if "\t" in read_text_file(path, encoding):
            return ""
    except (OSError, ValueError):
        return ""
    if sorted(labels) == ["neg", "pos"]:  # trained on --pos/--neg files: scored on such a pair too
        return (f"; {path} has no tab on any line: for one file of positive sentences and one of negative ones, "
                "give --pos FILE --neg FILE instead of DATA")
    shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
    return (f"; {path} has no tab on any line: give label<TAB>text lines, the label one of the model's ({shown}), "
            f"or classify the texts with 'rnnkit classify MODEL {path}'")


def warn_if_unsegmented(texts: list[str], where: str, enc: object = None, model: str | None = None) -> bool:
    """Warn when word-level tokens would be whole Chinese or Japanese phrases (text written without
    spaces): each would be one token that new texts rarely repeat, so a model learns little and gives
    most new texts the same class.  ``enc``/``model``: the word-level classifier that is to read
    ``texts`` (classify, evaluate); without them, training data.  True when it warned."""
    looks = unsegmented(texts, where)
    if looks is None:
        return False
    if enc is None:
        warn(f"{looks}, so at --level word each space-free run is one token that new texts rarely repeat; train "
             "with --level char, or segment the text first ('rnnkit segment')")
        return True
    seqs = enc.encode(texts)
    unknown = sum(int((s == enc.vocab.unk_id).sum()) for s in seqs) / max(1, sum(len(s) for s in seqs))
    warn(f"{looks}, and {model} reads words split at spaces: {100 * unknown:.0f}% of the tokens are unknown to it "
         "(<unk>); retrain with --level char (or, if its training text was segmented, segment this text too: "
         "'rnnkit segment')")
    return True
