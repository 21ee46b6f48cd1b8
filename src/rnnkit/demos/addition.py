r"""Binary addition with an Elman RNN: train on 8-bit numbers, then add 16-, 32- and 64-bit ones.

Hinton's classic example of what a recurrent network can learn that a feed-forward one cannot: the
two numbers come in one bit pair per step, least significant bit first, and the network outputs
one bit of the sum per step.  The only thing it must remember is the carry, so a network that has
learned the right two-state machine adds numbers of any length, far longer than any it was
trained on.

Encoding, for n-bit numbers a and b (each padded with one leading 0 bit to hold the final carry)::

    x_t = (a_t, b_t)            t = 0..n, a_n = b_n = 0          # (T=n+1, B, 2)
    y_t = bit t of a + b        t = 0..n                          # (T, B) in {0, 1}

Model: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), logits_t = W_o h_t + b_o (2 classes),
loss = mean over steps and sequences of the softmax cross-entropy.  Trained with Adam on random
numbers of up to ``train_bits`` bits; evaluated by exact match (every output bit right).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.nn import Linear, softmax_cross_entropy, softmax_cross_entropy_backward
from rnnkit.optim import Adam, clip_grad_norm
from rnnkit.recurrent import RNN


def addition_batch(rng: np.random.Generator, n_bits: int, batch: int,
                   dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs of ``n_bits``-bit numbers as (x (n+1, B, 2), y (n+1, B) int64), LSB first."""
    a = rng.integers(0, 2, size=(n_bits, batch))  # (n, B) bits of a, least significant first
    b = rng.integers(0, 2, size=(n_bits, batch))  # (n, B)
    return encode_pairs(a, b, dtype)


