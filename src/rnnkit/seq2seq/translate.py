"""Translating sentences with a trained :class:`~rnnkit.seq2seq.io.Translator`: greedy or beam search,
n-best lists, attention weights.

Sentences are tokenised with the model's source tokeniser, sorted by length and decoded in batches
(greedy decoding runs a whole batch at once; beam search shares the batch's encoder pass), and the
output ids are detokenised with the target tokeniser.  Results come back in the input order.
``beam_size=1`` is greedy decoding (:func:`~rnnkit.seq2seq.decode.greedy_decode`).  Each sentence may
take ``max_len`` steps when it is given, else what the translator's ``length_rule``, fitted to its
training pairs, allows (:mod:`rnnkit.seq2seq.lengths`); a translation cut there has
``finished=False`` (:func:`count_cut` counts them).
Outputs never hold ``<pad>`` or ``<bos>``: every search masks them (see :mod:`rnnkit.seq2seq.decode`),
and a translation's ``score`` is the model's log-probability of its ids, not renormalised over the
tokens that may be generated.

``replace_unk=True`` replaces every ``<unk>`` of an output by the source token the decoder attended to
most while producing it, the attention form of unknown-word replacement (Jean et al. 2015; Luong,
Pham and Manning 2015; Luong et al. 2015's "Addressing the rare word problem" replaced them through
an external word aligner instead): names, numbers and
rare words are then copied from the source instead of printed as ``<unk>``.  A copy model
(``Seq2SeqConfig(copy=True)``, :mod:`rnnkit.seq2seq.copy`) copies source words itself: its outputs may hold
extended ids (>= V), printed as the source words they stand for; ``replace_unk`` then replaces only the
``<unk>`` it still generates (from P_vocab), as for any model.

``return_attention=True`` gives every translation its attention matrix ``Translation.attention`` (T, S):
row t is the distribution over the S source tokens (those of the translator's source tokeniser, no
padding, no ``<eos>``: the encoder reads none) that the decoder had while producing target token t, T the
translation's tokens plus one row for ``<eos>`` when it finished.  They are the weights the search itself
used (greedy decoding's steps, or the beam path of that very hypothesis), not a second pass;
:func:`attention_matrix` recomputes them teacher-forced, which gives the same numbers.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rnnkit.checks import check_int
from rnnkit.data.parallel import BOS_ID, EOS_ID, PAD_ID, SentencePair, encode_pairs, make_batches
from rnnkit.checks import check_bool
from rnnkit.seq2seq.decode import (Hypothesis, beam_search, check_length_norm, check_min_len, check_no_repeat,
                                   check_stop, greedy_decode)
from rnnkit.seq2seq.copy import copy_pairs_and_oovs, decode_extended, ext_kwargs
from rnnkit.seq2seq.penalties import check_coverage_penalty
from rnnkit.seq2seq.io import Translator


@dataclass(frozen=True, eq=False)
class Translation:
    """One output of :func:`translate`: text, tokens, ids and scores."""

    text: str  # detokenised output
    tokens: tuple[str, ...]  # output tokens (no BOS / EOS)
    ids: tuple[int, ...]  # output ids
    score: float  # sum of log-probabilities, EOS included when finished
    norm_score: float  # score / lp(|Y|) + cp(X; Y): the beam's ranking key (== score for greedy decoding)
    finished: bool  # ended with EOS (False: cut at the length limit)
    # (T, S) the decoder's attention over the source tokens, T = len(tokens) + finished (a row for EOS);
    # only with translate(..., return_attention=True), else None
    attention: np.ndarray | None = None


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


def _translation(translator: Translator, h: Hypothesis, source_length: int | None,
                 oovs: Sequence[str] = ()) -> Translation:
    """The Translation of hypothesis ``h``; with its attention cut to the sentence's ``source_length``
    real tokens (the batch's padding, weight 0, dropped) unless that is None.  ``oovs``: a copy model's
    source words outside the target vocabulary, the words of the extended ids V, V + 1, ..."""
    tokens = tuple(decode_extended(h.tokens, translator.target_vocab, oovs))
    text = translator.target_tokenizer.detokenize(list(tokens))
    attention = None
    if source_length is not None and h.attention is not None:
        attention = np.ascontiguousarray(h.attention[:, :source_length])  # (T, S)
    return Translation(text, tokens, tuple(int(i) for i in h.tokens), h.score, h.norm_score, h.finished, attention)


EMPTY = Translation("", (), (), 0.0, 0.0, True)  # the one translation of an empty sentence: nothing, probability 1


def translate(translator: Translator, sentences: Sequence[str], beam_size: int = 1, nbest: int = 1,
              max_len: int | None = None, length_norm: float = 0.0, batch_size: int = 64,
              replace_unk: bool = False, min_len: int = 1, return_attention: bool = False,
              no_repeat_ngram: int = 0, coverage_penalty: float = 0.0,
              on_batch: Callable[[int], None] | None = None, beam_stop: str = "k-finished") -> list[list[Translation]]:
    """For each sentence its ``nbest`` best translations, best first (``nbest <= beam_size``), each of at
    least ``min_len`` tokens (see :mod:`rnnkit.seq2seq.decode`; a fixed ``max_len`` below ``min_len`` is
    refused, as no translation could end).  ``length_norm`` and ``coverage_penalty`` are the beam's GNMT
    alpha and beta, finite numbers >= 0 (:mod:`rnnkit.seq2seq.penalties`; greedy decoding, beam_size 1,
    takes neither; beta > 0 needs a model with attention); ``no_repeat_ngram`` N > 0 keeps every N-gram
    of an output to one occurrence (:mod:`rnnkit.seq2seq.no_repeat`; greedy decoding too); ``beam_stop``, when
    a sentence's beam search stops, "k-finished" or "bound" (:func:`rnnkit.seq2seq.decode.beam_search`'s ``stop``).
    ``return_attention``: each translation's ``attention`` (T, S), as the module docstring says (a model
    trained without attention is refused: it has none).

    A sentence without a source token (empty or blank) is not run through the model: its list holds
    the single translation ``EMPTY`` (no tokens, score 0, attention None), so the output keeps one entry
    per input.

    ``on_batch``: called after each batch decoded with the number of its source tokens (a progress display;
    the unknown-word replacement that follows with ``replace_unk`` is not counted).
    """
    for name, value in (("beam_size", beam_size), ("nbest", nbest), ("batch_size", batch_size)):
        check_int(name, value, 1)
    check_int("max_len", max_len, 1, allow_none=True)
    min_len = check_min_len(min_len, max_len)
    length_norm = check_length_norm(length_norm)
    no_repeat_ngram = check_no_repeat(no_repeat_ngram)
    coverage_penalty = check_coverage_penalty(coverage_penalty)
    beam_stop = check_stop(beam_stop)
    replace_unk = check_bool("replace_unk", replace_unk)
    return_attention = check_bool("return_attention", return_attention)
    if return_attention and translator.model.config.attention == "none":
        raise ValueError("Expected a model with attention for return_attention=True, got one trained with "
                         "attention='none'")
    if coverage_penalty > 0 and translator.model.config.attention == "none":
        raise ValueError(f"Expected a model with attention for coverage_penalty={coverage_penalty} (cp sums the "
                         "decoder's attention weights), got one trained with attention='none'")
    if nbest > beam_size:
        raise ValueError(f"Expected nbest <= beam_size ({beam_size}), got {nbest}")
    _check_sentences(sentences)
    every = [translator.source_tokenizer.tokenize(s) for s in sentences]
    kept = [i for i, t in enumerate(every) if t]
    done: list[list[Translation]] = [[EMPTY] for _ in every]
    for i, found in zip(kept, _translate([every[i] for i in kept], translator, beam_size, nbest, max_len,
                                         length_norm, batch_size, replace_unk, min_len, return_attention,
                                         no_repeat_ngram, coverage_penalty, on_batch, beam_stop)):
        done[i] = found
    return done


def count_cut(translations: Sequence[Sequence[Translation]]) -> int:
    """How many sentences' best translation was cut at the length limit (did not end with EOS)."""
    return sum(not t[0].finished for t in translations if t)


