"""``train lm --level bpe``: a language model over subword pieces (:mod:`rnnkit.lm.bpe_text`).

One BPE model of ``--bpe-vocab`` pieces is learned with SentencePiece from the training file's non-blank
lines (all, in order, on one thread: the same file gives the same model), kept in the checkpoint (base64
in the JSON metadata), and every file is split with it; ``--resume`` takes it from the run's
``last.safetensors`` instead of learning it again (``--bpe-vocab`` may be left out), and refuses another
``--bpe-vocab``.  Validation and ``--test`` report, beside the per-piece loss, the per-word perplexity and
bits per character of :mod:`rnnkit.lm.units`, which stand beside a word- or character-level model's on the
same file.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.common import positive_int
from rnnkit.data.bpe import DEFAULT_VOCAB, piece_count, sentencepiece
from rnnkit.data.text import read_text
from rnnkit.data.text_ids import TextIds
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.bpe_text import counted_ids, decode_pieces, learn, sentences
from rnnkit.lm.units import TextUnits


def add_option(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--bpe-vocab", type=positive_int, default=None, metavar="N",
                       help=f"--level bpe: pieces of the BPE model learned with SentencePiece from --train "
                            f"(<unk> included; default: {DEFAULT_VOCAB}; needs pip install 'rnnkit[bpe]')")


def unused_rules(args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    """refuse_unused's rules: --bpe-vocab needs --level bpe, whose vocabulary it alone sizes."""
    bpe = args.level == "bpe"
    return [("--bpe-vocab", not bpe, "without --level bpe: add --level bpe"),
            ("--max-vocab", bpe, "with --level bpe (--bpe-vocab sizes its vocabulary): give --bpe-vocab N"),
            ("--min-count", bpe, "with --level bpe (--bpe-vocab sizes its vocabulary): give --bpe-vocab N")]


def check_installed(args: argparse.Namespace) -> None:
    """The one-line ImportError of a missing sentencepiece, before any data is read."""
    if args.level == "bpe":
        sentencepiece()


def bpe_model(args: argparse.Namespace, train_lines: list[str]) -> tuple[bytes, bool]:
    """``(model, learned)``: the run's BPE model, the resumed run's (``--resume``; its size unless --bpe-vocab is
    given, which must match), else learned from ``train_lines`` (the training text's :func:`sentences`;
    ``learned`` True: its lone characters are to be said, once, when it is learned)."""
    from rnnkit.cli.bpe_model import resumed_or_learned

    saved = _saved_model(args) if getattr(args, "resume", None) else None  # train ngram has no --resume
    size = args.bpe_vocab or (piece_count(saved) if saved is not None else DEFAULT_VOCAB)
    return resumed_or_learned(saved, size, "--bpe-vocab", lambda: learn(train_lines, size, str(args.train)),
                              str(args.train))


def _saved_model(args: argparse.Namespace) -> bytes | None:
    """The BPE model in the run's last.safetensors, or None (no such file, or another kind or level of run:
    the trainer says why it cannot resume it)."""
    from rnnkit.lm.io import checkpoint_bpe_model
    from rnnkit.train.run_files import LAST

    path = Path(args.run_dir) / LAST
    return checkpoint_bpe_model(path) if path.is_file() else None


class Reader:
    """``read_ids`` at level bpe: each file's pieces as ids, and its :class:`TextUnits` in ``units``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.model: bytes | None = None
        self.learned = False  # the model was learned now, not taken from the resumed run
        self.units: dict[str, TextUnits] = {}

    def __call__(self, path: str, level: str, encoding: str, vocab: Vocabulary | None = None,
                 max_size: int | None = None, min_count: int = 1, head: int = 200_000) -> TextIds:
        lines = sentences(read_text(path, encoding))
        if self.model is None:  # the training file, read first: the model is learned from it
            self.model, self.learned = bpe_model(self.args, lines)
        got, self.units[path] = counted_ids(lines, self.model, vocab, head, str(path))
        return got

    def warn_lone(self, vocab: Vocabulary) -> None:
        """Warn of the characters that never stand alone in the split training text, once: when the model was
        learned now (a resumed run's first training said it)."""
        if self.learned:
            from rnnkit.cli.seq2seq_bpe import warn_lone

            warn_lone(self.model, set(vocab.tokens), f"{self.args.train}'s", "--bpe-vocab")


def prime_example(head: list[str]) -> str:
    """A prime for the closing hint: the first word of the training text's first line (at most 4 characters of
    a line without spaces, such as Chinese), or "" for none."""
    first = head[: head.index("<eos>")] if "<eos>" in head else head
    words = decode_pieces(first).split()
    if not words:
        return ""
    return words[0] if len(words) > 1 else words[0][:4]  # one "word": a line of Chinese, say

