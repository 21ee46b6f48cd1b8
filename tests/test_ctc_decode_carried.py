"""The prefix beam search carries each beam's LM term (alpha log P_lm(l) + beta |l|) in its entry; it kept them in a
dict of every prefix ever tried, hashed by the prefix (112 MB at T = 800, C = 9).  That search as it was is the
oracle here: the same beams, in the same order, with the same scores bit for bit, with and without an LM, for
narrow beams (where pruning decides) and forbidden labels."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.nn import log_softmax
from rnnkit.nn.ctc_decode import _logaddexp, prefix_beam_search


def _search_before(log_probs, beam_width, blank=0, lm=None, lm_weight=0.0, length_bonus=0.0):
    """ctc_decode.prefix_beam_search as it was, its fused terms in one dict of every prefix tried."""
    neg = -math.inf
    beams = {(): (0.0, neg)}
    fused = {(): 0.0}
    use_lm = lm is not None and lm_weight != 0
    labels = [k for k in range(log_probs.shape[1]) if k != blank]
    for row in np.asarray(log_probs, dtype=np.float64).tolist():
        nxt = {}

        def add(prefix, which, value):
            if value == neg:
                return
            entry = nxt.setdefault(prefix, [neg, neg])
            entry[which] = _logaddexp(entry[which], value)

        for prefix, (pb, pnb) in beams.items():
            total = _logaddexp(pb, pnb)
            add(prefix, 0, total + row[blank])
            last = prefix[-1] if prefix else None
            if last is not None:
                add(prefix, 1, pnb + row[last])
            lm_row = lm(prefix) if use_lm else None
            for k in labels:
                longer = prefix + (k,)
                if longer not in fused:
                    step = lm_weight * lm_row[k] if use_lm else 0.0
                    if step == neg:
                        continue
                    fused[longer] = fused[prefix] + step + length_bonus
                add(longer, 1, (pb if k == last else total) + row[k])
        ranked = sorted(nxt.items(), key=lambda item: -(_logaddexp(*item[1]) + fused[item[0]]))[:beam_width]
        beams = {prefix: (pb, pnb) for prefix, (pb, pnb) in ranked}
    return [(prefix, float(_logaddexp(pb, pnb) + fused[prefix])) for prefix, (pb, pnb) in beams.items()]


@pytest.mark.parametrize("seed", range(4))
def test_the_carried_lm_term_gives_the_beams_and_scores_of_the_dict_of_every_prefix(seed):
    rng = np.random.default_rng(seed)
    for _ in range(150):
        T, C = int(rng.integers(1, 12)), int(rng.integers(2, 6))
        blank = int(rng.integers(C))
        log_probs = log_softmax(rng.normal(size=(T, C)) * rng.choice([0.5, 2.0, 6.0]), axis=1)  # (T, C)
        if rng.random() < 0.3:
            log_probs[rng.random((T, C)) < 0.2] = -math.inf  # frames that cannot say some class
        table = rng.normal(size=(3, C)) * 2  # an LM over the prefix's length mod 3 and its last label
        if rng.random() < 0.5:
            table[rng.random((3, C)) < 0.2] = -math.inf  # labels the LM forbids

        def lm(prefix, table=table):
            return (table[len(prefix) % 3] + (prefix[-1] if prefix else 0) * 0.1).tolist()

        width = int(rng.integers(1, 10))
        for fusion in ((), (lm, 0.0, 0.0), (lm, float(rng.uniform(0, 2)), float(rng.normal()))):
            assert prefix_beam_search(log_probs, width, blank, *fusion) == _search_before(log_probs, width, blank,
                                                                                          *fusion)
