"""Sentence classifier: finite differences and PyTorch parity per pooling, training, folds, save/load."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.classify.crossval import cross_validate, holdout_split, kfold_indices
from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import (
    ClassifierEncoder,
    ClassifierTask,
    classifier_meta,
    load_classifier,
    predict_proba,
)
from rnnkit.gradcheck import numeric_grad_at
from rnnkit.optim import Adam
from rnnkit.train import TrainConfig, Trainer

T, B, V, K = 7, 4, 11, 3
LENGTHS = np.array([7, 2, 5, 1])


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (T, B)), rng.integers(0, K, B)


def _model(pooling, cell="lstm", layers=2, bidirectional=True, seed=1, dropout=0.2, weight_drop=0.0):
    cfg = ClassifierConfig(V, K, cell=cell, embedding_dim=4, hidden_size=3, num_layers=layers,
                           bidirectional=bidirectional, pooling=pooling, dropout=dropout, weight_drop=weight_drop,
                           dtype="float64")
    return Classifier(cfg, np.random.default_rng(seed))


@pytest.mark.parametrize("weight_drop", [0.0, 0.4], ids=["", "weight-drop"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_gradients_match_finite_differences(pooling, cell, weight_drop):
    ids, y = _data()
    model = _model(pooling, cell, weight_drop=weight_drop)
    dloss = -1.37  # random-looking upstream scalar

    def f():
        return dloss * model.loss(ids, LENGTHS, y, training=True, rng=np.random.default_rng(9))[0]

    _, cache = model.loss(ids, LENGTHS, y, training=True, rng=np.random.default_rng(9))
    grads = model.backward(dloss, cache)
    assert set(grads) == set(model.params)
    rng = np.random.default_rng(2)
    worst = {}
    for name, p in model.params.items():
        assert np.all(p != 0), f"{name} has zero entries"
        flat = p.reshape(-1)
        for i in rng.choice(flat.size, min(8, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            up = f()
            flat[i] = old - 1e-6
            down = f()
            flat[i] = old
            worst[name] = max(worst.get(name, 0.0), abs((up - down) / 2e-6 - grads[name].reshape(-1)[i]))
    name = max(worst, key=worst.get)
    assert worst[name] < 1e-7, f"{name}: max |numeric - analytic| = {worst[name]:.3e}"


@pytest.mark.parametrize("pooling", ["last", "max", "attention"])
def test_gradients_of_a_residual_classifier_match_finite_differences(pooling):
    """Three residual layers under each pooling (last reads the states, which the residual paths do not reach)."""
    ids, y = _data(3)
    cfg = ClassifierConfig(V, K, cell="gru", embedding_dim=4, hidden_size=3, num_layers=3, pooling=pooling,
                           dropout=0.2, residual=True, attention_size=4, dtype="float64")
    model = Classifier(cfg, np.random.default_rng(5))
    assert model.rnn.config.residual

    def f():
        return model.loss(ids, LENGTHS, y, training=True, rng=np.random.default_rng(9))[0]

    _, cache = model.loss(ids, LENGTHS, y, training=True, rng=np.random.default_rng(9))
    grads = model.backward(1.0, cache)
    worst = {}
    rng = np.random.default_rng(2)
    for name, p in model.params.items():
        idx = rng.choice(p.size, min(8, p.size), replace=False)
        worst[name] = np.abs(numeric_grad_at(f, p, idx) - grads[name].reshape(-1)[idx]).max()
    name = max(worst, key=worst.get)
    assert worst[name] < 1e-7, f"{name}: max |numeric - analytic| = {worst[name]:.3e}"


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_padding_is_ignored_by_pooling(pooling):
    ids, _ = _data(1)
    model = _model(pooling, layers=1)
    z, _ = model.logits(ids, LENGTHS)
    ids2 = ids.copy()
    ids2[LENGTHS[2]:, 2] = (ids2[LENGTHS[2]:, 2] + 3) % V
    z2, _ = model.logits(ids2, LENGTHS)
    np.testing.assert_allclose(z, z2, atol=1e-12, err_msg="logits changed with the padding")
    p = model.predict_proba(ids, LENGTHS)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "one-direction"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_torch_parity(pooling, cell, bidirectional):
    """Loss and every gradient (dloss != 1) equal torch autograd's for each cell, pooling and direction count."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    ids, y = _data(2)
    model = _model(pooling, cell, bidirectional=bidirectional, dropout=0.0)
    dloss = -1.37  # random-looking upstream scalar
    loss, cache = model.loss(ids, LENGTHS, y)
    grads = model.backward(dloss, cache)
    assert set(grads) == set(model.params)

    assert all(np.all(v != 0) for v in model.params.values())
    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        4, 3, 2, bidirectional=bidirectional).double()
    for name, _ in list(rnn.named_parameters()):
        delattr(rnn, name)
        setattr(rnn, name, P["rnn." + name])
    rnn._flat_weights = [getattr(rnn, n) for n in rnn._flat_weights_names]
    torch_names = {"rnn." + n for n in rnn._flat_weights_names} | {"embedding.weight", "output.weight", "output.bias"}
    if pooling == "attention":
        torch_names |= {"attention.weight", "attention.bias", "attention.context"}
    assert torch_names == set(P), f"names differ: {torch_names ^ set(P)}"
    x = P["embedding.weight"][torch.tensor(ids)]  # (T, B, E)
    out, state = rnn(pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False))
    h = state[0] if cell == "lstm" else state  # (2*dirs, B, 3)
    out = pad_packed_sequence(out, total_length=T)[0]  # (T, B, dirs*3)
    mask = torch.tensor(np.arange(T)[:, None] < LENGTHS[None, :])[:, :, None]
    if pooling == "last":
        u = torch.cat(list(h[-2:] if bidirectional else h[-1:]), dim=1)
    elif pooling == "mean":
        u = out.sum(0) / torch.tensor(LENGTHS, dtype=torch.float64)[:, None]
    elif pooling == "max":
        u = out.masked_fill(~mask, -torch.inf).max(0).values
    else:  # Yang et al.'s word attention, written in torch
        scores = torch.tanh(out @ P["attention.weight"].T + P["attention.bias"]) @ P["attention.context"]  # (T, B)
        a = torch.softmax(scores.masked_fill(~mask[:, :, 0], -torch.inf), dim=0)
        u = (a[:, :, None] * out).sum(0)
    z = u @ P["output.weight"].T + P["output.bias"]
    ref = torch.nn.functional.cross_entropy(z, torch.tensor(y), reduction="sum")
    (dloss * ref).backward()
    assert abs(ref.item() - loss) < 1e-10, f"loss: {ref.item()} vs {loss}"
    for k, v in P.items():
        diff = np.abs(v.grad.numpy() - grads[k]).max()
        assert diff < 1e-10, f"{k}: max difference {diff:.3e}"


