"""Options shared by every ``rnnkit train ...`` command, and their conversion to a TrainConfig; the
check of --max-vocab before the work."""
from __future__ import annotations

import argparse
import math
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.cli.given import given, refuse_unused
from rnnkit.optim import OPTIMIZERS
from rnnkit.train.config import PER_EPOCH, SCHEDULES, TrainConfig

if TYPE_CHECKING:
    from rnnkit.train.loop_state import LoopState


def check_max_vocab(value: int | None, specials: Sequence[str]) -> None:
    """--max-vocab counts the special tokens: refuse a size that leaves no room for a word."""
    if value is not None and value <= len(specials):
        raise ValueError(f"--max-vocab {value} leaves no room for a word: the vocabulary counts {', '.join(specials)} "
                         f"too; give at least {len(specials) + 1}")


def check_min_count(min_count: int, vocab: Any, where: str) -> None:
    """--min-count above the count of every token of the training data leaves only the special tokens
    (``<unk>``, ``<eos>``): nothing to learn from, so refuse it."""
    specials = vocab_specials(vocab)
    if len(vocab) <= len(specials):
        raise ValueError(f"--min-count {min_count} leaves no token of {where} in the vocabulary (only "
                         f"{', '.join(specials)}): every token occurs fewer times; lower --min-count")


def vocab_specials(vocab: Any) -> list[str]:
    """The special tokens a :class:`~rnnkit.data.vocab.Vocabulary` adds to the training tokens: <unk>, and <eos>
    when it has one."""
    return [t for t in (vocab.unk_token, vocab.eos_token) if t is not None]


def vocab_types(vocab: Any, unit: str) -> str:
    """'6 word types (+ <unk>)': the training types a vocabulary holds and, apart, the special tokens it adds
    (:func:`vocab_specials`), as every command's summary line counts them (a tagger's said '7 word types' of 6
    words and its <unk>); a literal <unk> in the text is the special.  (train seq2seq's line counts its two
    vocabularies' in one: '6 source / 3 target word types (+ <pad>, <bos>, <eos>, <unk> each)'.)"""
    types, specials = _types(vocab, unit)
    return f"{types} (+ {specials})"


def vocab_tokens(vocab: Any, unit: str) -> str:
    """'12 tokens (10 word types + <unk>, <eos>)': all a vocabulary holds, the count a softmax sizes, split as
    :func:`vocab_types` splits it, so that a message about the softmax agrees with the summary line."""
    types, specials = _types(vocab, unit)
    return f"{len(vocab):,} token{'s' * (len(vocab) != 1)} ({types} + {specials})"


def _types(vocab: Any, unit: str) -> tuple[str, str]:
    """('10 word types', '<unk>, <eos>'): a vocabulary's training types and its special tokens."""
    specials = vocab_specials(vocab)
    n = len(vocab) - len(specials)
    return f"{n:,} {unit} type{'s' * (n != 1)}", ", ".join(specials)


class WholeWordsFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that a line never ends inside a hyphenated word: an option named in a
    help text (--decay-start) once came out as '--decay-' and 'start' on the next line."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(re.sub(r"\s+", " ", text).strip(), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(re.sub(r"\s+", " ", text).strip(), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


class HelpFormatter(WholeWordsFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: ...)" to an option's help unless the help already names its default, or there is
    none to name: a required option, one whose default is None (unset), and an on/off flag (off)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default:" in text or "default " in text or action.required or action.default is None \
                or (action.nargs == 0 and action.default is False):
            return text
        return super()._get_help_string(action)


