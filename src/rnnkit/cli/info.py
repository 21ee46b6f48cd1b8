"""``rnnkit info FILE``: what a saved rnnkit file is (a training checkpoint, an exported model, an n-gram or
HMM model, an ``export --torch`` state dict, an ONNX graph), read without loading it into a task: a short
aligned table, or with ``--json`` one JSON object (:func:`rnnkit.checkpoint_info.checkpoint_info`'s keys)."""
from __future__ import annotations

import argparse
from typing import Any

from rnnkit.checkpoint_files import run_folder_note
from rnnkit.checkpoint_task import kind_name
from rnnkit.cli.common import HelpFormatter

_JSON_KEYS = ("file, bytes, format (rnnkit, torch, onnx, arpa, json, sentencepiece), kind (training-run, model, "
              "ngram-lm, hmm-tagger, torch-state-dict, onnx-graph, arpa-lm, onnx-vocabulary, sentencepiece-model, "
              "hmm-json), task (lm, ngram, tagger, hmm, classifier, seq2seq, treenet; pointer, ctc: a saved demo "
              "pointer network or CTC transcriber), what, digests (ok, metadata, absent or null), architecture {summary, level, cell, layers, "
              "hidden, directions, embedding, extras, ...}, sizes "
              "{vocabulary, tags, classes, source_vocabulary, target_vocabulary, pieces (a SentencePiece model's), "
              "input_size (a pointer network's or CTC transcriber's)}, "
              "parameters {total, dtype, groups {NAME: {count, arrays, dtype}}}, stored {total, bytes, groups "
              "{PREFIX: {count, arrays, bytes, dtype}}}, training {epoch "
              "(epochs ended), step, steps_into_epoch (0 at an epoch's end), epochs, stopped_early, best {metric, "
              "value, epoch}, validation (whether the run has validation data), unvalidated (it has, and no epoch "
              "ended yet), lr, optimizer, seconds, last_epoch_time, train_loss}, options {train_config, "
              "run_options, command (the training command, e.g. rnnkit train lm), chosen (the run_options not that "
              "command's defaults)} or {demo (the settings a demo stored with its model: rnnkit demo pointer "
              "--save's task, seed, steps, min_len, max_len, hidden, batch_size, lr, lr_end, clip; demo ctc "
              "--save's seed, steps, symbols, noise, min_len, max_len, hidden, batch_size, lr, clip, text)}, export {source, "
              "source_kind, step, epoch, steps_into_epoch, dtype, and a --torch file's module}, "
              "rnnkit_version, onnx {producer, producer_version, ir_version, opsets, graph, nodes, inputs, outputs "
              "(each {name, dtype, shape}), metadata} or {note}, arpa {ngrams (the count of each order), text (stream "
              "or lines: a character model's, else null)}, companions (an rnnkit ONNX graph's files beside it, or a "
              "vocabulary file's: vocabulary {file, exists, model, tokenizer, sizes {vocabulary, tags, classes, "
              "characters, bigrams, features, source_vocabulary, target_vocabulary}}, sentencepiece {file, exists, "
              "pieces} (a BPE-level language model's), encoder or decoder_step {file, exists} (a translator's other "
              "graph), graph {file, exists} (the export a vocabulary or SentencePiece file was written beside), "
              "problems [a sentence each: missing, unreadable, or not the graph's, e.g. of another vocabulary size]); "
              "run_folder (the run folder given, whose checkpoint is described; else null); "
              "a fact the file does not hold is null")