def _translate(tokens: list[list[str]], translator: Translator, beam_size: int, nbest: int, max_len: int | None,
               length_norm: float, batch_size: int, replace_unk: bool, min_len: int, return_attention: bool = False,
               no_repeat_ngram: int = 0, coverage_penalty: float = 0.0,
               on_batch: Callable[[int], None] | None = None, beam_stop: str = "k-finished"
               ) -> list[list[Translation]]:
    """translate() of sentences already tokenised, none of them empty."""
    if not tokens:
        return []
    # the target side is a placeholder: batching wants pairs, decoding reads only the sources
    pairs = [SentencePair(t, [], "", "", i + 1) for i, t in enumerate(tokens)]
    encoded, oovs = _encode(translator, pairs)
    out: list[list[Translation]] = [[] for _ in tokens]
    model = translator.model
    for b in make_batches(encoded, batch_size):
        steps = translator.length_rule.limits(b.src_lengths, max_len)  # (B,)
        ext = ext_kwargs(b)
        if beam_size == 1:
            hyps = [[h] for h in greedy_decode(model, b.src, b.src_lengths, steps, BOS_ID, EOS_ID, PAD_ID,
                                               min_len, no_repeat_ngram, **ext)]
        else:
            hyps = beam_search(model, b.src, b.src_lengths, beam_size, steps, BOS_ID, EOS_ID, length_norm, nbest,
                               PAD_ID, min_len, no_repeat_ngram, coverage_penalty, **ext, stop=beam_stop)
        for i, hs in zip(b.index, hyps):
            length = len(tokens[int(i)]) if return_attention else None
            out[int(i)] = [_translation(translator, h, length, oovs[int(i)]) for h in hs]
        if on_batch is not None:
            on_batch(sum(len(tokens[int(i)]) for i in b.index))
    if replace_unk:
        flat = [(i, j) for i, ts in enumerate(out) for j in range(len(ts))]
        fixed = _replace_unknowns(translator, [tokens[i] for i, _ in flat], [out[i][j] for i, j in flat],
                                  batch_size)
        for (i, j), t in zip(flat, fixed):
            out[i][j] = t
    return out


