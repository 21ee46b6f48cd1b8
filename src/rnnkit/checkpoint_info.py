"""What a saved rnnkit file is, read without loading it into a task: ``rnnkit info`` (:mod:`rnnkit.cli.info`).

:func:`checkpoint_info` takes a checkpoint (a training run's ``best``/``last.safetensors``, a model that
``rnnkit export`` wrote, an n-gram or HMM model file), a PyTorch state dict that ``rnnkit export --torch``
wrote, an ONNX graph of ``rnnkit export --onnx`` (or the vocabulary file beside it, ``m.vocab.json``, or a BPE
model's SentencePiece model ``m.bpe.model``) or an ARPA file of ``train ngram --arpa``, and returns one
dict with these keys (a fact the file does not hold is None)::

    file, bytes        the path as given, the file's size
    format             "rnnkit" (a checkpoint), "torch" (export --torch), "onnx" (export --onnx), "arpa",
                       "json" (the vocabulary file export --onnx writes beside its graph, or the file
                       HMMTagger.save writes) or "sentencepiece" (a BPE-level model's SentencePiece model, written
                       beside its export)
    kind               the checkpoint's meta["kind"]: "training-run", "model" (exported), "ngram-lm",
                       "hmm-tagger"; "torch-state-dict", "onnx-graph", "arpa-lm", "onnx-vocabulary",
                       "sentencepiece-model" or "hmm-json" (HMMTagger.save's) for the other formats
    task, what         the model kind (meta["task"]["model"]: "lm", "tagger", ...) and it in words ("a tagger")
    digests            "ok" (arrays and metadata match their SHA-256 digests), "metadata" (the metadata
                       does; arrays not read: verify=False), "absent" (a file written before digests), None
    architecture       :func:`rnnkit.checkpoint_models.describe_task`'s: summary, cell, layers, hidden, ...
    sizes              vocabulary, tags, classes, source/target vocabulary sizes (a SentencePiece model's pieces,
                       a pointer network's or CTC transcriber's input_size)
    parameters         {"total", "dtype", "groups": {module: {"count", "arrays", "dtype"}}}: the model's
                       arrays (``model/`` of a checkpoint), grouped by the name's first part (rnn, embedding)
    stored             {"total", "bytes", "groups": {prefix: {"count", "arrays", "bytes", "dtype"}}}: every
                       array the file holds, by its top-level prefix (model, optim, raw, carry)
    training           a training checkpoint's progress: epoch (the epochs ended), step, steps_into_epoch
                       (the steps since the last epoch's end: 0 at an epoch's end), epochs (planned), stopped_early,
                       best {metric, value, epoch}, validation (whether the run has validation data; None if not
                       recorded), unvalidated (it has, and no epoch has ended), lr, optimizer, seconds (training and
                       validation, summed over the epochs), last_epoch_time, train_loss (the last epoch's); else None
    options            {"train_config": ..., "run_options": ...} as the run stored them (``rnnkit info`` adds
                       "command" and "chosen": :func:`rnnkit.cli.defaults.chosen_options`), or {"demo": ...} the
                       settings a demo stored with its model (``demo pointer --save``'s, ``demo ctc --save``'s,
                       ``demo``'s); else None
    export             the export record (source, source_kind, step, epoch, steps_into_epoch, dtype); else None
    rnnkit_version     the rnnkit version that wrote the file: a checkpoint's header, a --torch file's
                       metadata, an ONNX graph's producer_version; None in files written before it was kept
    onnx               an ONNX graph's producer, opset, inputs and outputs (or a note how to read them)
    arpa               an ARPA file's {"ngrams": [count of each order], "text"}: from its header alone
    companions         an rnnkit ONNX graph's (or its vocabulary file's) files beside it, which exist, what they
                       hold and what does not fit the graph (:func:`rnnkit.onnx_companions.companions`)
    run_folder         the run folder given for ``path``, whose checkpoint the rest describes; None for a file

Nothing is unpickled and nothing is built.  Sizes and dtypes come from the safetensors header; verifying the
digests reads every array, one at a time (:func:`rnnkit.checkpoint.verify_arrays`: the memory of the largest,
not of the file); ``verify=False`` reads the header alone, for a quick look at a large file.  A file
that is not one of these raises :class:`~rnnkit.errors.CheckpointError`: the one-line messages
:func:`rnnkit.checkpoint.load_checkpoint` gives.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import is_safetensors
from rnnkit.checkpoint_models import CONFIG_KEYS, describe_task, parsed, sentencepiece_pieces
from rnnkit.checkpoint_task import KNOWN_KINDS, MODEL_KINDS, kind_name
from rnnkit.errors import CheckpointError
from rnnkit.export_names import BPE_SUFFIX, VOCAB_SUFFIX
from rnnkit.onnx_companions import companions, graph_sizes, read_vocab_file, vocab_facts
from rnnkit.onnx_info import INSTALL, is_onnx, read_onnx

# safetensors' names of its dtypes, as numpy names them
_ST_DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16", "U32": "uint32",
              "I32": "int32", "U64": "uint64", "I64": "int64", "F16": "float16", "BF16": "bfloat16",
              "F32": "float32", "F64": "float64"}
Specs = dict[str, tuple[str, tuple[int, ...]]]  # {array name: (numpy dtype name, shape)}
_HMM_TABLES = "model/hmm."  # an HMM's probability tables (rnnkit.tagging.io.TABLE_PREFIX; not imported for it)
_FILES = ("a .safetensors file rnnkit wrote, an .onnx graph (or the m.vocab.json or m.bpe.model beside it), an HMM's "
          "JSON, or an ARPA file, .gz, .xz or .bz2 too")


def checkpoint_info(path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """What the file at ``path`` is (module docstring); ``verify`` reads every array to check the digests.  A
    training run's folder stands for its best.safetensors, else its last.safetensors, as ``rnnkit export``
    takes it; ``run_folder`` names the folder (None for a file)."""
    folder = None
    if Path(path).is_dir():
        from rnnkit.checkpoint_files import find_checkpoint  # CheckpointError (one line) for a folder without them

        folder, path = str(path), find_checkpoint(path)
    return {**_file_info(Path(path), verify), "run_folder": folder}


def _file_info(path: Path, verify: bool) -> dict[str, Any]:
    # missing, a folder, a pipe: said as every loader says it
    ckpt.check_openable(path, _FILES, "a file rnnkit info reads", "file")  # not only checkpoints: "no such file"
    if is_onnx(path):
        return _onnx_info(path)
    if path.name.lower().endswith(VOCAB_SUFFIX) and not is_safetensors(path):
        return _vocab_file_info(path)
    if path.name.lower().endswith(BPE_SUFFIX) and not is_safetensors(path):
        return _sentencepiece_info(path)
    from rnnkit.hmm_io import is_hmm_json
    from rnnkit.lm.arpa_read import is_arpa  # (the n-gram package: imported for this alone)

    if not is_safetensors(path) and is_hmm_json(path):
        return _hmm_json_info(path)

    if not is_safetensors(path) and is_arpa(path):
        return _arpa_info(path)
    opened = _open(path, verify)
    if opened[0] is None:
        return _torch_info(path, *opened[1:])
    doc, specs = opened
    digests = "absent" if "sha256" not in doc and "meta_sha256" not in doc else ("ok" if verify else "metadata")
    meta = doc["meta"]
    info = _base(path)
    kind = meta.get("kind") if isinstance(meta.get("kind"), str) else None  # a list there: a damaged file
    info.update(format="rnnkit", kind=kind, digests=digests, rnnkit_version=_version(doc.get("rnnkit_version")))
    _describe(info, meta.get("task"), [k[len(_HMM_TABLES):] for k in specs if k.startswith(_HMM_TABLES)])
    info["parameters"] = parameters({k[len("model/"):]: v for k, v in specs.items() if k.startswith("model/")})
    info["stored"] = stored(specs)
    info["training"] = training(meta) if kind == "training-run" else None
    if kind == "training-run":
        info["options"] = {"train_config": meta.get("train_config"), "run_options": meta.get("run_options")}
    demo = meta["task"].get("demo") if isinstance(meta.get("task"), dict) else None
    if kind == "model" and isinstance(demo, dict):  # a demo's network: its settings, as a run's options are said
        info["options"] = {"demo": demo}
    export = meta.get("export")
    info["export"] = export if isinstance(export, dict) else None
    return info


def _base(path: Path) -> dict[str, Any]:
    """Every key of an info dict, None, with the file's path and size."""
    keys = ("format", "kind", "task", "what", "digests", "architecture", "sizes", "parameters", "stored",
            "training", "options", "export", "rnnkit_version", "onnx", "arpa", "companions")
    return {"file": str(path), "bytes": path.stat().st_size, **dict.fromkeys(keys)}