def _number(text: str, ok: Callable[[float], bool], expected: str) -> float:
    """``float(text)`` if it passes ``ok``; otherwise argparse's error "Expected <expected>, got <text>"."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Expected {expected}, got {text!r}") from None
    if not ok(x):
        raise argparse.ArgumentTypeError(f"Expected {expected}, got {text}")
    return x


def probability(text: str) -> float:
    """argparse type for a dropout rate: a float in [0, 1)."""
    return _number(text, lambda p: 0.0 <= p < 1.0, "a probability in [0, 1)")


def momentum(text: str) -> float:
    """argparse type for momentum: a number in [0, 1) (at 1 or more the velocity never decays and the
    updates grow without bound)."""
    return _number(text, lambda x: 0.0 <= x < 1.0, "a momentum in [0, 1), such as 0.9")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    return _number(text, lambda x: math.isfinite(x) and x > 0, "a finite number > 0")


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _number(text, lambda x: math.isfinite(x) and x >= 0, "a finite number >= 0")


def finite_float(text: str) -> float:
    """argparse type: a finite number, of either sign."""
    return _number(text, math.isfinite, "a finite number")


def rate(text: str) -> float:
    """argparse type: a probability in [0, 1], such as scheduled sampling's rate."""
    return _number(text, lambda x: 0.0 <= x <= 1.0, "a number in [0, 1]")


def decay(text: str) -> float:
    """argparse type: a number strictly between 0 and 1, such as a moving average's decay."""
    return _number(text, lambda x: 0.0 < x < 1.0, "a number in (0, 1)")


def fraction(text: str) -> float:
    """argparse type: a number in (0, 1], such as top-p's probability mass."""
    return _number(text, lambda x: 0.0 < x <= 1.0, "a number in (0, 1]")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1)


def run_folder(text: str) -> str:
    """argparse type: a run folder's path, not empty (an empty one would be the current folder, whose
    best.safetensors and last.safetensors a new run removes)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("Expected a folder for the run's checkpoints, got an empty path")
    if text == "-":  # standard output's usual name: a run folder cannot go there
        raise argparse.ArgumentTypeError("-: a run folder cannot go to standard output; give a folder name, "
                                         "e.g. runs/lm")
    return text


def at_least_two(text: str) -> int:
    """argparse type: an integer >= 2 (a word's first and last character)."""
    return _int_at_least(text, 2)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, minimum: int) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Expected an integer >= {minimum}, got {text!r}") from None
    if n < minimum:
        raise argparse.ArgumentTypeError(f"Expected an integer >= {minimum}, got {text}")
    return n


# an optimizer's learning rate when --optimizer replaces a command's default one and --lr is not given.
# A choice for training RNNs from the command line, not the optimizer classes' defaults, which are
# PyTorch's: plain SGD at PyTorch's 0.001 barely moves a model (a 128-unit character LSTM on 60k
# characters: valid loss 4.42 after 3 epochs, 2.78 at 0.1).  RMSprop keeps Keras's cautious 0.001 rather
# than PyTorch's 0.01 (on that small run 0.01 trained faster, 1.13 against 1.38; larger models untried).
USUAL_LR = {"sgd": 0.1, "adagrad": 0.01, "rmsprop": 0.001, "adadelta": 1.0, "adam": 0.001, "adamw": 0.001}


def add_residual_option(group: Any, what: str = "recurrent layers") -> None:
    """``--residual``: residual connections between stacked recurrent layers (:mod:`rnnkit.recurrent`); ``what``:
    whose layers, where the help should say (seq2seq: the encoder's)."""
    group.add_argument("--residual", action="store_true",
                       help=f"residual connections between the stacked {what} (GNMT, Wu et al. 2016): from the second "
                            "layer on, each adds its input to its output, which are the same size there (dirs*H); "
                            "needs --layers 2 or more; saved with the model")


def residual_rule(args: argparse.Namespace) -> tuple[str, bool, str]:
    """The :func:`rnnkit.cli.given.refuse_unused` rule of ``--residual`` with ``--layers 1``."""
    return ("--residual", args.layers == 1, "with --layers 1 (it adds each stacked layer's input to its output from "
                                            "the second layer on): give --layers 2 or more")


def add_peephole_option(group: Any) -> None:
    """``--peephole``: an LSTM with peephole connections (:mod:`rnnkit.cells.lstm_peephole`)."""
    group.add_argument("--peephole", action="store_true",
                       help="LSTM with peephole connections (Gers & Schmidhuber 2000; Graves 2013): the gates i and f "
                            "also read c_{t-1}, the gate o reads c_t, each through a diagonal weight (weight_ci_l0, "
                            "weight_cf_l0, weight_co_l0); needs --cell lstm; saved with the model; export --onnx "
                            "writes it, export --torch refuses it (torch has no peephole LSTM)")


