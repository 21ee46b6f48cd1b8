"""``rnnkit train hmm --unsupervised --states K``: an HMM learned from untagged text by Baum-Welch (EM),
its states S0 .. S{K-1} the induced tags (part-of-speech induction), and how ``evaluate`` scores them.

A thin layer over :func:`rnnkit.hmm_em.baum_welch_restarts` and :mod:`rnnkit.metrics.induction`.  The
model is an HMM checkpoint (:func:`rnnkit.tagging.io.save_hmm`) with the metric ``"induction"``, so
``rnnkit tag`` applies it (unknown words through its suffix model) and ``rnnkit evaluate`` prints
many-to-one, one-to-one, V-measure and VI against a file's gold tags.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from rnnkit.cli.common import at_least_two, nonnegative_float, nonnegative_int, positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.errors import DataError
from rnnkit.tagging.io import DataSpec

FELL = 1e-9  # a fall of L larger than this times |L| is not rounding: EM never lowers L


def add_options(h: argparse.ArgumentParser) -> None:
    """``train hmm``'s options for EM (the data options, --output and --fold-width are shared)."""
    u = h.add_argument_group("unsupervised: Baum-Welch (EM) on untagged text, part-of-speech induction")
    u.add_argument("--unsupervised", action="store_true",
                   help="learn a first-order HMM with --states hidden states from the words alone (any tags in the "
                        "file are not read), by EM; its tags are the states S0 .. S{K-1}.  The log-likelihood is "
                        "printed after every iteration; --test FILE scores the states against FILE's gold tags")
    u.add_argument("--states", type=at_least_two, default=None, metavar="K",
                   help="the number of hidden states (e.g. 17, UD's UPOS tags; 45, the Penn Treebank's)")
    u.add_argument("--iterations", type=nonnegative_int, default=100, metavar="N",
                   help="EM iterations at most, each restart (default 100)")
    u.add_argument("--tol", type=nonnegative_float, default=1e-6,
                   help="stop a restart once an iteration raises the log-likelihood by less than this per word "
                        "(default 1e-6; 0 runs every --iterations)")
    u.add_argument("--restarts", type=positive_int, default=1, metavar="R",
                   help="R runs from random starts, seeds --seed .. --seed+R-1; the one of the highest final "
                        "log-likelihood is kept (EM finds a local maximum that depends on its start; default 1)")
    u.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed of the first restart's random start (default 0; restart r's seed is --seed + r - 1, "
                        "and that seed alone, --restarts 1, gives the model that restart gave)")


def refuse_em_options(args: argparse.Namespace) -> None:
    """Supervised ``train hmm``: refuse the EM options and untagged text."""
    for flag in ("--states", "--iterations", "--tol", "--restarts", "--seed"):
        refuse_unused(args, [(flag, True, "without --unsupervised (it sets up EM): add --unsupervised")])
    if args.format == "raw":
        raise ValueError("--format raw is text without tags: learn from it with --unsupervised --states K, or give "
                         "a tagged file (conllu, columns, slash, segmented)")


class _Progress:
    """The log-likelihood after every iteration of every restart, on stderr, checked to never fall."""

    def __init__(self, n_words: int, seeds: list[int], max_iter: int, tol: float) -> None:
        self.n_words, self.seeds, self.max_iter, self.tol = n_words, seeds, max_iter, tol
        self.histories: list[list[float]] = [[] for _ in seeds]
        self.falls = 0
        self.start = time.perf_counter()

    def __call__(self, r: int, t: int, ll: float) -> None:
        if t == 0:
            if r > 0:
                self.restart_done(r - 1)
            self.start = time.perf_counter()
            print(f"restart {r + 1}/{len(self.seeds)} (seed {self.seeds[r]})", file=sys.stderr)
        history = self.histories[r]
        gain = "" if not history else f", {(ll - history[-1]) / self.n_words:+.6f}"
        if history and ll < history[-1] - FELL * abs(history[-1]):
            from rnnkit.cli.text_warnings import warn

            self.falls += 1
            warn(f"iteration {t} lowered the log-likelihood by {history[-1] - ll:.6g}: EM never does that, so this is "
                 "a bug in rnnkit; please report it with the command that shows it")
        history.append(ll)
        print(f"  iteration {t:>4}  log-likelihood {ll:,.2f}  ({ll / self.n_words:.6f} per word{gain})",
              file=sys.stderr, flush=True)

    def restart_done(self, r: int) -> None:
        history = self.histories[r]
        iterations = len(history) - 1
        gain = (history[-1] - history[-2]) / self.n_words if iterations else float("inf")
        why = (f"converged: the last iteration gained less than --tol {self.tol:g} per word" if gain < self.tol
               else f"stopped at --iterations {self.max_iter}")
        seconds = time.perf_counter() - self.start
        print(f"restart {r + 1}: {iterations} iteration{'s' * (iterations != 1)}, {why}; log-likelihood "
              f"{history[-1]:,.2f} ({history[-1] / self.n_words:.6f} per word) in {seconds:.1f} s", file=sys.stderr)


