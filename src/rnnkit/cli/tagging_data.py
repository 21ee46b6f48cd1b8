"""How the tagging commands read their data: the data options (``--format``, ``--tag-column``,
``--scheme`` ...) as a :class:`DataSpec`, and the files read through it with the checks of
:mod:`rnnkit.tagging.checks` and a hint when a file is really CoNLL-U."""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from itertools import islice
from pathlib import Path

from rnnkit.cli.file_looks import conllu_reason, head_lines, looks_like_conllu, plain_text_reason, tsv_reason
from rnnkit.cli.given import refuse_unused
from rnnkit.data.conll import FORMAT_HINT
from rnnkit.errors import DataError
from rnnkit.metrics.tagging import require_seqeval
from rnnkit.tagging.io import DataSpec, TaggingData, read_conllu_segmentation, read_tagged


def add_data_options(p: argparse.ArgumentParser, need_valid: bool = False,
                     valid_help: str = "validation file (best checkpoint and early stopping)",
                     test_help: str = "test file, scored with the best model at the end",
                     raw: bool = False) -> argparse._ArgumentGroup:
    """The data options both tagger trainers share; returns their group, for a trainer's own data options.
    ``raw``: --format raw too, untagged text (train hmm --unsupervised)."""
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True, help="training file")
    d.add_argument("--valid", required=need_valid, help=valid_help)
    d.add_argument("--test", help=test_help)
    d.add_argument("--format", choices=["conllu", "columns", "segmented", "slash"] + ["raw"] * raw, default="conllu",
                   help="CoNLL-U, whitespace columns (CoNLL-2000), segmented text (one sentence a line, "
                        "words separated by spaces: word segmentation as BMES character tagging), or slash "
                        "(one sentence a line of word/TAG tokens, split at the last '/': People's Daily; its "
                        "1998 files' line IDs are no words, and a compound [国家/n 主席/n]nt is its words)"
                        + ("; raw: untagged text, one sentence a line, words separated by spaces (--unsupervised "
                           "only; with --unsupervised the tags of the other formats are not read)" if raw else ""))
    d.add_argument("--tag-column", default=None,
                   help="conllu: upos or xpos (default upos); columns: column index (default -1, the last; saved "
                        "as the training file's own index, so a file with a column more, such as 'tag --format "
                        "columns' output, is read the same)")
    d.add_argument("--word-column", type=int, default=0, help="columns: index of the word column")
    d.add_argument("--scheme", choices=["none", "bio", "iob1", "bioes", "bmes"], default=None,
                   help="tag scheme: span schemes give span F1 and legal-sequence decoding; bmes word F1 "
                        "(default: bmes for segmented, else none = token accuracy)")
    d.add_argument("--repair-spans", action="store_true",
                   help="with a span --scheme (bio, iob1, bioes): read training tags that break the scheme as "
                        "conlleval reads them (O I-PER: a stray I- starts a span; B-PER I-LOC: a new span) and "
                        "train on them rewritten in the scheme, with a warning counting the sentences; without it "
                        "such a sentence stops training at its line")
    d.add_argument("--train-scheme", choices=["bio", "bioes"], default=None,
                   help="with --scheme bio or iob1: train on the tags rewritten in this scheme through their spans "
                        "(bioes: S- marks a single-token span and E- a span's last token, as Lample et al. 2016 "
                        "and Ratinov & Roth 2009 train; bio: IOB1 data as BIO) and decode to its legal sequences; "
                        "every output (tag and its --probs, --nbest, --spans; evaluate; --valid and --test scores) "
                        "is given back in the data's --scheme, exactly, so span F1 counts the same spans.  Saved "
                        "with the model (default: train in the data's scheme)")
    d.add_argument("--encoding", default="utf-8", help="text encoding of the data files")
    return d


_NO_TAG_COLUMN = {"segmented": "segmented text has no tag column (its tags come from the spaces between words)",
                  "slash": "slash text has no tag column (each token's tag follows its last '/')"}


