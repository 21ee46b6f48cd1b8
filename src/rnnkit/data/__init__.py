"""Reading corpora and turning tokens into ids."""
from rnnkit.data.text import (
    build_vocabulary,
    file_oov_rate,
    read_text,
    read_tokens,
    require_tokens,
    tokenize,
)
from rnnkit.data.text_ids import TextIds, read_ids
from rnnkit.data.vocab import EOS, UNK, OOVStats, Vocabulary, oov_rate

__all__ = [
    "EOS",
    "UNK",
    "OOVStats",
    "TextIds",
    "Vocabulary",
    "build_vocabulary",
    "file_oov_rate",
    "oov_rate",
    "read_ids",
    "read_text",
    "read_tokens",
    "require_tokens",
    "tokenize",
]