def _read_words(args: argparse.Namespace, spec: DataSpec | None) -> tuple[list[list[str]], Any]:
    """The training sentences (blank ones left out) and the data as read (None for raw text)."""
    from rnnkit.cli.file_looks import conllu_reason
    from rnnkit.cli.tagging_data import read_data
    from rnnkit.data.files import read_text_file, text_lines

    if spec is None:  # raw: one sentence a line, words separated by whitespace
        lines = text_lines(read_text_file(args.train, args.encoding))
        why = conllu_reason(lines)
        if why:
            raise DataError(f"{args.train} looks like CoNLL-U ({why}), and --format raw reads one sentence a line: "
                            "give --format conllu")
        from rnnkit.cli.text_warnings import warn_unsegmented

        warn_unsegmented(lines[:2000], args.train, "EM would learn each unsegmented run as one word: segment it "
                         "first ('rnnkit segment SEGMENTER FILE')")
        data = None
        sentences = [line.split() for line in lines]
    else:
        data = read_data(args.train, spec, labelled=False, format_from="option",
                         plain_fix="give --format raw")
        sentences = data.words
    sentences = [s for s in sentences if s]
    if not sentences:
        raise DataError(f"{args.train}: no words to learn from (empty, or blank lines only); give a file of "
                        "sentences" + (", one a line, words separated by spaces" if spec is None else ""))
    if args.fold_width:
        from rnnkit.data.segmentation import fold_sentences

        sentences = fold_sentences(sentences)
    return sentences, data


def model_spec(args: argparse.Namespace, spec: DataSpec | None, data: Any) -> DataSpec:
    """The DataSpec the model keeps: how ``evaluate`` reads gold tags by default and ``tag --format`` the
    training format; raw text has no tags, so CoNLL-U's UPOS then."""
    from rnnkit.cli.tagging_data import fixed_columns

    if spec is None:
        return DataSpec("conllu", "upos", encoding=args.encoding)
    if spec.format == "columns" and len(data.source[0].rows[0]) >= 2:
        spec = fixed_columns(spec, data)  # a words-only file keeps "the last column" for its gold files
    return spec


def train_unsupervised(args: argparse.Namespace) -> int:
    import numpy as np

    from rnnkit.cli.tagging import describe, detail_lines
    from rnnkit.cli.tagging_data import read_data, spec_from_args
    from rnnkit.data.files import check_output_path
    from rnnkit.hmm_em import baum_welch_restarts, check_memory
    from rnnkit.tagging.io import save_hmm
    from rnnkit.tagging.loaded import LoadedTagger

    why = "with --unsupervised (EM learns a first-order HMM from words alone"
    refuse_unused(args, [("--order", True, f"{why}: order 2)"), ("--emission", True, f"{why}: by expected counts)"),
                         ("--add-k", True, f"{why}: by expected counts)"), ("--scheme", True, f"{why}: no tag scheme)"),
                         ("--repair-spans", True, f"{why}: no tags to repair)"),
                         ("--train-scheme", True, f"{why}: no tags to rewrite)"),
                         ("--valid", True, "with --unsupervised (EM has no validation step; --test FILE scores the "
                                           "states against FILE's gold tags)")])
    if args.states is None:
        raise ValueError("--unsupervised needs --states K, the number of hidden states (e.g. 17, UD's UPOS count)")
    if args.format == "segmented":
        raise ValueError("--format segmented reads characters with their word-boundary tags; EM learns from words: "
                         "give --format raw (a sentence a line, words separated by spaces)")
    if args.format == "raw" and args.test:
        raise ValueError("--test FILE is read as the training data is, and --format raw has no gold tags: score the "
                         "model with 'rnnkit evaluate MODEL GOLD --format conllu' (or columns, slash)")
    raw = "with --format raw (text without tags): give a tagged --format"
    refuse_unused(args, [("--tag-column", args.format == "raw", raw),
                         ("--word-column", args.format == "raw", raw)])
    check_output_path(args.output, "--output", make_folders=True, suffix=".safetensors", inputs=[args.train, args.test])
    spec = None if args.format == "raw" else spec_from_args(args)
    sentences, data = _read_words(args, spec)
    spec = model_spec(args, spec, data)
    test = read_data(args.test, spec, format_from="training") if args.test else None
    n_words = sum(map(len, sentences))
    types = len({w for s in sentences for w in s})
    check_memory(args.states, types, max(map(len, sentences)), "--states")
    print(f"train: {len(sentences):,} sentences, {n_words:,} words, {types:,} word types; {args.states} states, "
          f"EM up to {args.iterations} iterations (--tol {args.tol:g} per word), {args.restarts} "
          f"restart{'s' * (args.restarts > 1)}", file=sys.stderr)
    seeds = [args.seed + r for r in range(args.restarts)]
    progress = _Progress(n_words, seeds, args.iterations, args.tol)
    start = time.perf_counter()
    model, history, finals = baum_welch_restarts(sentences, args.states, [np.random.default_rng(s) for s in seeds],
                                                 max_iter=args.iterations, tol=args.tol, on_iteration=progress)
    progress.restart_done(len(seeds) - 1)
    best = finals.index(history[-1])
    if len(seeds) > 1:
        print(f"best: restart {best + 1} (seed {seeds[best]}), log-likelihood {history[-1]:,.2f}; the restarts' "
              f"final log-likelihoods {', '.join(f'{f:,.2f}' for f in finals)}", file=sys.stderr)
    extra = {"unsupervised": {"states": args.states, "seed": seeds[best], "restarts": args.restarts,
                              "iterations": len(history) - 1, "tol": args.tol, "words": n_words,
                              "history": history, "finals": finals, "read": args.format,
                              "seconds": round(time.perf_counter() - start, 3)}}
    save_hmm(args.output, model, spec, "induction", fold_width=args.fold_width, extra=extra)
    print(f"model saved: {args.output} (EM took {time.perf_counter() - start:.1f} s"
          + (f"; the log-likelihood fell {progress.falls} times, a bug" if progress.falls else "") + ")",
          file=sys.stderr)
    if test is not None:
        m = LoadedTagger(args.output).score(test)
        print(f"test: {describe('induction', m)}")
        print(detail_lines(m), end="")
    return 0


