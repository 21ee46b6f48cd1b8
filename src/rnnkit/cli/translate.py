"""``rnnkit translate``: sentences from a file or standard input through a trained seq2seq model.

Translations go to stdout, one a line; a blank input line gives a blank output line, so output line k
answers input line k.  Beam search, n-best lists and attention plots as :mod:`rnnkit.seq2seq` gives
them; BLAS threads as ``train seq2seq`` sets them (:func:`rnnkit.cli.seq2seq_score.blas_threads`).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.seq2seq_score import (add_decoding_options, blas_threads, check_decoding_options,
                                      require_attention, warn_cut)
from rnnkit.cli.text_warnings import warn
from rnnkit.data.files import read_input, text_lines

CHUNK_BATCHES = 16  # batches translated before their lines are written (the batches sort by length within)


def register(groups) -> None:
    t = groups.commands.add_parser(
        "translate", help="translate sentences with a trained seq2seq model",
        description="Translate one sentence a line from INPUT (or stdin); translations go to stdout, one a line: "
                    "a blank input line gives a blank output line, so output line k translates input line k. With "
                    "--nbest K: 'index ||| translation ||| score' lines, K per sentence (fewer, with a warning, when "
                    "the beam finds fewer), index the 0-based input line; a blank line gets one line, an empty "
                    "translation with score 0.  Lines are written as each group of batches is done.",
        formatter_class=HelpFormatter)
    t.add_argument("model", help="checkpoint from 'rnnkit train seq2seq' (e.g. runs/seq2seq/best.safetensors)")
    t.add_argument("input", nargs="?", help="source sentences, one a line (.gz/.xz too; default: stdin)")
    add_decoding_options(t)
    t.add_argument("--nbest", type=positive_int, default=1, help="translations per sentence (at most --beam)")
    t.add_argument("--batch-size", type=positive_int, default=64, help="sentences decoded together")
    t.add_argument("--encoding", default="utf-8", help="text encoding of the input")
    t.add_argument("--plot-attention", type=positive_int, default=None, metavar="N",
                   help="write the attention heatmap of the sentence on input line N (1-based) as a PNG")
    t.add_argument("--plot-dir", default=".", help="folder for --plot-attention images")
    t.set_defaults(func=translate_cli)


def _input_lines(args: argparse.Namespace) -> tuple[list[str], str]:
    text, name = read_input(args.input, args.encoding)
    return text_lines(text), name


def translate_cli(args: argparse.Namespace) -> int:
    from rnnkit.seq2seq.io import load_translator
    from rnnkit.seq2seq.translate import EMPTY, count_cut, translate

    if args.nbest > args.beam:
        raise ValueError(f"--nbest {args.nbest} lists more translations than the beam keeps (--beam {args.beam}); "
                         f"add --beam {args.nbest} or more")
    check_decoding_options(args)
    refuse_unused(args, [("--plot-dir", args.plot_attention is None, "without --plot-attention (it is where the "
                                                                     "plot goes): give --plot-attention N")])
    translator = load_translator(args.model)  # first: a missing model is reported before stdin is read
    n = args.plot_attention
    if args.replace_unk:
        require_attention(translator, args.model, "--replace-unk")
    if n is not None:  # everything the plot needs is checked before the translating, which may take long
        require_attention(translator, args.model, "--plot-attention")
        _plot_folder(Path(args.plot_dir), n)
    lines, name = _input_lines(args)
    if n is not None and not lines:
        raise ValueError(f"--plot-attention {n}: {name} has no lines, so no sentence to plot")
    if n is not None and not 1 <= n <= len(lines):
        raise ValueError(f"Expected --plot-attention between 1 and {len(lines)} (the lines read), got {n}")
    if n is not None and not translator.source_tokenizer.tokenize(lines[n - 1]):
        raise ValueError(f"--plot-attention {n}: line {n} of {name} is blank, it has no attention to plot; "
                         "give the number of a line with a sentence")
    input_format_hints(translator, lines, name)
    unknown_tokens_hint(translator, lines, name)
    out: list = []
    chunk = CHUNK_BATCHES * args.batch_size  # sentences translated, then written, at a time
    with blas_threads(args):
        # a blank line (no source token) has one translation, an empty one: it stays blank, as in segment,
        # tag and classify
        for start in range(0, len(lines), chunk):
            done = translate(translator, lines[start:start + chunk], args.beam, args.nbest, args.max_len,
                             args.length_norm, args.batch_size, args.replace_unk, args.min_len)
            if args.nbest == 1:
                rows = [nbest[0].text + "\n" for nbest in done]
            else:
                rows = [f"{start + i} ||| {t.text} ||| {t.norm_score:.4f}\n" for i, nbest in enumerate(done)
                        for t in nbest]
            sys.stdout.write("".join(rows))
            sys.stdout.flush()  # written as it is done: an interrupted run keeps what it translated
            out.extend(done)
        warn_cut(count_cut(out), sum(t[0] is not EMPTY for t in out), translator, args.max_len)  # blank lines aside
        short = sum(1 for t in out if t[0] is not EMPTY and len(t) < args.nbest)
        if short:
            warn(f"{short:,} sentence(s) got fewer than --nbest {args.nbest} translations: the beam found fewer "
                 "distinct ones within the length limit")
        if n is not None:
            path = _plot(translator, lines, out, n, Path(args.plot_dir))
            print(f"attention of sentence {n}: {path}", file=sys.stderr)
    return 0


def input_format_hints(translator: Any, lines: list[str], name: str) -> None:
    """Warn when the input is a source<TAB>reference file (every line would be translated whole, reference
    included), or unsegmented Chinese/Japanese for a model that reads words."""
    from rnnkit.cli.text_warnings import unsegmented

    filled = [line for line in lines[:10_000] if line.strip()]
    tabbed = sum("\t" in line for line in filled)
    if filled and tabbed >= 0.8 * len(filled):
        warn(f"{name}: {tabbed:,} of its {len(filled):,} lines hold a tab, as a source<TAB>reference file does, and "
             "translate reads each whole line as one source sentence: to score the pairs, 'rnnkit evaluate MODEL "
             "FILE'; to translate the first column, 'cut -f1 FILE | rnnkit translate MODEL'")
    elif translator.source_tokenizer.level != "char":
        looks = unsegmented(filled, name)
        if looks:
            warn(f"{looks}, and the model reads words separated by spaces (it was trained with --level "
                 f"{translator.source_tokenizer.level}): segment it first ('rnnkit segment SEGMENTER FILE | "
                 "rnnkit translate MODEL'), or train with --source-level char")


def unknown_tokens_hint(translator: Any, lines: list[str], name: str) -> None:
    """Warn when a fifth or more of the input's tokens (of five or more; else all of them) are unknown to the
    model's source vocabulary: the input is then likely in another language than the model translates
    from (or the wrong direction)."""
    vocab, tokenize = translator.source_vocab, translator.source_tokenizer.tokenize
    unknown: Counter[str] = Counter()
    total = 0
    for line in lines[:10_000]:
        tokens = tokenize(line)
        total += len(tokens)
        unknown.update(t for t in tokens if t not in vocab)
    if (total >= 5 and unknown.total() >= 0.2 * total) or (total and unknown.total() == total):  # short: all
        common = ", ".join(repr(t) for t in sorted(unknown, key=lambda t: (-unknown[t], t))[:5])
        warn(f"{name}: {unknown.total():,} of its {total:,} tokens ({100 * unknown.total() / total:.0f}%: {common}, ...) "
             "are unknown to the model, which reads them as <unk>; is the input in the language the model translates "
             "from (and written as its training data was: tokenised, lowercased)?")


def _plot_folder(folder: Path, n: int) -> None:
    """Make --plot-dir (and check matplotlib is there) before translating, and check the plot of line
    ``n`` can be written there: a path that cannot be a folder, a folder this user may not write into
    (read-only) and an attention_N.png that is a folder are one line each, said before the work."""
    from rnnkit.errors import os_problem
    from rnnkit.plotting import matplotlib_parts

    matplotlib_parts()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"--plot-dir {folder}: cannot make the folder ({os_problem(exc)}); choose another "
                      "--plot-dir") from None
    if not os.access(folder, os.W_OK | os.X_OK):  # the image is written to a temporary beside it, then renamed
        raise ValueError(f"--plot-dir {folder}: no permission to write into this folder; choose another "
                         "--plot-dir, or change its permissions")
    target = folder / f"attention_{n}.png"
    if target.is_dir():
        raise ValueError(f"--plot-dir {folder}: {target} is a folder, where --plot-attention {n} writes its image; "
                         "choose another --plot-dir, or move the folder")


def _plot(translator: Any, lines: list[str], out: list, n: int, folder: Path) -> Path:
    """The attention heatmap of input line ``n`` (1-based, not blank) as attention_N.png in ``folder``."""
    from rnnkit.seq2seq.plot import plot_attention
    from rnnkit.seq2seq.translate import attention_matrix

    weights, src, tgt = attention_matrix(translator, lines[n - 1], out[n - 1][0])
    return plot_attention(weights, src, tgt, folder / f"attention_{n}.png", title=f"sentence {n}")
