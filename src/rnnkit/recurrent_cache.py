"""What :meth:`rnnkit.recurrent.Recurrent.forward` keeps for :meth:`~rnnkit.recurrent.Recurrent.backward`:
per layer its input dropout mask, one kernel cache per direction and the DropConnect masks, and for the
whole stack the batch's sort by length and the time reversal of the reverse direction."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LayerCache(NamedTuple):
    """One layer's part of :class:`RecurrentCache`: its input dropout mask, kernel caches, DropConnect masks."""
    drop_mask: np.ndarray | None  # (T, B, D_l) scaled dropout mask on this layer's input
    directions: list  # one kernel cache per direction
    hh_masks: list  # per direction: (gates * H, H) scaled DropConnect mask on weight_hh, or None


class RecurrentCache(NamedTuple):
    """What :meth:`~rnnkit.recurrent.Recurrent.backward` needs from its forward: the whole stack's part."""
    layers: list[LayerCache]
    order: np.ndarray | None  # batch permutation sorting by length, None without padding
    inverse: np.ndarray | None
    rev_index: np.ndarray | None  # (T, B) per-sequence time reversal, sorted order
    used_learned_init: bool
    shape: tuple[int, int]  # (T, B)
    owner: int  # id() of the layer whose forward made it: backward refuses another layer's cache
