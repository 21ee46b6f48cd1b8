"""Built-in toy tasks for demos and tests: reverse, sort digits, binary addition, number to words.

Every generator draws only from the ``numpy.random.Generator`` it is given and returns pairs of
token lists, e.g. reverse ``(["c", "a", "d"], ["d", "a", "c"])``, sort ``(["3", "1", "2"],
["1", "2", "3"])``, add ``(["1", "0", "1", "+", "1", "1"], ["1", "0", "0", "0"])`` (most
significant bit first).  :class:`ToyVocab` maps tokens to ids with PAD = 0, BOS = 1, EOS = 2 first;
:func:`make_batch` pads pairs into the time-major arrays the models read.

Number to words is the vector-conditioned task: :func:`number_to_words` spells 0..9999 in English
("three hundred forty two", no "and", no hyphens) and :func:`number_features` encodes a number as its
``num_digits`` decimal digits, most significant first with leading zeros, each one-hot over 0..9
and concatenated: 342 with 4 digits -> one-hots of 0, 3, 4, 2, a (40,) vector.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from rnnkit.fielddoc import fields_in_doc

SPECIALS = ("<pad>", "<bos>", "<eos>")
PAD, BOS, EOS = 0, 1, 2
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")
DIGITS = tuple("0123456789")
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


class ToyVocab:
    """Token <-> id, with the specials PAD = 0, BOS = 1, EOS = 2 before ``symbols``."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.itos = list(SPECIALS) + [s for s in symbols if s not in SPECIALS]
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; raises ValueError for a token not in the vocabulary."""
        try:
            return [self.stoi[t] for t in tokens]
        except KeyError as err:
            raise ValueError(f"Expected tokens of this vocabulary, got {err.args[0]!r}") from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens up to the first EOS, without PAD and BOS."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[int(i)])
        return out


Pair = tuple[list[str], list[str]]


def _lengths(n: int, rng: np.random.Generator, min_len: int, max_len: int) -> np.ndarray:
    if not 1 <= min_len <= max_len:
        raise ValueError(f"Expected 1 <= min_len <= max_len, got {min_len} and {max_len}")
    return rng.integers(min_len, max_len + 1, size=n)


def reverse_pairs(n: int, rng: np.random.Generator, min_len: int = 3, max_len: int = 8,
                  num_symbols: int = 10) -> list[Pair]:
    """Random strings over the first ``num_symbols`` letters and their reversals."""
    if not 1 <= num_symbols <= len(LETTERS):
        raise ValueError(f"Expected num_symbols in [1, {len(LETTERS)}], got {num_symbols}")
    pairs = []
    for m in _lengths(n, rng, min_len, max_len):
        src = [LETTERS[i] for i in rng.integers(0, num_symbols, size=m)]
        pairs.append((src, src[::-1]))
    return pairs


def sort_pairs(n: int, rng: np.random.Generator, min_len: int = 3, max_len: int = 8) -> list[Pair]:
    """Random digit strings and the same digits sorted ascending."""
    pairs = []
    for m in _lengths(n, rng, min_len, max_len):
        digits = rng.integers(0, 10, size=m)
        pairs.append(([DIGITS[d] for d in digits], [DIGITS[d] for d in np.sort(digits)]))
    return pairs


def addition_pairs(n: int, rng: np.random.Generator, max_bits: int = 5) -> list[Pair]:
    """``a + b`` written in binary (most significant bit first, no leading zeros) and its sum."""
    if max_bits < 1:
        raise ValueError(f"Expected max_bits >= 1, got {max_bits}")
    pairs = []
    for a, b in rng.integers(0, 2 ** max_bits, size=(n, 2)):
        pairs.append((list(format(int(a), "b")) + ["+"] + list(format(int(b), "b")), list(format(int(a + b), "b"))))
    return pairs


def task_vocab(task: str, num_symbols: int = 10) -> ToyVocab:
    """The one vocabulary (source and target share it) of "reverse", "sort" or "add"."""
    if task == "reverse":
        return ToyVocab(LETTERS[:num_symbols])
    if task == "sort":
        return ToyVocab(DIGITS)
    if task == "add":
        return ToyVocab(("0", "1", "+"))
    raise ValueError(f"Expected task 'reverse', 'sort' or 'add', got {task!r}")


@fields_in_doc
class Batch(NamedTuple):
    """One padded, time-major batch of id pairs, made by :func:`make_batch`."""

    src: np.ndarray  # (S, B) ids, PAD after each sentence
    src_lengths: np.ndarray  # (B,)
    tgt_in: np.ndarray  # (T, B) BOS y_1 .. y_n, then PAD
    tgt_out: np.ndarray  # (T, B) y_1 .. y_n EOS, then PAD
    tgt_mask: np.ndarray  # (T, B) bool, True on the n + 1 real target positions


def target_arrays(targets: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tgt_in, tgt_out, tgt_mask), each (T, B) with T = longest target + 1."""
    B = len(targets)
    T = max(len(t) for t in targets) + 1
    tgt_in = np.full((T, B), PAD, dtype=np.int64)
    tgt_out = np.full((T, B), PAD, dtype=np.int64)
    for b, t in enumerate(targets):
        tgt_in[: len(t) + 1, b] = [BOS, *t]
        tgt_out[: len(t) + 1, b] = [*t, EOS]
    mask = np.arange(T)[:, None] <= np.array([len(t) for t in targets])[None, :]
    return tgt_in, tgt_out, mask


