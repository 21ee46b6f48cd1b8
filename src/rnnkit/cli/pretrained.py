"""``--embeddings FILE`` and ``--freeze-embeddings``: start a word embedding from pretrained vectors.

Shared by ``rnnkit train classifier``, ``train tagger``, ``train tree`` and ``train lm``; ``train seq2seq``
reads a file per side through the same functions (:mod:`rnnkit.cli.seq2seq_pretrained`).  The vectors' size sets
the embedding size (``--embed`` may be left out, or must agree); every vocabulary word found in the
file (as it is, else lowercased) starts from its vector, the rest from the model's random
initialisation.  With ``--freeze-embeddings`` the whole table stays as it starts, the random rows
of words missing from the file (and ``<unk>``) included; ``--word-dropout`` then still regularises,
but trains no vector.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rnnkit.cli.common import positive_int
from rnnkit.cli.text_warnings import percent, warn
from rnnkit.data.vectors import WordVectors, fill_embedding, read_vectors, wanted_words
from rnnkit.data.vocab import Vocabulary
from rnnkit.train.config import TrainConfig

EMBEDDING = "embedding.weight"  # the word table's name in every model that takes pretrained vectors

# the last file read and the words kept from it: cross-validation's folds reuse one read
_LAST: tuple[tuple, frozenset[str], WordVectors] | None = None


def add_embedding_options(group: argparse._ArgumentGroup, default_size: int, what: str = "word") -> None:
    """Add ``--embed`` (default None, meaning ``default_size`` or the vectors' size), ``--embeddings``
    and ``--freeze-embeddings`` to an argument group."""
    group.add_argument("--embed", type=positive_int, default=None,
                       help=f"{what} embedding size (default: {default_size}, or the size of --embeddings' vectors)")
    add_pretrained_options(group, what)


def add_pretrained_options(group: argparse._ArgumentGroup, what: str = "word") -> None:
    """Add ``--embeddings`` and ``--freeze-embeddings`` (for a command that defines ``--embed`` itself)."""
    group.add_argument("--embeddings", metavar="FILE", default=None,
                       help=f"start the {what} embedding from pretrained vectors: GloVe, word2vec or fastText text "
                            "('word v1 ... vd' lines, .txt or .vec) or word2vec binary (.bin); .gz or .xz allowed "
                            "(default: random initialisation)")
    group.add_argument("--freeze-embeddings", action="store_true",
                       help="keep the whole embedding table fixed during training, as torch's "
                            "Embedding.from_pretrained(freeze=True) does: words without a vector keep their random "
                            "start (needs --embeddings)")


def add_extend_option(group: argparse._ArgumentGroup, files: str = "--valid and --test") -> None:
    """Add ``--extend-vocab`` (for a command that reads validation or test data before training)."""
    group.add_argument("--extend-vocab", action="store_true",
                       help=f"add to the vocabulary the words of {files} that are not in the training data but "
                            "have a vector in --embeddings, so they keep that vector instead of becoming <unk> "
                            "(as Lample et al. 2016 do; the labels are not read)")


def embeddings_option(args: argparse.Namespace) -> dict[str, Any]:
    """``{"--embeddings": ...}``, the vectors a run started from, for ``--resume`` to refuse another file (it
    said it read them, then restored the checkpoint's weights): the file's name and size, or None."""
    return file_option("--embeddings", getattr(args, "embeddings", None))


def vocabulary_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options that select a run's vocabulary (--min-count, --max-vocab, where the command has them) and
    a fingerprint of its --valid file's bytes, for ``--resume`` to name the option a user changed (it named
    only the vocabulary and the validation data they change; see :func:`rnnkit.train.digest.resume_problem`)."""
    from rnnkit.train.digest import VALID_FILE, file_digest

    valid = getattr(args, "valid", None)
    chosen = (("--min-count", "min_count"), ("--max-vocab", "max_vocab"))
    return {**{option: getattr(args, name) for option, name in chosen if hasattr(args, name)},
            VALID_FILE: file_digest([valid]) if isinstance(valid, str) else None}


def file_option(option: str, path: str | None) -> dict[str, Any]:
    """``{option: "name (size bytes)"}`` of a vectors file, or ``{option: None}`` without one."""
    if not path:
        return {option: None}
    return {option: f"{os.path.basename(path)} ({os.path.getsize(path):,} bytes)"}


def read_pretrained(args: argparse.Namespace, tokens: Sequence[str]) -> WordVectors | None:
    """Read ``--embeddings`` for these vocabulary tokens (None without it); checks the options first."""
    if args.freeze_embeddings and not args.embeddings:
        raise ValueError("--freeze-embeddings needs --embeddings FILE (there is nothing pretrained to freeze)")
    if not args.embeddings:
        return None
    vectors = read_vectors_for(args.embeddings, tokens)
    if args.embed is not None and args.embed != vectors.dim:
        raise ValueError(f"--embed {args.embed} does not match the {vectors.dim}-dimensional vectors in "
                         f"{args.embeddings}; leave --embed out or set it to {vectors.dim}")
    return vectors


def read_vectors_for(path: str, tokens: Sequence[str]) -> WordVectors:
    """The vectors of ``path`` for these vocabulary tokens (as they are, and lowercased); the last file
    read is kept, so a second call for the same file and no new words reads nothing."""
    global _LAST
    wanted = wanted_words(tokens)
    try:
        st = os.stat(path)
        key: tuple = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    except OSError:
        key = ()  # read_vectors names the problem
    if key and _LAST is not None and _LAST[0] == key and wanted <= _LAST[1]:
        return _LAST[2]
    vectors = read_vectors(path, wanted)
    _LAST = (key, frozenset(wanted), vectors)
    return vectors


def extend_vocab(args: argparse.Namespace, vocab: Vocabulary, candidates: Iterable[str]) -> Vocabulary:
    """With ``--extend-vocab``: ``vocab`` plus the candidate words (from validation and test data) that
    it lacks and that have a vector in ``--embeddings`` (as they are or lowercased), in sorted order
    after the training words.  Without the option, ``vocab`` itself."""
    if not getattr(args, "extend_vocab", False):
        return vocab
    if not args.embeddings:
        raise ValueError("--extend-vocab needs --embeddings FILE (it adds the words that have a vector there)")
    candidates = set(candidates)
    if not candidates:
        raise ValueError("--extend-vocab adds the words of the evaluation data (--valid, --test), and there is "
                         "none; give --valid or --test, or leave --extend-vocab out")
    known = set(vocab.tokens)
    new = sorted(candidates - known)
    vectors = read_pretrained(args, [*vocab.tokens, *new])  # one read serves the extended vocabulary too
    have = set(vectors.words)
    added = [w for w in new if w in have or w.lower() in have]
    print(f"vocabulary: {len(added):,} of the {len(new):,} words of the evaluation data missing from the training "
          f"data have a vector and are added ({len(vocab):,} -> {len(vocab) + len(added):,})", file=sys.stderr)
    return Vocabulary([*vocab.tokens, *added], unk_token=vocab.unk_token, eos_token=vocab.eos_token)


def embedding_size(args: argparse.Namespace, vectors: WordVectors | None, default_size: int) -> int:
    """The embedding size: the vectors', else ``--embed``, else the command's default."""
    if vectors is not None:
        return vectors.dim
    return args.embed if args.embed is not None else default_size


def apply_pretrained(args: argparse.Namespace, params: dict[str, np.ndarray], tokens: Sequence[str],
                     vectors: WordVectors | None, cfg: TrainConfig) -> TrainConfig:
    """Fill the model's word table from the vectors, say how many words were found, and return the
    training configuration (with the table frozen under ``--freeze-embeddings``)."""
    if vectors is None:
        return cfg
    unit = "characters" if getattr(args, "level", "word") == "char" else "words"
    fill_pretrained(params[EMBEDDING], tokens, vectors, args.embeddings, unit, args.freeze_embeddings)
    return freeze(cfg, (EMBEDDING,)) if args.freeze_embeddings else cfg


def fill_pretrained(table: np.ndarray, tokens: Sequence[str], vectors: WordVectors, path: str, unit: str = "words",
                    frozen: bool = False, label: str = "embeddings") -> None:
    """Fill ``table`` (V, E) from the vectors read from ``path``, and say (as ``label: ...``) how many of the
    vocabulary's ``unit`` (words, characters) were found, warning when none was."""
    cov = fill_embedding(table, tokens, vectors)
    skipped = f"; {vectors.skipped:,} entries with a word that is not UTF-8 skipped" if vectors.skipped else ""
    print(f"{label}: {cov.found:,} of {cov.total:,} vocabulary {unit} have a vector in {path} "
          f"({percent(cov.found, cov.total)}, {cov.lowercased:,} of them lowercased; {vectors.entries:,} "
          f"vectors of size {vectors.dim} in the file{skipped}); the others start random"
          + (", and the table is frozen" if frozen else ""), file=sys.stderr)
    if cov.found == 0:
        warn(f"no vocabulary word has a vector in {path}, so the {label} are all random: are the "
             "vectors of another language, or of another tokenisation (a vocabulary of characters, --level char)?")


def freeze(cfg: TrainConfig, names: Sequence[str]) -> TrainConfig:
    """``cfg`` with the parameters ``names`` kept fixed as well (``TrainConfig.frozen``)."""
    return dataclasses.replace(cfg, frozen=tuple(cfg.frozen) + tuple(names))
