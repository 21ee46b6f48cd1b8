"""Raw text through a trained segmenter or tagger, as ``rnnkit segment`` and ``rnnkit tag`` do it.

A BMES tagger only labels characters; the words ``rnnkit segment`` prints come from three more steps,
all here so that the library gives the same words as the command line:

1. each line is read without its spaces (as the model read its training sentences), and a space stays
   a word boundary;
2. a line over ``LONG_LINE`` characters (a book saved as one line) is read in pieces cut after its
   sentence ends (:func:`line_pieces`): a BiLSTM keeps ~10 KB a character, so 150,000 characters at once
   took 1.5 GB;
3. the rules of :mod:`rnnkit.data.segment_rules` (:func:`~rnnkit.data.segment_rules.fix_words`): no
   boundary inside a web or e-mail address, a Latin word or number, or a character on screen; Chinese
   punctuation a word of its own.

Without them, ``tags_to_words`` on the model's tags split ``MacBook`` into ``Ma c Bo ok``.

With a user dictionary (``user_words``, ``rnnkit segment --dict``; :mod:`rnnkit.data.user_dict`), its words
are found in each line first, and the model's decoding is constrained to keep each one whole (its
characters forced to B M ... E, or S): the best segmentation among those that keep them, not a
segmentation edited afterwards.  A long line is not cut inside one, and the rules of step 3 never cut
inside one.

    >>> from rnnkit.tagging import LoadedTagger
    >>> seg = LoadedTagger("runs/seg/best.safetensors")          # doctest: +SKIP
    >>> seg.segment("我喜欢MacBook和www.example.com")               # doctest: +SKIP
    ['我', '喜欢', 'MacBook', '和', 'www.example.com']
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

LONG_LINE = 5_000  # characters a segmenter reads at once: a longer line is cut after its sentence ends
SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’」』）)\]]*")
CLAUSE_END = re.compile(r"[，、：]+")  # full-width only: an ASCII comma or colon may sit inside a number (6,000)


def line_pieces(text: str, limit: int | None = None, whole: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Spans [a, b) covering ``text`` that a segmenter reads one at a time: the whole line up to ``limit``
    (LONG_LINE) characters; a longer one is cut after the last sentence end (。！？) within each ``limit``
    characters, else after a comma, else at ``limit``.  A cut after punctuation is a word boundary anyway.
    ``whole``: sorted, non-overlapping spans (a user dictionary's words, each shorter than ``limit``) that no
    cut falls inside: one that would is moved to the span's start."""
    limit = LONG_LINE if limit is None else limit
    if len(text) <= limit:
        return [(0, len(text))]
    ends = [[m.end() for m in pattern.finditer(text)] for pattern in (SENTENCE_END, CLAUSE_END)]
    starts = [start for start, _ in whole]
    spans, a = [], 0
    while len(text) - a > limit:
        b = a + limit
        for found in ends:  # the last end in (a, a + limit]
            k = bisect.bisect_right(found, a + limit) - 1
            if k >= 0 and found[k] > a:
                b = found[k]
                break
        k = bisect.bisect_left(starts, b) - 1  # the last span that starts before b
        if k >= 0 and whole[k][1] > b:
            b = whole[k][0] if whole[k][0] > a else whole[k][1]
        spans.append((a, b))
        a = b
    spans.append((a, len(text)))
    return spans


def _texts(given: Any, what: str) -> tuple[list[str], bool]:
    """``given`` as a list of lines, and whether it was one string (whose result is not wrapped in a list)."""
    if isinstance(given, str):
        return [given], True
    if not isinstance(given, Sequence) or not all(isinstance(t, str) for t in given):
        raise TypeError(f"Expected {what} as a str or a list of str, got {type(given).__name__}"
                        + ("" if not isinstance(given, Sequence) else " holding "
                           + next(type(t).__name__ for t in given if not isinstance(t, str))))
    return list(given), False


