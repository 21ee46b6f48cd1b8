"""Parallel corpora for translation: reading sentence pairs, tokenising, vocabularies, padded batches.

Two layouts are read: two files parallel by line (``train.de.gz`` / ``train.en.gz``, as Multi30k is
published) and one TSV file of ``source<TAB>target`` lines.  Files may be ``.gz`` or ``.xz``; CRLF line
ends and a byte-order mark are accepted.  An empty line, or files of different lengths, raise
:class:`rnnkit.errors.DataError` naming the file(s) and line: silently dropping a line from one side
would shift every later pair out of alignment.

Each side has its own :class:`rnnkit.data.tokenizer.Tokenizer` (``word``, ``punct`` or ``char``,
optionally lowercased).  Every pair also keeps its raw, untokenised line:
BLEU is computed on detokenised output against that raw reference (see :mod:`rnnkit.metrics.translation`),
so the tokeniser's choices never change the score's reference.

Vocabularies put the specials first, ``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2, ``<unk>`` = 3 (the
same PAD/BOS/EOS ids as :mod:`rnnkit.seq2seq.toy`), then tokens by count.  A batch is time-major::

    src (S, B)       x_1 .. x_n, then PAD          src_lengths (B,) = n
    tgt_in (T, B)    BOS y_1 .. y_m, then PAD      tgt_out (T, B) = y_1 .. y_m EOS, then PAD
    tgt_mask (T, B)  True on the m + 1 real target positions       T = longest m + 1
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np

from rnnkit.checks import check_int
from rnnkit.data.files import read_text_file, text_lines
from rnnkit.data.pair_header import refuse_header, warn_not_header
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.data.vocab import EOS, UNK, Vocabulary
from rnnkit.errors import DataError
from rnnkit.fielddoc import fields_in_doc
from rnnkit.packing import length_batches

PAD = "<pad>"
BOS = "<bos>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")
MULTI30K_LANGUAGES = ("en", "de", "fr")

class SentencePair(NamedTuple):
    """One sentence pair of a parallel corpus, tokenised, with its raw text and line number."""

    source: list[str]  # tokens
    target: list[str]  # tokens
    source_text: str  # the raw line, outer whitespace stripped
    target_text: str  # the raw line: the reference for detokenised BLEU
    line: int  # 1-based line number in the file(s)


def _lines(path: str | os.PathLike, encoding: str) -> list[str]:
    return text_lines(read_text_file(path, encoding))


def _pair(src: str, tgt: str, line: int, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer) -> SentencePair:
    src = src.strip()
    tgt = tgt.strip()
    return SentencePair(source_tokenizer.tokenize(src), target_tokenizer.tokenize(tgt), src, tgt, line)


def _tokenizers(source: Tokenizer | None, target: Tokenizer | None, default: Tokenizer) -> tuple[Tokenizer, Tokenizer]:
    for name, tok in (("source_tokenizer", source), ("target_tokenizer", target)):
        if tok is not None and not isinstance(tok, Tokenizer):
            raise TypeError(f"Expected {name} to be a Tokenizer or None, got {type(tok).__name__}")
    return source or default, target or default


def read_parallel(
    source_path: str | os.PathLike,
    target_path: str | os.PathLike,
    source_tokenizer: Tokenizer | None = None,
    target_tokenizer: Tokenizer | None = None,
    encoding: str = "utf-8",
) -> list[SentencePair]:
    """Pairs from two files parallel by line (``.gz``/``.xz`` too); tokenisers default to ``word``."""
    source_tokenizer, target_tokenizer = _tokenizers(source_tokenizer, target_tokenizer, Tokenizer())
    src_lines = _lines(source_path, encoding)
    tgt_lines = _lines(target_path, encoding)
    if len(src_lines) != len(tgt_lines):
        raise DataError(
            f"{source_path} has {len(src_lines):,} lines but {target_path} has {len(tgt_lines):,}; the files must "
            f"be parallel line by line (line {min(len(src_lines), len(tgt_lines)) + 1} has no partner): "
            f"check that they are the two sides of the same corpus and split"
        )
    pairs = []
    for number, (src, tgt) in enumerate(zip(src_lines, tgt_lines), start=1):
        for path, text in ((source_path, src), (target_path, tgt)):
            if not text.strip():
                raise DataError(f"{path}:{number}: empty line; every line needs a sentence: delete line "
                                f"{number} from both {source_path} and {target_path}, or fill it in")
        pairs.append(_pair(src, tgt, number, source_tokenizer, target_tokenizer))
    return pairs


def read_tsv_pairs(
    path: str | os.PathLike,
    source_tokenizer: Tokenizer | None = None,
    target_tokenizer: Tokenizer | None = None,
    encoding: str = "utf-8",
    columns: tuple[int, int] | None = None,
    header: bool = False,
) -> list[SentencePair]:
    """Pairs from ``source<TAB>target`` lines; ``columns`` = (source, target), 0-based, picks them from
    lines of more fields (Tatoeba's files add an attribution: ``columns=(0, 1)``).  ``header=True`` skips the
    first line; without it, a first line whose two fields are column names (``source<TAB>target``,
    ``zh<TAB>en``) raises DataError rather than becoming a pair (:mod:`rnnkit.data.pair_header`), one that may be
    (``input<TAB>output``) a warning; with it, a first line that reads as a pair is warned about, as it is dropped.

    Every line must have as many tab-separated fields as the first one: a stray tab inside a sentence
    would otherwise silently move words to the wrong side.  Without ``columns`` a line must have two:
    which two of three fields are the pair is not for the reader to guess (an id<TAB>source<TAB>target
    file would otherwise train id -> source).
    """
    source_tokenizer, target_tokenizer = _tokenizers(source_tokenizer, target_tokenizer, Tokenizer())
    chosen = columns is not None
    columns = (0, 1) if columns is None else columns
    if len(columns) != 2 or not all(isinstance(c, int) and not isinstance(c, bool) for c in columns):
        raise ValueError(f"Expected columns to be two ints (source, target), got {columns!r}")
    src_col, tgt_col = columns
    pairs = []
    n_fields = 0
    lines = _lines(path, encoding)
    for number, line in enumerate(lines, start=1):
        if header and number == 1:
            continue
        where = f"{path}:{number}"
        if not line.strip():
            raise DataError(f"{where}: empty line; expected source<TAB>target: delete the line")
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{where}: expected source<TAB>target, got a line without a tab "
                            f"(are the columns separated by spaces?)")
        if n_fields == 0:
            n_fields = len(fields)
            if n_fields > 2 and not chosen:
                raise DataError(f"{where}: {n_fields} tab-separated fields, and a pair is two (source<TAB>target); "
                                "say which are the source and the target (rnnkit's --columns S,T or the reader's "
                                "columns=(S, T), 0-based), or cut the file to two columns")
            if not (-n_fields <= src_col < n_fields and -n_fields <= tgt_col < n_fields):
                raise DataError(f"{where}: columns={columns} but the line has {n_fields} fields; choose "
                                f"indices from 0 to {n_fields - 1} (rnnkit's --columns applies to every TSV file "
                                "given: give them all the same columns)")
        elif len(fields) != n_fields:
            raise DataError(f"{where}: expected {n_fields} tab-separated fields like line 1, got "
                            f"{len(fields)}; is there a tab inside a sentence?")
        for side, col in (("source", src_col), ("target", tgt_col)):
            if not fields[col].strip():
                raise DataError(f"{where}: the {side} (field {col % n_fields + 1}) is empty; "
                                f"every pair needs both sentences")
        if number == 1:
            refuse_header(path, [fields[src_col], fields[tgt_col]])
        pairs.append(_pair(fields[src_col], fields[tgt_col], number, source_tokenizer, target_tokenizer))
    if header and lines and not pairs:  # the line header=True skipped, and nothing after it
        raise DataError(f"{path}: has a header line and no pair after it (header=True, --header, skips the first "
                        "line); add source<TAB>target lines below it, or leave out --header if the line is a pair")
    skipped = lines[0].split("\t") if header and lines else []
    if pairs and len(skipped) == n_fields:  # the skipped line as the others are read: its pair, if it is one
        warn_not_header(path, [skipped[src_col], skipped[tgt_col]])
    return pairs


def multi30k_files(root: str | os.PathLike, split: str = "train", source_lang: str = "de",
                   target_lang: str = "en") -> tuple[Path, Path]:
    """Paths ``root/{split}.{lang}.gz`` of a Multi30k task-1 split (or under ``root/task1_raw``)."""
    if split not in MULTI30K_SPLITS:
        raise ValueError(f"Expected split to be one of {MULTI30K_SPLITS}, got {split!r}")
    for name, lang in (("source_lang", source_lang), ("target_lang", target_lang)):
        if lang not in MULTI30K_LANGUAGES:
            raise ValueError(f"Expected {name} to be one of {MULTI30K_LANGUAGES}, got {lang!r}")
    if source_lang == target_lang:
        raise ValueError(f"Expected two different languages, got {source_lang!r} twice")
    root = Path(root)
    folder = root / "task1_raw" if (root / "task1_raw").is_dir() else root
    paths = (folder / f"{split}.{source_lang}.gz", folder / f"{split}.{target_lang}.gz")
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: no such file; give the folder holding Multi30k's "
                            f"{{train,val,test_2016_flickr}}.{{en,de,fr}}.gz")
    return paths


def read_multi30k(root: str | os.PathLike, split: str = "train", source_lang: str = "de", target_lang: str = "en",
                  source_tokenizer: Tokenizer | None = None,
                  target_tokenizer: Tokenizer | None = None) -> list[SentencePair]:
    """Pairs of a Multi30k split; the raw text is untokenised, so tokenisers default to ``punct``."""
    source_tokenizer, target_tokenizer = _tokenizers(source_tokenizer, target_tokenizer, Tokenizer("punct"))
    src, tgt = multi30k_files(root, split, source_lang, target_lang)
    return read_parallel(src, tgt, source_tokenizer, target_tokenizer)


def build_vocab(sentences: Iterable[Sequence[str]], max_size: int | None = None, min_count: int = 1) -> Vocabulary:
    """Vocabulary of one side: ``<pad> <bos> <eos> <unk>``, then tokens by (count desc, token).

    ``max_size`` counts the four specials.  A literal ``<pad>`` or ``<bos>`` in the text is read as the
    special, like a literal ``<unk>`` or ``<eos>`` in :class:`Vocabulary`.
    """
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)):
        raise TypeError(f"Expected max_size to be an int or None, got {type(max_size).__name__}")
    if max_size is not None and max_size < len(SPECIALS):
        raise ValueError(f"Expected max_size >= {len(SPECIALS)} (room for {SPECIALS}), got {max_size}")
    tokens = (tok for sent in sentences for tok in sent if tok != PAD and tok != BOS)
    inner_size = None if max_size is None else max_size - 2  # Vocabulary.build adds <unk>, <eos> itself
    inner = Vocabulary.build(tokens, max_size=inner_size, min_count=min_count)
    return Vocabulary(list(SPECIALS) + inner.tokens[2:], unk_token=UNK, eos_token=EOS)


def check_vocab(vocab: Vocabulary, name: str) -> None:
    """TypeError or ValueError unless ``vocab`` is a Vocabulary starting with the specials build_vocab puts first."""
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"Expected {name} to be a Vocabulary, got {type(vocab).__name__}")
    # decode, not .tokens: that property copies the whole list, and decode_ids runs once per sentence
    first = tuple(vocab.decode(range(min(len(vocab), len(SPECIALS)))))
    if first != SPECIALS:
        raise ValueError(f"Expected {name} to start with {SPECIALS} (made by build_vocab), got {first}")


def encode_pairs(pairs: Sequence[SentencePair], source_vocab: Vocabulary,
                 target_vocab: Vocabulary) -> list[tuple[np.ndarray, np.ndarray]]:
    """(source ids (n,), target ids (m,)) int64 per pair, without BOS/EOS (batching adds them)."""
    check_vocab(source_vocab, "source_vocab")
    check_vocab(target_vocab, "target_vocab")
    return [(source_vocab.encode(p[0]), target_vocab.encode(p[1])) for p in pairs]


def decode_ids(ids: Iterable[int], vocab: Vocabulary, tokenizer: Tokenizer, oovs: Sequence[str] = ()) -> str:
    """Detokenised text of decoder output ids: cut at the first EOS, PAD and BOS dropped; with ``oovs``, a copy
    model's extended ids as :func:`decode_extended` reads them."""
    check_vocab(vocab, "vocab")
    kept = []
    for i in ids:
        if int(i) == EOS_ID:
            break
        if int(i) not in (PAD_ID, BOS_ID):
            kept.append(int(i))
    return tokenizer.detokenize(decode_extended(kept, vocab, oovs) if oovs else vocab.decode(kept))


def decode_extended(ids: Sequence[int], target_vocab: Vocabulary, oovs: Sequence[str]) -> list[str]:
    """The tokens of output ids, an extended id V + k (a copy model's: :mod:`rnnkit.seq2seq.copy`) as the source's
    k-th word outside the target vocabulary, ``oovs[k]``."""
    V = len(target_vocab)
    return [oovs[int(i) - V] if int(i) >= V else target_vocab.decode([int(i)])[0] for i in ids]


Item = TypeVar("Item", bound=Sequence)


def filter_by_length(items: Sequence[Item], max_source_length: int | None = None,
                     max_target_length: int | None = None) -> list[Item]:
    """The pairs (token or id pairs) whose source and target have at most the given lengths (training)."""
    for name, value in (("max_source_length", max_source_length), ("max_target_length", max_target_length)):
        check_int(name, value, 1, allow_none=True)
    return [item for item in items
            if (max_source_length is None or len(item[0]) <= max_source_length)
            and (max_target_length is None or len(item[1]) <= max_target_length)]


@fields_in_doc
class ParallelBatch(NamedTuple):
    """A padded, time-major batch of id pairs, made by :func:`make_batch`."""

    src: np.ndarray  # (S, B) int64, PAD after each sentence
    src_lengths: np.ndarray  # (B,) int64
    tgt_in: np.ndarray  # (T, B) int64: BOS y_1 .. y_m, then PAD
    tgt_out: np.ndarray  # (T, B) int64: y_1 .. y_m EOS, then PAD
    tgt_mask: np.ndarray  # (T, B) bool
    index: np.ndarray  # (B,) position of each pair in the list given: maps outputs back to references
    # (S, B) int64 the source tokens' extended target ids, PAD after each sentence, from triples
    # (rnnkit.seq2seq.copy.encode_copy_pairs); None from pairs
    src_ext: np.ndarray | None = None


def make_batch(encoded: Sequence[tuple[np.ndarray, np.ndarray]], index: Sequence[int] | None = None) -> ParallelBatch:
    """Pad id pairs (from :func:`encode_pairs`) into one time-major :class:`ParallelBatch`; triples (source ids,
    target ids, source extended ids) also pad the third into ``src_ext`` (copy attention)."""
    if len(encoded) == 0:
        raise ValueError("Expected at least one pair, got none")
    src_lengths = np.array([len(e[0]) for e in encoded], dtype=np.int64)  # (B,)
    tgt_lengths = np.array([len(e[1]) for e in encoded], dtype=np.int64)  # (B,)
    if src_lengths.min() < 1:
        raise ValueError("Expected every source sentence to have at least one token, got an empty one")
    B = len(encoded)
    S = int(src_lengths.max())
    T = int(tgt_lengths.max()) + 1  # room for BOS in tgt_in and EOS in tgt_out
    src = np.full((S, B), PAD_ID, dtype=np.int64)  # (S, B)
    tgt_in = np.full((T, B), PAD_ID, dtype=np.int64)  # (T, B)
    tgt_out = np.full((T, B), PAD_ID, dtype=np.int64)  # (T, B)
    src_ext = np.full((S, B), PAD_ID, dtype=np.int64) if len(encoded[0]) > 2 else None  # (S, B)
    for b, (s, t, *ext) in enumerate(encoded):
        m = len(t)
        src[: len(s), b] = s
        if src_ext is not None:
            src_ext[: len(s), b] = ext[0]
        tgt_in[0, b] = BOS_ID
        tgt_in[1 : m + 1, b] = t
        tgt_out[:m, b] = t
        tgt_out[m, b] = EOS_ID
    tgt_mask = np.arange(T)[:, None] <= tgt_lengths[None, :]  # (T, B)
    index = np.arange(B) if index is None else np.asarray(index, dtype=np.int64)
    return ParallelBatch(src, src_lengths, tgt_in, tgt_out, tgt_mask, index, src_ext)


def make_batches(encoded: Sequence[tuple[np.ndarray, np.ndarray]], batch_size: int,
                 rng: np.random.Generator | None = None, sort: bool = True,
                 pool_size: int | None = 100) -> list[ParallelBatch]:
    """Batches of pairs of similar length, so little of each batch is padding.

    Without ``rng`` (evaluation): pairs sorted by (source length, target length), ties in file order, a pair
    far longer than the rest in a batch of its own (:func:`rnnkit.packing.length_batches`).
    With ``rng`` (training): the pairs are shuffled, cut into pools of ``pool_size`` batches, sorted by
    length inside each pool, cut into batches, and the batches shuffled: every epoch draws new batch
    companions but padding stays low.  ``pool_size=None`` sorts the whole corpus at once.
    ``sort=False`` keeps the (shuffled) order.  ``batch.index`` says which pair went where.
    """
    check_int("batch_size", batch_size, 1)
    check_int("pool_size", pool_size, 1, allow_none=True)
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"Expected rng to be a numpy.random.Generator or None, got {type(rng).__name__}")
    if len(encoded) == 0:
        raise ValueError("Expected at least one pair to batch, got none")
    N = len(encoded)
    src_len = np.array([len(e[0]) for e in encoded])  # (N,)
    tgt_len = np.array([len(e[1]) for e in encoded])  # (N,)
    order = np.arange(N) if rng is None else rng.permutation(N)
    if sort:
        pool = N if (rng is None or pool_size is None) else pool_size * batch_size
        pieces = []
        for start in range(0, N, pool):
            chunk = order[start : start + pool]
            # lexsort is stable: equal lengths keep their (shuffled or file) order
            pieces.append(chunk[np.lexsort((tgt_len[chunk], src_len[chunk]))])
        order = np.concatenate(pieces)
    if rng is None and sort:  # evaluation, translation: a pair far longer than the rest gets a batch of its own
        groups = length_batches(order, src_len + tgt_len, batch_size)
    else:
        groups = [order[i : i + batch_size] for i in range(0, N, batch_size)]
    if rng is not None:
        groups = [groups[k] for k in rng.permutation(len(groups))]
    return [make_batch([encoded[i] for i in group], group) for group in groups]
