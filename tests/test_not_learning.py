"""A run that diverges without reaching the explosion threshold is named (its epoch's training loss is above
what guessing uniformly scores), and healthy runs are not."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from clirun import run_cli, write_conllu

WORDS = [f"w{i}" for i in range(60)]


def _text(seed: int, lines: int = 60) -> str:
    """Lines of words with some structure (a word tends to follow its predecessor + 1), 60 word types."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(lines):
        i = int(rng.integers(60))
        line = []
        for _ in range(8):
            line.append(WORDS[i])
            i = (i + 1) % 60 if rng.random() < 0.7 else int(rng.integers(60))
        out.append(" ".join(line))
    return "\n".join(out) + "\n"


def _lm(tmp_path, capsys, *extra: str) -> tuple[int, str, list[dict]]:
    train = tmp_path / "train.txt"
    valid = tmp_path / "valid.txt"
    train.write_text(_text(0), encoding="utf-8")
    valid.write_text(_text(1, 10), encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(train), "--valid", str(valid), "--hidden", "8",
                                    "--embed", "8", "--layers", "1", "--batch-size", "4", "--bptt", "10",
                                    "--progress", "none", "--run-dir", str(run), *extra])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] if code == 0 else []
    return code, err, [r for r in records if r["type"] == "epoch"]


# ---------------------------------------------------------------- the uniform guess's loss
def test_the_uniform_guess_and_its_margin():
    from rnnkit.guard import above_uniform, uniform_guess, uniform_limit

    u = uniform_guess(10_000, "word")
    assert u.loss == pytest.approx(math.log(10_000))
    assert u.says == "ln 10,000, what guessing every word uniformly scores"
    weighted = uniform_guess(3, "class", weight=1.5)
    assert weighted.loss == pytest.approx(1.5 * math.log(3)) and "times the mean class weight 1.5" in weighted.says
    assert uniform_limit(math.log(10_000)) == pytest.approx(1.1 * math.log(10_000))  # 10% above
    assert uniform_limit(math.log(2)) == pytest.approx(math.log(2) + 0.1)  # at least 0.1 nats
    # at initialisation a model scores a little above ln V: no warning; well above: one
    assert above_uniform(1, math.log(2) + 0.05, uniform_guess(2, "class"), math.log(2)) is None
    said = above_uniform(1, 25.4, u, 9.3, "lower the learning rate (--lr 50 now)")
    assert said == ("epoch 1's training loss 25.4 is above 9.21 = ln 10,000, what guessing every word uniformly "
                    "scores: the run is diverging or not learning; lower the learning rate (--lr 50 now)")


def test_a_first_batch_already_above_it_blames_the_initial_weights():
    from rnnkit.guard import UniformLoss, above_uniform

    u = UniformLoss(math.log(5), "ln 5, what guessing every tag uniformly scores")
    said = above_uniform(2, 50.0, u, 50.0, "lower the learning rate (--lr 1 now)")
    assert ("its first batch scored 50 already, before any update, and the epoch came down less than a tenth of "
            "the way to 1.61, so the initial weights") in said
    # a small drop from a huge start is no learning (--init-scale 1e6: 4.31e6, then 4.28e6 against ln V = 5.31)
    assert "initial weights" in above_uniform(1, 4_277_688.0, UniformLoss(5.31, "ln 202"), 4_311_724.0)
    assert "--lr" not in said
    # it came down from there: learning (seq2seq --tie starts at 12.7 against ln V = 7.57, its epoch 9.11)
    assert above_uniform(1, 40.0, u, 50.0) is None
    assert above_uniform(1, 9.11, UniformLoss(7.57, "ln 1,948"), 12.7) is None


# ---------------------------------------------------------------- language models on the command line
def test_a_diverging_lm_below_the_explosion_threshold_is_named(tmp_path, capsys):
    code, err, epochs = _lm(tmp_path, capsys, "--cell", "rnn", "--clip", "0", "--lr", "50", "--epochs", "2")
    assert code == 0  # a warning, not a failure: the run goes on, and its checkpoints stay
    said = [line for line in err.splitlines() if "uniformly" in line]
    assert len(said) == 1, err  # said once while it lasts, not at every epoch
    assert said[0].startswith("rnnkit: warning: epoch 1's training loss ")
    assert ("is above 4.13 = ln 62, what guessing every word uniformly scores: the run is diverging or not "
            "learning; lower the learning rate (lr, --lr: 50 now, e.g. 5), or clip gradients") in said[0]
    assert epochs[0]["train_loss"] > 1.1 * math.log(62)
    assert all("above 4.13 = ln 62" in e["warning"] for e in epochs)  # every such epoch's record says it


def test_a_healthy_lm_gets_no_warning(tmp_path, capsys):
    code, err, epochs = _lm(tmp_path, capsys, "--epochs", "2")
    assert code == 0
    assert "warning" not in err and not any("warning" in e for e in epochs)


