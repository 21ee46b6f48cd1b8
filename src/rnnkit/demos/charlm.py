"""The main demo: a character-level LSTM trained on Python's own standard library, then sampled.

The corpus is on every machine that runs rnnkit, with no download: a fixed list of pure-Python
modules of the running interpreter's standard library (``CORPUS_FILES``, read from
``sysconfig.get_paths()["stdlib"]``), concatenated in that order, each file preceded by a line
``# ==== <name> ====``, and cut to the first ``max_chars`` characters.  The slice is deterministic
for a given Python version (the files change a little between versions).  Where this Python's
standard-library source is not installed (some minimal images and embedded Pythons keep only compiled
``.pyc`` files), the corpus is rnnkit's own source instead: its ``.py`` files in path order, which pip
always installs.  The last 5% of the corpus is the validation text.

It trains a 2-layer LSTM language model over characters with Adam for a fixed number of steps
(about two minutes on 2 idle cores of a current CPU), then prints a sample and where the model is.
"""
from __future__ import annotations

import math
import os
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from rnnkit.data.vocab import Vocabulary
from rnnkit.english import a_or_an
from rnnkit.errors import DataError
from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.lm.generate import sample_ids
from rnnkit.lm.io import lm_meta
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.task import LMTask
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import Trainer

CORPUS_FILES = [
    "textwrap.py", "string.py", "bisect.py", "heapq.py", "shlex.py", "fractions.py", "calendar.py",
    "random.py", "functools.py", "statistics.py", "json/encoder.py", "json/decoder.py", "difflib.py",
    "argparse.py",
]


MIN_CORPUS = 50_000  # characters: below this the demo has too little to learn from


def stdlib_corpus(max_chars: int = 400_000, root: str | os.PathLike | None = None) -> str:
    """The demo corpus: the fixed slice of this interpreter's standard library described above ("" when
    fewer than ``MIN_CORPUS`` characters of it are found under ``root``, default the stdlib folder)."""
    root = Path(sysconfig.get_paths()["stdlib"] if root is None else root)
    parts = [f"# ==== {name} ====\n" + (root / name).read_text(encoding="utf-8")
             for name in CORPUS_FILES if (root / name).is_file()]
    text = "\n".join(parts)
    return text[:max_chars] if len(text) >= MIN_CORPUS else ""


def package_corpus(max_chars: int = 400_000, root: str | os.PathLike | None = None) -> tuple[str, int]:
    """(text, files read): the ``.py`` files under ``root`` (default rnnkit's installed package) in path
    order, each preceded by ``# ==== <path> ====``, cut to ``max_chars``; ("", 0) when they hold fewer
    than ``MIN_CORPUS`` characters."""
    root = Path(__file__).resolve().parents[1] if root is None else Path(root)
    parts: list[str] = []
    size = 0
    for path in sorted(root.rglob("*.py"), key=lambda q: q.relative_to(root).as_posix()):
        if size >= max(max_chars, MIN_CORPUS):
            break
        part = f"# ==== {path.relative_to(root).as_posix()} ====\n" + path.read_text(encoding="utf-8")
        parts.append(part)
        size += len(part) + 1
    text = "\n".join(parts)
    return (text[:max_chars], len(parts)) if len(text) >= MIN_CORPUS else ("", 0)


def demo_corpus(max_chars: int = 400_000, stdlib_root: str | os.PathLike | None = None,
                package_root: str | os.PathLike | None = None) -> tuple[str, str]:
    """(text, what it is): this Python's standard-library slice, else rnnkit's own source.

    Raises :class:`~rnnkit.errors.DataError` when neither is there (a broken installation)."""
    text = stdlib_corpus(max_chars, stdlib_root)
    py = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    where = Path(sysconfig.get_paths()["stdlib"] if stdlib_root is None else stdlib_root)
    if text:
        found = sum((where / name).is_file() for name in CORPUS_FILES)  # a Python may lack one or two
        return text, f"{py}'s standard library ({found} modules)"
    text, files = package_corpus(max_chars, package_root)
    if text:
        return text, (f"rnnkit's own source ({files} files; {py}'s standard-library source is not installed "
                      f"under {where})")
    raise DataError(f"the demo found no Python source to learn from, neither {py}'s standard library under "
                    f"{where} nor rnnkit's own; train on a text file of yours instead: rnnkit train lm "
                    "--train FILE --level char")


