"""The checks the demos' training configs share (:class:`rnnkit.demos.pointer_sort.PointerDemoConfig`,
:class:`rnnkit.demos.ctc.CTCDemoConfig`): sizes, the range of training lengths, and the optimizer's numbers."""
from __future__ import annotations

from typing import Any

from rnnkit.checks import check_int, check_number


def check_length_training(cfg: Any) -> None:
    """``cfg.steps``, ``hidden`` and ``batch_size`` integers >= 1, 1 <= ``min_len`` <= ``max_len``, ``lr`` > 0
    and ``clip`` > 0; ValueError naming the field otherwise."""
    for name in ("steps", "hidden", "batch_size"):
        check_int(name, getattr(cfg, name), 1)
    check_int("min_len", cfg.min_len, 1)
    if cfg.max_len < cfg.min_len:
        raise ValueError(f"Expected min_len <= max_len, got {cfg.min_len} and {cfg.max_len}")
    check_number("lr", cfg.lr, low=0.0, low_open=True)
    check_number("clip", cfg.clip, low=0.0, low_open=True)
