"""``train seq2seq --level bpe``: subword units (Sennrich et al., 2016) learned with SentencePiece.

A side at level ``bpe`` is read like any other, then a BPE model of ``--bpe-vocab`` pieces (per side:
``--source-bpe-vocab`` / ``--target-bpe-vocab``) is learned from that side's training lines
(:func:`rnnkit.data.bpe.train_bpe`: all lines, in order, no sampling, so the same data give the same
model) and every pair is split into its pieces.  The model rides in the side's tokenizer, which the
checkpoint stores, so ``translate`` and ``evaluate`` need no other file; ``--resume`` takes the models
from the run's ``last.safetensors`` rather than learning them again.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.bpe_model import resumed_or_learned
from rnnkit.cli.common import positive_int
from rnnkit.data.bpe import DEFAULT_VOCAB, characters, sentencepiece, train_bpe
from rnnkit.data.parallel import SentencePair
from rnnkit.data.tokenizer import Tokenizer

SIDES = ("source", "target")


def add_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--bpe-vocab", type=positive_int, default=None, metavar="N",
                       help=f"--level bpe: pieces of each side's BPE model, learned with SentencePiece from the "
                            f"training side (default: {DEFAULT_VOCAB}; needs pip install 'rnnkit[bpe]')")
    for side in SIDES:
        group.add_argument(f"--{side}-bpe-vocab", type=positive_int, default=None, metavar="N",
                           help=f"pieces of the {side} side's BPE model alone (default: --bpe-vocab)")


def levels(args: argparse.Namespace) -> tuple[str, str]:
    """The source and the target side's levels: --source-level and --target-level, each --level unless given."""
    return tuple(getattr(args, f"{side}_level") or args.level for side in SIDES)  # type: ignore[return-value]


