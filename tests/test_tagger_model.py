"""BiLSTM tagger: finite differences, PyTorch parity, training, constrained decoding, save/load."""
from __future__ import annotations

import numpy as np
import pytest
from test_crf import torch_nll

from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.gradcheck import numeric_grad_at
from rnnkit.optim import Adam
from rnnkit.tagging.char_features import char_matrix, gather_char_batch
from rnnkit.tagging.io import DataSpec, TaggingData, load_tagger, tagger_meta
from rnnkit.tagging.model import Tagger, TaggerBatch, TaggerConfig
from rnnkit.tagging.task import TaggerEncoder, TaggerTask, make_batch, predict_ids
from rnnkit.train import TrainConfig, Trainer

T, B, V, K = 6, 3, 9, 4
LENGTHS = np.array([6, 3, 5])
WORD_TYPES = ["ab", "bca", "c", "dddd", "Ea", "abcdeab"]


def _batch(rng, chars=True, bigrams=True, features=True):
    mask = np.arange(T)[:, None] < LENGTHS[None, :]
    cb = None
    if chars:
        table, lengths = char_matrix(WORD_TYPES, {c: i + 1 for i, c in enumerate("abcdE")}, 0, 5)
        cb = gather_char_batch(rng.integers(0, len(WORD_TYPES), (T, B)), mask, table, lengths)
    return TaggerBatch(
        words=rng.integers(0, V, (T, B)), lengths=LENGTHS, chars=cb,
        bigrams=rng.integers(0, 7, (T, B, 2)) if bigrams else None,
        features=rng.integers(0, 5, (T, B, 1)) if features else None,
        tags=rng.integers(0, K, (T, B)),
    )


def _model(output, chars=True, bigrams=True, features=True, layers=2, dtype="float64", seed=1, weight_drop=0.0,
           cell="lstm", bidirectional=True):
    cfg = TaggerConfig(vocab_size=V, num_tags=K, embedding_dim=5, char_vocab_size=6 if chars else 0,
                       char_embedding_dim=3, char_hidden=4, bigram_vocab_size=7 if bigrams else 0,
                       bigram_embedding_dim=3, feature_vocab_sizes=(5,) if features else (), feature_embedding_dim=2,
                       hidden_size=4, num_layers=layers, output=output, dropout=0.3, weight_drop=weight_drop,
                       dtype=dtype, cell=cell, bidirectional=bidirectional)
    return Tagger(cfg, np.random.default_rng(seed))


def _check_grads(model, f, grads, rng, per_array=6, eps=1e-6, tol=1e-7):
    """Central differences on random entries of every parameter; report the worst array."""
    assert set(grads) == set(model.params), sorted(set(grads) ^ set(model.params))
    worst = {}
    for name, p in model.params.items():
        assert np.all(p != 0), f"{name} has zero entries: gradient check would be weak"
        idx = rng.choice(p.size, min(per_array, p.size), replace=False)
        for i, num in zip(idx, numeric_grad_at(f, p, idx, eps)):
            worst[name] = max(worst.get(name, 0.0), abs(num - grads[name].reshape(-1)[i]))
    name = max(worst, key=worst.get)
    assert worst[name] < tol, f"{name}: max |numeric - analytic| = {worst[name]:.3e}"


@pytest.mark.parametrize("weight_drop", [0.0, 0.4], ids=["", "weight-drop"])
@pytest.mark.parametrize("output", ["softmax", "crf"])
def test_loss_gradients_match_finite_differences(output, weight_drop):
    """Whole tagger (chars, bigrams, a feature column, 2 layers, dropout with a fixed mask stream)."""
    rng = np.random.default_rng(0)
    model = _model(output, weight_drop=weight_drop)
    batch = _batch(rng)
    dloss = 0.73  # a random-looking upstream scalar, not 1

    def f():
        return dloss * model.loss(batch, training=True, rng=np.random.default_rng(5))[0]

    _, cache = model.loss(batch, training=True, rng=np.random.default_rng(5))
    _check_grads(model, f, model.backward(dloss, cache), rng)


