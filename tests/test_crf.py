"""Linear-chain CRF: log Z, gradients and Viterbi against enumeration of every tag path, finite
differences, a torch autograd oracle, and constrained decoding (BIO, IOB1, BIOES, BMES)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.crf import crf_nll, crf_nll_backward, viterbi_decode
from rnnkit.data.segmentation import tags_to_words, words_to_tags
from rnnkit.data.spans import spans, spans_to_tags

NAMES = ("transitions", "start_transitions", "end_transitions")


def random_problem(rng, T=5, B=4, K=3, lengths=None):
    """Random float64 emissions, non-zero parameters (never tiny), gold tags and lengths."""
    E = rng.normal(0.0, 1.5, (T, B, K))
    params = {
        "transitions": rng.uniform(0.2, 1.5, (K, K)) * rng.choice([-1.0, 1.0], (K, K)),
        "start_transitions": rng.uniform(0.2, 1.5, K) * rng.choice([-1.0, 1.0], K),
        "end_transitions": rng.uniform(0.2, 1.5, K) * rng.choice([-1.0, 1.0], K),
    }
    if lengths is None:
        lengths = rng.integers(1, T + 1, B)
        lengths[0] = T
    tags = rng.integers(0, K, (T, B))
    return E, params, np.asarray(lengths), tags


def path_score(E, params, b, path):
    """score(path) for sequence b, straight from the definition (-inf if it uses a forbidden move)."""
    A = params["transitions"]
    total = params["start_transitions"][path[0]] + params["end_transitions"][path[-1]]
    for t, j in enumerate(path):
        total += E[t, b, j]
        if t > 0:
            total += A[path[t - 1], j]
    return total


def masked(params, allowed):
    """Parameters with forbidden entries set to -inf, for the enumeration oracles."""
    ok, ok_start, ok_end = allowed
    return {
        "transitions": np.where(ok, params["transitions"], -np.inf),
        "start_transitions": np.where(ok_start, params["start_transitions"], -np.inf),
        "end_transitions": np.where(ok_end, params["end_transitions"], -np.inf),
    }


def brute_force(E, params, lengths, tags, allowed=None):
    """Per sequence: log Z and the gradient of (log Z - score(gold)) as expected minus gold counts."""
    T, B, K = E.shape
    scored = params if allowed is None else masked(params, allowed)
    log_z = np.zeros(B)
    dE = np.zeros_like(E)
    grads = {name: np.zeros((B,) + params[name].shape) for name in NAMES}
    for b in range(B):
        L = int(lengths[b])
        paths = list(itertools.product(range(K), repeat=L))
        scores = np.array([path_score(E, scored, b, p) for p in paths])
        top = scores.max()
        log_z[b] = top + np.log(np.exp(scores - top).sum())
        probs = np.exp(scores - log_z[b])
        gold = tuple(tags[:L, b])
        for path, weight in zip(paths, probs):
            for w, sign in ((weight, 1.0), (1.0 if path == gold else 0.0, -1.0)):
                if w == 0.0:
                    continue
                for t, j in enumerate(path):
                    dE[t, b, j] += sign * w
                    if t > 0:
                        grads["transitions"][b, path[t - 1], j] += sign * w
                grads["start_transitions"][b, path[0]] += sign * w
                grads["end_transitions"][b, path[-1]] += sign * w
    return log_z, dE, grads


def assert_close(name, got, want, tol=1e-8):
    diff = np.max(np.abs(np.asarray(got) - np.asarray(want))) if np.size(want) else 0.0
    assert diff < tol, f"{name}: max abs difference {diff:.3e} (tolerance {tol:.0e})"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_z_and_gradient_equal_enumeration(seed):
    rng = np.random.default_rng(seed)
    E, params, lengths, tags = random_problem(rng, T=5, B=4, K=3)
    dloss = rng.normal(size=4)
    loss, cache = crf_nll(E, tags, lengths, params, reduction="none")
    log_z, dE_ref, grads_ref = brute_force(E, params, lengths, tags)
    gold = np.array([path_score(E, params, b, tags[: lengths[b], b]) for b in range(4)])
    assert_close("log Z", loss + gold, log_z)
    dE, grads = crf_nll_backward(dloss, cache)
    assert_close("demissions", dE, dE_ref * dloss[None, :, None])
    for name in NAMES:
        assert_close(name, grads[name], np.tensordot(dloss, grads_ref[name], axes=1))


def test_constrained_log_z_and_gradient_equal_enumeration_over_legal_paths():
    rng = np.random.default_rng(7)
    tagset = ["O", "B-X", "I-X"]
    allowed = allowed_transitions(tagset, "bio")
    E, params, lengths, _ = random_problem(rng, T=5, B=4, K=3)
    tags = np.zeros((5, 4), dtype=np.int64)  # gold: a legal "B-X I-X ..." path where it fits
    tags[1, :] = 1
    tags[2, :] = 2
    loss, cache = crf_nll(E, tags, lengths, params, reduction="sum", allowed=allowed)
    log_z, dE_ref, grads_ref = brute_force(E, params, lengths, tags, allowed)
    gold = np.array([path_score(E, params, b, tags[: lengths[b], b]) for b in range(4)])
    assert_close("constrained log Z", loss + gold.sum(), log_z.sum())
    dloss = rng.normal()
    dE, grads = crf_nll_backward(dloss, cache)
    assert_close("demissions", dE, dE_ref * dloss)
    for name in NAMES:
        assert_close(name, grads[name], grads_ref[name].sum(axis=0) * dloss)
    assert grads["transitions"][0, 2] == 0.0, "forbidden O -> I-X must get no gradient"


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("constrained", [False, True])
def test_finite_differences(reduction, constrained):
    rng = np.random.default_rng(11)
    T, B, K = 6, 3, 3
    E, params, _, tags = random_problem(rng, T=T, B=B, K=K, lengths=[6, 4, 2])
    lengths = np.array([6, 4, 2])
    allowed = None
    if constrained:
        allowed = allowed_transitions(["B", "E", "S"], "bmes")  # K = 3; legal gold below
        tags = np.array([[0, 1, 2, 0, 1, 2], [2, 0, 1, 2, 2, 2], [0, 1, 0, 0, 0, 0]]).T
    up = rng.normal(size=B) if reduction == "none" else np.array(rng.normal())

    def objective(E_, params_):
        loss, _ = crf_nll(E_, tags, lengths, params_, reduction=reduction, allowed=allowed)
        return float(np.sum(loss * up))

    _, cache = crf_nll(E, tags, lengths, params, reduction=reduction, allowed=allowed)
    dE, grads = crf_nll_backward(up, cache)
    h = 1e-6
    arrays = {"emissions": E, **params}
    analytic = {"emissions": dE, **grads}
    for name, array in arrays.items():
        numeric = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            saved = array[idx]
            array[idx] = saved + h
            plus = objective(E, params)
            array[idx] = saved - h
            minus = objective(E, params)
            array[idx] = saved
            numeric[idx] = (plus - minus) / (2 * h)
        if constrained and name != "emissions":
            ok = {"transitions": allowed[0], "start_transitions": allowed[1], "end_transitions": allowed[2]}[name]
            assert np.all(analytic[name][~ok] == 0.0), f"{name}: forbidden entries got a gradient"
        assert_close(name, analytic[name], numeric, tol=1e-6)


def torch_nll_each(torch, E, params, lengths, tags):
    """The forward algorithm written plainly in torch, one sequence at a time: (B,) losses log Z - score(gold)."""
    losses = []
    for b in range(E.shape[1]):
        L = int(lengths[b])
        alpha = params["start_transitions"] + E[0, b]
        gold = params["start_transitions"][tags[0, b]] + E[0, b, tags[0, b]]
        for t in range(1, L):
            alpha = torch.logsumexp(alpha[:, None] + params["transitions"], dim=0) + E[t, b]
            gold = gold + params["transitions"][tags[t - 1, b], tags[t, b]] + E[t, b, tags[t, b]]
        log_z = torch.logsumexp(alpha + params["end_transitions"], dim=0)
        gold = gold + params["end_transitions"][tags[L - 1, b]]
        losses.append(log_z - gold)
    return torch.stack(losses)


def torch_nll(torch, E, params, lengths, tags):
    """The torch forward algorithm summed over the batch (reduction="sum")."""
    return torch_nll_each(torch, E, params, lengths, tags).sum()


def legal_tags(rng, allowed, lengths, T):
    """Random (T, B) gold tags, each sequence a legal path under ``allowed`` (padding: tag 0)."""
    ok, ok_start, ok_end = allowed
    tags = np.zeros((T, len(lengths)), dtype=np.int64)
    for b, L in enumerate(lengths):
        prev = None
        for t in range(L):
            choice = ok_start.copy() if prev is None else ok[prev].copy()
            if t == L - 1:
                choice &= ok_end
            prev = tags[t, b] = rng.choice(np.flatnonzero(choice))
    return tags


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bmes"])
def test_parity_with_torch_autograd(reduction, constrained):
    """Loss and every gradient against torch autograd, each reduction with a random upstream gradient;
    constrained: forbidden moves are -inf in the torch reference (legal gold paths, BMES start/end rules)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    E, params, lengths, tags = random_problem(rng, T=7, B=5, K=4)
    up = rng.normal(size=5) if reduction == "none" else rng.normal()
    allowed = None
    if constrained:
        allowed = allowed_transitions(["B", "M", "E", "S"], "bmes")
        tags = legal_tags(rng, allowed, lengths, 7)
    loss, cache = crf_nll(E, tags, lengths, params, reduction=reduction, allowed=allowed)
    if constrained:  # the rules bite: Z over legal paths only is smaller for every sequence
        free = crf_nll(E, tags, lengths, params, reduction="none")[0]
        assert np.all(crf_nll(E, tags, lengths, params, reduction="none", allowed=allowed)[0] < free - 1e-3)
    dE, grads = crf_nll_backward(up, cache)
    tE = torch.tensor(E, requires_grad=True)
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    scored = tparams
    if constrained:
        scored = {k: torch.where(torch.from_numpy(ok), tparams[k], -torch.inf)
                  for k, ok in zip(NAMES, allowed)}
    each = torch_nll_each(torch, tE, scored, lengths, tags)
    tloss = {"sum": each.sum(), "mean": each.mean(), "none": each}[reduction]
    (tloss * torch.as_tensor(up, dtype=torch.float64)).sum().backward()
    assert_close("loss", loss, tloss.detach().numpy(), tol=1e-10)
    assert_close("demissions", dE, tE.grad.numpy(), tol=1e-10)
    for name in NAMES:
        assert_close(name, grads[name], tparams[name].grad.numpy(), tol=1e-10)
        assert np.abs(grads[name]).max() > 1e-3, f"{name}: no gradient reached it"
    if constrained:
        assert np.all(grads["transitions"][~allowed[0]] == 0.0), "forbidden moves must get no gradient"
        assert np.all(tparams["transitions"].grad.numpy()[~allowed[0]] == 0.0)


