"""A batch padded past the token budget trains as sub-batches whose gradients add up to the whole batch's,
and training warns of the outlier text that makes it, naming its line."""
from __future__ import annotations

import numpy as np
from clirun import SMALL, run_cli

from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import ClassifierTask, pad_batch


def _task(max_tokens, pooling="mean", cell="lstm", seed=0, **more):
    rng = np.random.default_rng(seed)
    cfg = ClassifierConfig(vocab_size=13, num_classes=3, cell=cell, embedding_dim=5, hidden_size=4, pooling=pooling,
                           dropout=0.0, dtype="float64", **more)
    model = Classifier(cfg, np.random.default_rng(1))
    for v in model.params.values():  # non-zero biases too
        v[...] = rng.normal(0, 0.5, v.shape)
    lengths = [5, 6, 7, 5, 40, 6, 8]  # one long text among short ones
    seqs = [rng.integers(0, 13, n) for n in lengths]
    labels = rng.integers(0, 3, len(seqs))
    return ClassifierTask(model, seqs, labels, batch_size=7, max_tokens=max_tokens)


def test_sub_batches_give_the_whole_batchs_gradient():
    batch = np.array([4, 0, 3, 1, 6, 2, 5])
    for pooling, cell, more in (("mean", "lstm", {}), ("max", "gru", {}), ("last", "rnn", {}), ("attention", "lstm", {}),
                                ("max", "lstm", {"layer_norm": True, "peephole": True, "num_layers": 2})):
        whole, split = _task(10_000, pooling, cell, **more), _task(45, pooling, cell, **more)
        assert len(whole._parts(batch)) == 1
        parts = split._parts(batch)
        assert len(parts) >= 2 and sorted(np.concatenate(parts)) == sorted(batch)
        assert all(len(p) * max(split.lengths[p]) <= 45 for p in parts)  # each part within the budget
        rng = np.random.default_rng(0)
        a, b = whole.train_step(batch, None, rng), split.train_step(batch, None, rng)
        assert abs(a.loss - b.loss) < 1e-10 and a.units == b.units == 7
        for k in a.grads:
            diff = np.abs(a.grads[k] - b.grads[k]).max()
            assert diff < 1e-9, (pooling, k, diff)


def test_a_text_longer_than_the_budget_runs_alone():
    task = _task(20)
    parts = task._parts(np.arange(7))
    assert [4] in [p.tolist() for p in parts]  # the 40-token text, over the budget by itself


def test_training_warns_of_an_outlier_length_naming_its_line(tmp_path, capsys):
    rows = [f"{'pos' if i % 2 else 'neg'}\t{'good' if i % 2 else 'bad'} film number {i}\n" for i in range(60)]
    rows.insert(30, "pos\t" + " ".join(["word"] * 3000) + "\n")
    (tmp_path / "t.tsv").write_text("".join(rows), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "t.tsv"), "--epochs", "1",
                                    "--run-dir", str(tmp_path / "r"), *SMALL, "--batch-size", "32"])
    assert code == 0, err
    warned = [w for w in err.splitlines() if "3,000 words" in w]
    assert len(warned) == 1 and f"{tmp_path / 't.tsv'}:31:" in warned[0] and "--max-length 4" in warned[0], err
    # whether the text's own batch is split depends on its batch-mates, so the warning says when one is
    assert "a batch of 32 texts padded to its length would exceed 65,536 tokens and is then run" in warned[0], err


def test_the_outlier_warning_names_the_polarity_file_and_line(tmp_path, capsys):
    for name, word in (("p.txt", "good"), ("n.txt", "bad")):
        rows = [f"{word} film number {i}\n" for i in range(30)]
        if name == "n.txt":
            rows.insert(11, " ".join(["word"] * 3000) + "\n")
        (tmp_path / name).write_text("".join(rows), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--format", "polarity", "--pos", str(tmp_path / "p.txt"),
                                    "--neg", str(tmp_path / "n.txt"), "--epochs", "1", "--run-dir", str(tmp_path / "r"),
                                    *SMALL, "--batch-size", "32"])
    assert code == 0, err
    warned = [w for w in err.splitlines() if "3,000 words" in w]
    assert len(warned) == 1 and warned[0].startswith(f"rnnkit: warning: {tmp_path / 'n.txt'}:12: a text"), err


def test_backward_gives_arrays_of_its_own_so_sub_batches_sum_in_place():
    # train_step adds later parts' gradients into the first part's arrays: none may be another's, or a
    # buffer the next pass writes (an LSTM's bias_ih and bias_hh gradients are equal, yet two arrays)
    for pooling, cell, more in (("attention", "lstm", {"layer_norm": True}), ("max", "gru", {"num_layers": 2}),
                                ("last", "lstm", {"peephole": True, "bidirectional": True}), ("mean", "rnn", {}),
                                ("mean", "lstm", {})):
        task = _task(45, pooling, cell, **more)
        batch = np.arange(7)
        ids, lengths = pad_batch([task.seqs[i] for i in batch])  # (T, B), (B,)
        passes = [task.model.backward(1.0, task.model.loss(ids, lengths, task.labels[batch], training=True,
                                                           rng=np.random.default_rng(0))[1]) for _ in range(2)]
        arrays = [g for grads in passes for g in grads.values()]
        for i, a in enumerate(arrays):
            assert a.flags.writeable and not any(np.shares_memory(a, b) for b in arrays[i + 1:]), (pooling, cell, i)
