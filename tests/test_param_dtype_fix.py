"""A parameter replaced by an array of another dtype is refused with a fix that a training step then accepts: copy
the values into the parameter's own array in place.  The fix said before, converting the replacement
(``params[k] = params[k].astype(...)``), made the forward pass run and the optimizer's next step refuse, since it
updates the arrays it was built with.  Both steps are run here: the forward pass and an optimizer's step."""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit.lm.class_softmax import ClassSoftmax
from rnnkit.optim import SGD
from rnnkit.recurrent import LSTM


def _step_after(layer_loss, params: dict, name: str, new: np.ndarray, fix_in_place: bool) -> None:
    """Put ``new`` (float64) in params[name] as the refusal says, then one loss and one SGD step."""
    opt = SGD(params, lr=0.1)
    own = params[name]
    params[name] = new
    with pytest.raises(TypeError) as exc:
        layer_loss()
    said = str(exc.value)
    assert re.search(rf"copy the values into the parameter's own array in place, params\['{name}'\]\[\.\.\.\] = "
                     r"values \(cast to np\.float32", said) and ".astype" not in said, said
    if fix_in_place:
        params[name] = own  # the layer's own array, the values copied in
        params[name][...] = new
    else:  # the fix said before
        params[name] = new.astype(np.float32)
    grads = layer_loss()
    opt.step(grads)
    assert np.allclose(own, new - 0.1 * grads[name], atol=1e-5)


@pytest.mark.parametrize("fix_in_place", [True, False])
def test_a_recurrent_layers_replaced_parameter(fix_in_place):
    rng = np.random.default_rng(0)
    layer = LSTM(3, 4, rng=rng)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)

    def loss():
        out, _, cache = layer.forward(x)
        return layer.backward(np.ones_like(out), None, cache)[2]

    new = rng.standard_normal(layer.params["weight_hh_l0"].shape)  # float64, as loaded from elsewhere
    if fix_in_place:
        _step_after(loss, layer.params, "weight_hh_l0", new, True)
    else:
        with pytest.raises(ValueError, match="to be the array this optimizer was built with"):
            _step_after(loss, layer.params, "weight_hh_l0", new, False)


def test_a_class_softmaxs_replaced_parameter():
    rng = np.random.default_rng(0)
    layer = ClassSoftmax(np.array([0, 0, 1, 1, 1]))
    params = ClassSoftmax.init_params(5, 2, 3, rng)  # float32
    h, targets = rng.standard_normal((4, 3)).astype(np.float32), np.array([0, 1, 2, 4])

    def loss():
        value, cache = layer.loss(params, h, targets)
        return layer.loss_backward(params, 1.0, cache)[1]

    name = sorted(params)[-1]
    _step_after(loss, params, name, rng.standard_normal(params[name].shape), True)