@pytest.mark.parametrize("cell,bidirectional", [("gru", True), ("rnn", True), ("gru", False), ("lstm", False)])
def test_other_cells_and_one_direction_match_finite_differences(cell, bidirectional):
    """--cell and --unidirectional: the whole CRF tagger (chars, bigrams, a feature column, 2 layers,
    dropout) with a GRU, an Elman RNN or one direction as its word-level layer."""
    rng = np.random.default_rng(2)
    model = _model("crf", cell=cell, bidirectional=bidirectional)
    assert model.params["output.weight"].shape == (K, 4 * (2 if bidirectional else 1))
    assert ("rnn.weight_hh_l0_reverse" in model.params) == bidirectional
    assert model.params["rnn.weight_hh_l0"].shape[0] == {"rnn": 1, "gru": 3, "lstm": 4}[cell] * 4
    batch = _batch(rng)

    def f():
        return 0.61 * model.loss(batch, training=True, rng=np.random.default_rng(7))[0]

    _, cache = model.loss(batch, training=True, rng=np.random.default_rng(7))
    _check_grads(model, f, model.backward(0.61, cache), rng)


def test_checkpoints_from_before_the_cell_option_are_bidirectional_lstms():
    old = {k: v for k, v in _model("crf").config.to_dict().items() if k not in ("cell", "bidirectional")}
    cfg = TaggerConfig(**old)
    assert (cfg.cell, cfg.bidirectional) == ("lstm", True)
    with pytest.raises(ValueError, match="cell 'rnn', 'lstm' or 'gru', got 'tanh'"):
        TaggerConfig(vocab_size=V, num_tags=K, cell="tanh")
    with pytest.raises(TypeError, match="bidirectional"):
        TaggerConfig(vocab_size=V, num_tags=K, bidirectional="no")


def test_score_gradients_with_random_upstream():
    """Emission scores contracted with a random (T, B, K) upstream gradient; padding gets no say."""
    rng = np.random.default_rng(1)
    model = _model("softmax", layers=1)
    batch = _batch(rng)
    R = rng.standard_normal((T, B, K))
    mask = np.arange(T)[:, None] < LENGTHS[None, :]
    R *= mask[:, :, None]

    def f():
        return float((model.scores(batch)[0] * R).sum())

    _, cache = model.scores(batch)
    _check_grads(model, f, model.scores_backward(R, cache), rng)


def test_padding_does_not_change_scores():
    model = _model("crf", layers=1, bigrams=False, features=False)
    rng = np.random.default_rng(2)
    batch = _batch(rng, bigrams=False, features=False)
    s, _ = model.scores(batch)
    words = batch.words.copy()
    words[LENGTHS[1]:, 1] = (words[LENGTHS[1]:, 1] + 1) % V  # change only padding of sentence 1
    s2, _ = model.scores(batch._replace(words=words))
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(s[:n, b], s2[:n, b], atol=1e-12, err_msg=f"sentence {b} scores")


