"""rnnkit export --onnx of layer-normalized recurrent layers (--layer-norm: a Scan over one step of the cell,
:mod:`rnnkit.export_onnx_ln`): projections far from mean 0 normalized to rnnkit's digits.  Language models,
classifiers, softmax and CRF taggers of every cell, float16 too, are in the parametrizations of
test_export_onnx.py and test_export_onnx_crf.py, beside the models without layer norm."""
from __future__ import annotations

import numpy as np
import pytest
from test_export_onnx import _diff, _export_onnx, _lines, _train

from rnnkit import checkpoint as ckpt

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_projections_far_from_zero_mean_are_normalized_to_rnnkits_digits(tmp_path, capsys, cell):
    # every row of W_ih shifted by 40 and the embeddings positive: x_t W_ih^T has |mean| >> std over its units.
    # rnnkit projects by centred weights and does not take the mean again; ONNX's LayerNormalization (onnxruntime:
    # var = mean(a^2) - mean(a)^2) gave 8e-6 here, uncentred weights 2e-5: within a few float32 ulps of log P ~ 3
    from rnnkit.lm.io import load_lm

    text = tmp_path / "text.txt"
    text.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    trained = _train(tmp_path, capsys, "lm", text, "--bptt", "6", "--batch-size", "4", "--layer-norm", "--cell", cell,
                     "--layers", "1", "--embed", "16", "--hidden", "8")
    arrays, meta = ckpt.load_checkpoint(trained)
    arrays["model/rnn.weight_ih_l0"] = arrays["model/rnn.weight_ih_l0"] + np.float32(40)
    arrays["model/embedding.weight"] = np.abs(arrays["model/embedding.weight"])
    ckpt.save_checkpoint(tmp_path / "far.safetensors", arrays, meta)
    session, _, _ = _export_onnx(capsys, tmp_path / "far.safetensors", tmp_path / "far.onnx")
    lm, vocab, _, _ = load_lm(tmp_path / "far.safetensors")
    ids = np.random.default_rng(3).integers(0, len(vocab), (6, 3))
    zeros = np.zeros((1, 3, 8), np.float32)
    got = session.run(["log_probs"], {"ids": ids, "h_0": zeros, **({"c_0": zeros} if cell == "lstm" else {})})[0]
    want, _ = lm.step_log_probs(ids, None)
    assert _diff("far from zero mean, log_probs", got[-1], want) <= 2e-6