def best_by_enumeration(E, params, b, L, legal=None):
    K = E.shape[2]
    best, best_score = None, -np.inf
    for path in itertools.product(range(K), repeat=L):
        if legal is not None and not is_allowed(path, *legal):
            continue
        score = path_score(E, params, b, path)
        if score > best_score:
            best, best_score = list(path), score
    return best, best_score


@pytest.mark.parametrize("scheme,tagset", [(None, ["a", "b", "c"]), ("bio", ["O", "B-X", "I-X"]),
                                           ("bmes", ["B", "M", "E", "S"]), ("iob1", ["O", "I-X", "B-X"])])
def test_viterbi_equals_enumeration(scheme, tagset):
    rng = np.random.default_rng(5)
    K = len(tagset)
    allowed = None if scheme is None else allowed_transitions(tagset, scheme)
    for _ in range(3):
        E, params, lengths, _ = random_problem(rng, T=5, B=4, K=K)
        paths, scores = viterbi_decode(E, lengths, params, allowed=allowed)
        for b in range(4):
            best, best_score = best_by_enumeration(E, params, b, int(lengths[b]), allowed)
            assert paths[b] == best, f"sequence {b}: Viterbi {paths[b]} != enumeration {best}"
            assert_close(f"score of sequence {b}", scores[b], best_score)


