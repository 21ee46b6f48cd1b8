"""Checkpoints damaged under a valid checksum (metadata or arrays edited, then saved again with fresh
digests), found by a fuzzing audit (Dec 6): each used to give a traceback, a hang, an allocation of
gigabytes, or a silent wrong answer; now one line, exit 2, naming the file."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli, toy_task_files

from rnnkit import checkpoint as ckpt

FAST = ["--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One tiny trained model of each kind, and the data to run it on."""
    d = tmp_path_factory.mktemp("models")
    toy_task_files(d)
    small = ["--embed", "4", "--hidden", "4", "--batch-size", "4", *FAST]
    commands = {
        "lm": ["train", "lm", "--train", str(d / "lm.txt"), "--level", "word", "--layers", "1", "--bptt", "5",
               *small, "--run-dir", str(d / "lm")],
        "ngram": ["train", "ngram", "--train", str(d / "lm.txt"), "--order", "3", "--save", str(d / "kn.safetensors")],
        "tagger": ["train", "tagger", "--train", str(d / "tag.conllu"), *small, "--run-dir", str(d / "tagger")],
        "hmm": ["train", "hmm", "--train", str(d / "tag.conllu"), "--output", str(d / "hmm.safetensors")],
        "classifier": ["train", "classifier", "--train", str(d / "cls.tsv"), *small, "--run-dir", str(d / "cls")],
        "seq2seq": ["train", "seq2seq", "--train", str(d / "s2s.tsv"), *small, "--run-dir", str(d / "s2s")],
    }
    from rnnkit.cli.main import main

    for kind, argv in commands.items():
        assert main(argv) == 0, kind
    return d


def _damage(models, source, edit, tmp_path):
    arrays, meta = ckpt.load_checkpoint(models / source)
    edit(arrays, meta["task"])
    path = tmp_path / "damaged.safetensors"
    ckpt.save_checkpoint(path, arrays, meta)
    return path


def _set(*keys, value):
    def edit(arrays, task):
        for k in keys[:-1]:
            task = task[k]
        if value is KeyError:
            del task[keys[-1]]
        else:
            task[keys[-1]] = value
    return edit


def _drop_last_token(arrays, task):
    import json

    vocab = json.loads(task["vocab"]) if isinstance(task["vocab"], str) else task["vocab"]
    tokens = vocab["tokens"] if isinstance(vocab, dict) else vocab
    del tokens[-1]
    task["vocab"] = json.dumps(vocab) if isinstance(task["vocab"], str) else vocab


def _no_eos(arrays, task):
    """A word-level model whose vocabulary lost its <eos> (scored one token a line too few)."""
    import json

    vocab = json.loads(task["vocab"]) if isinstance(task["vocab"], str) else task["vocab"]
    vocab["eos_token"] = None
    task["vocab"] = json.dumps(vocab) if isinstance(task["vocab"], str) else vocab


def _reversed(key):
    def edit(arrays, task):
        import json

        vocab = json.loads(task[key]) if isinstance(task[key], str) else task[key]
        vocab["tokens"] = vocab["tokens"][::-1]
        task[key] = json.dumps(vocab) if isinstance(task[key], str) else vocab
    return edit


def _array(name, change):
    def edit(arrays, task):
        arrays[name] = change(arrays[name])
    return edit