def tag_column_of(fmt: str, given: str | None, default: str | int) -> str | int:
    """--tag-column's value for --format ``fmt``: ``given`` as typed, or ``default`` when not given; a column
    index for column files, upos or xpos for CoNLL-U, and none to give for segmented and slash text."""
    if fmt in _NO_TAG_COLUMN:
        if given is not None:
            raise ValueError(f"--tag-column: {_NO_TAG_COLUMN[fmt]}; leave it out")
        return default
    if fmt == "columns":
        try:
            return default if given is None else int(given)
        except ValueError:
            raise ValueError(f"--tag-column {given}: --format columns takes a column index (0 the first, "
                             "-1 the last)") from None
    column = str(given or default).lower()  # UPOS, as CoNLL-U's documentation writes it
    if fmt == "conllu" and column not in ("upos", "xpos"):
        raise ValueError(f"--tag-column {column}: a CoNLL-U file's tags are upos or xpos (a column index is "
                         "for --format columns)")
    return column


def spec_from_args(args: argparse.Namespace) -> DataSpec:
    """The DataSpec of the data options, each combination DataSpec would refuse said in the options'
    own names."""
    fmt = args.format
    scheme = args.scheme or ("bmes" if fmt == "segmented" else "none")
    tag_column = tag_column_of(fmt, args.tag_column, -1 if fmt == "columns" else "upos")
    if fmt == "segmented" and scheme != "bmes":
        raise ValueError(f"--scheme {scheme}: segmented text is tagged B, M, E, S (--scheme bmes, the default for "
                         "--format segmented); leave --scheme out")
    refuse_unused(args, [("--word-column", fmt != "columns", f"with --format {fmt} (it picks the word column of "
                                                             "a column file): give --format columns"),
                         ("--repair-spans", scheme not in ("bio", "iob1", "bioes"),
                          f"with --scheme {scheme} (it repairs span tags): give --scheme bio, iob1 or bioes")])
    features = tuple(getattr(args, "feature_columns", None) or ())
    if features and fmt != "columns":
        raise ValueError(f"--feature-columns reads extra columns of a column file (--format columns); with --format "
                         f"{fmt} leave it out")
    return DataSpec(fmt, tag_column, args.word_column, features, scheme, args.encoding)


_NOT_SPANS = {"none": "--scheme none (the default for CoNLL-U and column files) reads no spans",
              "bmes": "--scheme bmes tags the characters of words, not spans",
              "bioes": "BIOES data (--scheme bioes) is trained as it is"}


def train_scheme_from_args(args: argparse.Namespace, spec: DataSpec) -> str | None:
    """The scheme --train-scheme trains in (None: the data's own), refused in one line where it cannot
    rewrite the data's tags (see :mod:`rnnkit.tagging.train_scheme`)."""
    from rnnkit.tagging.train_scheme import FROM

    train_scheme = getattr(args, "train_scheme", None)
    if train_scheme is None:
        return None
    if spec.scheme == train_scheme:
        raise ValueError(f"--train-scheme {train_scheme}: the data is {train_scheme.upper()} already (--scheme "
                         f"{spec.scheme}); leave --train-scheme out")
    if spec.scheme not in FROM[train_scheme]:
        sources = " or ".join(FROM[train_scheme])
        names = " or ".join(s.upper() for s in FROM[train_scheme])
        raise ValueError(f"--train-scheme {train_scheme} rewrites the span tags of {names} data, and "
                         f"{_NOT_SPANS[spec.scheme]}: give --scheme {sources} for data in {names}, or leave "
                         "--train-scheme out")
    return train_scheme


def converted(data: TaggingData, spec: DataSpec, train_scheme: str | None) -> TaggingData:
    """``data`` with its tags rewritten in ``train_scheme`` (as it is for None)."""
    from rnnkit.tagging.train_scheme import to_train

    if train_scheme is None or data.tags is None:
        return data
    return replace(data, tags=to_train(data.tags, spec.scheme, train_scheme))


def check_metric_available(spec: DataSpec, *scored: str | None) -> None:
    """Span F1 needs seqeval: say so before training when a --valid or --test file will be scored."""
    from rnnkit.tagging.task import metric_for

    if any(scored) and metric_for(spec.scheme, spec.format) == "span_f1":
        require_seqeval()


