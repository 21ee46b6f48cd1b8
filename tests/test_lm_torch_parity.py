"""Parity of the whole LanguageModel with the same model rebuilt from torch pieces under autograd.

Embedding, dropout on the embeddings, a torch.nn.RNN/LSTM/GRU per layer (dropout between layers,
W_hh * M for weight drop, by functional_call), dropout on the outputs, then the full, tied,
class-factorised or adaptive softmax and the masked summed NLL.  The dropout and weight-drop masks are
the ones rnnkit drew (read from its cache).  Random non-zero parameters (biases too), a random
initial state (zeros in one case), a random mask on the loss, a random dloss; float64: loss, final
state and every parameter gradient to rtol 1e-10, atol 1e-12.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.lm.class_softmax import frequency_classes
from rnnkit.lm.model import LanguageModel, LMConfig

torch = pytest.importorskip("torch")
F = torch.nn.functional

V, E, H, L, T, B = 13, 4, 4, 2, 6, 3
DROP = {"dropout_input": 0.3, "dropout_hidden": 0.3, "dropout_output": 0.3}
CASES = {
    "lstm-full": {"cell": "lstm"},
    "lstm-full-zero-state": {"cell": "lstm", "_state": None},
    "gru-tied-dropout": {"cell": "gru", "tie_weights": True, **DROP},
    "rnn-full-variational-weight-drop": {"cell": "rnn", **DROP, "variational": True, "weight_drop": 0.4},
    "lstm-tied-variational-weight-drop": {"cell": "lstm", "tie_weights": True, **DROP, "variational": True,
                                          "weight_drop": 0.4},
    "gru-class-dropout": {"cell": "gru", "softmax": "class", **DROP},
    "lstm-class-tied": {"cell": "lstm", "softmax": "class", "tie_weights": True},
    "rnn-class-variational": {"cell": "rnn", "softmax": "class", **DROP, "variational": True},
    "rnn-adaptive-weight-drop": {"cell": "rnn", "softmax": "adaptive", "cutoffs": (4, 8), "div_value": 2.0,
                                 "dropout_hidden": 0.3, "weight_drop": 0.3},
    "gru-adaptive-variational": {"cell": "gru", "softmax": "adaptive", "cutoffs": (5,), "div_value": 2.0, **DROP,
                                 "variational": True},
    "lstm-adaptive-dropout-weight-drop": {"cell": "lstm", "softmax": "adaptive", "cutoffs": (4, 8),
                                          "div_value": 2.0, **DROP, "weight_drop": 0.2},
}


def _assert_close(name, mine, theirs):
    np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12, err_msg=name)


def _torch_log_probs(cfg, P, h, classes):
    """log P(word | h) (N, V) of rnnkit's output layer, from torch ops on the parameter tensors P."""
    w_dec = P["embedding.weight"] if cfg.tie_weights else P.get("decoder.weight")
    if cfg.softmax == "full":
        return F.log_softmax(h @ w_dec.T + P["decoder.bias"], dim=1)
    if cfg.softmax == "class":  # log P(class | h) + log P(word | class, h)
        log_class = F.log_softmax(h @ P["decoder.class_weight"].T + P["decoder.class_bias"], dim=1)
        z = h @ w_dec.T + P["decoder.bias"]
        cols = [None] * cfg.vocab_size
        for c in range(log_class.shape[1]):
            words = np.flatnonzero(classes == c)
            lp = F.log_softmax(z[:, words], dim=1) + log_class[:, c:c + 1]
            for j, word in enumerate(words):
                cols[word] = lp[:, j]
        return torch.stack(cols, dim=1)
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(H, cfg.vocab_size, list(cfg.cutoffs), div_value=cfg.div_value,
                                              head_bias=True).double()
    dec = {k[len("decoder."):]: v for k, v in P.items() if k.startswith("decoder.")}
    assert set(dec) == {k for k, _ in ref.named_parameters()}
    return torch.func.functional_call(_LogProb(ref), {"ref." + k: v for k, v in dec.items()}, (h,))


