"""The BPE model of a ``train`` run at level ``bpe`` (``train lm --level bpe``, a ``train seq2seq`` side):
the resumed run's, whose size must match, else learned now; said on standard error either way."""
from __future__ import annotations

import sys
import time
from typing import Callable

from rnnkit.data.bpe import piece_count
from rnnkit.english import a_or_an


def resumed_or_learned(saved: bytes | None, size: int, option: str, learn: Callable[[], bytes],
                       of: str) -> tuple[bytes, bool]:
    """``(model, learned)``: ``saved``, the resumed run's BPE model of ``size`` pieces (a one-line ValueError
    naming ``option``, what set the size, when it has another), else ``learn()``'s, timed (``learned`` True);
    said on stderr.  ``of``: the text the model splits, as the messages name it (a language model's training
    file, a translation model's "the source side")."""
    if saved is not None:
        if piece_count(saved) != size:
            raise ValueError(f"--resume: this run's BPE model of {of} has {piece_count(saved):,} pieces, and "
                             f"{option} asks for {size:,}; resume with {option} {piece_count(saved)}, or start a "
                             "new run without --resume")
        print(f"bpe: the resumed run's {size:,}-piece model of {of}", file=sys.stderr)
        return saved, False
    start = time.perf_counter()
    try:
        model = learn()
    except ValueError as exc:  # "vocab_size ..." said as the option that set it
        raise ValueError(str(exc).replace("vocab_size", option, 1)) from None
    print(f"bpe: learned {a_or_an(size)} {size:,}-piece model of {of} in {time.perf_counter() - start:.1f}s",
          file=sys.stderr)
    return model, True
