r"""The Child-Sum Tree-LSTM (Tai, Socher & Manning 2015, section 3.1) over trees of any arity, forward
and backward by hand.

Node j with children C(j) (vectors as columns; the code stacks the nodes of a height as rows)::

    h~_j  = sum_{k in C(j)} h_k
    i_j   = sigmoid(W_i x_j + U_i h~_j + b_i)
    f_jk  = sigmoid(W_f x_j + U_f h_k + b_f)          one forget gate per child k
    o_j   = sigmoid(W_o x_j + U_o h~_j + b_o)
    u_j   = tanh(W_u x_j + U_u h~_j + b_u)
    c_j   = i_j * u_j + sum_{k in C(j)} f_jk * c_k
    h_j   = o_j * tanh(c_j)

Tai et al. read dependency trees, where every node has a word x_j.  rnnkit reads constituency trees
(SST's), whose words sit at the leaves: an internal node has no word, so **x_j = 0 there** and the W x
terms vanish (W_f is never used: only a node with children has forget gates, and such a node has no
word); a leaf has no children, so h~_j = 0 and no forget gate.  So::

    leaf:      i, o, u = gates of W_leaf x + b_leaf  (the Tree-LSTM leaf, :mod:`rnnkit.treenet.lstm_leaf`)
    internal:  i, o, u = gates of U_{iou} h~_j + b_{iou};   f_jk = sigmoid(U_f h_k + b_f)

As in rnnkit's binary Tree-LSTM the leaves have their own bias (Tai et al. share b between leaves and
internal nodes; with x = 0 inside the tree a leaf bias of its own is the same as an "is a leaf" input).
The binary Tree-LSTM on the same trees differs in the composition alone: one U per child position
(left, right) there, one U for the sum of any number of children here.

Backward, with dh, dc flowing down from the node's parent and its own output::

    dc_j += dh_j * o_j * (1 - tanh(c_j)^2)
    dz_i = dc_j * u_j * i_j (1 - i_j)    dz_o = dh_j * tanh(c_j) * o_j (1 - o_j)    dz_u = dc_j * i_j (1 - u_j^2)
    dz_fk = dc_j * c_k * f_jk (1 - f_jk)                    dc_k += dc_j * f_jk
    dh_k += U_{iou}^T dz_{iou}  (the same for every child: d h~_j / d h_k = I)  +  U_f^T dz_fk
    dU_{iou} += dz_{iou} h~_j^T   dU_f += sum_k dz_fk h_k^T   db alike

Parameters (gate blocks of H rows): ``leaf.weight`` (3H, E) and ``leaf.bias`` (3H,) in the order
i, o, u; ``compose.weight`` (4H, H) = [U_i; U_f; U_o; U_u] and ``compose.bias`` (4H,) in the order
i, f, o, u.  Every height of every tree in the batch is one step: two GEMMs (the summed children
through U_{iou}, every child through U_f) and ``np.add.reduceat`` for the sums over children.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.treenet.batch import TreeBatch
from rnnkit.treenet.lstm_leaf import iou_, iou_backward, leaf_backward, leaf_forward, sigmoid_


class ChildSumCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    x: np.ndarray  # (n, E) leaf inputs
    batch: TreeBatch
    h: np.ndarray  # (N, H)
    c: np.ndarray  # (N, H)
    leaf_gates: np.ndarray  # (n, 3H) i, o, u activated
    leaf_tc: np.ndarray  # (n, H) tanh(c) at the leaves
    hsum: list  # per level: (m, H) h~, the children's summed states
    gates: list  # per level: (m, 3H) i, o, u activated
    forget: list  # per level: (k, H) f_jk, one row per child
    tc: list  # per level: (m, H) tanh(c)
    params: dict


def _split(w: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows i, o, u (3H, ...) and f (H, ...) of a compose parameter in the order i, f, o, u."""
    return np.concatenate([w[:H], w[2 * H :]]), w[H : 2 * H]


