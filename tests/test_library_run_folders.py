"""The library's loaders take a training run's folder as the commands do: it stands for its best.safetensors, else
its last.safetensors (rnnkit.checkpoint_files.model_file, over find_checkpoint), read silently; a folder with
neither is one line naming both, a cross-validation's names its folds; a demo's --save folder its model.safetensors."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from test_export import models  # noqa: F401 (the fixture: a tiny model of each kind, trained with the CLI)

from rnnkit.checkpoint_files import find_checkpoint
from rnnkit.classify import LoadedClassifier, load_classifier
from rnnkit.demos.ctc import CTCDemoConfig, Transcriber, load_transcriber, save_transcriber
from rnnkit.errors import CheckpointError
from rnnkit.lm import load_language_model, load_lm
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import load_pointer, save_pointer
from rnnkit.tagging import LoadedTagger, load_tagger
from rnnkit.treenet.task import load_treenet


def _params(kind, loaded):
    """The weights a loader's result holds, to compare a folder's load with its file's."""
    model = {"translator": lambda t: t.model, "lm": lambda t: t[0], "language_model": lambda t: t.model,
             "tagger": lambda t: t[0], "loaded_tagger": lambda t: t.model, "classifier": lambda t: t[0],
             "loaded_classifier": lambda t: t.model, "treenet": lambda t: t[0]}[kind](loaded)
    return model.params


LOADERS = {"translator": ("s2s", load_translator), "lm": ("lm", load_lm),
           "language_model": ("lm", load_language_model), "tagger": ("tagger", load_tagger),
           "loaded_tagger": ("tagger", LoadedTagger), "classifier": ("cls", load_classifier),
           "loaded_classifier": ("cls", LoadedClassifier), "treenet": ("tree", load_treenet)}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_loader_reads_a_run_folders_best_else_last_checkpoint(models, kind, recwarn):  # noqa: F811
    name, load = LOADERS[kind]
    folder = models / name
    from_folder, from_file = load(folder), load(find_checkpoint(folder))
    got, want = _params(kind, from_folder), _params(kind, from_file)
    assert sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)
    assert not recwarn.list  # silent: the CLI alone says which file it read


def test_the_run_folders_hold_best_and_last_only_checkpoints(models):  # noqa: F811
    """Both of find_checkpoint's choices are exercised above: the translator's and tagger's runs had no validation."""
    names = {find_checkpoint(models / name).name for name, _ in LOADERS.values()}
    assert names == {"best.safetensors", "last.safetensors"}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_folder_without_checkpoints_is_one_line_naming_both(models, tmp_path, kind):  # noqa: F811
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError) as info:
        LOADERS[kind][1](empty)
    assert str(info.value) == (f"{empty}: no best.safetensors or last.safetensors in it (a training run's folder "
                               "has them); give a run folder or a checkpoint file")
    folds = tmp_path / "cv"
    for k in (1, 2):
        (folds / f"fold{k}").mkdir(parents=True)
        shutil.copy(find_checkpoint(models / "cls"), folds / f"fold{k}" / "best.safetensors")
    with pytest.raises(CheckpointError) as info:
        LOADERS[kind][1](folds)
    message = str(info.value)
    assert "\n" not in message and f"is a 2-fold cross-validation run: its models are {folds / 'fold1'}" in message


def test_the_demo_loaders_read_the_folder_their_save_wrote(tmp_path):
    saved = tmp_path / "pointer"
    saved.mkdir()
    net = PointerNet(1, 4)
    save_pointer(saved / "model.safetensors", net)
    loaded, _ = load_pointer(saved)
    assert all(np.array_equal(loaded.params[k], v) for k, v in net.params.items())
    cfg = CTCDemoConfig(hidden=3)
    saved = tmp_path / "ctc"
    saved.mkdir()
    transcriber = Transcriber(cfg.symbols, cfg.hidden, np.random.default_rng(0))
    save_transcriber(saved / "model.safetensors", transcriber, cfg)
    loaded, _ = load_transcriber(saved)
    assert all(np.array_equal(loaded.params[k], v) for k, v in transcriber.params.items())
    (tmp_path / "empty").mkdir()
    for load, command in ((load_pointer, "pointer"), (load_transcriber, "ctc")):
        with pytest.raises(CheckpointError, match="a folder without model.safetensors; give the folder "
                                                  f"'rnnkit demo {command} --save DIR' wrote"):
            load(tmp_path / "empty")
