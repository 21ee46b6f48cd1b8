"""``rnnkit tag --probs``, ``--nbest K`` and ``--spans``: the tagger's probabilities
(:mod:`rnnkit.tagging.confidence`) written next to, or instead of, its tags.

* ``--probs``: the marginal probability of each predicted tag, to 4 decimals: raw text ``word/TAG/0.9731``;
  CoNLL-U ``TagProb=0.9731`` added to the MISC column; columns: one more column after the predictions.
* ``--nbest K``: a block per sentence, one line per sequence, best first, ``RANK<TAB>PROB<TAB>word/TAG ...``
  (PROB to 4 significant digits), and a blank line after each sentence (an empty sentence: ``1<TAB>1<TAB>``,
  its one sequence, the empty one).
* ``--spans``: one JSON line per sentence, ``{"spans": [{"start", "end", "type", "text", "prob"}]}``,
  ``end`` exclusive (token indices from 0), ``prob`` the span's exact probability (6 decimals; null
  where it is undefined: an HMM's sentence of probability 0).

Neural taggers (CRF or softmax output) and HMMs alike.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math

from rnnkit.cli.common import positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.data.conll import MISC_TAG, format_columns, format_conllu, with_misc
from rnnkit.tagging.confidence import SPAN_SCHEMES, confidence
from rnnkit.tagging.io import DataSpec, TaggingData
from rnnkit.tagging.loaded import LoadedTagger


def add_options(t: argparse.ArgumentParser) -> None:
    t.add_argument("--probs", action="store_true",
                   help="add each predicted tag's marginal probability: word/TAG/PROB (raw), TagProb=PROB in MISC "
                        "(conllu), a column after the predictions (columns)")
    t.add_argument("--nbest", type=positive_int, metavar="K",
                   help="print the K most probable tag sequences of each sentence with their probabilities, one "
                        "'RANK<TAB>PROB<TAB>word/TAG ...' line each, a blank line after each sentence (an empty "
                        "line: '1<TAB>1<TAB>', its one sequence, the empty one; neural "
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
                 column: str | None = None) -> str:
    """The text of one block of sentences with the probabilities asked for; ``column``: CoNLL-U's column for
    the tags, as :func:`rnnkit.tagging.io.format_predictions` takes it."""
    found = confidence(loaded, data, nbest=args.nbest or 0, spans=args.spans)
    if args.spans:
        return "".join(json.dumps({"spans": [{**sp, "prob": None if math.isnan(sp["prob"]) else round(sp["prob"], 6)}
                                             for sp in c.spans]}, ensure_ascii=False) + "\n" for c in found)
    if args.nbest:
        lines = []
        for words, c in zip(data.words, found):
            for rank, (tags, p) in enumerate(c.nbest, start=1):
                lines.append(f"{rank}\t{p:.4g}\t" + " ".join(f"{w}/{t}" for w, t in zip(words, tags)) + "\n")
            lines.append("\n")
        return "".join(lines)
    probs = [[f"{p:.4f}" for p in c.tag_probs] for c in found]
    tags = [c.tags for c in found]
    if spec is None or data.source is None or spec.format == "slash":  # slash: as raw text, word/TAG/P
        return "".join(" ".join(f"{w}/{t}/{p}" for w, t, p in zip(ws, ts, ps)) + "\n"
                       for ws, ts, ps in zip(data.words, tags, probs))
    if spec.format == "conllu":
        column = column or spec.tag_column
        sentences = data.source
        if column == "misc":  # Tag= before TagProb=: format_conllu then rewrites it in its place
            sentences = [with_misc(s, MISC_TAG, ts) for s, ts in zip(sentences, tags)]
        return format_conllu([with_misc(s, "TagProb", ps) for s, ps in zip(sentences, probs)], tags, column)
    # columns: the predictions appended as format_predictions does, then the probabilities after them
    tagged = [dataclasses.replace(s, rows=[[*row, t] for row, t in zip(s.rows, ts)])
              for s, ts in zip(data.source, tags)]
    return format_columns(tagged, probs)

