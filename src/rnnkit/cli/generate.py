"""``rnnkit generate``: text sampled from a language model (neural or n-gram, or an ARPA file), streamed to
standard output, or with ``--next`` the likeliest next tokens (:mod:`rnnkit.cli.next_tokens`); its options
are registered with ``train lm``'s in :mod:`rnnkit.cli.lm`."""
from __future__ import annotations

import sys

import numpy as np

from rnnkit.cli import next_tokens
from rnnkit.cli.given import given
from rnnkit.cli.lm_files import arpa_level
from rnnkit.lm.generate import sample_ids, stream_text
from rnnkit.lm.bpe_text import stream_pieces, text_pieces
from rnnkit.lm.io import load_language_model
from rnnkit.lm.score import start_token


def generate(args) -> int:
    next_tokens.refuse_options(args)
    if args.greedy:
        shaped = [name for name, on in (("--temperature", args.temperature is not None),
                                        ("--top-k", args.top_k or given(args, "top_k")),  # --top-k 0 too
                                        ("--top-p", args.top_p is not None), ("--seed", args.seed is not None)) if on]
        if shaped:
            what = "which shape" if len(shaped) > 1 else "which shapes"
            raise ValueError(f"--greedy always takes the most likely token, so {' and '.join(shaped)} ({what} "
                             "the sampling) would be ignored: give one or the other")
    args.temperature = 1.0 if args.temperature is None else args.temperature
    args.top_p = 1.0 if args.top_p is None else args.top_p
    model, vocab, level, bpe = load_language_model(args.model, arpa_level(args, args.model))
    if args.prime is None:
        prime_tokens = [start_token(vocab, level)]  # what a sentence starts from: <eos>, or a newline
    else:
        from rnnkit.data.text import tokenize

        # a prime is a line being continued, not a finished one, unless it ends with a newline
        prime_tokens = text_pieces(bpe, args.prime, end=False) if bpe is not None else tokenize(args.prime, level)
        if level == "word" and prime_tokens and prime_tokens[-1] == "<eos>" and not args.prime.endswith("\n"):
            prime_tokens = prime_tokens[:-1]
        if not prime_tokens:
            raise ValueError("Expected --prime with at least one token, got only whitespace")
        unknown = list(dict.fromkeys(t for t in prime_tokens if t not in vocab))
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            print(f"note: {len(unknown)} --prime token type(s) not in the model's vocabulary, read as "
                  f"{vocab.unk_token}: {shown}", file=sys.stderr)
    if args.next is not None:  # the distribution, not a sample: the prime from the start of a sentence, as score
        return next_tokens.print_next(args, model, vocab, level, [] if args.prime is None else prime_tokens)
    samplable = len(vocab) - 1  # <unk> is never sampled (banned below)
    if args.top_k >= samplable:  # every token that can be drawn is among the k most likely: no cut
        raise ValueError(f"--top-k {args.top_k} keeps every one of the {samplable:,} tokens the model samples from "
                         f"(its {len(vocab):,} but <unk>), so it would have no effect; give fewer than {samplable}, or "
                         "leave --top-k out")
    rng = np.random.default_rng(0 if args.seed is None else args.seed)
    ids = vocab.encode(prime_tokens)
    out = sys.stdout
    if level == "word" and args.prime is not None:  # the prime as the model read it: its <eos> a line end, as
        stream_text(iter(prime_tokens), level, out.write)  # a sampled one is, and one space before a next word
        if prime_tokens[-1] != vocab.eos_token:
            out.write(" ")
    elif args.prime is not None:
        out.write(args.prime)
    banned = np.array([vocab.unk_id])  # '<unk>' in the text says nothing (an n-gram model gives it mass)
    names = vocab.tokens  # a copy: take it once, not per sampled token
    end = vocab.eos_token if level in ("word", "bpe") else "\n"  # what ends a line
    last = [None]

    def tokens():
        lines = 0
        for i in sample_ids(model, ids, args.length, rng, args.temperature, args.top_k, args.top_p, args.greedy,
                            banned):
            last[0] = names[i]
            yield names[i]
            lines += names[i] == end
            if args.lines is not None and lines >= args.lines:
                return

    write = lambda s: (out.write(s), out.flush())  # noqa: E731
    if bpe is not None:  # after a prime that ends mid-line, the first piece's ▁ is a space
        stream_pieces(tokens(), write, line_start=args.prime is None or args.prime.endswith("\n"))
    else:
        stream_text(tokens(), level, write)
    if last[0] != end:  # the text ends with a line end, written once
        out.write("\n")
    return 0
