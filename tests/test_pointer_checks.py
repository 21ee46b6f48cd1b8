"""Pointer network (rnnkit.seq2seq.pointer): its inputs are checked once, at its public entry, not again by the
LSTM encoder and decoder it runs; what those checks caught is still caught."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import rnnkit.packing
import rnnkit.recurrent_base
import rnnkit.seq2seq.pointer as pointer
from rnnkit.errors import NonFiniteError
from rnnkit.seq2seq.pointer import PointerNet


def _problem():
    rng = np.random.default_rng(0)
    model = PointerNet(2, 4, 3, dtype=np.float64, rng=rng)
    lengths = np.array([5, 3, 5])
    x = rng.normal(size=(5, 3, 2))
    targets = np.array([[0, 2, 4], [1, 0, 3], [2, 1, 0], [3, 0, 0]])
    return model, x, lengths, targets, np.array([4, 2, 3])


def _counting(monkeypatch):
    """Counts of the length checks by the name they check, and of the checks of x (check_input), wherever made."""
    calls: Counter = Counter()
    resolve, check_input = rnnkit.packing.resolve_lengths, rnnkit.recurrent_base.check_input

    def counted_resolve(T, B, lengths=None, mask=None, name="lengths"):
        calls[name] += 1
        return resolve(T, B, lengths, mask, name=name)

    def counted_input(*args):
        calls["x"] += 1
        return check_input(*args)

    for module in (rnnkit.packing, pointer):
        monkeypatch.setattr(module, "resolve_lengths", counted_resolve)
    for module in (rnnkit.recurrent_base, pointer):
        monkeypatch.setattr(module, "check_input", counted_input, raising=False)
    return calls


def test_lengths_and_x_are_checked_once_per_call(monkeypatch):
    model, x, lengths, targets, tl = _problem()
    loss, cache = model.forward(x, lengths, targets, tl)  # the unchecked runs give what the checked ones did
    calls = _counting(monkeypatch)
    assert model.forward(x, lengths, targets, tl)[0] == loss
    assert calls == {"lengths": 1, "target_lengths": 1, "x": 1}
    calls.clear()
    model.beam_search(x, lengths, 3)  # 5 decoder steps: none checks again
    assert calls == {"lengths": 1, "x": 1}
    calls.clear()
    model.forward(x, None, targets[:2], None)  # every length T: the layers take None, as they resolve it
    assert calls == {"lengths": 1, "target_lengths": 1, "x": 1}


def test_what_the_layers_checked_is_still_refused_at_the_entry():
    model, x, lengths, targets, tl = _problem()
    bad = x.copy()
    bad[4, 1, 0] = np.nan  # in sequence 1's padding: the encoder's check of x refused it there too
    for call in (lambda: model.forward(bad, lengths, targets, tl), lambda: model.greedy(bad, lengths)):
        with pytest.raises(NonFiniteError, match="^Expected finite values in x, got NaN or inf"):
            call()
    with pytest.raises(ValueError, match=r"^Expected x with T >= 1 and B >= 1, got \(5, 0, 2\)"):
        model.greedy(x[:, :0], lengths[:0])
