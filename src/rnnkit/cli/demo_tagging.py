"""``rnnkit demo tagging`` and ``rnnkit demo segment``: sequence labelling for a class, with no data to find.

Thin wrappers of :func:`rnnkit.demos.tagging.run_tagging_demo` (English parts of speech: an HMM and a
BiLSTM-CRF) and :func:`rnnkit.demos.segment.run_segment_demo` (Chinese word segmentation as BMES tagging).
"""
from __future__ import annotations

import argparse

from rnnkit.cli.charlm_demo import refuse_main_demo_options
from rnnkit.cli.common import HelpFormatter, nonnegative_int, positive_int, run_folder
from rnnkit.cli.seq2seq_score import blas_threads


def _common_options(p: argparse.ArgumentParser, defaults, run_dir: str, sentences: str) -> None:
    p.add_argument("--seed", type=nonnegative_int, default=defaults.seed,
                   help="random seed of the sentences drawn and of the network's weights and training")
    p.add_argument("--epochs", type=positive_int, default=defaults.epochs,
                   help="passes of the BiLSTM-CRF over the training sentences")
    p.add_argument("--train-size", type=positive_int, default=defaults.train_size, metavar="N",
                   help=f"training sentences drawn from the demo's {sentences} grammar")
    p.add_argument("--run-dir", type=run_folder, default=run_dir,
                   help="where the models, their checkpoints and the demo's data (train.txt, valid.txt, test.txt) "
                        "go; an earlier run's there are replaced, as the demo says")
    p.add_argument("--progress", choices=["auto", "bar", "lines", "none"], default="none",
                   help="progress display of the BiLSTM-CRF's training")


def register(groups) -> None:
    from rnnkit.demos.segment import DEFAULTS as SEGMENT
    from rnnkit.demos.tagging import DEFAULTS as TAGGING

    t = groups.demo.add_parser(
        "tagging", help="an HMM and a BiLSTM-CRF learn English parts of speech from a built-in grammar (under a "
                        "minute)",
        description="Draw part-of-speech tagged English sentences from a small built-in grammar whose words are "
                    "ambiguous (fish, can, saw, book: noun or verb; like: verb or preposition), train a trigram HMM "
                    "(Viterbi) and a BiLSTM-CRF with character features on them, print both models' token accuracy "
                    "on held-out sentences next to the most-frequent-tag baseline, and tag showcase sentences "
                    "(time flies like an arrow; fruit flies like a banana; words never seen) side by side.  The "
                    "models are saved in --run-dir for rnnkit tag and rnnkit evaluate.  One BLAS thread unless "
                    "rnnkit --threads N says otherwise.",
        formatter_class=HelpFormatter)
    _common_options(t, TAGGING, "runs/tagging", "English")
    t.set_defaults(func=demo_tagging)

    s = groups.demo.add_parser(
        "segment", help="中文分词: Chinese word segmentation as BMES character tagging, from a built-in grammar "
                        "(under a minute)",
        description="Draw segmented Chinese sentences from a small built-in grammar, train a trigram HMM and a "
                    "BiLSTM-CRF over characters and character bigrams to tag each character B, M, E or S, print "
                    "their word precision, recall and F1 on held-out sentences next to forward maximum matching "
                    "with the training word list, and segment showcase sentences (南京市长江大桥, 乒乓球拍卖完了, "
                    "研究生命的起源 ...) with each model's tags.  The models are saved in --run-dir for rnnkit "
                    "segment and rnnkit evaluate.  One BLAS thread unless rnnkit --threads N says otherwise.",
        formatter_class=HelpFormatter)
    _common_options(s, SEGMENT, "runs/segment", "Chinese")
    s.set_defaults(func=demo_segment)


def demo_tagging(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from rnnkit.demos.tagging import DEFAULTS, run_tagging_demo

    refuse_main_demo_options(args, "tagging")
    cfg = replace(DEFAULTS, seed=args.seed, epochs=args.epochs, train_size=args.train_size)
    with blas_threads(args):  # small matrices: one thread is faster, and leaves the other cores alone
        run_tagging_demo(cfg, args.run_dir, progress=args.progress, log=print)
    return 0


def demo_segment(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from rnnkit.demos.segment import DEFAULTS, run_segment_demo

    refuse_main_demo_options(args, "segment")
    cfg = replace(DEFAULTS, seed=args.seed, epochs=args.epochs, train_size=args.train_size)
    with blas_threads(args):
        run_segment_demo(cfg, args.run_dir, progress=args.progress, log=print)
    return 0
