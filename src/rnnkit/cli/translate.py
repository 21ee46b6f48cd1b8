"""``rnnkit translate``: sentences from a file or standard input through a trained seq2seq model.

Translations go to stdout, one a line; a blank input line gives a blank output line, so output line k
answers input line k.  Beam search, n-best lists and attention plots as :mod:`rnnkit.seq2seq` gives
them; BLAS threads as ``train seq2seq`` sets them (:func:`rnnkit.cli.seq2seq_score.blas_threads`).
``--attention-out`` and ``--alignments`` write one line per output line (per n-best entry) beside the
translations, as :mod:`rnnkit.seq2seq.alignment` makes them.

Line numbers: ``--plot-attention N`` and the JSON's ``line`` count input lines from 1 (as editors and
error messages do); the n-best rows' index counts them from 0 (Moses' n-best format), so line N is
index N - 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.cli import apply_progress
from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.cli.given import given, refuse_unused
from rnnkit.cli.seq2seq_score import (add_decoding_options, blas_threads, check_decoding_options,
                                      require_attention, warn_cut)
from rnnkit.cli.text_warnings import warn, warn_unknown_tokens
from rnnkit.data.files import read_input, text_lines
from rnnkit.seq2seq.lengths import FAR, LONG_SOURCE

CHUNK_BATCHES = 16  # batches translated before their lines are written (the batches sort by length within)


def register(groups) -> None:
    t = groups.commands.add_parser(
        "translate", help="translate sentences with a trained seq2seq model",
        description="Translate one sentence a line from INPUT (or stdin); translations go to stdout, one a line: "
                    "a blank input line gives a blank output line, so output line k translates input line k. With "
                    "--nbest K: 'index ||| translation ||| score' lines, K per sentence (fewer, with a warning, when "
                    "the beam finds fewer; --nbest 1 given prints that row for the best alone), index the input line "
                    "counted from 0 (Moses' n-best format; --plot-attention and --attention-out's 'line' count from "
                    "1, so index i is line i+1); a blank line gets one line, an empty translation with score 0.  "
                    "Lines are written as each group of batches is done (standard input on a terminal, or "
                    "--line-buffered: as each line is); an empty input writes nothing and says so on standard "
                    "error. --attention-out and --alignments files appear, whole, at the end. Lines of more than 4 "
                    "times the tokens of the longest training source (1,000 for a checkpoint that does not record "
                    "it) are warned about: every output step attends over every source token.",
        formatter_class=HelpFormatter)
    t.add_argument("model", help="checkpoint from 'rnnkit train seq2seq' (e.g. runs/seq2seq/best.safetensors), or "
                                  "its run folder (its best.safetensors, else last.safetensors)")
    t.add_argument("input", nargs="?", help="source sentences, one a line (.gz/.xz too; default: stdin)")
    add_decoding_options(t)
    t.add_argument("--nbest", type=positive_int, default=1,
                   help="translations per sentence (at most --beam), as 'index ||| translation ||| score' rows "
                        "whose index counts input lines from 0; given, even as --nbest 1 (the best one and its "
                        "score), it prints rows (default: plain translations, one a line)")
    t.add_argument("--line-buffered", action="store_true",
                   help="standard input: translate each line as it arrives and write its translation at once, as "
                        "is done when standard input is a terminal (default for a pipe: the input is read to its "
                        "end, then translated in batches, which is faster); warnings about the input then look at "
                        "its first line")
    t.add_argument("--batch-size", type=positive_int, default=64, help="sentences decoded together")
    t.add_argument("--encoding", default="utf-8", help="text encoding of the input")
    t.add_argument("--plot-attention", type=positive_int, default=None, metavar="N",
                   help="write the attention heatmap of the sentence on input line N as a PNG; N counts from 1, "
                        "as editors do (the n-best index of line N is N-1)")
    t.add_argument("--plot-dir", default=".", help="folder for --plot-attention images")
    t.add_argument("--attention-out", metavar="FILE", default=None,
                   help="write the attention of every translation as JSON lines, one per output line (with "
                        "--nbest, one per n-best entry): {line (1-based input line), rank (0 = best), source "
                        "tokens, target tokens with '<eos>' last when the translation ended with it, attention: "
                        "a row per target token of weights over the source tokens, 4 decimals}; the weights the "
                        "search used; a blank line gives empty lists; compressed when FILE ends in .gz/.xz/.bz2")
    t.add_argument("--alignments", metavar="FILE", default=None,
                   help="write hard alignments in Pharaoh format, one line per output line (with --nbest, per "
                        "n-best entry): 'i-j' pairs, source token i (0-based) most attended by target token j "
                        "(0-based; <eos> left out), the argmax of --attention-out's rows; both count the model's "
                        "tokens (at --level punct a full stop is one), not the words of the printed line; "
                        "compressed when FILE ends in .gz/.xz/.bz2")
    apply_progress.add_option(t, counted="; the tokens: the source sentences', a batch decoded at a time")
    t.set_defaults(func=translate_cli)


def _input_lines(args: argparse.Namespace) -> tuple[list[str], str]:
    text, name = read_input(args.input, args.encoding)
    return text_lines(text), name


def translate_cli(args: argparse.Namespace) -> int:
    from rnnkit.seq2seq.io import load_translator

    if args.nbest > args.beam:
        raise ValueError(f"--nbest {args.nbest} lists more translations than the beam keeps (--beam {args.beam}); "
                         f"add --beam {args.nbest} or more")
    check_decoding_options(args)
    refuse_unused(args, [("--plot-dir", args.plot_attention is None, "without --plot-attention (it is where the "
                                                                     "plot goes): give --plot-attention N"),
                         ("--line-buffered", args.input is not None, "with an INPUT file (it is for standard input): "
                                                                     "pipe the file in"),
                         ("--line-buffered", args.plot_attention is not None, "with --plot-attention (which reads "
                                                                              "the input to its end)")])
    translator = load_translator(args.model)  # first: a missing model is reported before stdin is read
    n = args.plot_attention
    if args.replace_unk:
        require_attention(translator, args.model, "--replace-unk")
    if args.coverage_penalty:
        require_attention(translator, args.model, "--coverage-penalty")
    if n is not None:  # everything the plot needs is checked before the translating, which may take long
        require_attention(translator, args.model, "--plot-attention")
        _plot_folder(Path(args.plot_dir), n)
    _check_attention_files(args, translator)
    if _line_by_line(args):
        return _translate_stream(args, translator)
    lines, name = _input_lines(args)
    if n is not None and not lines:
        raise ValueError(f"--plot-attention {n}: {name} has no lines, so no sentence to plot")
    if n is not None and not 1 <= n <= len(lines):
        raise ValueError(f"Expected --plot-attention between 1 and {len(lines)} (the lines read), got {n}")
    if n is not None and not translator.source_tokenizer.tokenize(lines[n - 1]):
        raise ValueError(f"--plot-attention {n}: line {n} of {name} is blank, it has no attention to plot; "
                         "give the number of a line with a sentence")
    if not lines:
        _no_lines(name)
        return 0
    _input_hints(translator, lines, name, args.max_len)
    split = translator.source_tokenizer.tokenize  # the sources' tokens, counted only when a display is shown
    with blas_threads(args):
        with apply_progress.Shown(args.progress, lambda: sum(len(split(line)) for line in lines),
                                  "translating") as shown:  # closed before the warnings that follow
            out = _with_files(_attention_files(args),
                              lambda writers: _translate_lines(args, translator, lines, *writers, on_batch=shown))
        _warn_after(args, translator, out)
        if n is not None:
            path = _plot(translator, lines, out, n, Path(args.plot_dir))
            print(f"attention of sentence {n}: {path}", file=sys.stderr)
    return 0


def _warn_after(args: argparse.Namespace, translator: Any, out: list) -> None:
    """The warnings about the translations ``out``: cut at the length limit, fewer than --nbest."""
    from rnnkit.seq2seq.translate import EMPTY, count_cut

    warn_cut(count_cut(out), sum(t[0] is not EMPTY for t in out), translator, args.max_len)  # blank lines aside
    short = sum(1 for t in out if t[0] is not EMPTY and len(t) < args.nbest)
    if short:
        warn(f"{short:,} sentence(s) got fewer than --nbest {args.nbest} translations: the beam found fewer "
             "distinct ones within the length limit")


def _line_by_line(args: argparse.Namespace) -> bool:
    """Whether standard input is translated line by line as it arrives: asked for (--line-buffered), or a
    terminal, where a user types a sentence and waits for it (--plot-attention reads the input to its end).
    UTF-16, UTF-32 (and EBCDIC) input is read whole: its line ends are not the byte 0x0a a line is read up to (the
    encodings :func:`rnnkit.data.files.stdin_lines` refuses)."""
    from rnnkit.data.encodings import lines_end_in_newline_byte

    if args.input is not None or not lines_end_in_newline_byte(args.encoding):
        return False
    return args.line_buffered or (args.plot_attention is None and sys.stdin is not None and sys.stdin.isatty())


def _translate_stream(args: argparse.Namespace, translator: Any) -> int:
    """Translate standard input line by line, each translation written as soon as its line has come (the
    attention files still appear whole at the end); the input's warnings look at its first line."""
    from rnnkit.data.files import stdin_lines

    out: list = []

    def run(writers: list) -> None:
        with blas_threads(args):
            for k, line in enumerate(stdin_lines(args.encoding)):
                if k == 0:
                    _input_hints(translator, [line], "<stdin>", args.max_len)
                out.extend(_translate_lines(args, translator, [line], *writers, first=k))

    _with_files(_attention_files(args), run)
    if not out:
        _no_lines("<stdin>")
    _warn_after(args, translator, out)
    return 0