def peephole_rule(args: argparse.Namespace) -> tuple[str, bool, str]:
    """The :func:`rnnkit.cli.given.refuse_unused` rule of ``--peephole`` with another cell than the LSTM."""
    return ("--peephole", args.cell != "lstm", f"with --cell {args.cell} (peepholes read an LSTM's cell c): give "
                                               "--cell lstm")


def add_layer_norm_option(group: Any, what: str = "the recurrent cells", saved: bool = True) -> None:
    """``--layer-norm``: layer-normalized cells (:mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`,
    :mod:`rnnkit.cells.gru_ln`; with ``--peephole`` :mod:`rnnkit.cells.lstm_ln_peephole`); ``what``: whose cells,
    where the help should say (seq2seq: the encoder's and the decoder's); ``saved``: False for a command that
    saves no model (gradcheck), whose help then says nothing of saving and exporting one."""
    after = "; saved with the model; export --onnx writes it (a Scan over the cell's steps), --torch refuses it"
    group.add_argument("--layer-norm", action="store_true",
                       help=f"layer normalization inside {what} (Ba, Kiros & Hinton 2016; eps 1e-5): the "
                            "Elman RNN normalizes W_ih x_t + W_hh h_{t-1}, the LSTM and the GRU W_ih x_t and "
                            "W_hh h_{t-1} apart (each over all its gates), the LSTM also c_t before its tanh, with "
                            "learned gains and shifts (ln_*_l0); with --peephole the peepholes add their terms after "
                            "the normalizations" + (after if saved else ""))


def check_layer_norm(args: argparse.Namespace, units: int | None = None, given: str = "--hidden 1",
                     fix: str = "give --hidden 2 or more", cell_given: str | None = None) -> None:
    """``--layer-norm`` with one unit (``units``, default ``--hidden``; ``given``: the options that set it) for the
    Elman RNN or the LSTM: one line (ValueError) saying what to change (``fix``).  ``cell_given``: the options that
    chose the cell, as the user gave them (default ``--cell CELL``)."""
    from rnnkit.recurrent_checks import ln_over_one_unit

    why = ln_over_one_unit(args.cell, getattr(args, "layer_norm", False),
                           getattr(args, "hidden", None) if units is None else units)
    if why:
        cell_given = cell_given or f"--cell {args.cell}"
        raise ValueError(f"--layer-norm with {given} and {cell_given}: {why}; {fix}, or leave out --layer-norm")


def add_select_by_option(group: Any, of: str = "") -> None:
    """``--select-by accuracy|macro_f1`` (:mod:`rnnkit.train.select_by`) of ``train classifier`` and
    ``train tree``; ``of``: whose metric it is, where the help should say (a tree model's roots)."""
    from rnnkit.train.select_by import DEFAULT, OPTION, SELECT_BY

    group.add_argument(OPTION, choices=list(SELECT_BY), default=DEFAULT,
                       help=f"the validation metric{of} that picks best.safetensors and that --patience and the "
                            "plateau schedule follow; macro_f1 (the mean of the classes' F1) counts a rare class as "
                            "much as a frequent one; kept with the run (--resume refuses another)")


