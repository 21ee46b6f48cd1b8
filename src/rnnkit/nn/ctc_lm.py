r"""The language model of a CTC prefix beam search with shallow fusion (:func:`rnnkit.nn.ctc_decode.prefix_beam_search`):
what it may be, turned into one callable.

The search asks ``lm(prefix)`` for log P_lm(k | prefix) of every class k, ``prefix`` being the labels so far (a
tuple of class indices, blank-free; ``()`` the start); the blank's entry is never read.  Such a callable may be
passed as it is, or an :class:`rnnkit.lm.ngram.NGramLM` fitted over the labels alone: its token i is the i-th
label in class order with the blank left out (class k is token k for k < blank, k - 1 above it; with blank = 0,
token k - 1), so ``vocab_size`` is C - 1, and each labelling is one of its sequences (fitted without
``eos_id``, a labelling starts from its ``<s>``).  No end-of-sequence probability is added: the search scores
prefixes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

LabelLM = Callable[[tuple[int, ...]], Sequence[float]]  # prefix -> log P_lm(k | prefix), (C,)


class NGramLabelLM:
    """An n-gram model over the labels as a :data:`LabelLM` (module docstring), its distributions cached by the
    last order - 1 labels (all it conditions on): a beam search asks for the same few again and again."""

    def __init__(self, model, C: int, blank: int) -> None:
        if model.vocab_size_ != C - 1:
            raise ValueError(f"Expected an n-gram model over the {C - 1} labels (C = {C} classes without the blank), "
                             f"got one of vocabulary {model.vocab_size_}: fit it on the labels numbered without the "
                             f"blank (class k > blank is token k - 1)")
        self.model, self.blank = model, blank
        self.keep = model.order - 1  # labels of history the model reads
        self.cache: dict[tuple[int, ...], list[float]] = {}

    def __call__(self, prefix: tuple[int, ...]) -> list[float]:
        tail = prefix[-self.keep:] if self.keep else ()  # all of a prefix shorter than that: <s> goes in front
        history = tuple(k - (k > self.blank) for k in tail)  # classes -> the model's token ids
        if history not in self.cache:
            with np.errstate(divide="ignore"):  # a probability 0 (add-delta never, Katz can) is log 0 = -inf
                logp = np.log(self.model.distribution(history))  # (C - 1,)
            self.cache[history] = np.insert(logp, self.blank, 0.0).tolist()  # (C,) the blank's entry unread
        return self.cache[history]


def label_lm(lm: object, C: int, blank: int) -> LabelLM | None:
    """``lm`` as a :data:`LabelLM`: None stays None, an NGramLM is wrapped (:class:`NGramLabelLM`), a callable
    is taken as it is."""
    from rnnkit.lm.ngram import NGramLM  # here: rnnkit.lm imports rnnkit.nn

    if lm is None:
        return None
    if isinstance(lm, NGramLM):
        lm._check_fitted()
        return NGramLabelLM(lm, C, blank)
    if not callable(lm):
        raise TypeError(f"Expected lm to be an NGramLM over the labels, a callable prefix -> log-probabilities (C,) "
                        f"or None, got {type(lm).__name__}")
    return lm