def _input_hints(translator: Any, lines: list[str], name: str, max_len: int | None) -> None:
    """The warnings about the input: a source<TAB>reference file, unsegmented text, another language, long lines."""
    input_format_hints(translator, lines, name)
    unknown_tokens_hint(translator, lines, name)
    long_lines_hint(translator, lines, name, max_len)


def _translate_lines(args: argparse.Namespace, translator: Any, lines: list[str], write_attention: Any,
                     write_alignments: Any, on_batch: Any = None, first: int = 0) -> list:
    """Translate ``lines`` chunk by chunk, each chunk's translations to stdout as soon as they are done and
    its attention rows and alignments to the two writers (None: not asked for); returns every sentence's
    translations.  ``on_batch``: told each batch's source tokens (the progress display); ``first``: the
    0-based input line of ``lines[0]`` (translated line by line, each call has one)."""
    from rnnkit.seq2seq.alignment import attention_record, hard_alignment, pharaoh
    from rnnkit.seq2seq.translate import translate

    attention = write_attention is not None or write_alignments is not None
    out: list = []
    chunk = CHUNK_BATCHES * args.batch_size  # sentences translated, then written, at a time
    # a blank line (no source token) has one translation, an empty one: it stays blank, as in segment,
    # tag and classify
    for start in range(0, len(lines), chunk):
        done = translate(translator, lines[start:start + chunk], args.beam, args.nbest, args.max_len,
                         args.length_norm, args.batch_size, args.replace_unk, args.min_len, attention,
                         args.no_repeat_ngram or 0, args.coverage_penalty, on_batch=on_batch,
                         beam_stop=args.beam_stop)
        if args.nbest == 1 and not given(args, "nbest"):  # --nbest 1 written: the best one's row, with its score
            rows = [nbest[0].text + "\n" for nbest in done]
        else:
            rows = [f"{first + start + i} ||| {t.text} ||| {t.norm_score:.4f}\n" for i, nbest in enumerate(done)
                    for t in nbest]
        _stdout("".join(rows))  # written as it is done: an interrupted run keeps what it translated
        if attention:
            records, links = [], []
            for i, nbest in enumerate(done):
                source = translator.source_tokenizer.tokenize(lines[start + i])
                for rank, t in enumerate(nbest):
                    rec = attention_record(first + start + i + 1, rank, source, t.tokens, t.finished, t.attention)
                    records.append(json.dumps(rec, ensure_ascii=False) + "\n")
                    # from the rounded rows: the two files always agree (a tie within 0.5e-4 goes to the first)
                    links.append(pharaoh(hard_alignment(rec["attention"], len(t.tokens)) if rec["attention"] else [])
                                 + "\n")
            if write_attention is not None:
                write_attention("".join(records))
            if write_alignments is not None:
                write_alignments("".join(links))
        out.extend(done)
    return out


