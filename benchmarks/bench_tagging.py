"""Sequence-labelling benchmarks: UD English EWT UPOS, CoNLL-2000 chunking, UD Chinese GSD v1.4.

Every run goes through the command line (``rnnkit train tagger`` / ``rnnkit train hmm``), so the
printed command reproduces it; the test set is then scored with the best checkpoint (chosen on the
validation set).  Tasks and references:

* ``ewt-upos``: BiLSTM-CRF with character features on gold tokens; test UPOS accuracy
  (target >= 95.0; UDPipe 1.2 reports 94.4).  ``ewt-hmm``: the TnT-style trigram HMM beside it.
* ``chunking``: CoNLL-2000, BiLSTM-CRF with character features and the POS column as an input
  feature; test span F1 (conlleval's rules; target >= 94.0).  There is no official dev set: the
  last 1,000 training sentences are held out for validation (training uses the other 7,936).
* ``zh-seg``: UD Chinese GSD v1.4 word segmentation from raw characters, BMES tagging with
  character-bigram embeddings and a CRF; test word F1 (target >= 93) and OOV recall.
* ``zh-upos``: the same treebank's UPOS on gold words (report only).

    nice python benchmarks/bench_tagging.py --task ewt-upos [--data ../shared/data] [--work runs/bench_tagging]

BLAS runs on one thread: the recurrent loops multiply small matrices, where extra threads only
contend for the two shared cores.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from rnnkit.cli.main import main as rnnkit_main
from rnnkit.cli.tagging import LoadedTagger, describe
from rnnkit.data.conll import read_conllu, read_text_file, write_text_file
from rnnkit.data.segmentation import write_segmented
from rnnkit.tagging.io import read_tagged

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TASKS = ("ewt-upos", "ewt-hmm", "chunking", "zh-seg", "zh-upos")
TARGETS = {"ewt-upos": 95.0, "chunking": 94.0, "zh-seg": 93.0}


def _neural(train, valid, run: Path, extra: list[str], epochs: int) -> list[str]:
    return ["train", "tagger", "--train", str(train), "--valid", str(valid), "--run-dir", str(run),
            "--epochs", str(epochs), "--progress", "lines", "--log-every", "200", *extra]


def prepare(task: str, data: Path, work: Path, epochs: int | None) -> tuple[list[str], Path, Path, Path]:
    """(argv of the training command, model path, valid file, test file) of a task."""
    ewt = data / "ud_english_ewt"
    gsd = data / "ud_chinese_gsd_v1.4"
    run = work / task
    if task in ("ewt-upos", "ewt-hmm"):
        train, valid, test = ewt / "en_ewt-ud-train.conllu.xz", ewt / "en_ewt-ud-dev.conllu", ewt / "en_ewt-ud-test.conllu"
        if task == "ewt-hmm":
            model = run / "hmm.safetensors"
            return ["train", "hmm", "--train", str(train), "--order", "3", "--output", str(model)], model, valid, test
        extra = ["--crf", "--char-features", "--char-embed", "30", "--char-hidden", "50", "--embed", "100",
                 "--hidden", "128", "--layers", "2", "--lowercase", "--dropout", "0.4", "--singleton-unk", "0.5",
                 "--lr", "0.002", "--batch-size", "32", "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "5"]
        return _neural(train, valid, run, extra, epochs or 20), run / "best.safetensors", valid, test
    if task == "chunking":
        # no official dev set: hold out the last 1,000 training sentences
        blocks = [b for b in read_text_file(data / "conll2000_chunking" / "train.txt").split("\n\n") if b.strip()]
        run.mkdir(parents=True, exist_ok=True)
        train, valid = run / "train.txt", run / "dev.txt"
        write_text_file(train, "".join(b.strip("\n") + "\n\n" for b in blocks[:-1000]))
        write_text_file(valid, "".join(b.strip("\n") + "\n\n" for b in blocks[-1000:]))
        extra = ["--format", "columns", "--scheme", "bio", "--feature-columns", "1", "--crf", "--char-features",
                 "--char-embed", "30", "--char-hidden", "50", "--embed", "100", "--hidden", "128", "--layers", "2",
                 "--lowercase", "--dropout", "0.4", "--singleton-unk", "0.5", "--lr", "0.002", "--batch-size", "32",
                 "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "5"]
        return (_neural(train, valid, run, extra, epochs or 20), run / "best.safetensors", valid,
                data / "conll2000_chunking" / "test.txt")
    if task == "zh-seg":
        run.mkdir(parents=True, exist_ok=True)
        files = {}
        for split in ("train", "dev", "test"):
            files[split] = run / f"{split}.txt"
            write_segmented(files[split], [s.words for s in read_conllu(gsd / f"zh-ud-{split}.conllu")], " ")
        extra = ["--format", "segmented", "--bigrams", "--crf", "--embed", "100", "--bigram-embed", "100",
                 "--hidden", "128", "--dropout", "0.33", "--singleton-unk", "0.3", "--lr", "0.002", "--batch-size", "16",
                 "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "4"]
        return _neural(files["train"], files["dev"], run, extra, epochs or 20), run / "best.safetensors", files["dev"], files["test"]
    train, valid, test = gsd / "zh-ud-train.conllu", gsd / "zh-ud-dev.conllu", gsd / "zh-ud-test.conllu"
    extra = ["--crf", "--char-features", "--char-embed", "50", "--char-hidden", "50", "--embed", "100",
             "--hidden", "128", "--dropout", "0.33", "--singleton-unk", "0.5", "--lr", "0.002", "--batch-size", "16",
             "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "4"]
    return _neural(train, valid, run, extra, epochs or 20), run / "best.safetensors", valid, test


def run_task(task: str, data: Path, work: Path, epochs: int | None) -> str:
    argv, model, valid, test = prepare(task, data, work, epochs)
    print(f"$ rnnkit {shlex.join(argv)}", flush=True)
    t0 = time.perf_counter()
    code = rnnkit_main(argv)
    if code != 0:
        raise SystemExit(f"{task}: training failed with exit code {code}")
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    tagger = LoadedTagger(str(model))
    dev = tagger.score(read_tagged(valid, tagger.spec))
    tst = tagger.score(read_tagged(test, tagger.spec))
    t_eval = time.perf_counter() - t0
    metric = tagger.task["metric"]
    print(f"{task} valid: {describe(metric, dev)}")
    print(f"{task} test: {describe(metric, tst)}")
    line = f"{task}: test {100 * tst['main']:.2f} (valid {100 * dev['main']:.2f}); train {t_train / 60:.1f} min, " \
           f"scoring valid+test {t_eval:.1f} s"
    if task in TARGETS:
        gap = 100 * tst["main"] - TARGETS[task]
        line += f"; target {TARGETS[task]}: {'met' if gap >= 0 else 'MISSED'} ({gap:+.2f})"
    print(line, flush=True)
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default: {DEFAULT_DATA})")
    parser.add_argument("--task", choices=TASKS, nargs="+", default=list(TASKS), help="tasks to run")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_tagging"), help="run directories")
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs of the neural runs")
    args = parser.parse_args(argv)
    lines = []
    with threadpool_limits(1):
        for task in args.task:
            lines.append(run_task(task, args.data, args.work, args.epochs))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
