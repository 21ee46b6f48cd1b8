"""``rnnkit train seq2seq --copy`` end to end (rnnkit.seq2seq.copy): a toy task whose targets must hold a source
word never seen in training (a name), which a copy model gets right and a plain one cannot; ``translate`` (greedy
and beam) printing the names, ``--replace-unk`` beside it, ``evaluate``, ``info``, ``--resume`` and the exports
(``--onnx`` builds it, ``--torch`` refuses it)."""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_cli import one_error_line, write

from rnnkit.cli.main import main
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import translate

VERBS = {"ruft": "calls", "sieht": "sees", "mag": "likes", "kennt": "knows"}
LETTERS = list("abcdefghijklmnopqrstuvwxyz")


def names_corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """'VERB NAME heute' -> 'today VERB' NAME .': each name six random letters, so (nearly) every one is new."""
    rng = np.random.default_rng(seed)
    names = ["".join(rng.choice(LETTERS, 6)) for _ in range(n)]
    verbs = [sorted(VERBS)[i] for i in rng.integers(len(VERBS), size=n)]
    return [f"{v} {m} heute" for v, m in zip(verbs, names)], [f"today {VERBS[v]} {m} ." for v, m in zip(verbs, names)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("copy")
    corpora = {"train": names_corpus(300, 0), "valid": names_corpus(20, 1), "test": names_corpus(40, 2)}
    files = {k: write(d / f"{k}.tsv", [f"{s}\t{t}" for s, t in zip(*pairs)]) for k, pairs in corpora.items()}
    files["test_src"], files["test_refs"] = write(d / "test.src", corpora["test"][0]), corpora["test"][1]
    models = {}
    for name, extra in (("plain", []), ("copy", ["--copy"])):
        # --min-count 2: the names, each seen once, are <unk> on both sides; the test's were never seen at all
        code = main(["train", "seq2seq", "--train", files["train"], "--valid", files["valid"], "--min-count", "2",
                     "--embed", "16", "--hidden", "32", "--epochs", "8", "--lr", "0.01", "--dropout", "0", "--seed",
                     "0", "--bleu-sentences", "0", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir",
                     str(d / name), *extra])
        assert code == 0
        models[name] = str(d / name / "best.safetensors")
    return d, files, models


def _exact(translator, files, **kw) -> float:
    src = [line.rstrip("\n") for line in open(files["test_src"], encoding="utf-8")]
    out = translate(translator, src, max_len=8, **kw)
    return float(np.mean([t[0].text == r for t, r in zip(out, files["test_refs"])]))


def test_copy_gets_the_names_right_and_a_plain_model_cannot(runs):
    _, files, models = runs
    copy, plain = (load_translator(models[k]) for k in ("copy", "plain"))
    assert copy.model.config.copy and not plain.model.config.copy
    with_copy, without = _exact(copy, files), _exact(plain, files)
    assert with_copy >= 0.8, f"exact match with --copy {with_copy:.2f}"
    assert without <= 0.05, f"exact match without --copy {without:.2f}"  # it has no way to write a new name
    assert _exact(copy, files, beam_size=3) >= 0.8


def test_translate_prints_the_copied_names(runs, capsys):
    d, files, models = runs
    lines = ["mag Zorro heute", "", "kennt R2D2 heute"]
    given = write(d / "in.txt", lines)
    capsys.readouterr()
    for beam in ("1", "3"):
        assert main(["translate", models["copy"], given, "--beam", beam]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[1] == "" and "Zorro" in out[0] and "R2D2" in out[2], out
    # --replace-unk beside --copy: only the <unk> a copy model still writes is replaced; the names are there already
    assert main(["translate", models["copy"], given, "--replace-unk"]) == 0
    assert "Zorro" in capsys.readouterr().out


def test_evaluate_info_resume_and_exports(runs, capsys, tmp_path):
    d, files, models = runs
    capsys.readouterr()
    assert main(["evaluate", models["copy"], files["test"]]) == 0
    assert "exact match" in capsys.readouterr().out
    assert main(["info", models["copy"]]) == 0
    assert "copy attention" in capsys.readouterr().out
    assert main(["export", models["copy"], "-o", str(tmp_path / "m.onnx"), "--onnx"]) == 0
    assert 'fixed["src_ext"]' in capsys.readouterr().out  # tests/test_export_onnx_copy.py runs it
    code = main(["export", models["copy"], "-o", str(tmp_path / "m.pt"), "--torch"])
    one_error_line(capsys, code, "--torch", "no standard torch module", "export it with --onnx instead")
    resume = ["train", "seq2seq", "--train", files["train"], "--valid", files["valid"], "--min-count", "2", "--embed",
              "16", "--hidden", "32", "--epochs", "9", "--lr", "0.01", "--dropout", "0", "--seed", "0",
              "--bleu-sentences", "0", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(d / "copy"),
              "--resume"]
    assert main(resume) == 2  # the run had --copy: resuming without it is refused
    assert "seq2seq_config.copy: True then, False now" in capsys.readouterr().err.splitlines()[-1]


def test_copy_needs_attention(runs, capsys):
    _, files, _ = runs
    code = main(["train", "seq2seq", "--train", files["train"], "--copy", "--attention", "none", "--progress", "none"])
    one_error_line(capsys, code, "--copy", "--attention none")


def test_validation_bleu_prints_the_copied_names(runs):
    """The task's greedy validation decodes extended ids, and detokenize(ids, oovs) writes them as the names."""
    pytest.importorskip("sacrebleu")
    from rnnkit.data.parallel import SentencePair
    from rnnkit.seq2seq.copy import decode_extended, encode_copy_pairs, source_extension
    from rnnkit.seq2seq.task import Seq2SeqTask

    _, files, models = runs
    tr = load_translator(models["copy"])
    src, refs = names_corpus(20, 5)
    pairs = [SentencePair(s.split(), r.split(), s, r, i + 1) for i, (s, r) in enumerate(zip(src, refs))]
    triples = encode_copy_pairs(pairs, tr.source_vocab, tr.target_vocab)
    task = Seq2SeqTask(tr.model, triples, triples, valid_references=refs, bleu_sentences=20,
                       detokenize=lambda ids, oovs: " ".join(decode_extended(ids, tr.target_vocab, oovs)),
                       valid_oovs=[source_extension(p.source, tr.target_vocab)[1] for p in pairs])
    metrics = task.evaluate()
    assert metrics["exact"] >= 0.8 and metrics["bleu"] >= 80, metrics


def test_unknown_input_warning_says_a_copy_model_can_still_copy(runs, capsys):
    d, _, models = runs
    given = write(d / "other.txt", ["qq ww ee rr tt", "yy uu ii oo pp"])  # every token unknown to both models
    capsys.readouterr()
    for name, says in (("copy", True), ("plain", False)):
        assert main(["translate", models[name], given]) == 0
        err = capsys.readouterr().err
        assert "are unknown to the model" in err, err
        assert ("copy attention can still copy them" in err) == says, err



def test_a_copy_models_attention_weights_need_no_extended_ids(runs):
    """--replace-unk and --plot-attention read a copy model's teacher-forced attention (attention_weights), which
    needs no extended ids: it gives the weights rather than refusing for a missing src_ext (the Multi30k --copy
    benchmark's --replace-unk scoring was refused so)."""
    _, _, models = runs
    model = load_translator(models["copy"]).model
    src, lengths, tgt_in = np.array([[4, 5], [6, 7], [8, 0]]), np.array([3, 2]), np.array([[1, 1], [9, 10 ** 6]])
    weights = model.attention_weights(src, lengths, tgt_in)  # an extended id fed back reads as <unk>
    assert weights.shape == (2, 2, 3) and np.allclose(weights.sum(axis=2), 1) and (weights[:, 1, 2] == 0).all()
