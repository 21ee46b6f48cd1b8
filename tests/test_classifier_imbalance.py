"""Imbalanced classes: the class-weighted cross-entropy (finite differences, PyTorch), scikit-learn's
"balanced" weights, ``--select-by macro_f1``, per-class precision/recall/F1, and --resume refusing a
change of either option."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import ClassifierTask, load_classifier
from rnnkit.classify.weights import balanced_class_weights, class_weights_from
from rnnkit.cli.classify_report import describe
from rnnkit.gradcheck import numeric_grad_at
from rnnkit.nn.softmax import softmax_cross_entropy, softmax_cross_entropy_backward

T, B, V, K = 6, 5, 9, 3
LENGTHS = np.array([6, 2, 5, 1, 3])
WEIGHTS = (0.4, 2.5, 1.3)  # no weight 1: a weight dropped anywhere shows


def test_weighted_cross_entropy_matches_finite_differences_and_its_formula():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 7, K))  # (T, B, K)
    t = rng.integers(0, K, (4, 7))
    mask = rng.random((4, 7)) < 0.7
    w = np.array(WEIGHTS)
    dloss = -0.83
    for reduction in ("sum", "mean"):
        loss, cache = softmax_cross_entropy(z, t, mask, reduction, weight=w)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        nll = -np.take_along_axis(logp, t[..., None], -1)[..., 0]  # (T, B)
        c = w[t] * mask
        expected = (c * nll).sum() / (c.sum() if reduction == "mean" else 1.0)
        assert loss == pytest.approx(expected, rel=1e-12), reduction
        dz = softmax_cross_entropy_backward(dloss, cache)
        for i in rng.choice(z.size, 12, replace=False):
            flat = z.reshape(-1)
            old = flat[i]
            flat[i] = old + 1e-6
            up = softmax_cross_entropy(z, t, mask, reduction, weight=w)[0]
            flat[i] = old - 1e-6
            down = softmax_cross_entropy(z, t, mask, reduction, weight=w)[0]
            flat[i] = old
            numeric = dloss * (up - down) / 2e-6
            assert abs(numeric - dz.reshape(-1)[i]) < 1e-8, (reduction, i, numeric, dz.reshape(-1)[i])
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        softmax_cross_entropy(z, t, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="finite, >= 0 and not all 0"):
        softmax_cross_entropy(z, t, weight=[1.0, -2.0, 1.0])


def test_weighted_cross_entropy_equals_torch_in_both_reductions():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    z = rng.normal(size=(11, K))
    t = rng.integers(0, K, 11)
    mask = rng.random(11) < 0.8
    w = np.array(WEIGHTS)
    dloss = 1.7
    for reduction in ("sum", "mean"):
        loss, cache = softmax_cross_entropy(z, t, mask, reduction, weight=w)
        dz = softmax_cross_entropy_backward(dloss, cache)
        zt = torch.tensor(z, requires_grad=True)
        ref = torch.nn.functional.cross_entropy(zt, torch.tensor(np.where(mask, t, -100)), weight=torch.tensor(w),
                                                reduction=reduction, ignore_index=-100)
        (dloss * ref).backward()
        assert abs(ref.item() - loss) < 1e-12, (reduction, ref.item(), loss)
        diff = np.abs(zt.grad.numpy() - dz).max()
        assert diff < 1e-12, f"{reduction}: dlogits max difference {diff:.3e}"


def _classifier(class_weights, pooling="max", cell="lstm"):
    cfg = ClassifierConfig(V, K, cell=cell, embedding_dim=4, hidden_size=3, num_layers=2, pooling=pooling,
                           dropout=0.2, dtype="float64", class_weights=class_weights)
    return Classifier(cfg, np.random.default_rng(3))


@pytest.mark.parametrize("cell,pooling", [("lstm", "max"), ("gru", "mean")])
def test_classifier_weighted_loss_gradients_match_finite_differences(cell, pooling):
    rng = np.random.default_rng(2)
    ids, y = rng.integers(0, V, (T, B)), np.array([0, 1, 2, 1, 0])
    model = _classifier(WEIGHTS, pooling, cell)
    dloss = -1.37

    def f():
        return dloss * model.loss(ids, LENGTHS, y, training=True, rng=np.random.default_rng(9))[0]

    _, cache = model.loss(ids, LENGTHS, y, training=True, rng=np.random.default_rng(9))
    grads = model.backward(dloss, cache)
    worst = {}
    for name, p in model.params.items():
        idx = rng.choice(p.size, min(6, p.size), replace=False)
        for i, num in zip(idx, numeric_grad_at(f, p, idx)):
            worst[name] = max(worst.get(name, 0.0), abs(num - grads[name].reshape(-1)[i]))
    name = max(worst, key=worst.get)
    assert worst[name] < 1e-7, f"{name}: max |numeric - analytic| = {worst[name]:.3e}"


def test_classifier_weighted_loss_is_torch_weighted_sum_and_the_weights_act():
    rng = np.random.default_rng(4)
    ids, y = rng.integers(0, V, (T, B)), np.array([0, 1, 2, 1, 1])
    weighted, plain = _classifier(WEIGHTS), _classifier(None)
    z, _ = plain.logits(ids, LENGTHS)  # the same parameters (same seed): the same logits
    loss, _ = weighted.loss(ids, LENGTHS, y)
    nll = -(z - np.log(np.exp(z).sum(1, keepdims=True)))[np.arange(B), y]
    assert loss == pytest.approx(float((np.array(WEIGHTS)[y] * nll).sum()), rel=1e-12)
    assert loss != pytest.approx(plain.loss(ids, LENGTHS, y)[0], rel=1e-3)
    torch = pytest.importorskip("torch")
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y), weight=torch.tensor(WEIGHTS,
                                                                                                dtype=torch.float64),
                                            reduction="sum")
    assert abs(ref.item() - loss) < 1e-10


def test_balanced_weights_are_scikit_learns_and_explicit_ones_are_by_label():
    ids = np.array([0, 0, 0, 1, 2, 2])  # N = 6, K = 3, counts 3, 1, 2
    assert balanced_class_weights(ids, 3) == pytest.approx((6 / 9, 6 / 3, 6 / 6))
    assert np.mean(np.array(balanced_class_weights(ids, 3))[ids]) == pytest.approx(1.0)  # average weight 1
    labels = ["neg", "neu", "pos"]
    assert class_weights_from("balanced", labels, ids) == pytest.approx((2 / 3, 2.0, 1.0))
    assert class_weights_from("none", labels, ids) is None
    assert class_weights_from("pos=3, neu=0.5", labels, ids) == (1.0, 0.5, 3.0)
    with pytest.raises(ValueError, match="'posx' is not a label of the training data"):
        class_weights_from("posx=2", labels, ids)
    with pytest.raises(ValueError, match="'pos' is given twice"):
        class_weights_from("pos=2,pos=1", labels, ids)
    with pytest.raises(ValueError, match="expected a number > 0 for 'neu'"):
        class_weights_from("pos=3, neu=0", labels, ids)
    with pytest.raises(ValueError, match="none of class"):
        balanced_class_weights(np.array([0, 0, 2]), 3)
    cfg = ClassifierConfig(5, 3, class_weights=[1, 2, 3])
    assert cfg.class_weights == (1.0, 2.0, 3.0) and cfg.to_dict()["class_weights"] == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        ClassifierConfig(5, 3, class_weights=(1.0, 2.0))


def test_the_criterion_follows_select_by():
    model = _classifier(None)
    seqs, labels = [np.array([1, 2]), np.array([3])], np.array([0, 1])
    m = {"loss": 0.3, "accuracy": 0.9, "macro_f1": 0.4}
    assert ClassifierTask(model, seqs, labels).criterion(m) == pytest.approx(0.1)
    task = ClassifierTask(model, seqs, labels, select_by="macro_f1")
    assert task.criterion(m) == pytest.approx(0.6) and task.resume_options()["--select-by"] == "macro_f1"
    with pytest.raises(ValueError, match="select_by"):
        ClassifierTask(model, seqs, labels, select_by="f1")


def test_the_validation_loss_is_weighted_as_the_training_loss():
    from rnnkit.classify.task import pad_batch

    rng = np.random.default_rng(7)
    seqs = [rng.integers(0, V, int(n)) for n in rng.integers(1, T + 1, 9)]
    labels = rng.integers(0, K, 9)
    model = _classifier(WEIGHTS)
    got = ClassifierTask(model, seqs, labels, seqs, labels).evaluate()["loss"]
    each = [model.loss(*pad_batch([s]), y[None])[0] for s, y in zip(seqs, labels)]  # c_y * nll, one at a time
    assert got == pytest.approx(float(np.mean(each)), rel=1e-10)
    assert got != pytest.approx(ClassifierTask(_classifier(None), seqs, labels, seqs, labels).evaluate()["loss"])


def _rows(rng, n, frac_pos=0.15, cue=0.8):
    """(label, text) rows, about ``frac_pos`` positive; a cue word in a fraction ``cue`` of them."""
    filler = "the a movie film plot actors story scene it was is and of".split()
    rows = []
    for _ in range(n):
        label = "pos" if rng.random() < frac_pos else "neg"
        words = list(rng.choice(filler, int(rng.integers(3, 8))))
        cues = {"pos": ["great", "fun"], "neg": ["dull", "awful"]}[label]
        if rng.random() < cue:
            words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(cues)))
        rows.append((label, " ".join(words)))
    return rows


@pytest.fixture()
def imbalanced(tmp_path):
    """train / dev / test as TSV and as polarity pairs (NAME.pos, NAME.neg)."""
    rng = np.random.default_rng(0)
    for name, n in (("train", 300), ("dev", 100), ("test", 100)):
        rows = _rows(rng, n)
        (tmp_path / f"{name}.tsv").write_text("".join(f"{lab}\t{t}\n" for lab, t in rows), encoding="utf-8")
        for side in ("pos", "neg"):
            (tmp_path / f"{name}.{side}").write_text("".join(f"{t}\n" for lab, t in rows if lab == side),
                                                     encoding="utf-8")
    return tmp_path


SMALL = ["--embed", "16", "--hidden", "16", "--lr", "0.01", "--progress", "none", "--checkpoint-minutes", "0"]


def _epochs(run):
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["type"] == "epoch"]


def test_select_by_macro_f1_keeps_another_epoch_and_resume_refuses_a_change(imbalanced, capsys):
    """A validation set where predicting the majority class everywhere has the highest accuracy any model
    can reach: 95 negative texts, 2 positive ones ('great movie', 'fun film') and 3 negative ones with
    the same words, so a model that learns the positive cues wins 2 texts and loses 3 (97%), while its
    macro-F1 (0.78) is far above the majority's (0.49)."""
    d = imbalanced
    rng = np.random.default_rng(5)
    rows = [("neg", t) for _, t in _rows(rng, 95, frac_pos=0.0, cue=1.0)]
    rows += [("neg", "great movie"), ("neg", "fun film"), ("neg", "great movie"), ("pos", "great movie"),
             ("pos", "fun film")]
    (d / "skewed.tsv").write_text("".join(f"{lab}\t{t}\n" for lab, t in rows), encoding="utf-8")
    base = ["train", "classifier", "--train", str(d / "train.tsv"), "--valid", str(d / "skewed.tsv"), "--epochs",
            "6", *SMALL]
    chosen = {}
    for metric in ("accuracy", "macro_f1"):
        run = d / metric
        code, _, err = run_cli(capsys, base + ["--select-by", metric, "--run-dir", str(run)])
        assert code == 0, err
        best = None
        for e in _epochs(run):  # "best" marks each strict improvement of the chosen metric, and only those
            value = e[f"valid_{metric}"]
            assert e["best"] == (best is None or value > best), (metric, e)
            best = value if e["best"] else best
        chosen[metric] = [e for e in _epochs(run) if e["best"]][-1]
    # the same training (same seed; --select-by changes no step), another checkpoint kept
    assert chosen["accuracy"]["epoch"] == 1 and chosen["accuracy"]["valid_macro_f1"] < 0.5, chosen
    assert chosen["macro_f1"]["epoch"] > 1 and chosen["macro_f1"]["valid_macro_f1"] > 0.7, chosen
    code, _, err = run_cli(capsys, base + ["--epochs", "7", "--run-dir", str(d / "macro_f1"), "--resume"])
    assert code == 2 and "--select-by macro_f1 then, accuracy now" in err, err
    code, _, err = run_cli(capsys, base + ["--epochs", "7", "--select-by", "macro_f1", "--class-weights", "balanced",
                                           "--run-dir", str(d / "macro_f1"), "--resume"])
    assert code == 2 and "--class-weights (classifier_config.class_weights): None then, [0.6" in err, err