CASES = [  # (model file, edit, command after the model, what the line says)
    ("lm/last.safetensors", _set("lm_config", "hidden_size", value=10**9), ["generate", "--length", "3"],
     "lm_config.hidden_size is 1,000,000,000, larger than any array the file holds"),
    ("lm/last.safetensors", _set("lm_config", "num_layers", value=10**9), ["generate", "--length", "3"],
     "lm_config.num_layers is 1,000,000,000"),
    ("lm/last.safetensors", _drop_last_token, ["evaluate", "lm.txt"],
     "lm_config.vocab_size is 12, but the vocabulary holds 11"),
    ("lm/last.safetensors", _set("model", value={"a": 1}), ["generate"], "its model kind is {'a': 1}"),
    ("lm/last.safetensors", _set("lm_config", "cell", value="xyz"), ["generate"], "damaged language-model metadata"),
    ("lm/last.safetensors", _array("model/embedding.weight", lambda a: a > 0), ["evaluate", "lm.txt"],
     "embedding.weight as float32 or float64, got bool"),
    ("kn.safetensors", _array("model/bows.2", lambda a: a[:-1]), ["evaluate", "lm.txt"],
     "Expected table bows.2 of float32 or float64 of shape"),
    ("kn.safetensors", _array("model/probs.3", lambda a: np.array(a[0])), ["score", "lm.txt"], "table probs.3"),
    ("kn.safetensors", _array("model/bows.1", lambda a: a - 5), ["evaluate", "lm.txt"],
     "table bows.1 holds a negative, NaN or infinite entry"),
    ("lm/last.safetensors", _no_eos, ["evaluate", "lm.txt"], "word-level model whose vocabulary has no end-of"),
    ("kn.safetensors", _no_eos, ["score", "lm.txt"], "word-level model whose vocabulary has no end-of"),
    ("kn.safetensors", _set("config", "eos_id", value=10**9), ["evaluate", "lm.txt"], "eos_id 1000000000 is not below"),
    ("tagger/last.safetensors", _set("encoder", "tags", value=[]), ["tag", "lm.txt"],
     "tagger_config.num_tags is 2, but the tag list holds 0"),
    ("tagger/last.safetensors", _set("encoder", "tags", value={}), ["tag", "lm.txt"], "tags to be a list of strings"),
    ("tagger/last.safetensors", _set("encoder", "tags", value=["DET", "DET"]), ["tag", "lm.txt"],
     "tags to be distinct, got 'DET' twice"),
    ("tagger/last.safetensors", _set("encoder", "tags", value=["", "NOUN"]), ["tag", "lm.txt"], "non-empty strings"),
    ("tagger/last.safetensors", _set("metric", value=KeyError), ["evaluate", "tag.conllu"], "'metric'"),
    ("tagger/last.safetensors", _set("metric", value="xyz"), ["evaluate", "tag.conllu"],
     "metric one of ('accuracy', 'span_f1', 'word_f1', 'induction'), got 'xyz'"),
    ("hmm.safetensors", _set("data", value=KeyError), ["tag", "lm.txt"], "damaged tagger metadata ('data')"),
    ("classifier", _set("encoder", "labels", value=["neg"]), ["classify", "lm.txt"],
     "classifier_config.num_classes is 2, but the label list holds 1"),
    ("seq2seq", _set("length_rule", "extra", value=10**9), ["translate", "lm.txt"],
     "extra steps to be at most 100,000"),
    ("kn.safetensors", _set("config", "vocab_size", value=10**9), ["score", "lm.txt"],
     "vocab_size 1000000000 does not fit table keys.1"),  # was an IndexError; generate allocated 7 GiB
    ("lm/last.safetensors", _set("model", value=[]), ["evaluate", "lm.txt"], "not a model rnnkit can evaluate"),
    ("tagger/last.safetensors", _set("encoder", "max_chars", value=10**9), ["tag", "lm.txt"],
     "max_chars at most 10,000"),
    ("tagger/last.safetensors", _set("tagger_config", "char_vocab_size", value=7), ["tag", "lm.txt"],
     "tagger_config.char_vocab_size is 7, but the character vocabulary holds 0"),
    ("seq2seq", _reversed("source_vocab"), ["translate", "lm.txt"], "the source vocabulary to start with"),
    ("seq2seq", _set("source_tokenizer", "lowercase", value="no"), ["translate", "lm.txt"],
     "lowercase to be a bool, got str 'no'"),  # was read as true
    ("hmm.safetensors", _set("fold_width", value="xyz"), ["tag", "lm.txt"], "fold_width to be a bool"),
    ("kn.safetensors", _array("model/keys.2", lambda a: a[::-1].copy()), ["evaluate", "lm.txt"],
     "table keys.2 is out of order"),  # lookups bisect the keys: every bigram read as unseen
    ("kn.safetensors", _array("model/keys.3", lambda a: a + 10**6), ["score", "lm.txt"],
     "names a context that table keys.2 does not have"),
    ("kn.safetensors", _array("model/keys.1", lambda a: a[::-1].copy()), ["score", "lm.txt"],
     "keys.1 is not the symbols 0, 1, 2, ... in order"),
    ("kn.safetensors", _array("model/probs.2", lambda a: a * 1e300), ["evaluate", "lm.txt"],
     "table probs.2 holds a probability above 1"),
    ("kn.safetensors", _array("model/bows.2", lambda a: a + 5), ["score", "lm.txt"],
     "table bows.2 holds an interpolation weight above 1"),
    ("kn.safetensors", _array("model/probs.1", lambda a: a.astype(np.float16)), ["score", "lm.txt"],
     ", got float16 of shape"),
    ("kn.safetensors", _set("config", "eos_id", value=0), ["evaluate", "lm.txt"],
     "config.eos_id is 0, but the vocabulary's end-of-sentence id is 1"),  # sentence starts moved silently
    ("kn.safetensors", _set("config", "eos_id", value=None), ["score", "lm.txt"],
     "config.eos_id is None, but the vocabulary's end-of-sentence id is 1"),
]
_RUNS = {"classifier": "cls/last.safetensors", "seq2seq": "s2s/last.safetensors"}


