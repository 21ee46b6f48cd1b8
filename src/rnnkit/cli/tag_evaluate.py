"""The taggers' ``rnnkit evaluate``: a trained tagger, segmenter or HMM
(:class:`~rnnkit.tagging.loaded.LoadedTagger`) scored on a gold file read the way its training data was;
``rnnkit tag`` and ``rnnkit segment`` are :mod:`rnnkit.cli.tag`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from rnnkit.cli.apply_progress import Shown
from rnnkit.cli.dict_evaluate import check_dict_use, dict_scores, side_by_side
from rnnkit.cli.tagging import describe, detail_lines
from rnnkit.cli.tag_notes import scored_note
from rnnkit.cli.tagging_data import looks_like_conllu, read_data, warn_unknown_tags
from rnnkit.cli.text_warnings import fold_width_hint, raw_segmented_file, warn
from rnnkit.data.files import check_output_path, write_text_file
from rnnkit.jsonline import json_line
from rnnkit.tagging.checks import check_gold_spans, gold_scheme_note
from rnnkit.tagging.io import DataSpec
from rnnkit.tagging.loaded import LoadedTagger


def evaluate_tagger(model_path: str, data_path: str, args: argparse.Namespace) -> int:
    from rnnkit.cli.given import refuse_unused
    from rnnkit.cli.hmm_em import gold_spec

    loaded = LoadedTagger(model_path)
    induced = loaded.task["metric"] == "induction"
    if induced:  # its states are no gold tags: the gold file's format and column are the user's to choose
        refuse_unused(args, [("--errors", True, f"for {model_path}, an unsupervised HMM (its states are never the "
                                                "gold tags, so every token would be an error)")])
    chosen = induced or loaded.from_json  # an HMM's JSON file holds no data format: the user's too (default CoNLL-U)
    if chosen:
        spec = gold_spec(loaded.spec, args.format, args.tag_column, args.encoding or "utf-8")
        if loaded.from_json:  # its tags' scheme is the model's own (BIO spans are scored as spans)
            spec = DataSpec(**{**spec.to_dict(), "scheme": loaded.spec.scheme})
    else:
        supervised = f"for {model_path}, which reads DATA as it was trained (it applies to unsupervised HMMs)"
        refuse_unused(args, [("--format", True, supervised), ("--tag-column", True, supervised)])
        spec = DataSpec(**{**loaded.spec.to_dict(), "encoding": args.encoding or "utf-8"})  # as tag and segment
    check_dict_use(args, loaded, model_path)
    data = read_data(data_path, spec, format_from="option" if chosen and args.format else "model")
    if spec.format == "segmented":
        raw_segmented_file(data, data_path, gold=True)  # raw text as gold: every sentence one word, F1 near 0
        fold_width_hint(loaded, "".join(c for s in data.words for c in s), data_path)
    check_gold_spans(spec, data, data_path)  # span F1 of gold tags that are not the scheme's (a POS column)
    note = gold_scheme_note(spec, data, data_path)
    if note:
        warn(note)
    if args.errors is not None:
        check_output_path(args.errors, "--errors", inputs=(data_path, model_path))
    zero: list[int] = []  # sentences scored on a fallback guess: an HMM's of probability 0,
    pathless: list[int] = []  # and those the scheme's rules allow no sequence of the model's tags
    # with --dict a second pass follows, "evaluating with --dict" (rnnkit.cli.dict_evaluate)
    desc = "evaluating without --dict" if getattr(args, "user_dict", None) else "evaluating"
    with Shown(args.progress, sum(map(len, data.words)), desc) as shown:
        predicted = loaded.predict(data, impossible=zero, no_path=pathless, on_batch=shown)
    m = loaded.score(data, predicted)
    if zero or pathless:  # one warning: how many, the first of them, why (as tag and segment say it)
        unit, number = sentence_numbers(data, data_path, spec)
        warn(scored_note(data_path, loaded, [number(i) for i in zero], [number(i) for i in pathless],
                         sum(map(bool, data.words)), unit))
    if args.errors is not None:
        wrong = write_errors(args.errors, data, predicted)
        print(f"{wrong:,} sentence{'s' * (wrong != 1)} with a wrong tag written to {args.errors}", file=sys.stderr)
    if spec.format != "segmented" and not induced:  # segmented text's gold tags are made from its spaces
        warn_unknown_tags(loaded.tags, data, data_path)
    metric = loaded.task["metric"]
    with_dict = dict_scores(args, loaded, data) if getattr(args, "user_dict", None) else None
    if args.json:
        extra = {} if with_dict is None else {"with_dict": {k: v for k, v in with_dict.items() if k != "main"}}
        print(json_line({**{k: v for k, v in m.items() if k != "main"}, **extra}))
    else:
        print(f"{data_path}: {describe(metric, m)}")
        print(detail_lines(m), end="")
        if with_dict is not None:
            print(side_by_side(m, with_dict, args.user_dict), end="")
    return 0


def sentence_numbers(data: Any, path: str, spec: DataSpec) -> tuple[str, Callable[[int], int]]:
    """``(unit, number)``: how a warning names sentence i of ``data`` read from ``path``: by the line it starts
    on ("line"; a segmented file's line is its sentence), or, for a CoNLL-U file read as segmented text
    (whose reader keeps no line numbers), by its number from 1 ("sentence")."""
    source = data.source
    if source and hasattr(source[0], "line_number"):
        return "line", lambda i: source[i].line_number
    conllu = spec.format == "segmented" and Path(path).is_file() and looks_like_conllu(path, spec.encoding)
    return ("sentence" if conllu else "line"), lambda i: i + 1


def write_errors(path: str, data: Any, predicted: list[list[str]]) -> int:
    """Write every sentence of ``data`` with a wrong tag as one line, ``N<TAB>tokens``: N its number in the
    file (from 1), a right token as word/TAG, a wrong one as [word GOLD->PREDICTED]; returns how many."""
    lines = []
    for n, (words, gold, pred) in enumerate(zip(data.words, data.tags, predicted), start=1):
        if gold != pred:
            lines.append(f"{n}\t" + " ".join(f"{w}/{g}" if g == p else f"[{w} {g}->{p}]"
                                             for w, g, p in zip(words, gold, pred)) + "\n")
    write_text_file(path, "".join(lines))  # whole or not at all
    return len(lines)
