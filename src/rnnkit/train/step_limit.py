"""What a run stopped by ``max_steps`` says: the steps it trained after its last epoch's end, which no
validation saw, are in last.safetensors only; best.safetensors is an earlier epoch's.

Without this line a run stopped part-way through an epoch ended its output at the previous epoch's
line, as if the last steps had never run (``train tagger --max-steps 40`` at 32 steps an epoch: 'epoch 1
done', then 'model saved: best.safetensors', with the 8 steps of epoch 2 only in last.safetensors).
"""
from __future__ import annotations

from typing import Any

from rnnkit.train.position import steps_into_epoch
from rnnkit.train.run_files import BEST, LAST


def step_limit_note(step: int, epoch: int, epochs: int, history: list[dict[str, Any]], has_best: bool) -> str:
    """The line for a run that reached ``max_steps`` at ``step`` with ``epoch`` epochs ended (of
    ``epochs``); ``history`` the epoch-end records (each with its ``step`` and whether it was the
    ``best``); ``has_best``: a best checkpoint is in the run folder.  "" when the run ended its last epoch."""
    ended = [r for r in history if r.get("type", "epoch") == "epoch"]
    into = steps_into_epoch(step, history) or 0  # steps since the last epoch's end
    if into <= 0:
        return "" if epoch >= epochs else f"stopped at step {step:,} (max_steps) after epoch {epoch} of {epochs}"
    best = [r["epoch"] for r in ended if r.get("best")]
    them = "it" if into == 1 else "them"
    line = (f"stopped at step {step:,} (max_steps), {into:,} step{'s' * (into != 1)} into epoch {epoch + 1}, "
            f"which is not validated: {LAST} has {them}")
    if has_best and best:
        line += f", {BEST} is epoch {best[-1]}'s (the best validated)"
    return line