def _torch_scores(torch, P, batch, layers, cell="LSTM", bidirectional=True):
    """Emission scores (T, B, K) of the tagger rebuilt from torch modules, parameters P swapped in;
    ``cell`` and ``bidirectional``: the word-level layer's (the character features are a BiLSTM)."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    def lstm(prefix, x, lengths, D, H, layers, cell="LSTM", bidirectional=True):
        m = getattr(torch.nn, cell)(D, H, layers, bidirectional=bidirectional).double()
        for name, _ in list(m.named_parameters()):
            delattr(m, name)
            setattr(m, name, P[prefix + name])
        m._flat_weights = [getattr(m, n) for n in m._flat_weights_names]
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out, h = m(packed)
        return pad_packed_sequence(out, total_length=x.shape[0])[0], h[0] if cell == "LSTM" else h

    mask = torch.tensor(np.arange(T)[:, None] < LENGTHS[None, :])
    parts = [P["embedding.weight"][torch.tensor(batch.words)]]
    if batch.chars is not None:
        cb = batch.chars
        xc = P["char_embedding.weight"][torch.tensor(cb.char_ids)]  # (Lc, U, Ec)
        _, h = lstm("char_rnn.", xc, cb.lengths, 3, 4, 1)
        feat = torch.cat([h[0], h[1]], dim=1)[torch.tensor(cb.index)]  # (T, B, 8)
        parts.append(feat * mask[:, :, None])
    if batch.bigrams is not None:  # right then left bigram, one table
        parts.append(P["bigram_embedding.weight"][torch.tensor(batch.bigrams)].reshape(T, B, -1))
    if batch.features is not None:
        parts += [P[f"feature_embedding.{i}.weight"][torch.tensor(batch.features[:, :, i])]
                  for i in range(batch.features.shape[2])]
    x = torch.cat(parts, dim=-1)
    out, _ = lstm("rnn.", x, LENGTHS, x.shape[-1], 4, layers, cell, bidirectional)
    return out @ P["output.weight"].T + P["output.bias"], mask


def test_torch_parity_softmax_tagger_with_char_features():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    model = _model("softmax", bigrams=False, features=False, layers=2)
    batch = _batch(rng, bigrams=False, features=False)
    loss, cache = model.loss(batch)
    grads = model.backward(1.0, cache)

    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    s, mask = _torch_scores(torch, P, batch, 2)
    logp = torch.log_softmax(s, dim=-1)
    nll = -(logp.gather(2, torch.tensor(batch.tags)[:, :, None])[:, :, 0] * mask).sum()
    nll.backward()
    assert abs(nll.item() - loss) < 1e-10, f"loss: {nll.item()} vs {loss}"
    for k, v in P.items():
        diff = np.abs(v.grad.numpy() - grads[k]).max()
        assert diff < 1e-10, f"{k}: max difference {diff:.3e}"


def test_torch_parity_crf_tagger_with_chars_bigrams_and_features():
    """CRF output over chars + bigrams + a feature column, 2 layers, lengths 6/3/5, random dloss: the loss
    and every parameter's gradient against torch autograd (LSTMs, embeddings, the CRF forward algorithm)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    model = _model("crf", layers=2)
    for k in ("crf.transitions", "crf.start_transitions", "crf.end_transitions"):
        p = model.params[k]
        p[...] = rng.uniform(0.2, 1.5, p.shape) * rng.choice([-1.0, 1.0], p.shape)  # larger than the init
    batch = _batch(rng)
    dloss = float(rng.uniform(-2.0, -0.5))  # random, negative, not 1
    loss, cache = model.loss(batch)
    grads = model.backward(dloss, cache)
    assert set(grads) == set(model.params), sorted(set(grads) ^ set(model.params))

    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    s, _ = _torch_scores(torch, P, batch, 2)
    crf = {k[4:]: v for k, v in P.items() if k.startswith("crf.")}
    nll = torch_nll(torch, s, crf, LENGTHS, batch.tags)
    (dloss * nll).backward()
    assert abs(nll.item() - loss) < 1e-10 * abs(loss), f"loss: {nll.item()} vs {loss}"
    for k, v in P.items():
        assert np.all(model.params[k] != 0), f"{k} has zero entries"
        diff = np.abs(v.grad.numpy() - grads[k]).max()
        assert diff < 1e-10, f"{k}: max difference {diff:.3e}"
        assert np.abs(grads[k]).max() > 1e-6, f"{k}: no gradient reached it"


