r"""A CRF tagger (``rnnkit train tagger --crf``) in ONNX (:mod:`rnnkit.export_onnx`): the graph gives the
emission scores and the CRF's transition scores, and the printed code decodes them with Viterbi in numpy, under
the tag scheme's rules as ``rnnkit tag`` and ``rnnkit segment`` do.

The graph's outputs (float32)::

    emissions          (T, B, K)  s_t = U h_t + b, the scores of each word's tags (ignore those past its end)
    transitions        (K, K)     A[i, j]: tag i followed by tag j   (rnnkit.crf, pytorch-crf's names)
    start_transitions  (K,)       s[j]: tag j first
    end_transitions    (K,)       e[i]: tag i last

and a sentence's best tags maximize ``start[y_0] + sum_t s_t[y_t] + sum_t A[y_{t-1}, y_t] + end[y_{n-1}]``
(:func:`rnnkit.crf.viterbi_decode`).  A model trained in a span or segmentation scheme (BIO, IOB1, BIOES, BMES)
decodes over the scheme's legal sequences only: the vocabulary file's ``rules`` hold them (``allowed`` (K, K),
``start``, ``end`` (K,) as 0/1, :func:`rnnkit.constraints.allowed_transitions` of the model's tags), and the code
scores the forbidden moves -inf, and, as rnnkit does, decodes a sentence the rules allow no sequence (a BMES
model without S on one character) without them.  ``rules["scheme"]`` is the scheme the model was trained in,
``rules["data_scheme"]`` its data's (they differ after ``train tagger --train-scheme``: the code then writes the
tags in the data's scheme, as ``rnnkit tag`` does; files exported before it was written have no ``data_scheme``,
and are read as trained in their data's scheme).

A softmax tagger with such rules is decoded by the same code, as rnnkit decodes it: Viterbi over its
log-probabilities with zero transition scores (:meth:`rnnkit.tagging.model.Tagger.chain`), so its printed tags
are a legal sequence, ``rnnkit tag``'s, not each word's likeliest tag.
"""
from __future__ import annotations

from typing import Any

from rnnkit.export_onnx_graph import FLOAT, Graph

CRF_OUTPUTS = ("transitions", "start_transitions", "end_transitions")


def crf_outputs(g: Graph, h: str, cfg: dict[str, Any]) -> list[tuple]:
    """The CRF tagger's outputs of the recurrent states h (T, B, dirs*H): the emission scores and the CRF's
    parameters (module docstring), as (name, element type, shape)."""
    K = cfg["num_tags"]
    g.op("Identity", [g.linear(h, "output")], ["emissions"])  # (T, B, K)
    for name in CRF_OUTPUTS:  # the initializers (float16 ones widened), as outputs
        g.op("Identity", [g.weight("crf." + name)], [name])
    return [("emissions", FLOAT, ["T", "B", K]), ("transitions", FLOAT, [K, K]), ("start_transitions", FLOAT, [K]),
            ("end_transitions", FLOAT, [K])]


def decoding_rules(task: dict[str, Any]) -> dict[str, Any] | None:
    """The vocabulary file's ``rules`` of a tagger: its tags' scheme and the legal moves (module docstring), or
    None when its scheme has none (POS tags)."""
    from rnnkit.tagging.task import decoding_constraints

    scheme = task.get("train_scheme", task["data"]["scheme"])  # absent from older checkpoints: the data's
    found = decoding_constraints(list(task["encoder"]["tags"]), scheme)
    if found is None:
        return None
    allowed, start, end = (a.astype(int).tolist() for a in found)
    return {"scheme": scheme, "data_scheme": task["data"]["scheme"], "allowed": allowed, "start": start, "end": end}


def retagged(task: dict[str, Any]) -> bool:
    """Whether the tagger was trained in another scheme than its data's (``--train-scheme``): its code then
    writes its tags in the data's scheme, as rnnkit tag does."""
    return task.get("train_scheme", task["data"]["scheme"]) != task["data"]["scheme"]