def make_batch(pairs: Sequence[Pair], src_vocab: ToyVocab, tgt_vocab: ToyVocab | None = None) -> Batch:
    """Pad token pairs into a :class:`Batch` (time-major)."""
    tgt_vocab = src_vocab if tgt_vocab is None else tgt_vocab
    srcs = [src_vocab.encode(s) for s, _ in pairs]
    lengths = np.array([len(s) for s in srcs], dtype=np.int64)
    if lengths.min() < 1:
        raise ValueError("Expected every source sentence to have at least one token, got an empty one")
    src = np.full((lengths.max(), len(srcs)), PAD, dtype=np.int64)
    for b, s in enumerate(srcs):
        src[: len(s), b] = s
    return Batch(src, lengths, *target_arrays([tgt_vocab.encode(t) for _, t in pairs]))


def number_to_words(n: int) -> list[str]:
    """English words for 0 <= n <= 9999: 342 -> ["three", "hundred", "forty", "two"]."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 9999:
        raise ValueError(f"Expected an integer in [0, 9999], got {n!r}")
    n = int(n)
    if n == 0:
        return ["zero"]
    words: list[str] = []
    if n >= 1000:
        words += [ONES[n // 1000], "thousand"]
    if n % 1000 >= 100:
        words += [ONES[n % 1000 // 100], "hundred"]
    rest = n % 100
    if rest >= 20:
        words.append(TENS[rest // 10])
        if rest % 10:
            words.append(ONES[rest % 10])
    elif rest > 0:
        words.append(ONES[rest])
    return words


def number_vocab() -> ToyVocab:
    """Every word :func:`number_to_words` can produce."""
    return ToyVocab(ONES + [t for t in TENS if t] + ["hundred", "thousand"])


def number_features(numbers: Sequence[int], num_digits: int = 4, dtype: object = np.float32) -> np.ndarray:
    """(N, 10 * num_digits): the digits of each number, most significant first, one-hot and concatenated."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.ndim != 1 or numbers.size == 0 or numbers.min() < 0 or numbers.max() >= 10 ** num_digits:
        raise ValueError(f"Expected a non-empty 1-D list of integers in [0, {10 ** num_digits}), got {numbers}")
    feats = np.zeros((numbers.size, num_digits, 10), dtype=dtype)  # (N, digits, 10)
    for i in range(num_digits):
        digit = numbers // 10 ** (num_digits - 1 - i) % 10  # (N,)
        feats[np.arange(numbers.size), i, digit] = 1
    return feats.reshape(numbers.size, num_digits * 10)


def exact_match(hypotheses: Sequence[Sequence[int]], references: Sequence[Sequence[int]]) -> float:
    """Fraction of hypotheses (token ids, no specials) equal to their reference."""
    if len(hypotheses) != len(references) or not references:
        raise ValueError(f"Expected as many hypotheses as references (> 0), "
                         f"got {len(hypotheses)} and {len(references)}")
    return sum(list(h) == list(r) for h, r in zip(hypotheses, references)) / len(references)
