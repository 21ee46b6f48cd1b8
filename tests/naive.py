"""Deliberately plain reference implementations used as oracles by the tests.

One time step of each cell written straight from the textbook equations, with no reordering,
pre-scaling or buffers, and an unroller that holds the state at padded steps and can freeze
("detach") the state at truncation-window boundaries for truncated-BPTT references.
"""
from __future__ import annotations

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def step(cell, x, state, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step from state; returns the new state (h, or (h, c) for LSTM)."""
    if cell == "rnn":
        a = x @ w_ih.T + b_ih + state @ w_hh.T + b_hh
        return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
    if cell == "lstm":
        h, c = state
        H = h.shape[1]
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    H = state.shape[1]
    gx = x @ w_ih.T + b_ih
    gh = state @ w_hh.T + b_hh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * state


def hidden(cell, state):
    return state[0] if cell == "lstm" else state


def unroll(cell, params, x, lengths, num_layers, state0=None, frozen=None, tbptt=None, nonlinearity="tanh"):
    """Unidirectional stack over x (T, B, D); returns (out (T, B, H), finals, boundary states).

    Padded steps hold the state and output zeros.  With ``tbptt=k`` the states entering steps
    k, 2k, ... are recorded in ``boundaries``; if ``frozen`` (such a record) is given, those states
    are replaced by the frozen values, so a finite difference through this function sees no
    dependence across window boundaries: exactly the truncated gradient.
    """
    T, B, _ = x.shape
    H = params["weight_hh_l0"].shape[1]
    boundaries = {}
    layer_in = x
    finals = []
    for layer in range(num_layers):
        sfx = f"_l{layer}"
        w = [params[n + sfx] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if state0 is not None:
            state = state0[layer]
        elif cell == "lstm":
            state = (np.zeros((B, H)), np.zeros((B, H)))
        else:
            state = np.zeros((B, H))
        outs = np.zeros((T, B, H))
        for t in range(T):
            if tbptt is not None and t > 0 and t % tbptt == 0:
                if frozen is not None:
                    # only running sequences cross the boundary; a finished one keeps its final state
                    run = (t < lengths)[:, None]
                    fz = frozen[(layer, t)]
                    if cell == "lstm":
                        state = (np.where(run, fz[0], state[0]), np.where(run, fz[1], state[1]))
                    else:
                        state = np.where(run, fz, state)
                boundaries[(layer, t)] = state
            new = step(cell, layer_in[t], state, *w, nonlinearity=nonlinearity)
            live = (t < lengths)[:, None]
            if cell == "lstm":
                state = (np.where(live, new[0], state[0]), np.where(live, new[1], state[1]))
            else:
                state = np.where(live, new, state)
            outs[t] = np.where(live, hidden(cell, state), 0.0)
        finals.append(state)
        layer_in = outs
    return layer_in, finals, boundaries
