"""``rnnkit train classifier --folds K``: K-fold cross-validation, each fold a run of its own in
``RUN/foldN`` (:mod:`rnnkit.classify.crossval` deals the folds), the folds' scores and their mean
and standard deviation said at the end; resumable fold by fold.  Under ``mpiexec`` the folds still
run one after another, each trained by all the processes, and process 0 tests each fold's model.  Also
the argparse types of ``--folds`` and ``--class-weights`` (whose balanced weights are each fold's own)."""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rnnkit.cli import processes
from rnnkit.cli.classify_data import holdout, say_holdout, warn_small_holdout
from rnnkit.cli.common import nonnegative_int
from rnnkit.cli.pretrained import read_pretrained
from rnnkit.english import a_or_an
from rnnkit.train.loop import BEST, LAST, model_file


def fold_count(text: str) -> int:
    """argparse type for --folds: 0 (no cross-validation) or an integer >= 2."""
    k = nonnegative_int(text)
    if k == 1:
        raise argparse.ArgumentTypeError("Expected 0 (off) or at least 2 folds, got 1")
    return k


def cross_validation_or_not(folder: Path, run_dir: str, args: argparse.Namespace) -> None:
    """A classifier's --resume with --folds on a folder that holds a single run (it started a new
    cross-validation beside the run's checkpoints), or without --folds on a cross-validation's folder:
    refused before the data are read, saying which it holds (``rnnkit.cli.main`` calls it for every --resume)."""
    if not hasattr(args, "folds"):  # only train classifier cross-validates
        return
    single = (folder / "last.safetensors").exists()
    folds = sorted(p.parent.name for p in folder.glob("fold*/last.safetensors"))
    if args.folds and single and not folds:
        raise ValueError(f"{run_dir}: the folder holds a single run, not {a_or_an(args.folds)} {args.folds}-fold "
                         "cross-validation: resume it without --folds, or start the cross-validation without --resume")
    if not args.folds and folds and not single:
        import json

        k = "K"
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):  # damaged: K it is
            k = str(int(json.loads((folder / "cross_validation.json").read_text(encoding="utf-8")).get("folds")))
        raise ValueError(f"{run_dir}: the folder holds {a_or_an(int(k)) if k.isdigit() else 'a'} {k}-fold "
                         f"cross-validation, not a single run: add --folds {k} to resume it")


def class_weights_option(text: str) -> str:
    """argparse type for --class-weights: none, balanced or LABEL=W,LABEL=W,... (each W a number > 0); the
    labels are checked against the training data's once it is read."""
    from rnnkit.classify.weights import parse_class_weights

    try:
        parse_class_weights(text, "")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).lstrip()) from None
    return text.strip()


def cross_validation(args: argparse.Namespace, examples: list, run: Path, fit: Callable[..., tuple[Any, Any]],
                     scores: Callable[..., dict[str, Any]], say_data: Callable[[], None]) -> int:
    """Train and test the K folds of ``examples`` into ``run`` with ``fit`` (the command's training of
    one model: ``(model, encoder)``, or (None, None) in processes other than 0) and ``scores`` (its
    test metrics); print each fold's accuracy and the summary.  ``say_data`` says what the data hold, once
    every fold's hold-out is checked."""
    from rnnkit.classify.crossval import cross_validate, kfold_indices
    from rnnkit.classify.task import ClassifierEncoder

    if args.embeddings:  # read once, for every word of every fold
        every = ClassifierEncoder.build([e.text for e in examples], [e.label for e in examples], args.lowercase,
                                        1, args.max_length, args.level, args.fold_width)
        read_pretrained(args, every.vocab.tokens)

    group = processes.group()  # several under mpiexec: the folds one after another, each trained by all
    first = None
    if args.valid_fraction > 0:  # every fold's hold-out checked now, not after the folds before it trained
        for fold, (train_idx, _) in enumerate(kfold_indices(len(examples), args.folds, args.fold_seed,
                                                            [e.label for e in examples])):
            part = f"fold {fold + 1}'s training part"
            _, held = holdout(args, [examples[i] for i in train_idx], args.seed, part)
            first = first or (len(held), len(train_idx), part)
    say_data()
    if first is not None:  # the folds' held-out parts are about the same size: said once, every fold's possible
        say_holdout(args, *first)
        warn_small_holdout(args, *first)

    def run_fold(fold: int, train_idx: np.ndarray, test_idx: np.ndarray) -> dict[str, float]:
        model, enc = fit(args, [examples[i] for i in train_idx], None, run / f"fold{fold + 1}",
                         [examples[i] for i in test_idx], f"fold {fold + 1}'s training part")
        m = None
        if model is not None:  # process 0 tests, and tells the others
            m = scores(model, enc, [examples[i] for i in test_idx])
            m = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
            print(f"fold {fold + 1}/{args.folds}: accuracy {100 * m['accuracy']:.2f}%, macro-F1 "
                  f"{100 * m['macro_f1']:.2f}", flush=True)
        return group.broadcast(m)

    from rnnkit.train.run_lock import run_lock

    problem = None
    if group.rank == 0:
        run.mkdir(parents=True, exist_ok=True)
    # the lock, for the whole cross-validation (a second one would overwrite its finished folds), and the
    # folder are process 0's
    with run_lock(run) if group.rank == 0 else contextlib.nullcontext():
        if group.rank == 0:
            try:
                if not args.resume:
                    remove_stale_folds(run, single_run=True)
                same_folds(run, {"folds": args.folds, "fold_seed": args.fold_seed}, args.resume)
            except (ValueError, OSError) as exc:
                problem = exc
        problem = group.broadcast(problem)  # so that every process stops here, together
        if problem is not None:
            raise problem
        try:
            res = cross_validate(len(examples), args.folds, run_fold, args.fold_seed, [e.label for e in examples])
        except BaseException:
            if group.rank == 0 and not args.resume:
                forget_unstarted(run, args.folds)
            raise
        if group.rank == 0:
            record_results(run, {"folds": args.folds, "fold_seed": args.fold_seed}, res)
    print(f"{args.folds}-fold cross-validation: accuracy {100 * res.mean['accuracy']:.2f}% "
          f"(std {100 * res.std['accuracy']:.2f}), macro-F1 {100 * res.mean['macro_f1']:.2f} "
          f"(std {100 * res.std['macro_f1']:.2f})")
    if group.rank == 0:
        print(f"models, one a fold: {model_file(run / 'fold1')} to {model_file(run / f'fold{args.folds}')}",
              file=sys.stderr)
    return 0


