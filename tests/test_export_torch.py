"""rnnkit export --torch: the printed torch code builds the module, loads the file, and gives rnnkit's
log-probabilities."""
from __future__ import annotations

import ast

import numpy as np
import pytest
from clirun import run_cli

from rnnkit import checkpoint as ckpt

torch = pytest.importorskip("torch")

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big", "saw", "log"]
FAST = ["--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0", "--optimizer", "adam"]


def _text(tmp_path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    lines = [" ".join(rng.choice(WORDS, int(rng.integers(2, 9)))) for _ in range(n)]
    path = tmp_path / "text.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


def _train_lm(tmp_path, capsys, *options):
    text, _ = _text(tmp_path)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(text), "--bptt", "6", "--batch-size", "4",
                                    *FAST, *options, "--run-dir", str(run)])
    assert code == 0, err
    return run / "last.safetensors"


def _export_torch(capsys, model, out_path, *options):
    tmp_path = out_path.parent
    """Export with --torch; run the printed code (as a user would, as a script) and return its namespace."""
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(out_path), "--torch", *options])
    assert code == 0, err
    assert "), a PyTorch state dict, weights in " in err and err.count("\n") == 2, err
    assert max(len(line) for line in out.splitlines() if str(tmp_path) not in line) <= 120
    namespace = {"__name__": "__main__"}
    exec(compile(out, "exported.py", "exec"), namespace)  # builds the module, loads the weights, uses it once
    return namespace, capsys.readouterr().out


@pytest.mark.parametrize("options", [
    ("--cell", "lstm", "--layers", "2", "--embed", "6", "--hidden", "8"),
    ("--cell", "gru", "--layers", "1", "--embed", "8", "--hidden", "8", "--tie"),
    ("--cell", "rnn", "--layers", "2", "--embed", "5", "--hidden", "7", "--softmax", "adaptive", "--cutoffs", "4,8",
     "--div-value", "2"),
])
def test_a_language_model_in_torch_gives_rnnkits_log_probabilities(tmp_path, capsys, options):
    from rnnkit.lm.io import load_lm

    model_path = _train_lm(tmp_path, capsys, *options)
    ns, printed = _export_torch(capsys, model_path, tmp_path / "lm.safetensors")
    module = ns["model"]
    assert not module.training and printed.strip().endswith("nats")
    lm, vocab, _, _ = load_lm(model_path)
    assert ns["tokens"] == vocab.tokens
    ids = np.random.default_rng(5).integers(0, len(vocab), (9, 3))  # (T, B)
    with torch.no_grad():
        logp, _ = module(torch.from_numpy(ids))  # (T, B, V)
    logp = logp.numpy()
    assert logp.dtype == np.float32
    want, _ = lm.token_log_probs(ids[:-1], ids[1:])  # (T-1, B): the next token after each
    got = np.take_along_axis(logp[:-1], ids[1:, :, None], axis=2)[..., 0]
    assert np.abs(got - want).max() <= 1e-5
    last, _ = lm.step_log_probs(ids, None)  # (B, V): the whole distribution after the last token
    assert np.abs(logp[-1] - last).max() <= 1e-5
    # the printed example's number is rnnkit's score of the same tokens
    text = [vocab.token_id(t) for t in ns["text"]]
    lp, _ = lm.token_log_probs(np.array(text[:-1])[:, None], np.array(text[1:])[:, None])
    assert abs(float(printed.split()[0]) - lp.sum()) <= 1e-4
    # ... and the one 'rnnkit score' prints for the example's line: its end (<eos>) counts too
    assert ns["text"][0] == ns["text"][-1] == "<eos>"
    line = tmp_path / "line.txt"
    line.write_text(" ".join(ns["text"][1:-1]) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["score", str(model_path), str(line)])
    assert code == 0 and abs(float(out.split("\t")[0]) - float(printed.split()[0])) <= 1e-4, (out, printed)