DATA_TAGS = [
    "def data_tags(tags, rules):",
    '    """The tags in the scheme the model was trained in (rules["scheme"]: BIOES, or BIO) written in the data\'s',
    '    (rules["data_scheme"]: BIO or IOB1), as rnnkit tag prints them: the same spans, read as conlleval reads them',
    "    (rnnkit.data.spans), so that a sequence the scheme forbids (decoded without the rules when they allow no",
    "    path) converts as rnnkit converts it too.  A span of X begins at a B-X or S-X, or at an I-X or E-X that does",
    "    not continue a B or I of X before it.  BIO: B-X where a span begins, else I-X.  IOB1: I-X, but B-X where a",
    '    span begins right after a token of X (whose span then ends)."""',
    '    out, trained, data = [], rules["scheme"], rules.get("data_scheme", rules["scheme"])  # older files: the same',
    "    for t, tag in enumerate(tags):",
    '        if tag == "O" or data == trained:',
    "            out.append(tag)",
    "            continue",
    "        kind, before = tag[2:], tags[t - 1] if t > 0 else \"O\"",
    '        begins = not (tag[0] in "IE" and before[0] in "BI" and before[2:] == kind)',
    '        out.append(("B-" if begins and (data != "iob1" or before[2:] == kind) else "I-") + kind)',
    "    return out", "", ""]


VITERBI = [
    "def viterbi(s, A, start, end):",
    '    """The best tag ids of one sentence, its emission scores s (n, K), and that path\'s score: the max over tag',
    "    paths y of start[y_0] + sum_t s[t, y_t] + sum_t A[y_t-1, y_t] + end[y_n-1] (A[i, j]: tag i followed by j).",
    '    Ties go to the lower tag id, as in rnnkit.crf.viterbi_decode."""',
    "    delta, back = start + s[0], []  # (K,): the best score of a path ending in each tag",
    "    for t in range(1, len(s)):",
    "        scores = delta[:, None] + A  # (K, K) [from, to]",
    "        back.append(scores.argmax(axis=0))  # (K,): the best tag before each",
    "        delta = scores.max(axis=0) + s[t]",
    "    path = [int((delta + end).argmax())]",
    "    for best_before in reversed(back):",
    "        path.append(int(best_before[path[-1]]))",
    "    return path[::-1], float((delta + end).max())", "", ""]

_RULED = [
    "def decode(s, A, start, end, rules):",
    '    """Viterbi over the sequences the tag scheme\'s rules allow (a forbidden move scores -inf), as rnnkit',
    "    decodes; a sentence they allow none (a BMES model without S, on one character) is decoded without them, as",
    '    rnnkit does."""',
    '    path, score = viterbi(s, np.where(np.array(rules["allowed"], bool), A, -np.inf),',
    '                          np.where(np.array(rules["start"], bool), start, -np.inf),',
    '                          np.where(np.array(rules["end"], bool), end, -np.inf))',
    "    return path if score > -np.inf else viterbi(s, A, start, end)[0]", "", ""]


def viterbi_code(crf: bool, ruled: bool) -> list[str]:
    """The printed code's decoder: ``viterbi`` (a CRF's, or a softmax tagger's with rules) and, for a model with
    rules, ``decode`` under them; none for a softmax tagger without rules (argmax)."""
    return (VITERBI if crf or ruled else []) + (_RULED if ruled else [])


def decode_use(n: str, crf: bool, ruled: bool, more: str = "") -> list[str]:
    """The lines that run the graph on ``x`` (T, 1) of ``n`` (the name of the text's length), and ``more`` inputs
    (e.g. ", **spelled(words)": the characters of each word), and decode ``best``,
    the tag ids, as rnnkit does: a CRF's Viterbi (under the rules when ``ruled``); a softmax tagger's argmax, or
    with rules Viterbi over its log-probabilities with no transition scores
    (:meth:`rnnkit.tagging.model.Tagger.chain`)."""
    feeds = '{"ids": x, "lengths": np.array([' + n + '])' + more + '}'
    first = []  # the inputs in lines of their own: the run's line would be too long
    if more:
        first = ['feeds = {"ids": x, "lengths": np.array([' + n + ']),', "         " + more.lstrip(", ") + "}"]
        feeds = "feeds"
    if crf:
        return [*first,
                "# the emission scores s (T, 1, K) and the CRF's transition scores A (K, K), start and end (K,)",
                's, A, start, end = session.run(None, ' + feeds + ')',
                'best = decode(s[:, 0], A, start, end, vocab["rules"])  # under the scheme\'s rules' if ruled else
                "best, _ = viterbi(s[:, 0], A, start, end)"]
    run = 'logp = session.run(["log_probs"], ' + feeds + ')[0]  # (T, 1, K)'
    if not ruled:
        return [*first, run, "best = logp[:, 0].argmax(-1).tolist()  # each word's likeliest tag"]
    return [*first, run,
            "# the likeliest of the sequences the tag scheme's rules allow, as rnnkit decodes: Viterbi over the",
            "# log-probabilities with no transition scores (a legal sequence rather than each word's likeliest tag)",
            "none = np.zeros(logp.shape[-1], np.float32)",
            'best = decode(logp[:, 0], np.zeros((len(none), len(none)), np.float32), none, none, vocab["rules"])']