def _version(value: Any) -> str | None:
    """The rnnkit version a file names (a short string), else None (not stored, or damaged)."""
    return value if isinstance(value, str) and 0 < len(value) <= 60 else None


def _describe(info: dict[str, Any], task: Any, tables: list[str] | tuple[str, ...] = ()) -> None:
    """The task kind, its name in words, the architecture and the sizes, into ``info`` (``tables``: an HMM's
    probability tables the file holds as arrays)."""
    kind = task.get("model") if isinstance(task, dict) else None
    info["task"] = kind if isinstance(kind, str) else None
    info["what"] = kind_name(kind) if info["task"] in KNOWN_KINDS else None
    arch, sizes = describe_task(task, tables)
    info["architecture"], info["sizes"] = arch or None, sizes or None  # none known (an unknown kind): None, not {}


def _open(path: Path, verify: bool) -> tuple[dict[str, Any], Specs] | tuple[None, dict[str, str], Specs]:
    """``(rnnkit header, specs)`` of a checkpoint, its arrays checked against their digests if ``verify``, or
    ``(None, metadata, specs)`` of a file ``rnnkit export --torch`` wrote: the file opened once.  Every error
    is a loader's (:func:`rnnkit.checkpoint.load_document`: not a regular file, not safetensors, not rnnkit's)."""
    from safetensors import SafetensorError, safe_open

    try:  # (checkpoint_info's check_openable has refused a device or a pipe, which safe_open would wait on)
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            specs = {k: _spec(f.get_slice(k)) for k in f.keys()}
            if ckpt.TORCH_MARK in meta and "rnnkit" not in meta:
                return None, meta, specs
            doc = ckpt.parse_document(path, meta.get("rnnkit"))
            if verify:
                ckpt.verify_arrays(path, doc, f)
    except (SafetensorError, OSError) as exc:
        ckpt.load_document(path)  # the loaders' words for a file safetensors cannot open
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc}); use another checkpoint") from None
    keys = doc.get("keys")
    order = keys if isinstance(keys, list) and sorted(keys) == sorted(specs) else sorted(specs)
    return doc, {k: specs[k] for k in order}