# ---------------------------------------------------------------------- evaluate and its report
def gold_spec(model_spec: DataSpec, fmt: str | None, tag_column: str | None, encoding: str) -> DataSpec:
    """How ``evaluate`` reads the gold tags of an unsupervised HMM's DATA: its ``--format`` and
    ``--tag-column``, each by default the model's (from its training data)."""
    from rnnkit.cli.tagging_data import tag_column_of

    fmt = fmt or model_spec.format
    same = fmt == model_spec.format
    if fmt == "columns":
        column = tag_column_of(fmt, tag_column, model_spec.tag_column if same else -1)
        return DataSpec("columns", column, model_spec.word_column if same else 0, encoding=encoding)
    return DataSpec(fmt, tag_column_of(fmt, tag_column, model_spec.tag_column if same else "upos"), encoding=encoding)


def describe_induction(m: dict[str, Any]) -> str:
    """The headline line of induced tags' scores."""
    line = (f"many-to-one {100 * m['many_to_one']:.2f}%, one-to-one {100 * m['one_to_one']:.2f}%, V-measure "
            f"{100 * m['v_measure']:.2f} (homogeneity {100 * m['homogeneity']:.2f}, completeness "
            f"{100 * m['completeness']:.2f}), VI {m['vi_bits']:.3f} bits; {len(m['clusters'])} states used, "
            f"{len(m['tags'])} gold tags, {m['tokens']:,} tokens")
    if m.get("oov_rate"):  # unknown words to score (none in the training text)
        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{100 * x:.2f}%"

        line += (f" (many-to-one on known words {pct(m['iv_many_to_one'])}, on unknown words "
                 f"{pct(m['oov_many_to_one'])}; {100 * m['oov_rate']:.2f}% of the tokens unknown)")
    return line


def state_lines(m: dict[str, Any]) -> str:
    """A line a state, the most used first: its tokens, its most frequent gold tag and that tag's share of
    them (what many-to-one maps it to), the tag one-to-one gives it ("-": none), its most frequent words."""
    from rnnkit.textwidth import display_width, ljust

    counts = {k: sum(row) for k, row in zip(m["clusters"], m["contingency"])}
    rows = []
    for k in sorted(m["clusters"], key=lambda k: -counts[k]):
        i = m["clusters"].index(k)
        tag = m["many_to_one_map"][k]
        share = m["contingency"][i][m["tags"].index(tag)] / counts[k]
        rows.append((k, f"{counts[k]:,}", f"{tag} {100 * share:.1f}%", m["one_to_one_map"][k] or "-",
                     " ".join(m.get("state_words", {}).get(k, []))))
    header = ("state", "tokens", "many-to-one", "one-to-one", "most frequent words")
    widths = [max(display_width(r[c]) for r in rows + [header]) for c in range(4)]
    lines = []
    for r in [header] + rows:
        lines.append(f"  {ljust(r[0], widths[0])}  {r[1]:>{widths[1]}}  {ljust(r[2], widths[2])}  "
                     f"{ljust(r[3], widths[3])}  {r[4]}".rstrip() + "\n")
    return "".join(lines)
