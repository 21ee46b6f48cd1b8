"""``rnnkit generate MODEL [--prime TEXT] --next K``: the K most likely next tokens after the prime, with
their probabilities, instead of a sample (a thin layer over :mod:`rnnkit.lm.next_tokens`)."""
from __future__ import annotations

import argparse
import math
import sys

from rnnkit.cli.common import positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.score import token_field
from rnnkit.jsonline import json_line

# generate's options that shape or bound a sample: with --next nothing is sampled
_SAMPLING = ("--length", "--lines", "--temperature", "--top-k", "--top-p", "--greedy", "--seed")


def add_options(g: argparse.ArgumentParser) -> None:
    """generate's --next and --json."""
    g.add_argument("--next", type=positive_int, default=None, metavar="K",
                   help="sample nothing; print the K most likely next tokens after --prime (default: at the start "
                        "of a sentence), read as 'rnnkit score' reads a line, from the start of a sentence: one "
                        "tab-separated line each, most likely first: rank, probability, natural-log probability "
                        "and the token (as 'score --per-token' writes it: <eos>, \\n for a newline).  The "
                        "probabilities are the model's exact, normalised ones over its whole vocabulary, <unk> "
                        "(every unknown token's mass) included")
    g.add_argument("--json", action="store_true",
                   help="with --next: one JSON object per token instead: rank, token, prob, logprob, unrounded")


def refuse_options(args: argparse.Namespace) -> None:
    """With --next, the sampling options would be ignored; without it, --json: say so, before the model is read."""
    if args.next is None:
        refuse_unused(args, [("--json", True, "without --next (a sample is text): add --next K")])
        return
    refuse_unused(args, [(flag, True, "with --next (which lists the likeliest next tokens, sampling nothing): "
                          "drop --next to sample")
                         for flag in _SAMPLING])


def print_next(args: argparse.Namespace, model, vocab, level: str, prefix: list[str]) -> int:
    """Write the --next table of the tokens after ``prefix`` (the prime's tokens, [] for none)."""
    from rnnkit.lm.next_tokens import top_next_tokens

    if args.next > len(vocab):
        raise ValueError(f"--next {args.next} asks for more tokens than {args.model} has: its vocabulary has "
                         f"{len(vocab):,}, {vocab.unk_token} included; give --next {len(vocab):,} or less")
    best = top_next_tokens(model, vocab, level, prefix, args.next)
    rows = []
    for rank, t in enumerate(best, start=1):
        if args.json:
            rows.append(json_line({"rank": rank, "token": t.token, "prob": t.prob, "logprob": t.logprob}) + "\n")
        else:
            rows.append(f"{rank}\t{t.prob:.6f}\t{t.logprob:.4f}\t{token_field(t.token)}\n")
    sys.stdout.write("".join(rows))
    after = f"after {args.prime!r} read from" if args.prime is not None else "at"
    mass = math.fsum(t.prob for t in best)
    print(f"{args.model}: the {len(best):,} most likely of {len(vocab):,} next tokens {after} the start of a "
          f"sentence, {mass:.4f} of the probability", file=sys.stderr)
    return 0