def test_tied_weights_are_stored_under_both_names_and_float16_loads_too(tmp_path, capsys):
    from safetensors.numpy import load_file

    from rnnkit.lm.io import load_lm

    model_path = _train_lm(tmp_path, capsys, "--cell", "lstm", "--embed", "8", "--hidden", "8", "--tie")
    out = tmp_path / "lm16.safetensors"
    ns, _ = _export_torch(capsys, model_path, out, "--dtype", "float16")
    stored = load_file(str(out))
    assert np.array_equal(stored["decoder.weight"], stored["embedding.weight"])
    assert {a.dtype for a in stored.values()} == {np.dtype(np.float16)}
    assert set(stored) == set(ns["model"].state_dict())
    code, _, err = run_cli(capsys, ["export", str(model_path), "-o", str(tmp_path / "m16.safetensors"), "--dtype",
                                    "float16"])
    assert code == 0, err
    lm16, vocab, _, _ = load_lm(tmp_path / "m16.safetensors")  # rnnkit's float16 export: the same rounded weights
    ids = np.random.default_rng(2).integers(0, len(vocab), (7, 2))
    with torch.no_grad():
        logp, _ = ns["model"](torch.from_numpy(ids))
    last, _ = lm16.step_log_probs(ids, None)
    assert np.abs(logp.numpy()[-1] - last).max() <= 1e-5
    lm32, _, _, _ = load_lm(model_path)
    full, _ = lm32.step_log_probs(ids, None)
    assert 0 < np.abs(full - last).max() < 1e-2


@pytest.mark.parametrize("pooling,cell,direction", [("max", "lstm", []), ("mean", "gru", ["--unidirectional"]),
                                                    ("last", "lstm", []), ("last", "rnn", ["--unidirectional"]),
                                                    ("attention", "gru", []),
                                                    ("attention", "lstm", ["--unidirectional"])])
def test_a_classifier_in_torch_gives_rnnkits_class_probabilities(tmp_path, capsys, pooling, cell, direction):
    from rnnkit.classify.task import load_classifier, pad_batch

    _, lines = _text(tmp_path)
    tsv = tmp_path / "train.tsv"
    tsv.write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tsv), "--pooling", pooling, "--cell", cell,
                                    *direction, "--layers", "2", "--embed", "5", "--hidden", "6", "--batch-size", "8",
                                    *FAST, "--run-dir", str(run)])
    assert code == 0, err
    ns, printed = _export_torch(capsys, run, tmp_path / "cls.safetensors")
    assert printed.strip() in ("neg", "pos")
    model, encoder, _ = load_classifier(run / "best.safetensors" if (run / "best.safetensors").exists()
                                        else run / "last.safetensors")
    ids, lengths = pad_batch(encoder.encode(lines[:6]))  # (T, B), unequal lengths
    assert len(set(lengths.tolist())) > 1
    with torch.no_grad():
        logp = ns["model"](torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()  # (B, K)
    assert np.abs(logp - np.log(model.predict_proba(ids, lengths))).max() <= 1e-5
    if pooling == "attention":  # and the module's weights are rnnkit's
        probs, weights = model.attention(ids, lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(ns["model"].embedding(torch.from_numpy(ids)),
                                                         torch.from_numpy(lengths), enforce_sorted=False)
        with torch.no_grad():
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(ns["model"].rnn(packed)[0], total_length=ids.shape[0])
            _, a = ns["model"].attention(out, torch.from_numpy(np.arange(ids.shape[0])[:, None] < lengths[None, :]))
        assert np.abs(a.numpy() - weights).max() <= 1e-5


@pytest.mark.parametrize("cell,direction", [("lstm", []), ("gru", ["--unidirectional"])])
def test_a_softmax_tagger_in_torch_gives_rnnkits_tag_log_probabilities(tmp_path, capsys, cell, direction):
    from rnnkit.nn.softmax import log_softmax
    from rnnkit.tagging.io import load_tagger
    from rnnkit.tagging.task import TaggerBatch

    _, lines = _text(tmp_path)
    conllu = tmp_path / "tags.conllu"
    tag = {w: ("DET" if w in ("the", "a") else "VERB" if w in ("sat", "ran", "saw") else "NOUN") for w in WORDS}
    conllu.write_text("".join("".join(f"{i}\t{w}\t{w}\t{tag[w]}\t_\t_\t0\tdep\t_\t_\n"
                                      for i, w in enumerate(x.split(), 1)) + "\n" for x in lines), encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), "--cell", cell, *direction, "--layers",
                                    "2", "--embed", "5", "--hidden", "6", *FAST, "--run-dir", str(run)])
    assert code == 0, err
    ns, printed = _export_torch(capsys, run, tmp_path / "tagger.safetensors")
    shown = ast.literal_eval(printed.strip())  # the example's words' tags
    model, encoder, _ = load_tagger(run / "last.safetensors")
    sentences = [x.split() for x in lines[:5]]
    lengths = np.array([len(s) for s in sentences])
    assert len(set(lengths.tolist())) > 1
    ids = np.zeros((lengths.max(), len(sentences)), np.int64)  # (T, B), padded with 0
    for b, s in enumerate(sentences):
        ids[: len(s), b] = encoder.words.encode(s)
    scores, _ = model.scores(TaggerBatch(ids, lengths))  # (T, B, K)
    want = log_softmax(scores.astype(np.float64))
    with torch.no_grad():
        got = ns["model"](torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()  # (T, B, K)
    real = np.arange(ids.shape[0])[:, None] < lengths  # (T, B)
    assert np.abs(got - want)[real].max() <= 1e-5
    assert len(shown) == 3 and set(shown) <= set(encoder.tags)


def test_what_torch_has_no_module_for_is_refused_in_one_line(tmp_path, capsys):
    text, _ = _text(tmp_path)
    run = tmp_path / "class"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(text), "--softmax", "class", "--embed", "4",
                                    "--hidden", "4", "--bptt", "6", "--batch-size", "4", *FAST, "--run-dir", str(run)])
    assert code == 0, err
    conllu = tmp_path / "tags.conllu"
    conllu.write_text("".join(f"1\t{w}\t{w}\t{'DET' if w in ('the', 'a') else 'NOUN'}\t_\t_\t0\tdep\t_\t_\n\n"
                              for w in WORDS), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), "--crf", "--char-features", "--embed",
                                    "4", "--hidden", "4", *FAST, "--run-dir", str(tmp_path / "tagger")])
    assert code == 0, err
    for source, needle in [(run, "is a language model with the class-based softmax (--softmax class), which has no"),
                           (tmp_path / "tagger", "is a tagger with a CRF output layer and character features, which")]:
        out_path = tmp_path / "t.safetensors"
        code, out, err = run_cli(capsys, ["export", str(source), "-o", str(out_path), "--torch"])
        assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, err
        # --onnx builds both: the line says so
        assert "export it with --onnx instead, or without either" in err and "damaged" not in err, err
        assert not out_path.exists()