def forward(x: np.ndarray, batch: TreeBatch, params: dict[str, np.ndarray]) -> tuple[np.ndarray, ChildSumCache]:
    """Node states h (N, H) of every tree in the batch from the leaves' inputs x (n, E)."""
    w_leaf, b_leaf = params["leaf.weight"], params["leaf.bias"]
    w, b = params["compose.weight"], params["compose.bias"]
    H = w.shape[1]
    if x.shape != (batch.leaves.size, w_leaf.shape[1]):
        raise ValueError(f"Expected x of shape ({batch.leaves.size}, {w_leaf.shape[1]}), got {x.shape}")
    h = np.zeros((batch.num_nodes, H), dtype=x.dtype)  # (N, H)
    c = np.zeros((batch.num_nodes, H), dtype=x.dtype)  # (N, H)
    zl = x @ w_leaf.T + b_leaf  # (n, 3H)
    cl, leaf_tc, hl = leaf_forward(zl, H)  # (n, H) each
    c[batch.leaves] = cl
    h[batch.leaves] = hl
    w_iou, w_f = _split(w, H)  # (3H, H), (H, H)
    b_iou, b_f = _split(b, H)  # (3H,), (H,)
    hsums, gates, forget, tcs = [], [], [], []
    for lv in batch.levels:
        hk = h[lv.kids]  # (k, H) every child's state
        hsum = np.add.reduceat(hk, lv.first, axis=0)  # (m, H) h~
        z = iou_(hsum @ w_iou.T + b_iou, H)  # (m, 3H) i, o, u
        f = sigmoid_(hk @ w_f.T + b_f)  # (k, H) one forget gate per child
        cn = np.add.reduceat(f * c[lv.kids], lv.first, axis=0)  # (m, H) sum_k f_jk * c_k
        cn += z[:, :H] * z[:, 2 * H :]  # + i * u
        tc = np.tanh(cn)  # (m, H)
        c[lv.nodes] = cn
        h[lv.nodes] = z[:, H : 2 * H] * tc
        hsums.append(hsum)
        gates.append(z)
        forget.append(f)
        tcs.append(tc)
    return h, ChildSumCache(x, batch, h, c, zl, leaf_tc, hsums, gates, forget, tcs, params)


def backward(dh: np.ndarray, cache: ChildSumCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """From dL/dh (N, H) at every node, return dL/dx (n, E) and the parameter gradients.  ``dh`` is
    used as a work buffer and overwritten."""
    p, batch = cache.params, cache.batch
    w = p["compose.weight"]
    H = w.shape[1]
    one = dh.dtype.type(1)
    w_iou, w_f = _split(w, H)
    dc = np.zeros_like(dh)  # (N, H)
    dw_iou, dw_f = np.zeros_like(w_iou), np.zeros_like(w_f)
    db_iou, db_f = np.zeros((3 * H,), dh.dtype), np.zeros((H,), dh.dtype)
    for k in range(len(batch.levels) - 1, -1, -1):
        lv, g, f, tc = batch.levels[k], cache.gates[k], cache.forget[k], cache.tc[k]
        dz, dc_n = iou_backward(dh[lv.nodes], dc[lv.nodes], g, tc)  # (m, 3H), (m, H): as a leaf's
        dc_p = dc_n[lv.owner]  # (k, H) each child's parent's dc
        dzf = dc_p * cache.c[lv.kids] * f * (one - f)  # (k, H)
        dc[lv.kids] += dc_p * f  # every child has one parent: no index repeats
        dw_iou += dz.T @ cache.hsum[k]
        db_iou += dz.sum(axis=0)
        hk = cache.h[lv.kids]  # (k, H)
        dw_f += dzf.T @ hk
        db_f += dzf.sum(axis=0)
        dhk = (dz @ w_iou)[lv.owner]  # (k, H) d h~_j / d h_k = I: each child gets its parent's
        dhk += dzf @ w_f
        dh[lv.kids] += dhk
    dzl = leaf_backward(dh[batch.leaves], dc[batch.leaves], cache.leaf_gates, cache.leaf_tc)  # (n, 3H)
    dx = dzl @ p["leaf.weight"]  # (n, E)

    def iofu(iou: np.ndarray, f_: np.ndarray) -> np.ndarray:  # back to the order i, f, o, u
        return np.concatenate([iou[:H], f_, iou[H:]])

    return dx, {"leaf.weight": dzl.T @ cache.x, "leaf.bias": dzl.sum(axis=0),
                "compose.weight": iofu(dw_iou, dw_f), "compose.bias": iofu(db_iou, db_f)}
