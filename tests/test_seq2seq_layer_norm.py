"""``Seq2SeqConfig(layer_norm=True)`` and ``train seq2seq --layer-norm``: layer-normalized encoder and decoder.

The finite differences through the whole model are test_seq2seq_model's GRAD_CASES with layer_norm=True.  Here: the
LN gains and shifts start as LN's and act in both halves; a model overfits one batch; the option is saved,
translates, resumes bit for bit and refuses a change on --resume; what cannot work is one line each."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli
from seq2seq_tiny import _batch, _config, _one_blas_thread  # noqa: F401 (a fixture)

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.model import Seq2Seq

def _randomise_ln(model, rng):
    """Every parameter non-zero: gains 1 +- 0.5, the rest U(-0.5, 0.5) (biases and shifts too)."""
    for k, v in model.params.items():
        v[...] = rng.uniform(-0.5, 0.5, v.shape) + (1.0 if ".ln_" in k and "_weight_l" in k else 0.0)


def test_ln_parameters_start_at_one_and_zero_and_act_in_encoder_and_decoder():
    """The finite differences pass on an unused parameter too (both gradients 0): each LN gain and shift must move
    the loss; they start as LN's (gains 1, shifts 0), and the other parameters are drawn as without LN."""
    model = Seq2Seq(_config(layer_norm=True, encoder_layers=1, decoder_layers=1), np.random.default_rng(0))
    plain = Seq2Seq(_config(encoder_layers=1, decoder_layers=1), np.random.default_rng(0))
    ln = sorted(k for k in model.params if ".ln_" in k)
    assert sorted(set(model.params) - set(plain.params)) == ln
    assert "decoder.ln_cell_weight_l0" in ln and "encoder.ln_hh_bias_l0_reverse" in ln
    for k in ln:
        assert np.all(model.params[k] == (1.0 if "weight" in k.split(".")[1] else 0.0)), k
    for k in plain.params:
        np.testing.assert_array_equal(model.params[k], plain.params[k], err_msg=k)
    rng = np.random.default_rng(2)
    _randomise_ln(model, rng)
    batch = _batch(rng)
    loss, cache = model.forward(*batch)
    grads = model.backward(1.0, cache)
    for name in ("encoder.ln_ih_weight_l0", "encoder.ln_cell_bias_l0_reverse", "decoder.ln_hh_weight_l0",
                 "decoder.ln_cell_weight_l0", "decoder.ln_ih_bias_l0"):
        assert np.abs(grads[name]).max() > 1e-4, name


def test_config_refuses_what_cannot_work():
    with pytest.raises(ValueError, match=r"Expected decoder_hidden_size >= 2 with layer_norm=True for LSTM"):
        _config(layer_norm=True, decoder_hidden_size=1, attention="none")
    with pytest.raises(ValueError, match=r"Expected encoder_hidden_size >= 2 with layer_norm=True for RNN"):
        _config(cell="rnn", layer_norm=True, encoder_hidden_size=1)
    _config(cell="gru", layer_norm=True, encoder_hidden_size=1, decoder_hidden_size=1, attention="none")  # 3H


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ln_pairs")
    rng = np.random.default_rng(0)
    words = "a b c d e f 猫 狗".split()
    lines = [" ".join(rng.choice(words, int(rng.integers(2, 5)))) for _ in range(40)]
    for name, part in (("pairs.tsv", lines), ("valid.tsv", lines[::-1][:8])):
        (d / name).write_text("".join(f"{x}\t{' '.join(reversed(x.split()))}\n" for x in part), encoding="utf-8")
    (d / "src.txt").write_text("".join(x + "\n" for x in lines[:5]), encoding="utf-8")
    return d


def _train(d, run, *extra):
    return ["train", "seq2seq", "--train", str(d / "pairs.tsv"), "--valid", str(d / "valid.tsv"), "--layer-norm",
            "--embed", "8", "--hidden", "8", "--epochs", "2", "--batch-size", "8", "--dropout", "0.2",
            "--bleu-sentences", "0", "--progress", "none", "--checkpoint-minutes", "0", "--seed", "3",
            "--run-dir", str(run), *extra]