@dataclass
class DemoConfig:
    """Settings of :func:`run_charlm_demo`: training steps, model size, data and sampling."""

    steps: int = 1000  # optimizer steps (about 2 minutes here); the demo is deterministic in steps
    hidden: int = 256
    layers: int = 2
    batch_size: int = 32
    bptt: int = 64
    lr: float = 3e-3
    max_chars: int = 400_000
    seed: int = 0
    sample_chars: int = 600
    temperature: float = 0.7


def run_charlm_demo(cfg: DemoConfig, run_dir: str | os.PathLike, out: TextIO | None = None,
                    progress: str = "auto") -> dict:
    """Train, evaluate and sample; returns a dict with the numbers it printed (to ``out``, default the
    standard output of the moment of the call)."""
    out = sys.stdout if out is None else out
    text, source = demo_corpus(cfg.max_chars)
    split = int(len(text) * 0.95)
    train_text, valid_text = text[:split], text[split:]
    vocab = Vocabulary.build(list(train_text), eos_token=None)
    train_ids = vocab.encode(list(train_text))
    valid_ids = vocab.encode(list(valid_text))
    print(f"corpus: {len(text):,} characters of {source}, {len(vocab)} distinct characters", file=out)
    rng = np.random.default_rng(cfg.seed)
    mcfg = LMConfig(vocab_size=len(vocab), cell="lstm", embedding_dim=64, hidden_size=cfg.hidden,
                    num_layers=cfg.layers)
    model = LanguageModel(mcfg, rng)
    task = LMTask(model, train_ids, valid_ids, cfg.batch_size, cfg.bptt, loss_scale="token", eval_batch_size=16,
                  meta=lm_meta(model, vocab, "char"))
    steps_per_epoch = (task.data.shape[0] - 1 + cfg.bptt - 1) // cfg.bptt
    epochs = max(1, math.ceil(cfg.steps / steps_per_epoch))
    passes = cfg.steps / steps_per_epoch  # the last one may be part of an epoch: 200 steps are 1.08 epochs
    tcfg = TrainConfig(epochs=epochs, optimizer="adam", lr=cfg.lr, clip=1.0, max_steps=cfg.steps, seed=cfg.seed,
                       checkpoint_minutes=1.0, log_every=25, progress=progress)
    print(f"training {a_or_an(cfg.layers)} {cfg.layers}x{cfg.hidden} LSTM for {cfg.steps} steps of "
          f"{cfg.batch_size}x{cfg.bptt} characters ({passes:.3g} epoch{'s' * (passes != 1)} of {steps_per_epoch} "
          "steps)", file=out)
    t0 = time.perf_counter()
    # no best.safetensors: the demo's model is its final weights (what it validates and samples below),
    # not an epoch end's, which a run stopped part-way through an epoch would leave behind, older and worse
    Trainer(task, tcfg, run_dir, unit="char", show_ppl=False, keep_best=False).fit()
    seconds = time.perf_counter() - t0
    m = evaluate_stream(model, valid_ids, 16, cfg.bptt)
    print(f"trained in {seconds:.0f} s; validation: {m['bits']:.3f} bits/char "
          f"(loss {m['loss']:.3f} nats; a uniform guess is {math.log2(len(vocab)):.2f} bits)", file=out)
    from rnnkit.checkpoint_task import save_task_checkpoint

    model_path = Path(run_dir) / "model.safetensors"  # the final model, whatever epoch it stopped in
    # the settings that trained it (not the sample's), which rnnkit info shows and names the file by, as the
    # pointer demo's model keeps its own
    demo = {k: v for k, v in asdict(cfg).items() if k not in ("sample_chars", "temperature")}
    save_task_checkpoint(model_path, model.params, {**task.meta(), "demo": demo})
    prime = "def "
    print(f"\n--- sample (temperature {cfg.temperature}, seed {cfg.seed}) ---", file=out)
    out.write(prime)
    gen = sample_ids(model, vocab.encode(list(prime)), cfg.sample_chars, np.random.default_rng(cfg.seed),
                     temperature=cfg.temperature)
    names = vocab.tokens  # a copy: take it once, not per character
    for i in gen:
        out.write(names[i])
    out.write("\n---\n")
    beside = [f"{name}, {what}" for name, what in (("last.safetensors", "the same with the optimizer's state"),
                                                   ("metrics.jsonl", "the training log"))
              if (Path(run_dir) / name).is_file()]  # no log before the first log_every steps or epoch end
    print(f"model saved: {model_path}, the weights after step {cfg.steps}"
          + (f" (beside it: {'; '.join(beside)})" if beside else ""), file=out)
    print(f"sample more: rnnkit generate {model_path} --prime 'class ' --length 500 --temperature 0.8", file=out)
    return {"bits_per_char": m["bits"], "seconds": seconds, "model": str(model_path)}
