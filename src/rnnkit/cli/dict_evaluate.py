"""``rnnkit evaluate SEGMENTER DATA --dict FILE``: how much a user dictionary changes a segmenter's word F1.

DATA (segmented gold text) is scored twice: as ``evaluate`` always scores it, and as ``rnnkit segment
--dict FILE`` segments its sentences (each read as written text: the words joined, a space only where
written text has one, :func:`rnnkit.tagging.segmenter.written_lines`), the dictionary's words kept whole
by the same constrained decoding (:func:`rnnkit.tagging.segmenter.segment_lines`).  Both scores are
printed side by side, with the change; ``--json`` gives the second under ``"with_dict"``.

A dictionary holding the test set's own words scores what the test already knows: a fair comparison takes
its words from elsewhere (the training data, a name list), which this command cannot check.
"""
from __future__ import annotations

import argparse
from typing import Any

from rnnkit.data.user_dict import UserDict


def add_dict_option(e: argparse.ArgumentParser) -> None:
    """``--dict FILE`` of ``evaluate`` (registered by rnnkit.cli.tag, after rnnkit.cli.evaluate; read by
    rnnkit.cli.tag_evaluate)."""
    e.add_argument("--dict", action="append", metavar="FILE", dest="user_dict",
                   help="segmentation models: also score DATA segmented with this user dictionary's words kept "
                        "whole, as 'rnnkit segment --dict FILE' does, and print both word F1s side by side (give "
                        "--dict more than once for several files)")


def read_dicts(paths: list[str] | None) -> UserDict | None:
    """The words of the ``--dict`` files (one dictionary), None without any."""
    from rnnkit.data.user_dict import read_user_dict

    words = None
    for path in paths or ():
        words = read_user_dict(path, words)
    return words


def check_dict_use(args: argparse.Namespace, loaded: Any, model_path: str) -> None:
    """--dict scores a segmenter; for another tagger, or with --errors (whose sentences would be the model's
    alone, not those of the dictionary's segmentation), refuse it before any work."""
    if not getattr(args, "user_dict", None):
        return
    if loaded.task["metric"] != "word_f1":
        raise ValueError(f"--dict keeps a user dictionary's words whole in a segmentation, and {model_path} is no "
                         "segmentation model (trained with --format segmented): leave --dict out")
    if args.errors is not None:
        raise ValueError("--errors writes the model's own wrong sentences, not those of its segmentation with "
                         "--dict: give one of them")


def dict_scores(args: argparse.Namespace, loaded: Any, data: Any) -> dict[str, Any]:
    """Word F1 of DATA's sentences segmented with the --dict words kept whole; "dictionary_words" holds how
    many words the dictionary has.  Its progress (--progress) is labelled "evaluating with --dict"."""
    from rnnkit.data.segmentation import tags_to_words
    from rnnkit.tagging.scoring import word_scores
    from rnnkit.tagging.segmenter import segment_lines, written_lines

    from rnnkit.cli.apply_progress import Shown
    from rnnkit.cli.text_warnings import warn
    from rnnkit.data.user_dict import covered_characters, lexicon_warning

    words = read_dicts(args.user_dict)
    gold = [tags_to_words(c, t) for c, t in zip(data.words, data.tags)]
    lines = written_lines(gold)
    lexicon = lexicon_warning(words, *covered_characters(words, lines))  # as segment --dict warns
    if lexicon:
        warn(lexicon)
    characters = sum(len("".join(line.split())) for line in lines)  # those segment_lines tells on_batch of
    with Shown(args.progress, characters, "evaluating with --dict") as shown:  # the second pass's own display
        pred = segment_lines(loaded, lines, words, on_batch=shown)
    fold = bool(loaded.fold_width)
    m = word_scores(gold, pred, loaded.task.get("train_words"), fold)
    return {**m, "dictionary_words": len(words)}


def side_by_side(without: dict[str, Any], with_dict: dict[str, Any], paths: list[str]) -> str:
    """Two lines, word precision, recall, F1 and OOV recall without and with the dictionary, and the change."""
    def row(name: str, m: dict[str, Any]) -> str:
        oov = "n/a" if m.get("oov_recall") is None else f"{100 * m['oov_recall']:.2f}%"
        return (f"  {name:<16} precision {100 * m['precision']:6.2f}% recall {100 * m['recall']:6.2f}% "
                f"F1 {100 * m['f1']:6.2f}  OOV recall {oov}")

    change = 100 * (with_dict["f1"] - without["f1"])
    n = with_dict["dictionary_words"]
    return "\n".join([f"user dictionary {', '.join(paths)} ({n:,} word{'' if n == 1 else 's'}): word F1 "
                      f"{change:+.2f} points",
                      row("without --dict", without), row("with --dict", with_dict)]) + "\n"
