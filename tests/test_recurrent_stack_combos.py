"""The recurrent stack with its options combined (layer norm, peepholes, learned initial state, residual stacks,
both directions, dropout between layers, weight drop): every entry of every parameter, of x and of the given initial
state against float64 central differences, with random upstream gradients on the outputs and the final state and
unequal lengths; then the float32 layer on the same (rounded) numbers against the float64 one."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import as_float32, assert_every_entry, one_blas_thread, randomise  # noqa: F401 (a fixture)

from rnnkit.recurrent import make_recurrent

T, B, D, H = 5, 3, 2, 3
LENGTHS = np.array([5, 2, 4])
CASES = [
    dict(cell="lstm", layer_norm=True, peephole=True, learn_init=True, residual=True, bidirectional=True,
         dropout=0.3, weight_drop=0.3),
    dict(cell="gru", layer_norm=True, learn_init=True, residual=True, bidirectional=True, dropout=0.3,
         variational_dropout=True),
    dict(cell="rnn", nonlinearity="relu", layer_norm=True, residual=True, num_layers=3, weight_drop=0.4),
    dict(cell="lstm", peephole=True, residual=True, num_layers=3, dropout=0.2),
]


def _ids(case):
    return "-".join(str(v) if isinstance(v, str) else f"{k}={v}" for k, v in case.items())


def _run(layer, x, state, dout, dfinal, training, backward=True):
    """f = <out, dout> + <final state, dfinal> (the same masks at every call); with backward (f, out, dx, dstate0,
    grads)."""
    lstm = layer.config.cell == "lstm"
    out, final, cache = layer.forward(x, state=state, lengths=LENGTHS, training=training, rng=np.random.default_rng(5))
    finals = final if lstm else (final,)
    f = float(np.sum(out * dout)) + sum(float(np.sum(a * g)) for a, g in zip(finals, dfinal))
    if not backward:
        return f
    dx, dstate0, grads = layer.backward(dout, dfinal if lstm else dfinal[0], cache)
    return f, out, dx, dstate0, grads


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_combined_options_match_finite_differences_and_float32(case):
    case = dict(case)
    rng = np.random.default_rng(12)
    layer = make_recurrent({"input_size": D, "hidden_size": H, "num_layers": case.pop("num_layers", 2),
                            "dtype": "float64", **case}, rng)
    randomise(layer.params, rng)
    x = rng.standard_normal((T, B, D))
    lstm = layer.config.cell == "lstm"
    S = layer.config.num_layers * layer.num_directions
    given = [rng.standard_normal((S, B, H)) for _ in range(2 if lstm else 1)]
    state = None if case.get("learn_init") else (tuple(given) if lstm else given[0])
    training = bool(case.get("dropout") or case.get("weight_drop"))
    out, fin, _ = layer.forward(x, state=state, lengths=LENGTHS, training=training, rng=np.random.default_rng(5))
    dout = rng.standard_normal(out.shape)
    dfinal = tuple(rng.standard_normal((S, B, H)) for _ in range(2 if lstm else 1))
    _, out, dx, dstate0, grads = _run(layer, x, state, dout, dfinal, training)

    def f():
        return _run(layer, x, state, dout, dfinal, training, backward=False)

    arrays, analytic = {**layer.params, "x": x}, {**grads, "x": dx}
    if state is not None:  # the given initial state's gradient; a learned one is a parameter above
        d0 = dstate0 if lstm else (dstate0,)
        arrays.update({f"state0[{i}]": s for i, s in enumerate(given)})
        analytic.update({f"state0[{i}]": g for i, g in enumerate(d0)})
    assert_every_entry(f, arrays, analytic)

    layer32, x32, dout32 = as_float32(layer, x, dout)
    state32 = None if state is None else as_float32(layer, state)[1]
    _, out32, dx32, _, grads32 = _run(layer32, x32, state32, dout32, as_float32(layer, dfinal)[1], training)
    assert out32.dtype == dx32.dtype == grads32["weight_hh_l0"].dtype == np.float32
    for name, a, b in [("out", out32, out), ("dx", dx32, dx), *((k, grads32[k], grads[k]) for k in grads)]:
        err = float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b))))
        assert err < 1e-4, f"{name}: float32 differs from float64 by {err:.2e}"
