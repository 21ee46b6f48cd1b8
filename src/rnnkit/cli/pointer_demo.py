"""``rnnkit demo pointer``: a pointer network learns to sort numbers (or convex hulls), tested on longer inputs."""
from __future__ import annotations

import argparse
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from rnnkit.checkpoint_task import reading_metadata
from rnnkit.cli.charlm_demo import refuse_main_demo_options
from rnnkit.cli.common import nonnegative_float, positive_int, run_folder
from rnnkit.cli.demo_options import add_length_training, check_save_load
from rnnkit.cli.given import given, refuse_unused
from rnnkit.cli.seq2seq_score import blas_threads
from rnnkit.demos.pointer_hull import run_hull_demo
from rnnkit.demos.demo_steps import MODEL_FILE, demo_file
from rnnkit.demos.pointer_sort import PointerDemoConfig, run_pointer_demo
from rnnkit.errors import CheckpointError
from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import load_pointer

DEFAULTS = PointerDemoConfig()
TEST_LENGTHS = list(range(5, 16))
MAX_LENGTH = 1000  # numbers in a test sequence: decoding holds (250, n, H) floats a step (n = 1000: 64 MB)
# numbers in a training sequence: a batch's teacher-forced scores and their gradients are (n, 64, n, H) floats
# (n = 200, H = 64: 2.6 GB at the peak, 5 s a step; n = 1000 would need some 15 GiB a copy)
MAX_TRAIN_LENGTH = 200
TRAIN_MEMORY = "a training batch holds (n, 64, n, H) floats, 2.6 GB at n = 200"
SAVE = "rnnkit demo pointer --save DIR"  # the command that writes what --load reads


def register(groups) -> None:
    p = groups.demo.add_parser(
        "pointer",
        help="a pointer network (Vinyals et al. 2015) learns to sort 5-10 numbers (--task hull: convex hulls of "
             "5-10 points), tested on 5-15 (about a minute)",
        description=("A pointer network (Vinyals, Fortunato & Jaitly 2015; LSTM encoder and decoder, additive "
                     "attention as the output) learns to sort n numbers drawn from [0, 1): at each step it points "
                     "at one of its input positions, u_j = v^T tanh(W1 e_j + W2 d_t), p = softmax(u) over the "
                     "sequence's real positions.  It trains by Adam on n = --min-len..--max-len, then greedy "
                     "decoding (--beam: beam search) is tested on --test-lengths, seen and longer ones: exact match "
                     "of whole sequences and per-position accuracy (chance 1/n), and the exact match when no "
                     "position may be pointed at twice.  Takes about a minute on one thread.  --task hull: "
                     "planar convex hulls of n random points instead (Vinyals' second task), with an end marker "
                     "as input position 0: decoding (greedy or --beam) stops when it points at it, and the test "
                     "reports exact hulls, per-position accuracy and outputs naming the hull's points."),
    )
    p.add_argument("--task", choices=("sort", "hull"), default="sort",
                   help="sort: order n numbers from [0, 1); hull: the convex hull of n points of the unit square, "
                        "counter-clockwise from its lowest-index point (default sort)")
    add_length_training(p, DEFAULTS, "sequences", "LSTM units of the encoder and the decoder, and the attention size",
                        "shortest training sequence",
                        f"longest training sequence, at most {MAX_TRAIN_LENGTH}: {TRAIN_MEMORY}")
    p.add_argument("--test-lengths", type=positive_int, nargs="+", default=TEST_LENGTHS, metavar="N",
                   help=f"lengths to test on, at most {MAX_LENGTH} (default 5 6 ... 15)")
    p.add_argument("--test-size", type=positive_int, default=1000, metavar="N",
                   help="test sequences per length (default 1000)")
    p.add_argument("--beam", type=positive_int, default=1, metavar="K",
                   help="decode the tests by beam search of K beams (default 1: greedy decoding); with --task "
                        "hull a hypothesis that points at the end marker is finished, and the most probable "
                        "finished one wins")
    p.add_argument("--length-norm", type=nonnegative_float, default=0.0, metavar="ALPHA",
                   help="with --task hull and --beam K: rank the finished hulls by GNMT's length-normalised score "
                        "log P / lp, lp = ((5 + steps) / 6)^ALPHA, the steps counting the end marker (0, the "
                        "default: by log P, which favours fewer steps)")
    p.add_argument("--save", type=run_folder, metavar="DIR",
                   help=f"write the trained network to DIR/{MODEL_FILE} (a checkpoint: safetensors arrays and "
                        "JSON, written atomically), to test it again with --load DIR")
    p.add_argument("--load", metavar="DIR",
                   help=f"test the network --save DIR wrote (DIR/{MODEL_FILE}, or that file) instead of training "
                        "one: its task and training lengths come from the file, its seed too unless --seed")
    p.set_defaults(func=run)


