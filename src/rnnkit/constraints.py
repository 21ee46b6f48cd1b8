"""Which tag may follow which: allowed-transition matrices for span and segmentation tag sets.

For a tag list of K tags, :func:`allowed_transitions` returns

* ``allowed`` (K, K) bool, ``allowed[i, j]``: tag j may directly follow tag i;
* ``allowed_start`` (K,) bool: the tag may open a sentence;
* ``allowed_end`` (K,) bool: the tag may close a sentence.

A decoder gives every forbidden move a score of -inf, so it can only return a well-formed sequence
(constrained Viterbi, for the CRF layer and the HMM tagger alike).  The rules, with X, Y types:

* ``bio`` (alias ``iob2``): ``I-X`` only after ``B-X`` or ``I-X``, hence never first; ``O`` and
  ``B-X`` anywhere; any tag may end.
* ``iob1``: a span starts with ``I-X``; ``B-X`` only directly after ``B-X`` or ``I-X`` (it
  separates two adjacent spans of one type), hence never first; ``I-X`` and ``O`` anywhere.
* ``bioes``: ``I-X`` and ``E-X`` only after ``B-X`` or ``I-X``; ``B-Y``, ``S-Y`` and ``O`` only
  after ``O``, ``E-X`` or ``S-X`` or first; the last tag is ``O``, ``E-X`` or ``S-X``.
* ``bmes`` (word segmentation as character tagging, Begin / Middle / End / Single): ``M`` and ``E``
  only after ``B`` or ``M``; ``B`` and ``S`` only after ``E`` or ``S`` or first; the last tag is ``E``
  or ``S``.  Tags may be bare (``B``) or typed (``B-NN``, joint segmentation and tagging), in which
  case ``M-X``/``E-X`` must continue a word of the same type X.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.data.spans import split_tag

SCHEMES = ("bio", "iob2", "iob1", "bioes", "bmes")


def _split_bmes(tag: str) -> tuple[str, str]:
    """``"B"`` -> ``("B", "")``, ``"E-NN"`` -> ``("E", "NN")``; ValueError for anything else."""
    if isinstance(tag, str) and len(tag) >= 1 and tag[0] in "BMES":
        if len(tag) == 1:
            return tag, ""
        if len(tag) >= 3 and tag[1] == "-":
            return tag[0], tag[2:]
    raise ValueError(f"Expected a BMES tag (B, M, E, S, or B-TYPE, M-TYPE, E-TYPE, S-TYPE), got {tag!r}")


def _parse(tags: Sequence[str], scheme: str) -> list[tuple[str, str]]:
    """(prefix, type) for every tag, with ``scheme``'s prefixes; ValueError names the bad tag."""
    parsed = []
    for position, tag in enumerate(tags):
        try:
            if scheme == "bmes":
                parsed.append(_split_bmes(tag))
            else:
                parsed.append(split_tag(tag, "iob2" if scheme == "bio" else scheme))
        except ValueError as exc:
            raise ValueError(f"{exc} (tags[{position}])") from None
    return parsed


def _follows(prev: tuple[str, str], cur: tuple[str, str], scheme: str) -> bool:
    """True when tag ``cur`` may directly follow tag ``prev`` under ``scheme``."""
    p_prefix, p_type = prev
    c_prefix, c_type = cur
    if scheme in ("bio", "iob2"):
        if c_prefix == "I":
            return p_prefix in ("B", "I") and p_type == c_type
        return True
    if scheme == "iob1":
        if c_prefix == "B":
            return p_prefix in ("B", "I") and p_type == c_type
        return True
    if scheme == "bioes":
        if c_prefix in ("I", "E"):
            return p_prefix in ("B", "I") and p_type == c_type
        return p_prefix in ("O", "E", "S")
    # bmes
    if c_prefix in ("M", "E"):
        return p_prefix in ("B", "M") and p_type == c_type
    return p_prefix in ("E", "S")