# ---------------------------------------------------------------- the other tasks
TAGGED = [[("the", "DET"), ("dog", "NOUN"), ("runs", "VERB")], [("a", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")],
          [("the", "DET"), ("big", "ADJ"), ("cat", "NOUN"), ("runs", "VERB")]] * 8


@pytest.mark.parametrize("output", [[], ["--crf"]])
def test_taggers(tmp_path, capsys, output):
    data = str(write_conllu(tmp_path / "t.conllu", TAGGED))
    base = ["train", "tagger", "--train", data, "--hidden", "8", "--embed", "8", "--epochs", "2",
            "--progress", "none", *output]
    code, _, err = run_cli(capsys, [*base, "--run-dir", str(tmp_path / "ok")])
    assert code == 0 and "uniformly" not in err, err
    code, _, err = run_cli(capsys, [*base, "--cell", "rnn", "--clip", "0", "--lr", "2",
                                    "--run-dir", str(tmp_path / "bad")])
    assert code == 0
    assert "= ln 4, what guessing every tag uniformly scores: the run is diverging or not learning" in err, err


def test_classifiers(tmp_path, capsys):
    rows = ["pos\tgood fine great film", "neg\tbad awful dull film", "pos\tgreat good plot", "neg\tdull bad plot"]
    data = tmp_path / "c.tsv"
    data.write_text("\n".join(rows * 6) + "\n", encoding="utf-8")
    base = ["train", "classifier", "--train", str(data), "--valid", str(data), "--hidden", "8", "--embed", "8",
            "--epochs", "2", "--progress", "none"]
    code, _, err = run_cli(capsys, [*base, "--run-dir", str(tmp_path / "ok")])
    assert code == 0 and "uniformly" not in err, err
    code, _, err = run_cli(capsys, [*base, "--cell", "rnn", "--clip", "0", "--lr", "2",
                                    "--run-dir", str(tmp_path / "bad")])
    assert code == 0
    assert "= ln 2, what guessing every class uniformly scores" in err, err


def test_class_weights_scale_the_classifiers_uniform_loss():
    from rnnkit.classify.model import Classifier, ClassifierConfig
    from rnnkit.classify.task import ClassifierTask

    model = Classifier(ClassifierConfig(vocab_size=5, num_classes=3, embedding_dim=4, hidden_size=4,
                                        class_weights=(1.0, 2.0, 4.0)), np.random.default_rng(0))
    seqs = [np.array([1, 2])] * 4
    task = ClassifierTask(model, seqs, np.array([0, 0, 1, 2]))
    u = task.uniform_loss()
    assert u.loss == pytest.approx(math.log(3) * (1 + 1 + 2 + 4) / 4)
    assert u.says.startswith("ln 3 times the mean class weight 2")


def test_the_trainer_warns_through_python_warnings(tmp_path):
    """Library users get a NotLearningWarning they can filter or turn into an error."""
    from rnnkit.errors import NotLearningWarning
    from rnnkit.lm.model import LanguageModel, LMConfig
    from rnnkit.lm.task import LMTask
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.loop import Trainer
    from rnnkit.train.progress import Progress

    rng = np.random.default_rng(0)
    ids = np.array([i % 7 for i in range(400)])
    model = LanguageModel(LMConfig(vocab_size=7, embedding_dim=4, hidden_size=4, cell="rnn"), rng)
    task = LMTask(model, ids, None, batch_size=2, bptt=10)
    trainer = Trainer(task, TrainConfig(epochs=1, lr=20.0, clip=None), tmp_path / "r", progress=Progress("none"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit()
    said = [w for w in caught if issubclass(w.category, NotLearningWarning)]
    assert len(said) == 1 and "= ln 7, what guessing every word uniformly scores" in str(said[0].message)


def test_the_factored_softmaxes_start_from_their_zero_logit_loss(tmp_path):
    """With every logit 0 the adaptive softmax gives a tail word ln(head) + ln(cluster), above ln V when the
    shortlist is small and the words' frequencies flat: a healthy run started there and was told it diverged
    (ln 1,714 = 7.45 against 9.39).  The reference is then that loss over the training words, computed from
    the softmax's own probabilities at zero logits; the class-based softmax alike."""
    from rnnkit.lm.adaptive_softmax import AdaptiveSoftmax
    from rnnkit.lm.class_softmax import ClassSoftmax, frequency_classes

    rng = np.random.default_rng(3)
    H, V = 8, 50
    adaptive = AdaptiveSoftmax(V, H, (5, 20), div_value=2.0)
    zero = {k: np.zeros(s) for k, s in adaptive.param_shapes().items()}
    logp = adaptive.log_probs(zero, rng.standard_normal((1, H)))[0]  # (V,) every logit 0
    np.testing.assert_allclose(-logp, adaptive.zero_logit_costs(), rtol=1e-12)
    assert abs(np.exp(logp).sum() - 1) < 1e-12
    classes = frequency_classes(np.arange(V, 0, -1).astype(float), 6)
    factored = ClassSoftmax(classes, V)
    zero = {k: np.zeros(v.shape) for k, v in ClassSoftmax.init_params(V, factored.num_classes, H, rng).items()}
    logp = factored.log_probs(zero, rng.standard_normal((1, H)))[0]
    np.testing.assert_allclose(-logp, factored.zero_logit_costs(), rtol=1e-12)


def test_a_healthy_adaptive_softmax_run_on_flat_words_is_not_warned_about(tmp_path, capsys):
    rng = np.random.default_rng(0)
    words = [f"v{i}" for i in range(400)]
    train, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    train.write_text("".join(" ".join(rng.choice(words, 12)) + "\n" for _ in range(300)), encoding="utf-8")
    valid.write_text("".join(" ".join(rng.choice(words, 12)) + "\n" for _ in range(30)), encoding="utf-8")
    for softmax in (["--softmax", "adaptive", "--cutoffs", "10"], ["--softmax", "class"]):
        code, _, err = run_cli(capsys, ["train", "lm", "--train", str(train), "--valid", str(valid), "--hidden", "16",
                                        "--embed", "16", "--layers", "1", "--optimizer", "adam", "--lr", "0.001",
                                        "--epochs", "1", "--progress", "none", "--run-dir",
                                        str(tmp_path / softmax[1]), *softmax])
        assert code == 0 and "warning" not in err, err