def test_rnnkit_names_the_torch_file_when_given_one(tmp_path, capsys):
    model_path = _train_lm(tmp_path, capsys, "--embed", "4", "--hidden", "4")
    out_path = tmp_path / "lm.safetensors"
    _export_torch(capsys, model_path, out_path)
    for argv in (["generate", str(out_path)], ["export", str(out_path), "-o", str(tmp_path / "x.safetensors")]):
        code, _, err = run_cli(capsys, argv)
        assert code == 2 and "a PyTorch state dict that 'rnnkit export --torch' wrote" in err and err.count("\n") == 1
    with pytest.raises(ckpt.CheckpointError):
        ckpt.load_meta(out_path)


def test_the_example_of_a_chinese_character_model_reads_its_own_characters(tmp_path, capsys):
    from rnnkit.lm.io import load_lm

    poems = tmp_path / "poems.txt"
    poems.write_text("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n" * 20, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(poems), "--level", "char", "--embed", "6",
                                    "--hidden", "6", "--bptt", "8", "--batch-size", "2", *FAST,
                                    "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    ns, printed = _export_torch(capsys, tmp_path / "run", tmp_path / "诗.safetensors")
    lm, vocab, _, _ = load_lm(tmp_path / "run" / "last.safetensors")
    assert ns["text"][0] == ns["text"][-1] == "\n" and len(ns["text"]) == 6
    assert all(t in vocab.tokens[1:] for t in ns["text"])
    ids = [vocab.token_id(t) for t in ns["text"]]
    lp, _ = lm.token_log_probs(np.array(ids[:-1])[:, None], np.array(ids[1:])[:, None])
    assert abs(float(printed.split()[0]) - lp.sum()) <= 1e-4


# lowercase, full-width forms, whitespace other than a space (U+3000), a combining accent, 。, truncation, nothing
TEXTS = ["ＧＯＯＤ很好看电影ＡＢＣ", "Bad 无\u3000聊ＸＹＺ。", "Cafe\u0301 ｏｋ ＯＫ", "好", "", "Ⅻ ﬁne ＤＯＧ dog Dog 很 好"]


def _written_out(ns, fold_width):
    """The printed code's fold_width gives rnnkit's on every character of the Basic Multilingual Plane."""
    every = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)
    assert ns["fold_width"](every) == fold_width(every)