def test_bare_matrix_constraint_forbids_only_transitions():
    rng = np.random.default_rng(9)
    E, params, lengths, _ = random_problem(rng, T=5, B=3, K=3)
    ok = np.ones((3, 3), dtype=bool)
    ok[:, 0] = False  # tag 0 may only come first
    paths, _ = viterbi_decode(E, lengths, params, allowed=ok)
    for b, path in enumerate(paths):
        assert 0 not in path[1:], f"sequence {b}: {path} puts tag 0 after the first step"
        legal = (ok, np.ones(3, bool), np.ones(3, bool))
        assert path == best_by_enumeration(E, params, b, int(lengths[b]), legal)[0]


def well_formed(tags, scheme):
    """Independent definition: the sequence is what its own spans (words) encode to."""
    if scheme == "bmes":
        chars = ["x"] * len(tags)
        return words_to_tags(tags_to_words(chars, tags))[1] == list(tags)
    name = "iob2" if scheme == "bio" else scheme
    return spans_to_tags(spans(tags, name), len(tags), name) == list(tags)


TAGSETS = {
    "bio": ["O", "B-X", "I-X", "B-Y", "I-Y"],
    "iob1": ["O", "I-X", "B-X", "I-Y", "B-Y"],
    "bioes": ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "E-Y", "S-Y", "I-Y"],
    "bmes": ["B", "M", "E", "S"],
}


