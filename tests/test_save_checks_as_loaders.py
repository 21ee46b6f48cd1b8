"""The one-call savers refuse, when asked to write it, the metadata their loaders would refuse reading the file back:
the write-time check and the loader's are one function (each task's ``_read_meta``).  A language model at level bpe
whose SentencePiece bytes do not load, a tagger whose training scheme its data's cannot be trained in or whose tags
do not fit its scheme, and an HMM (save_hmm) of such a scheme or of a metric its scheme cannot score, were written and
then read as damaged checkpoints.  The refusal says the check's own
"Expected ..." once, that the loader would refuse the file, and the argument to change."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit import checkpoint as ckpt
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import CheckpointError
from rnnkit.lm import LanguageModel, LMConfig, load_lm, save_lm
from rnnkit.lm.ngram import NGramLM
from rnnkit.tagging import DataSpec, LoadedTagger, Tagger, TaggerConfig, TaggerEncoder, TaggingData, save_tagger

VOCAB = Vocabulary(["<unk>", "<eos>", "a", "b"])
JUNK = b"junk"  # not a SentencePiece model


def _lm() -> LanguageModel:
    return LanguageModel(LMConfig(vocab_size=4, embedding_dim=4, hidden_size=4), np.random.default_rng(0))


def _refused_once(exc: pytest.ExceptionInfo, *said: str) -> None:
    text = str(exc.value)
    assert "\n" not in text and text.count("Expected") == 1 and text.startswith("Expected"), text
    assert all(s in text for s in said), text


def _edited(path, tmp_path, **task):
    """A copy of the checkpoint at ``path`` with its task metadata edited (as a saver without the check wrote it)."""
    arrays, meta = ckpt.load_checkpoint(path)
    meta["task"].update(task)
    return ckpt.save_checkpoint(tmp_path / "edited.safetensors", arrays, meta)


def test_save_lm_refuses_a_bpe_model_load_lm_would_refuse(tmp_path):
    with pytest.raises(ValueError) as exc:
        save_lm(tmp_path / "lm.safetensors", _lm(), VOCAB, "bpe", JUNK)
    _refused_once(exc, "Expected bpe_model to hold a SentencePiece model", "load_lm would refuse", "train_bpe")
    assert not (tmp_path / "lm.safetensors").exists()
    import base64  # the same bytes written past the check: the loader's refusal says the same

    edited = _edited(save_lm(tmp_path / "word.safetensors", _lm(), VOCAB, "word"), tmp_path, level="bpe",
                     bpe_model=base64.b64encode(JUNK).decode("ascii"))
    with pytest.raises(CheckpointError, match="Expected bpe_model to hold a SentencePiece model"):
        load_lm(edited)


def test_save_lm_refuses_a_level_in_the_loaders_words(tmp_path):
    """The level's message began lower-case with the value ("level 'xyz', expected ..."), and the saver wrapped it
    as "Expected metadata that load_lm reads back, got level 'xyz', expected ...": said once, as Expected."""
    with pytest.raises(ValueError) as exc:
        save_lm(tmp_path / "lm.safetensors", _lm(), VOCAB, "xyz")
    _refused_once(exc, "Expected level 'word', 'char' or 'bpe', got 'xyz' (load_lm would refuse")
    edited = _edited(save_lm(tmp_path / "word.safetensors", _lm(), VOCAB, "word"), tmp_path, level="xyz")
    with pytest.raises(CheckpointError, match=r"\(Expected level 'word', 'char' or 'bpe', got 'xyz'\)"):
        load_lm(edited)


def test_an_ngram_models_save_refuses_a_bpe_model_its_loader_would_refuse(tmp_path):
    model = NGramLM(2).fit(np.array([2, 3, 1, 2, 1]), 4, eos_id=VOCAB.eos_id)
    with pytest.raises(ValueError) as exc:
        model.save(tmp_path / "kn.safetensors", vocab=VOCAB, level="bpe", bpe_model=JUNK)
    _refused_once(exc, "Expected bpe_model to hold a SentencePiece model", "load_ngram would refuse")
    assert not (tmp_path / "kn.safetensors").exists()


def _tagger(tags: list[list[str]]) -> tuple[Tagger, TaggerEncoder]:
    data = TaggingData([["John", "lives", "here"], ["Mary", "sleeps"]], tags, None)
    encoder = TaggerEncoder.build(data)
    config = TaggerConfig(vocab_size=len(encoder.words), num_tags=len(encoder.tags), embedding_dim=4, hidden_size=4)
    return Tagger(config, np.random.default_rng(0)), encoder


SPANS = [["B-PER", "O", "O"], ["B-PER", "O"]]
POS = [["NN", "VB", "RB"], ["NN", "VB"]]


@pytest.mark.parametrize("tags, scheme, train_scheme, said, fix", [
    (SPANS, "bio", "bmes", "Expected train_scheme one of", "pass train_scheme=None"),
    (SPANS, "bio", "nonsense", "got 'nonsense'", "pass train_scheme=None"),
    (SPANS, "none", "bio", "for train_scheme 'bio', got scheme 'none'", "pass train_scheme=None"),
    (POS, "bio", None, "Expected an IOB2 tag", "scheme='none' for tags without spans"),
])
def test_save_tagger_refuses_what_loaded_tagger_would_refuse(tmp_path, tags, scheme, train_scheme, said, fix):
    model, encoder = _tagger(tags)
    spec = DataSpec("columns", -1, scheme=scheme)
    with pytest.raises(ValueError) as exc:
        save_tagger(tmp_path / "t.safetensors", model, encoder, spec, train_scheme=train_scheme)
    _refused_once(exc, said, "load_tagger would refuse", fix)
    assert not (tmp_path / "t.safetensors").exists()
    # written past the check (a tagger of the data's own scheme, edited): LoadedTagger refuses it the same way
    good = save_tagger(tmp_path / "good.safetensors", model, encoder, DataSpec("columns", -1, scheme="none"))
    edited = _edited(good, tmp_path, data={**ckpt.load_meta(good)["task"]["data"], "scheme": scheme},
                     train_scheme=train_scheme or scheme, metric="accuracy")
    with pytest.raises(CheckpointError, match=said):
        LoadedTagger(edited)


def test_a_metric_the_loader_refuses_is_said_with_one_expected_and_its_fix(tmp_path):
    model, encoder = _tagger(SPANS)
    with pytest.raises(ValueError) as exc:
        save_tagger(tmp_path / "t.safetensors", model, encoder, DataSpec("columns", -1, scheme="bio"), metric="f1")
    _refused_once(exc, "Expected metric one of", "got 'f1'", "load_tagger would refuse", "pass metric=None")


def _hmm():
    from rnnkit.hmm import HMMTagger

    return HMMTagger(order=2).fit([["John", "lives", "here"], ["Mary", "sleeps"]], SPANS)


@pytest.mark.parametrize("scheme, metric, train_scheme, said, fix", [
    ("none", "span_f1", None, "for metric 'span_f1'", "pass a metric the data's scheme can score"),
    ("bio", "f1", None, "Expected metric one of", "pass a metric the data's scheme can score"),
    ("bio", "accuracy", "bmes", "Expected train_scheme one of", "pass train_scheme=None"),
    ("none", "accuracy", "bio", "for train_scheme 'bio', got scheme 'none'", "pass train_scheme=None"),
])
def test_save_hmm_refuses_what_loaded_tagger_would_refuse(tmp_path, scheme, metric, train_scheme, said, fix):
    """save_hmm wrote these, which LoadedTagger (tag, evaluate, segment) then called damaged checkpoints."""
    from rnnkit.tagging.io import save_hmm

    with pytest.raises(ValueError) as exc:
        save_hmm(tmp_path / "h.safetensors", _hmm(), DataSpec("columns", -1, scheme=scheme), metric,
                 train_scheme=train_scheme)
    _refused_once(exc, said, "LoadedTagger would refuse", fix)
    assert not (tmp_path / "h.safetensors").exists()
    good = tmp_path / "good.safetensors"  # written past the check, edited: LoadedTagger says the same
    save_hmm(good, _hmm(), DataSpec("columns", -1, scheme="bio"), "accuracy")
    edited = _edited(good, tmp_path, data={**ckpt.load_meta(good)["task"]["data"], "scheme": scheme},
                     metric=metric, train_scheme=train_scheme or scheme)
    with pytest.raises(CheckpointError, match=said):
        LoadedTagger(edited)
    assert LoadedTagger(good).tags == sorted({t for s in SPANS for t in s})
