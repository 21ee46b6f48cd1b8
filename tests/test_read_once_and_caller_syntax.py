"""LoadedClassifier.labels is a copy of the label list, so predict and 'rnnkit classify' take it once, not once a
text; and build_exercise's refusal of fewer upstream gradients than steps shows the fix in its caller's syntax:
Python's (dout=[[0, 0], [1, 0]]) for Python, the command line's (--dh 0,0 1,0) for 'rnnkit step'."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.classify.loaded import LoadedClassifier
from rnnkit.cli.main import main
from rnnkit.textbook.exercise import build_exercise

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("cls")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, 5)) for _ in range(30)]
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    assert main(["train", "classifier", "--train", str(d / "cls.tsv"), "--hidden", "4", "--embed", "4", "--epochs",
                 "1", "--progress", "none", "--run-dir", str(d / "run")]) == 0
    (d / "texts.txt").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return d


@pytest.fixture
def reads(monkeypatch):
    """How many times LoadedClassifier.labels is read."""
    count = [0]
    copy = LoadedClassifier.labels.fget

    def counted(self):
        count[0] += 1
        return copy(self)

    monkeypatch.setattr(LoadedClassifier, "labels", property(counted))
    return count


def test_predict_takes_the_labels_once(model, reads):
    clf = LoadedClassifier(model / "run" / "best.safetensors")
    texts = (model / "texts.txt").read_text(encoding="utf-8").splitlines()
    assert len(clf.predict(texts)) == len(texts) == 30 and reads[0] == 1


def test_classify_takes_the_labels_once(model, reads, capsys):
    assert main(["classify", str(model / "run" / "best.safetensors"), str(model / "texts.txt"), "--probs"]) == 0
    assert capsys.readouterr().out.count("\n") == 30 and reads[0] == 1


def test_fewer_gradients_than_steps_are_said_in_pythons_syntax_to_python():
    with pytest.raises(ValueError) as exc:
        build_exercise("rnn", np.random.default_rng(0), xs=[np.ones(3)] * 3, dout=[np.array([1.0, 0.5])])
    said = str(exc.value)
    assert said.endswith("give one vector a step, zeros for a step without loss: dout=[[0, 0], [0, 0], [1, 0.5]]")
    assert "group" not in said, said
    # what it says works
    assert build_exercise("rnn", np.random.default_rng(0), xs=[np.ones(3)] * 3,
                          dout=[np.array(v) for v in [[0, 0], [0, 0], [1, 0.5]]]).dout.shape == (3, 2)


def test_fewer_gradients_than_steps_are_said_in_the_command_lines_syntax_to_step(capsys):
    assert main(["step", "--cell", "rnn", "--backward", "--x", "1,2,3", "0,1,0", "--dh", "1,0.5"]) == 2
    err = capsys.readouterr().err
    assert "--x (one group a step) gives 2" in err and err.rstrip().endswith("--dh 0,0 1,0.5"), err