def encode_pairs(a_bits: np.ndarray, b_bits: np.ndarray, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and sum bits for bit arrays a, b of shape (n, B), least significant bit first."""
    if a_bits.shape != b_bits.shape or a_bits.ndim != 2:
        raise ValueError(f"Expected a_bits and b_bits of the same shape (n, B), got {a_bits.shape} and {b_bits.shape}")
    n, B = a_bits.shape
    x = np.zeros((n + 1, B, 2), dtype=dtype)  # (T, B, 2); the last step is the 0 padding
    x[:n, :, 0] = a_bits
    x[:n, :, 1] = b_bits
    y = np.zeros((n + 1, B), dtype=np.int64)  # (T, B)
    carry = np.zeros(B, dtype=np.int64)
    # ripple-carry adder, vectorised over the batch
    for t in range(n):
        s = a_bits[t] + b_bits[t] + carry
        y[t] = s & 1
        carry = s >> 1
    y[n] = carry
    return x, y


def bits_to_int(bits: np.ndarray) -> int:
    """A (n,) array of bits, least significant first, as a Python int (exact for any n)."""
    return sum(int(v) << i for i, v in enumerate(bits))


class AdditionModel:
    """An Elman RNN (2 inputs, ``hidden`` units) and a 2-class linear readout, one flat params dict."""

    def __init__(self, hidden: int, rng: np.random.Generator, dtype: Any = np.float32) -> None:
        self.rnn = RNN(2, hidden, rng=rng, dtype=dtype)
        self.readout = Linear(hidden, 2, rng, dtype=dtype)
        # one dict over the same arrays, so the optimizer's in-place updates reach both blocks
        self.params = {f"rnn.{k}": v for k, v in self.rnn.params.items()}
        self.params.update({f"readout.{k}": v for k, v in self.readout.params.items()})

    def logits(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """Logits (T, B, 2) of every sum bit for inputs x (T, B, 2), and the cache."""
        h, _, rnn_cache = self.rnn.forward(x)  # (T, B, H)
        z, lin_cache = self.readout.forward(h)  # (T, B, 2)
        return z, (rnn_cache, lin_cache)

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy over all (T, B) sum bits y for inputs x (T, B, 2), and its gradients."""
        z, (rnn_cache, lin_cache) = self.logits(x)
        loss, ce_cache = softmax_cross_entropy(z, y)
        dz = softmax_cross_entropy_backward(1.0, ce_cache)  # (T, B, 2)
        dh, lin_grads = self.readout.backward(dz, lin_cache)  # (T, B, H)
        _, _, rnn_grads = self.rnn.backward(dh, None, rnn_cache)
        grads = {f"rnn.{k}": v for k, v in rnn_grads.items()}
        grads.update({f"readout.{k}": v for k, v in lin_grads.items()})
        return loss, grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted sum bits (T, B)."""
        z, _ = self.logits(x)
        return z.argmax(axis=-1)


def exact_match(model: AdditionModel, rng: np.random.Generator, n_bits: int, pairs: int) -> float:
    """Fraction of ``pairs`` random n-bit additions whose every output bit is right."""
    x, y = addition_batch(rng, n_bits, pairs)
    return float((model.predict(x) == y).all(axis=0).mean())


def worked_examples(model: AdditionModel, rng: np.random.Generator, n_bits: int, count: int,
                    emit: Callable[[str], None]) -> list[dict[str, Any]]:
    """``count`` random n-bit additions as dicts (a, b, predicted, correct, n_bits), each emitted as a line."""
    if count == 0:
        return []
    a_bits = rng.integers(0, 2, size=(n_bits, count))  # (n, E)
    b_bits = rng.integers(0, 2, size=(n_bits, count))
    x, _ = encode_pairs(a_bits, b_bits)
    pred = model.predict(x)  # (n+1, E)
    emit(f"examples with {n_bits}-bit numbers:")
    shown = []
    for j in range(count):
        a = bits_to_int(a_bits[:, j])
        b = bits_to_int(b_bits[:, j])
        got = bits_to_int(pred[:, j])
        shown.append({"a": a, "b": b, "predicted": got, "correct": got == a + b, "n_bits": n_bits})
        verdict = "correct" if got == a + b else f"INCORRECT (expected {a + b})"
        emit(f"  {a} + {b} = {got}  {verdict}")
    return shown


def run_addition_demo(
    seed: int = 0,
    train_bits: int = 8,
    test_bits: Sequence[int] = (16, 32, 64),
    steps: int = 1500,
    hidden: int = 16,
    batch: int = 32,
    lr: float = 0.01,
    clip: float = 5.0,
    eval_pairs: int = 1000,
    examples: int = 4,
    log_every: int = 250,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train on random numbers of up to ``train_bits`` bits, evaluate on longer ones.

    Each step draws ``batch`` pairs of ``train_bits``-bit numbers (so every number below
    2**train_bits, short ones with leading zeros).  ``log`` receives progress lines (``print``
    from the CLI).  Returns a dict with ``accuracy`` {n_bits: exact-match fraction on
    ``eval_pairs`` new pairs, train_bits included}, ``examples`` (a list of dicts a, b, predicted,
    correct, n_bits on the longest test length), ``final_loss``, ``seconds``, ``steps`` and
    ``params`` (the trained arrays).
    """
    train_bits = check_int("train_bits", train_bits, 1)
    steps = check_int("steps", steps, 1)
    hidden = check_int("hidden", hidden, 1)
    batch = check_int("batch", batch, 1)
    eval_pairs = check_int("eval_pairs", eval_pairs, 1)
    examples = check_int("examples", examples, 0)
    log_every = check_int("log_every", log_every, 1)
    test_bits = [check_int("test_bits", n, 1) for n in test_bits]
    if not test_bits:
        raise ValueError("Expected at least one length in test_bits, got none")
    if not lr > 0:
        raise ValueError(f"Expected lr > 0, got {lr!r}")
    emit = log if log is not None else (lambda line: None)

    rng = np.random.default_rng(seed)
    model = AdditionModel(hidden, rng)
    opt = Adam(model.params, lr=lr)
    start = time.perf_counter()
    emit("loss: cross-entropy per output bit in nats, averaged over the steps since the line before (guessing: "
         "ln 2 = 0.693)")
    recent: list[float] = []
    for step in range(1, steps + 1):
        x, y = addition_batch(rng, train_bits, batch)
        loss, grads = model.loss_and_grads(x, y)
        clip_grad_norm(grads, clip)
        opt.step(grads)
        recent.append(loss)
        if step % log_every == 0 or step == steps:
            mean = float(np.mean(recent))
            recent = []
            emit(f"step {step:>5}/{steps}  loss {mean:.4f}  {time.perf_counter() - start:5.1f}s")
    seconds = time.perf_counter() - start
    emit(f"trained in {seconds:.1f}s; exact match on {eval_pairs} random additions per length (drawn anew, so "
         "repeats are possible where few pairs exist):")

    eval_rng = np.random.default_rng([seed, 1])  # its own stream: evaluation pairs do not depend on steps
    accuracy = {}
    for n in dict.fromkeys([train_bits, *test_bits]):  # each length once, in the order given
        accuracy[n] = exact_match(model, eval_rng, n, eval_pairs)
        note = " (training length)" if n == train_bits else ""
        emit(f"{n:>5}-bit numbers: {100 * accuracy[n]:6.2f}%{note}")

    shown = worked_examples(model, eval_rng, max(test_bits), examples, emit)
    return {"accuracy": accuracy, "examples": shown, "final_loss": float(loss), "seconds": seconds,
            "steps": steps, "params": model.params}
