"""``rnnkit score MODEL FILE``: the log-probability and perplexity of every line, by a recurrent or n-gram model."""
from __future__ import annotations

import argparse
import math
import sys
import unicodedata

from rnnkit.cli import apply_progress
from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.cli.lm_files import add_level_option, arpa_level
from rnnkit.jsonline import json_line
from rnnkit.train.progress import format_perplexity, perplexity

LN2 = math.log(2.0)
BLOCK = 20_000  # lines scored, then written, at a time (10M lines held every score before the first was written)


def register(groups) -> None:
    p = groups.commands.add_parser(
        "score", help="score each line of a file with a language model (log-probability, perplexity)",
        description="Score every line of a text file (UTF-8 unless --encoding says otherwise) as a sentence on "
                    "its own, with a language model checkpoint (recurrent, or n-gram from 'rnnkit train ngram "
                    "--save', or an ARPA file, e.g. from KenLM or SRILM): each line is scored from the start of a "
                    "sentence and its end (<eos>, or the newline at character level) counts as a token (a BPE "
                    "model's tokens are its pieces: the figures are per piece).  Prints one "
                    "tab-separated line per input line: natural-log probability, tokens scored, perplexity, tokens "
                    "not in the vocabulary, and "
                    "the text, last, as it is (tabs in it too: split at the first four tabs, or cut -f5-); a blank "
                    "line at word or BPE level has no token (perplexity nan).  --per-token prints each token's "
                    "log-probability instead.  A summary goes to stderr (a BPE model's adds the text's per-word "
                    "perplexity and bits per character, unless --skip-unknown).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", help="language-model checkpoint (e.g. runs/lm/best.safetensors or kn5.safetensors), its run "
                                 "folder, or an ARPA file (kn5.arpa, .gz, .xz or .bz2 too)")
    p.add_argument("data", help="text, one sentence a line (.gz, .xz or .bz2 read directly; - for standard input)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of DATA (e.g. gb18030, big5)")
    add_level_option(p)
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="lines a recurrent model scores at once (the scores do not depend on it beyond float32 "
                        "rounding, a few units in the 7th significant digit; default 32)")
    p.add_argument("--skip-unknown", action="store_true",
                   help="leave tokens not in the model's vocabulary out of each line's log-probability, token "
                        "count and perplexity (as SRILM leaves OOVs out), so that a line does not score better for "
                        "its unknown words, which all share <unk>'s probability; the oov column still counts them")
    p.add_argument("--per-token", action="store_true",
                   help="print one tab-separated line per token instead: line number, position in the line (from "
                        "1), the token (\\n, \\t, \\r and \\\\ for a newline, tab, carriage return and "
                        "backslash, \\u3000 or \\u200d in a token that shows as nothing, a token that shows as it "
                        "is, joiners included; <eos> or \\n is the "
                        "line's end), its natural-log probability, its surprisal in bits (-log2 P) and 1 if it is not in the vocabulary (scored as <unk>), else 0.  A line's "
                        "log-probabilities add up to its score without --per-token (with --skip-unknown, those of "
                        "the tokens marked 1 are left out); a blank line at word level has no token, no row")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per line instead: line, logprob, tokens, ppl (null when no token), oov, "
                        "text; with --per-token one per token: line, position, token, logprob, bits, oov (true/false), "
                        "unrounded")
    apply_progress.add_option(p, counted="; a recurrent model's counted a batch of lines at a time, an n-gram "
                                         "model's a block of 20,000 lines")
    p.set_defaults(func=run)


def token_field(token: str) -> str:
    r"""A token as one tab-separated field, as ``score --per-token``, ``generate --next`` and ``states`` show
    it: backslash, tab, newline and carriage return escaped as \\, \t, \n and \r, so a character model's
    tab or newline does not split the row; a control character or a line or paragraph separator (U+2028,
    which some readers take for a line end) as Python writes it, \x1b or \u2028, wherever it is; and a token
    that shows as nothing (no printable character but a space: the ideographic space U+3000, a character
    model's joiner U+200D alone) with its characters that Python does not print written so, \u3000 or
    \u200d, so the row does not look empty.  A token that shows is written as it is, its joiners included:
    Persian می\u200cخواهم keeps its zero-width non-joiner and 👩\u200d💻 its joiner, which shape how it shows."""
    shown = token.replace("\\", "\\\\")  # first: the escapes below then read back unambiguously
    shown = "".join(repr(ch)[1:-1] if unicodedata.category(ch) in _ACTING else ch for ch in shown)  # \t \n \r too
    if any(ch.isprintable() and not ch.isspace() for ch in shown):
        return shown
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in shown)


_ACTING = frozenset(("Cc", "Zl", "Zp"))  # what moves the cursor or ends a line rather than showing