@pytest.mark.parametrize("level", ["char", "word"])
def test_the_torch_code_prepares_a_classifiers_text_as_rnnkit_does(tmp_path, capsys, level):
    from rnnkit.classify.task import load_classifier
    from rnnkit.data.segmentation import fold_width

    tsv = tmp_path / "train.tsv"
    rows = [("正面", "很好 ＡＢＣ 看 Good ok"), ("负面", "很差 ｘｙ Bad 无聊 dog"), ("正面", "好看 ＯＫ 吧 good"),
            ("负面", "难看 ＸＹ bad 糟糕 ＤＯＧ")] * 6
    tsv.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tsv), "--level", level, "--fold-width",
                                    "--lowercase", "--max-length", "5" if level == "char" else "3", "--embed", "5",
                                    "--hidden", "6", "--batch-size", "8", *FAST, "--run-dir", str(run)])
    assert code == 0, err
    ns, _ = _export_torch(capsys, run, tmp_path / "cls.safetensors")
    model, encoder, _ = load_classifier(run / "last.safetensors")
    _written_out(ns, fold_width)
    for text in TEXTS:
        tokens = ns["tokens"](text)
        assert tokens == encoder.tokenize(text), text
        x = torch.tensor([[ns["ids"].get(t, ns["ids"]["<unk>"])] for t in tokens])  # (T, 1)
        with torch.no_grad():
            got = ns["model"](x, torch.tensor([len(tokens)])).exp().numpy()[0]  # (K,)
        ids = encoder.encode([text])[0][:, None]  # (T, 1)
        want = model.predict_proba(ids, np.array([len(ids)]))[0]
        assert np.abs(got - want).max() <= 1e-5, (text, got, want)
    assert max(len(t) if level == "char" else len(t.split()) for t in TEXTS) > encoder.max_length  # (it cuts)


def test_the_torch_code_reads_a_taggers_words_as_rnnkit_does(tmp_path, capsys):
    from rnnkit.data.segmentation import fold_width
    from rnnkit.tagging.io import load_tagger

    conllu = tmp_path / "tags.conllu"
    sentences = [[("Ｔｈｅ", "DET"), ("ＣＡＴ", "NOUN"), ("sat", "VERB")], [("a", "DET"), ("Dog", "NOUN"), ("ran", "VERB")]]
    conllu.write_text("".join("".join(f"{i}\t{w}\t{w}\t{t}\t_\t_\t0\tdep\t_\t_\n" for i, (w, t) in enumerate(s, 1))
                              + "\n" for s in sentences * 5), encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), "--lowercase", "--fold-width",
                                    "--embed", "4", "--hidden", "4", *FAST, "--run-dir", str(run)])
    assert code == 0, err
    ns, _ = _export_torch(capsys, run, tmp_path / "tagger.safetensors")
    _written_out(ns, fold_width)
    _, encoder, _ = load_tagger(run / "last.safetensors")
    words = "ＴＨＥ cat Ｃａｔ DOG ﬁne Ⅻ ＳＡＴ".split()
    unk = ns["ids"]["<unk>"]
    got = [ns["word_id"](w, ns["ids"], unk) for w in words]
    assert got == encoder.words.encode([encoder.norm(w) for w in encoder.folded([words])[0]]).tolist()
    assert got[:3] == [ns["ids"]["the"], ns["ids"]["cat"], ns["ids"]["cat"]] and got[5] == unk  # Ⅻ: no 1:1 fold


def test_the_torch_code_finds_its_weights_wherever_it_is_run_from_and_beside_it_once_moved(tmp_path, capsys,
                                                                                             monkeypatch):
    model_path = _train_lm(tmp_path, capsys, "--embed", "4", "--hidden", "4")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, ["export", str(model_path), "-o", "out/lm.safetensors", "--torch"])
    assert code == 0, err
    assert repr(str(tmp_path / "out" / "lm.safetensors")) in out  # absolute, not relative to where export ran
    script = tmp_path / "out" / "lm_torch.py"
    script.write_text(out, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for where in (script, tmp_path / "moved" / "lm_torch.py"):
        if where != script:  # the script and the weights moved together; the old folder is gone
            (tmp_path / "out").rename(tmp_path / "moved")
        ns = {"__name__": "__main__", "__file__": str(where)}
        exec(compile(out, str(where), "exec"), ns)
        assert ns["WEIGHTS"] == str(where.with_name("lm.safetensors")) and ns["model"] is not None
    capsys.readouterr()