def test_overfits_one_batch():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, V, (T, 8))
    lengths = rng.integers(1, T + 1, 8)
    y = rng.integers(0, K, 8)
    model = Classifier(ClassifierConfig(V, K, cell="gru", embedding_dim=8, hidden_size=8, dropout=0.0),
                       np.random.default_rng(0))
    opt = Adam(model.params, lr=0.05)
    for _ in range(80):
        loss, cache = model.loss(ids, lengths, y)
        opt.step(model.backward(1.0 / 8, cache))
    assert loss / 8 < 0.05, f"mean loss after 80 steps: {loss / 8:.4f}"
    assert model.predict_proba(ids, lengths).argmax(axis=1).tolist() == y.tolist()


def _sentiment(rng, n):
    """Texts whose label is decided by which cue word they contain, among filler words."""
    filler = "the a movie film plot actors story scene it was is and of".split()
    texts, labels = [], []
    for _ in range(n):
        label = ["pos", "neg"][int(rng.integers(2))]
        cue = {"pos": ["great", "wonderful", "fun"], "neg": ["boring", "awful", "dull"]}[label]
        words = list(rng.choice(filler, int(rng.integers(3, 9))))
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(cue)))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def test_short_training_run_and_save_load(tmp_path):
    rng = np.random.default_rng(4)
    texts, labels = _sentiment(rng, 200)
    vtexts, vlabels = _sentiment(rng, 60)
    enc = ClassifierEncoder.build(texts, labels, lowercase=True)
    model = Classifier(ClassifierConfig(len(enc.vocab), 2, embedding_dim=8, hidden_size=8, dropout=0.1),
                       np.random.default_rng(0))
    task = ClassifierTask(model, enc.encode(texts), enc.encode_labels(labels), enc.encode(vtexts),
                          enc.encode_labels(vlabels), batch_size=16, meta=classifier_meta(model, enc))
    before = task.evaluate()
    state = Trainer(task, TrainConfig(epochs=4, optimizer="adam", lr=0.02, progress="none"), tmp_path).fit()
    losses = [h["train_loss"] for h in state.history]
    assert losses[-1] < 0.5 * losses[0], f"train loss per epoch {losses}"
    after = task.evaluate()
    assert after["accuracy"] > 0.9 and after["accuracy"] > before["accuracy"] + 0.2, (before, after)
    loaded, enc2, meta = load_classifier(tmp_path / "best.safetensors")
    assert meta["model"] == "classifier" and enc2.labels == ["neg", "pos"]
    model.load_arrays({k: v.copy() for k, v in loaded.params.items()})
    np.testing.assert_array_equal(predict_proba(loaded, enc2.encode(vtexts)), predict_proba(model, enc.encode(vtexts)))


