r"""A tagger's inputs beside its words in ONNX (:mod:`rnnkit.export_onnx`): character features
(:mod:`rnnkit.export_onnx_chars`), bigrams and feature columns, each joined to the word embeddings in the order
:class:`rnnkit.tagging.model.Tagger` joins them::

    x_t = [ W[w_t] ; char(w_t) ; G[right_t] ; G[left_t] ; F_1[f1_t] ; ... ]   # (T, B, D)

The graph's inputs, beside ``ids`` (T, B) and ``lengths`` (B,), all int64 and time-major, any id past a
sentence's end::

    chars, char_lengths  (T, B, Lc), (T, B)  each word's characters (rnnkit.export_onnx_chars)
    bigrams              (T, B, 2)           the ids of token t's right bigram, then its left one
    features             (T, B, F)           the ids of its F feature columns' values

Bigrams are read as :class:`rnnkit.tagging.task.TaggerEncoder` reads them: the sentence's tokens as the word
vocabulary reads them (width-folded with ``fold_width``, then lowercased with ``lowercase``), between ``<s>`` and
``</s>``, and token t's left bigram is its predecessor and itself joined by a space (``"<s> 我"`` for the first),
its right one itself and its successor (``"京 </s>"`` for the last), each the id of the vocabulary file's
``bigrams`` (``<unk>``'s id for one it lacks).  A feature column's value is looked up as it is, in the column's
own vocabulary (the file's ``features``, a list: column i's ``tokens`` and ``unk_token``).  The printed code's
``bigram_ids`` and ``feature_ids`` do exactly that.
"""
from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from rnnkit.export_onnx_chars import CHAR_INPUTS, char_features
from rnnkit.export_onnx_graph import INT64, Graph


def tagger_inputs(g: Graph, cfg: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    """(the parts (T, B, *) a tagger joins to its word embeddings, in its order; the graph inputs they read, as
    (name, element type, shape)) of a tagger configured by ``cfg``."""
    parts, inputs = [], []
    if cfg.get("char_vocab_size"):
        parts.append(char_features(g, cfg))  # (T, B, 2 Hc) or (T, B, F)
        inputs += CHAR_INPUTS
    if cfg.get("bigram_vocab_size"):
        pair = g.op("Gather", [g.weight("bigram_embedding.weight"), "bigrams"], axis=0)  # (T, B, 2, Eb)
        parts.append(g.op("Reshape", [pair, g.ints("T_B_minus1", [0, 0, -1])]))  # (T, B, 2 Eb): [right ; left]
        inputs.append(("bigrams", INT64, ["T", "B", 2]))
    columns = cfg.get("feature_vocab_sizes") or []
    for i in range(len(columns)):
        column = g.op("Gather", ["features", g.const(f"column_{i}", np.array(i, np.int64))], axis=2)  # (T, B)
        parts.append(g.op("Gather", [g.weight(f"feature_embedding.{i}.weight"), column], axis=0))  # (T, B, Ef)
    if columns:
        inputs.append(("features", INT64, ["T", "B", len(columns)]))
    return parts, inputs


def bigram_code(enc: dict[str, Any]) -> list[str]:
    """The printed code's ``bigram_ids(tokens)``: the input ``bigrams`` (T, 1, 2) of one sentence (module
    docstring)."""
    fold, lower = enc.get("fold_width"), enc.get("lowercase")
    steps = [what for what, on in (("width-folded", fold), ("lowercased", lower)) if on]
    read = ("fold_width(t)" if fold else "t") + (".lower()" if lower else "")
    how = f" ({' and '.join(steps)})" if steps else ""
    doc = ("\"\"\"The input bigrams (T, 1, 2) of a sentence's tokens: the ids of each token's right bigram and its "
           f"left one, the tokens read as the word vocabulary reads them{how}, between <s> and </s>.\"\"\"")
    return ["def bigram_ids(tokens):", *("    " + line for line in textwrap.wrap(doc, 112)),
            '    index = {b: i for i, b in enumerate(vocab["bigrams"]["tokens"])}',
            '    unk = index[vocab["bigrams"]["unk_token"]]',
            f'    ext = ["<s>"] + [{read} for t in tokens] + ["</s>"]',
            '    pairs = [index.get(a + " " + b, unk) for a, b in zip(ext, ext[1:])]  # pairs[t]: the left one of t',
            '    return {"bigrams": np.array([[[pairs[t + 1], pairs[t]]] for t in range(len(tokens))])}']


FEATURE_CODE = [
    "def feature_ids(columns):",
    "    \"\"\"The input features (T, 1, F) of a sentence's feature columns, columns[t] the F values of token t (the",
    "    training data's extra columns), each looked up as it is in its column's vocabulary (<unk> if it lacks",
    "    it).\"\"\"",
    '    index = [({v: i for i, v in enumerate(c["tokens"])}, c["unk_token"]) for c in vocab["features"]]',
    "    ids = [[ix.get(v, ix[unk]) for v, (ix, unk) in zip(row, index)] for row in columns]  # (T, F)",
    '    return {"features": np.array(ids, np.int64).reshape(len(columns), 1, len(index))}']


def feature_example(enc: dict[str, Any]) -> list[list[str]]:
    """One token's feature values for the printed code's example: each column's most frequent value (its
    vocabulary's first after ``<unk>``), or ``<unk>`` for a column with none."""
    import json

    row = []
    for column in enc.get("features") or []:
        column = json.loads(column) if isinstance(column, str) else column
        known = [v for v in column["tokens"] if v != column["unk_token"]]
        row.append(known[0] if known else column["unk_token"])
    return row
