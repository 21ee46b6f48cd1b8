"""Fuzzing the file readers: whatever bytes a file holds, a reader either returns its data or raises
DataError naming the file, never another exception (which the CLI would show as a traceback).

The generated files are biased towards the characters the formats give meaning to (tabs, newlines,
comment marks, brackets, word vectors' numbers, CoNLL-U's ranges and empty-node ids, underscores, a
byte-order mark, CR) and include bytes that are not UTF-8.
"""
from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.classification import read_class_files, read_polarity, read_tsv
from rnnkit.data.columns import read_columns
from rnnkit.data.conll import read_conllu
from rnnkit.data.parallel import read_multi30k, read_parallel, read_tsv_pairs
from rnnkit.data.segmentation import read_segmented
from rnnkit.data.text import read_tokens
from rnnkit.data.files import read_text_file, text_lines
from rnnkit.data.trees import parse_trees, read_trees
from rnnkit.data.vectors import read_vectors
from rnnkit.errors import DataError
from rnnkit.train.curves import read_run

_PIECES = ["\t", "\n", "\r\n", " ", "#", "_", "-", ".", "1", "2", "10", "1-2", "1.1", "a", "The", "NN", "B-NP",
           "I-NP", "O", "pos", "neg", "我们", "北京", "\ufeff", "=", "|", ":", "# text = x"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)
_FIELD = st.sampled_from(["1", "2", "3", "1-2", "2.1", "0", "_", "a", "The", "NN", "NOUN", "B-NP", "O", "pos",
                          "我们", "x|y", "", " "])
# rows of 1 to 11 tab-separated fields, sentences apart by blank lines: CoNLL-U has 10 columns, so
# some rows come out well formed and the readers get past the column count to the ids and heads
_ROWS = st.lists(st.one_of(st.lists(_FIELD, min_size=1, max_size=11).map("\t".join), st.just(""),
                           st.just("# sent_id = 1")), max_size=12).map(lambda rows: "\n".join(rows) + "\n")


@st.composite
def _conllu(draw) -> str:
    """CoNLL-U sentences with counted IDs (so some parse), now and then a range, an empty node, a
    comment, a wrong ID, an empty column or a missing one."""
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["# sent_id = 1", "# text = a b", "#"])))
        n = draw(st.integers(0, 4))
        for i in range(1, n + 1):
            token_id = draw(st.sampled_from([str(i)] * 6 + [f"{i}-{i + 1}", f"{i}.1", str(i + 1), "x"]))
            fields = [token_id] + [draw(_FIELD) for _ in range(9)]
            del fields[draw(st.integers(10, 12)):]  # sometimes a column short
            lines.append("\t".join(fields))
        lines.append("")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


_LEAF_WORDS = st.sampled_from(["a", "good", "8\u00a01", "我们", "", "(", ")"])


@st.composite
def _tree(draw, depth: int = 0) -> str:
    """A bracketed tree, well formed or not: now and then a missing label, a third child, a word where
    a node should be, or a parenthesis too many or too few."""
    label = draw(st.sampled_from(["0", "2", "4", "x", ""]))
    if depth > 3 or draw(st.booleans()):
        return f"({label} {draw(_LEAF_WORDS)})"
    kids = [draw(_tree(depth + 1)) for _ in range(draw(st.sampled_from([2, 2, 2, 1, 3])))]
    return f"({label} {' '.join(kids)}{draw(st.sampled_from([')', ')', ')', '', '))']))}"


_TREES = st.lists(_tree(), min_size=1, max_size=3).map(lambda ts: "\n".join(ts) + "\n")

_NUMBER = st.sampled_from(["0.1", "-2", "3e-1", "1e999", "nan", "x", "", "1.5.2"])
_VECTOR_ROWS = st.lists(st.tuples(st.sampled_from(["the", "我们", "a b", "", "\u00e9"]),
                                  st.lists(_NUMBER, min_size=0, max_size=3)).map(lambda t: " ".join([t[0], *t[1]])),
                        max_size=5).map(lambda rows: "\n".join(rows) + "\n")
