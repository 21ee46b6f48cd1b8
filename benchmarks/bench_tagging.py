"""Sequence-labelling benchmarks: UD English EWT UPOS, CoNLL-2000 chunking, UD Chinese GSD v1.4.

Every run goes through the command line (``rnnkit train tagger`` / ``rnnkit train hmm``), so the
printed command reproduces it; the test set is then scored with the best checkpoint (chosen on the
validation set).  Tasks and references:

* ``ewt-upos``: BiLSTM-CRF with character features on gold tokens; test UPOS accuracy
  (target >= 95.0; UDPipe 1.2 reports 94.4).  ``ewt-hmm``: the TnT-style trigram HMM beside it.
* ``chunking``: CoNLL-2000, BiLSTM-CRF with character features and the POS column as an input
  feature; test span F1 (conlleval's rules; target >= 94.0).  There is no official dev set: the
  last 1,000 training sentences are held out for validation (training uses the other 7,936).
  Variants: ``chunking-wide`` (200 units, batches of 16, exponential decay), ``chunking-avg``
  (chunking-wide validating and saving a moving average of the weights, ``--average 0.999``),
  ``chunking-full`` and ``chunking-avg-full`` (chunking-wide / chunking-avg retrained on all training
  sentences for the best epoch count on the held-out set), ``chunking-avg-h300`` and ``chunking-avg-e200``
  (chunking-avg with 300 hidden units per direction, or with 200-dimensional word embeddings).
  ``chunking-small`` and ``chunking-small-bioes``: a small BiLSTM-CRF (word embeddings 50, 100 units,
  the POS column, no character features, 8 epochs), trained in the data's BIO and with
  ``--train-scheme bioes``, the same held-out split: does training in BIOES help (report only)?
* ``zh-seg``: UD Chinese GSD v1.4 word segmentation from raw characters, BMES tagging with
  character-bigram embeddings and a CRF; test word F1 (target >= 93) and OOV recall.  GSD writes its
  punctuation in ASCII (, . : ( )), most Chinese text in full-width forms (，。：（）), so the test set is
  also scored with its one-character punctuation words written full-width.  ``zh-seg-fold``: the
  same with ``--fold-width``, which reads full-width forms as half-width.
* ``zh-upos``: the same treebank's UPOS on gold words (report only).

    nice python benchmarks/bench_tagging.py --task ewt-upos [--data ../shared/data] [--work runs/bench_tagging]

BLAS runs on one thread: the recurrent loops multiply small matrices, where extra threads only
contend for the two shared cores.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import fmt_time, machine_load, this_command, utc_date, write_subsection  # noqa: E402

from rnnkit.cli.main import main as rnnkit_main  # noqa: E402
from rnnkit.cli.tagging import LoadedTagger, describe  # noqa: E402
from rnnkit.data.conll import read_conllu  # noqa: E402
from rnnkit.data.files import read_text_file, write_text_file  # noqa: E402
from rnnkit.data.segmentation import write_segmented  # noqa: E402
from rnnkit.tagging.io import read_tagged  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CHUNKING = ("chunking", "chunking-wide", "chunking-avg", "chunking-full", "chunking-avg-full", "chunking-avg-h300",
            "chunking-avg-e200")
# epochs of the retraining on all training sentences: the best epoch of the setting on the held-out 1,000
FULL_EPOCHS = {"chunking-full": 21, "chunking-avg-full": 13}
SMALL_CHUNKING = ("chunking-small", "chunking-small-bioes")  # report only: BIO against --train-scheme bioes
TASKS = ("ewt-upos", "ewt-hmm", *CHUNKING, *SMALL_CHUNKING, "zh-seg", "zh-seg-fold", "zh-upos")
TARGETS = {"ewt-upos": 95.0, **{task: 94.0 for task in CHUNKING}, "zh-seg": 93.0, "zh-seg-fold": 93.0}
# GSD's ASCII punctuation and the full-width forms Chinese text usually has instead
FULL_WIDTH = {",": "，", ".": "。", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}


def full_width_copy(path: Path) -> Path:
    """The segmented file with every one-character punctuation word of FULL_WIDTH written full-width
    (only whole words: the dot of "3.5" stays), beside it as NAME-fullwidth.txt."""
    out = path.with_name(path.stem + "-fullwidth.txt")
    lines = read_text_file(path).splitlines()
    write_text_file(out, "".join(" ".join(FULL_WIDTH.get(w, w) for w in line.split()) + "\n" for line in lines))
    return out


def _neural(train, valid, run: Path, extra: list[str], epochs: int) -> list[str]:
    """``rnnkit train tagger`` arguments; ``valid=None`` trains without validation (the last epoch is the model)."""
    return ["train", "tagger", "--train", str(train), *(["--valid", str(valid)] if valid is not None else []),
            "--run-dir", str(run), "--epochs", str(epochs), "--progress", "lines", "--log-every", "200", *extra]


def run_name(task: str, seed: int) -> str:
    """A task's run folder and results name: the task, with ``-seedN`` for a seed other than 0."""
    return task if seed == 0 else f"{task}-seed{seed}"