def _encode(translator: Translator, pairs: Sequence[SentencePair]) -> tuple[list, list[list[str]]]:
    """The pairs' ids, with a copy model's source extended ids (:func:`rnnkit.seq2seq.copy.copy_pairs_and_oovs`),
    and each source's words outside the target vocabulary (none without copy)."""
    if not getattr(translator.model.config, "copy", False):
        return encode_pairs(pairs, translator.source_vocab, translator.target_vocab), [[] for _ in pairs]
    return copy_pairs_and_oovs(pairs, translator.source_vocab, translator.target_vocab)


def replace_unknowns(translator: Translator, sentence: str, translation: Translation) -> Translation:
    """``translation`` with each ``<unk>`` replaced by the most attended source token (ids and scores kept);
    unchanged when the sentence has no source token (there is nothing to copy)."""
    _check_sentences([sentence])
    tokens = translator.source_tokenizer.tokenize(sentence)
    if not tokens or not translation.ids:
        return translation
    return _replace_unknowns(translator, [tokens], [translation], 1)[0]


def _replace_unknowns(translator: Translator, sources: list[list[str]], translations: list[Translation],
                      batch_size: int) -> list[Translation]:
    """:func:`replace_unknowns` for many (source tokens, translation) pairs: the teacher-forced passes that
    give the attention weights run in batches of ``batch_size``, over the translations holding ``<unk>`` only."""
    unk = translator.target_vocab.unk_id
    if translator.model.config.attention == "none":
        return list(translations)
    out = list(translations)
    todo = [k for k, t in enumerate(translations) if unk in t.ids]
    for start in range(0, len(todo), batch_size):
        group = todo[start : start + batch_size]
        src, src_lengths, tgt_in = _teacher_batch(translator, [sources[k] for k in group],
                                                  [translations[k] for k in group])
        weights = translator.model.attention_weights(src, src_lengths, tgt_in)  # (T, B, S)
        for b, k in enumerate(group):
            t = translations[k]
            tokens = tuple(sources[k][int(np.argmax(weights[step, b, : src_lengths[b]]))] if i == unk else tok
                           for step, (i, tok) in enumerate(zip(t.ids, t.tokens)))
            out[k] = replace(t, text=translator.target_tokenizer.detokenize(list(tokens)), tokens=tokens)
    return out