_VECTORS = st.one_of(st.tuples(st.sampled_from(["", "2 2\n", "3 1\n", "x y\n"]), _VECTOR_ROWS).map(lambda t: "".join(t)),
                     st.tuples(st.sampled_from(["2 2\n", "1 1\n", "0 3\n"]),
                               st.binary(max_size=24)).map(lambda t: t[0] + t[1].decode("latin-1")))

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
                         st.sampled_from(["type", "step", "loss", "epoch", "valid_loss", "best"]), kids, max_size=4),
                     max_leaves=8)
_METRICS = st.lists(st.one_of(_JSON.map(json.dumps), st.sampled_from(['{"type": "train", "step": 1, "loss": 2}',
                                                                      '{"type": "epoch", "epoch": 1, "step": 3}'])),
                    max_size=4).map(lambda rows: "\n".join(rows) + "\n")

_BYTES = st.one_of(_TEXT.map(lambda s: s.encode("utf-8")),
                   _METRICS.map(lambda s: s.encode("utf-8")),
                   _VECTORS.map(lambda s: s.encode("utf-8")),
                   _TREES.map(lambda s: s.encode("utf-8")),
                   _ROWS.map(lambda s: s.encode("utf-8")),
                   _conllu().map(lambda s: s.encode("utf-8")),
                   st.tuples(_TEXT, st.binary(max_size=4), _TEXT).map(lambda t: t[0].encode() + t[1] + t[2].encode()))

_READERS = {
    "tsv": lambda p: read_tsv(p),
    "tsv-header": lambda p: read_tsv(p, header=True),
    "polarity": lambda p: read_polarity(p, p),
    "conllu-upos": lambda p: read_conllu(p, "upos"),
    "conllu-xpos": lambda p: read_conllu(p, "xpos"),
    "columns": lambda p: read_columns(p, 0, -1),
    "columns-middle": lambda p: read_columns(p, 0, 1),
    "pairs": lambda p: read_tsv_pairs(p),
    "segmented": lambda p: read_segmented(p),
    "tokens-word": lambda p: read_tokens(p, "word"),
    "tokens-char": lambda p: read_tokens(p, "char"),
    "trees": lambda p: read_trees(p),
    "trees-unlabelled": lambda p: parse_trees(text_lines(read_text_file(p, "utf-8")), str(p), "optional"),
    "trees-any-arity": lambda p: read_trees(p, arity="any"),
    "trees-unlabelled-any-arity": lambda p: parse_trees(text_lines(read_text_file(p, "utf-8")), str(p), "optional",
                                                        "any"),
    "vectors-text": lambda p: read_vectors(p),
    "vectors-wanted": lambda p: read_vectors(p, wanted={"the", "a"}),
    "vectors-binary": lambda p: read_vectors(p.rename(p.with_name("input.txt.bin"))),
    "metrics-log": lambda p: read_run(p),
    "class-files": lambda p: read_class_files({"pos": p, "neg": p}),
    "parallel": lambda p: read_parallel(p, p),
    "parallel-other-side": lambda p: read_parallel(_good_side(p), p),
    "parallel-gz": lambda p: read_parallel(*[p.rename(p.with_name("input.txt.gz"))] * 2),
    "multi30k": lambda p: read_multi30k(_multi30k_folder(p)),
}
# what a reader's error must name: the file it was given (multi30k: the folder's gzipped files)
_NAMED = {"multi30k": "train."}


def _good_side(p: Path) -> Path:
    """A well-formed two-line file beside p, for the other side of a parallel corpus."""
    other = p.with_name("other.txt")
    other.write_text("ein Hund\nzwei Katzen\n", encoding="utf-8")
    return other


def _multi30k_folder(p: Path) -> Path:
    """p's bytes gzipped as both sides of Multi30k's train split, in p's folder."""
    data = gzip.compress(p.read_bytes())
    for lang in ("de", "en"):
        p.with_name(f"train.{lang}.gz").write_bytes(data)
    return p.parent


@pytest.mark.filterwarnings("ignore:.*more than two tab-separated columns:UserWarning")  # a warning is not a failure
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reader=st.sampled_from(sorted(_READERS)), data=_BYTES)
def test_a_reader_returns_or_raises_data_error_naming_the_file(reader, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.txt"
        path.write_bytes(data)
        try:
            _READERS[reader](path)
        except DataError as exc:
            message = str(exc)
            assert _NAMED.get(reader, "input.txt") in message, f"{reader}: {message!r} does not name the file"
            assert "\n" not in message.strip(), f"{reader}: {message!r} is not one line"