def forget_unstarted(run: Path, folds: int) -> None:
    """A new cross-validation stopped before its first fold made its folder (a refusal such as a --warmup-steps
    longer than a fold's run): remove the RUN/cross_validation.json it wrote, so that, as after a refused
    single run, the command line finds nothing of it in the run folder but the lock, and removes both the lock
    and a folder it made.  Once a fold has its folder, the record stays: a --resume checks the folds against it."""
    if not any((run / f"fold{k + 1}").exists() for k in range(folds)):
        with contextlib.suppress(OSError):
            (run / "cross_validation.json").unlink()


def record_results(run: Path, folds: dict, res: Any) -> None:
    """RUN/cross_validation.json, rewritten at the end with every fold's scores, their mean and their
    standard deviation beside the fold settings (what ``same_folds`` compares on a resume)."""
    import json

    from rnnkit.atomic import write_atomically

    record = {**folds, "per_fold": res.folds, "mean": res.mean, "std": res.std}
    write_atomically(run / "cross_validation.json", lambda f: f.write(json.dumps(record, indent=1).encode("utf-8")))


def same_folds(run: Path, now: dict, resume: bool) -> None:
    """Record a new cross-validation's --folds and --fold-seed in RUN/cross_validation.json; a resumed one
    must have the same (other folds would hold other sentences: its vocabulary differed, said less clearly)."""
    import json

    from rnnkit.atomic import write_atomically

    path = run / "cross_validation.json"
    if not resume:
        write_atomically(path, lambda f: f.write(json.dumps(now).encode("utf-8")))
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a run of an earlier version, or damaged: the checkpoints' checks remain
        return
    if not isinstance(saved, dict):
        return
    differ = [f"--{k.replace('_', '-')} {saved[k]} then, {v} now" for k, v in now.items() if k in saved and saved[k] != v]
    if differ:
        raise ValueError(f"{run}: this cross-validation was started with other folds ({'; '.join(differ)}); resume "
                         "with the same ones, or start a new run without --resume")


def remove_stale_folds(run: Path, single_run: bool = False) -> None:
    """A new run removes every fold folder an earlier cross-validation left in ``run``, so that no
    earlier fold's model can pass for this run's: not only ``foldK`` for K > ``folds``, which it would
    never overwrite, but also the folds it will train, which a ``--resume`` after this run is killed in
    fold 1 would otherwise continue as if they were its own.  A folder holding anything but a run's own
    files (checkpoints, metrics log, lock) is kept.  With ``single_run`` (a new cross-validation, before
    its folds train) the checkpoints and metrics log of an earlier single run in ``run`` go too:
    ``classify RUN/best.safetensors`` or ``curves RUN`` would read them as this run's."""
    import contextlib
    import re
    import shutil

    from rnnkit.train.loop import METRICS
    from rnnkit.train.run_lock import LOCK

    removed = []
    for folder in sorted(run.glob("fold*"), key=lambda p: (len(p.name), p.name)):
        number = re.fullmatch(r"fold(\d+)", folder.name)
        if not number or not folder.is_dir():
            continue
        if {p.name for p in folder.iterdir()} <= {BEST, LAST, METRICS, LOCK}:
            shutil.rmtree(folder)
            removed.append(folder.name)
    with contextlib.suppress(OSError):
        (run / "cross_validation.json").unlink()  # a new cross-validation writes its own
    single = [name for name in (BEST, LAST, METRICS) if single_run and (run / name).is_file()]
    for name in single:
        (run / name).unlink()
    said = [f"cross-validation's {', '.join(removed)}"] if removed else []
    said += [f"run's {' and '.join(name for name in single if name != METRICS)}"] if set(single) - {METRICS} else []
    if said:
        print(f"new run in {run}: removed the earlier {' and the earlier '.join(said)}", file=sys.stderr)
