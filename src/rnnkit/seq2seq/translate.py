"""Translating sentences with a trained :class:`~rnnkit.seq2seq.io.Translator`: greedy or beam search,
n-best lists, attention weights for plotting.

Sentences are tokenised with the model's source tokeniser, sorted by length and decoded in batches
(greedy decoding runs a whole batch at once; beam search shares the batch's encoder pass), and the
output ids are detokenised with the target tokeniser.  Results come back in the input order.
``beam_size=1`` is greedy decoding (:func:`~rnnkit.seq2seq.decode.greedy_decode`).  Each sentence may
take ``decode_length(n, max_len)`` = min(2 n + 10, ``max_len``) steps for a source of n tokens.

``replace_unk=True`` replaces every ``<unk>`` of an output by the source token the decoder attended to
most while producing it (Luong et al. 2015, "Addressing the rare word problem"): names, numbers and
rare words are then copied from the source instead of printed as ``<unk>``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rnnkit.data.parallel import BOS_ID, EOS_ID, SentencePair, encode_pairs, make_batches
from rnnkit.seq2seq.decode import Hypothesis, beam_search, greedy_decode
from rnnkit.seq2seq.io import Translator
from rnnkit.seq2seq.task import decode_length


@dataclass(frozen=True, eq=False)
class Translation:
    text: str  # detokenised output
    tokens: tuple[str, ...]  # output tokens (no BOS / EOS)
    ids: tuple[int, ...]  # output ids
    score: float  # sum of log-probabilities, EOS included when finished
    norm_score: float  # score / lp(|Y|): the beam's ranking key (== score for greedy decoding)
    finished: bool  # ended with EOS (False: cut at the length limit)


def _check_sentences(sentences: Sequence[str]) -> None:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"Expected sentences as a list of str, got {type(sentences).__name__}")
    for i, s in enumerate(sentences):
        if not isinstance(s, str):
            raise TypeError(f"Expected sentences to be str, got {type(s).__name__} at position {i}")


def tokenize_sources(translator: Translator, sentences: Sequence[str]) -> list[list[str]]:
    """Source tokens of each sentence; raises ValueError naming the first sentence without any."""
    _check_sentences(sentences)
    tokens = [translator.source_tokenizer.tokenize(s) for s in sentences]
    for i, t in enumerate(tokens):
        if not t:
            raise ValueError(f"Expected every sentence to have at least one token, got an empty sentence at "
                             f"position {i} (0-based)")
    return tokens


def _translation(translator: Translator, h: Hypothesis) -> Translation:
    tokens = tuple(translator.target_vocab.decode(h.tokens))
    text = translator.target_tokenizer.detokenize(list(tokens))
    return Translation(text, tokens, tuple(int(i) for i in h.tokens), h.score, h.norm_score, h.finished)


def translate(translator: Translator, sentences: Sequence[str], beam_size: int = 1, nbest: int = 1,
              max_len: int = 200, length_norm: float = 0.0, batch_size: int = 64,
              replace_unk: bool = False) -> list[list[Translation]]:
    """For each sentence its ``nbest`` best translations, best first (``nbest <= beam_size``)."""
    for name, value in (("beam_size", beam_size), ("nbest", nbest), ("max_len", max_len), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Expected {name} to be a positive int, got {value!r}")
    if nbest > beam_size:
        raise ValueError(f"Expected nbest <= beam_size ({beam_size}), got {nbest}")
    tokens = tokenize_sources(translator, sentences)
    if not tokens:
        return []
    # the target side is a placeholder: batching wants pairs, decoding reads only the sources
    pairs = [SentencePair(t, [], "", "", i + 1) for i, t in enumerate(tokens)]
    encoded = encode_pairs(pairs, translator.source_vocab, translator.target_vocab)
    out: list[list[Translation]] = [[] for _ in tokens]
    model = translator.model
    for b in make_batches(encoded, batch_size):
        steps = decode_length(int(b.src_lengths.max()), max_len)
        if beam_size == 1:
            hyps = [[h] for h in greedy_decode(model, b.src, b.src_lengths, steps, BOS_ID, EOS_ID)]
        else:
            hyps = beam_search(model, b.src, b.src_lengths, beam_size, steps, BOS_ID, EOS_ID, length_norm, nbest)
        for i, hs in zip(b.index, hyps):
            out[int(i)] = [_translation(translator, h) for h in hs]
    if replace_unk:
        out = [[replace_unknowns(translator, s, t) for t in ts] for s, ts in zip(sentences, out)]
    return out


def replace_unknowns(translator: Translator, sentence: str, translation: Translation) -> Translation:
    """``translation`` with each ``<unk>`` replaced by the most attended source token (ids and scores kept)."""
    unk = translator.target_vocab.unk_id
    if unk not in translation.ids or translator.model.config.attention == "none":
        return translation
    weights, src_tokens, _ = attention_matrix(translator, sentence, translation)  # (T, S)
    tokens = tuple(src_tokens[int(np.argmax(weights[t]))] if i == unk else tok
                   for t, (i, tok) in enumerate(zip(translation.ids, translation.tokens)))
    return replace(translation, text=translator.target_tokenizer.detokenize(list(tokens)), tokens=tokens)


def attention_matrix(translator: Translator, sentence: str, translation: Translation
                     ) -> tuple[np.ndarray, list[str], list[str]]:
    """Attention weights (T, S) of ``translation`` of ``sentence``, with the source tokens (S) and the
    target tokens plus ``<eos>`` when it finished (T): the model is run teacher-forced on its own output,
    so the weights are those the decoder had while producing it (greedy or beam alike)."""
    src_tokens = tokenize_sources(translator, [sentence])[0]
    src = translator.source_vocab.encode(src_tokens)[:, None]  # (S, 1)
    ids = list(translation.ids)
    tgt_tokens = list(translation.tokens)
    if translation.finished:
        tgt_tokens.append("<eos>")
    else:
        ids = ids[:-1]  # cut at the limit: the last token was produced, no EOS after it
    tgt_in = np.array([BOS_ID, *ids], dtype=np.int64)[:, None]  # (T, 1)
    weights = translator.model.attention_weights(src, np.array([len(src_tokens)]), tgt_in)  # (T, 1, S)
    return weights[:, 0, :], src_tokens, tgt_tokens