TRAINING = ("steps", "hidden", "min_len", "max_len", "save")  # options that only training reads
INPUT_SIZE = {"sort": 1, "hull": 3}  # a task's input vectors: a number; a point (x, y) and the end-marker flag


def load_demo_model(args: argparse.Namespace) -> tuple[PointerNet, str, PointerDemoConfig]:
    """(the network, its task, its training settings) of ``--load``, its metadata checked against ``--task``."""
    path = demo_file(Path(args.load), SAVE)
    model, meta = load_pointer(path)
    if "demo" not in meta:
        raise CheckpointError(f"{path}: a pointer network without the demo's settings (save_pointer wrote it), not "
                              f"a demo checkpoint; --load takes what '{SAVE}' wrote")
    with reading_metadata(path, "pointer demo"):
        demo: dict[str, Any] = dict(meta["demo"])
        task = demo.pop("task")
        if task not in INPUT_SIZE or model.input_size != INPUT_SIZE[task]:
            raise ValueError(f"the task {task!r:.20} with inputs of {model.input_size} is no demo's")
        cfg = PointerDemoConfig(**{f.name: demo[f.name] for f in fields(PointerDemoConfig)})
    if given(args, "task") and args.task != task:
        raise ValueError(f"Expected --task {task} (or none) with --load {args.load}, a {task} network, got "
                         f"--task {args.task}")
    return model, task, replace(cfg, seed=args.seed) if given(args, "seed") else cfg


def run(args: argparse.Namespace) -> int:
    refuse_main_demo_options(args, "pointer")
    check_save_load(args, TRAINING)
    if args.min_len > args.max_len:
        raise ValueError(f"Expected --min-len <= --max-len, got {args.min_len} and {args.max_len}")
    if args.max_len > MAX_TRAIN_LENGTH:
        raise ValueError(f"Expected --max-len <= {MAX_TRAIN_LENGTH}, got {args.max_len}: {TRAIN_MEMORY} and "
                         f"grows as n^2; test longer sequences with --test-lengths (up to {MAX_LENGTH})")
    if max(args.test_lengths) > MAX_LENGTH:
        raise ValueError(f"Expected --test-lengths <= {MAX_LENGTH}, got {max(args.test_lengths)}: decoding's "
                         f"scores grow as n^2")
    model, task = None, args.task
    cfg = replace(DEFAULTS, steps=args.steps, seed=args.seed, hidden=args.hidden, min_len=args.min_len,
                  max_len=args.max_len)
    if args.load is not None:
        model, task, cfg = load_demo_model(args)
    refuse_unused(args, [("--length-norm", args.beam == 1, "with --beam 1 (greedy decoding ranks no finished "
                                                            "hulls): give --beam K"),
                         ("--length-norm", task == "sort", "on sorting (every output has n steps, so lp is the "
                                                           "same for all; it ranks --task hull's hulls)")])
    what = "Sorting numbers" if task == "sort" else "Convex hulls of points"
    print(f"{what} with a pointer network{' loaded from ' + args.load if model else ''}: LSTM encoder and decoder "
          f"of {cfg.hidden} units, additive pointer; {cfg.steps} Adam steps of {cfg.batch_size} sequences of "
          f"{cfg.min_len}-{cfg.max_len} {'numbers' if task == 'sort' else 'points'} (seed {cfg.seed})")
    with blas_threads(args):  # one BLAS thread unless --threads: the products are small
        if task == "hull":
            run_hull_demo(cfg, args.test_lengths, args.test_size, args.beam, log=print, model=model, save=args.save,
                          length_norm=args.length_norm)
        else:
            run_pointer_demo(cfg, args.test_lengths, args.test_size, args.beam, log=print, model=model,
                             save=args.save)
    return 0
