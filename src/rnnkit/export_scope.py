"""What ``rnnkit export --torch`` and ``--onnx`` build, and the one line that refuses the rest.

Both build language models with the full or adaptive softmax (BPE-level ones too, their SentencePiece model
written beside the export: :mod:`rnnkit.export_bpe`), classifiers, and softmax taggers over words alone.
``--onnx`` also builds what torch has no module for: the class-based softmax, CRF taggers and segmenters
(:mod:`rnnkit.export_onnx_crf`), taggers with other inputs than words (character features, bigrams, feature
columns: :mod:`rnnkit.export_onnx_extras`), residual stacks (``--residual``: an ``Add`` between layers),
peephole LSTMs (``--peephole``: ONNX's LSTM operator has them) and layer-normalized layers (``--layer-norm``: a
``Scan``, :mod:`rnnkit.export_onnx_ln`), and translators, as two graphs (:mod:`rnnkit.export_onnx_seq2seq`),
with copy attention (``--copy``) and coverage (``--coverage``) too (:mod:`rnnkit.export_onnx_copy`).
Refused, each in one line that names why: every other kind of model; and for torch translators (whatever their
options), the class-based softmax, CRF taggers, taggers with other inputs than words, residual connections,
peepholes and layer-normalized layers.  A checkpoint rnnkit's own
loader refuses is refused with its words first (:func:`check_loadable`): so is one with a learned initial state
(``h0_l*``), which no model rnnkit trains has.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_models import CONFIG_KEYS
from rnnkit.checkpoint_task import kind_name
from rnnkit.torch_io import has_learned_init

CONFIG = {kind: CONFIG_KEYS[kind] for kind in ("lm", "classifier", "tagger")}  # the kinds --torch builds: config key

# why each target lacks a part: "torch" has no standard module for it, the ONNX export does not build it
_LACKS = {
    "--torch": {"class": "has no standard torch module (torch has the full and the adaptive softmax)",
                "tagger": "no standard torch module has",
                "kind": "has no standard torch module (recurrent language models, classifiers and taggers have)",
                "seq2seq": "decodes by beam search with attention: no standard torch module does (--onnx writes "
                           "it as two ONNX graphs)",
                "residual": "torch's RNN, LSTM and GRU modules do not have",
                "peephole": "torch has no peephole LSTM module",
                "layer_norm": "torch's RNN, LSTM and GRU modules do not have",
                "init": "torch modules do not have"},
    "--onnx": {"kind": "is not exported to ONNX (the ONNX export builds language models, classifiers, "
                       "taggers and translators)",
               "init": "the ONNX export does not build"},
}


def tagger_extras(task: dict[str, Any]) -> list[str]:
    """What a tagger has beyond a softmax over its words' recurrent states ("a CRF output layer", ...)."""
    config = task.get("tagger_config") if isinstance(task.get("tagger_config"), dict) else {}
    return [what for what, on in (("a CRF output layer", config.get("output", "crf") != "softmax"),
                                  ("character " + ("CNN " if config.get("char_encoder") == "cnn" else "") + "features",
                                   config.get("char_vocab_size")),
                                  ("character bigrams", config.get("bigram_vocab_size")),
                                  ("feature columns", config.get("feature_vocab_sizes"))) if on]


def check_supported(kind: str, task: dict[str, Any], model: dict[str, np.ndarray], path: Path | str = "the model",
                    option: str = "--torch", loaded: ckpt.Loaded | None = None) -> None:
    """ValueError (one line, starting with ``option``: "--torch" or "--onnx") naming why the model of ``path``,
    of ``kind``, is not exported so, or CheckpointError when rnnkit itself would not load it
    (:func:`check_loadable`, given ``loaded`` when read already); None when it is."""
    lacks = _LACKS[option]

    def refuse(why: str, onnx_builds: bool = False) -> ValueError:  # onnx_builds: --torch's fix is --onnx
        if onnx_builds and option == "--torch":
            return ValueError(f"{option}: {why}; export it with --onnx instead, or without either, as a model for "
                              "rnnkit's own commands")
        return ValueError(f"{option}: {why}; export it without {option}, as a model for rnnkit's own commands")

    if kind == "lm":
        config = task.get("lm_config")
        softmax = config.get("softmax", "full") if isinstance(config, dict) else "full"
        if softmax not in ("full", "adaptive") and (softmax != "class" or option == "--torch"):  # ONNX builds it
            raise refuse(f"{path} is a language model with the class-based softmax (--softmax class), which "
                         f"{lacks['class']}", onnx_builds=True)
    elif kind == "tagger":
        parts = tagger_extras(task) if option == "--torch" else []  # ONNX builds each
        if parts:
            raise refuse(f"{path} is a tagger with {' and '.join(parts)}, which {lacks['tagger']} (a softmax tagger "
                         "over words alone is exported)", onnx_builds=True)
    elif kind not in CONFIG:
        what = kind_name(kind)
        raise refuse(f"{path} is {what}, which {lacks.get(kind, lacks['kind'])}", onnx_builds=kind == "seq2seq")
    config = task.get(CONFIG[kind])
    if isinstance(config, dict) and config.get("residual") and option == "--torch":  # ONNX: an Add between layers
        raise refuse(f"{path}: its recurrent layers have residual connections (--residual), which {lacks['residual']}",
                     onnx_builds=True)
    if isinstance(config, dict) and config.get("layer_norm") and option == "--torch":  # ONNX: a Scan over the cell
        raise ValueError(f"{option}: {path}: its recurrent layers are layer-normalized (--layer-norm), which "
                         f"{lacks['layer_norm']}; export it with --onnx instead (a Scan over the cell's steps), or "
                         "without either, as a model for rnnkit's own commands")
    if isinstance(config, dict) and config.get("peephole") and option == "--torch":  # ONNX's LSTM has peepholes
        raise ValueError(f"{option}: {path}: it is a peephole LSTM (--peephole), and {lacks['peephole']}; export it "
                         "with --onnx instead (ONNX's LSTM operator has peepholes), or without either, as a model for "
                         "rnnkit's own commands")
    check_loadable(kind, path, loaded)  # first: no model rnnkit exports learns its initial state (its loader refuses)
    if has_learned_init(model):
        raise refuse(f"{path}: its recurrent layer learns its initial state, which {lacks['init']}")


def check_loadable(kind: str, path: Path | str, loaded: ckpt.Loaded | None = None) -> None:
    """CheckpointError (one line) when rnnkit's own loader of ``kind`` refuses the checkpoint ``path``: its
    configuration (e.g. ``peephole: "yes"``) or its parameter names and shapes (a peephole weight in a model
    configured without peepholes, or one missing) do not make a model.  An export builds only what rnnkit reads.
    ``loaded``: the checkpoint's ``(arrays, meta)`` as :func:`rnnkit.checkpoint.load_checkpoint` read them, when
    the caller has (the loader then checks them rather than reading the file again)."""
    if kind == "lm":
        from rnnkit.lm.io import load_lm as load
    elif kind == "classifier":
        from rnnkit.classify.task import load_classifier as load
    elif kind == "seq2seq":
        from rnnkit.seq2seq.io import load_translator as load
    else:
        from rnnkit.tagging.io import load_tagger as load
    load(path, loaded)
