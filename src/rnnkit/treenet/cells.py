r"""Composition functions of recursive networks over binary trees, forward and backward by hand (and
the dispatch to the Child-Sum Tree-LSTM over trees of any arity, :mod:`rnnkit.treenet.childsum`).

Vectors here are one node's, as columns (the code stacks the nodes of a height as rows, x W^T).

Tree-RNN (Socher et al. 2011, "Parsing natural scenes and natural language with recursive neural
networks"; here with a leaf layer, so the word vectors may differ in size from the node states)::

    leaf:      h = tanh(W_leaf x + b_leaf)                         # x the word's embedding (E,)
    internal:  h = tanh(W [h_l ; h_r] + b)                         # (H,) from the two children
    backward:  dz = dh * (1 - h^2) ;  dW += dz [h_l ; h_r]^T ;  db += dz ;  [dh_l ; dh_r] += W^T dz
               (a leaf: dW_leaf += dz x^T, db_leaf += dz, dx = W_leaf^T dz)

Recursive neural tensor network, RNTN (Socher et al. 2013, "Recursive deep models for semantic
compositionality over a sentiment treebank"): the Tree-RNN plus a bilinear term, one (2H, 2H) slice
V_k of the tensor V (H, 2H, 2H) per output unit, with a = [h_l ; h_r] and s = 1 / (2H)::

    internal:  h_k = tanh(s a^T V_k a + (W a + b)_k)
    backward:  dV_k = s dz_k a a^T,   da = W^T dz + s sum_k dz_k (V_k + V_k^T) a

The paper's tensor is s V: rnnkit stores it multiplied by 2H.  The function is the same, but an
optimizer that moves every entry by about its learning rate (Adam, AdaGrad, RMSprop) then moves the
bilinear term about as fast as W a; unscaled, one Adam step of size lr changes a^T V_k a by up to
lr (sum_i |a_i|)^2, and on SST every such run saturated the tanh within an epoch and stayed at chance
(benchmarks/RESULTS.md).  V starts at zero, so the RNTN starts as the Tree-RNN.

Binary Tree-LSTM (Tai, Socher & Manning 2015, the N-ary Tree-LSTM with N = 2; constituency trees,
words at the leaves only).  Gate blocks of H rows in the order given::

    leaf (i, o, u):        i = sigmoid(W_i x + b_i)   o = sigmoid(W_o x + b_o)   u = tanh(W_u x + b_u)
                           c = i * u                 h = o * tanh(c)
    internal (i, f_l, f_r, o, u), z = W [h_l ; h_r] + b:
                           i, f_l, f_r, o = sigmoid(z_i), sigmoid(z_fl), sigmoid(z_fr), sigmoid(z_o)
                           u = tanh(z_u)
                           c = i * u + f_l * c_l + f_r * c_r          h = o * tanh(c)

Each child has its own forget gate, which reads both children (Tai et al.'s U^{(f)}_{kl}).
Backward, with dh = dL/dh and dc = dL/dc flowing down from the node's parent and its own output::

    dc += dh * o * (1 - tanh(c)^2)
    dz_o = dh * tanh(c) * o (1 - o)     dz_i = dc * u * i (1 - i)     dz_u = dc * i * (1 - u^2)
    dz_fl = dc * c_l * f_l (1 - f_l)    dz_fr = dc * c_r * f_r (1 - f_r)
    dc_l += dc * f_l ;  dc_r += dc * f_r ;  [dh_l ; dh_r] += W^T dz ;  dW += dz [h_l ; h_r]^T ;  db += dz
    leaf: the same without the children and their forget gates (dz_i, dz_o, dz_u), and dx = W_leaf^T dz

Parameters: ``leaf.weight`` (G_leaf*H, E), ``leaf.bias`` (G_leaf*H,), ``compose.weight`` (G*H, 2H),
``compose.bias`` (G*H,), with (G_leaf, G) = (1, 1) for the Tree-RNN and the RNTN and (3, 5) for the
Tree-LSTM; the RNTN adds ``compose.tensor`` (H, 2H, 2H).  The Child-Sum Tree-LSTM (``"childsum"``)
has the Tree-LSTM's leaf and ``compose.weight`` (4H, H), ``compose.bias`` (4H,).
All nodes of one height are computed together (see :mod:`rnnkit.treenet.batch`).  The binary cells
refuse a batch with a node of other than 2 children (naming it); ``"childsum"`` takes any number.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.treenet import childsum
from rnnkit.treenet.batch import TreeBatch, check_binary
from rnnkit.treenet.lstm_leaf import leaf_backward, leaf_forward
from rnnkit.treenet.lstm_leaf import sigmoid_ as _sigmoid_

GATES = {"rnn": (1, 1), "rntn": (1, 1), "lstm": (3, 5), "childsum": (3, 4)}  # (leaf, internal) gate blocks
CELLS = tuple(GATES)
COMPOSE_INPUT = {"rnn": 2, "rntn": 2, "lstm": 2, "childsum": 1}  # compose.weight's columns, in H


class TreeCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    cell: str
    x: np.ndarray  # (n, E) leaf inputs
    batch: TreeBatch
    h: np.ndarray  # (N, H)
    c: np.ndarray | None  # (N, H), Tree-LSTM only
    leaf_gates: np.ndarray  # (n, G_leaf*H) activated
    leaf_tc: np.ndarray | None  # (n, H) tanh(c) at leaves, Tree-LSTM only
    inputs: list  # per level: (m, 2H) [h_l ; h_r]
    gates: list  # per level: (m, G*H) activated
    aux: list  # per level: (m, H) tanh(c) for the Tree-LSTM; (m, H, 2H) a^T V_k for the RNTN; empty else
    params: dict


def forward(cell: str, x: np.ndarray, batch: TreeBatch, params: dict[str, np.ndarray]
            ) -> tuple[np.ndarray, TreeCache | childsum.ChildSumCache]:
    """Node states h (N, H) of every tree in the batch from the leaves' inputs x (n, E)."""
    if cell not in GATES:
        raise ValueError(f"Expected cell one of {CELLS}, got {cell!r}")
    if cell == "childsum":
        return childsum.forward(x, batch, params)
    check_binary(batch, cell)
    w_leaf, b_leaf = params["leaf.weight"], params["leaf.bias"]
    w, b = params["compose.weight"], params["compose.bias"]
    H = w.shape[1] // 2
    if x.shape != (batch.leaves.size, w_leaf.shape[1]):
        raise ValueError(f"Expected x of shape ({batch.leaves.size}, {w_leaf.shape[1]}), got {x.shape}")
    lstm = cell == "lstm"
    h = np.zeros((batch.num_nodes, H), dtype=x.dtype)  # (N, H)
    c = np.zeros((batch.num_nodes, H), dtype=x.dtype) if lstm else None  # (N, H)
    zl = x @ w_leaf.T + b_leaf  # (n, G_leaf*H)
    leaf_tc = None
    if lstm:
        cl, leaf_tc, hl = leaf_forward(zl, H)  # (n, H) each
        c[batch.leaves] = cl
        h[batch.leaves] = hl
    else:
        np.tanh(zl, out=zl)
        h[batch.leaves] = zl
    inputs, gates, aux = [], [], []
    for lv in batch.levels:
        hin = np.concatenate([h[lv.left], h[lv.right]], axis=1)  # (m, 2H)
        z = hin @ w.T + b  # (m, G*H)
        if lstm:
            _sigmoid_(z[:, : 4 * H])  # i, f_l, f_r, o
            np.tanh(z[:, 4 * H :], out=z[:, 4 * H :])  # u
            cn = z[:, :H] * z[:, 4 * H :]
            cn += z[:, H : 2 * H] * c[lv.left]
            cn += z[:, 2 * H : 3 * H] * c[lv.right]
            tc = np.tanh(cn)
            c[lv.nodes] = cn
            h[lv.nodes] = z[:, 3 * H : 4 * H] * tc
            aux.append(tc)
        else:
            if cell == "rntn":
                m = hin.shape[0]
                u = (hin @ _tensor_rows(params["compose.tensor"])).reshape(m, H, 2 * H)  # u[m,k,j] = (a^T V_k)_j
                z += np.einsum("mkj,mj->mk", u, hin) * z.dtype.type(1 / (2 * H))  # s a^T V_k a
                aux.append(u)
            np.tanh(z, out=z)
            h[lv.nodes] = z
        inputs.append(hin)
        gates.append(z)
    return h, TreeCache(cell, x, batch, h, c, zl, leaf_tc, inputs, gates, aux, params)