def test_trains_saves_translates_and_resumes_bit_for_bit(pairs, tmp_path, capsys):
    whole = tmp_path / "whole"
    code, _, err = run_cli(capsys, _train(pairs, whole, "--cell", "gru", "--layers", "2"))
    assert code == 0, err
    path = whole / "last.safetensors"
    arrays, meta = load_checkpoint(path)
    assert meta["task"]["seq2seq_config"]["layer_norm"] is True
    ln = sorted(k for k in arrays if k.startswith("model/") and ".ln_" in k)
    assert len([k for k in ln if k.startswith("model/encoder.")]) == 4 * 2 * 2, ln  # 2 layers, 2 directions
    assert [k for k in ln if k.startswith("model/decoder.")] == [
        f"model/decoder.ln_{s}_{w}_l{k}" for s in ("hh", "ih") for w in ("bias", "weight") for k in (0, 1)], ln
    assert not np.all(arrays["model/decoder.ln_hh_weight_l1"] == 1.0)  # trained
    tr = load_translator(path)
    assert tr.model.config.layer_norm and tr.model.encoder.config.layer_norm and tr.model.spec.layer_norm
    code, out, err = run_cli(capsys, ["translate", str(path), str(pairs / "src.txt")])
    assert code == 0 and len(out.splitlines()) == 5, err

    # stopped after 3 of its 10 steps (40 pairs / 8 a batch, 2 epochs), then resumed: the run never stopped
    part = tmp_path / "part"
    code, _, err = run_cli(capsys, _train(pairs, part, "--cell", "gru", "--layers", "2", "--max-steps", "3"))
    assert code == 0, err
    code, _, err = run_cli(capsys, [*_train(pairs, part, "--cell", "gru", "--layers", "2"), "--resume"])
    assert code == 0 and "resumed from" in err, err
    resumed, _ = load_checkpoint(part / "last.safetensors")
    assert sorted(resumed) == sorted(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(resumed[k], v, err_msg=k)

    # a resume without --layer-norm is refused in one line naming it
    argv = [a for a in _train(pairs, part, "--cell", "gru", "--layers", "2") if a != "--layer-norm"]
    code, out, err = run_cli(capsys, [*argv, "--resume"])
    errors = [line for line in err.splitlines() if line.startswith("rnnkit: error")]
    assert code == 2 and len(errors) == 1 and "--layer-norm (seq2seq_config.layer_norm): True then, False now" in \
        errors[0], err

    # a checkpoint written before --layer-norm existed loads as a plain model
    plain_run = tmp_path / "plain"
    code, _, err = run_cli(capsys, [*[a for a in _train(pairs, plain_run, "--max-steps", "1") if a != "--layer-norm"]])
    assert code == 0, err
    arrays, meta = load_checkpoint(plain_run / "last.safetensors")
    del meta["task"]["seq2seq_config"]["layer_norm"]
    old = save_checkpoint(tmp_path / "old.safetensors", arrays, meta)
    assert load_translator(old).model.config.layer_norm is False


@pytest.mark.parametrize("extra, words", [
    (["--cell", "lstm", "--hidden", "1", "--attention", "none"],
     "--layer-norm with --hidden 1 (the bidirectional encoder gets half of --hidden, 1 unit a direction) and --cell "
     "lstm"),
    (["--cell", "lstm", "--hidden", "3"],
     "--layer-norm with --hidden 3 (the bidirectional encoder gets half of --hidden, 1 unit a direction) and --cell "
     "lstm: its one-unit cell c_t"),
    # the first refusal asks for enough for both directions, not --hidden 2 (which the encoder then refuses)
    (["--cell", "lstm", "--hidden", "1"], "give --hidden 4 or more (2 units a direction)"),
    (["--cell", "rnn", "--hidden", "2"], "give --hidden 4 or more (2 units a direction)"),
    (["--cell", "lstm", "--encoder-hidden", "1"], "--layer-norm with --encoder-hidden 1 and --cell lstm"),
    (["--cell", "rnn", "--encoder-hidden", "1", "--unidirectional"],
     "--layer-norm with --encoder-hidden 1 and --cell rnn"),
    (["--cell", "rnn", "--hidden", "1", "--unidirectional", "--attention", "none"],  # the encoder's units: --hidden
     "--layer-norm with --hidden 1 and --cell rnn: its one unit would be normalized"),
    # both sides of one unit: named in one message, whose fix gives both enough (not the encoder alone)
    (["--cell", "lstm", "--hidden", "1", "--encoder-hidden", "1", "--attention", "none"],
     "--layer-norm with --encoder-hidden 1, --hidden 1 and --cell lstm"),
    (["--cell", "lstm", "--hidden", "1", "--encoder-hidden", "1", "--attention", "none"],
     "give the encoder and the decoder 2 units or more (--encoder-hidden, --hidden), or leave out --layer-norm"),
    (["--cell", "lstm", "--hidden", "1", "--attention", "none"],  # --encoder-hidden 2 would leave the decoder's 1
     "give --hidden 4 or more (2 units a direction), or leave out --layer-norm"),
])
def test_what_cannot_work_is_one_line(pairs, tmp_path, capsys, extra, words):
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, _train(pairs, run, *extra))
    assert code != 0 and out == "" and err.strip().count("\n") == 0 and words in err, err
    assert not run.exists()


@pytest.mark.parametrize("peephole", [False, True], ids=["ln", "ln-peephole"])
def test_a_layer_normalized_model_overfits_one_batch(peephole):
    """End to end: teacher-forced loss on one batch of reversals falls to a small fraction of its start."""
    from rnnkit.optim import make_optimizer
    from rnnkit.seq2seq import toy

    rng = np.random.default_rng(0)
    vocab = toy.task_vocab("reverse", num_symbols=6)
    batch = toy.make_batch(toy.reverse_pairs(8, rng, 3, 5, 6), vocab)
    model = Seq2Seq(_config(src_vocab_size=len(vocab), tgt_vocab_size=len(vocab), layer_norm=True, peephole=peephole,
                            encoder_layers=1, decoder_layers=1, encoder_hidden_size=8, decoder_hidden_size=16,
                            tgt_embedding_dim=8, src_embedding_dim=8), rng)
    opt = make_optimizer("adam", model.params, lr=2e-2)
    inputs = (batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out, batch.tgt_mask)
    losses = []
    for _ in range(120):
        loss, cache = model.forward(*inputs)
        losses.append(loss / batch.tgt_mask.sum())
        opt.step(model.backward(1.0 / batch.tgt_mask.sum(), cache))
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])
