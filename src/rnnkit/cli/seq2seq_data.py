"""How the seq2seq commands read sentence pairs: two parallel files or one TSV, empty files named with
their option, the references BLEU is computed against, and train seq2seq's pairs as ids."""
from __future__ import annotations

import argparse
from typing import Any, NoReturn

from rnnkit.data.parallel import (
    SentencePair,
    decode_ids,
    encode_pairs,
    read_parallel,
    read_tsv_pairs,
)
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.errors import DataError


def pair_files(option: str, files: list[str] | None) -> list[str] | None:
    if files is not None and len(files) not in (1, 2):
        raise ValueError(f"Expected {option} SRC TGT (parallel files) or {option} PAIRS.tsv, got {len(files)} files")
    return files


def columns(text: str) -> tuple[int, int]:
    """argparse type of --columns: two 0-based column indices, source then target ("1,2")."""
    parts = text.split(",")
    try:
        pair = tuple(int(p) for p in parts)
    except ValueError:
        pair = ()
    if len(pair) != 2 or min(pair) < 0 or pair[0] == pair[1]:
        raise argparse.ArgumentTypeError(f"Expected two different 0-based column indices, source then target, "
                                         f"such as 1,2; got {text!r}")
    return pair  # type: ignore[return-value]


def read_pairs(files: list[str], source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
               encoding: str = "utf-8", tsv_columns: tuple[int, int] | None = None,
               header: bool = False) -> list[SentencePair]:
    """Pairs of two parallel files, or of one TSV file (its ``tsv_columns``, when it has more than two; ``header``:
    skip its first line); either TSV option with two files is refused, as it would have no effect."""
    if len(files) == 2:
        for option, does, given in (("--columns", "picks the columns", tsv_columns is not None),
                                    ("--header", "skips the first line", header)):
            if given:
                raise ValueError(f"{option} {does} of a TSV file of pairs, and the pairs are two files parallel by "
                                 f"line ({files[0]}, {files[1]}): leave {option} out")
        return read_parallel(files[0], files[1], source_tokenizer, target_tokenizer, encoding)
    return read_tsv_pairs(files[0], source_tokenizer, target_tokenizer, encoding, tsv_columns, header)


def unk_rate(pairs: list[SentencePair], side: int, vocab: Any) -> float:
    tokens = [tok for p in pairs for tok in p[side]]
    return sum(tok not in vocab for tok in tokens) / max(1, len(tokens))


def read_nonempty(option: str, files: list[str], tok: Tokenizer, encoding: str,
                  tsv_columns: tuple[int, int] | None = None,
                  target_tok: Tokenizer | None = None, header: bool = False) -> list[SentencePair]:
    """The pairs of ``option``'s files, the source read with ``tok`` and the target with ``target_tok``
    (default: ``tok``), a TSV file's first line skipped with ``header``; an empty file is a DataError naming it
    and the option."""
    files = pair_files(option, files)
    tsv = len(files) == 1  # the TSV options apply to train seq2seq's TSV files, not to its parallel ones
    try:
        pairs = read_pairs(files, tok, target_tok or tok, encoding, tsv_columns if tsv else None, header and tsv)
    except DataError as exc:
        if tsv and "a line without a tab" in str(exc):
            raise DataError(f"{exc}; {option} takes SRC TGT (two files parallel by line) or one TSV file of "
                            "pairs") from None
        raise
    if not pairs:
        empty_pairs(files, f"no {dict(train='training', valid='validation').get(option[2:], option[2:])} pairs")
    return pairs


def read_splits(args: argparse.Namespace, src_tok: Tokenizer, tok: Tokenizer) -> tuple[list[SentencePair], ...]:
    """train seq2seq's --train, --valid and --test pairs (None for one not given), read with its --encoding,
    --columns and --header; the source side with ``src_tok``, the target with ``tok``."""
    return tuple(read_nonempty(f"--{which}", files, src_tok, args.encoding, args.columns, tok, args.header)
                 if files else None for which, files in (("train", args.train), ("valid", args.valid),
                                                         ("test", args.test)))


def encode_splits(args: argparse.Namespace, src_vocab: Any, tgt_vocab: Any, tok: Tokenizer, train: Any, valid: Any) -> tuple:
    """(train ids, valid ids or None, detokenize output ids, each valid source's words outside the target vocabulary or
    None): with --copy the extended ids of :mod:`rnnkit.seq2seq.copy` (valid's ids and words from one pass)."""
    def detokenize(ids: Any, oovs: Any = ()) -> str:
        return decode_ids(ids, tgt_vocab, tok, oovs)

    if not getattr(args, "copy", False):
        valid_ids = None if valid is None else encode_pairs(valid, src_vocab, tgt_vocab)
        return encode_pairs(train, src_vocab, tgt_vocab), valid_ids, detokenize, None
    from rnnkit.seq2seq.copy import copy_pairs_and_oovs, encode_copy_pairs

    valid_ids, oovs = (None, None) if valid is None else copy_pairs_and_oovs(valid, src_vocab, tgt_vocab)
    return encode_copy_pairs(train, src_vocab, tgt_vocab), valid_ids, detokenize, oovs


def empty_pairs(files: list[str], what: str, target: str = "target") -> NoReturn:
    """Raise the DataError for empty pair files (read_parallel has rejected two files of different
    lengths: with two, both are empty)."""
    raise DataError(f"{files[0]}: empty file, {what}; expected "
                    + (f"one source sentence a line, parallel to the {target} sentences in {files[1]} (also empty)"
                       if len(files) == 2 else f"source<TAB>{target} lines"))


def reference(text: str, tokenizer: Tokenizer) -> str:
    """The raw reference, lowercased when the model's targets are: its output has no case to match."""
    return text.lower() if tokenizer.lowercase else text
