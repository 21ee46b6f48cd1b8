"""The Zaremba et al. (2014) PTB configurations in PyTorch, as the reference for rnnkit's speed.

Same setup as bench_ptb.py: nn.Embedding(10000, 200) -> nn.LSTM(200, 200, 2) -> nn.Linear(200, 10000),
full softmax; 20 streams, windows of 20 steps, the hidden state carried across windows and detached;
loss = cross-entropy averaged over the window's tokens times T (summed over time, averaged over the
batch); SGD lr 1, halved every epoch after epoch 4; clip_grad_norm_ 5; every parameter from
U(-0.1, 0.1); 13 epochs.  Validation perplexity after each epoch (10 streams, read from <eos>, as
rnnkit's trainer); test perplexity with the best model over one stream started from <eos>, so every
one of the 82,430 test tokens is predicted (as ``rnnkit evaluate``).

``--config medium`` is the paper's medium model with the same recipe as ``bench_ptb.py --config
medium`` (2 x 650, 35 steps, dropout 0.5 on the embeddings, between the layers and before the output
layer, U(-0.05, 0.05), lr divided by 1.2 every epoch after epoch 6, 39 epochs), full softmax as in
the paper.

With ``--softmax adaptive`` the output layer is nn.AdaptiveLogSoftmaxWithLoss (head bias on) over
a vocabulary sorted by training frequency, the peer of ``bench_ptb.py --softmax adaptive``.

    python benchmarks/bench_ptb_torch.py [--epochs 13] [--max-steps N] [--threads N]
    python benchmarks/bench_ptb_torch.py --softmax adaptive --cutoffs 2000 --div-value 1
    python benchmarks/bench_ptb_torch.py --config medium
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import DEFAULT_DATA, fmt_time, machine_load, this_command, utc_date, write_subsection  # noqa: E402
from bench_ptb import CONFIGS  # noqa: E402

from rnnkit.data import build_vocabulary, read_tokens  # noqa: E402
from rnnkit.data.vocab import Vocabulary  # noqa: E402
from rnnkit.lm.batching import batchify, windows  # noqa: E402


class ZarembaLSTM(nn.Module):
    """Embedding (V, H) -> dropout -> 2-layer LSTM (H, dropout between the layers) -> dropout ->
    Linear (H, V), or an adaptive softmax."""

    def __init__(self, V: int, E: int = 200, H: int = 200, layers: int = 2, init_scale: float = 0.1,
                 cutoffs: list[int] | None = None, div_value: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()  # small: no dropout call at all
        self.rnn = nn.LSTM(E, H, layers, dropout=dropout)
        if cutoffs:
            self.decoder = nn.AdaptiveLogSoftmaxWithLoss(H, V, cutoffs, div_value=div_value, head_bias=True)
        else:
            self.decoder = nn.Linear(H, V)
        for p in self.parameters():
            nn.init.uniform_(p, -init_scale, init_scale)

    def forward(self, x: torch.Tensor, y: torch.Tensor, state):
        """Mean NLL over the window's tokens, and the state."""
        out, state = self.rnn(self.drop(self.embedding(x)), state)  # (T, B, H)
        out, y = self.drop(out).reshape(-1, out.shape[-1]), y.reshape(-1)
        if isinstance(self.decoder, nn.AdaptiveLogSoftmaxWithLoss):
            return self.decoder(out, y).loss, state
        return nn.functional.cross_entropy(self.decoder(out), y), state


def to_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


