"""``rnnkit info`` names a model saved alone by what wrote it: the character-LM demo's model.safetensors is the
demo's trained model (it was called an "exported model"), a model a library saver wrote (save_lm) is not an export
either, and an export of either says its source is a model without training state (it said "a exported model").
A path that is not there is "no such file": info reads ONNX graphs, vocabulary, HMM JSON and BPE files too."""
from __future__ import annotations

import io

import numpy as np
import pytest
from clirun import info_row, run_cli

from rnnkit.checkpoint_info import checkpoint_info
from rnnkit.cli.info import info_lines
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm import LanguageModel, LMConfig, save_lm


def _row(info: dict, label: str) -> str:
    """The text after ``label`` on its line of the table of ``info`` (a checkpoint_info dict)."""
    return info_row("\n".join(info_lines(info)), label)


def test_the_charlm_demos_model_is_named_as_the_demos_trained_model(tmp_path):
    from rnnkit.demos.charlm import DemoConfig, run_charlm_demo

    cfg = DemoConfig(steps=2, hidden=8, layers=1, batch_size=2, bptt=8, sample_chars=5)
    model = run_charlm_demo(cfg, tmp_path / "demo", out=io.StringIO(), progress="none")["model"]
    info = checkpoint_info(model)
    kind = _row(info, "kind")
    assert "trained model of 'rnnkit demo', the character-level language model demo" in kind, kind
    assert "export" not in kind, kind
    assert _row(info, "settings").startswith("steps 2, hidden 8, layers 1, batch size 2, bptt 8, lr ")

    from rnnkit.lm import load_lm  # the demo's record beside the task: its loader reads the file as before

    assert load_lm(model)[2] == "char"


def test_a_saved_model_is_not_called_an_export_and_its_export_names_it(tmp_path, capsys):
    vocab = Vocabulary(["<unk>", "<eos>", "a", "b"])
    model = LanguageModel(LMConfig(vocab_size=4, embedding_dim=4, hidden_size=4), np.random.default_rng(0))
    saved = save_lm(tmp_path / "lm.safetensors", model, vocab, "word")
    kind = _row(checkpoint_info(saved), "kind")
    assert "model alone, without training state (not an export" in kind and "exported" not in kind, kind
    code, _, err = run_cli(capsys, ["export", str(saved), "-o", str(tmp_path / "e.safetensors")])
    assert code == 0, err
    info = checkpoint_info(tmp_path / "e.safetensors")
    assert _row(info, "kind").endswith("exported model (the model alone)")
    assert _row(info, "exported").startswith("from lm.safetensors, a model without training state")


@pytest.mark.parametrize("name", ["m.onnx", "m.vocab.json", "m.bpe.model", "hmm.json", "best.safetensors"])
def test_a_missing_file_is_no_such_file(tmp_path, capsys, name):
    code, out, err = run_cli(capsys, ["info", str(tmp_path / name)])
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert f"{tmp_path / name}: no such file; check the path" in err and "checkpoint" not in err.split(";")[0], err


def test_a_missing_arpa_file_is_no_such_arpa_file(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("a b\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "lm.arpa"), str(tmp_path / "t.txt")])
    assert code == 2 and f"{tmp_path / 'lm.arpa'}: no such ARPA file; check the path" in err, err


def test_a_saved_translator_is_a_model_alone_as_other_savers_write(tmp_path):
    """save_translator wrote meta kind "seq2seq-model", which no other saver writes and info printed raw."""
    from test_seq2seq_lengths import _real_translator

    from rnnkit.seq2seq.io import LengthRule, load_translator, save_translator

    saved = save_translator(tmp_path / "t.safetensors", _real_translator(LengthRule(3.25, 17)))
    assert _row(checkpoint_info(saved), "kind").endswith(_SAVED_KIND)
    load_translator(saved)


_SAVED_KIND = ("model alone, without training state (not an export: no export record; a library saver's, e.g. "
               "save_lm, or a demo's)")
