"""An exported translator's (and a BPE LM's) example input of a Chinese BPE source is written as its training
text was, unspaced: it was "他们 我的朋友 老师 学生们", word-start pieces joined by spaces."""
from __future__ import annotations

import json

from rnnkit.export_bpe import bpe_example
from rnnkit.export_onnx_seq2seq_code import _example


def _task(tokens, level="bpe"):
    vocab = {"tokens": ["<pad>", "<unk>", "<bos>", "<eos>", *tokens], "unk_token": "<unk>"}
    return {"source_vocab": json.dumps(vocab), "source_tokenizer": {"level": level}}


def test_a_chinese_bpe_sources_example_runs_together_and_others_keep_their_spaces():
    zh = ["\u2581他们", "\u2581我的朋友", "的", "\u2581老师", "\u2581学生们", "是"]
    assert _example(_task(zh)) == "他们我的朋友老师学生们"
    assert bpe_example(zh) == "他们我的朋友老师学生们"
    en = ["\u2581they", "\u2581are", "s", "\u2581my", "\u2581friend"]
    assert _example(_task(en)) == "they are my friend" and bpe_example(en) == "they are my friend"
    assert _example(_task(["他", "们", "是", "我"], level="char")) == "他们是我"  # as it was
    from rnnkit.export_bpe import words_text

    assert words_text(["我们", "like", "老师"]) == "我们 like 老师"  # mixed: spaced, as a word-level text