@torch.no_grad()
def evaluate(model: ZarembaLSTM, ids: np.ndarray, batch_size: int, bptt: int, start_id: int) -> dict:
    """Mean NLL per predicted token and perplexity; the stream is read after start_id (<eos>)."""
    model.eval()
    data = batchify(np.concatenate([[start_id], ids]), batch_size)  # (N // B, B)
    state = None
    total = 0.0
    count = 0
    for _, x, y in windows(data, bptt):
        loss, state = model(to_tensor(x), to_tensor(y), state)
        total += loss.item() * y.size
        count += y.size
    model.train()
    nll = total / count
    return {"loss": nll, "ppl": math.exp(nll), "tokens": count}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding ptb/ (default: %(default)s)")
    p.add_argument("--config", choices=sorted(CONFIGS), default="small",
                   help="the paper's small or medium model (default: small)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the paper's, 13 or 39)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (timing / smoke run)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default: 0)")
    p.add_argument("--softmax", choices=["full", "adaptive"], default="full", help="output layer (default: full)")
    p.add_argument("--cutoffs", default="2000", help="--softmax adaptive: cutoffs (default: 2000)")
    p.add_argument("--div-value", type=float, default=4.0, help="--softmax adaptive: div_value (default: 4)")
    p.add_argument("--no-test", action="store_true", help="skip the final test evaluation")
    p.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = p.parse_args(argv)
    cfg = CONFIGS[args.config]
    args.epochs = args.epochs or cfg.epochs
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    date, load0 = utc_date(), machine_load()
    t_start = time.perf_counter()

    ptb = args.data / "ptb"
    vocab, train_tokens = build_vocabulary(ptb / "ptb.train.txt.xz", "word")
    cutoffs = None
    if args.softmax == "adaptive":  # ids by falling training frequency, as rnnkit train lm does
        counts = np.bincount(vocab.encode(train_tokens), minlength=len(vocab))
        order = np.argsort(-counts, kind="stable")
        vocab = Vocabulary(vocab.decode(order), unk_token=vocab.unk_token, eos_token=vocab.eos_token)
        cutoffs = [int(c) for c in args.cutoffs.split(",")]
    train = batchify(vocab.encode(train_tokens), 20)  # (N // 20, 20)
    valid_ids = vocab.encode(read_tokens(ptb / "ptb.valid.txt", "word"))
    test_ids = vocab.encode(read_tokens(ptb / "ptb.test.txt", "word"))
    V = len(vocab)
    model = ZarembaLSTM(V, cfg.hidden, cfg.hidden, init_scale=cfg.init_scale, cutoffs=cutoffs,
                        div_value=args.div_value, dropout=cfg.dropout)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; vocabulary {V}; "
          f"{train.size:,} training tokens in 20 streams", flush=True)

    history = []
    best, best_state = math.inf, None
    step = 0
    train_time = 0.0
    train_tokens_seen = 0
    for epoch in range(1, args.epochs + 1):
        lr = 1.0 * cfg.lr_decay ** max(0, epoch - cfg.decay_start)
        for g in opt.param_groups:
            g["lr"] = lr
        state = None
        total, count = 0.0, 0
        t0 = time.perf_counter()
        for _, x, y in windows(train, cfg.bptt):
            T = x.shape[0]
            if state is not None:
                state = tuple(s.detach() for s in state)  # truncated BPTT: carry, do not backpropagate
            loss, state = model(to_tensor(x), to_tensor(y), state)  # mean over the T * B tokens
            opt.zero_grad()
            (loss * T).backward()  # summed over time, averaged over the batch (Zaremba's scaling)
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            total += loss.item() * y.size
            count += y.size
            if step % 200 == 0:
                rate = count / (time.perf_counter() - t0)
                print(f"epoch {epoch} | step {step} | {rate:,.0f} tok/s | loss {total / count:.3f} | lr {lr:g}",
                      flush=True)
            if args.max_steps is not None and step >= args.max_steps:
                break
        dt = time.perf_counter() - t0
        train_time += dt
        train_tokens_seen += count
        row = {"epoch": epoch, "lr": lr, "train_ppl": math.exp(total / count), "tok_per_s": count / dt,
               "train_seconds": dt}
        if args.max_steps is None:
            v = evaluate(model, valid_ids, 10, cfg.bptt, vocab.eos_id)
            row["valid_ppl"] = v["ppl"]
            if v["loss"] < best:
                best, best_state = v["loss"], copy.deepcopy(model.state_dict())
        row["ends_at"] = time.perf_counter() - t_start
        history.append(row)
        valid = row.get("valid_ppl", math.nan)
        print(f"epoch {epoch} done | train ppl {row['train_ppl']:.2f} | valid ppl {valid:.2f}"
              f" | {row['tok_per_s']:,.0f} tok/s | lr {lr:g}", flush=True)
        if args.max_steps is not None and step >= args.max_steps:
            break

    test = None
    if not args.no_test:
        if best_state is not None:
            model.load_state_dict(best_state)
        t0 = time.perf_counter()
        test = evaluate(model, test_ids, 1, 100, vocab.eos_id)
        test["seconds"] = time.perf_counter() - t0
        print(f"test perplexity {test['ppl']:.2f} over {test['tokens']:,} tokens", flush=True)
    wall = time.perf_counter() - t_start
    load1 = machine_load()
    result = {"train_tok_per_s": train_tokens_seen / train_time, "train_seconds": train_time, "wall": wall,
              "test": test, "epochs": history}
    print("RESULT " + json.dumps(result), flush=True)
    if not args.no_record and args.max_steps is None:
        title = "PyTorch, full softmax" if args.softmax == "full" else \
            f"PyTorch, adaptive softmax (cutoffs {args.cutoffs}, div_value {args.div_value:g})"
        write_subsection(cfg.section, cfg.intro, title, report(args, result, date, load0, load1))
    return 0


def report(args: argparse.Namespace, res: dict, date: str, load0: str, load1: str) -> str:
    lines = [
        f"{date}; Python {platform.python_version()}, torch {torch.__version__} (CPU, {args.threads} threads); "
        "from /work/main:",
        "",
        f"    {this_command()}",
        "",
        f"Load at start: {load0}; at end: {load1}.",
        "",
        "| epoch | lr | train ppl | valid ppl | train tok/s | epoch ends at |",
        "|---|---|---|---|---|---|",
    ]
    for e in res["epochs"]:
        lines.append(f"| {e['epoch']} | {e['lr']:.4g} | {e['train_ppl']:.2f} | {e.get('valid_ppl', float('nan')):.2f} "
                     f"| {e['tok_per_s']:,.0f} | {fmt_time(e['ends_at'])} |")
    t = res["test"]
    test = "not evaluated"
    if t is not None:
        paper = CONFIGS[args.config].paper_test
        gap = t["ppl"] - paper
        verdict = "target met" if gap <= 0 else f"missed by {gap:.2f}"
        test = f"**Test perplexity {t['ppl']:.2f}** over {t['tokens']:,} tokens (paper {paper}: {verdict})"
    lines += ["", f"{test}. Wall time {fmt_time(res['wall'])} (training {fmt_time(res['train_seconds'])} at "
              f"{res['train_tok_per_s']:,.0f} tok/s overall)."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