def test_class_weights_are_saved_with_the_model_and_resume_refuses_a_change(imbalanced, capsys):
    d = imbalanced
    run = d / "run"
    argv = ["train", "classifier", "--train", str(d / "train.tsv"), "--valid", str(d / "dev.tsv"), "--epochs", "1",
            "--run-dir", str(run), *SMALL]
    code, _, err = run_cli(capsys, argv + ["--class-weights", "balanced"])
    labels = [line.split("\t")[0] for line in (d / "train.tsv").read_text().splitlines()]
    n, pos = len(labels), labels.count("pos")
    expected = (n / (2 * (n - pos)), n / (2 * pos))  # neg, pos: sorted labels
    assert code == 0 and "class weights (balanced): neg " in err, err
    model, enc, meta = load_classifier(run / "best.safetensors")
    assert enc.labels == ["neg", "pos"] and model.config.class_weights == pytest.approx(expected)
    assert meta["classifier_config"]["class_weights"] == pytest.approx(list(expected))
    code, _, err = run_cli(capsys, argv + ["--epochs", "2", "--class-weights", "pos=3", "--resume"])
    assert code == 2 and "--class-weights (classifier_config.class_weights): [0.6" in err and "[1.0, 3.0] now" in err
    code, _, err = run_cli(capsys, argv + ["--epochs", "2", "--class-weights", "balanced", "--resume"])
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--class-weights", "pos=3,neutral=1", "--run-dir", str(d / "r2")])
    assert code == 2 and "--class-weights 'pos=3,neutral=1': 'neutral' is not a label of the training data" in err
    for weight in ("-1", "0", "0.0", "-0"):  # a class of weight 0 is never learnt
        code, _, err = run_cli(capsys, argv + ["--class-weights", f"neg=2,pos={weight}", "--run-dir", str(d / "r3")])
        assert code == 2 and err.count("\n") == 1, err
        assert (f"argument --class-weights: 'neg=2,pos={weight}': expected a number > 0 for 'pos' (a class of weight "
                f"0 is never learnt), got '{weight}'; give a positive weight, or leave pos out (weight 1)") in err, err
    assert not (d / "r3").exists()
    code, _, err = run_cli(capsys, argv + ["--class-weights", "pos"])
    assert code == 2 and "argument --class-weights: 'pos': expected none, balanced or LABEL=W" in err, err


