"""The data and helpers the tagging-checks tests share: tiny BIO, IOB1 and POS sentences, a column file of
them, the train tagger / train hmm command on a file, and the one error line a refusal prints."""
from __future__ import annotations

from clirun import error_line as _one_error_line  # noqa: F401  (the tagging-checks tests import it from here)

TINY = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
        "--checkpoint-minutes", "0"]


def _columns(path, sentences):
    """Write ``[[(word, pos, tag), ...], ...]`` as a space-separated column file."""
    path.write_text("".join("".join(" ".join(row) + "\n" for row in s) + "\n" for s in sentences), encoding="utf-8")
    return path


# BIO (IOB2): the one-token chunk "it" is B-NP followed by O, which BIOES writes S-NP
BIO = [[("the", "DT", "B-NP"), ("cat", "NN", "I-NP"), ("sees", "VBZ", "B-VP"), ("it", "PRP", "B-NP"), (".", ".", "O")],
       [("dogs", "NNS", "B-NP"), ("bark", "VBP", "B-VP"), (".", ".", "O")]]
# the same chunks in IOB1: a chunk starts with I-, B- only between two adjacent chunks of one type
IOB1 = [[("the", "DT", "I-NP"), ("cat", "NN", "I-NP"), ("sees", "VBZ", "I-VP"), ("it", "PRP", "I-NP"), (".", ".", "O")],
        [("dogs", "NNS", "I-NP"), ("cats", "NNS", "B-NP"), ("bark", "VBP", "I-VP"), (".", ".", "O")]]
POS = [[("the", "DET"), ("cat", "NOUN"), ("sees", "VERB")], [("a", "DET"), ("dog", "NOUN"), ("barks", "VERB")]]


def _train(kind, tmp_path, *args):
    if kind == "tagger":
        return ["train", "tagger", *args, "--run-dir", str(tmp_path / "run"), *TINY]
    return ["train", "hmm", *args, "--output", str(tmp_path / "hmm.safetensors")]
