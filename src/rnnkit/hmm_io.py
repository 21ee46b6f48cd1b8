"""Saving and reading an :class:`rnnkit.hmm.HMMTagger` as JSON: the counts of a trained model (its
tables are rebuilt from them on load, so predictions are identical), or the probability tables of a
hand-built or EM-trained one (which a checkpoint may store as arrays beside the JSON)."""
from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np

from rnnkit.checkpoint_files import read_head
from rnnkit.checks import check_names
from rnnkit.errors import DataError

FORMAT = "rnnkit-hmm-tagger"
CONFIG = ("order", "emission", "k", "suffix_length", "rare_threshold", "scheme")


def looks_like(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a JSON object whose ``"format"`` is FORMAT: what
    :meth:`rnnkit.hmm.HMMTagger.save` writes."""
    return head.lstrip()[:1] == b"{" and re.search(rb'"format"\s*:\s*"' + FORMAT.encode() + rb'"', head) is not None


def is_hmm_json(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file :meth:`rnnkit.hmm.HMMTagger.save` wrote (by its first 4096 bytes); never for a
    missing file, a directory, a device or a pipe, which is not opened (the checkpoint loader refuses it)."""
    head = read_head(path)
    return head is not None and looks_like(head)


def document(model: Any, tables: bool = True) -> dict:
    """:meth:`rnnkit.hmm.HMMTagger.document`: the JSON-ready dict of a fitted tagger."""
    if not hasattr(model, "log_trans_"):
        raise ValueError("Expected a fitted tagger to save, got one never fitted")
    config = {name: getattr(model, name) for name in CONFIG}
    data = {"format": FORMAT, "version": 1, "config": config, "tags": model.tags_}
    if hasattr(model, "tables_"):
        data["tables"] = {name: array.tolist() for name, array in model.tables_.items()} if tables else {}
        data["tables"]["words"] = list(model.vocab_)
    else:
        # sparse (tag index, count) pairs: most words are seen with one or two tags
        data["words"] = {w: [[int(i), int(c[i])] for i in np.nonzero(c)[0]]
                         for w, c in model.word_tag_counts_.items()}
        data["ngrams"] = [c.tolist() for c in model.ngram_counts_]
    return data


def loads(cls: Any, text: str, name: str, tables: dict | None = None) -> Any:
    """:meth:`rnnkit.hmm.HMMTagger.loads`: a tagger of class ``cls`` from its JSON text."""
    hint = "expected a JSON file written by HMMTagger.save"
    path = name
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}); {hint}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"{path}, line 1: no \"format\": \"{FORMAT}\" field; {hint}")
    if data.get("version") != 1:  # the one layout save writes; a later one is not guessed at
        raise DataError(f"{path}: an HMM of format version {data.get('version')!r}, and this rnnkit reads "
                        "version 1; read it with the rnnkit that wrote it, or upgrade rnnkit")
    try:
        config = {name: data["config"][name] for name in CONFIG}
        if "tables" in data:
            tables = {**data["tables"], **(tables or {})}
            return cls.from_probabilities(data["tags"], tables["start"], tables["transitions"], tables["words"],
                                          tables["emissions"], tables.get("end"), config["scheme"],
                                          tables.get("state_counts"))
        model = cls(**config)  # its config checked
        model.tags_ = check_names("tags", data["tags"])  # null, 7, "" or a tag twice: not a tag list
        K = len(model.tags_)
        model.word_tag_counts_ = {}
        for word, pairs in data["words"].items():
            counts = np.zeros(K, dtype=np.int64)
            for i, c in pairs:
                if int(i) < 0 or int(c) < 0:  # counts[-1] would silently take the last tag
                    raise ValueError(f"word {word!r}: tag {i}, count {c}; expected both >= 0")
                counts[i] = c
            model.word_tag_counts_[word] = counts
        model.ngram_counts_ = [np.array(c, dtype=np.int64) for c in data["ngrams"]]
        if [c.shape for c in model.ngram_counts_] != [(K + 1,) * n for n in (1, 2, 3)]:
            raise ValueError(f"n-gram count tables do not match {K} tags")
        if any((c < 0).any() for c in model.ngram_counts_):
            raise ValueError("a negative tag n-gram count")
        model._build()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DataError(f"{path}: a damaged or foreign model ({type(exc).__name__}: {exc}); {hint}") from None
    return model
