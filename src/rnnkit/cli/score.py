"""``rnnkit score MODEL FILE``: the log-probability and perplexity of every line, by a recurrent or n-gram model."""
from __future__ import annotations

import argparse
import math
import sys

from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.jsonline import json_line

BLOCK = 20_000  # lines scored, then written, at a time (10M lines held every score before the first was written)


def register(groups) -> None:
    p = groups.commands.add_parser(
        "score", help="score each line of a file with a language model (log-probability, perplexity)",
        description="Score every line of a text file (UTF-8 unless --encoding says otherwise) as a sentence on "
                    "its own, with a language model checkpoint (recurrent, or n-gram from 'rnnkit train ngram "
                    "--save'): each line is scored from the start of a sentence and its end (<eos>, or the "
                    "newline at character level) counts as a token.  Prints one tab-separated line per input "
                    "line: natural-log probability, tokens scored, perplexity, tokens not in the vocabulary, and "
                    "the text, last, as it is (tabs in it too: split at the first four tabs, or cut -f5-); a blank "
                    "line at word level has no token (perplexity nan).  A summary goes to stderr.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", help="language-model checkpoint (e.g. runs/lm/best.safetensors or kn5.safetensors)")
    p.add_argument("data", help="text, one sentence a line (.gz, .xz or .bz2 read directly)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of DATA (e.g. gb18030, big5)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="lines a recurrent model scores at once (the scores do not depend on it beyond float32 "
                        "rounding, a few units in the 7th significant digit; default 32)")
    p.add_argument("--skip-unknown", action="store_true",
                   help="leave tokens not in the model's vocabulary out of each line's log-probability, token "
                        "count and perplexity (as SRILM leaves OOVs out), so that a line does not score better for "
                        "its unknown words, which all share <unk>'s probability; the oov column still counts them")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per line instead: line, logprob, tokens, ppl (null when no token), oov, "
                        "text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.data.text import read_text
    from rnnkit.lm.io import load_language_model
    from rnnkit.lm.score import score_lines

    from rnnkit.lm.ngram import NGramLM

    model, vocab, level = load_language_model(args.model)
    if isinstance(model, NGramLM) and args.batch_size is not None:
        raise ValueError(f"--batch-size does not apply to {args.model}, an n-gram language model (it scores "
                         "each line on its own, without batches); leave it out")
    batch_size = 32 if args.batch_size is None else args.batch_size
    text = read_text(args.data, args.encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line; it does not start another
    if level == "word":
        from rnnkit.cli.text_warnings import SEGMENT_FIRST, warn_unsegmented

        warn_unsegmented(lines[:20_000], args.data, f"{args.model} reads words, so {SEGMENT_FIRST}, as its "
                         "training text was")
    out = sys.stdout
    tokens = oov = 0
    logprobs: list[float] = []  # summed at the end with sum(), as before (compensated on Python >= 3.12)
    for a in range(0, len(lines), BLOCK):  # scored and written a block at a time: memory of a block, output early
        block = lines[a : a + BLOCK]
        rows = []
        for number, (line, s) in enumerate(zip(block, score_lines(model, vocab, level, block, batch_size,
                                                                  skip_unknown=args.skip_unknown)), start=a + 1):
            if args.json:
                rows.append(json_line({"line": number, "logprob": s.logprob, "tokens": s.tokens, "ppl": s.ppl,
                                       "oov": s.oov, "text": line}) + "\n")
            else:
                rows.append(f"{s.logprob:.4f}\t{s.tokens}\t{s.ppl:.2f}\t{s.oov}\t{line}\n")
            tokens += s.tokens
            logprobs.append(s.logprob)
            oov += s.oov
        out.write("".join(rows))
        out.flush()
    total = sum(logprobs)
    ppl = f"perplexity {math.exp(min(-total / tokens, 700.0)):.2f}" if tokens else "no token"
    unknown = f"{oov:,} not in the vocabulary, left out" if args.skip_unknown else f"{oov:,} not in the vocabulary"
    print(f"{args.data}: {len(lines):,} lines, {tokens:,} tokens ({unknown}), {ppl}, each line scored from the "
          "start of a sentence", file=sys.stderr)
    return 0
