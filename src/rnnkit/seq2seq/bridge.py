r"""The bridge: the decoder's initial state from a source summary, one (L*H, F) map for all L layers::

    h_0 = tanh(W_b s + b_b)       # s (B, F): the encoder's final states, or a feature vector
    c_0 = tanh(W_bc s_c + b_bc)   # LSTM only: the cell state has its own bridge

The (B, L*H) output is cut into L layers' (B, H) states.  Parameters ``bridge.weight`` (L*H, F),
``bridge.bias`` (L*H,), and for LSTM ``bridge_c.weight``, ``bridge_c.bias``.  Backward, per bridge::

    dz = [dh_0^1 ... dh_0^L] * (1 - h_0^2)     # (B, L*H), tanh'
    dW_b = dz^T s ;  db_b = sum_b dz ;  ds = dz W_b
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class BridgeCache(NamedTuple):
    """What the bridge's backward needs."""

    src: tuple  # inputs: (B, F) for h, and for c (LSTM)
    out: tuple  # tanh outputs (B, L*H)


def bridge_forward(params: dict[str, np.ndarray], cell: str, L: int, src_h: np.ndarray,
                   src_c: np.ndarray | None) -> tuple[tuple, BridgeCache]:
    """Initial decoder state per layer from bridge inputs (B, F); h = tanh(W_b s + b_b)."""
    B = src_h.shape[0]
    outs = []
    srcs = (src_h,) if cell != "lstm" else (src_h, src_c)
    for name, s in zip(("bridge", "bridge_c"), srcs):
        outs.append(np.tanh(s @ params[name + ".weight"].T + params[name + ".bias"]))  # (B, L*H)
    per = [o.reshape(B, L, -1) for o in outs]  # (B, L, H)
    state = tuple(tuple(p[:, k] for p in per) if cell == "lstm" else per[0][:, k] for k in range(L))
    return state, BridgeCache(srcs, tuple(outs))


def bridge_backward(params: dict[str, np.ndarray], dstate: list, cache: BridgeCache,
                    grads: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Adds the bridge's gradients into grads; returns dL/d(bridge inputs) (B, F) for h (and c)."""
    dsrc = []
    for i, (name, s, out) in enumerate(zip(("bridge", "bridge_c"), cache.src, cache.out)):
        parts = [d[i] if isinstance(d, tuple) else d for d in dstate]  # L of (B, H)
        dz = np.concatenate(parts, axis=1) * (1.0 - out * out)  # (B, L*H), tanh'
        grads[name + ".weight"] = dz.T @ s
        grads[name + ".bias"] = dz.sum(axis=0)
        dsrc.append(dz @ params[name + ".weight"])
    return dsrc


def init_bridge(params: dict, cell: str, out_size: int, in_size: int, rng: np.random.Generator, dtype: Any) -> None:
    """Add the bridge's weights (out_size, in_size) and biases to params, U(-1/sqrt(in), 1/sqrt(in)) like nn.Linear."""
    bound = 1.0 / np.sqrt(in_size)
    for name in ("bridge", "bridge_c") if cell == "lstm" else ("bridge",):
        params[name + ".weight"] = rng.uniform(-bound, bound, (out_size, in_size)).astype(dtype)
        params[name + ".bias"] = rng.uniform(-bound, bound, (out_size,)).astype(dtype)