def _teacher_batch(translator: Translator, sources: list[list[str]], translations: list[Translation]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded src (S, B), src_lengths (B,) and decoder inputs tgt_in (T, B) = BOS then each translation's
    ids (without the last one when it was cut at the length limit: no EOS follows it)."""
    src_ids = [translator.source_vocab.encode(s) for s in sources]
    tgt_ids = [[BOS_ID, *(t.ids if t.finished else t.ids[:-1])] for t in translations]
    src = np.full((max(map(len, src_ids)), len(sources)), PAD_ID, dtype=np.int64)  # (S, B)
    tgt_in = np.full((max(map(len, tgt_ids)), len(sources)), PAD_ID, dtype=np.int64)  # (T, B)
    for b, (s, t) in enumerate(zip(src_ids, tgt_ids)):
        src[: len(s), b] = s
        tgt_in[: len(t), b] = t
    return src, np.array([len(s) for s in src_ids]), tgt_in


def attention_matrix(translator: Translator, sentence: str, translation: Translation
                     ) -> tuple[np.ndarray, list[str], list[str]]:
    """Attention weights (T, S) of ``translation`` of ``sentence``, with the source tokens (S) and the
    target tokens plus ``<eos>`` when it finished (T): the model is run teacher-forced on its own output,
    so the weights are those the decoder had while producing it (greedy or beam alike)."""
    src_tokens = tokenize_sources(translator, [sentence])[0]
    tgt_tokens = list(translation.tokens) + (["<eos>"] if translation.finished else [])
    src, src_lengths, tgt_in = _teacher_batch(translator, [src_tokens], [translation])  # (S, 1), (T, 1)
    weights = translator.model.attention_weights(src, src_lengths, tgt_in)  # (T, 1, S)
    return weights[:, 0, :], src_tokens, tgt_tokens


def teacher_forced_nll(translator: Translator, pairs: Sequence[SentencePair], batch_size: int = 64,
                       on_batch: Callable[[int], None] | None = None) -> tuple[float, int]:
    """``(summed NLL, target tokens)`` of the reference translations, teacher-forced, as validation
    scores them: -sum_t log P(y_t | y_<t, x) over every target token and the end of sentence, unknown
    words as ``<unk>`` (a copy model's at their extended id when the source holds them); the mean per token
    and its exp are the test loss and perplexity.  ``on_batch``:
    called after each batch with its target tokens, ends of sentence included (a progress display)."""
    check_int("batch_size", batch_size, 1)
    total, count = 0.0, 0
    for b in make_batches(_encode(translator, pairs)[0], batch_size):
        loss, _ = translator.model.forward(b.src, b.src_lengths, b.tgt_in, b.tgt_out, b.tgt_mask, **ext_kwargs(b))
        total += float(loss)
        tokens = int(b.tgt_mask.sum())
        count += tokens
        if on_batch is not None:
            on_batch(tokens)
    return total, count