@pytest.mark.parametrize("p", [0.0, 0.3])
def test_word_dropout_replaces_tokens_by_unk_and_trains_its_vector(tmp_path, p):
    rng = np.random.default_rng(4)
    texts, labels = _sentiment(rng, 200)
    enc = ClassifierEncoder.build(texts, labels, lowercase=True)  # min_count 1: no training token is <unk>
    seqs = enc.encode(texts)
    unk = enc.vocab.unk_id
    assert all((s != unk).all() for s in seqs)
    model = Classifier(ClassifierConfig(len(enc.vocab), 2, embedding_dim=8, hidden_size=8, dropout=0.1),
                       np.random.default_rng(0))
    task = ClassifierTask(model, seqs, enc.encode_labels(labels), batch_size=16, word_dropout=p, unk_id=unk)
    seen = []
    real_loss = model.loss

    def spy(ids, lengths, *a, **kw):
        real = np.arange(ids.shape[0])[:, None] < lengths[None, :]  # (T, B) non-padding positions
        seen.append((int((ids[real] == unk).sum()), int(real.sum())))
        return real_loss(ids, lengths, *a, **kw)

    model.loss = spy
    before = model.params["embedding.weight"][unk].copy()
    Trainer(task, TrainConfig(epochs=1, optimizer="adam", lr=0.01, progress="none"), tmp_path).fit()
    replaced, total = map(sum, zip(*seen))
    moved = not np.array_equal(model.params["embedding.weight"][unk], before)
    if p == 0:
        assert replaced == 0 and not moved  # <unk> never seen in training: its vector stays random
    else:
        assert abs(replaced / total - p) < 0.05, (replaced, total)
        assert moved
    with pytest.raises(ValueError, match="word_dropout"):
        ClassifierTask(model, seqs, enc.encode_labels(labels), word_dropout=1.0)


def test_kfold_partitions_deterministically():
    labels = ["a"] * 23 + ["b"] * 7
    folds = kfold_indices(30, 10, seed=3, labels=labels)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(30)), "every example in exactly one test fold"
    for tr, te in folds:
        assert not set(tr) & set(te) and len(tr) + len(te) == 30
        assert len(te) == 3
    b_per_fold = [sum(labels[i] == "b" for i in te) for _, te in folds]
    assert max(b_per_fold) - min(b_per_fold) <= 1, f"class b per fold {b_per_fold}"
    again = kfold_indices(30, 10, seed=3, labels=labels)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = kfold_indices(30, 10, seed=4, labels=labels)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))
    plain = kfold_indices(31, 4, seed=0)
    assert sorted(len(te) for _, te in plain) == [7, 8, 8, 8]


def test_cross_validate_and_holdout():
    seen = []

    def run_fold(fold, train, test):
        seen.append(fold)
        return {"accuracy": len(test) / 10}

    res = cross_validate(20, 4, run_fold, seed=1)
    assert seen == [0, 1, 2, 3] and res.mean["accuracy"] == pytest.approx(0.5) and res.std["accuracy"] == 0
    rest, held = holdout_split(np.arange(50, 100), 0.2, seed=0)
    assert len(held) == 10 and sorted(np.concatenate([rest, held]).tolist()) == list(range(50, 100))
    with pytest.raises(ValueError, match="k"):
        kfold_indices(10, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="pooling"):
        ClassifierConfig(5, 2, pooling="median")
    with pytest.raises(ValueError, match=r"weight_drop in \[0, 1\), got 1.0"):
        ClassifierConfig(5, 2, weight_drop=1.0)
    with pytest.raises(ValueError, match=r"num_classes to be an integer >= 1, got 0"):
        ClassifierConfig(5, 0)
    model = _model("max", layers=1)
    ids, _ = _data()
    with pytest.raises(ValueError, match="lengths"):
        model.logits(ids, np.array([8, 1, 1, 1]))
    enc = ClassifierEncoder.build(["a b"], ["x"])
    with pytest.raises(ValueError, match="labels"):
        enc.encode_labels(["y"])


def test_validation_loss_is_the_cross_entropy_and_the_best_epoch_the_accuracy(tmp_path):
    """The epoch's valid loss was 1 - accuracy beside a cross-entropy training loss; it is now the mean
    cross-entropy per validation sentence (no dropout), and accuracy alone picks best.safetensors."""
    from rnnkit.classify.task import pad_batch

    rng = np.random.default_rng(6)
    texts, labels = _sentiment(rng, 80)
    vtexts, vlabels = _sentiment(rng, 30)
    enc = ClassifierEncoder.build(texts, labels)
    model = Classifier(ClassifierConfig(len(enc.vocab), 2, embedding_dim=6, hidden_size=6, dropout=0.3),
                       np.random.default_rng(1))
    vseqs, vy = enc.encode(vtexts), enc.encode_labels(vlabels)
    task = ClassifierTask(model, enc.encode(texts), enc.encode_labels(labels), vseqs, vy, batch_size=16)
    m = task.evaluate()
    total = sum(model.loss(*pad_batch([s]), y[None])[0] for s, y in zip(vseqs, vy))  # one sentence at a time
    assert m["loss"] == pytest.approx(total / len(vy), rel=1e-5) and 0 < m["accuracy"] < 1, m
    assert task.criterion(m) == 1.0 - m["accuracy"]
    state = Trainer(task, TrainConfig(epochs=3, optimizer="adam", lr=0.02, progress="none"), tmp_path).fit()
    accs = [h["valid_accuracy"] for h in state.history]
    best = [h for h in state.history if h["best"]][-1]
    assert best["valid_accuracy"] == max(accs) and all(h["valid_loss"] > 0 for h in state.history)