@pytest.mark.parametrize("source, edit, command, said", CASES, ids=[f"{i}-{c[2][0]}" for i, c in enumerate(CASES)])
def test_a_damaged_checkpoint_is_one_line_naming_it(models, source, edit, command, said, tmp_path, capsys):
    path = _damage(models, _RUNS.get(source, source), edit, tmp_path)
    argv = [command[0], str(path), *(str(models / c) if c.endswith((".txt", ".conllu")) else c for c in command[1:])]
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and err.count("\n") == 1 and str(path) in err, (code, err)
    assert said in err, err
    assert "Traceback" not in err and not out.strip()


def test_the_undamaged_models_all_run(models, capsys):
    """The control: the same commands on the models as trained."""
    for source, command in (("lm/last.safetensors", ["evaluate", "lm.txt"]), ("kn.safetensors", ["score", "lm.txt"]),
                            ("tagger/last.safetensors", ["evaluate", "tag.conllu"]), ("hmm.safetensors", ["tag", "lm.txt"]),
                            ("cls/last.safetensors", ["classify", "lm.txt"]),
                            ("s2s/last.safetensors", ["translate", "lm.txt"])):
        code, out, err = run_cli(capsys, [command[0], str(models / source), str(models / command[1])])
        assert code == 0 and out.strip(), (source, err)


def test_a_tree_encoder_takes_only_a_bool_and_a_class_count():
    """Read from a tree model's metadata: lowercase "no" was true, classes "5" or 1.5 were int()-ed."""
    from rnnkit.data.vocab import Vocabulary
    from rnnkit.treenet.task import TreeEncoder

    vocab = Vocabulary(["<unk>", "good"], eos_token=None)
    assert TreeEncoder(vocab, 5, True).classes == 5
    for classes, lowercase, said in ((5, "no", "lowercase to be a bool"), ("5", False, "classes"),
                                     (1.5, False, "classes"), (1, False, "classes")):
        with pytest.raises((TypeError, ValueError), match=said):
            TreeEncoder(vocab, classes, lowercase)


def test_word_classes_above_the_vocabulary_are_refused_without_a_huge_set():
    """A class number of 10**9 (a damaged class-softmax model) built set(range(10**9 + 1)) to name the
    empty classes: gigabytes, then out of memory."""
    from rnnkit.lm.class_softmax import ClassSoftmax

    with pytest.raises(ValueError, match="C <= 3 words, got class 1000000000"):
        ClassSoftmax(np.array([0, 1, 10**9]))
