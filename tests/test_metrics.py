"""Metrics: token accuracy, conlleval span scores (via seqeval), SIGHAN segmentation scores, classification."""
from __future__ import annotations


import numpy as np
import pytest

from rnnkit.data.segmentation import words_to_tags
from rnnkit.data.spans import iob1_to_iob2, spans, spans_to_tags
from rnnkit.metrics import accuracy, confusion_matrix, macro_f1, per_class_prf, segmentation_prf, token_accuracy

pytest.importorskip("seqeval")
from rnnkit.metrics import span_prf  # noqa: E402


# ---------------------------------------------------------------- conlleval oracle
# The chunk rules of the conlleval Perl script (CoNLL-2000), written out again in Python: a tag is
# split at its first "-" into (tag, type); a sentence boundary is a token tagged O on both sides.


def _split(tag: str) -> tuple[str, str]:
    if "-" in tag:
        prefix, kind = tag.split("-", 1)
        return prefix, kind
    return tag, ""


def _end_of_chunk(prev_tag, tag, prev_type, kind) -> bool:
    end = False
    for a, b in (("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")):
        if prev_tag == a and tag == b:
            end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != kind:
        end = True
    if prev_tag in ("]", "["):
        end = True
    return end


def _start_of_chunk(prev_tag, tag, prev_type, kind) -> bool:
    start = False
    for a, b in (("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")):
        if prev_tag == a and tag == b:
            start = True
    if tag != "O" and tag != "." and prev_type != kind:
        start = True
    if tag in ("[", "]"):
        start = True
    return start