def register(groups) -> None:
    p = groups.commands.add_parser(
        "info", help="what a saved file is (checkpoint, export, --torch, ONNX, ARPA): kind, architecture, sizes, "
                     "parameters, training progress, checksums, version",
        description="Describe a file rnnkit wrote without loading it into a task: a training checkpoint "
                    "(best.safetensors, last.safetensors), a model of 'rnnkit export' or of 'rnnkit train ngram "
                    "--save' / 'train hmm', a PyTorch state dict of 'rnnkit export --torch', an ONNX graph of "
                    "'rnnkit export --onnx' (read with the onnx package when it is installed; and the files "
                    "that export writes beside it, m.vocab.json, m.bpe.model, m.step.onnx: which are there, "
                    "what they hold, and whether they fit the graph, e.g. its vocabulary size; a vocabulary file "
                    "m.vocab.json or a SentencePiece model m.bpe.model itself too), or an ARPA file of "
                    "'rnnkit train ngram --arpa' (its n-gram counts, from its header).  It prints the kind "
                    "of model and its architecture, vocabulary, tag and class sizes, the parameter count (in all "
                    "and per part, with dtypes), the training progress (the step, and the epoch as the "
                    "training log numbers it: 'step 85, 32 steps into epoch 2', 'step 53, at the end of epoch 1'; "
                    "the best validation figure, learning rate, time) and options a training checkpoint stores, "
                    "the export record, the file size, whether the checksums match, and the rnnkit version that "
                    "wrote the file.  Nothing is unpickled and no model is built.",
        epilog=f"--json keys (stable): {_JSON_KEYS}.",
        formatter_class=HelpFormatter)
    p.add_argument("file", metavar="FILE", help="a .safetensors file rnnkit wrote, an .onnx file (or the .vocab.json "
                                                "or .bpe.model beside it), an ARPA file (rnnkit's, KenLM's, "
                                                "SRILM's; .gz, .xz or .bz2 too), or a training run's folder (its "
                                                "best.safetensors is described, else its last.safetensors; a "
                                                "'train classifier --folds' folder: its folds' scores, mean and "
                                                "std, and their models)")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys below) instead of the table")
    p.add_argument("--no-verify", action="store_true",
                   help="read the header alone and skip checking the arrays against their SHA-256 digest, which "
                        "reads the whole file (the metadata's own digest is checked either way)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.checkpoint_info import checkpoint_info, to_json
    from rnnkit.cli.defaults import chosen_options
    from rnnkit.cli.info_crossval import cross_validation_lines, cross_validation_record

    folds = cross_validation_record(args.file)  # a --folds run's folder: its folds' scores, not one model's facts
    if folds is not None:
        print(to_json(folds) if args.json else "\n".join(cross_validation_lines(folds)))
        return 0
    info = checkpoint_info(args.file, verify=not args.no_verify)  # a run folder: its best, else last checkpoint
    if info["kind"] == "training-run" and info["options"] is not None:  # its choices against its command's defaults
        info["options"].update(chosen_options(info["task"], info["options"].get("run_options")))
    print(to_json(info) if args.json else "\n".join(info_lines(info)))
    return 0


# ---------------------------------------------------------------------------------------- the table
# "model": what export, a demo's --save and a library saver all write (an export's source says so); the table
# says which one it is by its records (_model_kind)
_KINDS = {"training-run": "training checkpoint (resumable)", "model": "model without training state (the model alone)",
          "ngram-lm": "model file of 'rnnkit train ngram'", "hmm-tagger": "model file of 'rnnkit train hmm'",
          "torch-state-dict": "PyTorch state dict of 'rnnkit export --torch'",
          "onnx-graph": "ONNX graph of 'rnnkit export --onnx'",
          "arpa-lm": "ARPA back-off model ('rnnkit train ngram --arpa', KenLM, SRILM)",
          "onnx-vocabulary": "vocabulary file of 'rnnkit export --onnx' (written beside its graph)",
          "sentencepiece-model": "SentencePiece model of 'rnnkit export' (written beside its export)",
          "hmm-json": "HMM tagger of HMMTagger.save (JSON; rnnkit tag, evaluate and LoadedTagger read it)"}
# a demo's model, as its "demo" record (rnnkit.checkpoint_info: options) names it, by its task kind
_DEMO_MODELS = {"pointer": "model of 'rnnkit demo pointer --save' (the model alone)",
                "ctc": "model of 'rnnkit demo ctc --save' (the model alone)",
                "lm": "trained model of 'rnnkit demo', the character-level language model demo (the model alone)"}
_SAVED_ALONE = ("model alone, without training state (not an export: no export record; a library saver's, e.g. "
                "save_lm, or a demo's)")


def _model_kind(info: dict[str, Any]) -> str:
    """The kind row of a "model" file: an export (its export record), a demo's (its "demo" options) or a saver's."""
    if info.get("export"):
        return "exported model (the model alone)"
    if "demo" in (info.get("options") or {}):
        return _DEMO_MODELS.get(info["task"], _SAVED_ALONE)
    return _SAVED_ALONE


_DIGESTS = {"ok": "ok: arrays and metadata match their SHA-256 digests",
            "metadata": "metadata ok; arrays not checked (--no-verify)",
            "absent": "none stored (a file written before rnnkit kept them): not checked"}
_PREFIXES = {"model": "the model", "optim": "optimizer state", "raw": "training weights", "carry": "carried state",
             "graph": "graph initializers"}
_QUIET = {"progress", "log_every", "checkpoint_minutes", "checkpoint_steps"}  # how a run reports, not what it learns


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _g(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else _n(value)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _shape_line(arch: dict[str, Any]) -> str | None:
    """"2 layers x 650 units, bidirectional, embedding 650" (and a decoder's for a translator)."""
    parts = []
    if "hidden" in arch:
        layers = f"{_plural(arch['layers'], 'layer')} x " if "layers" in arch else ""
        prefix = "encoder " if "decoder_hidden" in arch else ""
        parts.append(f"{prefix}{layers}{arch['hidden']:,} units" + (", bidirectional" if arch.get("directions") == 2
                                                                       else ""))
    if "decoder_hidden" in arch:
        layers = f"{_plural(arch['decoder_layers'], 'layer')} x " if "decoder_layers" in arch else ""
        parts.append(f"decoder {layers}{arch['decoder_hidden']:,} units")
    if "embedding" in arch:
        other = f" / {arch['decoder_embedding']:,}" if "decoder_embedding" in arch else ""
        parts.append(f"embedding {arch['embedding']:,}{other}")
    return "; ".join(parts) or None


def _model_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    arch, rows = info.get("architecture") or {}, []
    if arch.get("summary"):
        rows.append(("model", arch["summary"]))
    shape = _shape_line(arch)
    if shape:
        rows.append(("", shape))
    if arch.get("extras"):
        rows.append(("extras", ", ".join(arch["extras"])))
    sizes = info.get("sizes") or {}
    if sizes:
        rows.append(("sizes", ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in sizes.items())))
    return rows


def _parameter_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    params, stored = info.get("parameters"), info.get("stored")
    if params is None:
        return []
    if not params["total"]:
        held = "its tables are in the file's metadata" if info.get("task") == "hmm" else "no arrays"
        return [("parameters", f"0 in arrays ({held})")]
    rows = [("parameters", f"{params['total']:,} {params['dtype']}")]
    groups = params["groups"]
    width = max(len(k) for k in groups)
    digits = max(len(f"{g['count']:,}") for g in groups.values())
    for name, g in groups.items():
        dtype = f"  {g['dtype']}" if g["dtype"] != params["dtype"] else ""
        rows.append(("", f"  {name:<{width}}  {g['count']:>{digits},}  ({_plural(g['arrays'], 'array')}){dtype}"))
    if stored and (len(stored["groups"]) > 1 or stored["total"] != params["total"]):
        each = ", ".join(f"{_PREFIXES.get(k, k)} {g['count']:,}" for k, g in stored["groups"].items())
        arrays = sum(g["arrays"] for g in stored["groups"].values())
        rows.append(("stored", f"{stored['total']:,} values in {_plural(arrays, 'array')} "
                               f"({stored['bytes']:,} bytes): {each}"))
    return rows


def _training_rows(training: dict[str, Any] | None) -> list[tuple[str, str]]:
    from rnnkit.train.position import position_text

    if not training:
        return []
    text = position_text(training.get("step"), training.get("epoch"), training.get("steps_into_epoch"),
                         training.get("epochs"))
    if training.get("stopped_early"):
        text += " (stopped early)"
    if training.get("optimizer"):
        text += f"; {training['optimizer']}"
    if training.get("lr") is not None:
        text += f", lr {_g(training['lr'])}"
    if training.get("train_loss") is not None:  # an ended epoch's mean: which, when the run is past its end
        whose = f"epoch {training.get('epoch')}'s " if training.get("steps_into_epoch") else ""
        text += f"; {whose}training loss {training['train_loss']:.4f}"
    rows = [("training", text)]
    rows.append(("best", _best_text(training)))
    if training.get("seconds") is not None:
        when = f"; last epoch ended {training['last_epoch_time']}" if training.get("last_epoch_time") else ""
        rows.append(("time", f"{training['seconds']:.3g} s training and validation{when}"))
    return rows


def _best_text(training: dict[str, Any]) -> str:
    """The best row: the figure that chose best.safetensors; else why there is none (a run with validation data
    stopped before its first epoch's end has validated nothing yet, which is not a run without validation)."""
    from rnnkit.train.position import unvalidated_text
    from rnnkit.train.progress import format_metric

    best = training.get("best")
    if best:  # shown as the epoch lines and evaluate show it (accuracy 70.00%, F1 84.34), not as stored (0.7)
        return f"validation {best['metric']} {format_metric(best['metric'], best['value'])} at epoch {best['epoch']}"
    if training.get("unvalidated"):
        return f"none: {unvalidated_text(training.get('step'))}, so this last state is the run's model"
    if training.get("validation"):
        return "no validation figure in its epoch records: last epoch's model"
    return "no validation figure (trained without validation data): last epoch's model"


def _settings(run_options: dict[str, Any], chosen: list[str] | None, command: str | None) -> str | None:
    """The options a --resume repeats, as the run used them: those it chose (not the command's defaults) first, then
    those left at the defaults; all together when ``chosen`` is None (not known).  A flag off or an option unset is
    left out, unless the run chose it so (its default on, or set)."""
    used = {k: k if v is True else f"{k} {v}" for k, v in run_options.items() if isinstance(k, str)
            and k.startswith("--") and (v not in (None, False, [], "") or k in (chosen or ()))}
    if not used or chosen is None:
        return " ".join(used.values()) or None
    given = " ".join(text for k, text in used.items() if k in chosen)
    left = " ".join(text for k, text in used.items() if k not in chosen)
    return "; ".join(([f"chosen: {given}"] if given else []) + ([f"defaults of {command}: {left}"] if left else []))


def _demo_settings(demo: dict[str, Any]) -> str:
    """A demo's stored settings in a line: "task hull, steps 30, lengths 5-10, lr 0.02 to 0.0005, ..."."""
    said = {k: f"{k.replace('_', ' ')} {_g(v)}" for k, v in demo.items() if isinstance(k, str)}
    if "min_len" in demo and "max_len" in demo:
        said["min_len"] = f"lengths {_g(demo['min_len'])}-{_g(demo['max_len'])}"
        del said["max_len"]
    if "lr" in demo and "lr_end" in demo:
        said["lr"] = f"lr {_g(demo['lr'])} to {_g(demo['lr_end'])}"
        del said["lr_end"]
    return ", ".join(said.values())


def _option_rows(options: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not options:
        return []
    if isinstance(options.get("demo"), dict):
        return [("settings", _demo_settings(options["demo"]))]
    rows = []
    run_options = options.get("run_options")
    settings = _settings(run_options, options.get("chosen"), options.get("command")) \
        if isinstance(run_options, dict) else None
    if settings:
        rows.append(("settings", settings))
    config = options.get("train_config")
    if isinstance(config, dict):
        from rnnkit.train.config import TrainConfig

        defaults = TrainConfig().to_dict()
        shown = [f"{k} {_g(v)}" for k, v in config.items()
                 if k in ("epochs", "optimizer", "lr", "seed") or (k not in _QUIET and v != defaults.get(k)
                                                                    and v not in ([], {}, None))]
        rows.append(("train config", ", ".join(shown)))
    return rows


def _export_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    from rnnkit.train.position import position_text

    export = info.get("export")
    if not export:
        return []
    source = export.get("source")
    at = position_text(export.get("step"), export.get("epoch"), export.get("steps_into_epoch")) \
        if export.get("step") is not None else ""
    source_kind = export.get("source_kind")
    source_kind = _KINDS.get(source_kind, source_kind) if isinstance(source_kind, str) else None
    text = f"from {source}" + (f", a {source_kind.split(' (')[0]}" if source_kind else "")
    text += f", at {at}" if at else ""
    text += f"; weights {export['dtype']}" if export.get("dtype") else ""
    return [("exported", text)]


def _onnx_rows(onnx: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not onnx:
        return []
    if "note" in onnx:
        return [("onnx", onnx["note"])]
    opsets = ", ".join(f"{d} {v}" for d, v in onnx["opsets"].items())
    rows = [("onnx", f"graph {onnx['graph']} by {onnx['producer']}, IR version {onnx['ir_version']}, opset "
                     f"{opsets}, {_plural(onnx['nodes'], 'node')}")]
    for label, values in (("inputs", onnx["inputs"]), ("outputs", onnx["outputs"])):
        rows.append((label, ", ".join(f"{v['name']} {v['dtype']} ({', '.join(map(str, v['shape']))})"
                                      for v in values)))
    return rows


def _companion_rows(found: dict[str, Any] | None, own: str) -> list[tuple[str, str]]:
    """The files beside an ONNX graph (or beside the vocabulary file ``own``: :mod:`rnnkit.onnx_companions`), one
    line each, then what does not fit (a missing file: said there alone)."""
    if not found:
        return []
    rows = []
    for role, entry in found.items():
        if role == "problems" or not entry["exists"] or entry["file"] == own:
            continue
        if role == "vocabulary":
            sizes = ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in (entry.get("sizes") or {}).items())
            text = f"vocabulary of {kind_name(entry['model'])}" + (f"; {sizes}" if sizes else "") \
                + (f"; tokenizer: {entry['tokenizer']}" if entry.get("tokenizer") else "")
        elif role == "sentencepiece":
            text = "SentencePiece model" + (f", {entry['pieces']:,} pieces" if entry.get("pieces") else "")
        else:
            text = {"graph": "the export it was written beside", "encoder": "the translator's encoder graph",
                    "decoder_step": "the translator's decoder step graph"}.get(role, role)
        rows.append(("beside" if not rows else "", f"{entry['file']}: {text}"))
    rows += [("problem", problem) for problem in found.get("problems") or []]
    return rows


def info_lines(info: dict[str, Any]) -> list[str]:
    """The table ``rnnkit info`` prints: a label column and its facts."""
    kind = _model_kind(info) if info.get("kind") == "model" else _KINDS.get(info.get("kind"),
                                                                            f"kind {info.get('kind')!r:.60}")
    what = f"{info['what']} ({info['task']}): " if info.get("what") else "no model rnnkit knows: "
    if "note" in (info.get("onnx") or {}):  # the graph not read: its kind not known, not unknown
        what = "not read (no onnx package): "
    onnx = info.get("onnx") or {}
    if "producer" in onnx and onnx["producer"] != "rnnkit":  # another tool's graph: said by its producer
        by = " ".join(str(onnx[k]) for k in ("producer", "producer_version") if onnx.get(k))
        what, kind = "", (f"an ONNX graph written by {by:.80}, not by rnnkit" if by
                          else "an ONNX graph that names no producer (not written by rnnkit)")
    rows = [("file", f"{info['file']} ({info['bytes']:,} bytes)"), ("kind", f"{what}{kind}")]
    if info.get("run_folder"):
        rows.insert(0, ("run", run_folder_note(info["run_folder"], info["file"])))
    if info.get("digests"):
        rows.append(("checksums", _DIGESTS.get(info["digests"], info["digests"])))
    rows += _model_rows(info) + _parameter_rows(info) + _training_rows(info.get("training"))
    rows += _option_rows(info.get("options")) + _export_rows(info) + _onnx_rows(info.get("onnx"))
    rows += _companion_rows(info.get("companions"), info["file"])
    if info.get("arpa"):
        counts = info["arpa"]["ngrams"]
        rows.append(("n-grams", ", ".join(f"{k}-grams {n:,}" for k, n in enumerate(counts, 1))
                     + f" ({sum(counts):,} in all, as its header lists them)"))
    if info.get("format") in ("rnnkit", "torch") or (info.get("onnx") or {}).get("producer") == "rnnkit":
        rows.append(("version", f"rnnkit {info['rnnkit_version']}" if info.get("rnnkit_version")
                     else "not stored (a file written before rnnkit recorded its version)"))
    width = max(len(label) for label, _ in rows) + 2
    return [f"{label:<{width}}{text}".rstrip() for label, text in rows]