def test_per_class_precision_recall_f1_in_evaluate_and_json(imbalanced, capsys):
    d = imbalanced
    run = d / "run"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(d / "train.tsv"), "--valid",
                                    str(d / "dev.tsv"), "--epochs", "2", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    code, out, _ = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(d / "test.tsv"), "--json"])
    m = json.loads(out)
    (tn, fp), (fn, tp) = m["confusion"]  # rows gold neg, pos; columns predicted
    pos = m["per_class"]["pos"]
    assert pos["support"] == fn + tp and m["per_class"]["neg"]["support"] == tn + fp
    assert pos["recall"] == pytest.approx(tp / (tp + fn)) and pos["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["macro_f1"] == pytest.approx((pos["f1"] + m["per_class"]["neg"]["f1"]) / 2)
    code, out, _ = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(d / "test.tsv")])
    assert code == 0 and out.endswith(describe(m) + "\n"), out
    # this short run predicts no text pos: its precision is 0/0, null in --json and "-" in the text
    assert pos["precision"] == (pytest.approx(tp / (tp + fp)) if tp + fp else None), (m["confusion"], pos)
    precision = f"{100 * pos['precision']:6.2f}%" if tp + fp else "     - "
    assert f"     pos: precision {precision} recall {100 * pos['recall']:6.2f}%" in out, out


