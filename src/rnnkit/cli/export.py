"""``rnnkit export``: a trained model without its training state, to ship (:mod:`rnnkit.export`), or with
``--torch`` as a PyTorch state dict and the torch code that loads it (:mod:`rnnkit.export_torch`), or with
``--onnx`` as an ONNX graph and the onnxruntime code that runs it (:mod:`rnnkit.export_onnx`)."""
from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from rnnkit.cli.common import HelpFormatter


def register(groups) -> None:
    p = groups.commands.add_parser(
        "export", help="a trained model without its optimizer and training state, to ship (or, with --torch, "
                       "for PyTorch; with --onnx, for onnxruntime)",
        description="Write the model of a checkpoint (or of a run folder: its best.safetensors, or with --last its "
                    "last.safetensors) to OUT without what only training needs: the optimizer's state (Adam's "
                    "moments are twice the model), the training weights of an --average run, the carried state, "
                    "the random state and the loop's counters.  OUT is a checkpoint like any other, which every "
                    "command that takes a model reads with the same results (generate, evaluate, score, states, "
                    "tag, segment, classify, translate); --resume refuses it.  With --torch, OUT holds the weights "
                    "as a PyTorch state dict (language models, classifiers, softmax taggers), and the torch code "
                    "that builds the matching module and loads it is printed to standard output (not when OUT is "
                    "standard output itself, -o /dev/stdout: a line on standard error says so).  The sizes "
                    "before and after are said on standard error.  With --onnx, OUT holds an ONNX graph for "
                    "onnxruntime (those kinds and also the class-based softmax, CRF taggers, taggers with "
                    "character features, bigrams or feature columns, residual stacks and layer-normalized layers), "
                    "its vocabulary is written beside it, and the onnxruntime code that uses them is printed.  "
                    "A BPE-level language model's SentencePiece model is written beside either (OUT's name with "
                    ".bpe.model), and the printed code splits text into pieces and joins them as rnnkit does.  A "
                    "translator is two graphs, its encoder in OUT and one decoder step beside it.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", metavar="RUN_OR_CHECKPOINT",
                   help="a run folder (its --run-dir) or a checkpoint file (e.g. runs/lm/best.safetensors)")
    p.add_argument("--output", "-o", required=True, metavar="OUT",
                   help="the file to write (e.g. lm.safetensors; a path ending in / names a folder and is refused); "
                        "an existing file is replaced, as other commands replace their output, except the "
                        "checkpoint being read or a training checkpoint")
    p.add_argument("--last", action="store_true",
                   help="of a run folder, export last.safetensors (the latest weights) instead of best.safetensors "
                        "(the epoch validation chose; a run without validation has only the last)")
    p.add_argument("--dtype", choices=["float16", "float32"], default=None,
                   help="store the weights so: float16 halves the file (each weight rounded to about 3 significant "
                        "digits, a relative change of at most 5e-4, an absolute one of at most 3e-8 below 6e-5; "
                        "the model still computes in float32, its "
                        "outputs close to, not equal to, the original's) (default: as trained, float32)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--torch", action="store_true",
                   help="write a PyTorch state dict (names as the torch module's: embedding.weight, "
                        "rnn.weight_ih_l0, ..., decoder.weight) and print the torch code that loads it; language "
                        "models (full or adaptive softmax), classifiers and softmax taggers over words alone (no "
                        "--crf, --char-features, --bigrams); rnnkit does not read the file.  The code prepares text "
                        "as rnnkit does (--lowercase, --fold-width, --max-length) and opens the weights by their "
                        "absolute path, else by their name beside the script")
    target.add_argument("--onnx", action="store_true",
                        help="write an ONNX graph (ONNX's RNN/LSTM/GRU operators, time-major ids (T, B) int64, "
                             "log-probabilities out; a language model takes and gives its state h_0/c_0, h_n/c_n, a "
                             "classifier or tagger takes lengths (B,), a tagger with character features also chars "
                             "(T, B, Lc) and char_lengths (T, B), with bigrams bigrams (T, B, 2), with feature "
                             "columns features (T, B, F); a CRF tagger gives its emission and transition "
                             "scores) and its vocabulary beside it (OUT's name with .vocab.json; both checked before "
                             "either is written; an OUT itself named *.vocab.json is refused), and print the "
                             "onnxruntime code that reads a text with them (for a CRF, Viterbi in numpy under the "
                             "tag scheme's rules); the kinds of --torch and also the class-based softmax, CRF "
                             "taggers and segmenters (--crf), taggers with --char-features (the char BiLSTM or "
                             "CNN), --bigrams or --feature-columns, residual stacks (--residual), peephole LSTMs "
                             "and layer-normalized layers (--layer-norm: a Scan over one step of the cell); a "
                             "translator (train seq2seq) as two graphs, the encoder in OUT (ids (S, B), "
                             "lengths (B,) -> memory, src_mask, the decoder's initial h/c) and one decoder step in "
                             "OUT's name with .step.onnx (the previous token (B,), h/c, feed, memory, src_mask -> "
                             "log_probs (B, V), h_next/c_next, feed_next, attention (B, S); with --copy also src_ext "
                             "(B, S), the source's extended ids, and log_probs over V + the sentence's source words "
                             "outside the target vocabulary; with --coverage coverage (B, S) in, coverage_next out; "
                             "an OUT itself named *.step.onnx is refused), its code translating "
                             "greedily and by beam search as rnnkit translate does (--no-repeat-ngram too; copied "
                             "words written as the source has them); "
                             "needs the onnx package (pip install 'rnnkit[onnx]'); serving needs onnxruntime alone")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.cli.text_warnings import warn
    from rnnkit.data.files import check_output_path
    from rnnkit.export import export_model
    from rnnkit.export_onnx import check_outputs, export_onnx
    from rnnkit.export_torch import export_torch

    if args.output == "-":  # the one place a model can go to standard output is a file it is redirected to
        if args.onnx:  # its vocabulary goes beside OUT, which standard output has no place for
            raise ValueError("-o -: a model cannot go to standard output; give a file name, e.g. model.onnx (its "
                             "vocabulary goes beside it, as model.vocab.json)")
        raise ValueError("-o -: a model cannot go to standard output; give a file name, e.g. model.safetensors (or "
                         "-o /dev/stdout with standard output redirected to a file: > model.safetensors)")
    if args.onnx:  # the graph and its vocabulary beside it
        check_outputs(args.output)
        named = {".safetensors": "a safetensors checkpoint", ".pt": "a PyTorch file", ".pth": "a PyTorch file"}.get(
            Path(args.output).suffix.lower())
        if named:
            warn(f"--onnx writes an ONNX graph, but -o {args.output} is named as {named}; a name ending in .onnx "
                 "says what it holds")
    else:
        check_output_path(args.output, "-o", make_folders=True, suffix=".safetensors")
        named = Path(args.output).suffix.lower()
        if named == ".onnx" and args.torch:  # --onnx and --torch exclude each other
            warn(f"{args.output}: --torch writes a PyTorch state dict (safetensors), not an ONNX graph; give --onnx "
                 "instead of --torch for ONNX")
        elif named == ".onnx":
            warn(f"{args.output}: without --onnx this is an rnnkit checkpoint (safetensors), not an ONNX graph; "
                 "add --onnx for ONNX")
        elif named in (".pt", ".pth") and not args.torch:
            warn(f"{args.output}: without --torch this is an rnnkit checkpoint (safetensors, rnnkit's names), not "
                 "a PyTorch state dict; add --torch for one (safetensors too: safetensors.torch.load_file reads it)")
    to_stdout = is_standard_output(args.output)  # before the write: afterwards -o names the file that replaced it
    stdout_before = _stdout_file()
    if args.torch:
        report, code = export_torch(args.model, args.output, args.dtype, args.last)
    elif args.onnx:
        report, code = export_onnx(args.model, args.output, args.dtype, args.last)
    else:
        report, code = export_model(args.model, args.output, args.dtype, args.last), None
    print(summary(report, args), file=sys.stderr)
    what = f"{'torch code that loads' if args.torch else 'onnxruntime code that runs'} it"
    if code is not None and to_stdout:  # the code would follow the export into its file, or be lost with the
        warn(f"-o {args.output} is standard output, which holds the export, so the "  # file the export replaced
             f"{what} is not printed; write the export to a file of its own (-o FILE) to get the code")
    elif code is not None and stdout_before is not None and _stdout_file() is None:
        # standard output went to a file the export replaced (> m.vocab.json): the code would go with it, unseen
        warn(f"standard output went to a file this export replaced ({stdout_before}), so the {what} is not "
             "printed; send standard output elsewhere (> load.py) to get the code")
    elif code is not None:
        sys.stdout.write(code)
    return 0