def unused_rules(args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    """refuse_unused's rules for the BPE options: each needs a side at level bpe."""
    bpe = [level == "bpe" for level in levels(args)]
    rules = [("--bpe-vocab", not any(bpe), "without a side at level bpe: add --level bpe (or --source-level / "
                                           "--target-level bpe)")]
    own = [side for side, is_bpe in zip(SIDES, bpe) if is_bpe and getattr(args, f"{side}_bpe_vocab") is not None]
    if any(bpe) and len(own) == sum(bpe):  # every bpe side has its own size: --bpe-vocab sets none
        rules.append(("--bpe-vocab", True, "with both --source-bpe-vocab and --target-bpe-vocab, which set each "
                                           "side: drop one of them" if len(own) == 2 else
                      f"with --{own[0]}-bpe-vocab, which sets the {own[0]} side, the only one at level bpe"))
    for side, is_bpe in zip(SIDES, bpe):
        rules.append((f"--{side}-bpe-vocab", not is_bpe, f"when the {side} side is not at level bpe: add "
                                                         f"--{side}-level bpe"))
    return rules


def check_installed(args: argparse.Namespace) -> None:
    """The one-line ImportError of a missing sentencepiece, before any data is read."""
    if "bpe" in levels(args):
        sentencepiece()


def reading_tokenizer(level: str, lowercase: bool) -> Tokenizer:
    """The tokenizer a side is read with: ``word`` for a bpe side until its model is learned."""
    return Tokenizer("word" if level == "bpe" else level, lowercase)


def _size_option(args: argparse.Namespace, side: str) -> str:
    """The option that set ``side``'s vocabulary size, for a message: its own, or the shared --bpe-vocab."""
    return f"--{side}-bpe-vocab" if getattr(args, f"{side}_bpe_vocab") else "--bpe-vocab"


def learn(args: argparse.Namespace, train: list[SentencePair], tokenizers: tuple[Tokenizer, Tokenizer]
          ) -> tuple[Tokenizer, Tokenizer, tuple[str, ...]]:
    """The sides' tokenizers, a bpe side's with its model: from the resumed run's checkpoint on
    ``--resume``, else learned from the training pairs' raw lines of that side; and the sides whose model was
    learned now (:func:`warn_lone_characters` speaks of those alone)."""
    saved = _saved_tokenizers(args) if getattr(args, "resume", False) else None
    out = []
    learned = []
    for k, (side, level, tok) in enumerate(zip(SIDES, levels(args), tokenizers)):
        if level != "bpe":
            out.append(tok)
            continue
        size = getattr(args, f"{side}_bpe_vocab") or args.bpe_vocab or DEFAULT_VOCAB
        old = saved[k] if saved else None
        kept = old is not None and old.level == "bpe" and old.lowercase == tok.lowercase
        what = f"the {side} side of {' '.join(args.train)}"
        # the raw lines, as tokenize sees them: lowercased under --lowercase
        model, now = resumed_or_learned(old.bpe_model if kept else None, size, _size_option(args, side),
                                        lambda: train_bpe((p[2 + k].lower() if tok.lowercase else p[2 + k]
                                                           for p in train), size, what), f"the {side} side")
        out.append(Tokenizer("bpe", tok.lowercase, model) if now else old)
        if now:
            learned.append(side)
    return out[0], out[1], tuple(learned)


def _saved_tokenizers(args: argparse.Namespace) -> tuple[Tokenizer, Tokenizer] | None:
    """The tokenizers in the run's last.safetensors, or None (no such file, or another kind of run:
    the trainer says why it cannot resume it)."""
    from rnnkit import checkpoint as ckpt
    from rnnkit.checkpoint_task import reading_metadata
    from rnnkit.train.run_files import LAST

    path = Path(args.run_dir) / LAST
    if not path.is_file():
        return None
    task = ckpt.load_meta(path).get("task") or {}
    if task.get("model") != "seq2seq":
        return None
    with reading_metadata(path, "translation-model"):
        return (Tokenizer.from_dict(task["source_tokenizer"]), Tokenizer.from_dict(task["target_tokenizer"]))


def retokenize(pairs: list[SentencePair] | None, tokenizers: tuple[Tokenizer, Tokenizer]
               ) -> list[SentencePair] | None:
    """``pairs`` with a bpe side split into its pieces (from the raw lines they keep)."""
    if pairs is None or all(t.level != "bpe" for t in tokenizers):
        return pairs
    src, tgt = tokenizers
    return [p._replace(source=src.tokenize(p.source_text) if src.level == "bpe" else p.source,
                       target=tgt.tokenize(p.target_text) if tgt.level == "bpe" else p.target) for p in pairs]


def warn_lone_characters(args: argparse.Namespace, train: list[SentencePair],
                         tokenizers: tuple[Tokenizer, Tokenizer], learned: tuple[str, ...] = SIDES) -> None:
    """One warning line per bpe side with characters that never stand alone in its split training text
    (``喜`` always inside ``喜欢``): the vocabulary, made of those pieces, has no row for them, so new text that
    needs one alone reads it as <unk>.  Fewer merges leave more characters alone: a smaller vocabulary helps,
    a larger one makes it worse.  A row for each would be untrained, no better than <unk>, so none is added.
    Said once, when the model is learned: only for the sides in ``learned`` (:func:`learn`'s), not for a model
    a ``--resume`` took from the run, whose first training said it (its vocabulary is the run's too)."""
    for k, (side, tok) in enumerate(zip(SIDES, tokenizers)):
        if tok.level != "bpe" or side not in learned:
            continue
        alone = {piece for pair in train for piece in pair[k]}
        warn_lone(tok.bpe_model, alone, f"the {side} side's", _size_option(args, side))


def warn_lone(model: bytes, alone: set[str], whose: str, option: str) -> None:
    """The warning line of the characters of BPE ``model`` outside ``alone``, the pieces of the split training
    text (see :func:`warn_lone_characters`); ``whose``: "the source side's", ``option``: what sets its size."""
    from rnnkit.cli.text_warnings import warn

    known = characters(model)
    lone = [c for c in known if c not in alone]
    if not lone:
        return
    shown = " ".join("▁ (a word's start)" if c == "▁" else c for c in lone[:8]) + (" ..." if len(lone) > 8 else "")
    warn(f"bpe: {len(lone):,} of {whose} {len(known):,} characters never stand "
         f"alone in its training text ({shown}), so they have no vocabulary row and new text that needs one "
         f"alone reads it as <unk>; a smaller {option} (fewer merges) or a larger training text leaves more "
         "of them alone")
