"""A wrong-dtype error names a fix that works where the check is: a layer can be built in the array's dtype, a
function (which has no layer) has its other arrays cast alike, and a state is converted to the layer's."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.lm.adaptive_softmax import AdaptiveSoftmax
from rnnkit.lm.class_softmax import ClassSoftmax
from rnnkit.nn.attention_pool import attention_pool_forward, init_attention_pool
from rnnkit.nn.linear import linear_backward, linear_forward
from rnnkit.nn.linear_softmax import LinearCrossEntropy
from rnnkit.recurrent import GRU, LSTM


def _f64(*shape):
    return np.random.default_rng(1).standard_normal(shape)  # float64


def test_linear_forward_a_function_is_told_to_cast_its_weights_alike_not_to_build_a_layer():
    x, w, b = _f64(2, 3), _f64(4, 3).astype(np.float32), _f64(4).astype(np.float32)
    with pytest.raises(TypeError, match=r"got float64: pass x\.astype\(np\.float32\), or cast weight and bias to "
                                        r"np\.float64 alike$"):
        linear_forward(x, w, b)
    with pytest.raises(TypeError, match=r"or cast weight to np\.float64 alike$"):
        linear_forward(x, w)
    assert linear_forward(x, w.astype(np.float64), b.astype(np.float64))[0].dtype == np.float64
    assert linear_forward(x.astype(np.float32), w, b)[0].dtype == np.float32


def test_linear_cross_entropy_names_the_fix():
    x, w, b, y = _f64(5, 3), _f64(4, 3).astype(np.float32), _f64(4).astype(np.float32), np.arange(5) % 4
    with pytest.raises(TypeError, match=r"got float64: pass x\.astype\(np\.float32\), or cast weight and bias to "
                                        r"np\.float64 alike$"):
        LinearCrossEntropy().forward(x, w, b, y)
    loss, _ = LinearCrossEntropy().forward(x, w.astype(np.float64), b.astype(np.float64), y)
    assert np.isfinite(loss)


def test_attention_pool_names_the_fix():
    p = init_attention_pool(3, 2, np.random.default_rng(0))  # float32
    h, mask = _f64(4, 2, 3), np.ones((4, 2), bool)
    with pytest.raises(TypeError, match=r"got float64: pass h\.astype\(np\.float32\), or cast weight, bias and "
                                        r"context to np\.float64 alike$"):
        attention_pool_forward(h, mask, p["weight"], p["bias"], p["context"])
    with pytest.raises(TypeError, match=r"Expected bias of dtype float32 .the weight's., got float64: pass "
                                        r"bias\.astype\(np\.float32\)$"):
        attention_pool_forward(h.astype(np.float32), mask, p["weight"], p["bias"].astype(np.float64), p["context"])
    s, _, _ = attention_pool_forward(h, mask, *(p[k].astype(np.float64) for k in ("weight", "bias", "context")))
    assert s.dtype == np.float64


@pytest.mark.parametrize("cell", [GRU, LSTM])
def test_a_state_of_another_dtype_is_told_to_convert(cell):
    """x already has the layer's dtype, so a layer built in the state's would refuse x: convert the state."""
    layer = cell(3, 4, rng=np.random.default_rng(0))
    x, h0 = _f64(5, 2, 3).astype(np.float32), _f64(1, 2, 4)
    state, name = ((h0, h0), r"state\[0\]") if cell is LSTM else (h0, "state")
    with pytest.raises(TypeError, match=rf"got float64: pass {name}\.astype\(np\.float32\)$"):
        layer.forward(x, state)
    fixed = tuple(s.astype(np.float32) for s in state) if cell is LSTM else state.astype(np.float32)
    assert layer.forward(x, fixed)[0].dtype == np.float32


def test_linear_bias_and_dout_of_another_dtype_are_told_to_convert():
    """A bias or gradient has nothing to be built alike: the fix is to convert it to the weight's dtype."""
    x, w, b = _f64(2, 3).astype(np.float32), _f64(4, 3).astype(np.float32), _f64(4)
    with pytest.raises(TypeError, match=r"Expected bias of dtype float32 .the weight's., got float64: pass "
                                        r"bias\.astype\(np\.float32\)$"):
        linear_forward(x, w, b)
    y, cache = linear_forward(x, w, b.astype(np.float32))
    with pytest.raises(TypeError, match=r"Expected dout of dtype float32 .the weight's., got float64: pass "
                                        r"dout\.astype\(np\.float32\)$"):
        linear_backward(y.astype(np.float64), cache)
    assert linear_backward(y, cache)[0].dtype == np.float32
    with pytest.raises(TypeError, match=r"Expected bias of dtype float32 .the weight's., got float64: pass "
                                        r"bias\.astype\(np\.float32\)$"):
        LinearCrossEntropy().forward(x, w, b, np.arange(2))


@pytest.mark.parametrize("layer", [ClassSoftmax(np.array([0, 0, 1, 1, 1])), AdaptiveSoftmax(5, 3, [3], 1.0)])
def test_a_factored_outputs_h_or_parameter_of_another_dtype_names_the_fix(layer):
    params = (ClassSoftmax.init_params(5, 2, 3, np.random.default_rng(0)) if isinstance(layer, ClassSoftmax)
              else layer.init_params(np.random.default_rng(0)))  # float32
    h, targets = _f64(4, 3), np.array([0, 1, 2, 4])
    with pytest.raises(TypeError, match=r"Expected h of dtype float32 .the parameters'., got float64: pass "
                                        r"h\.astype\(np\.float32\), or cast the parameters to np\.float64 alike$"):
        layer.loss(params, h, targets)
    name = sorted(params)[-1]
    with pytest.raises(TypeError, match=rf"got float64: copy the values into the parameter's own array in place, "
                                        rf"params\['{name}'\]\[\.\.\.\] = values"):
        layer.loss({**params, name: params[name].astype(np.float64)}, h.astype(np.float32), targets)
    assert np.isfinite(layer.loss({k: v.astype(np.float64) for k, v in params.items()}, h, targets)[0])
