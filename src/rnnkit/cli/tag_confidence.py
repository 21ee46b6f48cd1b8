"""``rnnkit tag --probs``, ``--nbest K`` and ``--spans``: the tagger's probabilities
(:mod:`rnnkit.tagging.confidence`) written next to, or instead of, its tags.

* ``--probs``: the marginal probability of each predicted tag, to 4 decimals: raw text ``word/TAG/0.9731``
  (slash text: its own text, IDs, [compounds] and spaces kept, each token ``word/TAG/0.9731``);
  CoNLL-U ``TagProb=0.9731`` added to the MISC column; columns: one more column after the predictions.
* ``--nbest K``: a block per sentence, one line per sequence, best first, ``RANK<TAB>PROB<TAB>word/TAG ...``
  (PROB to 4 significant digits), and a blank line after each sentence (an empty sentence: ``1<TAB>1<TAB>``,
  its one sequence, the empty one; slash input: one block per input line, as raw text, a blank line or an ID
  alone an empty sentence's).
* ``--spans``: one JSON line per sentence, ``{"spans": [{"start", "end", "type", "text", "prob"}]}``,
  ``end`` exclusive (token indices from 0), ``prob`` the span's exact probability (6 decimals; null
  where it is undefined: an HMM's sentence of probability 0).

Neural taggers (CRF or softmax output) and HMMs alike.  An HMM's sentence of probability 0 (no tag path can
produce it) has no probabilities: ``-`` (:data:`UNDEFINED`) stands for them (``word/TAG/-``, ``TagProb=-``;
``--nbest``: one line, the fallback tags with ``-``; ``--spans``: ``null``), and ``rnnkit tag`` warns of it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math

from rnnkit.cli.common import positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.data.columns import format_columns
from rnnkit.data.conll import format_conllu
from rnnkit.data.slash import format_slash, lines_around
from rnnkit.tagging.confidence import SPAN_SCHEMES, confidence
from rnnkit.tagging.io import DataSpec, TaggingData
from rnnkit.tagging.loaded import LoadedTagger

UNDEFINED = "-"  # written for a probability of a sentence the model gives probability 0 (P(t | w) = 0 / 0)


def add_options(t: argparse.ArgumentParser) -> None:
    t.add_argument("--probs", action="store_true",
                   help="add each predicted tag's marginal probability: word/TAG/PROB (raw; slash: the input's text "
                        "kept, which then no longer reads as word/TAG), TagProb=PROB in MISC (conllu), a column after "
                        "the predictions (columns); '-' for a sentence an HMM gives probability 0 (warned of)")
    t.add_argument("--nbest", type=positive_int, metavar="K",
                   help="print the K most probable tag sequences of each sentence with their probabilities, one "
                        "'RANK<TAB>PROB<TAB>word/TAG ...' line each, a blank line after each sentence (an empty "
                        "line: '1<TAB>1<TAB>', its one sequence, the empty one; a sentence an HMM gives probability 0: "
                        "'1<TAB>-<TAB>' and its fallback tags; neural "
                        "taggers and HMMs; a K whose back-pointers for one sentence would pass 1 GiB is refused)")
    t.add_argument("--spans", action="store_true",
                   help="print one JSON line per sentence with its predicted spans (start, end exclusive, type, "
                        "text, and prob, the span's exact probability); neural or HMM models with BIO, IOB1 or "
                        "BIOES tags")


def wanted(args: argparse.Namespace) -> bool:
    """Whether any of the three options was given (otherwise tag's output is as it always was)."""
    return bool(args.probs or args.nbest or args.spans)


def check_options(args: argparse.Namespace, loaded: LoadedTagger) -> None:
    """Refuse, in one line, an option the model cannot serve or that another one makes moot."""
    if args.nbest and args.spans:
        raise ValueError("--nbest and --spans are two different outputs: give one of them")
    refuse_unused(args, [("--probs", bool(args.nbest), "with --nbest (its rows carry each sequence's probability): "
                                                        "leave --nbest out for each tag's"),
                         ("--probs", args.spans, "with --spans (which gives each span's probability): leave --spans "
                                                 "out for each tag's")])
    if args.spans and loaded.spec.scheme not in SPAN_SCHEMES:
        raise ValueError(f"--spans needs a model with span tags (scheme bio, iob1 or bioes); {args.model} has "
                         f"scheme {loaded.spec.scheme}: leave --spans out")


def format_block(args: argparse.Namespace, loaded: LoadedTagger, data: TaggingData, spec: DataSpec | None,
                 column: str | None = None, impossible: list[int] | None = None,
                 no_path: list[int] | None = None) -> str:
    """The text of one block of sentences with the probabilities asked for; ``column``: CoNLL-U's column for
    the tags, as :func:`rnnkit.tagging.io.format_predictions` takes it; ``impossible``: a list that gets the
    index of each sentence of probability 0 under an HMM (its probabilities are written as :data:`UNDEFINED`);
    ``no_path``: one that gets those the scheme allows no tag sequence (:meth:`LoadedTagger.no_path`), instead."""
    pathless = loaded.no_path(data)
    found = confidence(loaded, data, nbest=args.nbest or 0, spans=args.spans, pathless=pathless)
    if no_path is not None:
        no_path.extend(sorted(pathless))
    if impossible is not None:
        impossible.extend(i for i, c in enumerate(found) if not c.possible and i not in pathless)
    if args.spans:
        lines = [json.dumps({"spans": [{**sp, "prob": None if math.isnan(sp["prob"]) else round(sp["prob"], 6)}
                                       for sp in c.spans]}, ensure_ascii=False) + "\n" for c in found]
        return _per_input_line(lines, data, spec, json.dumps({"spans": []}) + "\n")
    if args.nbest:
        lines = []
        for words, c in zip(data.words, found):
            rows = c.nbest if c.possible else [(c.tags, None)]  # no sequence is possible: the fallback guess
            lines.append("".join(f"{rank}\t{UNDEFINED if p is None else format(p, '.4g')}\t"
                                 + " ".join(f"{w}/{t}" for w, t in zip(words, tags)) + "\n"
                                 for rank, (tags, p) in enumerate(rows, start=1)) + "\n")
        return _per_input_line(lines, data, spec, "1\t1\t\n\n")
    probs = [[f"{p:.4f}" if c.possible else UNDEFINED for p in c.tag_probs] for c in found]
    tags = [c.tags for c in found]
    if spec is None or data.source is None:  # raw text: word/TAG/P
        return "".join(" ".join(f"{w}/{t}/{p}" for w, t, p in zip(ws, ts, ps)) + "\n"
                       for ws, ts, ps in zip(data.words, tags, probs))
    if spec.format == "slash":  # the input's text (IDs, [compounds], spaces, blank lines) with word/TAG/P
        return format_slash(data.source, tags, probs)
    if spec.format == "conllu":
        return format_conllu(data.source, tags, column or spec.tag_column, probs)
    # columns: the predictions appended as format_predictions does, then the probabilities after them
    tagged = [dataclasses.replace(s, rows=[[*row, t] for row, t in zip(s.rows, ts)])
              for s, ts in zip(data.source, tags)]
    return format_columns(tagged, probs)


def _per_input_line(blocks: list[str], data: TaggingData, spec: DataSpec | None, empty: str) -> str:
    """The sentences' output ``blocks`` with ``empty`` for each line of slash text that holds no sentence (a
    blank line, a People's Daily ID alone), which its reader keeps as text around the sentences: one block per
    input line, as raw text gets them."""
    if spec is None or spec.format != "slash" or data.source is None:
        return "".join(blocks)
    out = []
    for block, sentence in zip(blocks, data.source):
        before, after = lines_around(sentence)
        out += [empty * before, block, empty * after]
    return "".join(out)