def backward(dh: np.ndarray, cache: TreeCache | childsum.ChildSumCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """From dL/dh (N, H) at every node (the output layer's), return dL/dx (n, E) and the parameter
    gradients.  ``dh`` is used as a work buffer and overwritten."""
    if isinstance(cache, childsum.ChildSumCache):
        return childsum.backward(dh, cache)
    p, batch = cache.params, cache.batch
    w, w_leaf = p["compose.weight"], p["leaf.weight"]
    H = w.shape[1] // 2
    one = dh.dtype.type(1)
    lstm = cache.cell == "lstm"
    dc = np.zeros_like(dh) if lstm else None  # (N, H)
    dw = np.zeros_like(w)
    db = np.zeros_like(p["compose.bias"])
    dtensor = np.zeros_like(p["compose.tensor"]) if cache.cell == "rntn" else None
    for k in range(len(batch.levels) - 1, -1, -1):
        lv, hin, g = batch.levels[k], cache.inputs[k], cache.gates[k]
        dh_n = dh[lv.nodes]  # (m, H)
        dz = np.empty_like(g)  # (m, G*H)
        if lstm:
            tc = cache.aux[k]
            i, fl, fr, o, u = (g[:, j * H : (j + 1) * H] for j in range(5))
            dc_n = dc[lv.nodes] + dh_n * o * (one - tc * tc)  # (m, H)
            dz[:, :H] = dc_n * u * i * (one - i)
            dz[:, H : 2 * H] = dc_n * cache.c[lv.left] * fl * (one - fl)
            dz[:, 2 * H : 3 * H] = dc_n * cache.c[lv.right] * fr * (one - fr)
            dz[:, 3 * H : 4 * H] = dh_n * tc * o * (one - o)
            dz[:, 4 * H :] = dc_n * i * (one - u * u)
            dc[lv.left] += dc_n * fl
            dc[lv.right] += dc_n * fr
        else:
            np.multiply(dh_n, one - g * g, out=dz)
        dw += dz.T @ hin
        db += dz.sum(axis=0)
        dhin = dz @ w  # (m, 2H)
        if cache.cell == "rntn":
            m = hin.shape[0]
            dzs = dz * dz.dtype.type(1 / (2 * H))  # s dz
            gk = (dzs[:, :, None] * hin[:, None, :]).reshape(m, 2 * H * H)  # gk[m,(k,j)] = s dz_k a_j
            dtensor += (hin.T @ gk).reshape(2 * H, H, 2 * H).transpose(1, 0, 2)  # dV_kij = s sum_m dz_k a_i a_j
            dhin += np.einsum("mk,mkj->mj", dzs, cache.aux[k])  # s sum_k dz_k (a^T V_k)_j
            dhin += gk @ _tensor_rows(p["compose.tensor"]).T  # s sum_k dz_k (V_k a)_i
        dh[lv.left] += dhin[:, :H]
        dh[lv.right] += dhin[:, H:]
    g = cache.leaf_gates
    dh_l = dh[batch.leaves]  # (n, H)
    if lstm:
        dzl = leaf_backward(dh_l, dc[batch.leaves], g, cache.leaf_tc)  # (n, 3H)
    else:
        dzl = dh_l * (one - g * g)
    dx = dzl @ w_leaf  # (n, E)
    grads = {"leaf.weight": dzl.T @ cache.x, "leaf.bias": dzl.sum(axis=0), "compose.weight": dw, "compose.bias": db}
    if dtensor is not None:
        grads["compose.tensor"] = dtensor
    return dx, grads


def arity(cell: str) -> str:
    """The trees a cell reads (:func:`rnnkit.data.trees.parse_tree`'s ``arity``): ``"any"`` for
    ``"childsum"``, ``"binary"`` for the others (they compose exactly two children)."""
    return "any" if cell == "childsum" else "binary"


def _tensor_rows(v: np.ndarray) -> np.ndarray:
    """V (H, 2H, 2H) as the (2H, H*2H) matrix whose row i holds V_kij for every (k, j)."""
    H = v.shape[0]
    return v.transpose(1, 0, 2).reshape(2 * H, 2 * H * H)


def init_params(cell: str, embedding_dim: int, hidden_size: int, rng: np.random.Generator,
                dtype: Any = np.float32) -> dict[str, np.ndarray]:
    """U(-1/sqrt(H), 1/sqrt(H)) for every parameter, PyTorch's recurrent-layer default; the RNTN's
    tensor starts at zero (the Tree-RNN)."""
    if cell not in GATES:
        raise ValueError(f"Expected cell one of {CELLS}, got {cell!r}")
    gl, g = GATES[cell]
    H, E = hidden_size, embedding_dim
    bound = 1.0 / np.sqrt(H)
    shapes = {"leaf.weight": (gl * H, E), "leaf.bias": (gl * H,), "compose.weight": (g * H, COMPOSE_INPUT[cell] * H),
              "compose.bias": (g * H,)}
    params = {k: rng.uniform(-bound, bound, s).astype(dtype) for k, s in shapes.items()}
    if cell == "rntn":
        params["compose.tensor"] = np.zeros((H, 2 * H, 2 * H), dtype=dtype)
    return params