def _stdout(text: str) -> None:
    """Write and flush ``text`` to stdout; its OSError (a full disk behind a redirection) is named
    ``<stdout>``, not after the attention file being written meanwhile."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        if exc.filename is None:
            exc.filename = "<stdout>"
        raise


def _no_lines(name: str) -> None:
    """The warning for an input ``name`` without lines (a filter given nothing): nothing to write, but said."""
    warn(f"{name}: no input lines, so nothing to translate")


def _attention_files(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(option, path or None) of the files of attention rows and of alignments, in _translate_lines' order."""
    return [("--attention-out", args.attention_out), ("--alignments", args.alignments)]


def _check_attention_files(args: argparse.Namespace, translator: Any) -> None:
    """--attention-out and --alignments: refused before any work for a model without attention, a path that
    cannot be written, the model or the input, or both options naming one file."""
    from rnnkit.data.files import check_output_path

    given = [(option, path) for option, path in _attention_files(args) if path is not None]
    for option, path in given:
        require_attention(translator, args.model, option)
        check_output_path(path, option, make_folders=True, suffix=".jsonl" if option == "--attention-out" else ".txt",
                          inputs=[args.model, args.input])
    if len(given) == 2 and (os.path.abspath(args.attention_out) == os.path.abspath(args.alignments) or (
            os.path.exists(args.attention_out) and os.path.exists(args.alignments)
            and os.path.samefile(args.attention_out, args.alignments))):
        raise ValueError(f"--attention-out and --alignments both name {args.alignments}; give each its own file")