def _spec(view: Any) -> tuple[str, tuple[int, ...]]:
    """(numpy dtype name, shape) of a safetensors slice, read from the header alone."""
    return _ST_DTYPES.get(view.get_dtype(), view.get_dtype().lower()), tuple(view.get_shape())


def _torch_info(path: Path, meta: dict[str, str], specs: Specs) -> dict[str, Any]:
    """The info of a PyTorch state dict ``rnnkit export --torch`` wrote: its metadata holds the model kind, its
    configuration and vocabularies as JSON strings, and the export record under its TORCH_MARK key."""
    kind = meta.get("model")
    task: dict[str, Any] = {"model": kind, CONFIG_KEYS.get(str(kind), "config"): parsed(meta.get("config"))}
    task.update({k: parsed(meta[k]) for k in ("vocab", "level", "encoder") if k in meta})
    info = _base(path)
    info.update(format="torch", kind="torch-state-dict", rnnkit_version=_version(meta.get("rnnkit_version")))
    _describe(info, task)
    info["parameters"] = parameters(specs)
    info["stored"] = stored({"model/" + k: v for k, v in specs.items()})
    record = parsed(meta.get(ckpt.TORCH_MARK))
    info["export"] = record if isinstance(record, dict) else None
    return info


def _onnx_info(path: Path, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The info of an ONNX graph: its metadata (model kind, configuration, export record) and its weights (its
    float initializers named module.name) as the parameters, when the onnx package can read it; else a note
    on how to.  ``known``: a companion file read already (:func:`rnnkit.onnx_companions.companions`)."""
    info = _base(path)
    info.update(format="onnx", kind="onnx-graph")
    read = read_onnx(path)
    if read is None:
        info["onnx"] = {"note": f"the onnx package is not installed: {INSTALL}"}
        found = companions(path, None, None, {}, known)  # its files beside it, by their names; reported beside rnnkit's
        info["companions"] = found if found["vocabulary"]["exists"] else None  # vocabulary alone (then: rnnkit's)
        return info
    graph, props, specs = read
    kind = props.get("model")
    _describe(info, {"model": kind, CONFIG_KEYS.get(str(kind), "config"): parsed(props.get("config"))})
    # the weights are named module.name (rnn.W_l0, decoder.bias); the graph's constants not (eps, layer_0)
    info["parameters"] = parameters({k: v for k, v in specs.items() if "." in k and v[0].startswith(("float", "bf"))})
    info["stored"] = stored({"graph/" + k: v for k, v in specs.items()})
    record = parsed(props.get("rnnkit_export"))
    info["export"] = record if isinstance(record, dict) else None
    info["onnx"] = {**graph, "metadata": sorted(props)}
    if graph.get("producer") == "rnnkit":
        info["rnnkit_version"] = _version(graph.get("producer_version"))
        sizes = graph_sizes(kind, info["sizes"], graph["outputs"], parsed(props.get("config")))
        info["companions"] = companions(path, kind, props.get("part"), sizes, known)
    return info


def _vocab_file_info(path: Path) -> dict[str, Any]:
    """The info of a vocabulary file ``rnnkit export --onnx`` wrote beside its graph (``m.vocab.json``): the kind of
    model it is for, its sizes, and its graph's companions (whether the graph is there, and fits it)."""
    doc, why = read_vocab_file(path)
    if doc is None:
        raise CheckpointError(f"{path}: {why}; rnnkit info reads the vocabulary files 'rnnkit export --onnx' writes "
                              "beside their graph (m.onnx -> m.vocab.json)")
    facts = vocab_facts(doc)
    info = _base(path)
    kind = facts["model"]
    info.update(format="json", kind="onnx-vocabulary", task=kind, what=kind_name(kind) if kind in MODEL_KINDS else None,
                sizes=facts["sizes"] or None)
    info["companions"] = _beside_export(path, VOCAB_SUFFIX, "vocabulary", {"file": str(path), "exists": True, **facts},
                                        doc)
    return info


def _hmm_json_info(path: Path) -> dict[str, Any]:
    """The info of a file :meth:`rnnkit.hmm.HMMTagger.save` wrote: its model, as a checkpoint of it tells it (the
    same JSON is a checkpoint's task record), described from the tagger its loader builds (the JSON parsed once,
    and checked: a damaged file gets the loader's line)."""
    from rnnkit.errors import DataError
    from rnnkit.hmm import HMMTagger

    try:
        hmm = HMMTagger.loads(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except DataError as exc:
        raise CheckpointError(str(exc)) from None
    info = _base(path)
    info.update(format="json", kind="hmm-json")
    _describe(info, {"model": "hmm", "hmm": hmm.document()})  # the JSON HMMTagger.save writes, as parsed
    return info


def _sentencepiece_info(path: Path) -> dict[str, Any]:
    """The info of a BPE-level language model's SentencePiece model that ``rnnkit export`` wrote beside its ONNX
    graph or --torch file (``m.bpe.model``): its pieces, when sentencepiece is installed (a file it cannot read is
    refused), and its export's companions."""
    try:
        pieces = sentencepiece_pieces(path.read_bytes())
    except ValueError as exc:
        raise CheckpointError(f"{path}: not a SentencePiece model ({exc}); rnnkit info reads the SentencePiece model "
                              "'rnnkit export' writes beside a BPE-level model's export (m.onnx -> m.bpe.model)"
                              ) from None
    info = _base(path)
    info.update(format="sentencepiece", kind="sentencepiece-model", task="lm", what=kind_name("lm"),
                sizes=None if pieces is None else {"pieces": pieces})
    info["companions"] = _beside_export(path, BPE_SUFFIX, "sentencepiece",
                                        {"file": str(path), "exists": True, "pieces": pieces}, pieces)
    return info


def _beside_export(path: Path, suffix: str, role: str, entry: dict[str, Any], read: Any) -> dict[str, Any]:
    """The companions of a file an export wrote beside it (``suffix``: m.vocab.json, m.bpe.model): ``graph``, the
    export (m.onnx; a SentencePiece model's may be an --torch file, m.safetensors), and when it is an ONNX graph its
    own companions (whether they fit it), this file's facts ``entry`` as its ``role`` (vocabulary, sentencepiece);
    ``read``: what was read of the file (its content, its pieces), which the graph's companions do not read again."""
    stem = path.name[:-len(suffix)]
    exports = [path.with_name(stem + ".onnx")] + ([path.with_name(stem + ".safetensors")] if suffix == BPE_SUFFIX
                                                  else [])
    export = next((e for e in exports if e.is_file()), None)  # each asked once; None: neither is there
    found: dict[str, Any] = {"graph": {"file": str(export or exports[0]), "exists": export is not None}}
    if export is not None and export.suffix == ".onnx":
        try:
            found.update(_onnx_info(export, {str(path): read}).get("companions") or {})
        except CheckpointError as exc:  # a damaged graph: said, and this file still described
            found["problems"] = [str(exc)]
    found.setdefault(role, entry)
    also = f" (or {exports[1]})" if len(exports) > 1 else ""
    found.setdefault("problems", [] if export is not None else [
        f"{exports[0]}{also} is missing: the export this file was written beside"])
    return found


def _arpa_info(path: Path) -> dict[str, Any]:
    """The info of an ARPA back-off model (``train ngram --arpa``, KenLM, SRILM) from its header alone: its
    order and the number of n-grams of each order (the n-grams themselves are not read)."""
    from rnnkit.lm.arpa_read import arpa_header

    counts, text = arpa_header(path)
    info = _base(path)
    level = "char" if text else None  # rnnkit's character models say how they read their text; word: not said
    info.update(format="arpa", kind="arpa-lm", task="ngram", what=kind_name("ngram"),
                architecture={"summary": f"{len(counts)}-gram {level + '-level ' if level else ''}back-off language "
                                         "model", "order": len(counts), **({"level": level} if level else {})},
                arpa={"ngrams": counts, "text": text})
    return info


def _dtype_of(dtypes: set[str]) -> str:
    return "+".join(sorted(dtypes))


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _itemsize(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def parameters(specs: Specs) -> dict[str, Any]:
    """The model's arrays (names without ``model/``) counted: in all and by the name's first part
    ("rnn.weight_ih_l0" -> "rnn"), with their dtypes."""
    groups: dict[str, dict[str, Any]] = {}
    for name, (dtype, shape) in specs.items():
        g = groups.setdefault(name.split(".")[0], {"count": 0, "arrays": 0, "dtypes": set()})
        g["count"] += _size(shape)
        g["arrays"] += 1
        g["dtypes"].add(dtype)
    dtypes = {d for g in groups.values() for d in g["dtypes"]}
    return {"total": sum(g["count"] for g in groups.values()), "dtype": _dtype_of(dtypes) if dtypes else None,
            "groups": {k: {"count": g["count"], "arrays": g["arrays"], "dtype": _dtype_of(g["dtypes"])}
                       for k, g in groups.items()}}


def stored(specs: Specs) -> dict[str, Any]:
    """Every array of a checkpoint counted, by its top-level prefix ("optim/exp_avg.rnn.weight" -> "optim")."""
    groups: dict[str, dict[str, Any]] = {}
    for name, (dtype, shape) in specs.items():
        g = groups.setdefault(name.split("/")[0], {"count": 0, "arrays": 0, "bytes": 0, "dtypes": set()})
        g["count"] += _size(shape)
        g["arrays"] += 1
        g["bytes"] += _size(shape) * _itemsize(dtype)
        g["dtypes"].add(dtype)
    return {"total": sum(g["count"] for g in groups.values()), "bytes": sum(g["bytes"] for g in groups.values()),
            "groups": {k: {"count": g["count"], "arrays": g["arrays"], "bytes": g["bytes"],
                           "dtype": _dtype_of(g["dtypes"])} for k, g in groups.items()}}


def _epochs(loop: dict[str, Any]) -> list[dict[str, Any]]:
    history = loop.get("history")
    return [e for e in history if isinstance(e, dict) and e.get("type", "epoch") == "epoch"] \
        if isinstance(history, list) else []


def _number(value: Any) -> float | None:
    """A finite number, else None (NaN: no validation that epoch)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
    return float(value) if ok else None


def training(meta: dict[str, Any]) -> dict[str, Any]:
    """A training checkpoint's progress (module docstring), from its loop record and epoch history."""
    from rnnkit.train.position import steps_into_epoch  # here: rnnkit.train imports the training loop

    loop = meta.get("loop") if isinstance(meta.get("loop"), dict) else {}
    config = meta.get("train_config") if isinstance(meta.get("train_config"), dict) else {}
    optimizer = meta.get("optimizer") if isinstance(meta.get("optimizer"), dict) else {}
    epochs = _epochs(loop)
    marked = [e for e in epochs if e.get("best") is True]
    best = None
    if marked:  # the metric that chose best.safetensors, at its epoch
        metric = marked[-1].get("selected_by") if isinstance(marked[-1].get("selected_by"), str) else "loss"
        value = _number(marked[-1].get("valid_" + metric))
        if value is not None:
            best = {"metric": metric, "value": value, "epoch": marked[-1].get("epoch")}
    hyper = optimizer.get("hyperparameters") if isinstance(optimizer.get("hyperparameters"), dict) else {}
    last = epochs[-1] if epochs else {}  # the last epoch's record
    lr = _number(last.get("lr"))
    seconds = [_number(e.get(k)) for e in epochs for k in ("train_seconds", "valid_seconds")]
    run_options = meta.get("run_options") if isinstance(meta.get("run_options"), dict) else {}
    # the validation data's fingerprint, None without it (every task records it); absent from older checkpoints
    validation = run_options["validation data"] is not None if "validation data" in run_options else None
    return {"epoch": loop.get("epoch"), "step": loop.get("step"),
            "steps_into_epoch": steps_into_epoch(loop.get("step"), loop.get("history")), "epochs": config.get("epochs"),
            "stopped_early": loop.get("stopped_early"), "best": best, "validation": validation,
            "unvalidated": bool(validation) and not loop.get("epoch"), "optimizer": optimizer.get("class"),
            "lr": lr if lr is not None else _number(hyper.get("lr")), "train_loss": _number(last.get("train_loss")),
            "seconds": round(sum(s for s in seconds if s is not None), 3) if epochs else None,
            "last_epoch_time": last.get("time")}


def to_json(info: dict[str, Any]) -> str:
    """``info`` as one line of JSON (sorted keys; NaN never appears: missing figures are null)."""
    return json.dumps(info, sort_keys=True, ensure_ascii=False)