class _LogProb(torch.nn.Module):
    """Calls ``log_prob`` of the wrapped AdaptiveLogSoftmaxWithLoss, so functional_call can run it."""

    def __init__(self, ref):
        super().__init__()
        self.ref = ref

    def forward(self, h):
        return self.ref.log_prob(h)


@pytest.mark.parametrize("kw", list(CASES.values()), ids=list(CASES))
def test_lm_matches_torch(kw):
    """Loss, final state and every gradient of LanguageModel equal a torch rebuild's under autograd."""
    kw = dict(kw)
    given_state = kw.pop("_state", True) is not None
    rng = np.random.default_rng(0)
    cfg = LMConfig(vocab_size=V, embedding_dim=E, hidden_size=H, num_layers=L, dtype="float64", **kw)
    classes = frequency_classes(rng.integers(1, 50, V), 4) if cfg.softmax == "class" else None
    m = LanguageModel(cfg, rng, word_classes=classes)
    for v in m.params.values():
        v[...] = rng.uniform(-0.6, 0.6, v.shape)  # biases too, non-zero
    ids = rng.integers(0, V, (T, B))
    targets = rng.integers(0, V, (T, B))
    mask = rng.random((T, B)) > 0.25
    assert not mask.all() and mask.any()
    lstm = cfg.cell == "lstm"
    st = [rng.standard_normal((L, B, H)) if given_state else np.zeros((L, B, H)) for _ in range(2 if lstm else 1)]
    state = (tuple(st) if lstm else st[0]) if given_state else None
    training = any(kw.get(k, 0) for k in ("dropout_input", "dropout_hidden", "dropout_output", "weight_drop"))
    dloss = float(rng.uniform(0.5, 1.5))
    loss, final, cache = m.forward(ids, targets, state, mask, training=training, rng=np.random.default_rng(77))
    grads = m.backward(dloss, cache)
    if training:  # the masks were drawn and drop something
        drawn = [cache.drop_in.mask, cache.drop_out.mask] + [lc.drop_mask for lc in cache.rnn.layers]
        drawn += [mm for lc in cache.rnn.layers for mm in lc.hh_masks]
        assert any(mm is not None and (mm == 0).any() for mm in drawn)

    P = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in m.params.items()}
    x = P["embedding.weight"][torch.from_numpy(ids)]  # (T, B, E)
    if cache.drop_in.mask is not None:
        x = x * torch.from_numpy(cache.drop_in.mask.astype(np.float64)) * cache.drop_in.scale
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cfg.cell]
    finals = []
    for k in range(L):
        lc = cache.rnn.layers[k]
        if lc.drop_mask is not None:
            x = x * torch.from_numpy(lc.drop_mask)
        w = {n + "_l0": P[f"rnn.{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        if lc.hh_masks[0] is not None:
            w["weight_hh_l0"] = w["weight_hh_l0"] * torch.from_numpy(lc.hh_masks[0])
        s0 = tuple(torch.from_numpy(s[k:k + 1]) for s in st)
        x, fin = torch.func.functional_call(module(E if k == 0 else H, H, 1).double(), w, (x, s0 if lstm else s0[0]))
        finals.append(fin if lstm else (fin,))
    if cache.drop_out.mask is not None:
        x = x * torch.from_numpy(cache.drop_out.mask.astype(np.float64)) * cache.drop_out.scale
    logp = _torch_log_probs(cfg, P, x.reshape(T * B, H), classes)
    nll = -logp.gather(1, torch.from_numpy(targets.reshape(-1, 1)))[:, 0]
    tloss = (nll * torch.from_numpy(mask.reshape(-1).astype(np.float64))).sum()
    (tloss * dloss).backward()

    _assert_close("loss", loss, tloss.item())
    tfinal = [torch.cat([f[i] for f in finals]).detach().numpy() for i in range(len(st))]
    for i, (mine, theirs) in enumerate(zip(final if lstm else (final,), tfinal)):
        _assert_close(f"final state [{i}]", mine, theirs)
    assert set(grads) == set(m.params)
    for k, p in P.items():
        _assert_close("grad " + k, np.asarray(grads[k]), p.grad.numpy())