@pytest.mark.parametrize("cell,bidirectional", [("gru", False), ("rnn", True)])
def test_torch_parity_of_other_cells_and_one_direction(cell, bidirectional):
    """A CRF tagger whose word-level layer is a GRU reading left to right, or a bidirectional Elman RNN:
    the loss and every gradient against torch.nn.GRU / torch.nn.RNN with packed lengths."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    model = _model("crf", layers=2, cell=cell, bidirectional=bidirectional)
    batch = _batch(rng)
    dloss = float(rng.uniform(0.5, 2.0))
    loss, cache = model.loss(batch)
    grads = model.backward(dloss, cache)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    s, _ = _torch_scores(torch, P, batch, 2, {"gru": "GRU", "rnn": "RNN"}[cell], bidirectional)
    nll = torch_nll(torch, s, {k[4:]: v for k, v in P.items() if k.startswith("crf.")}, LENGTHS, batch.tags)
    (dloss * nll).backward()
    assert abs(nll.item() - loss) < 1e-10 * abs(loss), f"loss: {nll.item()} vs {loss}"
    for k, v in P.items():
        diff = np.abs(v.grad.numpy() - grads[k]).max()
        assert diff < 1e-10, f"{k}: max difference {diff:.3e}"
        assert np.abs(grads[k]).max() > 1e-6, f"{k}: no gradient reached it"


def _toy_corpus(rng, n):
    """Sentences 'DET ADJ* NOUN VERB DET NOUN' from small word lists: a task with a learnable answer."""
    lexicon = {"DET": ["the", "a", "this"], "ADJ": ["big", "red", "old", "small"],
               "NOUN": ["cat", "dog", "house", "car", "tree"], "VERB": ["sees", "likes", "has"]}
    words, tags = [], []
    for _ in range(n):
        pattern = ["DET"] + ["ADJ"] * int(rng.integers(0, 3)) + ["NOUN", "VERB", "DET", "NOUN"]
        words.append([lexicon[t][int(rng.integers(len(lexicon[t])))] for t in pattern])
        tags.append(pattern)
    return TaggingData(words, tags, None)


def test_overfits_one_small_batch():
    rng = np.random.default_rng(4)
    data = _toy_corpus(rng, 6)
    data.tags = [[t if rng.random() < 0.7 else "X" for t in s] for s in data.tags]  # arbitrary labels to memorise
    enc = TaggerEncoder.build(data, char_features=True)
    cfg = TaggerConfig(len(enc.words), len(enc.tags), embedding_dim=16, char_vocab_size=len(enc.chars),
                       char_embedding_dim=8, char_hidden=8, hidden_size=16, output="crf", dropout=0.0)
    model = Tagger(cfg, np.random.default_rng(0))
    e = enc.encode(data)
    batch = make_batch(e, np.arange(6))
    opt = Adam(model.params, lr=0.03)
    first = None
    for _ in range(120):
        loss, cache = model.loss(batch)
        first = loss if first is None else first
        opt.step(model.backward(1.0, cache))
    pred = model.predict(batch)
    gold = [e.tags[i].tolist() for i in range(6)]
    assert pred == gold, f"not memorised after 120 steps; loss {first:.3f} -> {loss:.3f}"


def test_short_training_run_learns_and_checkpoint_round_trips(tmp_path):
    rng = np.random.default_rng(5)
    train, valid = _toy_corpus(rng, 120), _toy_corpus(rng, 30)
    enc = TaggerEncoder.build(train, char_features=True, lowercase=True)
    cfg = TaggerConfig(len(enc.words), len(enc.tags), embedding_dim=8, char_vocab_size=len(enc.chars),
                       char_embedding_dim=4, char_hidden=4, hidden_size=8, output="crf", dropout=0.1)
    model = Tagger(cfg, np.random.default_rng(0))
    spec = DataSpec("conllu", "upos")
    task = TaggerTask(model, enc, enc.encode(train), enc.encode(valid), valid, "accuracy", batch_size=8,
                      singleton_unk=0.2, meta=tagger_meta(model, enc, spec, "accuracy"))
    before = task.evaluate()
    state = Trainer(task, TrainConfig(epochs=3, optimizer="adam", lr=0.02, progress="none"), tmp_path).fit()
    losses = [h["train_loss"] for h in state.history]
    assert losses[-1] < 0.5 * losses[0], f"train loss per epoch {losses}"
    after = task.evaluate()
    assert after["accuracy"] > 0.95 > before["accuracy"], (before, after)
    loaded, enc2, meta = load_tagger(tmp_path / "best.safetensors")
    assert meta["metric"] == "accuracy" and enc2.tags == enc.tags
    test = _toy_corpus(rng, 20)
    test.words[0][1] = "Unseen-Word"  # an unknown word goes through <unk> and the char features
    best = [h for h in state.history if h["best"]][-1]  # best.safetensors: the highest validation accuracy
    assert best["valid_accuracy"] == max(h["valid_accuracy"] for h in state.history)
    assert "valid_loss" not in best, best  # 1 - accuracy is the selection criterion, not logged as a loss
    ids_loaded = predict_ids(loaded, enc2.encode(test))
    model.load_arrays({k: v.copy() for k, v in loaded.params.items()})
    assert predict_ids(model, enc.encode(test)) == ids_loaded


@pytest.mark.parametrize("output", ["softmax", "crf"])
@pytest.mark.parametrize("scheme", ["bio", "bioes", "iob1"])
def test_constrained_decoding_is_always_legal(output, scheme):
    tags = {"bio": ["O", "B-NP", "I-NP", "B-VP", "I-VP"], "iob1": ["O", "I-NP", "B-NP", "I-VP", "B-VP"],
            "bioes": ["O", "B-NP", "I-NP", "E-NP", "S-NP"]}[scheme]
    allowed = allowed_transitions(tags, scheme)
    illegal_without = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        cfg = TaggerConfig(vocab_size=V, num_tags=len(tags), embedding_dim=5, hidden_size=4, output=output, dropout=0.0)
        model = Tagger(cfg, rng)
        model.params["output.weight"] *= 20  # sharp, arbitrary scores: unconstrained paths go wrong
        batch = TaggerBatch(rng.integers(0, V, (T, B)), LENGTHS)
        for path in model.predict(batch, allowed):
            assert is_allowed(path, *allowed), f"illegal {[tags[i] for i in path]} (seed {seed})"
        illegal_without += sum(not is_allowed(p, *allowed) for p in model.predict(batch))
    assert illegal_without > 0, "the test never met an illegal unconstrained path: it cannot fail"


def test_encoder_bigrams_chars_and_lowercase():
    data = TaggingData([["A", "b", "c"]], [["S", "B", "E"]], None)
    enc = TaggerEncoder.build(data, char_features=True, bigrams=True, lowercase=True)
    e = enc.encode(data)
    bi = enc.bigrams.tokens
    right = [bi[i] for i in e.bigrams[0][:, 0]]
    left = [bi[i] for i in e.bigrams[0][:, 1]]
    assert right == ["a b", "b c", "c </s>"] and left == ["<s> a", "a b", "b c"]
    assert enc.words.decode(e.words[0]) == ["a", "b", "c"]  # lowercased for the word embedding
    chars = enc.chars.tokens
    assert chars[e.type_chars[e.types[0][0], 0]] == "A"  # ... but the characters keep their case


def test_char_matrix_keeps_prefix_and_suffix():
    ids, lengths = char_matrix(["abcdefghij", "xy"], {c: i + 1 for i, c in enumerate("abcdefghijxy")}, 0, 6)
    assert lengths.tolist() == [6, 2]
    assert ids[0].tolist() == [1, 2, 3, 8, 9, 10]  # abc + hij
    assert ids[1].tolist() == [11, 12, 0, 0, 0, 0]


def test_bad_batches_raise_clear_errors():
    model = _model("softmax", bigrams=False, features=False)
    rng = np.random.default_rng(6)
    batch = _batch(rng, bigrams=False, features=False)
    with pytest.raises(ValueError, match="batch.chars"):
        model.scores(batch._replace(chars=None))
    with pytest.raises(ValueError, match="batch.tags"):
        model.loss(batch._replace(tags=None))
    with pytest.raises(ValueError, match="output"):
        TaggerConfig(vocab_size=3, num_tags=2, output="hinge")
    with pytest.raises(ValueError, match=r"dropout in \[0, 1\), got 'a'"):
        TaggerConfig(vocab_size=3, num_tags=2, dropout="a")
    with pytest.raises(ValueError, match=r"num_layers to be an integer >= 1, got 1.5"):
        TaggerConfig(vocab_size=3, num_tags=2, num_layers=1.5)
