"""``rnnkit demo ctc``: a BiLSTM learns to transcribe synthetic speech by CTC, tested on longer strings too."""
from __future__ import annotations

import argparse
from dataclasses import replace

from rnnkit.cli.charlm_demo import refuse_main_demo_options
from rnnkit.cli.common import nonnegative_float, positive_int
from rnnkit.cli.demo_options import add_length_training
from rnnkit.cli.seq2seq_score import blas_threads
from rnnkit.demos.ctc import CTCDemoConfig, run_ctc_demo
from rnnkit.demos.ctc_speech import ALPHABET

DEFAULTS = CTCDemoConfig()
TEST_LENGTHS = [2, 4, 6, 8, 12, 16]
MAX_LENGTH = 200  # symbols in a test string: the beam search's prefixes are tuples as long as that


def _speech_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbols", type=positive_int, default=DEFAULTS.symbols, metavar="A",
                   help=f"alphabet size, 2..{len(ALPHABET)} (default {DEFAULTS.symbols})")
    p.add_argument("--noise", type=nonnegative_float, default=DEFAULTS.noise, metavar="SIGMA",
                   help=f"standard deviation of the frames' noise, the symbols being unit vectors "
                        f"(default {DEFAULTS.noise})")


def register(groups) -> None:
    p = groups.demo.add_parser(
        "ctc",
        help="a BiLSTM learns to transcribe noisy synthetic speech of 2-6 symbols by CTC (Graves et al. 2006), "
             "tested on 2-16 (under 30 s of CPU time)",
        description=("Connectionist temporal classification (Graves, Fernandez, Gomez & Schmidhuber 2006): a "
                     "bidirectional LSTM and a linear layer over the blank and A symbols learn to write the string "
                     "of symbols said in a 2-D signal, each symbol a run of 3-6 noisy frames that swell and fade, "
                     "with silences, and a pause between two equal symbols; nothing says which frame is which "
                     "symbol.  It trains by Adam on strings of --min-len..--max-len symbols (CTC loss, "
                     "rnnkit.nn.ctc), then reports the label error rate (edit distance / reference length) of "
                     "best-path (greedy) decoding and of prefix beam search on held-out strings of --test-lengths "
                     "symbols, against a baseline that labels each frame with its nearest symbol direction (or "
                     "silence) alone.  Takes under 30 s of CPU time on one thread (more wall time when the cores "
                     "are busy)."),
    )
    add_length_training(p, DEFAULTS, "strings", "LSTM units per direction", "fewest symbols of a training string",
                        "most symbols of a training string", more=_speech_options)
    p.add_argument("--test-lengths", type=positive_int, nargs="+", default=TEST_LENGTHS, metavar="N",
                   help=f"string lengths to test on, at most {MAX_LENGTH} (default 2 4 6 8 12 16)")
    p.add_argument("--test-size", type=positive_int, default=200, metavar="N",
                   help="test strings per length (default 200)")
    p.add_argument("--beam", type=positive_int, default=8, metavar="K",
                   help="beams of the prefix beam search (default 8)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    refuse_main_demo_options(args, "ctc")
    if args.min_len > args.max_len:
        raise ValueError(f"Expected --min-len <= --max-len, got {args.min_len} and {args.max_len}")
    if not 2 <= args.symbols <= len(ALPHABET):
        raise ValueError(f"Expected --symbols in 2..{len(ALPHABET)} (the letters {ALPHABET}), got {args.symbols}")
    if max(args.test_lengths) > MAX_LENGTH:
        raise ValueError(f"Expected --test-lengths <= {MAX_LENGTH}, got {max(args.test_lengths)}")
    cfg = replace(DEFAULTS, steps=args.steps, seed=args.seed, hidden=args.hidden, symbols=args.symbols,
                  noise=args.noise, min_len=args.min_len, max_len=args.max_len)
    print(f"Transcribing synthetic speech by CTC: BiLSTM of {cfg.hidden} units a direction, a linear layer over "
          f"the blank and {cfg.symbols} symbols; {cfg.steps} Adam steps of {cfg.batch_size} strings of "
          f"{cfg.min_len}-{cfg.max_len} symbols, noise {cfg.noise:g} (seed {cfg.seed})")
    with blas_threads(args):  # one BLAS thread unless --threads: the products are small
        run_ctc_demo(cfg, args.test_lengths, args.test_size, args.beam, log=print)
    return 0
