"""crf_marginals and crf_nbest against brute-force enumeration of every tag path, with and without
constraints, on random scores and lengths with garbage in the padding."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.crf import crf_marginals, viterbi_decode
from rnnkit.crf_nbest import FEW, _select, _top, crf_nbest

BIO = ["O", "B-X", "I-X", "B-Y", "I-Y"]


def _problem(seed, K=3, T=5, B=3, scale=1.5):
    rng = np.random.default_rng(seed)
    E = rng.normal(0, scale, (T, B, K))  # (T, B, K) float64
    lengths = np.array([T] + [int(x) for x in rng.integers(1, T + 1, B - 1)])
    for b in range(B):
        E[lengths[b]:, b] = np.nan  # padding may hold anything
    params = {"transitions": rng.normal(0, scale, (K, K)), "start_transitions": rng.normal(0, scale, K),
              "end_transitions": rng.normal(0, scale, K)}
    return E, lengths, params


def _paths(E, b, L, params, allowed):
    """Every legal path of sequence b with its probability, by enumeration: {path: p}."""
    K = E.shape[2]
    A, s, e = params["transitions"], params["start_transitions"], params["end_transitions"]
    scores = {}
    for path in itertools.product(range(K), repeat=L):
        if allowed is not None and not is_allowed(path, *allowed):
            continue
        score = s[path[0]] + e[path[-1]] + sum(E[t, b, k] for t, k in enumerate(path))
        scores[path] = score + sum(A[i, j] for i, j in zip(path[:-1], path[1:]))
    log_z = np.logaddexp.reduce(list(scores.values()))
    return {path: np.exp(score - log_z) for path, score in scores.items()}


def _constraints(kind, K, rng):
    if kind == "none":
        return None
    if kind == "bio":
        return allowed_transitions(BIO[:K], "bio")
    ok = rng.random((K, K)) < 0.6
    ok[0, 0] = True  # tag 0 repeated is always legal: some path exists
    start = rng.random(K) < 0.6
    end = rng.random(K) < 0.6
    start[0] = end[0] = True
    return ok, start, end


@pytest.mark.parametrize("kind", ["none", "bio", "random"])
@pytest.mark.parametrize("seed", range(4))
def test_marginals_equal_the_sums_over_every_path(kind, seed):
    K = 5 if kind == "bio" else 3
    E, lengths, params = _problem(seed, K=K, T=4 if kind == "bio" else 5)
    allowed = _constraints(kind, K, np.random.default_rng(100 + seed))
    got = crf_marginals(E, lengths, params, allowed)  # (T, B, K)
    T, B, _ = E.shape
    for b in range(B):
        want = np.zeros((T, K))
        for path, p in _paths(E, b, lengths[b], params, allowed).items():
            want[np.arange(len(path)), list(path)] += p
        err = np.abs(got[:, b] - want).max()
        assert err < 1e-10, f"marginals of sequence {b}: max difference {err}"
        assert np.allclose(got[: lengths[b], b].sum(axis=1), 1.0) and not got[lengths[b]:, b].any()
        if allowed is not None:  # a tag no legal path puts at step t: exactly 0
            assert np.all(got[:, b][want == 0] == 0)


def test_marginals_in_float32_and_a_forbidden_start_at_every_length():
    E, lengths, params = _problem(7, K=5, T=6, B=4)
    allowed = allowed_transitions(BIO, "bio")
    got = crf_marginals(E.astype(np.float32), lengths, {k: v.astype(np.float32) for k, v in params.items()}, allowed)
    want = crf_marginals(E, lengths, params, allowed)
    assert got.dtype == np.float32 and np.abs(got - want).max() < 1e-5
    assert not got[0, :, [2, 4]].any()  # I-X and I-Y never first


def test_marginals_refuse_a_sequence_without_a_legal_path():
    E, lengths, params = _problem(0, K=2, T=3, B=1)
    nothing = (np.zeros((2, 2), bool), np.ones(2, bool), np.ones(2, bool))
    with pytest.raises(ValueError, match="legal tag path"):
        crf_marginals(E, lengths, params, nothing)


@pytest.mark.parametrize("kind", ["none", "bio", "random"])
@pytest.mark.parametrize("seed", range(4))
def test_nbest_are_the_best_paths_of_the_enumeration_in_order(kind, seed):
    K = 5 if kind == "bio" else 3
    E, lengths, params = _problem(seed, K=K, T=4)
    allowed = _constraints(kind, K, np.random.default_rng(200 + seed))
    n = 7
    got = crf_nbest(E, lengths, params, n, allowed)
    viterbi, _ = viterbi_decode(E, lengths, params, allowed)
    for b, found in enumerate(got):
        probs = _paths(E, b, lengths[b], params, allowed)
        ranked = sorted(probs.items(), key=lambda item: -item[1])[:n]
        assert len(found) == len(ranked), f"sequence {b}: {len(found)} paths, {len(ranked)} legal"
        assert [tuple(p) for p, _ in found] == [p for p, _ in ranked], f"sequence {b}: order"
        err = max(abs(np.exp(lp) - p) for (_, lp), (_, p) in zip(found, ranked))
        assert err < 1e-10, f"sequence {b}: probabilities differ by {err}"
        assert found[0][0] == viterbi[b]
        assert allowed is None or all(is_allowed(p, *allowed) for p, _ in found)


def test_nbest_all_paths_sum_to_one_and_n_one_is_viterbi():
    E, lengths, params = _problem(3, K=3, T=3, B=2)
    every = crf_nbest(E, lengths, params, 27)
    assert crf_nbest(E, lengths, params, 10**12) == every  # n beyond K^T: every path, not 10^12 slots of memory
    for b, found in enumerate(every):
        assert len(found) == 3 ** lengths[b] and abs(sum(np.exp(lp) for _, lp in found) - 1) < 1e-12
    one = crf_nbest(E, lengths, params, 1)
    assert [f[0][0] for f in one] == viterbi_decode(E, lengths, params)[0]
    with pytest.raises(ValueError, match="n"):
        crf_nbest(E, lengths, params, 0)


def test_nbest_in_chunks_of_sequences_gives_the_same_paths(monkeypatch):
    """A batch too large for the memory budget is decoded a few sequences at a time, with the same result
    (--nbest 2000 over a batch of 128 once asked for gigabytes of back-pointers)."""
    E, lengths, params = _problem(5, K=4, T=6, B=7)
    whole = crf_nbest(E, lengths, params, 5)
    monkeypatch.setattr("rnnkit.crf_nbest.CHUNK_BYTES", 8 * 4 * 5 * (6 + 4) * 2)  # two sequences a chunk
    assert crf_nbest(E, lengths, params, 5) == whole and len(whole) == 7


def test_nbest_refuses_more_back_pointers_than_allowed_for_one_sequence(monkeypatch):
    """One sequence's back-pointers (T K n int32s) are bounded: an n that would keep more than
    MAX_BACK_BYTES is refused with the largest n that fits, and that n runs."""
    E, lengths, params = _problem(6, K=4, T=6, B=2)
    monkeypatch.setattr("rnnkit.crf_nbest.MAX_BACK_BYTES", 4 * 6 * 4 * 50)  # n = 50 exactly fits
    assert len(crf_nbest(E, lengths, params, 50)[0]) == 50
    with pytest.raises(ValueError, match=r"the 51 best paths of a sequence of 6 steps over 4 tags .* at most 50 "):
        crf_nbest(E, lengths, params, 51)


@pytest.mark.parametrize("n", [1, 5, FEW - 1, FEW, FEW + 1, FEW + 9])
def test_both_selections_are_a_stable_sort_of_integer_scores(n, monkeypatch):
    """List Viterbi's selection of a step's n best (here and in hmm_nbest) takes equal scores in index order,
    -inf last, whether by passes of argmax (n <= FEW, a few rows at a time or all at once) or by argpartition
    (FEW = 0), which on its own keeps an arbitrary few of the entries tied at the cut."""
    rng = np.random.default_rng(n)
    cand = rng.integers(-3, 4, size=(3, 5, 3 * (FEW + 9))).astype(float)  # (3, 5, W): 7 values, ties everywhere
    cand[rng.random(cand.shape) < 0.2] = -np.inf
    cand[0, 0] = -np.inf  # nothing finite
    cand[0, 1, n // 2 + 1 :] = -np.inf  # fewer finite entries than n (n > 1)
    cand[0, 2, 1:] = -np.inf
    cand[0, 2, 5::7] = np.finfo(cand.dtype).min  # the lowest finite number, after -inf entries of the row
    sorted_desc = -np.sort(-cand, axis=-1)
    assert np.any((sorted_desc[..., n - 1] == sorted_desc[..., n]) & (sorted_desc[..., n] > -np.inf))  # ties cut
    strided = np.ascontiguousarray(cand.transpose(0, 2, 1)).transpose(0, 2, 1)  # as crf_nbest's candidates
    single = np.where(cand == np.finfo(cand.dtype).min, np.finfo(np.float32).min, cand).astype(np.float32)
    for x in (cand, strided, single, cand[0, 2], cand[1, 1]):  # and one row alone, as hmm_nbest's final
        want = np.argsort(-x, axis=-1, kind="stable")[..., :n]  # (3, 5, n)
        np.testing.assert_array_equal(_top(x, n), want)
        for few, nbytes in ((FEW, 2**21), (FEW, 1), (0, 2**21)):  # passes; one row at a time; argpartition
            monkeypatch.setattr("rnnkit.crf_nbest.FEW", few)
            monkeypatch.setattr("rnnkit.crf_nbest.SELECT_BYTES", nbytes)
            order, values = _select(x, n)
            np.testing.assert_array_equal(order, want, err_msg=f"FEW {few}, SELECT_BYTES {nbytes}")
            np.testing.assert_array_equal(values, np.take_along_axis(x, want, axis=-1))
            assert values.dtype == x.dtype


@pytest.mark.parametrize("n", [FEW - 1, FEW, FEW + 1])
def test_nbest_of_tied_scores_is_the_same_by_either_selection(n, monkeypatch):
    """Integer scores, so that many paths tie: passes of argmax and argpartition keep the same paths in the same
    order, and those are the n best of the enumeration."""
    E, lengths, params = _problem(n, K=3, T=7, B=8, scale=1.0)  # 3^7 = 2187 paths at most
    E, params = np.round(E), {name: np.round(p) for name, p in params.items()}
    allowed = _constraints("random", 3, np.random.default_rng(n))
    for constraints in (None, allowed):
        fast = crf_nbest(E, lengths, params, n, constraints)
        with monkeypatch.context() as m:
            m.setattr("rnnkit.crf_nbest.FEW", 0)
            assert crf_nbest(E, lengths, params, n, constraints) == fast
        for b, found in enumerate(fast):
            probs = _paths(E, b, lengths[b], params, constraints)
            want = sorted(probs.values(), reverse=True)[:n]
            assert len({tuple(p) for p, _ in found}) == len(found) == len(want), f"sequence {b}"
            assert all(abs(probs[tuple(p)] - np.exp(lp)) < 1e-12 for p, lp in found), f"sequence {b}"
            err = np.abs(np.exp([lp for _, lp in found]) - want).max()
            assert err < 1e-12, f"sequence {b}: not the {n} best, off by {err}"


TAGSETS = {"bio": ["O", "B-X", "I-X", "B-Y", "I-Y"], "iob1": ["O", "B-X", "I-X", "I-Y"],
           "bioes": ["O", "B-X", "I-X", "E-X", "S-X", "S-Y"]}


@pytest.mark.parametrize("constrained", [True, False])
@pytest.mark.parametrize("scheme", ["bio", "iob1", "bioes"])
def test_span_probabilities_equal_the_sums_over_every_path_that_reads_as_the_span(scheme, constrained):
    """Without constraints ill-formed paths count too, each read as rnnkit's span reader reads it."""
    from rnnkit.crf import crf_forward_backward
    from rnnkit.data.spans import spans
    from rnnkit.tagging.confidence import SPAN_SCHEME, _constrained, _SpanReader

    tags = TAGSETS[scheme]
    K = len(tags)
    E, lengths, params = _problem(11, K=K, T=4, B=3, scale=1.0)
    allowed = allowed_transitions(tags, scheme) if constrained else None
    alpha, beta, log_z = crf_forward_backward(E, lengths, params, allowed)
    A, s, e = _constrained(params, allowed)
    reader = _SpanReader(tags, scheme)
    checked = 0
    for b in range(E.shape[1]):
        L = lengths[b]
        want: dict = {}
        for path, p in _paths(E, b, L, params, allowed).items():
            for span in spans([tags[k] for k in path], SPAN_SCHEME[scheme]):
                want[span] = want.get(span, 0.0) + p
        kinds = sorted({t[2:] for t in tags if t != "O"})
        for kind in kinds:
            for a in range(L):
                for z in range(a + 1, L + 1):
                    lp = reader.log_prob(E[:L, b], A, s, e, alpha[:L, b], beta[:L, b], log_z[b], kind, a, z)
                    err = abs(np.exp(lp) - want.get((kind, a, z), 0.0))
                    assert err < 1e-10, f"span {(kind, a, z)} of sequence {b}: differs by {err}"
                    checked += want.get((kind, a, z), 0.0) > 0
    assert checked > 10