def dictionary_spans(words: Any, chunks: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` in ``"".join(chunks)`` (a line without its spaces) of the words of ``words`` (a
    :class:`~rnnkit.data.user_dict.UserDict`) found in it: within each chunk (never across a space),
    leftmost-longest, none starting or ending inside what the rules keep whole (a Latin word, an address),
    except at a space."""
    from rnnkit.data.segment_rules import inner_offsets

    inner = inner_offsets("".join(chunks), accumulate(len(c) for c in chunks[:-1]))
    spans: list[tuple[int, int]] = []
    offset = 0
    for chunk in chunks:
        local = {i - offset for i in range(offset + 1, offset + len(chunk)) if i in inner}
        spans += [(offset + a, offset + b) for a, b in words.matches(chunk, local)]
        offset += len(chunk)
    return spans


def _tag_mask(tags: Sequence[str], forced: Sequence[str | None]) -> Any:
    """The (n, K) bool mask over ``tags`` (B, M, E, S, or typed B-X ...) that lets token i take only the
    tags whose prefix is in ``forced[i]`` (``"B"``, ``"BS"``; any tag where it is None); None when nothing
    is forced."""
    import numpy as np

    if all(f is None for f in forced):
        return None
    prefix = [t[0] for t in tags]
    return np.array([[f is None or p in f for p in prefix] for f in forced], dtype=bool)  # (n, K)


def _blocking_words(loaded: Any, text: str, span: tuple[int, int], kept: Sequence[tuple[int, int]],
                    forced: Sequence[str | None]) -> list[str]:
    """The dictionary words (at ``kept`` in ``text``) inside ``span`` that the model's tags cannot tag whole by
    the BMES rules with the tags ``forced`` on them (:func:`~rnnkit.data.user_dict.word_tags`): a word kept
    whole is bounded at both ends, so it is tagged alone."""
    trained = loaded.trained_tags
    found = []
    for a, b in kept:
        mask = _tag_mask(trained, forced[a:b])
        if span[0] <= a and b <= span[1] and mask is not None and not loaded.has_path(b - a, mask):
            found.append(text[a:b])
    return found


def segment_lines(loaded: Any, lines: Sequence[str], user_words: Any = None,
                  impossible: list[int] | None = None, no_path: list[int] | None = None,
                  dict_blocked: dict[int, list[str]] | None = None, on_batch: Any = None) -> list[list[str]]:
    """The words of each raw line, exactly as ``rnnkit segment`` prints them (a blank line: ``[]``).

    ``loaded``: a :class:`~rnnkit.tagging.loaded.LoadedTagger` of a segmentation model (BMES, neural or
    HMM).  Spaces in a line are kept as word boundaries; every other boundary is the model's, after
    the rules of :mod:`rnnkit.data.segment_rules`.  ``user_words``: a list of words or a
    :class:`~rnnkit.data.user_dict.UserDict` (``segment --dict``), each found in a line kept whole by
    constrained decoding (:mod:`rnnkit.data.user_dict` says how they are found).  ``impossible``: a list
    that gets the index in ``lines`` of each line an HMM gives probability 0 (no tag path can produce it,
    or with ``user_words`` none that keeps them whole: its words are a fallback guess), as
    :meth:`~rnnkit.tagging.loaded.LoadedTagger.predict`'s does for sentences.  ``no_path``: a list that gets the
    index of each line (a piece of it) that the model's tags cannot tag by the BMES rules (tags without S, from
    training data with no one-character word: a one-character line), its words from the best tags ignoring
    the rules, as :meth:`~rnnkit.tagging.loaded.LoadedTagger.predict`'s does.  ``dict_blocked``: a dict that
    gets, for each such line whose length alone has a legal path but not with its dictionary words kept whole,
    the words the model's tags cannot tag whole (a three-character word without M; none: the stretch they leave
    beside them has no legal tags).  ``on_batch``: called with the number of characters of each batch the
    model has tagged (a progress display, :meth:`~rnnkit.tagging.loaded.LoadedTagger.predict`'s)."""
    from rnnkit.data.segment_rules import fix_words
    from rnnkit.data.segmentation import tags_to_words
    from rnnkit.data.user_dict import keep_spans, user_dict, word_tags
    from rnnkit.tagging.io import TaggingData

    dictionary = user_dict(user_words)
    chunked = [line.split() for line in lines]
    texts = ["".join(c) for c in chunked]
    kept = [dictionary_spans(dictionary, c) if dictionary and t else [] for t, c in zip(texts, chunked)]
    read = [(n, text, k) for n, (text, k) in enumerate(zip(texts, kept)) if text]  # the lines the model reads
    spans = [line_pieces(text, whole=k) for _, text, k in read]
    pieces, masks, owner, where = [], [], [], []  # owner: the index in lines of each piece's line; where: its span
    trained = loaded.trained_tags
    have = "".join(t[0] for t in trained)
    for (n, text, k), cuts in zip(read, spans):
        forced = word_tags(len(text), k, have) if k else None  # a line without dictionary words forces nothing
        for a, b in cuts:
            pieces.append(list(text[a:b]))
            masks.append(None if forced is None else _tag_mask(trained, forced[a:b]))
            owner.append(n)
            where.append((a, b, forced))
    data = TaggingData(pieces, None, None, None)
    zero: list[int] = []  # pieces of probability 0 (an HMM's)
    pathless: list[int] = []  # pieces no tag sequence can tag by the rules
    tags = iter(loaded.predict(data, masks if any(m is not None for m in masks) else None, impossible=zero,
                               no_path=pathless, on_batch=on_batch))
    if impossible is not None:
        impossible.extend(sorted({owner[i] for i in zero}))
    if no_path is not None:
        no_path.extend(sorted({owner[i] for i in pathless}))
    if dict_blocked is not None:  # a piece with a mask whose length alone has a legal path: its words block it
        for i in pathless:
            a, b, forced = where[i]
            if masks[i] is not None and loaded.has_path(b - a):
                words = _blocking_words(loaded, texts[owner[i]], (a, b), kept[owner[i]], forced)
                dict_blocked.setdefault(owner[i], []).extend(words)
    cuts = iter(spans)
    known = set(loaded.task.get("train_words") or ()) or None  # training words the rules keep whole (T恤)
    out = []
    for text, chunks, k in zip(texts, chunked, kept):
        if not text:
            out.append([])
            continue
        line_tags = [t for _ in next(cuts) for t in next(tags)]  # a long line's pieces joined again
        fixed = fix_words(tags_to_words(list(text), line_tags), accumulate(len(w) for w in chunks[:-1]), known)
        out.append(keep_spans(fixed, k))
    return out


def no_path_causes(tags: Sequence[str], lines: Sequence[int], blocked: dict[int, list[str]],
                   source: str = "--dict") -> list[tuple[list[int], str, str]]:
    """``(lines, cause, fix)`` of a segmenter's (``tags``) warnings about the ``lines`` it cannot tag by the
    BMES rules, from :func:`segment_lines`' ``no_path`` and ``dict_blocked``: those whose length has no legal
    path (:func:`~rnnkit.constraints.missing_tags`), those whose dictionary words need tags the model
    lacks, and those where such words leave a stretch beside them without one
    (:func:`~rnnkit.constraints.dict_no_path_cause`; ``source``: where the words came from, as it names it)."""
    from rnnkit.constraints import dict_no_path_cause, missing_tags

    groups = []
    length = [i for i in lines if i not in blocked]
    if length:
        groups.append((length, *missing_tags(tags, "bmes")))
    worded = [i for i in lines if blocked.get(i)]
    if worded:
        named = list(dict.fromkeys(w for i in worded for w in blocked[i]))
        groups.append((worded, *dict_no_path_cause(tags, named, source)))
    stretch = [i for i in lines if i in blocked and not blocked[i]]
    if stretch:
        groups.append((stretch, *dict_no_path_cause(tags, [], source)))
    return groups


def written_lines(gold: Sequence[Sequence[str]]) -> list[str]:
    """Segmented sentences (their words) as raw lines: the words joined, a space kept only where written text
    has one (between two Latin words or numbers, :func:`~rnnkit.data.segment_rules.written_spaces`), as
    ``evaluate`` reads a test sentence."""
    from rnnkit.data.segment_rules import written_spaces

    lines = []
    for words in gold:
        spaces = written_spaces(words)
        offsets = accumulate(len(w) for w in words)
        lines.append("".join(w + (" " if end in spaces else "") for w, end in zip(words, offsets)))
    return lines


def segment(loaded: Any, text: str | Sequence[str], user_words: Any = None) -> list[str] | list[list[str]]:
    """:func:`segment_lines` for one string (its words) or a list of lines (a list of word lists);
    refuses a model that is not a segmenter.  ``user_words``: words kept whole (a list of str, or a
    :class:`~rnnkit.data.user_dict.UserDict`, e.g. :func:`~rnnkit.data.user_dict.read_user_dict`'s); a
    UserWarning when they cover most of the text (:func:`~rnnkit.data.user_dict.lexicon_warning`)."""
    from rnnkit.data.user_dict import covered_characters, lexicon_warning, user_dict

    lines, one = _texts(text, "text to segment")
    if loaded.spec.scheme != "bmes":
        raise ValueError(f"not a segmentation model (tag scheme {loaded.spec.scheme}); tag words with .tag()")
    user_words = user_dict(user_words)
    lexicon = user_words and lexicon_warning(user_words, *covered_characters(user_words, lines), "the user words")
    if lexicon:  # a full lexicon (jieba's dict.txt) given as user words: maximum matching, not the model
        import warnings

        warnings.warn(lexicon, UserWarning, stacklevel=_caller_level())
    pathless: list[int] = []
    blocked: dict[int, list[str]] = {}
    words = segment_lines(loaded, [" ".join(line.split()) for line in lines] if one else lines, user_words,
                          no_path=pathless, dict_blocked=blocked)
    for where, cause, fix in no_path_causes(loaded.trained_tags, pathless, blocked, "user_words"):
        import warnings

        from rnnkit.constraints import listed_lines

        where = "the text" if one else listed_lines(where)
        warnings.warn(f"{where} (0-based): {cause}; its words come from the best tags ignoring the BMES rules; to "
                      f"fix it, {fix}", UserWarning, stacklevel=_caller_level())
    return words[0] if one else words


def tag(loaded: Any, sentences: str | Sequence[str | Sequence[str]],
        features: Sequence[Sequence[Sequence[str]]] | None = None) -> list[str] | list[list[str]]:
    """Predicted tags of one sentence (a str of whitespace-separated words: its tags) or of a list of
    sentences, each a str of words or a list of words (a list of tag lists), as ``rnnkit tag`` gives
    them.  ``features``: for a model trained with feature columns (a chunker reading POS), one list of
    feature values per word of every sentence.  Refuses a segmentation model (use :func:`segment`)."""
    data, one = sentences_data(loaded, sentences, features)
    pred = loaded.predict(data)
    return pred[0] if one else pred


def _caller_level() -> int:
    """warnings.warn's stacklevel for the first frame outside rnnkit (the user's call to tag, nbest ...),
    counted from the function that calls this one."""
    import os
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the rnnkit package
    level, frame = 2, sys._getframe(2)  # the caller of the function that warns: stacklevel 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root + os.sep):
        level, frame = level + 1, frame.f_back
    return level


def sentences_data(loaded: Any, sentences: Any, features: Any = None) -> tuple[Any, bool]:
    """``(TaggingData, one)`` of what :func:`tag` takes (a :class:`~rnnkit.tagging.io.TaggingData` as it
    is), ``one`` when a single str was given; refuses a segmentation model."""
    from rnnkit.tagging.io import TaggingData, check_sentences

    if loaded.spec.scheme == "bmes":
        raise ValueError("a segmentation model tags characters; give raw text to .segment()")
    if isinstance(sentences, TaggingData):
        check_sentences(sentences)
        return sentences, False
    one = isinstance(sentences, str)
    if one:
        sentences = [sentences]
    if not isinstance(sentences, Sequence):
        raise TypeError(f"Expected sentences as a list, got {type(sentences).__name__}")
    words = []
    for i, s in enumerate(sentences):
        if isinstance(s, str):
            words.append(s.split())
        elif isinstance(s, Sequence) and all(isinstance(w, str) for w in s):
            words.append(list(s))
        else:
            raise TypeError(f"Expected sentence {i} as a str or a list of str words, got {type(s).__name__}")
    if len(words) > 1 and all(isinstance(s, str) for s in sentences) and all(len(w) == 1 for w in words):
        import warnings

        warnings.warn(f"{len(words)} sentences of one word each: a list of str is a list of sentences, so a "
                      f"tokenised sentence {list(sentences[:2])[:2]!r:.40}... is tagged word by word, each word "
                      "alone; pass [words] (or ' '.join(words)) to tag it as one sentence", UserWarning,
                      stacklevel=_caller_level())
    if features is not None:
        features = _features(loaded.spec.feature_columns, features, words)
    data = TaggingData(words, None, features, None)
    check_sentences(data)
    return data, one


def _features(columns: Sequence[int], features: Any, words: list[list[str]]) -> list[list[list[str]]]:
    """``features=`` checked against the model's feature ``columns`` and the sentences' ``words``, in the words
    of the argument (the data it becomes is internal: ``data.features[0]`` would name nothing the caller wrote)."""
    if not columns:  # (features=[] too: there is nothing it could give)
        raise ValueError("features= given, but the model was trained without feature columns: leave it out")
    if not isinstance(features, Sequence) or isinstance(features, str):
        raise TypeError(f"Expected features as a list (one per sentence), got {type(features).__name__}")
    if len(features) != len(words):
        raise ValueError(f"Expected features= for each of the {len(words)} sentences, got {len(features)}")
    out = [_word_features(columns, k, sentence) for k, sentence in enumerate(features)]
    for k, (rows, sentence) in enumerate(zip(out, words)):
        if len(rows) != len(sentence):
            raise ValueError(f"Expected features for sentence {k + 1} to hold one entry per token ({len(sentence)}), "
                             f"got {len(rows)}")
    return out


def _word_features(columns: Sequence[int], k: int, sentence: Any) -> list[list[str]]:
    """Sentence ``k``'s ``features=``: for each word a list of its values, one per feature column of the model
    (``columns``).  A str where a list belongs was read as its characters, one value each, and a list of another
    length tagged silently with values missing or left over."""
    example = "features=[[['PRP'], ['VBZ']]] for 'He reckons' with one feature column"
    if isinstance(sentence, str) or not isinstance(sentence, Sequence):
        raise TypeError(f"Expected features[{k}] as a list of each word's feature values, got "
                        f"{type(sentence).__name__}: {example}")
    n = len(columns)
    for i, values in enumerate(sentence):
        if isinstance(values, str) or not isinstance(values, Sequence) or len(values) != n:
            raise ValueError(f"Expected features[{k}][{i}] as a list of {n} value{'s' * (n != 1)}, one per feature "
                             f"column {list(columns)}, got {values!r:.40}: {example}")
        other = next((v for v in values if not isinstance(v, str)), None)
        if other is not None or None in values:  # a column file's values are str: an int matches no feature seen
            raise TypeError(f"Expected features[{k}][{i}] to hold str values, as a column file's are, got "
                            f"{type(other).__name__} {other!r:.20}: {example}")
    return [list(values) for values in sentence]