def _with_files(files: list[tuple[str, str | None]], run: Any, writers: tuple = ()) -> Any:
    """``run(writers)``, one writer per (option, path) of ``files`` (None for a path not given), each file
    written atomically (compressed by its name) as ``run`` writes into it: whole when ``run`` returns, or
    not at all."""
    from rnnkit.data.files import write_text_with
    from rnnkit.errors import os_problem

    if not files:
        return run(list(writers))
    (option, path), rest = files[0], files[1:]
    if path is None:
        return _with_files(rest, run, (*writers, None))
    try:
        return write_text_with(path, lambda write: _with_files(rest, run, (*writers, write)))
    except OSError as exc:
        if exc.filename is None or os.fsdecode(exc.filename) != str(path):
            raise  # another file's (stdout's, the other output's)
        raise OSError(f"{option} {path}: cannot write ({os_problem(exc)}); choose another file") from None


def warn_tabbed(lines: list[str], name: str, consequence: str) -> bool:
    """Warn when most (4 in 5) of the source ``lines`` hold a tab, as the lines of a source<TAB>reference file do:
    each would be read whole, reference included, as one source sentence; ``consequence`` says so for the
    command and how to fix it.  True when it warned."""
    filled = [line for line in lines[:10_000] if line.strip()]
    tabbed = sum("\t" in line for line in filled)
    if filled and tabbed >= 0.8 * len(filled):
        warn(f"{name}: {tabbed:,} of its {len(filled):,} lines hold a tab, as a source<TAB>reference file does, and "
             f"{consequence}")
        return True
    return False