def add_train_options(p: argparse.ArgumentParser, lr: float, clip: float | None, optimizer: str,
                      epochs: int = 10, run_dir: str = "runs/lm", seeded: str = "") -> None:
    """The options every neural ``train`` command shares; ``seeded``: what else --seed draws, said in its help."""
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training data")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=optimizer, help="optimizer")
    others = ", ".join(f"{k} {v:g}" for k, v in USUAL_LR.items() if k != optimizer)
    t.add_argument("--lr", type=positive_float, default=lr,
                   help=f"initial learning rate (default: {lr:g} with {optimizer}; with another --optimizer, its "
                        f"usual rate: {others})")
    p.set_defaults(_default_optimizer=optimizer)
    t.add_argument("--momentum", type=momentum, default=0.0, help="momentum in [0, 1) (sgd, rmsprop)")
    t.add_argument("--weight-decay", type=nonnegative_float, default=0.0, help="L2 weight decay on weight matrices (not biases)")
    t.add_argument("--clip", type=nonnegative_float, default=clip, help="clip the global gradient norm (0: no clipping)")
    t.add_argument("--schedule", choices=SCHEDULES, default="none",
                   help="learning-rate schedule.  At each epoch's end: step (multiply by --lr-decay every --step-size "
                        "epochs), exp (the same every epoch), plateau (when validation stops improving: Mikolov's "
                        "rule), decay_after (constant for --decay-start epochs, then every epoch).  After every step, "
                        "over the run's steps (--epochs times the batches of an epoch, or --max-steps if fewer): "
                        "cosine (cosine annealing from --lr to 0) and linear (straight down to 0); none keeps --lr")
    t.add_argument("--warmup-steps", type=nonnegative_int, default=0, metavar="N",
                   help="raise the lr linearly from 0 to --lr over the first N steps, then follow --schedule none, "
                        "cosine or linear (whose decay then fills the steps after the warmup); fewer than the run's "
                        "steps")
    t.add_argument("--lr-decay", type=decay, default=None,
                   help="factor the step, exp, plateau and decay_after schedules multiply the lr by (default 0.5)")
    t.add_argument("--decay-start", type=nonnegative_int, default=4, help="decay_after: epochs before the decay starts")
    t.add_argument("--step-size", type=positive_int, default=1, help="step: epochs between decays")
    t.add_argument("--average", type=decay, default=None, metavar="DECAY",
                   help="validate and save an exponential moving average of the weights with this decay per step "
                        "(e.g. 0.999: about the last 1,000 steps); default: the weights as trained")
    t.add_argument("--patience", type=positive_int, default=None,
                   help="early stopping: epochs without validation improvement that are allowed; the next such epoch "
                        "stops training (--patience 2: stops at the third bad epoch in a row; default: no early "
                        "stopping)")
    t.add_argument("--seed", type=nonnegative_int, default=0,
                   help=f"random seed for initialisation, dropout and the batches (their order{seeded})")
    t.add_argument("--max-steps", type=positive_int, default=None,
                   help="stop after this many optimizer steps (default: no limit); the steps after the last "
                        "epoch's end are in last.safetensors only, not validated")
    r = p.add_argument_group("run")
    r.add_argument("--run-dir", type=run_folder, default=run_dir,
                   help="directory for checkpoints (last.safetensors, best.safetensors) and metrics.jsonl")
    r.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its last checkpoint")
    r.add_argument("--checkpoint-steps", type=positive_int, default=None,
                   help="also checkpoint every N steps (default: off)")
    r.add_argument("--checkpoint-minutes", type=nonnegative_float, default=5.0,
                   help="checkpoint every M minutes (0: only at the end of each epoch)")
    r.add_argument("--log-every", type=positive_int, default=50, help="metrics line every N steps")
    r.add_argument("--progress", choices=["auto", "bar", "lines", "none"], default="auto",
                   help="progress display: auto is a bar on a terminal, plain lines otherwise (one at each step "
                        "that is a multiple of --log-every, counted from the run's start, a resumed run's too, and "
                        "at the epoch's last step); none shows no progress and no per-epoch validation lines either "
                        "(RUN/metrics.jsonl still has them), but still says when a new run removes an earlier run's "
                        "checkpoints or a run resumes")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The training options as a TrainConfig; options that would be silently ignored are refused."""
    if (args.momentum or given(args, "momentum")) and args.optimizer not in ("sgd", "rmsprop"):
        raise ValueError(f"--momentum applies to --optimizer sgd or rmsprop, not {args.optimizer} (Adam's and "
                         "AdaDelta's running averages take its place): leave --momentum out or change --optimizer")
    if args.lr_decay is not None and args.schedule not in PER_EPOCH:
        raise ValueError(f"--lr-decay is the factor of a learning-rate schedule, and --schedule is {args.schedule} "
                         "(which has none): add --schedule exp, step, plateau or decay_after, or leave --lr-decay out")
    refuse_unused(args, [
        ("--warmup-steps", args.schedule in PER_EPOCH, f"with --schedule {args.schedule}, which changes the lr at "
                                                       "epoch ends (a warmup goes with the per-step schedules): give "
                                                       "--schedule none, cosine or linear"),
        ("--decay-start", args.schedule != "decay_after", f"with --schedule {args.schedule} (it delays the "
                                                            "decay_after schedule): give --schedule decay_after"),
        ("--step-size", args.schedule != "step", f"with --schedule {args.schedule} (it spaces the step schedule's "
                                                  "decays): give --schedule step"),
    ])
    validated = getattr(args, "valid", None) or getattr(args, "valid_fraction", 0) or getattr(args, "folds", 0)
    if not validated and "valid" in vars(args):
        for name, written in (("--schedule plateau", args.schedule == "plateau"), ("--patience", args.patience)):
            if written:
                raise ValueError(f"{name} acts on the validation score (the loss, or the task's accuracy, F1 or "
                                 "BLEU), and this run has no validation set: give --valid FILE")
    default = getattr(args, "_default_optimizer", args.optimizer)
    if args.optimizer != default and "_given" in vars(args) and not given(args, "lr"):
        args.lr = USUAL_LR[args.optimizer]  # the command's default rate is its default optimizer's (sgd 1.0 for Adam diverged)
    return TrainConfig(
        epochs=args.epochs, optimizer=args.optimizer, lr=args.lr, momentum=args.momentum,
        weight_decay=args.weight_decay, clip=args.clip or None, schedule=args.schedule, warmup_steps=args.warmup_steps,
        lr_decay=0.5 if args.lr_decay is None else args.lr_decay,
        decay_start=args.decay_start, step_size=args.step_size, patience=args.patience, average=args.average,
        checkpoint_steps=args.checkpoint_steps, checkpoint_minutes=args.checkpoint_minutes or None,
        log_every=args.log_every, seed=args.seed, max_steps=args.max_steps, progress=args.progress,
    )


_SAID_PROCESSES = False  # the several-process line is said once a command, not again for each fold


def fit(task: Any, cfg: TrainConfig, run_dir: str | Path, resume: bool, files: Sequence[str], unit: str = "tok",
        show_ppl: bool = False, say: bool = True,
        options: dict[str, Any] | None = None) -> tuple[LoopState, Path] | None:
    """Train ``task`` as this command's processes: one, or several under ``mpiexec``, each training
    its part of every batch (:mod:`rnnkit.cli.processes`).  Process 0 gets the loop's final state and
    the checkpoint to use (the best on validation, else the last), and says where it is (``say``); the
    others get None, since the run folder, the test and the messages are process 0's.  ``files``: the
    training data, whose fingerprint the checkpoints keep for ``--resume``; ``options``: more options a
    ``--resume`` must repeat (see :class:`~rnnkit.train.loop.Trainer`)."""
    from rnnkit.cli import processes
    from rnnkit.train.digest import file_digest
    from rnnkit.train.loop import Trainer, model_file

    group = processes.group()
    global _SAID_PROCESSES
    if group.size > 1 and group.rank == 0 and not _SAID_PROCESSES:  # the launcher worked: said once (not a fold)
        _SAID_PROCESSES = True
        print(f"training in {group.size} processes (mpiexec): each computes its share of every batch, and the "
              "gradients are summed", file=sys.stderr)
    trainer = Trainer(task, cfg, run_dir, unit=unit, show_ppl=show_ppl, data_digest=file_digest(list(files)),
                      group=group, run_options=options)
    state = trainer.fit(resume=resume, stop_on_signal=True)
    if group.rank:
        return None
    if say and state.step == trainer.start_step:  # resumed with nothing to train, as the loop said: none saved now
        print(f"model: {model_file(run_dir)}", file=sys.stderr)
    elif say:  # an early stop was said by the loop when it happened
        print(f"model saved: {model_file(run_dir)}", file=sys.stderr)
    return state, model_file(run_dir)
