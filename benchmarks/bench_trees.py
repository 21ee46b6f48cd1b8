"""Speed of recursive networks over SST's trees: rnnkit's level-batched Tree-LSTM, Tree-RNN, RNTN and Child-Sum
Tree-LSTM against the same networks written level by level in PyTorch (autograd), each library in its own process.

    python benchmarks/bench_trees.py [--data ../shared/data] [--cells lstm,rnn,rntn,childsum] [--threads 1] [--rounds 3]

Work timed: forward and backward (every parameter's gradient, the word vectors' included; no optimizer
step, no dropout) of the summed cross-entropy at every node, over the first ``--batches`` batches of
25 trees of SST's training file, in file order, float32.  Both implementations compute all nodes of one
height of every tree in a batch together (the PyTorch version gathers the children's states with
index_select and writes the new ones with index_copy, which autograd differentiates, and the Child-Sum
cell sums children with index_add; written the way a careful PyTorch user would batch it, not node by
node).  Same weights on both sides (rnnkit's
initialisation, copied), and before timing each worker checks that both compute the same loss on the
first batch.  Rounds alternate rnnkit, torch, rnnkit, torch ...; each round is a fresh process that
times ``--repeat`` passes and keeps the median; the table gives the median over rounds.  With
``--write-results`` the table goes to benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _lm_common import DEFAULT_DATA, machine_load, this_command, utc_date, write_subsection  # noqa: E402

SECTION = "Recursive network speed (bench_trees.py)"
INTRO = """\
Forward and backward of the node-level cross-entropy over SST training batches (25 trees each),
rnnkit's level-batched cells against the same networks batched level by level in PyTorch under
autograd, each library in its own process, same weights (the loss is checked equal before timing)."""
DROPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# (embed, hidden): bench_sst.py's settings; the Child-Sum Tree-LSTM the binary one's
SIZES = {"lstm": (100, 150), "rnn": (100, 150), "rntn": (100, 50), "childsum": (100, 150)}


def load_batches(data: Path, cell: str, n_batches: int, batch_size: int = 25):
    from rnnkit.data.trees import read_trees
    from rnnkit.data.vocab import Vocabulary
    from rnnkit.treenet import TreeNet, TreeNetConfig, make_batch

    trees = read_trees(data / "sst_trees" / "train.txt")
    vocab = Vocabulary.build([w for t in trees for w in t.tokens], eos_token=None)
    batches = [make_batch(trees[i : i + batch_size], [np.asarray(vocab.encode(t.tokens)) for t in
                                                      trees[i : i + batch_size]])
               for i in range(0, min(len(trees), n_batches * batch_size), batch_size)]
    E, H = SIZES[cell]
    model = TreeNet(TreeNetConfig(len(vocab), 5, cell, E, H, dropout=0.0), np.random.default_rng(0))
    if cell == "rntn":  # V starts at zero; give it values so that the bilinear term is really computed
        t = model.params["compose.tensor"]
        t[...] = np.random.default_rng(1).uniform(-0.1, 0.1, t.shape)
    return model, batches


def rnnkit_pass(model, batches) -> float:
    total = 0.0
    for b in batches:
        loss, _, cache = model.loss(b)
        model.backward(1.0, cache)
        total += loss
    return total


def torch_model(torch, model, cell: str):
    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    H = model.config.hidden_size
    V = P.get("compose.tensor")
    scale = 1.0 / (2 * H)
    prepared = {}

    def index(batch):  # the batch's index arrays as torch tensors, made once per batch (as a data loader would)
        key = id(batch)
        if key not in prepared:
            lv = [tuple(torch.from_numpy(a) for a in (x.nodes, x.left, x.right, x.kids, x.owner)) for x in batch.levels]
            lab = torch.from_numpy(batch.labels)
            keep = torch.from_numpy(np.flatnonzero(batch.labels >= 0))
            prepared[key] = (torch.from_numpy(batch.words), torch.from_numpy(batch.leaves), lv, lab[keep], keep)
        return prepared[key]

    def loss(batch):
        words, leaves, levels, labels, keep = index(batch)
        N = batch.num_nodes
        x = P["embedding.weight"][words]  # (n, E)
        zl = x @ P["leaf.weight"].T + P["leaf.bias"]
        h = torch.zeros(N, H)
        if cell in ("lstm", "childsum"):
            c = torch.zeros(N, H)
            i, o, u = torch.sigmoid(zl[:, :H]), torch.sigmoid(zl[:, H : 2 * H]), torch.tanh(zl[:, 2 * H :])
            cl = i * u
            c = c.index_copy(0, leaves, cl)
            h = h.index_copy(0, leaves, o * torch.tanh(cl))
        else:
            h = h.index_copy(0, leaves, torch.tanh(zl))
        for nodes, left, right, kids, owner in levels:
            if cell == "childsum":  # i, f, o, u rows; h~ = the children's states summed with index_add
                U, b = P["compose.weight"], P["compose.bias"]
                hk, ck = h.index_select(0, kids), c.index_select(0, kids)  # (k, H)
                hsum = torch.zeros(nodes.numel(), H).index_add(0, owner, hk)  # (m, H)
                z = hsum @ torch.cat([U[:H], U[2 * H :]]).T + torch.cat([b[:H], b[2 * H :]])  # (m, 3H)
                f = torch.sigmoid(hk @ U[H : 2 * H].T + b[H : 2 * H])  # (k, H)
                cn = (torch.sigmoid(z[:, :H]) * torch.tanh(z[:, 2 * H :])
                      + torch.zeros(nodes.numel(), H).index_add(0, owner, f * ck))
                c = c.index_copy(0, nodes, cn)
                h = h.index_copy(0, nodes, torch.sigmoid(z[:, H : 2 * H]) * torch.tanh(cn))
                continue
            a = torch.cat([h.index_select(0, left), h.index_select(0, right)], dim=1)  # (m, 2H)
            z = a @ P["compose.weight"].T + P["compose.bias"]
            if cell == "lstm":
                s = torch.sigmoid(z[:, : 4 * H])
                cn = (s[:, :H] * torch.tanh(z[:, 4 * H :]) + s[:, H : 2 * H] * c.index_select(0, left)
                      + s[:, 2 * H : 3 * H] * c.index_select(0, right))
                c = c.index_copy(0, nodes, cn)
                h = h.index_copy(0, nodes, s[:, 3 * H : 4 * H] * torch.tanh(cn))
            else:
                if cell == "rntn":
                    z = z + torch.einsum("mi,kij,mj->mk", a, V, a) * scale
                h = h.index_copy(0, nodes, torch.tanh(z))
        logits = h.index_select(0, keep) @ P["output.weight"].T + P["output.bias"]
        return torch.nn.functional.cross_entropy(logits, labels, reduction="sum")

    def one_pass(batches) -> float:
        total = 0.0
        for b in batches:
            for p in P.values():
                p.grad = None
            out = loss(b)
            out.backward()
            total += float(out)
        return total

    return loss, one_pass


def worker(args) -> None:
    import threadpoolctl

    threadpoolctl.threadpool_limits(args.threads)
    model, batches = load_batches(args.data, args.cell, args.batches)
    info = threadpoolctl.threadpool_info()
    if args.worker == "torch":
        import torch

        torch.set_num_threads(args.threads)
        loss_fn, run = torch_model(torch, model, args.cell)
        want, _, _ = model.loss(batches[0])
        got = float(loss_fn(batches[0]))
        if abs(got - want) > 1e-4 * abs(want):
            raise SystemExit(f"torch loss {got} != rnnkit loss {want} on the first batch: not the same network")
        fn = lambda: run(batches)  # noqa: E731
        info = threadpoolctl.threadpool_info()
        version = torch.__version__
    else:
        import rnnkit

        fn = lambda: rnnkit_pass(model, batches)  # noqa: E731
        version = rnnkit.__version__
    fn()  # warm-up
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    trees = sum(b.roots.size for b in batches)
    nodes = sum(b.num_nodes for b in batches)
    blas = [f"{d.get('internal_api')} {d.get('architecture', '')} x{d.get('num_threads')}".strip() for d in info]
    print(json.dumps({"impl": args.worker, "cell": args.cell, "seconds": statistics.median(times), "trees": trees,
                      "nodes": nodes, "version": version, "blas": blas}))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))  # the first paragraph
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding sst_trees/ (default: %(default)s)")
    p.add_argument("--cells", default="lstm,rnn,rntn,childsum",
                   help="comma-separated: lstm, rnn, rntn, childsum (default: all)")
    p.add_argument("--batches", type=int, default=40, help="batches of 25 trees per pass (default: 40)")
    p.add_argument("--repeat", type=int, default=3, help="timed passes per process (median kept; default: 3)")
    p.add_argument("--rounds", type=int, default=3, help="processes per library and cell, alternating (default: 3)")
    p.add_argument("--threads", type=int, default=1, help="threads per library (default: 1)")
    p.add_argument("--write-results", action="store_true", help="write the table to benchmarks/RESULTS.md")
    p.add_argument("--worker", choices=["rnnkit", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--cell", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(args.threads)
    date, load0, t0 = utc_date(), machine_load(), time.perf_counter()
    results: dict[tuple[str, str], list[dict]] = {}
    for cell in args.cells.split(","):
        for _ in range(args.rounds):
            for impl in ("rnnkit", "torch"):
                cmd = [sys.executable, __file__, "--worker", impl, "--cell", cell, "--data", str(args.data),
                       "--batches", str(args.batches), "--repeat", str(args.repeat), "--threads", str(args.threads)]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(f"{impl} worker failed: {out.stderr.strip().splitlines()[-1:]}")
                res = json.loads(out.stdout.strip().splitlines()[-1])
                results.setdefault((cell, impl), []).append(res)
                print(f"{cell} {impl}: {res['seconds']:.3f} s", flush=True)
    rows = ["| cell | impl | seconds a pass (median of rounds) | spread over rounds | trees/s | torch / rnnkit time |",
            "|---|---|---|---|---|---|"]
    names = {"lstm": "Tree-LSTM", "rnn": "Tree-RNN", "rntn": "RNTN", "childsum": "Child-Sum Tree-LSTM"}
    for cell in args.cells.split(","):
        med = {impl: statistics.median(r["seconds"] for r in results[(cell, impl)]) for impl in ("rnnkit", "torch")}
        for impl in ("rnnkit", "torch"):
            rs = [r["seconds"] for r in results[(cell, impl)]]
            spread = 100 * (max(rs) - min(rs)) / med[impl]
            ratio = f"**{med['torch'] / med['rnnkit']:.2f}**" if impl == "rnnkit" else ""
            E, H = SIZES[cell]
            rows.append(f"| {names[cell]} (E {E}, H {H}) | {impl} | {med[impl]:.3f} | {spread:.0f}% | "
                        f"{results[(cell, impl)][0]['trees'] / med[impl]:,.0f} | {ratio} |")
    first = next(iter(results.values()))[0]
    blas = {impl: next(r for (c, i), rs in results.items() for r in rs if i == impl)["blas"] for impl in ("rnnkit", "torch")}
    body = "\n".join([
        f"{date}; load at start: {load0}; from the repository root (wall {time.perf_counter() - t0:.0f} s):", "",
        f"    {this_command()}", "",
        f"{first['trees']:,} trees ({first['nodes']:,} nodes) a pass; {args.threads} thread(s) per library; "
        f"{args.rounds} rounds of {args.repeat} timed passes.", "",
        *rows, "",
        f"- rnnkit worker, threadpoolctl: {'; '.join(blas['rnnkit'])}",
        f"- torch worker ({next(r for (c, i), rs in results.items() for r in rs if i == 'torch')['version']}), "
        f"threadpoolctl: {'; '.join(blas['torch'])}",
    ])
    print(body)
    if args.write_results:
        write_subsection(SECTION, INTRO, f"{args.threads} thread(s) per library", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