def read_data(path: str, spec: DataSpec, labelled: bool = True, training: bool = False,
              format_from: str = "model", repair: bool = False, plain_fix: str | None = None) -> TaggingData:
    """``read_tagged``, plus (``training``) the checks of :mod:`rnnkit.tagging.checks`; a column file
    that is really CoNLL-U gets the hint to read it with --format conllu; a CoNLL-U file given as segmented
    text is read as such, its tokens the gold words (:func:`rnnkit.tagging.io.read_conllu_segmentation`),
    and said so on stderr.
    ``format_from``: what set the format a message names: "model" (a trained model reads the format it
    was trained on), "option" (the command's --format) or "training" (--valid and --test of a training
    run, read as its training data is).  ``repair`` (--repair-spans): training tags that break the span
    scheme are rewritten as conlleval reads them (:func:`rnnkit.tagging.checks.repair_spans`), with a warning.
    A column or CoNLL-U file that fails to read and looks like plain text, one sentence a line, is said to be
    that, with ``plain_fix`` (tag's: drop --format), by default that tagged data is needed."""
    from rnnkit.tagging.checks import TrainingDataError, check_gold_column, check_training_data

    conllu = spec.format == "segmented" and Path(path).is_file() and looks_like_conllu(path, spec.encoding)
    if conllu:  # (a pipe, <(...), cannot be read twice: no look)
        print(f"{path}: CoNLL-U, read as segmented text: its tokens (the FORM column) are the gold words",
              file=sys.stderr)
    try:
        try:
            data = (read_conllu_segmentation(path, spec.encoding, labelled) if conllu else
                    read_tagged(path, spec, labelled=labelled))
        except DataError:
            if training or spec.format != "columns":
                raise
            if format_from == "model":  # a file narrower than the training data: said in the model's terms
                _narrower_than_training(path, spec, labelled)
            if labelled:
                _no_gold_column(path, spec)  # a file without the model's tag column
            raise
        if spec.format == "segmented" and not conllu:
            _slash_as_segmented(path, data, "training" if training else format_from)
        if spec.format == "columns":
            _refuse_texts_as_columns(path, data)
        if training:
            if repair:
                from rnnkit.cli.text_warnings import warn
                from rnnkit.tagging.checks import repair_spans

                said = repair_spans(spec, data, path)
                if said:
                    warn(said)
            check_training_data(spec, data, path)
        elif labelled:
            check_gold_column(spec, data, path)
        return data
    except DataError as exc:
        lines = head_lines(path, spec.encoding) if spec.format in ("columns", "slash", "conllu") else None  # read once
        why = conllu_reason(lines) if lines is not None and spec.format in ("columns", "slash") else None
        # a check's own fix (another --tag-column) would still read CoNLL-U as columns: replace it; and a
        # model reads the format it was trained on, which evaluate and tag have no option to change
        problem = exc.problem if isinstance(exc, TrainingDataError) else str(exc).replace(FORMAT_HINT, "").rstrip()
        head = lines if why is None and spec.format in ("columns", "conllu") else None
        tsv = head and Path(path).is_file() and tsv_reason(head)
        plain = head and Path(path).is_file() and not tsv and plain_text_reason(head)
        if plain or tsv:
            whose = {"training": "the training data's format", "model": "the model's format"}.get(format_from,
                                                                                             "the --format given")
            need = "training needs tagged data, in columns, CoNLL-U or word/TAG text (--format slash)" if training \
                else f"{'--valid and --test need' if format_from == 'training' else 'evaluating needs'} tagged data, " \
                f"in {FORMAT_NAMES[spec.format]} ({whose})"
            joint = " " if problem.endswith("?") else "; "
            if plain:
                raise DataError(f"{problem}{joint}{path} looks like plain text, one sentence a line ({plain}): "
                                f"{plain_fix or need}")
            classifier = f"to train a classifier on it, rnnkit train classifier --train {path}" if training else \
                f"to score a classifier on it, rnnkit evaluate CLASSIFIER {path}"
            fix = f"tag its texts alone (cut -f2- {path} | rnnkit tag MODEL)" if plain_fix else f"{need}; {classifier}"
            raise DataError(f"{problem}{joint}{path} looks like label<TAB>text, a classifier's data ({tsv}): {fix}")
        if why is None and (training or FORMAT_HINT not in str(exc)):
            raise
        if why and not training and format_from == "training":  # --format conllu would read --train so
            raise DataError(f"{problem}; {path} looks like CoNLL-U ({why}): --valid and --test are read as the "
                            f"training data is (--format {spec.format}): convert it, or give a file in "
                            f"{ {'columns': 'columns'}.get(spec.format, FORMAT_NAMES[spec.format])}") from None
        if why and (training or format_from != "model"):
            raise DataError(f"{problem}; {path} looks like CoNLL-U ({why}): use --format conllu") from None
        looks = f"; {path} looks like CoNLL-U ({why})" if why else ""
        joint = " " if problem.endswith("?") and not looks else "; "
        reads = {"model": f"the model reads {FORMAT_NAMES[spec.format]}, as it was trained: give the file in that "
                          "format, or use a model trained on files in this file's format",
                 "option": f"--format {spec.format} reads {FORMAT_NAMES[spec.format]}: give the file in that "
                           "format, or the --format it is in",
                 "training": f"--valid and --test are read as the training data is, as {FORMAT_NAMES[spec.format]}: "
                             "give them in that format"}[format_from]
        if joint == " ":
            reads = reads[0].upper() + reads[1:]
        raise DataError(f"{problem}{looks}{joint}{reads}") from None