def test_a_class_never_predicted_has_an_undefined_precision_in_every_per_class_table():
    from rnnkit.cli.tagging import detail_lines  # named per_kind_table before it printed the tag errors too
    from rnnkit.metrics import confusion_matrix, macro_f1, per_class_prf

    gold, pred = ["neg", "neg", "neg", "pos", "pos"], ["neg"] * 5  # pos never predicted: its precision is 0/0
    matrix, labels = confusion_matrix(gold, pred)
    m = {"accuracy": 0.6, "macro_f1": macro_f1(gold, pred), "labels": labels, "confusion": matrix.tolist(),
         "per_class": per_class_prf(gold, pred), "examples": 5}
    assert m["macro_f1"] == pytest.approx((2 * 3 / (2 * 3 + 2) + 0.0) / 2)  # pos counts F1 0 (scikit-learn's)
    text = describe(m)
    assert "     pos: precision      -  recall   0.00% F1   0.00 (2 gold)" in text.splitlines(), text
    assert "     neg: precision  60.00% recall 100.00% F1  75.00 (3 gold)" in text.splitlines(), text
    assert json.loads(json.dumps(m))["per_class"]["pos"]["precision"] is None  # null in --json
    table = detail_lines({"per_tag": per_class_prf(["NN", "VB"], ["NN", "NN"])})  # the tagger's per-tag lines
    assert table.splitlines()[1] == "          VB: precision      -  recall   0.00% F1   0.00 (1 gold)", table