def _may_start(tag: tuple[str, str], scheme: str) -> bool:
    prefix = tag[0]
    if scheme in ("bio", "iob2"):
        return prefix != "I"
    if scheme == "iob1":
        return prefix != "B"
    if scheme == "bioes":
        return prefix in ("O", "B", "S")
    return prefix in ("B", "S")


def _may_end(tag: tuple[str, str], scheme: str) -> bool:
    prefix = tag[0]
    if scheme == "bioes":
        return prefix in ("O", "E", "S")
    if scheme == "bmes":
        return prefix in ("E", "S")
    return True


def allowed_transitions(tags: Sequence[str], scheme: str = "bio") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(allowed (K, K), allowed_start (K,), allowed_end (K,))`` boolean arrays for ``tags``.

    ``allowed[i, j]`` is true when ``tags[j]`` may directly follow ``tags[i]`` under ``scheme``
    (one of ``bio``/``iob2``, ``iob1``, ``bioes``, ``bmes``; rules in the module docstring).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Expected scheme to be one of {SCHEMES}, got {scheme!r}")
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise TypeError(f"Expected tags to be a list of tag strings, got {type(tags).__name__}")
    if len(set(tags)) != len(tags):
        raise ValueError(f"Expected tags without repeats, got {list(tags)!r}")
    parsed = _parse(tags, scheme)
    K = len(parsed)
    allowed = np.zeros((K, K), dtype=bool)  # (K, K) [from, to]
    for i, prev in enumerate(parsed):
        for j, cur in enumerate(parsed):
            allowed[i, j] = _follows(prev, cur, scheme)
    allowed_start = np.array([_may_start(tag, scheme) for tag in parsed], dtype=bool)  # (K,)
    allowed_end = np.array([_may_end(tag, scheme) for tag in parsed], dtype=bool)  # (K,)
    return allowed, allowed_start, allowed_end


def is_allowed(path: Sequence[int], allowed: np.ndarray, allowed_start: np.ndarray, allowed_end: np.ndarray) -> bool:
    """True when the tag-index sequence ``path`` breaks none of the three constraint arrays."""
    if len(path) == 0:
        return True
    if not allowed_start[path[0]] or not allowed_end[path[-1]]:
        return False
    return all(allowed[a, b] for a, b in zip(path[:-1], path[1:]))


def has_legal_path(constraints: tuple[np.ndarray, np.ndarray, np.ndarray], length: int,
                   tag_mask: np.ndarray | None = None) -> bool:
    """True when some tag sequence of ``length`` breaks none of ``constraints`` (the triple of
    :func:`allowed_transitions`) and, with ``tag_mask`` (length, K) bool, takes at step t only tags it allows.

    Reachability, the boolean form of Viterbi: ``r_0 = start & m_0``, ``r_t[j] = any_i(r_{t-1}[i] &
    allowed[i, j]) & m_t[j]``, and a path exists iff ``any(r_{L-1} & end)``.  A tag set without ``S`` (a
    segmenter trained on no one-character word) has none of length 1, nor of odd length without ``M``."""
    allowed, allowed_start, allowed_end = constraints
    if length == 0:
        return True
    mask = np.ones((length, len(allowed_start)), dtype=bool) if tag_mask is None else np.asarray(tag_mask)  # (L, K)
    reach = allowed_start & mask[0]  # (K,)
    for t in range(1, length):
        reach = (reach[:, None] & allowed).any(axis=0) & mask[t]  # (K,)
    return bool((reach & allowed_end).any())


