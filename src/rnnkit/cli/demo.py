"""``rnnkit demo addition``: an Elman RNN learns binary addition and adds numbers longer than it saw."""
from __future__ import annotations

from rnnkit.cli.charlm_demo import refuse_main_demo_options
from rnnkit.cli.common import nonnegative_int, positive_int
from rnnkit.demos.addition import run_addition_demo


def register(groups) -> None:
    p = groups.demo.add_parser(
        "addition",
        help="an Elman RNN learns binary addition on 8-bit numbers, then adds 16-, 32- and 64-bit ones",
        description=("Train a small Elman RNN (Adam) to add two numbers fed one bit pair per step, least "
                     "significant bit first, outputting one sum bit per step.  It trains on numbers of up to "
                     "--train-bits bits, then is tested by exact match on longer numbers (--test-bits): it can "
                     "only succeed if it has learned to carry.  Takes a few seconds."),
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed for weights, training and test numbers (default 0)")
    p.add_argument("--train-bits", type=positive_int, default=8, help="bits of the training numbers (default 8)")
    p.add_argument("--test-bits", type=positive_int, nargs="+", default=[16, 32, 64], metavar="N",
                   help="bit lengths to test on, longer than --train-bits, at most 4096 (default 16 32 64)")
    p.add_argument("--steps", type=positive_int, default=1500, help="Adam steps of 32 additions each (default 1500)")
    p.add_argument("--hidden", type=positive_int, default=16, help="hidden units (default 16)")
    p.add_argument("--eval-pairs", type=positive_int, default=1000, help="test additions per length (default 1000)")
    p.set_defaults(func=run)


MAX_TEST_BITS = 4096


def run(args) -> int:
    refuse_main_demo_options(args, "addition")
    for name in ("train_bits", "steps", "hidden", "eval_pairs"):
        value = getattr(args, name)
        if value < 1:
            raise ValueError(f"Expected --{name.replace('_', '-')} >= 1, got {value}")
    if min(args.test_bits) < 1:
        raise ValueError(f"Expected --test-bits >= 1, got {min(args.test_bits)}")
    if max(args.test_bits) > MAX_TEST_BITS:  # the examples print the numbers in decimal
        raise ValueError(f"Expected --test-bits <= {MAX_TEST_BITS} (numbers of up to {len(str(2**MAX_TEST_BITS - 1)):,} "
                         f"digits), got {max(args.test_bits)}")
    if min(args.test_bits) <= args.train_bits:  # the point of the test: lengths it never saw
        raise ValueError(f"--test-bits {min(args.test_bits)} is not longer than --train-bits {args.train_bits}: the "
                         "test shows the network adds numbers longer than any it trained on; give longer ones")
    print(f"Binary addition, Elman RNN with {args.hidden} units: training on {args.train_bits}-bit numbers "
          f"for {args.steps} steps (seed {args.seed})")
    run_addition_demo(seed=args.seed, train_bits=args.train_bits, test_bits=args.test_bits,
                               steps=args.steps, hidden=args.hidden, eval_pairs=args.eval_pairs, log=print)
    return 0