def test_cross_validation_folds_select_by_and_weigh_as_asked(imbalanced, capsys):
    from rnnkit.checkpoint import load_meta

    d = imbalanced
    run = d / "cv"
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(d / "train.tsv"), "--folds", "2",
                                      "--select-by", "macro_f1", "--class-weights", "balanced", "--epochs", "1",
                                      "--run-dir", str(run), *SMALL])
    assert code == 0 and "2-fold cross-validation: accuracy" in out and "fold 2/2: accuracy" in out, (out, err)
    for fold in ("fold1", "fold2"):
        meta = load_meta(run / fold / "last.safetensors")
        assert meta["run_options"]["--select-by"] == "macro_f1", meta["run_options"]
        weights = meta["task"]["classifier_config"]["class_weights"]
        assert weights[1] > 2 > 1 > weights[0] > 0.5, weights  # balanced, from the fold's training part


def test_resuming_a_run_started_with_a_class_weight_of_zero_says_it_cannot_be_resumed():
    """Versions before Dec 6 2026 accepted --class-weights pos=0, which is now refused: the resume message of
    such a run says so instead of asking for the same --class-weights again."""
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.digest import resume_problem

    config = TrainConfig().to_dict()
    then = {"classifier_config": {"vocab_size": 9, "num_classes": 2, "class_weights": [2.0, 0.0]}}
    meta = {"train_config": config, "task": then, "run_options": {}}
    for now in (None, [1.0, 3.0]):  # --class-weights left out, or another weight
        said = resume_problem(meta, {"classifier_config": {**then["classifier_config"], "class_weights": now}},
                              config, None, {})
        assert said and ("--class-weights (classifier_config.class_weights) [2.0, 0.0] then: a weight of 0, which "
                         "--class-weights no longer accepts, so this run cannot be resumed") in said, said
    said = resume_problem({**meta, "task": {"classifier_config": {**then["classifier_config"],
                                                                  "class_weights": [2.0, 1.0]}}},
                          {"classifier_config": {**then["classifier_config"], "class_weights": [1.0, 3.0]}},
                          config, None, {})
    assert said and "[2.0, 1.0] then, [1.0, 3.0] now" in said, said