@pytest.mark.parametrize("scheme", sorted(TAGSETS))
def test_constraints_accept_exactly_well_formed_sequences(scheme):
    tagset = TAGSETS[scheme]
    legal = allowed_transitions(tagset, scheme)
    length_limit = 3 if len(tagset) > 5 else 4
    for L in range(1, length_limit + 1):
        for path in itertools.product(range(len(tagset)), repeat=L):
            tags = [tagset[i] for i in path]
            assert is_allowed(path, *legal) == well_formed(tags, scheme), f"{scheme}: {tags}"


def test_constraint_rules_spelled_out():
    ok, start, end = allowed_transitions(["B", "M", "E", "S"], "bmes")
    assert start.tolist() == [True, False, False, True]
    assert end.tolist() == [False, False, True, True]
    assert ok[0, 1] and ok[1, 2] and ok[2, 3] and ok[3, 0]
    assert not ok[3, 1] and not ok[2, 2] and not ok[0, 0]
    ok, start, _ = allowed_transitions(["O", "B-PER", "I-PER", "I-LOC"], "bio")
    assert ok[1, 2] and ok[2, 2] and not ok[0, 2] and not ok[1, 3] and not start[2]
    ok, _, _ = allowed_transitions(["B-NN", "E-NN", "E-VV"], "bmes")
    assert ok[0, 1] and not ok[0, 2]


@settings(max_examples=60, deadline=None)
@given(scheme=st.sampled_from(sorted(TAGSETS)), seed=st.integers(0, 2**32 - 1),
       T=st.integers(1, 9), B=st.integers(1, 4), scale=st.floats(0.1, 20.0))
def test_constrained_decoding_is_always_legal(scheme, seed, T, B, scale):
    rng = np.random.default_rng(seed)
    tagset = TAGSETS[scheme]
    K = len(tagset)
    E = rng.normal(0.0, scale, (T, B, K)).astype(np.float32)
    params = {name: rng.normal(0.0, scale, shape).astype(np.float32)
              for name, shape in zip(NAMES, [(K, K), (K,), (K,)])}
    lengths = rng.integers(1, T + 1, B)
    legal = allowed_transitions(tagset, scheme)
    paths, scores = viterbi_decode(E, lengths, params, allowed=legal)
    for b, path in enumerate(paths):
        assert len(path) == lengths[b]
        assert well_formed([tagset[i] for i in path], scheme), f"{scheme}: illegal {path}"
    assert np.all(np.isfinite(scores))


