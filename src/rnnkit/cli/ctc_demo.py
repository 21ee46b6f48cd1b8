"""``rnnkit demo ctc``: a BiLSTM learns to transcribe synthetic speech by CTC, tested on longer strings too."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from rnnkit.cli.charlm_demo import refuse_main_demo_options
from rnnkit.cli.common import finite_float, nonnegative_float, nonnegative_int, positive_int, run_folder
from rnnkit.cli.demo_options import add_length_training, check_save_load
from rnnkit.cli.given import given, refuse_unused
from rnnkit.cli.seq2seq_score import blas_threads
from rnnkit.demos.ctc import SAVE, CTCDemoConfig, load_transcriber, run_ctc_demo
from rnnkit.demos.ctc_fusion import LMFusion
from rnnkit.demos.ctc_speech import ALPHABET
from rnnkit.demos.ctc_words import TEXTS
from rnnkit.demos.demo_steps import MODEL_FILE, demo_file

DEFAULTS = CTCDemoConfig()
FUSION = LMFusion()
TEST_LENGTHS = [2, 4, 6, 8, 12, 16]
MAX_LENGTH = 200  # symbols in a test string: the beam search's prefixes are tuples as long as that


def _speech_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbols", type=positive_int, default=DEFAULTS.symbols, metavar="A",
                   help=f"alphabet size, 2..{len(ALPHABET)} (default {DEFAULTS.symbols})")
    p.add_argument("--noise", type=nonnegative_float, default=DEFAULTS.noise, metavar="SIGMA",
                   help=f"standard deviation of the frames' noise, the symbols being unit vectors "
                        f"(default {DEFAULTS.noise})")
    p.add_argument("--text", choices=TEXTS, default=DEFAULTS.text,
                   help="the strings' symbols: random, each drawn uniformly (no language model can predict them); "
                        "words, English words over the letters a..h said one after another, cut to the string's "
                        f"length (needs --symbols >= 4) (default {DEFAULTS.text})")


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
                     "are busy).  --lm-order N adds a third decoding: the beam search fused with a character "
                     "N-gram model (Kneser-Ney) of the training strings, ranking each prefix l by log p_ctc(l | x) + "
                     "A log P_lm(l) + B |l| (Hannun et al. 2014; --lm-weight A, --length-bonus B); it can help on "
                     "--text words, not on random strings.  --save DIR keeps the trained network, --load DIR "
                     "decodes with it again without training."),
    )
    add_length_training(p, DEFAULTS, "strings", "LSTM units per direction", "fewest symbols of a training string",
                        "most symbols of a training string", more=_speech_options)
    p.add_argument("--test-lengths", type=positive_int, nargs="+", default=TEST_LENGTHS, metavar="N",
                   help=f"string lengths to test on, at most {MAX_LENGTH} (default 2 4 6 8 12 16)")
    p.add_argument("--test-size", type=positive_int, default=200, metavar="N",
                   help="test strings per length (default 200)")
    p.add_argument("--beam", type=positive_int, default=8, metavar="K",
                   help="beams of the prefix beam search (default 8)")
    p.add_argument("--lm-order", type=nonnegative_int, default=FUSION.order, metavar="N",
                   help="decode also by the beam search fused with a character N-gram model of the training "
                        "strings (Kneser-Ney); 0: none (default 0)")
    p.add_argument("--lm-weight", type=nonnegative_float, default=FUSION.weight, metavar="A",
                   help=f"the language model's weight alpha in log p_ctc + alpha log P_lm + beta |l|, with --lm-order "
                        f"(default {FUSION.weight:g})")
    p.add_argument("--length-bonus", type=finite_float, default=FUSION.bonus, metavar="B",
                   help=f"beta, added per label, against fusion's pull to short transcriptions, with --lm-order "
                        f"(default {FUSION.bonus:g})")
    p.add_argument("--save", type=run_folder, metavar="DIR",
                   help=f"write the trained network to DIR/{MODEL_FILE} (a checkpoint: safetensors arrays and "
                        "JSON, written atomically), to decode with it again with --load DIR")
    p.add_argument("--load", metavar="DIR",
                   help=f"test the network --save DIR wrote (DIR/{MODEL_FILE}, or that file) instead of training "
                        "one: its settings (symbols, noise, text, training lengths) come from the file, its seed "
                        "too unless --seed; --lm-order replays its training strings to fit the LM on (with the fused "
                        "decoding, a run of some 10 s of CPU instead of 3)")
    p.set_defaults(func=run)


TRAINING = ("steps", "hidden", "symbols", "noise", "text", "min_len", "max_len", "save")  # what --load takes as saved


def run(args: argparse.Namespace) -> int:
    refuse_main_demo_options(args, "ctc")
    check_save_load(args, TRAINING)
    refuse_unused(args, [(flag, args.lm_order == 0, "without --lm-order N (only the decoding fused with an N-gram "
                          "language model uses it): give --lm-order N") for flag in ("--lm-weight", "--length-bonus")])
    if args.min_len > args.max_len:
        raise ValueError(f"Expected --min-len <= --max-len, got {args.min_len} and {args.max_len}")
    if not 2 <= args.symbols <= len(ALPHABET):
        raise ValueError(f"Expected --symbols in 2..{len(ALPHABET)} (the letters {ALPHABET}), got {args.symbols}")
    if max(args.test_lengths) > MAX_LENGTH:
        raise ValueError(f"Expected --test-lengths <= {MAX_LENGTH}, got {max(args.test_lengths)}")
    fusion = LMFusion(args.lm_order, args.lm_weight, args.length_bonus)
    model, train_seed = None, None
    if args.load is not None:
        model, cfg = load_transcriber(demo_file(Path(args.load), SAVE))
        train_seed = cfg.seed  # --lm-order draws its training strings again with it
        cfg = replace(cfg, seed=args.seed) if given(args, "seed") else cfg
    else:
        cfg = replace(DEFAULTS, steps=args.steps, seed=args.seed, hidden=args.hidden, symbols=args.symbols,
                      noise=args.noise, min_len=args.min_len, max_len=args.max_len, text=args.text)
    text = "" if cfg.text == "random" else "word-like "
    print(f"Transcribing synthetic speech by CTC: BiLSTM of {cfg.hidden} units a direction, a linear layer over "
          f"the blank and {cfg.symbols} symbols{' loaded from ' + args.load if model else ''}; {cfg.steps} Adam "
          f"steps of {cfg.batch_size} strings of {cfg.min_len}-{cfg.max_len} {text}symbols, noise {cfg.noise:g} "
          f"(seed {cfg.seed})")
    with blas_threads(args):  # one BLAS thread unless --threads: the products are small
        run_ctc_demo(cfg, args.test_lengths, args.test_size, args.beam, log=print, fusion=fusion, model=model,
                     save=args.save, train_seed=train_seed)
    return 0
