"""The names of the files an export writes beside its own (``m.onnx`` -> ``m.vocab.json``, ``m.bpe.model``,
``m.step.onnx``): shared by the exports that write them and ``rnnkit info``, which looks for them
(:mod:`rnnkit.onnx_companions`), without importing the exports."""
from __future__ import annotations

import os
from pathlib import Path

VOCAB_SUFFIX = ".vocab.json"  # the vocabulary beside an ONNX graph (rnnkit.export_onnx)
BPE_SUFFIX = ".bpe.model"  # a BPE-level language model's SentencePiece model (rnnkit.export_bpe)
STEP_SUFFIX = ".step.onnx"  # a translator's decoder step beside its encoder (rnnkit.export_onnx_seq2seq)


def beside(output: str | os.PathLike, suffix: str) -> Path:
    """The file an export writes beside its ``output``, named by ``suffix``: m.onnx -> m.vocab.json
    (``.vocab.json``), m.bpe.model, m.step.onnx."""
    output = Path(output)
    return output.with_name((output.stem if output.suffix else output.name) + suffix)
