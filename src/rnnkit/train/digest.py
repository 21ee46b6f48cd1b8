"""What ``--resume`` compares between a checkpoint and the run about to continue it: a fingerprint of
the training files, so that it can tell the data it started with from data changed since (a run that
continued on other data would no longer be the run it claims to be: its cursor would point into other
text, and even a vocabulary that still matches gives other batches), the task's description (the
vocabulary and the model's options) and the training options (:func:`resume_problem`)."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.files import open_data
from rnnkit.init import MAX_INIT_SCALE
from rnnkit.train.select_by import DEFAULT as SELECT_BY_DEFAULT
from rnnkit.train.select_by import OPTION as SELECT_BY_OPTION


def file_digest(paths: Iterable[str | os.PathLike | None]) -> str | None:
    """SHA-256 over the bytes of the files, in order (a ``.gz``/``.xz`` file as decompressed); None
    when one of them is not a regular file (standard input, a pipe), which cannot be read twice.  A
    missing file is left to the reader, whose message names it."""
    h = hashlib.sha256()
    for path in paths:
        if path is None or not os.path.isfile(path):
            return None
        with open_data(Path(path)) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")  # file boundary: ("ab", "c") and ("a", "bc") differ
    return h.hexdigest()


def value_digest(value: Any) -> str | None:
    """SHA-256 of a data set as a task holds it (arrays, lists, tuples, dicts, strings and numbers,
    nested), or None for None: a fingerprint of the validation data a run selects its best model on."""
    if value is None:
        return None
    h = hashlib.sha256()

    def walk(v: Any) -> None:
        if isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            h.update(f"a{a.dtype.str}{a.shape}".encode())
            h.update(a.reshape(-1).view(np.uint8))
        elif isinstance(v, (list, tuple)):
            h.update(f"l{len(v)}".encode())
            for item in v:
                walk(item)
        elif isinstance(v, dict):
            h.update(f"d{len(v)}".encode())
            for key in sorted(v, key=str):
                walk(str(key))
                walk(v[key])
        else:  # str, int, float, bool, None, numpy scalars
            h.update(f"s{type(v).__name__}:{v!r}".encode())

    walk(value)
    return h.hexdigest()


# the model configs a task description holds, by their key: a field a checkpoint of an earlier version lacks
# was that config's default then (a field added since, such as TaggerConfig.cell or Seq2SeqConfig.tie_weights)
_CONFIGS = {"lm_config": ("rnnkit.lm.model", "LMConfig"), "tagger_config": ("rnnkit.tagging.model", "TaggerConfig"),
            "classifier_config": ("rnnkit.classify.model", "ClassifierConfig"),
            "seq2seq_config": ("rnnkit.seq2seq.model", "Seq2SeqConfig"),
            "treenet_config": ("rnnkit.treenet.model", "TreeNetConfig")}


def _defaults(cls: Any) -> dict[str, Any]:
    """A dataclass's field defaults as its checkpoints' JSON holds them (fields without one left out)."""
    import dataclasses

    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return json.loads(json.dumps(out, default=list))


def _with_defaults(key: str, saved: Any, now: Any) -> Any:
    """``saved`` (a section of a checkpoint's task description) with the fields it lacks and ``now`` has
    set to their defaults, when ``key`` is a model config's."""
    if key not in _CONFIGS or not isinstance(saved, dict) or not isinstance(now, dict):
        return saved
    import importlib

    module, name = _CONFIGS[key]
    defaults = _defaults(getattr(importlib.import_module(module), name))
    return {**{k: defaults[k] for k in now if k not in saved and k in defaults}, **saved}


# task description fields added since some checkpoints were written, and the value a checkpoint without one had
# (train tagger's --train-scheme: the data's own scheme); and the option that sets a field, for the messages
# (train seq2seq keeps its vocabulary and selection options in its task description, train lm and train tagger
# in run_options), its value said as a run option's (None as none: no --max-vocab given)
_ABSENT_TASK_FIELDS = {"train_scheme": lambda saved: (saved.get("data") or {}).get("scheme")}
_TASK_OPTIONS = {"train_scheme": "--train-scheme", "min_count": "--min-count", "max_vocab": "--max-vocab",
                 "max_length": "--max-length", "select_by": "--select-by", "bleu_tokenize": "--bleu-tokenize"}
# what a changed task option changes in turn, left out of the message beside it (docs/training.md: the option is
# the cause): another --train-scheme gives other tags, and the --valid file encoded in them (when the file's bytes
# are the same: see resume_problem)
_CONSEQUENCES = {"train_scheme": ("encoder.tags", "tagger_config.num_tags", "validation data")}


def _filled(saved: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's task description ``saved`` with the fields of :data:`_ABSENT_TASK_FIELDS` it lacks and this
    run's ``now`` has, at the value it had then."""
    return {**{k: then(saved) for k, then in _ABSENT_TASK_FIELDS.items() if k in now and k not in saved}, **saved}


def implied_changes(saved: dict[str, Any], now: dict[str, Any]) -> set[str]:
    """The fields (``encoder.tags``) and run options that differ because a task option of :data:`_CONSEQUENCES`
    does, between a checkpoint's task description ``saved`` and this run's ``now``."""
    saved = _filled(saved, now)
    return {name for key, names in _CONSEQUENCES.items() if key in saved and key in now and saved[key] != now[key]
            for name in names}


def task_changes(saved: dict[str, Any], now: dict[str, Any], implied: set[str] | None = None) -> list[str]:
    """What differs between a checkpoint's task description and this run's: the vocabulary a changed
    training file builds (its rows would silently belong to other words), a model option.  Keys only
    one side has are skipped (checkpoints of earlier versions lack options added since), except a model
    config's fields, which an earlier checkpoint had at their defaults (``--tie`` resumed onto an untied run),
    and the fields of ``_ABSENT_TASK_FIELDS``, which it had at the value given there.  ``implied``: the
    caller's :func:`implied_changes` of the same two, when it has them (computed here otherwise)."""
    implied = implied_changes(saved, now) if implied is None else implied
    saved = _filled(saved, now)
    out = []
    for key in sorted(set(saved) & set(now), key=lambda k: (k not in _TASK_OPTIONS, k)):  # an option first: the cause
        a, b = _with_defaults(key, saved[key], now[key]), now[key]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [_flag_change(key, k, a[k], b[k]) if (key, k) in _FLAGS else
                    _zero_weight(key, k, a[k]) if k == "class_weights" and 0 in (a[k] or ()) else
                    _large_init_scale(key, k, a[k]) if k == "init_scale" and (a[k] or 0) > MAX_INIT_SCALE else
                    f"{_named(key, k)}: {_short(a[k])} then, {_short(b[k])} now" if _short(a[k]) != _short(b[k])
                    else f"its {_named(key, k)} differs (another training file, or another option that selects the "
                         "data or the vocabulary?)"
                    for k in sorted(set(a) & set(b)) if a[k] != b[k] and _in_use(key, k, a, b)
                    and f"{key}.{k}" not in implied]
        elif key in _TASK_OPTIONS:
            out.append(f"{_TASK_OPTIONS[key]} ({key}) {_task_value(a)} then, {_task_value(b)} now")
        else:
            out.append(f"{key}: {_short(a)} then, {_short(b)} now" if len(repr(a)) + len(repr(b)) < 60
                       else f"its {key} differs (another training file, or another option that selects the data or the "
                            "vocabulary?)")
    return out


# a model config's field and the train option that sets it, for the messages (the fields every task shares, then
# the language model's own); tie_weights is train lm's and train seq2seq's --tie
_OPTIONS = {"embedding_dim": "--embed", "hidden_size": "--hidden", "num_layers": "--layers", "cell": "--cell",
            "class_weights": "--class-weights",
            "dropout": "--dropout", "weight_drop": "--weight-drop", "char_embedding_dim": "--char-embed",
            "char_hidden": "--char-hidden", "char_encoder": "--char-encoder",
            "char_filters": "--char-filters", "char_window": "--char-window", "char_dropout": "--char-dropout",
            "pooling": "--pooling", "attention": "--attention", "attention_size": "--attention-size",
            "residual": "--residual", "peephole": "--peephole", "layer_norm": "--layer-norm",
            "tie_weights": "--tie", "decoder_hidden_size": "--hidden", "encoder_hidden_size": "--encoder-hidden",
            "lowercase": "--lowercase"}
_LM_OPTIONS = {"dropout_input": "--dropout-input", "dropout_hidden": "--dropout-hidden",
               "dropout_output": "--dropout-output", "variational": "--variational",
               "softmax": "--softmax", "num_classes": "--classes", "cutoffs": "--cutoffs", "div_value": "--div-value",
               "init_scale": "--init-scale"}


_SIDE_OPTIONS = {("source_tokenizer", "level"): "--source-level", ("target_tokenizer", "level"): "--target-level"}
# config fields a flag turns off: (section, field) -> the flag (its being given is the field's False)
_FLAGS = {("tagger_config", "bidirectional"): "--unidirectional",
          ("classifier_config", "bidirectional"): "--unidirectional",
          ("seq2seq_config", "input_feeding"): "--no-input-feeding"}


# config fields that size a part only some configs have, and the test of whether a config has it: such a field is
# recorded at its default where the part is absent (attention_size under max pooling), so a change is named only
# when both runs have the part; when one lacks it, the option that adds it differs and is named instead
_USED_WHEN = {("classifier_config", "attention_size"): lambda c: c.get("pooling") == "attention",
              ("seq2seq_config", "attention_size"): lambda c: c.get("attention") == "additive"}


# config fields whose option defaults to another's value (--attention-size to --hidden): when both runs have it
# at that value, its change is the other field's, which alone is named
_FOLLOWS = {("classifier_config", "attention_size"): "hidden_size",
            ("seq2seq_config", "attention_size"): "decoder_hidden_size"}


# config fields whose option's default depends on the character encoder (train tagger's --char-embed: 30 for
# the CNN, 25 for the BiLSTM): a change of encoder with each at its default is the encoder's change alone
_ENCODER_DEFAULTS = {("tagger_config", "char_embedding_dim"): {"cnn": 30, "bilstm": 25}}


def _in_use(section: str, field: str, then: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether a config field's change is to be named: not when ``_USED_WHEN`` says a run lacks the part it
    sizes, nor when it follows (``_FOLLOWS``) a field that changed with it."""
    used = _USED_WHEN.get((section, field))
    followed = _FOLLOWS.get((section, field))
    if followed and then.get(field) == then.get(followed) and now.get(field) == now.get(followed):
        return False
    per_encoder = _ENCODER_DEFAULTS.get((section, field))
    if per_encoder and all(c.get(field) == per_encoder.get(c.get("char_encoder")) for c in (then, now)):
        return False  # each run at its encoder's default: the change is --char-encoder's, named alone
    return used is None or (used(then) and used(now))


def _flag_change(section: str, field: str, then: Any, now: Any) -> str:
    """A flag's change said as given or not (``--unidirectional given then, not given now``), not as the
    value of the field it turns off, which read the other way round."""
    def said(value: Any) -> str:
        return "not given" if value else "given"

    return f"{_FLAGS[(section, field)]} ({section}.{field}) {said(then)} then, {said(now)} now"


def _zero_weight(section: str, field: str, then: Any) -> str:
    """A class weight of 0, which versions before Dec 6 2026 accepted and --class-weights now refuses (the class
    is never learnt): the run cannot be resumed with the same options, so the message must not ask for them."""
    return (f"{_named(section, field)} {_short(then)} then: a weight of 0, which --class-weights no longer "
            "accepts, so this run cannot be resumed; start a new run with positive weights")


def _large_init_scale(section: str, field: str, then: Any) -> str:
    """An init_scale above the bound --init-scale now has (a run of an earlier version; its checkpoints still
    load): the run cannot be resumed with the same options, so the message must not ask for them."""
    return (f"{_named(section, field)} {_short(then)} then: above {MAX_INIT_SCALE:g}, which --init-scale no "
            "longer accepts, so this run cannot be resumed (its checkpoints still load for evaluate, generate and "
            "score); start a new run with a smaller --init-scale")


def _named(section: str, field: str) -> str:
    """``--embed (lm_config.embedding_dim)``: a config field with the option that sets it, where there is one."""
    option = (_OPTIONS.get(field) or (_LM_OPTIONS.get(field) if section == "lm_config" else None)
              or _SIDE_OPTIONS.get((section, field)))
    return f"{option} ({section}.{field})" if option else f"{section}.{field}"


def _option_value(value: Any) -> str:
    """A run option as a message shows it: a data fingerprint by its first 12 digits, None as none."""
    if value is None:
        return "none"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return str(value)


def _task_value(value: Any) -> str:
    """A task description's option as a message shows it: None as none (not given), else :func:`_short`."""
    return "none" if value is None else _short(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# run options added since a checkpoint was written: what their absence from its run_options means, the value
# the run had then (no vectors file read; the best checkpoint chosen by accuracy, rnnkit.train.select_by, in
# the classifier's and the tree model's runs, the tasks that keep --select-by among their run options; no
# coverage loss in a translator's run)
ABSENT_RUN_OPTIONS = {"--embeddings": None, "--src-embeddings": None, "--tgt-embeddings": None,
                      SELECT_BY_OPTION: SELECT_BY_DEFAULT, "--coverage-loss": 0.0, "--all-phrases": False}

# TrainConfig fields a resumed run must share with the run it continues (the optimizer's, the schedule's,
# the seed's); --epochs, --max-steps, --patience and the checkpoint, log and progress options may change
FIXED_ON_RESUME = ("optimizer", "lr", "momentum", "weight_decay", "clip", "schedule", "warmup_steps", "lr_decay",
                   "decay_start", "step_size", "seed", "frozen", "average", "optimizer_options")


# the command that trains each kind of model (meta["task"]["model"]) in a run folder
TRAIN_COMMANDS = {"lm": "lm", "tagger": "tagger", "classifier": "classifier", "treenet": "tree", "seq2seq": "seq2seq"}


def resume_problem(meta: dict[str, Any], task_meta: dict[str, Any], train_config: dict[str, Any],
                   data_digest: str | None, run_options: dict[str, Any] | None = None) -> str | None:
    """Why a training checkpoint's run (its metadata ``meta``) cannot be continued by this one (its
    task description, TrainConfig as a dict and training-data fingerprint), or None.  A resumed run
    goes on as it started: a changed learning rate would be overridden by the restored optimizer, a
    changed seed would give a run that is neither the old nor a new one."""
    kind, ours = (meta.get("task") or {}).get("model"), task_meta.get("model")
    if kind and ours and kind != ours:  # another task's run: its data and options differ because the task does
        from rnnkit.checkpoint_task import kind_name

        command = f"'rnnkit train {TRAIN_COMMANDS[kind]}'" if kind in TRAIN_COMMANDS else "the command that started it"
        return (f"this run folder holds {kind_name(kind)} run's checkpoint, not {kind_name(ours)}'s: give another "
                f"run_dir (--run-dir), or resume it with {command}")
    saved = meta.get("data_digest")
    if saved and data_digest and saved != data_digest:  # first: it explains a changed vocabulary, said below
        return (f"the training data has changed since this run started (its fingerprint was {saved[:12]}, it is "
                f"{data_digest[:12]} now); resume with the same training files, or start a new run (without "
                "--resume; in Python, fit(resume=False))")
    then = meta.get("train_config") or {}
    if then:  # a field an earlier version did not write (warmup_steps) had its default then
        from rnnkit.train.config import TrainConfig

        then = {**{k: v for k, v in _defaults(TrainConfig).items() if k not in then}, **then}
    moved = [k for k in FIXED_ON_RESUME if k in then and k in train_config and then[k] != train_config[k]]
    differ = [_changed_option(k, then[k], train_config[k])
              + (" (each optimizer has its own default lr)" if k == "lr" and "optimizer" in moved else "")
              for k in moved]
    then = meta.get("run_options") or {}  # absent from checkpoints written before it was kept
    if then:  # options an earlier version did not record: their value then (no vectors files read, ...)
        then = {**{k: v for k, v in ABSENT_RUN_OPTIONS.items() if k not in then}, **then}
    now = run_options or {}
    task = meta.get("task") or {}
    implied = implied_changes(task, task_meta)  # the validation data another scheme encodes
    if VALID_FILE in then and VALID_FILE in now and then[VALID_FILE] != now[VALID_FILE]:
        implied.discard("validation data")  # another --valid file too: a change of its own, said beside the cause
    differ += [_run_option_change(k, then, now) for k in sorted(now, key=lambda k: k not in VOCABULARY_OPTIONS)
               if k in then and then[k] != now[k] and k != VALID_FILE and k not in implied]  # vocabulary options first
    changed = task_changes(task, task_meta, implied)  # a discarded "validation data" is no field: the same skips
    if differ:  # first, beside any change of the task's description (another --valid changes a classifier's vocabulary)
        return (f"this run was started with other training options ({'; '.join(differ + changed)}); resume with the "
                "same ones (only --epochs, --max-steps and --patience, TrainConfig's epochs, max_steps and patience, "
                "the checkpoint, log and progress options and those of the final test may change), or start a new "
                "run (without --resume; in Python, fit(resume=False))")
    if changed:
        return (f"this run was started with other data or options ({'; '.join(changed)}); resume with the same "
                "files and options, or start a new run (without --resume; in Python, fit(resume=False))")
    return None


# run options that select the vocabulary (rnnkit.cli.pretrained.vocabulary_options), named before the validation
# data they encode differently; and the fingerprint of the --valid file's bytes, which tells the two apart
VOCABULARY_OPTIONS = ("--min-count", "--max-vocab")
VALID_FILE = "validation file"


def _run_option_change(key: str, then: dict[str, Any], now: dict[str, Any]) -> str:
    """A run option's change; the validation data's encoding, when its --valid file is the same bytes, as that:
    its fingerprint changed with an option named beside it (the vocabulary's, another --tag-column), not the
    file (without a --valid file, a classifier's held-out part may be another: said as other validation data)."""
    if key == "validation data" and then.get(VALID_FILE) is not None and then[VALID_FILE] == now.get(VALID_FILE):
        return "validation data encoded differently (the same --valid file)"
    if isinstance(then[key], bool) and isinstance(now[key], bool):  # a flag (--header): given or not
        return f"{key} {'given' if then[key] else 'not given'} then, {'given' if now[key] else 'not given'} now"
    return f"{key} {_option_value(then[key])} then, {_option_value(now[key])} now"


def _changed_option(field: str, then: Any, now: Any) -> str:
    """A TrainConfig field that differs on resume, named by its command-line option and its field
    (``--lr (TrainConfig.lr)``, as :func:`_named` names a model config's)."""
    if field == "optimizer_options":  # a library caller's TrainConfig field: no command-line option
        return f"TrainConfig.optimizer_options {_option_value(then)} then, {_option_value(now)} now"
    if field == "frozen":  # set by --freeze-embeddings (TrainConfig.frozen for a library caller)
        # embedding.weight, or train seq2seq's src_/tgt_embedding.weight: given on one side only
        tables = all(n.endswith("embedding.weight") for n in [*then, *now])
        return (f"--freeze-embeddings (TrainConfig.frozen) {'given' if then else 'not given'} then, "
                f"{'given' if now else 'not given'} now" if tables and not (then and now)
                else f"TrainConfig.frozen {_option_value(then)} then, {_option_value(now)} now")
    return f"--{field.replace('_', '-')} (TrainConfig.{field}) {_option_value(then)} then, {_option_value(now)} now"


def resume_message(state: Any, config: Any, checkpoint: Path) -> str:
    """What a resumed run says: where it goes on, or that it has nothing left to train (its
    ``stopped_early`` already judged under this run's ``patience``)."""
    st, cfg = state, config
    done = f"the run in {checkpoint.parent} "
    if st.stopped_early:
        return (done + f"had stopped early after epoch {st.epoch} ({st.bad_epochs} epochs without improvement); "
                "nothing to train: give a larger patience (--patience) to go on")
    # a cosine or linear schedule has run its course over the run's steps, which a resume may not stretch
    ended = (f"its {cfg.schedule} schedule (--schedule) has ended (a new run, not resumed, trains longer)"
             if getattr(cfg, "schedule", None) in ("cosine", "linear") else None)
    if st.epoch >= cfg.epochs:
        epochs = "its 1 epoch" if st.epoch == 1 else f"its {st.epoch} epochs"
        more = ended or f"give epochs (--epochs) above {st.epoch} to go on"
        return done + f"had finished {epochs}; nothing to train: {more}"
    if cfg.max_steps is not None and st.step >= cfg.max_steps:
        more = ended or "give a larger max_steps (--max-steps) to go on"
        return done + f"has taken its {st.step} steps; nothing to train: {more}"
    return f"resumed from {checkpoint} at epoch {st.epoch + 1}, step {st.step}"


def threads_note(then: int, now: int) -> str:
    """What a run resumed with another BLAS thread count says: OpenBLAS splits a long float32 sum
    differently over another number of threads, so the run goes on at rounding-level differences
    from the uninterrupted one (the same seed is bit for bit only with the same count)."""
    return (f"note: this run trained with {then} BLAS thread(s) and goes on with {now}, so its float32 sums "
            f"round differently: it will not be bit for bit the uninterrupted run; for that, resume with "
            f"'rnnkit --threads {then} train ...'")
