"""Character-level LSTM language model on Tiny Shakespeare, trained with the rnnkit CLI.

Two splits of input.txt (``--split``):

- ``contiguous`` (default): the first 95% of the characters train, the last 5% validate, as the
  data README reads char-rnn's ``-train_frac 0.95 -val_frac 0.05``; ``rnnkit evaluate
  best.safetensors valid.txt`` scores every validation character in one stream.
- ``char-rnn``: the split char-rnn's loader (util/CharSplitLMMinibatchLoader.lua) really makes, the
  one its published losses are measured on.  It cuts the text to a multiple of batch_size x
  seq_length = 50 x 50, lays it out as 50 rows (50 contiguous chunks of 22,300 characters), cuts the
  rows into 446 windows of 50 columns and gives the first floor(0.95 x 446) = 423 windows to training
  and the other 23 to validation: validation is the last 1,150 characters of each of the 50 chunks,
  spread over the whole text.  Its eval_split starts every chunk from a zero state and predicts its
  1,150 next characters (the last one is the text's next character; char-rnn wraps the very last to
  the first character of the file).  Here valid.txt holds the 50 chunks, each with that extra next
  character, and ``rnnkit evaluate --batch-size 50`` reads them as 50 streams from a zero state, which
  gives exactly char-rnn's 57,500 predictions; training validates the same way (--eval-batch-size 50).

The parts are written to a temporary folder (not the repository) and ``rnnkit train lm --level char``
trains on them with Adam.  Target: validation loss <= 1.45 nats/char (char-rnn's example reaches about
1.40).  Results go into benchmarks/RESULTS.md.

    python benchmarks/bench_shakespeare.py [--hidden 384] [--epochs 10] [--split char-rnn] [--max-steps N]

The run checkpoints every 10 minutes; the same command with ``--resume`` continues a stopped run
(long runs outlast a session on a 2-core VM), and its record then says so.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import (  # noqa: E402
    DEFAULT_DATA, RUNS, ProgressRates, evaluate_json, fmt_time, machine_load, read_epochs, rnnkit_cmd,
    this_command, train_logged, shown_cmd, user_env, utc_date, write_subsection,
)
from bench_ptb import env_prefix, versions  # noqa: E402

SECTION = "Tiny Shakespeare character-level LSTM"
INTRO = """\
Karpathy's char-rnn data (1,115,394 characters, 65 distinct). Target: validation loss <= 1.45
nats/char (char-rnn's example: about 1.40). Unless a title says "char-rnn's split", a run uses the
first 95% of the text to train and the last 5% to validate, in order (the data README's reading of
char-rnn's `-train_frac 0.95 -val_frac 0.05`); its final figure is `rnnkit evaluate` over every
validation character (one stream), and its per-epoch validation loss is the training run's own (10
streams). char-rnn's loader actually validates on the last 1,150 characters of each of 50 equal
chunks of the text (see bench_shakespeare.py and the first "char-rnn's split" subsection); runs
titled so use that split, and their figures are char-rnn's 57,500 predictions, each chunk read from
a zero state."""
TARGET = 1.45
TRAIN_FRAC = 0.95
CHAR_RNN_BATCH = 50  # char-rnn's -batch_size and -seq_length defaults: they fix its split
CHAR_RNN_SEQ = 50


def split(text: str, folder: Path) -> tuple[Path, Path, int, int]:
    """Write the first 95% of text to train.txt and the rest to valid.txt (newline='' keeps the bytes)."""
    n_train = int(len(text) * TRAIN_FRAC)
    return (*_write_parts(folder, text[:n_train], text[n_train:]), n_train, len(text) - n_train)


def _write_parts(folder: Path, train_text: str, valid_text: str) -> tuple[Path, Path]:
    """folder/train.txt and folder/valid.txt, byte for byte (newline='' keeps the line ends)."""
    paths = folder / "train.txt", folder / "valid.txt"
    for path, part in zip(paths, (train_text, valid_text)):
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(part)
    return paths


def char_rnn_parts(text: str, batch_size: int = CHAR_RNN_BATCH, seq_length: int = CHAR_RNN_SEQ,
                   train_frac: float = TRAIN_FRAC) -> tuple[str, list[str]]:
    """char-rnn's train/validation split of ``text`` (CharSplitLMMinibatchLoader with test_frac 0).

    The text is cut to n = batch_size * seq_length * floor(len / (batch_size * seq_length))
    characters and laid out as ``batch_size`` rows of L = n / batch_size; windows are
    ``seq_length`` columns, the first floor(n_windows * train_frac) train.  Returns the training text
    (every row's first C = n_train_windows * seq_length characters, row after row) and one validation
    stream per row: the row's last L - C characters followed by the character the loader predicts
    after them (the next row's first; for the last row, the text's first, as char-rnn's ``ydata[-1] =
    data[1]`` wraps).
    """
    n = batch_size * seq_length * (len(text) // (batch_size * seq_length))
    if n == 0:
        raise ValueError(f"text of {len(text)} characters is shorter than one {batch_size}x{seq_length} batch")
    row = n // batch_size
    n_windows = row // seq_length
    cut = int(math.floor(n_windows * train_frac)) * seq_length
    if not 0 < cut < row:
        raise ValueError(f"train_frac {train_frac} leaves no training or no validation windows of {n_windows}")
    rows = [text[r * row:(r + 1) * row] for r in range(batch_size)]
    following = [text[(r + 1) * row] for r in range(batch_size - 1)] + [text[0]]
    return "".join(r[:cut] for r in rows), [r[cut:] + nxt for r, nxt in zip(rows, following)]


def split_char_rnn(text: str, folder: Path) -> tuple[Path, Path, int, int]:
    """Write char-rnn's split (:func:`char_rnn_parts`): train.txt, and valid.txt as the 50 validation
    streams one after another (equal lengths, so ``--batch-size 50`` reads each as one stream)."""
    train_text, streams = char_rnn_parts(text)
    return (*_write_parts(folder, train_text, "".join(streams)), len(train_text), sum(len(s) - 1 for s in streams))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder holding tinyshakespeare/ (default: %(default)s)")
    p.add_argument("--layers", type=int, default=2, help="LSTM layers (default: 2)")
    p.add_argument("--hidden", type=int, default=384, help="hidden units per layer (default: 384)")
    p.add_argument("--embed", type=int, default=64, help="character embedding size (default: 64)")
    p.add_argument("--bptt", type=int, default=64, help="window length (default: 64)")
    p.add_argument("--batch-size", type=int, default=32, help="parallel streams (default: 32)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default: 2e-3)")
    p.add_argument("--lr-decay", type=float, default=0.85, help="multiply the lr by this each epoch (default: 0.85)")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout (default: 0.2)")
    p.add_argument("--dropout-input", type=float, default=None,
                   help="dropout on the character embeddings only (default: --dropout; char-rnn uses 0)")
    p.add_argument("--variational", action="store_true",
                   help="one dropout mask per window, shared across its time steps (default: a new mask per step)")
    p.add_argument("--weight-drop", type=float, default=0.0,
                   help="DropConnect on the recurrent weights W_hh, one mask per window (default: 0)")
    p.add_argument("--epochs", type=int, default=10, help="epochs (default: 10)")
    p.add_argument("--average", type=float, default=None,
                   help="validate and keep a moving average of the weights with this decay (default: none)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke run, not recorded)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="cap BLAS threads in the child processes (default: leave the library default)")
    p.add_argument("--run-root", type=Path, default=RUNS, help="checkpoints and logs go here (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run from its last checkpoint (same options as the run that stopped)")
    p.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    p.add_argument("--split", choices=("contiguous", "char-rnn"), default="contiguous",
                   help="contiguous: first 95%% train, last 5%% validation; char-rnn: the split char-rnn's loader "
                        "makes (the last 1,150 characters of each of 50 chunks validate) (default: %(default)s)")
    p.add_argument("--title", default=None,
                   help="subsection title in RESULTS.md (default: from the options; a new title keeps an earlier "
                        "record of the same setting)")
    args = p.parse_args(argv)
    args.run_root.mkdir(parents=True, exist_ok=True)
    text = (args.data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    name = f"{args.layers}x{args.hidden} LSTM"
    tag = f"shakespeare_{args.layers}x{args.hidden}"
    if args.dropout != 0.2 or args.average is not None:  # the first recorded run's title stays as it was
        name += f", dropout {args.dropout:g}" + ("" if args.average is None else f", weight average {args.average:g}")
        tag += f"_d{args.dropout:g}" + ("" if args.average is None else f"_avg{args.average:g}")
    if args.dropout_input is not None:
        name += f", input dropout {args.dropout_input:g}"
        tag += f"_in{args.dropout_input:g}"
    if args.variational:
        name += ", variational dropout"
        tag += "_var"
    if args.weight_drop:
        name += f", weight drop {args.weight_drop:g}"
        tag += f"_wd{args.weight_drop:g}"
    if args.lr_decay not in (0.85, 0.9):  # every run recorded before used one of these; their titles stay
        name += f", lr decay {args.lr_decay:g} over {args.epochs} epochs"
        tag += f"_decay{args.lr_decay:g}_e{args.epochs}"
    if args.split == "char-rnn":
        name += ", char-rnn's split"
        tag += "_charrnn"
    run_dir = args.run_root / tag
    log = args.run_root / f"{tag}.log"
    env = user_env(args.blas_threads)
    date, load0 = utc_date(), machine_load()
    with tempfile.TemporaryDirectory(prefix="rnnkit-shakespeare-") as tmp:
        char_rnn = args.split == "char-rnn"
        train, valid, n_train, n_valid = (split_char_rnn if char_rnn else split)(text, Path(tmp))
        streams = ["--eval-batch-size", str(CHAR_RNN_BATCH)] if char_rnn else []
        cmd = rnnkit_cmd(
            "train", "lm", "--train", str(train), "--valid", str(valid), "--level", "char",
            "--cell", "lstm", "--layers", str(args.layers), "--hidden", str(args.hidden), "--embed", str(args.embed),
            "--bptt", str(args.bptt), "--batch-size", str(args.batch_size), "--dropout", str(args.dropout),
            "--optimizer", "adam", "--lr", str(args.lr), "--schedule", "exp", "--lr-decay", str(args.lr_decay),
            "--clip", "5", "--epochs", str(args.epochs), "--seed", str(args.seed), "--run-dir", str(run_dir),
            "--progress", "lines", "--log-every", "100", "--checkpoint-minutes", "10",
            *(["--resume"] if args.resume else []),
            *(["--max-steps", str(args.max_steps)] if args.max_steps is not None else []),
            *(["--average", str(args.average)] if args.average is not None else []),
            *(["--dropout-input", str(args.dropout_input)] if args.dropout_input is not None else []),
            *(["--variational"] if args.variational else []),
            *(["--weight-drop", str(args.weight_drop)] if args.weight_drop else []),
            *streams,
        )
        rates = ProgressRates()
        train_wall, model = train_logged(cmd, log, env, rates, run_dir)
        m, eval_cmd, eval_wall = evaluate_json(model, valid, log, env,
                                               *(["--batch-size", str(CHAR_RNN_BATCH)] if char_rnn else []))
    load1 = machine_load()
    verdict = "target met" if m["loss"] <= TARGET else f"target missed by {m['loss'] - TARGET:.3f} nats/char"
    print(f"[bench_shakespeare] {name}: validation {m['loss']:.4f} nats/char ({m['bits']:.4f} bits/char) over "
          f"{m['tokens']:,} characters; {verdict}; training {fmt_time(train_wall)}", flush=True)
    if args.no_record or args.max_steps is not None:
        return 0
    tmp_note = "(TMP: the temporary folder holding the split)"
    lines = [
        f"{date}; {versions()}; BLAS threads: {'library default' if args.blas_threads is None else args.blas_threads}; "
        "from /work/main:",
        "",
        f"    {this_command()}",
        "",
        f"Split ({args.split}): {n_train:,} training and {n_valid:,} validation characters. It ran {tmp_note}:",
        "",
        f"    {env_prefix(args)}{shown_cmd(cmd).replace(tmp, 'TMP')}",
        f"    {env_prefix(args)}{eval_cmd.replace(tmp, 'TMP')}",
        "",
        f"Load at start: {load0}; at end: {load1}.",
        "",
        "| epoch | lr | train loss | valid loss (nats/char) | valid bits/char | train char/s | epoch ends at |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in read_epochs(run_dir):
        n = e["epoch"]
        at = rates.epoch_done_at.get(n)
        lines.append(f"| {n} | {e['lr']:.3g} | {e['train_loss']:.4f} | {e['valid_loss']:.4f} | {e['valid_bits']:.4f} "
                     f"| {rates.rate.get(n, math.nan):,.0f} | {fmt_time(at) if at is not None else '?'} |")
    lines += ["", f"**Validation loss {m['loss']:.4f} nats/char** ({m['bits']:.4f} bits/char) over {m['tokens']:,} "
              f"characters, best checkpoint ({verdict}; char-rnn about 1.40). Training {fmt_time(train_wall)} wall "
              f"(validation included{'; only the last, resumed process' if args.resume else ''}); "
              f"evaluation {eval_wall:.0f} s."]
    write_subsection(SECTION, INTRO, args.title or f"rnnkit, {name}", "\n".join(lines))
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"[bench_shakespeare] total wall time {fmt_time(time.perf_counter() - t0)}", flush=True)
    sys.exit(code)