def input_format_hints(translator: Any, lines: list[str], name: str) -> None:
    """Warn when the input is a source<TAB>reference file (every line would be translated whole, reference
    included), or unsegmented Chinese/Japanese for a model that reads words."""
    from rnnkit.cli.text_warnings import unsegmented

    filled = [line for line in lines[:10_000] if line.strip()]
    tabbed = warn_tabbed(filled, name, "translate reads each whole line as one source sentence: to score the "
                                       "pairs, 'rnnkit evaluate MODEL FILE'; to translate the first column, 'cut -f1 "
                                       "FILE | rnnkit translate MODEL'")
    if not tabbed and translator.source_tokenizer.level not in ("char", "bpe"):  # bpe pieces need no spaces
        looks = unsegmented(filled, name)
        if looks:
            warn(f"{looks}, and the model reads words separated by spaces (it was trained with --level "
                 f"{translator.source_tokenizer.level}): segment it first ('rnnkit segment SEGMENTER FILE | "
                 "rnnkit translate MODEL'), or train with --source-level char")


def unknown_tokens_hint(translator: Any, lines: list[str], name: str) -> None:
    """Warn when a fifth or more of the input's tokens (of five or more; else all of them) are unknown to the
    model's source vocabulary: the input is then likely in another language than the model translates
    from (or the wrong direction), a copy model's too (it copies a name, not a whole sentence)."""
    vocab, tokenize = translator.source_vocab, translator.source_tokenizer.tokenize
    reads = "which reads them as <unk>"
    if getattr(translator.model.config, "copy", False):  # still a sign of another language, though it copies them
        reads = "whose encoder reads them as <unk> (copy attention can still copy them to the output)"
    warn_unknown_tokens(((t, t in vocab) for line in lines[:10_000] for t in tokenize(line)), name,
                        "the language the model translates from", reads=reads)


def long_lines_hint(translator: Any, lines: list[str], name: str, max_len: int | None) -> None:
    """Warn once when lines are far longer than the training sources (:meth:`LengthRule.far_too_long
    <rnnkit.seq2seq.lengths.LengthRule.far_too_long>`): a book saved as one line decoded for hours without a
    word, every output step attending over all its tokens."""
    rule = translator.length_rule
    far = [(n, k) for k, n in enumerate(map(len, map(translator.source_tokenizer.tokenize, lines)), start=1)
           if rule.far_too_long(n)]
    if not far:
        return
    n, k = max(far, key=lambda nk: nk[0])  # the longest, the first of equals
    steps = int(rule.limits(np.array([n]), max_len)[0])
    if rule.longest_source is not None:
        beyond = (f"over {FAR} times the longest training source ({rule.longest_source:,}), a length the model never "
                  "learnt")
    else:
        beyond = (f"over {LONG_SOURCE:,}, longer than training sentences are (this checkpoint, written before it kept "
                  "its training lengths, cannot say)")
    others = len(far) - 1
    more = "" if not others else " (so has 1 more line)" if others == 1 else f" (so have {others:,} more lines)"
    warn(f"{name}: line {k} has {n:,} source tokens, {beyond}{more}; decoding costs time and memory in proportion "
         f"to its length times the output's (up to {steps:,} output steps, each attending over all {n:,} tokens): "
         "split long lines into sentences, one a line")


def _plot_folder(folder: Path, n: int) -> None:
    """Make --plot-dir (and check matplotlib is there) before translating, and check the plot of line
    ``n`` can be written there: a path that cannot be a folder, a folder this user may not write into
    (read-only) and an attention_N.png that is a folder are one line each, said before the work."""
    from rnnkit.errors import os_problem
    from rnnkit.plotting import matplotlib_parts

    if str(folder) == "-":  # standard output's usual name, not a folder to make
        raise ValueError("--plot-dir -: the plots cannot go to standard output; give a folder name, e.g. plots")
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