def test_bad_arguments_raise_clear_errors():
    rng = np.random.default_rng(0)
    E, params, lengths, tags = random_problem(rng, T=4, B=2, K=3)
    with pytest.raises(ValueError, match=r"emissions of shape \(T, B, K\)"):
        crf_nll(E[0], tags, lengths, params)
    with pytest.raises(TypeError, match="dtype"):
        crf_nll(E.astype(np.float32), tags, lengths, params)
    with pytest.raises(ValueError, match="transitions.*shape"):
        crf_nll(E, tags, lengths, {**params, "transitions": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"tags .*\(T, B\)"):
        crf_nll(E, tags[:2], lengths, params)
    with pytest.raises(ValueError, match=r"\[0, K\)"):
        crf_nll(E, np.full((4, 2), 3), lengths, params)
    with pytest.raises(ValueError, match="reduction"):
        crf_nll(E, tags, lengths, params, reduction="avg")
    with pytest.raises(ValueError, match="length between 1 and T"):
        crf_nll(E, tags, np.array([5, 1]), params)
    legal = allowed_transitions(["O", "B-X", "I-X"], "bio")
    with pytest.raises(ValueError, match="forbidden path in sequence 0"):
        crf_nll(E, np.full((4, 2), 2), None, params, allowed=legal)
    with pytest.raises(ValueError, match="scheme"):
        allowed_transitions(["O"], "bilou")
    with pytest.raises(ValueError, match="BMES tag"):
        allowed_transitions(["B", "X"], "bmes")
    nothing = (np.zeros((3, 3), bool), np.zeros(3, bool), np.zeros(3, bool))
    with pytest.raises(ValueError, match="no"):
        viterbi_decode(E, lengths, params, allowed=nothing)


def test_float32_runs_and_padding_is_ignored():
    rng = np.random.default_rng(4)
    E, params, lengths, tags = random_problem(rng, T=6, B=3, K=3, lengths=[6, 3, 1])
    E32 = E.astype(np.float32)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    loss64, _ = crf_nll(E, tags, lengths, params, reduction="none")
    loss32, cache = crf_nll(E32, tags, lengths, p32, reduction="none")
    assert loss32.dtype == np.float32
    assert_close("float32 loss", loss32, loss64, tol=1e-4)
    # garbage at padded steps must change neither the loss nor the decoded paths
    E_junk = E.copy()
    E_junk[3:, 1] = 1e3 * rng.normal(size=(3, 3))
    tags_junk = tags.copy()
    tags_junk[1:, 2] = -1
    loss_junk, _ = crf_nll(E_junk, tags_junk, lengths, params, reduction="none")
    assert_close("loss with junk padding", loss_junk, loss64)
    assert viterbi_decode(E_junk, lengths, params)[0] == viterbi_decode(E, lengths, params)[0]
    dE, _ = crf_nll_backward(rng.normal(size=3).astype(np.float32), cache)
    assert np.all(dE[3:, 1] == 0.0) and np.all(dE[1:, 2] == 0.0), "padded steps must get zero gradient"
    up = rng.normal(size=3)
    clean = crf_nll_backward(up, crf_nll(E, tags, lengths, params, reduction="none")[1])
    with np.errstate(all="raise"):
        junk = crf_nll_backward(up, crf_nll(E_junk, tags_junk, lengths, params, reduction="none")[1])
    assert_close("demissions with junk padding", junk[0], clean[0])
    for name in NAMES:
        assert_close(f"{name} with junk padding", junk[1][name], clean[1][name])
    for value in (np.nan, np.inf, -np.inf):  # not even a NaN at a padded step counts (NaN * 0 used to)
        E_bad = E.copy()
        E_bad[3:, 1] = value
        E_bad[1:, 2] = value
        bad = crf_nll_backward(up, crf_nll(E_bad, tags_junk, lengths, params, reduction="none")[1])
        assert_close(f"loss with {value} padding", crf_nll(E_bad, tags, lengths, params, reduction="none")[0], loss64)
        assert_close(f"demissions with {value} padding", bad[0], clean[0])
        for name in NAMES:
            assert_close(f"{name} with {value} padding", bad[1][name], clean[1][name])