def is_standard_output(path: str) -> bool:
    """True when ``path`` is the file standard output goes to: ``-o /dev/stdout`` with standard output redirected
    to a file (the one case check_output_path lets through: a model is written to a regular file), or that
    file by its own name (``-o m.onnx > m.onnx``)."""
    try:
        ours, theirs = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):  # no such file yet; standard output closed, or not a file (pytest's capture)
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def _stdout_file() -> str | None:
    """The name standard output's file has in its folder (/proc/self/fd/1's target) while the file has one: None
    when standard output is not a regular file, or is a file that has lost its name (replaced by a rename)."""
    try:
        st = os.fstat(sys.stdout.fileno())
        target = os.readlink("/proc/self/fd/1")
    except (OSError, ValueError):  # closed, or not a real descriptor (pytest's capture); no /proc
        return None
    return target if stat.S_ISREG(st.st_mode) and st.st_nlink > 0 else None


def summary(report, args: argparse.Namespace) -> str:
    """The two lines said after an export: the checkpoint read and the file written, with their sizes."""
    from rnnkit.checkpoint_task import kind_name
    from rnnkit.export import TABLE_KINDS
    from rnnkit.export_bpe import SUFFIX as BPE_SUFFIX
    from rnnkit.train.position import position_text, unvalidated_text

    about = [kind_name(report.kind)]
    if report.step is not None:
        about.append(position_text(report.step, report.epoch, report.steps_into_epoch))
    if report.source.name == "last.safetensors" and not args.last and Path(args.model).is_dir():
        about.append("the run keeps no best.safetensors" if report.validated
                     else f"the run has no best.safetensors: {unvalidated_text(report.step)}; its last state is "
                          "exported" if report.unvalidated
                     else "the run has no best.safetensors: it had no validation")
    held = ("with its training state" if report.source_kind == "training-run"
            else "no training state in it")
    read = f"read {report.source} ({'; '.join(about)}): {report.bytes_before:,} bytes, {held}"
    share = report.bytes_after / report.bytes_before if report.bytes_before else 1.0
    what = "a PyTorch state dict" if args.torch else "the model alone"
    from rnnkit.export_onnx_seq2seq import STEP_SUFFIX

    if args.onnx:
        from rnnkit.export_onnx import VOCAB_SUFFIX

        what = f"an ONNX graph (its vocabulary in {_beside(report, VOCAB_SUFFIX)})"
        if report.kind == "seq2seq":
            what = f"the encoder's ONNX graph (the decoder step in {_beside(report, STEP_SUFFIX)}, the vocabularies " \
                   f"in {_beside(report, VOCAB_SUFFIX)})"
    if _beside(report, BPE_SUFFIX):
        what += f", its SentencePiece model in {_beside(report, BPE_SUFFIX)}"
    if report.kind in TABLE_KINDS:
        stored = "its tables as they were"
    else:
        stored = f"weights in {report.dtype}"
        if report.largest_change:
            stored += f" (each moved by at most {report.largest_change:.2g})"
    written = f"{report.output}: {report.bytes_after:,} bytes"
    if args.onnx and report.kind == "seq2seq":  # bytes_after counts both graphs
        written = f"{report.output} and {_beside(report, STEP_SUFFIX)}: {report.bytes_after:,} bytes together"
    return f"{read}\nwrote {written} ({share:.1%}), {what}, {stored}"


def _beside(report, suffix: str) -> Path | None:
    """The file the export wrote beside its output (``report.beside``) whose name ends with ``suffix``, if any."""
    return next((p for p in report.beside if p.name.lower().endswith(suffix)), None)


run.takes_run_folder = True  # a run folder is read by export itself: its --last picks last.safetensors
