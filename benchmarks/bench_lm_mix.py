"""A trained RNN language model interpolated with a Kneser-Ney n-gram (Mikolov et al. 2011), on PTB or Tiny Shakespeare.

    python benchmarks/bench_lm_mix.py --corpus ptb --rnn RUN/best.safetensors [--order 5]
    python benchmarks/bench_lm_mix.py --corpus shakespeare --rnn RUN/best.safetensors [--order 7]

It fits the n-gram on the corpus's training file with ``rnnkit train ngram --save`` and runs
``rnnkit evaluate RNN DATA --interpolate KN --tune-on HELD_OUT --json``: the mixing weight is the
maximum-likelihood weight on held-out text the figures are not reported on.  PTB: tuned on valid, reported on test.
Tiny Shakespeare has no test file: the weight is tuned on the first half of the validation text (cut
at a line end) and the figures are given on the second half, and, for comparison with the
whole-validation figures of its own section, on the whole validation text (half of which tuned one
number).  The RNN checkpoint must come from the same training file (bench_ptb.py, bench_shakespeare.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _lm_common import (DEFAULT_DATA, fmt_time, machine_load, rnnkit_cmd, run_logged, shown_cmd, this_command,
                        user_env, utc_date, write_subsection)

SECTION = "RNN + n-gram interpolation (bench_lm_mix.py)"
INTRO = """\
Mikolov et al. (2011) combine an RNN language model with a Kneser-Ney 5-gram by linear interpolation
of their per-token probabilities.  Here `rnnkit evaluate RNN DATA --interpolate KN --tune-on HELD_OUT`
does it: both models score one exact stream (every token), and the weight of the RNN maximises the
likelihood of held-out text that the reported figures do not include (see each subsection)."""


def evaluate_mixture(rnn: Path, kn: Path, data: Path, tune: Path, log: Path, env: dict[str, str]
                     ) -> tuple[dict, str, float]:
    import json

    cmd = rnnkit_cmd("evaluate", str(rnn), str(data), "--interpolate", str(kn), "--tune-on", str(tune), "--json")
    lines: list[str] = []
    rc, wall = run_logged(cmd, log, env, lambda line, _: lines.append(line))
    if rc != 0:
        raise SystemExit(f"{shown_cmd(cmd)} failed (exit code {rc}); see {log}")
    return json.loads([line for line in lines if line.startswith("{")][-1]), shown_cmd(cmd), wall


def halves(valid: Path, folder: Path) -> tuple[Path, Path]:
    """The validation text cut at the line end nearest its middle: (first half, second half)."""
    text = valid.read_text(encoding="utf-8")
    cut = text.index("\n", len(text) // 2) + 1
    first, second = folder / "valid_a.txt", folder / "valid_b.txt"
    first.write_text(text[:cut], encoding="utf-8", newline="")
    second.write_text(text[cut:], encoding="utf-8", newline="")
    return first, second


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", choices=["ptb", "shakespeare"], required=True, help="which corpus")
    p.add_argument("--rnn", type=Path, required=True, help="the RNN checkpoint trained on the corpus's training file")
    p.add_argument("--order", type=int, default=None, help="n-gram order (default: 5 for ptb, 7 for shakespeare)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding ptb/ and tinyshakespeare/")
    p.add_argument("--run-root", type=Path, default=Path("/tmp/rnnkit-bench"), help="where the n-gram model goes")
    p.add_argument("--title", default=None, help="subsection title (default: the corpus and the order)")
    p.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = p.parse_args(argv)
    order = args.order or (5 if args.corpus == "ptb" else 7)
    level = "word" if args.corpus == "ptb" else "char"
    env = user_env()
    date, load0, t0 = utc_date(), machine_load(), time.perf_counter()
    args.run_root.mkdir(parents=True, exist_ok=True)
    kn = args.run_root / f"{args.corpus}_kn{order}.safetensors"
    log = args.run_root / f"{args.corpus}_mix.log"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.corpus == "ptb":
            ptb = args.data / "ptb"
            train, tune, reports = ptb / "ptb.train.txt.xz", ptb / "ptb.valid.txt", [("test", ptb / "ptb.test.txt")]
        else:
            from bench_shakespeare import split

            text = (args.data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
            train, valid, _, _ = split(text, tmp)
            tune, second = halves(valid, tmp)
            reports = [("second half of valid", second), ("whole valid", valid)]
        fit = rnnkit_cmd("train", "ngram", "--train", str(train), "--order", str(order), "--level", level,
                         "--save", str(kn))
        rc, fit_wall = run_logged(fit, log, env)
        if rc != 0:
            raise SystemExit(f"{shown_cmd(fit)} failed (exit code {rc}); see {log}")
        rows, commands = [], [shown_cmd(fit)]
        for name, data in reports:
            m, cmd, wall = evaluate_mixture(args.rnn, kn, data, tune, log, env)
            rows.append((name, m, wall))
            commands.append(cmd)
    total = time.perf_counter() - t0
    unit, key, fmt = ("ppl", "ppl", "{:.2f}") if level == "word" else ("nats/char", "loss", "{:.4f}")
    table = [f"| data | tokens | RNN {unit} | KN{order} {unit} | interpolated {unit} | weight of the RNN | "
             f"evaluate wall |", "|---|---|---|---|---|---|---|"]
    for name, m, wall in rows:
        table.append(f"| {name} | {m['tokens']:,} | {fmt.format(m['model'][key])} | "
                     f"{fmt.format(m['interpolate'][key])} | **{fmt.format(m[key])}** | {m['weight']:.4f} | "
                     f"{fmt_time(wall)} |")
    tuned = "valid (ptb.valid.txt)" if args.corpus == "ptb" else "the first half of valid"
    body = "\n".join([
        f"{date}; machine load at start: {load0}; from the repository root:", "",
        f"    {this_command()}", "",
        "It ran (TMP: the temporary folder holding the split):" if args.corpus != "ptb" else "It ran:", "",
        *[f"    {c.replace(str(tmp), 'TMP')}" for c in commands], "",
        f"RNN checkpoint: `{args.rnn}`.  Weight: the maximum-likelihood weight on {tuned}.  n-gram fitted in {fmt_time(fit_wall)}; "
        f"whole benchmark {fmt_time(total)}.", "",
        *table,
    ])
    print(body)
    if not args.no_record:
        title = args.title or f"{'PTB' if args.corpus == 'ptb' else 'Tiny Shakespeare'}, KN{order}"
        write_subsection(SECTION, INTRO, title, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