def _refuse_texts_as_columns(path: str, data: TaggingData) -> None:
    """label<TAB>text, a classifier's data, reads as two columns, since a tab-separated column may hold spaces (a
    token ``New York``): refused when its rows look so (:func:`tsv_reason`) and the last field holds three words
    or more on most lines, as a sentence does, where a tag of a few features (``DET Def``) holds one or two; for
    the handler above to say what the file looks like and what to do."""
    rows = list(islice((row for s in data.source for row in s.rows), 200))
    if not (data.source and data.source[0].sep == "\t" and tsv_reason(["\t".join(row) for row in rows])):
        return
    if 2 * sum(len(row[-1].split()) >= 3 for row in rows) > len(rows):
        raise DataError(f"{path}: expected a token a line in its tab-separated columns, got texts in the last one "
                        f"({len(rows[0][-1].split())} words in the first)")


FORMAT_NAMES = {"conllu": "CoNLL-U", "columns": "column files", "segmented": "segmented text",
                "slash": "word/TAG text"}


def _slash_as_segmented(path: str, data: TaggingData, format_from: str) -> None:
    """Warn when the words of a segmented file mostly look like ``word/TAG`` pairs (People's Daily with its
    tags): a segmenter would learn '/v' as characters of the words.  A warning, not a refusal: the look is
    a guess from the tokens' shape, and the file does read as segmented text."""
    from rnnkit.cli.text_warnings import warn
    from rnnkit.data.slash import tagged_tokens

    examples = tagged_tokens(data.source or [])
    if examples is None:
        return
    shown = ", ".join(repr(t) for t in examples)
    if format_from == "model":  # evaluate: the model is a segmenter, and its format is fixed
        warn(f"{path}: its tokens look like word/TAG pairs ({shown}, ...), and the model, a segmenter, scores "
             "them as words, their /TAG included; give the file's words alone")
    else:
        warn(f"{path}: its tokens look like word/TAG pairs ({shown}, ...): give --format slash to train on the tags")


def _narrower_than_training(path: str, spec: DataSpec, labelled: bool) -> None:
    """Raise the DataError for a column file too narrow for the columns a model reads besides the tags:
    its word column and the feature columns of its training data ('choose a column' would be no help:
    tag and evaluate have no option to choose them)."""
    head = head_lines(path, spec.encoding)
    if head is None:
        return
    first = next(((k, line) for k, line in enumerate(head, start=1) if line.split()), None)
    if first is None:
        return
    number, line = first
    width = len(line.split())
    needs = [(spec.word_column, "its words")] + [(c, f"feature column {c}") for c in spec.feature_columns]
    missing = [what for c, what in needs if not -width <= c < width]
    if missing:
        fix = "the training data's columns, its gold tags included" if labelled else \
            "the training data's columns (the tag column may be left out)"
        raise DataError(f"{path}:{number}: a line of {width} column{'s' * (width != 1)}, and the model reads "
                        f"{' and '.join(missing)} as in its training data; give the file with {fix}")