def no_path_indices(constraints: tuple[np.ndarray, np.ndarray, np.ndarray] | None, lengths: Sequence[int],
                    tag_masks: Sequence[np.ndarray | None] | None = None) -> set[int]:
    """Indices of ``lengths`` for which :func:`has_legal_path` finds no legal sequence (none without
    ``constraints``); ``tag_masks``: per length None or a (length, K) bool mask, as :func:`has_legal_path`
    takes it.  Each unmasked length is checked once; the masked sentences are stepped together."""
    if constraints is None:
        return set()
    masks = [None] * len(lengths) if tag_masks is None else list(tag_masks)
    legal: dict[int, bool] = {}
    for n, mask in zip(map(int, lengths), masks):
        if mask is None and n not in legal:
            legal[n] = has_legal_path(constraints, n)
    K = len(constraints[1])
    masked, odd = [], set()  # odd: a mask not (>= length, K) bool, read (or refused) by has_legal_path as it is
    for i, (n, mask) in enumerate(zip(map(int, lengths), masks)):
        if mask is not None:
            a = np.asarray(mask)
            if a.dtype == bool and a.ndim == 2 and a.shape[0] >= n and a.shape[1] == K:
                masked.append(i)
            elif not has_legal_path(constraints, n, mask):
                odd.add(i)
    blocked = _masked_no_path(constraints, [int(lengths[i]) for i in masked], [masks[i] for i in masked])
    return ({i for i, (n, mask) in enumerate(zip(map(int, lengths), masks)) if mask is None and not legal[n]}
            | {masked[j] for j in blocked} | odd)


def _masked_no_path(constraints: tuple[np.ndarray, np.ndarray, np.ndarray], lengths: list[int],
                    masks: list[np.ndarray]) -> list[int]:
    """Positions j of ``masks`` (each (>= lengths[j], K) bool) with no legal path of ``lengths[j]``:
    :func:`has_legal_path`'s reachability for all N at once, longest first, so the sentences still running at
    step t are the first n_t: ``R_t = (R_{t-1} @ allowed > 0) & M_t`` with R (n_t, K)."""
    allowed, allowed_start, allowed_end = constraints
    order = sorted((j for j, n in enumerate(lengths) if n > 0), key=lambda j: -lengths[j])  # length 0: legal
    if not order:
        return []
    K = len(allowed_start)
    sizes = np.array([lengths[j] for j in order])  # (N,) descending
    rows = np.concatenate([np.asarray(masks[j], dtype=bool)[:lengths[j]].reshape(-1, K) for j in order])  # (sum, K)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # (N,) first row of each sentence
    step = allowed.astype(np.float32)  # (K, K) 0/1: a product counts the allowed moves, exactly
    reach = allowed_start & rows[offsets]  # (N, K)
    blocked: list[int] = []
    for t in range(int(sizes[0])):
        if t:
            reach = ((reach.astype(np.float32) @ step) > 0) & rows[offsets[:len(reach)] + t]  # (n_t, K)
        running = int(np.count_nonzero(sizes > t + 1))  # those longer than t + 1 go on; the rest end here
        ended = ~(reach[running:] & allowed_end).any(axis=1)  # (n_t - running,)
        blocked.extend(order[running + k] for k in np.flatnonzero(ended))
        reach = reach[:running]
    return blocked


def listed_lines(lines: Sequence[int], unit: str = "line") -> str:
    """``"line 4"``, ``"lines 1, 2, 3"``, ``"lines 1, 2, 3, 4, 5 and 7 more"``: the lines a warning names, the
    first five of them (``unit`` "sentence": ``"sentences 1, 2, 3"``, for sentences counted, not lines)."""
    shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5:,} more" if len(lines) > 5 else "")
    return f"{unit} {shown}" if len(lines) == 1 else f"{unit}s {shown}"


def missing_tags_cause(tags: Sequence[str], scheme: str, unit: str = "line") -> str:
    """Why a sentence may have no legal path under ``scheme`` with these ``tags`` (those a model was trained
    on), for a warning: the one-token tags the training data never had (BMES ``S``, BIOES ``S-X`` and ``O``).
    ``unit``: what a BMES cause calls the characters without a legal path ("line", or "stretch" of a line)."""
    prefixes = {t.split("-", 1)[0] if "-" in t else t for t in tags}
    if scheme == "bmes" and "S" not in prefixes:
        if "M" in prefixes:
            return (f"the model has no S tag (its training data had no one-character word), so a one-character {unit} "
                    "has no legal B M E S tags")
        return (f"the model has no S tag and no M tag (its training data had only two-character words), so a {unit} "
                "of odd length has no legal B M E S tags")
    if scheme == "bioes" and not prefixes & {"S", "O"}:
        return ("the model has no O or S-X tag: its training data had no token outside a span and no one-token "
                "span, so a one-token sentence has no legal BIOES tags")
    return f"the model's tags ({', '.join(tags)}) allow no {scheme.upper()} sequence of those lengths"


