"""A wrong dtype met by a backward pass (dout, ds), a loss's target, a decoder's features, a kernel's weights or a
layer's replaced parameter names its fix, as every forward input's error does: convert it to the dtype wanted."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cells import elman
from rnnkit.nn.attention_pool import attention_pool_backward, attention_pool_forward, init_attention_pool
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.nn.mse import mse_loss
from rnnkit.recurrent import make_recurrent
from rnnkit.seq2seq.config import VectorDecoderConfig
from rnnkit.seq2seq.vector_decoder import VectorDecoder

RNG = np.random.default_rng(0)


def _fix(name: str, want: str = "float32") -> str:
    """The end of the message: the conversion, and nothing else (no layer to build, nothing to cast alike)."""
    return rf"got float64: pass {name}\.astype\(np\.{want}\)$"


def test_backward_gradients_of_another_dtype_are_told_to_convert():
    p = init_attention_pool(3, 2, RNG)  # float32
    h, mask = RNG.standard_normal((4, 2, 3)).astype(np.float32), np.ones((4, 2), bool)
    s, _, cache = attention_pool_forward(h, mask, p["weight"], p["bias"], p["context"])
    with pytest.raises(TypeError, match=_fix("ds")):
        attention_pool_backward(s.astype(np.float64), cache)
    y, cache = embedding_forward(np.array([[0, 2]]), RNG.standard_normal((3, 4)).astype(np.float32))
    with pytest.raises(TypeError, match=_fix("dout")):
        embedding_backward(y.astype(np.float64), cache)
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    y, cache = dropout_forward(x, 0.5, RNG)
    with pytest.raises(TypeError, match=_fix("dout")):
        dropout_backward(y.astype(np.float64), cache)


def test_a_target_features_weight_or_parameter_of_another_dtype_is_told_to_convert():
    with pytest.raises(TypeError, match=_fix("target")):
        mse_loss(np.zeros((3, 2), np.float32), np.zeros((3, 2)))
    decoder = VectorDecoder(VectorDecoderConfig(feature_size=3, tgt_vocab_size=5, embedding_dim=4, hidden_size=4), RNG)
    with pytest.raises(TypeError, match=r"Expected features of dtype float32 .the model's., " + _fix("features")):
        decoder.encode(np.zeros((2, 3)))
    x, h0 = np.zeros((2, 1, 3), np.float32), np.zeros((1, 4), np.float32)
    w = [np.zeros(s, np.float32) for s in ((4, 3), (4, 4), (4,), (4,))]
    with pytest.raises(TypeError, match=r"Expected w_hh of dtype float32 .x's., " + _fix("w_hh")):
        elman.forward(x, h0, w[0], w[1].astype(np.float64), *w[2:])
    layer = make_recurrent({"cell": "gru", "input_size": 3, "hidden_size": 4}, rng=RNG)
    layer.params["weight_hh_l0"] = layer.params["weight_hh_l0"].astype(np.float64)
    with pytest.raises(TypeError, match=r"got float64: copy the values into the parameter's own array in place, "
                                        r"params\['weight_hh_l0'\]\[\.\.\.\] = values"):
        layer.forward(np.zeros((5, 2, 3), np.float32))
