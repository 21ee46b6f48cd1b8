"""Saved n-gram models: checkpoint files, the earlier file format, and `rnnkit evaluate` / `rnnkit generate`
over them; sampling through the recurrent model's step protocol."""
from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from rnnkit import checkpoint as ckpt
from rnnkit.cli.main import main
from rnnkit.data import Vocabulary, read_tokens
from rnnkit.errors import CheckpointError
from rnnkit.lm import NGramLM
from rnnkit.lm.generate import sample_ids
from rnnkit.lm.io import load_language_model, load_ngram

WORDS = "the cat sat on a mat dog ran far away".split()


def write_text(tmp_path, name, n_lines, seed):
    rng = np.random.default_rng(seed)
    lines = [" ".join(rng.choice(WORDS, size=rng.integers(3, 9))) for _ in range(n_lines)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    return write_text(tmp_path, "train.txt", 200, 0), write_text(tmp_path, "test.txt", 20, 1)


def train_and_save(tmp_path, train, level="word", order=3, smoothing="kneser_ney"):
    path = tmp_path / f"{level}{order}.safetensors"
    assert main(["train", "ngram", "--train", str(train), "--order", str(order), "--level", level,
                 "--smoothing", smoothing, "--save", str(path)]) == 0
    return path


@pytest.mark.parametrize("level", ["word", "char"])
def test_evaluate_gives_the_training_commands_figure(tmp_path, files, capsys, level):
    train, test = files
    model_path = tmp_path / "m.safetensors"
    assert main(["train", "ngram", "--train", str(train), "--test", str(test), "--order", "4", "--level", level,
                 "--save", str(model_path)]) == 0
    trained = capsys.readouterr().out
    ppl_line = next(line for line in trained.splitlines() if line.startswith("test:"))
    assert main(["evaluate", str(model_path), str(test), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert f"perplexity {m['ppl']:.2f}" in ppl_line
    n_tokens = len(read_tokens(test, level))
    assert m["tokens"] == n_tokens  # every token predicted, <eos> included at word level
    model, vocab, got_level, _ = load_language_model(model_path)
    assert got_level == level
    want = -model.token_logprobs(vocab.encode(read_tokens(test, level))).mean()
    assert m["loss"] == pytest.approx(want, rel=1e-12)
    assert m["bits"] == pytest.approx(want / np.log(2), rel=1e-12)
    assert main(["evaluate", str(model_path), str(test)]) == 0
    out = capsys.readouterr().out
    assert ("bits/char" in out) == (level == "char") and f"perplexity {m['ppl']:.2f}" in out  # per character too


def test_saved_model_is_an_atomic_checked_checkpoint(tmp_path, files):
    train, _ = files
    path = train_and_save(tmp_path, train)
    meta = ckpt.load_meta(path)
    assert meta["task"]["model"] == "ngram" and meta["task"]["level"] == "word"
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed onto the target
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # a flipped bit in the last table
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        NGramLM.load(path)


def test_earlier_file_format_still_loads_and_evaluates(tmp_path, files, capsys):
    train, test = files
    vocab_tokens = read_tokens(train)
    vocab = Vocabulary.build(vocab_tokens, eos_token="<eos>")
    model = NGramLM(3).fit(vocab.encode(vocab_tokens), len(vocab), eos_id=vocab.eos_id)
    old = tmp_path / "old.safetensors"  # what NGramLM.save wrote before n-gram files became checkpoints
    save_file(model.arrays(), str(old), metadata={"format": "rnnkit.ngram/1", "config": json.dumps(model.config()),
                                                   "vocab": vocab.to_json()})
    again, vocab2, level = load_ngram(old)
    assert vocab2 == vocab and level == "word"
    ids = vocab.encode(read_tokens(test))
    assert again.perplexity(ids) == model.perplexity(ids)
    assert main(["evaluate", str(old), str(test), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ppl"] == pytest.approx(model.perplexity(ids), rel=1e-12)


@pytest.mark.parametrize("order", [1, 2, 4, 5, 7])
@pytest.mark.parametrize("eos", [1, None])
def test_step_protocol_equals_the_full_history_distribution(order, eos):
    rng = np.random.default_rng(order)
    V = 9
    data = rng.integers(2, V, size=400)
    if eos is not None:
        data[rng.random(400) < 0.2] = eos
    model = NGramLM(order).fit(data, V, eos_id=eos)
    stream = rng.integers(1, V, size=25)
    logp, state = model.step_log_probs(stream[:3].reshape(-1, 1), None)
    for t in range(3, stream.size):
        want = np.log(model.distribution(stream[:t]))  # the whole history so far
        np.testing.assert_allclose(logp[0], want, rtol=0, atol=1e-12, err_msg=f"after {t} tokens")
        assert state.size <= max(order - 1, 0)
        logp, state = model.step_log_probs(stream[t : t + 1].reshape(1, 1), state)


def test_greedy_sampling_follows_the_most_likely_token():
    rng = np.random.default_rng(3)
    V = 7
    model = NGramLM(3).fit(rng.integers(1, V, size=300), V, eos_id=1)
    got = list(sample_ids(model, np.array([1]), 15, greedy=True))
    history = [1]
    for token in got:
        assert token == int(np.argmax(model.distribution(history)))
        history.append(token)


def test_generate_from_an_ngram_is_reproducible_and_never_writes_unk(tmp_path, files, capsys):
    train, _ = files
    for level in ("word", "char"):
        path = str(train_and_save(tmp_path, train, level, order=2, smoothing="add_delta"))
        capsys.readouterr()
        texts = []
        for seed in (5, 5, 6):
            assert main(["generate", path, "--length", "200", "--seed", str(seed)]) == 0
            texts.append(capsys.readouterr().out)
        assert texts[0] == texts[1] != texts[2]
        assert "<unk>" not in texts[0]  # add-delta gives <unk> real mass: it must be banned, not just rare
        words = set(texts[0].split()) if level == "word" else set(texts[0]) - {"\n"}
        allowed = set(WORDS) if level == "word" else set("".join(WORDS)) | {" "}
        assert words and words <= allowed
        assert main(["generate", path, "--prime", "the cat", "--length", "5", "--greedy"]) == 0
        assert capsys.readouterr().out.startswith("the cat")
        # --lines: the text stops at the end of its N-th line, the lines as the unlimited text has them
        assert main(["generate", path, "--length", "1000", "--seed", "5", "--lines", "3"]) == 0
        three = capsys.readouterr().out
        assert three.count("\n") == 3 and three.endswith("\n") and texts[0].startswith(three[:40])
        assert main(["generate", path, "--length", "1000", "--seed", "5"]) == 0
        assert capsys.readouterr().out.startswith(three)


def test_model_without_vocabulary_or_wrong_kind_is_one_line(tmp_path, files, capsys):
    train, test = files
    model = NGramLM(2).fit(np.array([2, 3, 1, 2, 1]), 4, eos_id=1)
    bare = tmp_path / "bare.safetensors"
    model.save(bare)  # no vocabulary: fine for the library, not for the command line
    assert NGramLM.load(bare).perplexity([2, 3, 1]) == model.perplexity([2, 3, 1])
    for argv in (["evaluate", str(bare), str(test)], ["generate", str(bare)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "without its vocabulary" in err
    other = tmp_path / "other.safetensors"
    ckpt.save_checkpoint(other, {}, {"task": {"model": "tagger"}})
    with pytest.raises(CheckpointError, match=r"not a language-model \(n-gram\) checkpoint"):
        NGramLM.load(other)
    with pytest.raises(ValueError, match="level"):
        model.save(tmp_path / "x.safetensors", level="sentence")


def test_saving_with_a_vocabulary_whose_eos_the_model_was_not_fitted_with_is_refused(tmp_path):
    """Sentence starts follow eos_id: a file whose vocabulary says otherwise would score another model."""
    words = Vocabulary(["<unk>", "<eos>", "a", "b"], eos_token="<eos>")
    chars = Vocabulary(["<unk>", "a", "b", "\n"], eos_token=None)
    with pytest.raises(ValueError, match=r"eos_id=vocab.eos_id \(1\), got None"):
        NGramLM(2).fit(np.array([2, 3, 1, 2]), 4).save(tmp_path / "w.safetensors", words, level="word")
    with pytest.raises(ValueError, match=r"eos_id=vocab.eos_id \(None\), got 3"):
        NGramLM(2).fit(np.array([1, 2, 3, 1]), 4, eos_id=3).save(tmp_path / "c.safetensors", chars, level="char")
    NGramLM(2).fit(np.array([1, 2, 3, 1]), 4).save(tmp_path / "c.safetensors", chars, level="char")
    assert NGramLM.load(tmp_path / "c.safetensors").eos_id_ is None