def _no_gold_column(path: str, spec: DataSpec) -> None:
    """Raise the DataError for a column file scored against gold tags it lacks: narrower than the
    model's training data (as words alone are), its tag column is not there."""
    try:
        words = read_tagged(path, spec, labelled=False)
    except DataError:
        return  # another problem: the reader's own message says it
    if not words.source:
        return
    width, tag = len(words.source[0].rows[0]), int(spec.tag_column)
    if -width <= tag < width:
        return
    raise DataError(f"{path}:{words.source[0].line_number}: a line of {width} column{'s' * (width != 1)}, and "
                    f"the model reads gold tags from column {tag} (as in its training data); give the file with "
                    "its gold tags in that column, or tag it ('rnnkit tag') rather than evaluate it")


def fixed_columns(spec: DataSpec, train: TaggingData) -> DataSpec:
    """``spec`` with the column indices counted from the end (--tag-column -1, the default) made the
    training file's own indices: the model then reads the same columns of a file with a column more,
    such as 'tag --format columns' output (the predictions appended last), and not its predictions as
    the gold tags."""
    if spec.format != "columns" or not train.source:
        return spec
    width = len(train.source[0].rows[0])

    def fixed(c: int) -> int:
        return c + width if c < 0 else c

    return replace(spec, tag_column=fixed(int(spec.tag_column)), word_column=fixed(spec.word_column),
                   feature_columns=tuple(fixed(c) for c in spec.feature_columns))


def read_evaluation(args: argparse.Namespace, spec: DataSpec,
                    train: TaggingData | None = None) -> tuple[TaggingData | None, TaggingData | None]:
    """--valid and --test read now, before training: a missing or malformed file stops the run at once
    (it used to fail only after training, after 'model saved:'); their gold tags that ``train`` lacks are
    warned of, as evaluate warns (segmented text's tags are made from its spaces: none), once for a file given
    as both; and so are gold tags that break the span scheme, which training refuses."""
    from rnnkit.tagging.checks import gold_scheme_note

    valid = read_data(args.valid, spec, format_from="training") if args.valid else None
    test = read_data(args.test, spec, format_from="training") if args.test else None
    if train is not None and train.tags is not None and spec.format != "segmented":
        known = list(dict.fromkeys(t for sentence in train.tags for t in sentence))
        same = bool(args.valid and args.test) and Path(args.valid).resolve() == Path(args.test).resolve()
        for data, path in ((valid, args.valid), (None if same else test, args.test)):
            if data is not None and data.tags is not None:
                warn_unknown_tags(known, data, path)
                broken = gold_scheme_note(spec, data, path)
                if broken:
                    from rnnkit.cli.text_warnings import warn

                    warn(broken)
    return valid, test


def warn_unknown_tags(known: list[str], data: TaggingData, path: str) -> None:
    """Gold tags the model was not trained on (``known``: its tags) can only be counted wrong; when most are,
    the tags are likely another column or another tag set (a chunker's file scored with a POS model, UPOS
    '_').  Said by evaluate, and by train tagger for its --valid and --test files."""
    from rnnkit.cli.text_warnings import percent, warn

    gold, seen = Counter(t for sentence in data.tags for t in sentence), set(known)
    unknown = Counter({t: n for t, n in gold.items() if t not in seen})
    if unknown:
        total, missing = gold.total(), unknown.total()
        names = ", ".join(repr(t) for t, _ in unknown.most_common(5)) + (", ..." if len(unknown) > 5 else "")
        warn(f"{path}: {missing:,} of its {total:,} gold tags ({percent(missing, total)}: {names}) are tags the "
             f"model was not trained on (it knows {', '.join(map(repr, known[:10]))}"
             f"{', ...' if len(known) > 10 else ''}); they are counted as wrong"
             + ("; is the file tagged in the model's tag set and column?" if missing >= 0.5 * total else ""))