def missing_tags_fix(scheme: str, examples: bool = False) -> str:
    """What training data needs for :func:`missing_tags_cause`'s sentences to get a legal path, for a warning's
    "to fix it": one-character words (BMES; ``examples``: with a few), or one-token spans and tokens outside spans."""
    if scheme == "bmes":
        return "one-character words" + (" (a punctuation mark, 的, 了)" if examples else "")
    return "one-token spans or tokens outside spans (O)"


def missing_tags(tags: Sequence[str], scheme: str, unit: str = "line") -> tuple[str, str]:
    """``(cause, fix)`` of a warning about sentences with no legal path under ``scheme`` with these ``tags``:
    :func:`missing_tags_cause`, and "train on data that has" :func:`missing_tags_fix`."""
    return missing_tags_cause(tags, scheme, unit), f"train on data that has {missing_tags_fix(scheme)}"


def word_needs(word: str, tags: Sequence[str]) -> str:
    """The BMES tags a word kept whole needs that ``tags`` (a segmenter's) lack: ``S`` for one character, ``B``
    and ``E`` for more, ``M`` too for three or more (``""``: none lacking)."""
    needed = "S" if len(word) == 1 else "BE" if len(word) == 2 else "BME"
    return "".join(t for t in needed if t not in {tag[0] for tag in tags})


def dict_no_path_cause(tags: Sequence[str], words: Sequence[str], source: str = "--dict") -> tuple[str, str]:
    """``(cause, fix)`` for a warning about lines whose length has a legal BMES path of the segmenter's
    ``tags`` but which have none with the dictionary ``words`` kept whole: the words named with the tags they
    need that the model lacks (:func:`word_needs`); without ``words``, the stretch such words leave beside
    them (:func:`missing_tags_cause` of a stretch).  ``source``: where the words came from, as the fix names it
    (the command's ``--dict``; a library caller's parameter, ``user_words``, whose words are "user words")."""
    kind = f"{source} " if source.startswith("--") else "user "
    if not words:
        cause, fix = missing_tags(tags, "bmes", "stretch")
        return (f"{cause}, and the {kind}words kept whole leave such a stretch beside them",
                f"leave those words out of {source}, or {fix}")
    shown = words[:5]
    needs = [word_needs(w, tags) for w in shown]
    named = ", ".join(shown) + (f" and {len(words) - 5:,} more" if len(words) > 5 else "")
    one = len(words) == 1
    lacking = sorted(set("".join(needs)), key="BMES".index)
    if len(set(needs)) == 1:
        what = f"the tag{'s' if len(needs[0]) > 1 else ''} {' and '.join(needs[0])}"
        cause = f"the {kind}word{'' if one else 's'} {named} need{'s' if one else ''} {what}"
    else:
        cause = f"the {kind}words " + ", ".join(f"{w} ({' '.join(n)})" for w, n in zip(shown, needs)) \
                + (f" and {len(words) - 5:,} more" if len(words) > 5 else "") + " need tags"
    have = ", ".join(dict.fromkeys(t[0] for t in tags))
    cause += (f", which the model lacks (its tags are {have}), so kept whole {'it leaves' if one else 'they leave'} "
              "the line no legal B M E S tags")
    data = {"S": "one-character words", "M": "words of three or more characters",
            "B": "words of two or more characters", "E": "words of two or more characters"}
    fix = " and ".join(dict.fromkeys(data[t] for t in lacking))
    return cause, f"leave {words[0] if one else 'those words'} out of {source}, or train on data that has {fix}"