def conlleval_counts(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """conlleval's streaming counts: correct, found-gold and found-guessed chunks, overall and per type."""
    stream = []
    for g, p in zip(gold, pred):
        stream.extend(zip(g, p))
        stream.append(("O", "O"))  # the blank line between sentences
    correct = found_gold = found_pred = 0
    per_type: dict[str, list[int]] = {}  # type -> [correct, gold, pred]
    in_correct = False
    last_gold, last_pred, last_gold_type, last_pred_type = "O", "O", "", ""
    for g, p in stream:
        gold_tag, gold_type = _split(g)
        pred_tag, pred_type = _split(p)
        gold_end = _end_of_chunk(last_gold, gold_tag, last_gold_type, gold_type)
        pred_end = _end_of_chunk(last_pred, pred_tag, last_pred_type, pred_type)
        gold_start = _start_of_chunk(last_gold, gold_tag, last_gold_type, gold_type)
        pred_start = _start_of_chunk(last_pred, pred_tag, last_pred_type, pred_type)
        if in_correct:
            if gold_end and pred_end and last_gold_type == last_pred_type:
                in_correct = False
                correct += 1
                per_type.setdefault(last_gold_type, [0, 0, 0])[0] += 1
            elif gold_end != pred_end or gold_type != pred_type:
                in_correct = False
        if gold_start and pred_start and gold_type == pred_type:
            in_correct = True
        if gold_start:
            found_gold += 1
            per_type.setdefault(gold_type, [0, 0, 0])[1] += 1
        if pred_start:
            found_pred += 1
            per_type.setdefault(pred_type, [0, 0, 0])[2] += 1
        last_gold, last_pred, last_gold_type, last_pred_type = gold_tag, pred_tag, gold_type, pred_type
    if in_correct:
        correct += 1
        per_type.setdefault(last_gold_type, [0, 0, 0])[0] += 1
    return {"correct": correct, "gold": found_gold, "pred": found_pred, "per_type": per_type}


def prf(correct: int, n_gold: int, n_pred: int) -> tuple[float, float, float]:
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def oracle_chunks(tags: list[str]) -> list[tuple[str, int, int]]:
    """Chunks of one sentence by the conlleval rules, end exclusive."""
    found = []
    start = 0
    last, last_type = "O", ""
    for i, tag in enumerate(tags + ["O"]):
        prefix, kind = _split(tag)
        if _end_of_chunk(last, prefix, last_type, kind):
            found.append((last_type, start, i))
        if _start_of_chunk(last, prefix, last_type, kind):
            start = i
        last, last_type = prefix, kind
    return found


def assert_matches_conlleval(gold, pred, scheme, label=""):
    counts = conlleval_counts(gold, pred)
    got = span_prf(gold, pred, scheme)
    want = prf(counts["correct"], counts["gold"], counts["pred"])
    for name, value, expected in zip(("precision", "recall", "f1"), (got["precision"], got["recall"], got["f1"]), want):
        assert value == pytest.approx(expected, abs=1e-12), f"{label} {name}: {value} vs conlleval {expected}"
    assert sorted(got["per_type"]) == sorted(counts["per_type"]), label
    for kind, (c, g, p) in counts["per_type"].items():
        expected = prf(c, g, p)
        row = got["per_type"][kind]
        # conlleval prints 0.00% where a type has no span found (or none in gold): rnnkit says undefined (None)
        assert (row["precision"] is None) == (p == 0) and (row["recall"] is None) == (g == 0), f"{label} {kind}"
        defined = [(a, b) for a, b in zip((row["precision"], row["recall"], row["f1"]), expected) if a is not None]
        assert [a for a, _ in defined] == pytest.approx([b for _, b in defined], abs=1e-12), f"{label} {kind}"
        assert row["support"] == g, f"{label} {kind} support"


# ---------------------------------------------------------------- span scores


def test_span_prf_hand_computed():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    # gold PER(0,2) LOC(3,4) ORG(0,1); pred PER(0,2) ORG(3,4) ORG(0,2): one correct of 3 and 3
    got = span_prf(gold, pred)
    assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert got["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert got["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert got["per_type"]["LOC"] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 1}  # none found
    assert list(got["per_type"]) == ["LOC", "ORG", "PER"]
    # IOB1: gold NP(0,2) NP(2,3) VP(4,5); pred NP(0,3) VP(4,5): P = 1/2, R = 1/3, F1 = 0.4
    got = span_prf([["I-NP", "I-NP", "B-NP", "O", "I-VP"]], [["I-NP", "I-NP", "I-NP", "O", "I-VP"]], "iob1")
    assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((0.5, 1 / 3, 0.4))
    # an ill-formed IOB2 prediction "O I-X" opens a chunk at the I, as in conlleval
    got = span_prf([["O", "B-X", "I-X"]], [["O", "I-X", "I-X"]])
    assert got["f1"] == 1.0
    # a sentence end closes a chunk, so an I-X that opens a sentence opens a chunk of its own:
    # 2 gold chunks here, both found by the prediction; as one sentence they are one chunk
    assert span_prf([["B-X"], ["I-X"]], [["B-X"], ["B-X"]])["f1"] == 1.0
    assert span_prf([["B-X", "I-X"]], [["B-X", "B-X"]])["precision"] == 0.0


def test_span_prf_equals_conlleval_on_hand_made_cases():
    cases = [
        ([["B-A", "I-A", "I-B", "O"]], [["B-A", "I-B", "I-B", "O"]]),
        ([["I-A", "B-A", "I-A", "O", "I-A"]], [["I-A", "I-A", "B-A", "I-A", "O"]]),
        ([["O", "O"], ["B-A"]], [["I-A", "O"], ["O"]]),
        ([["B-A", "B-A", "B-B"]], [["B-A", "I-A", "B-B"]]),
        ([[]], [[]]),
    ]
    for k, (gold, pred) in enumerate(cases):
        assert_matches_conlleval(gold, pred, "iob1", f"case {k}")


@pytest.mark.parametrize("scheme", ["iob1", "iob2"])
def test_span_prf_equals_conlleval_on_random_sequences(scheme):
    rng = np.random.default_rng(10)
    tags = ["O", "B-X", "I-X", "B-Y", "I-Y", "B-LONG-NAME", "I-LONG-NAME"]
    for trial in range(150):
        n = int(rng.integers(1, 5))
        lengths = rng.integers(0, 9, size=n)
        gold = [[str(t) for t in rng.choice(tags, size=int(m))] for m in lengths]
        pred = [[str(t) for t in rng.choice(tags, size=int(m))] for m in lengths]
        assert_matches_conlleval(gold, pred, scheme, f"trial {trial}")
        for sentence in gold:
            assert spans(sentence, scheme) == oracle_chunks(sentence), f"trial {trial}: {sentence}"


def test_iob1_and_iob2_of_the_same_spans_score_the_same():
    rng = np.random.default_rng(11)
    for trial in range(100):
        length = int(rng.integers(1, 10))
        sentences = {}
        for side in ("gold", "pred"):
            found = []
            i = 0
            while i < length:
                end = min(length, i + int(rng.integers(1, 4)))
                if rng.random() < 0.7:
                    found.append((str(rng.choice(["X", "Y"])), i, end))
                i = end
            sentences[side] = found
        iob1 = {side: [spans_to_tags(found, length, "iob1")] for side, found in sentences.items()}
        iob2 = {side: [spans_to_tags(found, length, "iob2")] for side, found in sentences.items()}
        bioes = {side: [spans_to_tags(found, length, "bioes")] for side, found in sentences.items()}
        assert [iob1_to_iob2(s) for s in iob1["gold"]] == iob2["gold"]
        a = span_prf(iob1["gold"], iob1["pred"], "iob1")
        b = span_prf(iob2["gold"], iob2["pred"], "iob2")
        c = span_prf(bioes["gold"], bioes["pred"], "bioes")
        assert a == b == c, f"trial {trial}: iob1 {a}, iob2 {b}, bioes {c}"
        assert_matches_conlleval(iob2["gold"], iob2["pred"], "iob2", f"trial {trial}")


def test_span_prf_rejects_bad_input():
    with pytest.raises(ValueError, match="IOB2 tag.*'S-X'.*position 1 in pred sentence 0"):
        span_prf([["O", "B-X"]], [["O", "S-X"]])
    with pytest.raises(ValueError, match="3 predicted tags for sentence 0"):
        span_prf([["O", "B-X", "O"]], [["O", "B-X"]])
    with pytest.raises(ValueError, match="scheme"):
        span_prf([["O"]], [["O"]], scheme="bmes")


# ---------------------------------------------------------------- token accuracy


def test_token_accuracy_lists_and_masked_arrays():
    assert token_accuracy([["A", "B", "C"], ["A"]], [["A", "C", "C"], ["B"]]) == pytest.approx(2 / 4)
    rng = np.random.default_rng(12)
    gold = rng.integers(0, 4, size=(3, 6))  # (B, T)
    pred = rng.integers(0, 4, size=(3, 6))  # (B, T)
    mask = np.arange(6)[None, :] < np.array([6, 2, 4])[:, None]  # (B, T)
    expected = sum(int(gold[b, t] == pred[b, t]) for b in range(3) for t in range(6) if mask[b, t]) / 12
    assert token_accuracy(gold, pred, mask) == pytest.approx(expected)
    lists = [list(gold[b, :n]) for b, n in enumerate([6, 2, 4])]
    assert token_accuracy(lists, [list(pred[b, :n]) for b, n in enumerate([6, 2, 4])]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="mask of shape"):
        token_accuracy(gold, pred, mask[:, :3])
    with pytest.raises(ValueError, match="2 predicted tags for sentence 1"):
        token_accuracy([["A"], ["B", "C"]], [["A"], ["B"]])


# ---------------------------------------------------------------- segmentation


def test_segmentation_prf_hand_computed():
    gold = [["我们", "爱", "北京大学"]]
    pred = [["我", "们", "爱", "北京", "大学"]]
    got = segmentation_prf(gold, pred, train_vocab={"我们", "爱"})
    # one correct word (爱) of 5 predicted and 3 gold; 北京大学 is the only OOV gold word
    assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((1 / 5, 1 / 3, 0.25))
    assert (got["oov_recall"], got["iv_recall"], got["oov_rate"]) == pytest.approx((0.0, 0.5, 1 / 3))
    assert (got["gold_words"], got["pred_words"], got["correct"]) == (3, 5, 1)
    assert segmentation_prf(gold, pred)["oov_recall"] is None
    no_oov = segmentation_prf(gold, pred, train_vocab=["我们", "爱", "北京大学"])
    # no OOV gold word: OOV recall is undefined, None (JSON null), never nan (not valid JSON)
    assert no_oov["oov_recall"] is None and no_oov["iv_recall"] == pytest.approx(1 / 3)
    assert no_oov["oov_rate"] == 0.0
    # the same string at another place is not a match (diff-based scoring would count one here)
    assert segmentation_prf([["a", "aa"]], [["aa", "a"]])["correct"] == 0
    with pytest.raises(ValueError, match="same characters.*sentence 0"):
        segmentation_prf([["我们"]], [["我", "他"]])


def test_segmentation_prf_matches_bmes_tag_comparison_on_random_segmentations():
    # a gold word is found exactly when its characters carry the same BMES tags in both segmentations
    rng = np.random.default_rng(13)
    for trial in range(100):
        gold, pred = [], []
        for _ in range(int(rng.integers(1, 4))):
            chars = [chr(0x4E00 + int(c)) for c in rng.integers(0, 4, size=int(rng.integers(1, 12)))]
            for side in (gold, pred):
                cuts = sorted(set(int(c) for c in rng.integers(1, len(chars) + 1, size=int(rng.integers(0, 6)))))
                bounds = [0] + [c for c in cuts if c < len(chars)] + [len(chars)]
                side.append(["".join(chars[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
        vocab = {w for s in gold for w in s if rng.random() < 0.5}
        correct = oov = oov_correct = 0
        for g, p in zip(gold, pred):
            gold_tags = words_to_tags(g)[1]
            pred_tags = words_to_tags(p)[1]
            start = 0
            for word in g:
                hit = gold_tags[start:start + len(word)] == pred_tags[start:start + len(word)]
                correct += hit
                oov += word not in vocab
                oov_correct += hit and word not in vocab
                start += len(word)
        n_gold = sum(map(len, gold))
        n_pred = sum(map(len, pred))
        got = segmentation_prf(gold, pred, vocab)
        assert got["correct"] == correct, f"trial {trial}: {gold} vs {pred}"
        assert (got["precision"], got["recall"]) == pytest.approx((correct / n_pred, correct / n_gold))
        if oov:
            assert got["oov_recall"] == pytest.approx(oov_correct / oov), f"trial {trial}"


# ---------------------------------------------------------------- classification


def test_classification_metrics_hand_computed():
    gold = ["a", "a", "b", "c", "c", "c"]
    pred = ["a", "b", "b", "c", "a", "d"]
    assert accuracy(gold, pred) == pytest.approx(3 / 6)
    matrix, labels = confusion_matrix(gold, pred)
    assert labels == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(matrix, [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 1], [0, 0, 0, 0]])
    # F1: a 2/(2+1+1)=0.5, b 2/(2+1)=2/3, c 2/(2+2)=0.5, d 0 (predicted only)
    assert macro_f1(gold, pred) == pytest.approx((0.5 + 2 / 3 + 0.5 + 0.0) / 4)
    assert per_class_prf(gold, pred)["c"] == {"precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3}
    matrix, labels = confusion_matrix(gold, pred, labels=["d", "c", "b", "a"])
    assert matrix[1, 0] == 1 and matrix[3, 3] == 1
    with pytest.raises(ValueError, match="pred label.*'d' at example 5"):
        confusion_matrix(gold, pred, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="as many predictions"):
        accuracy(gold, pred[:2])


def test_classification_metrics_from_a_confusion_matrix():
    """A matrix over all K classes (a tree model's, summed over batches and processes): classes in
    neither gold nor pred are left out of the macro-F1 and, with present_only, of the per-class table."""
    from rnnkit.metrics import confusion_macro_f1, confusion_prf

    gold = ["a", "a", "b", "c", "c", "c"]
    pred = ["a", "b", "b", "c", "a", "d"]
    matrix, _ = confusion_matrix(gold, pred, labels=["a", "b", "c", "d", "e"])  # e: in neither
    assert confusion_macro_f1(matrix) == pytest.approx((0.5 + 2 / 3 + 0.5 + 0.0) / 4)
    every = confusion_prf(matrix, ["a", "b", "c", "d", "e"])
    assert every["e"] == {"precision": None, "recall": None, "f1": None, "support": 0}  # in neither: every ratio 0/0
    assert every["c"] == {"precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3}
    assert confusion_prf(matrix, ["a", "b", "c", "d", "e"], present_only=True) == per_class_prf(gold, pred)
    assert np.isnan(confusion_macro_f1(np.zeros((3, 3), dtype=np.int64)))  # no examples
    with pytest.raises(ValueError, match=r"Expected a \(4, 4\) confusion matrix for 4 labels, got shape \(5, 5\)"):
        confusion_prf(matrix, ["a", "b", "c", "d"])


def test_classification_metrics_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(14)
    for trial in range(30):
        gold = [str(x) for x in rng.choice(list("abcde"), size=int(rng.integers(1, 40)))]
        pred = [str(x) for x in rng.choice(list("abcdef"), size=len(gold))]
        labels = sorted(set(gold) | set(pred))
        matrix, got_labels = confusion_matrix(gold, pred)
        assert got_labels == labels
        np.testing.assert_array_equal(matrix, metrics.confusion_matrix(gold, pred, labels=labels),
                                      err_msg=f"trial {trial}: confusion matrix")
        assert accuracy(gold, pred) == pytest.approx(metrics.accuracy_score(gold, pred))
        want = metrics.f1_score(gold, pred, average="macro", zero_division=0)
        assert macro_f1(gold, pred) == pytest.approx(want), f"trial {trial}: macro-F1 {macro_f1(gold, pred)} vs {want}"
        # per class: undefined (None) where scikit-learn's zero_division=nan gives nan, its values elsewhere
        listed = labels + ["z"]  # z: a class listed but in neither gold nor pred, all of its ratios 0/0
        p, r, f, support = metrics.precision_recall_fscore_support(gold, pred, labels=listed, zero_division=np.nan)
        got = per_class_prf(gold, pred, listed)
        assert got["z"] == {"precision": None, "recall": None, "f1": None, "support": 0} and np.isnan(f[-1])
        assert {k: v for k, v in got.items() if k != "z"} == per_class_prf(gold, pred)
        for k, label in enumerate(labels):
            row = got[label]
            for name, want in (("precision", p[k]), ("recall", r[k])):
                assert (row[name] is None) == bool(np.isnan(want)), f"trial {trial} {label} {name}: {row[name]}"
                assert row[name] is None or row[name] == pytest.approx(want), f"trial {trial} {label} {name}"
            assert row["f1"] == pytest.approx(f[k]) and row["support"] == support[k], f"trial {trial} {label}"


def test_a_per_class_line_shows_an_undefined_ratio_as_a_dash():
    from rnnkit.cli.classify_report import prf_line

    assert prf_line("neg", {"precision": None, "recall": None, "f1": None, "support": 0}, 5) == \
        "  neg: precision      -  recall      -  F1      - (0 gold)"
    assert prf_line("x", {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "support": 4}, 3) == \
        "  x: precision  50.00% recall  25.00% F1  33.33 (4 gold)"


def test_precision_of_a_class_never_predicted_is_undefined_and_its_f1_counts_0():
    gold = ["a", "a", "b", "c", "c", "c"]
    pred = ["a", "a", "a", "c", "a", "d"]  # b never predicted; d never gold
    got = per_class_prf(gold, pred)
    assert got["b"] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 1}
    assert got["d"] == {"precision": 0.0, "recall": None, "f1": 0.0, "support": 0}
    assert macro_f1(gold, pred) == pytest.approx((2 * 2 / (2 * 2 + 2) + 0.0 + 2 * 1 / (2 + 2) + 0.0) / 4)


def test_spans_read_bioes_as_seqeval_does():
    # rnnkit.data.spans documents that its E/S rules are seqeval's extension of conlleval's
    get_entities = pytest.importorskip("seqeval.metrics.sequence_labeling").get_entities
    rng = np.random.default_rng(15)
    tags = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"]
    for trial in range(300):
        seq = [str(t) for t in rng.choice(tags, size=int(rng.integers(0, 10)))]
        want = [(kind, start, end + 1) for kind, start, end in get_entities(seq)]
        assert spans(seq, "bioes") == want, f"trial {trial}: {seq}"


def test_integer_labels_sort_by_value_in_the_confusion_matrix():
    gold, pred = ["1", "10", "2", "3", "10"], ["1", "10", "2", "2", "3"]
    matrix, labels = confusion_matrix(gold, pred)
    assert labels == ["1", "2", "3", "10"]  # not as text: 1, 10, 2, 3
    assert matrix[labels.index("10"), labels.index("3")] == 1 and matrix.trace() == 3
    assert list(per_class_prf(gold, pred)) == ["1", "2", "3", "10"]
    assert confusion_matrix(["-1", "01", "1", "2"], ["2"] * 4)[1] == ["-1", "01", "1", "2"]
    assert confusion_matrix(["pos", "neg", "10", "9"], ["9"] * 4)[1] == ["10", "9", "neg", "pos"]  # text: as text
