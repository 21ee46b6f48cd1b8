r"""A fitted word-level n-gram model in the ARPA back-off format, which SRILM, KenLM and most speech and
translation toolkits read.

The ARPA format lists n-grams with their log10 probability and, for n-grams that are histories, a
log10 back-off weight; a reader computes, for a history h = (h_1 .. h_{k-1}) and word w::

    p(w | h) = 10^logp(h, w)                        if (h, w) is listed
             = 10^bow(h) * p(w | h_2 .. h_{k-1})    otherwise (bow(h) = 0 when h is not listed)

Both of rnnkit's back-off-shaped smoothings have exactly this form, so the file gives the same
probabilities as the model (to the 8 significant digits written):

* Katz: logp(h, w) is the discounted probability, bow(h) its back-off weight alpha(h).
* Interpolated Kneser-Ney, p(w | h) = pkn(h, w) + gamma(h) p(w | h'): every listed n-gram gets its full
  interpolated probability and bow(h) = gamma(h), since for an unlisted (h, w) the first term is 0
  (the usual conversion; SRILM writes its interpolated models the same way).

Add-delta smoothing uses only the longest known history, with no back-off, so it has no ARPA form.
Sentences are ``<s> w_1 .. w_n </s>``: rnnkit's ``<eos>`` is written ``</s>``, the start symbol
``<s>`` (never predicted) gets log10 probability -99, as SRILM gives it.

Character level: every character is a token, written as itself, except those ARPA would read as
separators (:func:`char_token`): the newline is ``</s>``, the space ``<space>``, any other whitespace
character ``<U+XXXX>`` (its code point, e.g. ``<U+0009>`` for a tab); ``<unk>`` stays ``<unk>``.  A
placeholder of several characters never clashes with a real character, each of which is one.  The
model's histories run across newlines (its text is one stream, with one ``<s>`` at the start), so the
file holds n-grams such as ``o </s> T`` that a sentence-by-sentence reader never asks for.  Its file
starts with the comment line :data:`STREAM_LINE` (``# rnnkit: text=stream ...``), which KenLM and SRILM read
past, so that :mod:`rnnkit.lm.arpa_read` reads it back as the same stream model, even one trained on a
single line, which lists no n-gram that runs on after a ``</s>``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TextIO

import numpy as np

from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.ngram import NGramLM
from rnnkit.lm.ngram_counts import find

NEVER = -99.0  # log10 of a probability 0, as SRILM writes it
ROWS = 100_000  # n-grams formatted, then written, at a time


def _tokens(model: NGramLM) -> list[np.ndarray]:
    """For k = 1..order: the symbols (n_k, k) of every k-gram of table k, in table order."""
    S = model.vocab_size_ + 1
    out = [model.keys_[0].astype(np.int64)[:, None]]
    for k in range(1, model.order):
        keys = model.keys_[k].astype(np.int64)
        out.append(np.concatenate([out[-1][keys // S], (keys % S)[:, None]], axis=1))
    return out


def _nodes(model: NGramLM, toks: np.ndarray) -> np.ndarray:
    """Node of each row of ``toks`` (n, m), an m-gram, in table m (-1 where it is not listed)."""
    S = model.vocab_size_ + 1
    node = toks[:, 0].copy()
    for c in range(1, toks.shape[1]):
        node = find(model.keys_[c], np.where(node >= 0, node * S + toks[:, c], -1))
    return node


def _probabilities(model: NGramLM, toks: np.ndarray) -> np.ndarray:
    """p(w | h) (n,) of each listed k-gram (h, w), the rows of ``toks`` (n, k), as the model scores it."""
    n, k = toks.shape
    ctx_nodes, gram_nodes = [], []
    for j in range(1, model.order + 1):
        if j > k:  # a longer history than the n-gram has: not used
            ctx, gram = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
        else:
            ctx = np.zeros(n, dtype=np.int64) if j == 1 else _nodes(model, toks[:, k - j : k - 1])
            gram = _nodes(model, toks[:, k - j :])
        ctx_nodes.append(ctx)
        gram_nodes.append(gram)
    return model._score(ctx_nodes, gram_nodes, np.full(n, k))


def _log10(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log10(p)
    return np.where(np.isfinite(out), out, NEVER)


CHAR_SPACE = "<space>"  # the space character of a character-level model
STREAM_LINE = ("# rnnkit: text=stream (a character model of one stream of text: its histories run on across "
               "</s>, the newline, and <s> starts the text only)\n")  # before \data\: what other readers skip


def char_token(char: str) -> str:
    """The ARPA word of a character-level model's token: ``</s>`` for the newline, ``<space>`` for the space,
    ``<U+XXXX>`` for any other whitespace character, anything else (``<unk>`` too) as it is."""
    if char == "\n":
        return "</s>"
    if char == " ":
        return CHAR_SPACE
    if len(char) == 1 and char.split() != [char]:  # whitespace that would split the line
        return f"<U+{ord(char):04X}>"
    return char


def arpa_words(model: NGramLM, vocab: Vocabulary) -> list[str]:
    """The ARPA word of each of the model's symbols (V + 1: the vocabulary's tokens, then ``<s>``)."""
    if vocab.eos_token is None:
        names = [char_token(tok) for tok in vocab.tokens]
    else:
        names = vocab.tokens
        names[vocab.eos_id] = "</s>"
    return [*names, "<s>"]  # id V is the start symbol


def check_exportable(model: NGramLM, vocab: Vocabulary) -> None:
    """ValueError when the model has no ARPA form: add-delta smoothing, a vocabulary without its model's
    size or end-of-sentence token, or a token ARPA cannot hold (whitespace, <s>/</s> itself, two tokens
    written the same)."""
    model._check_fitted()
    if model.smoothing == "add_delta":
        raise ValueError("add-delta smoothing has no ARPA form (it uses the longest known history only, without "
                         "back-off weights); fit with smoothing 'kneser_ney' or 'katz' (--smoothing)")
    if model.eos_id_ != vocab.eos_id:
        raise ValueError(f"Expected the model fitted with eos_id=vocab.eos_id ({vocab.eos_id!r}), got "
                         f"{model.eos_id_!r}")
    if len(vocab) != model.vocab_size_:
        raise ValueError(f"Expected the model's vocabulary ({model.vocab_size_} tokens), got one of {len(vocab)}")
    names = arpa_words(model, vocab)
    for tok, name in zip(vocab.tokens, names):
        if not name or name.split() != [name] or (name in ("<s>", "</s>") and tok not in (vocab.eos_token, "\n")):
            raise ValueError(f"the vocabulary's token {tok!r} cannot be written as an ARPA word (whitespace, or "
                             "the sentence symbols <s>/</s>)")
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"two of the vocabulary's tokens would both be written {twice!r} in the ARPA file")


def arpa_blocks(model: NGramLM, vocab: Vocabulary) -> Iterator[str]:
    """The text of ``model``'s ARPA file (Kneser-Ney or Katz, word or character level, with its ``vocab``),
    ROWS n-grams a block, so that a large model's file is never held whole."""
    check_exportable(model, vocab)
    names = arpa_words(model, vocab)
    start = model.vocab_size_
    grams = _tokens(model)
    stream = STREAM_LINE if vocab.eos_token is None else ""  # a character model (check_exportable: one stream)
    yield stream + "\\data\\\n" + "".join(f"ngram {k}={len(toks)}\n" for k, toks in enumerate(grams, start=1))
    S = model.vocab_size_ + 1
    words: list[str] = names  # the words of every n-gram of the order at hand, in table order
    for k, toks in enumerate(grams, start=1):
        if k > 1:  # an n-gram's words are its history's (the parent node's) and its last word
            keys = model.keys_[k - 1]
            words = [f"{words[h]} {names[w]}" for h, w in zip((keys // S).tolist(), (keys % S).tolist())]
        yield f"\n\\{k}-grams:\n"
        logp = _log10(_probabilities(model, toks))
        if k == 1:
            logp[toks[:, 0] == start] = NEVER  # <s> is never predicted
        bows = _log10(model.bows_[k]) if k < model.order else None  # weights as histories of the order above
        for a in range(0, len(words), ROWS):
            p = logp[a : a + ROWS].tolist()
            if bows is None:
                yield "".join(f"{q:.8g}\t{w}\n" for q, w in zip(p, words[a : a + ROWS]))
            else:
                yield "".join(f"{q:.8g}\t{w}\t{b:.8g}\n" for q, w, b in zip(p, words[a : a + ROWS],
                                                                           bows[a : a + ROWS].tolist()))
    yield "\n\\end\\\n"


def write_arpa(out: TextIO, model: NGramLM, vocab: Vocabulary) -> None:
    """Write ``model`` (Kneser-Ney or Katz, word or character level) with its ``vocab`` to ``out`` as an ARPA
    file."""
    for block in arpa_blocks(model, vocab):
        out.write(block)


def save_arpa(path: str | os.PathLike, model: NGramLM, vocab: Vocabulary) -> None:
    """Write the ARPA file atomically (compressed when ``path`` ends in .gz, .xz or .bz2), making its folder,
    a block at a time."""
    from rnnkit.data.files import write_text_blocks

    check_exportable(model, vocab)  # before the file is opened (the generator checks it again when it starts)
    write_text_blocks(path, arpa_blocks(model, vocab))