def _line_rows(number: int, line: str, s, as_json: bool) -> list[str]:
    """``score``'s output row of one line and its LineScore."""
    if as_json:
        return [json_line({"line": number, "logprob": s.logprob, "tokens": s.tokens, "ppl": s.ppl, "oov": s.oov,
                           "text": line}) + "\n"]
    return [f"{s.logprob:.4f}\t{s.tokens}\t{format_perplexity(s.ppl)}\t{s.oov}\t{line}\n"]


def _token_rows(number: int, t, as_json: bool) -> list[str]:
    """``score --per-token``'s rows of one line's TokenScores: one per token."""
    rows = []
    for position, (token, logprob, known) in enumerate(zip(t.tokens, t.logprobs.tolist(), t.known.tolist()), 1):
        bits = -logprob / LN2
        if as_json:
            rows.append(json_line({"line": number, "position": position, "token": token, "logprob": logprob,
                                   "bits": bits, "oov": not known}) + "\n")
        else:
            rows.append(f"{number}\t{position}\t{token_field(token)}\t{logprob:.4f}\t{bits:.4f}\t{int(not known)}\n")
    return rows


def run(args: argparse.Namespace) -> int:
    from rnnkit.cli.file_looks import conllu_lines_warning
    from rnnkit.cli.text_warnings import warn
    from rnnkit.data.files import read_input
    from rnnkit.data.text import plain_text, read_text
    from rnnkit.lm.io import load_language_model
    from rnnkit.lm.score import line_tokens, score_tokens

    from rnnkit.lm.ngram import NGramLM

    model, vocab, level, bpe = load_language_model(args.model, arpa_level(args, args.model))
    if isinstance(model, NGramLM) and args.batch_size is not None:
        raise ValueError(f"--batch-size does not apply to {args.model}, an n-gram language model (it scores "
                         "each line on its own, without batches); leave it out")
    batch_size = 32 if args.batch_size is None else args.batch_size
    name = "standard input" if args.data == "-" else args.data
    text = plain_text(read_input(None, args.encoding)[0]) if args.data == "-" else read_text(args.data, args.encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line; it does not start another
    conllu = conllu_lines_warning(lines[:200], name, "score", "sentence", "scored")
    if conllu:  # its comment and token lines would be scored as sentences
        warn(conllu)
    elif level == "word":
        from rnnkit.cli.text_warnings import SEGMENT_FIRST, warn_unsegmented

        warn_unsegmented(lines[:20_000], name, f"{args.model} reads words, so {SEGMENT_FIRST}, as its "
                         "training text was")
    out = sys.stdout
    tokens = oov = 0
    logprobs: list[float] = []  # summed at the end with sum(), as before (compensated on Python >= 3.12)
    shown = apply_progress.Shown(args.progress, lambda: sum(len(line_tokens(line, level, bpe)) for line in lines),
                                 "scoring")  # the tokens counted only when a display is shown
    with shown:
        for a in range(0, len(lines), BLOCK):  # scored and written a block at a time: memory of a block, output early
            block = lines[a : a + BLOCK]
            rows = []
            # one path for both outputs: a line's score is the sum of its tokens' (score_lines' own rule)
            scored = score_tokens(model, vocab, level, block, batch_size, bpe, on_batch=shown)
            for number, (line, t) in enumerate(zip(block, scored), start=a + 1):
                s = t.line_score(args.skip_unknown)
                rows += _token_rows(number, t, args.json) if args.per_token else _line_rows(number, line, s,
                                                                                              args.json)
                tokens += s.tokens
                logprobs.append(s.logprob)
                oov += s.oov
            out.write("".join(rows))
            out.flush()
    total = sum(logprobs)
    ppl = f"perplexity {format_perplexity(perplexity(-total / tokens))}" if tokens else "no token"
    if bpe is not None and tokens and not args.skip_unknown:  # every piece counted: the text's per-word figures too
        from rnnkit.lm.units import line_units, unit_metrics

        u = unit_metrics(-total / tokens, line_units(lines, tokens))
        ppl += (f" per piece; per word {format_perplexity(u['word_ppl'])}, {u['bits_per_char']:.4f} bits/char "
                f"({u['words']:,} words, {u['chars']:,} characters, line ends included)")
    elif bpe is not None and tokens:  # pieces left out: no per-word figure, but say what the perplexity is of
        ppl += " per piece (the unknown ones left out: no per-word figure)"
    unknown = f"{oov:,} not in the vocabulary, left out" if args.skip_unknown else f"{oov:,} not in the vocabulary"
    print(f"{name}: {len(lines):,} line{'s' * (len(lines) != 1)}, {tokens:,} tokens ({unknown}), {ppl}, each line "
          "scored from the start of a sentence", file=sys.stderr)
    return 0