def title(task: str, seed: int) -> str:
    """A task's RESULTS.md subsection title, with `` (seed N)`` for a seed other than 0."""
    return TITLES[task] + (f" (seed {seed})" if seed else "")


def prepare(task: str, data: Path, work: Path, epochs: int | None, seed: int = 0) -> tuple[list[str], Path, Path, Path]:
    """(argv of the training command, model path, valid file, test file) of a task."""
    ewt = data / "ud_english_ewt"
    gsd = data / "ud_chinese_gsd_v1.4"
    run = work / run_name(task, seed)
    if task in ("ewt-upos", "ewt-hmm"):
        train, valid, test = ewt / "en_ewt-ud-train.conllu.xz", ewt / "en_ewt-ud-dev.conllu", ewt / "en_ewt-ud-test.conllu"
        if task == "ewt-hmm":
            model = run / "hmm.safetensors"
            return ["train", "hmm", "--train", str(train), "--order", "3", "--output", str(model)], model, valid, test
        extra = ["--crf", "--char-features", "--char-embed", "30", "--char-hidden", "50", "--embed", "100",
                 "--hidden", "128", "--layers", "2", "--lowercase", "--dropout", "0.4", "--singleton-unk", "0.5",
                 "--lr", "0.002", "--batch-size", "32", "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "5"]
        return _neural(train, valid, run, extra, epochs or 20), run / "best.safetensors", valid, test
    if task in CHUNKING or task in SMALL_CHUNKING:
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
        if task in SMALL_CHUNKING:  # words and POS only, small and fast: the schemes compared
            extra = ["--format", "columns", "--scheme", "bio", "--feature-columns", "1", "--crf", "--embed", "50",
                     "--hidden", "100", "--lr", "0.005"]
            extra += ["--train-scheme", "bioes"] if task == "chunking-small-bioes" else []
            test = data / "conll2000_chunking" / "test.txt"
            return _neural(train, valid, run, extra, epochs or 8), run / "best.safetensors", valid, test
        if task != "chunking":  # wider LSTM, smaller batches, a gentler exponential decay, more epochs
            extra = extra[: extra.index("--embed")] + [
                "--embed", "100", "--hidden", "200", "--layers", "2", "--lowercase", "--dropout", "0.5",
                "--singleton-unk", "0.5", "--lr", "0.002", "--batch-size", "16", "--schedule", "exp", "--lr-decay", "0.9"]
        if task.startswith("chunking-avg"):  # validate and keep a moving average of the weights (~ the last 2 epochs)
            extra += ["--average", "0.999"]
        if task == "chunking-avg-h300":  # chunking-avg with 300 units per direction
            extra[extra.index("--hidden") + 1] = "300"
        if task == "chunking-avg-e200":  # chunking-avg with 200-dimensional word embeddings
            extra[extra.index("--embed") + 1] = "200"
        test = data / "conll2000_chunking" / "test.txt"
        if task in FULL_EPOCHS:
            # a setting and its best epoch on the held-out 1,000 (chunking-wide: 21 of 25; chunking-avg: 13
            # of 25), retrained on all 8,936 training sentences without validation; the last epoch is
            # the model.  Its "valid" score is on sentences it trained on.
            full = data / "conll2000_chunking" / "train.txt"
            return _neural(full, None, run, extra, epochs or FULL_EPOCHS[task]), run / "last.safetensors", valid, test
        return (_neural(train, valid, run, extra, epochs or (20 if task == "chunking" else 25)),
                run / "best.safetensors", valid, test)
    if task in ("zh-seg", "zh-seg-fold"):
        run.mkdir(parents=True, exist_ok=True)
        files = {}
        for split in ("train", "dev", "test"):
            files[split] = run / f"{split}.txt"
            write_segmented(files[split], [s.words for s in read_conllu(gsd / f"zh-ud-{split}.conllu")], " ")
        extra = ["--format", "segmented", "--bigrams", "--crf", "--embed", "100", "--bigram-embed", "100",
                 "--hidden", "128", "--dropout", "0.33", "--singleton-unk", "0.3", "--lr", "0.002", "--batch-size", "16",
                 "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "4"]
        extra += ["--fold-width"] if task == "zh-seg-fold" else []
        return _neural(files["train"], files["dev"], run, extra, epochs or 20), run / "best.safetensors", files["dev"], files["test"]
    train, valid, test = gsd / "zh-ud-train.conllu", gsd / "zh-ud-dev.conllu", gsd / "zh-ud-test.conllu"
    extra = ["--crf", "--char-features", "--char-embed", "50", "--char-hidden", "50", "--embed", "100",
             "--hidden", "128", "--dropout", "0.33", "--singleton-unk", "0.5", "--lr", "0.002", "--batch-size", "16",
             "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "4"]
    return _neural(train, valid, run, extra, epochs or 20), run / "best.safetensors", valid, test


TITLES = {"ewt-upos": "UD English EWT UPOS, BiLSTM-CRF with character features",
          "ewt-hmm": "UD English EWT UPOS, TnT-style trigram HMM",
          "chunking": "CoNLL-2000 chunking, BiLSTM-CRF with character and POS features",
          "chunking-wide": "CoNLL-2000 chunking, wider BiLSTM-CRF (200), batches of 16, exponential decay",
          "chunking-avg": "CoNLL-2000 chunking, chunking-wide's settings with a moving average of the weights (0.999)",
          "chunking-avg-full": "CoNLL-2000 chunking, chunking-avg's settings and epochs retrained on all training data",
          "chunking-full": "CoNLL-2000 chunking, chunking-wide's settings and epochs retrained on all training data",
          "chunking-avg-h300": "CoNLL-2000 chunking, chunking-avg's settings with 300 hidden units per direction",
          "chunking-avg-e200": "CoNLL-2000 chunking, chunking-avg's settings with 200-dimensional word embeddings",
          "chunking-small": "CoNLL-2000 chunking, small BiLSTM-CRF (words and POS), trained in BIO",
          "chunking-small-bioes": "CoNLL-2000 chunking, small BiLSTM-CRF (words and POS), --train-scheme bioes",
          "zh-seg": "UD Chinese GSD v1.4 word segmentation, character BMES BiLSTM-CRF with bigrams",
          "zh-seg-fold": "UD Chinese GSD v1.4 word segmentation, zh-seg's settings with --fold-width",
          "zh-upos": "UD Chinese GSD v1.4 UPOS on gold words, BiLSTM-CRF with character features"}
SECTION = "Sequence labelling (bench_tagging.py)"
INTRO = """\
Every model learns from the training split alone (no pretrained embeddings); the best epoch on the
validation set is scored on the test set.  Accuracy is token accuracy; span F1 follows conlleval
(seqeval); segmentation F1 and OOV recall follow the SIGHAN scorer.  BLAS on one thread."""


def main_valid_metric(epoch: dict) -> float:
    """The epoch's validation score that picks the best checkpoint: F1 for span and segmentation tasks,
    else accuracy (logs written before Dec 4 held it only as valid_loss = 1 - score)."""
    if "valid_f1" in epoch:
        return epoch["valid_f1"]
    if "valid_accuracy" in epoch and "valid_loss" not in epoch:
        return epoch["valid_accuracy"]
    return 1.0 - epoch["valid_loss"]


def report(res: dict) -> str:
    """The RESULTS.md text of one task's run."""
    lines = [f"{res['date']}; from {res['cwd']}; wall time {fmt_time(res['wall'])} (training "
             f"{fmt_time(res['train_wall'])}, scoring valid and test {res['eval_wall']:.1f} s):", "",
             f"    {res['bench_command']}", "", "which ran:", "", f"    rnnkit {res['command']}", "",
             f"Load before: {res['load0']}; after: {res['load1']}.", ""]
    if res["epochs"]:
        lines += ["| epoch | lr | train loss | valid | train s | valid s |", "|---|---|---|---|---|---|"]
        for e in res["epochs"]:
            valid = main_valid_metric(e)
            lines.append(f"| {e['epoch']} | {e['lr']:.3g} | {e['train_loss']:.4f} | {100 * valid:.2f}"
                         f"{' (best)' if e['best'] else ''} | {e.get('train_seconds', float('nan')):.0f} "
                         f"| {e.get('valid_seconds', float('nan')):.1f} |")
        lines.append("")
    lines += [f"- valid: {res['valid_line']}", f"- **test: {res['test_line']}**"]
    if res.get("test_full_width_line"):
        lines.append(f"- test with its punctuation full-width (，。：；？！（）): {res['test_full_width_line']}")
    if res.get("target") is not None:
        lines.append(f"- target {res['target']}: **{res['verdict']}** ({res['gap']:+.2f})")
    return "\n".join(lines)


def run_task(task: str, data: Path, work: Path, epochs: int | None, record: bool, seed: int = 0) -> str:
    argv, model, valid, test = prepare(task, data, work, epochs, seed)
    if seed != 0 and argv[:2] == ["train", "tagger"]:
        argv += ["--seed", str(seed)]
    name = run_name(task, seed)
    print(f"$ rnnkit {shlex.join(argv)}", flush=True)
    res = {"task": task, "command": shlex.join(argv), "date": utc_date(), "load0": machine_load(),
           "cwd": str(Path.cwd()), "bench_command": this_command()}
    t0 = time.perf_counter()
    code = rnnkit_main(argv)
    if code != 0:
        raise SystemExit(f"{task}: training failed with exit code {code}")
    res["train_wall"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    tagger = LoadedTagger(str(model))
    dev = tagger.score(read_tagged(valid, tagger.spec))
    tst = tagger.score(read_tagged(test, tagger.spec))
    if task.startswith("zh-seg"):
        wide = tagger.score(read_tagged(full_width_copy(test), tagger.spec))
        res["test_full_width_line"] = describe(tagger.task["metric"], wide)
        print(f"{run_name(task, seed)} test, punctuation full-width: {res['test_full_width_line']}")
    res["eval_wall"] = time.perf_counter() - t1
    res["wall"] = time.perf_counter() - t0
    res["load1"] = machine_load()
    metric = tagger.task["metric"]
    res.update(metric=metric, valid=dev, test=tst, valid_line=describe(metric, dev),
               test_line=describe(metric, tst))
    metrics_file = model.parent / "metrics.jsonl"
    res["epochs"] = [r for r in map(json.loads, metrics_file.read_text().splitlines()) if r["type"] == "epoch"] \
        if metrics_file.exists() else []
    print(f"{name} valid: {res['valid_line']}")
    print(f"{name} test: {res['test_line']}")
    line = f"{name}: test {100 * tst['main']:.2f} (valid {100 * dev['main']:.2f}); train {res['train_wall'] / 60:.1f} min, " \
           f"scoring valid+test {res['eval_wall']:.1f} s"
    if task in TARGETS:
        gap = 100 * tst["main"] - TARGETS[task]
        res.update(target=TARGETS[task], gap=gap, verdict="met" if gap >= 0 else "missed")
        line += f"; target {TARGETS[task]}: {'met' if gap >= 0 else 'MISSED'} ({gap:+.2f})"
    print(line, flush=True)
    (work / name).mkdir(parents=True, exist_ok=True)
    (work / name / "results.json").write_text(json.dumps(res, indent=1, default=float), encoding="utf-8")
    if record:
        write_subsection(SECTION, INTRO, title(task, seed), report(res))
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default: {DEFAULT_DATA})")
    parser.add_argument("--task", choices=TASKS, nargs="+", default=list(TASKS), help="tasks to run")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_tagging"), help="run directories")
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs of the neural runs")
    parser.add_argument("--seed", type=int, default=0,
                        help="training seed of the neural taggers (default 0); another seed runs in TASK-seedN")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the RESULTS.md subsections of --task from their runs' results.json")
    args = parser.parse_args(argv)
    if args.report_only:
        for task in args.task:
            res = json.loads((args.work / run_name(task, args.seed) / "results.json").read_text(encoding="utf-8"))
            write_subsection(SECTION, INTRO, title(task, args.seed), report(res))
        return 0
    lines = []
    with threadpool_limits(1):
        for task in args.task:
            lines.append(run_task(task, args.data, args.work, args.epochs, not args.no_record, args.seed))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
