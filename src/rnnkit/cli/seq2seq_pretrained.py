"""``train seq2seq``'s pretrained embeddings and weight tying: ``--src-embeddings FILE``, ``--tgt-embeddings
FILE``, ``--freeze-embeddings`` and ``--tie``, through the functions of :mod:`rnnkit.cli.pretrained`.

Each side's embedding size is its vectors' size when it has a file, else ``--embed`` (default 128), so
``--embed`` sets the side without vectors (and is refused, having no effect, when both have them).
``--freeze-embeddings`` keeps fixed every table that was given vectors.  ``--tie`` makes the output layer's
weight the target embedding (Press & Wolf 2017; Inan et al. 2017), which needs the target embedding size to
equal ``--hidden``: the decoder's output h~_t, which the output layer reads, has ``--hidden`` units.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from rnnkit.cli.given import refuse_unused
from rnnkit.cli.pretrained import file_option, fill_pretrained, freeze, read_vectors_for
from rnnkit.data.vectors import WordVectors
from rnnkit.seq2seq.model import Seq2Seq
from rnnkit.train.config import TrainConfig

# (side, args attribute and option, the model's table)
SIDES = (("source", "src_embeddings", "--src-embeddings", "src_embedding.weight"),
         ("target", "tgt_embeddings", "--tgt-embeddings", "tgt_embedding.weight"))
FORMATS = ("GloVe, word2vec or fastText text ('word v1 ... vd' lines, .txt or .vec) or word2vec binary (.bin); .gz "
           "or .xz allowed")


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add ``--tie``, ``--src-embeddings``, ``--tgt-embeddings`` and ``--freeze-embeddings`` (``--embed`` is the
    command's own)."""
    group.add_argument("--tie", action="store_true",
                       help="tie the output layer to the target embedding, one (V, E) matrix for both (Press & Wolf "
                            "2017), with any --attention, none included; needs the target embedding size (--embed, or "
                            "--tgt-embeddings' vectors) equal to --hidden")
    for side, _, option, _ in SIDES:
        group.add_argument(option, metavar="FILE", default=None,
                           help=f"start the {side} embedding from pretrained vectors, whose size sets that side's "
                                f"embedding size: {FORMATS} (default: random initialisation)")
    group.add_argument("--freeze-embeddings", action="store_true",
                       help="keep the tables given --src-embeddings or --tgt-embeddings fixed during training (the "
                            "rows of tokens without a vector keep their random start; with --tie the output layer is "
                            "the target table, so it is fixed too)")


def check_options(args: argparse.Namespace) -> None:
    """The combinations refused before any data are read."""
    files = [option for _, dest, option, _ in SIDES if getattr(args, dest)]
    if args.freeze_embeddings and not files:
        raise ValueError("--freeze-embeddings needs --src-embeddings FILE or --tgt-embeddings FILE (there is nothing "
                         "pretrained to freeze)")
    refuse_unused(args, [("--embed", len(files) == 2, "when both sides have pretrained vectors (their sizes set the "
                                                       "embeddings): drop --src-embeddings or --tgt-embeddings")])
    if args.tie and not args.tgt_embeddings and args.embed != args.hidden:
        raise ValueError(f"--tie shares one matrix between the target embedding and the output layer, which reads "
                         f"the decoder's --hidden {args.hidden} units, so the target embedding size (--embed "
                         f"{args.embed}) must equal it: give --embed {args.hidden} or --hidden {args.embed}, or leave "
                         "--tie out")


def read(args: argparse.Namespace, src_tokens: Sequence[str],
         tgt_tokens: Sequence[str]) -> tuple[WordVectors | None, WordVectors | None]:
    """The vectors of ``--src-embeddings`` and ``--tgt-embeddings`` for the two vocabularies (None for a side
    without a file)."""
    out = tuple(read_vectors_for(getattr(args, dest), tokens) if getattr(args, dest) else None
                for (_, dest, _, _), tokens in zip(SIDES, (src_tokens, tgt_tokens)))
    tgt = out[1]
    if args.tie and tgt is not None and tgt.dim != args.hidden:
        raise ValueError(f"--tie needs the target embedding size to equal --hidden ({args.hidden}); the "
                         f"--tgt-embeddings vectors have {tgt.dim} dimensions: give --hidden {tgt.dim}, or leave "
                         "--tie out")
    return out


def embedding_sizes(args: argparse.Namespace, vectors: Sequence[WordVectors | None]) -> tuple[int, int]:
    """(source, target) embedding sizes: each side's vectors', else ``--embed``."""
    src, tgt = (args.embed if v is None else v.dim for v in vectors)
    return src, tgt


def apply(args: argparse.Namespace, model: Seq2Seq, tokens: Sequence[Sequence[str]], units: Sequence[str],
          vectors: Sequence[WordVectors | None], cfg: TrainConfig) -> TrainConfig:
    """Fill each side's table from its vectors (``units``: "words" or "characters", per side, for the
    coverage line) and return the training configuration, the filled tables frozen under
    ``--freeze-embeddings``."""
    filled = []
    for (side, dest, _, name), toks, unit, v in zip(SIDES, tokens, units, vectors):
        if v is not None:
            fill_pretrained(model.params[name], toks, v, getattr(args, dest), unit, args.freeze_embeddings,
                            label=f"{side} embeddings")
            filled.append(name)
    if args.tie and args.freeze_embeddings and args.tgt_embeddings:
        print("embeddings: --tie makes the output layer the target table, so it is frozen too", file=sys.stderr)
    return freeze(cfg, filled) if args.freeze_embeddings else cfg


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The vector files a run started from, for ``--resume`` to refuse others (see
    :func:`rnnkit.cli.pretrained.embeddings_option`)."""
    return {**file_option("--src-embeddings", args.src_embeddings), **file_option("--tgt-embeddings",
                                                                                    args.tgt_embeddings)}
