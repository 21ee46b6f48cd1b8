"""Attention as numbers from the command line: ``rnnkit translate --attention-out`` (JSON lines) and
``--alignments`` (Pharaoh), their refusals, and the line numbers of ``--plot-attention`` and ``--nbest``.
The library underneath: tests/test_seq2seq_attention.py."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from clirun import refused, run_cli
from test_seq2seq_attention import _train, corpus, write

from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import EMPTY, attention_matrix, translate

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("attn")
    src, tgt = corpus(240, 0)
    test, _ = corpus(10, 2)
    return {"dir": d, "train": (write(d / "train.de", src), write(d / "train.en", tgt)), "test": test,
            # blank lines among the sentences: the JSON's line numbers must still be the input's
            "holed": write(d / "holed.de", ["", test[0], test[1], "  ", test[2], test[3], ""])}


@pytest.fixture(scope="module")
def model(data):
    return _train(data, "run", "--epochs", "8")


@pytest.fixture(scope="module")
def plain(data):
    return _train(data, "plain", "--epochs", "1", "--attention", "none")


def _records(path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_attention_out_writes_the_library_attention_as_json_lines(data, model, tmp_path, capsys):
    out = tmp_path / "attn.jsonl"
    code, stdout, err = run_cli(capsys, ["translate", model, data["holed"], "--attention-out", str(out)])
    assert code == 0, err
    records = _records(out)
    translator = load_translator(model)
    lines = open(data["holed"], encoding="utf-8").read().splitlines()
    assert len(records) == len(lines) == len(stdout.splitlines())  # one object per input (and output) line
    done = translate(translator, lines, return_attention=True)
    for k, (rec, line, ts) in enumerate(zip(records, lines, done), start=1):
        t = ts[0]
        assert (rec["line"], rec["rank"]) == (k, 0)
        source = translator.source_tokenizer.tokenize(line)
        assert rec["source"] == source
        if not source:  # a blank line: nothing decoded
            assert rec["target"] == rec["attention"] == [] and t is EMPTY
            continue
        assert rec["target"] == [*t.tokens, "<eos>"][: len(t.tokens) + t.finished]
        w = np.array(rec["attention"])  # (T, S)
        assert w.shape == (len(rec["target"]), len(source))
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=0.5e-4 * len(source) + 1e-6)
        np.testing.assert_array_equal(w, np.round(t.attention.astype(np.float64), 4))  # greedy: the library's


def test_nbest_attention_and_alignments_follow_the_nbest_rows(data, model, tmp_path, capsys):
    """With --nbest one object (and one Pharaoh line) per n-best row; the row's 0-based index is line - 1;
    the beam's rows are a teacher-forced pass over each hypothesis; compressed by the file's suffix."""
    attn, align = tmp_path / "nbest.jsonl.gz", tmp_path / "nbest.align"
    code, stdout, err = run_cli(capsys, ["translate", model, data["holed"], "--beam", "3", "--nbest", "3",
                                         "--attention-out", str(attn), "--alignments", str(align)])
    assert code == 0, err
    rows = [r.split(" ||| ") for r in stdout.splitlines()]
    records = _records(attn)
    links = align.read_text(encoding="utf-8").split("\n")
    assert links[-1] == "" and len(links) - 1 == len(records) == len(rows)
    translator = load_translator(model)
    lines = open(data["holed"], encoding="utf-8").read().splitlines()
    ranks: dict[int, int] = {}
    for (index, text, _), rec, link in zip(rows, records, links):
        assert rec["line"] == int(index) + 1 and rec["rank"] == ranks.get(rec["line"], 0)
        ranks[rec["line"]] = rec["rank"] + 1
        if not rec["source"]:
            assert link == "" and text == ""
            continue
        t = translate(translator, [lines[rec["line"] - 1]], 3, 3)[0][rec["rank"]]
        assert t.text == text and rec["target"][: len(t.tokens)] == list(t.tokens)
        weights, _, _ = attention_matrix(translator, lines[rec["line"] - 1], t)
        np.testing.assert_allclose(rec["attention"], weights, atol=0.5e-4 + 1e-5)
        # Pharaoh: source i - target j, j over the target tokens without <eos>, i the argmax of the JSON row
        w = np.array(rec["attention"])
        assert link == " ".join(f"{int(np.argmax(w[j]))}-{j}" for j in range(len(t.tokens)))
    assert max(ranks.values()) == 3


def test_attention_files_are_refused_before_translating(data, model, plain, tmp_path, capsys):
    src = data["holed"]
    for option in ("--attention-out", "--alignments"):
        target = tmp_path / "never.txt"
        code, out, err = run_cli(capsys, ["translate", plain, src, option, str(target)])
        assert err == (f"rnnkit: error: {option} reads the decoder's attention, and {plain} was trained with "
                       f"--attention none; leave {option} out or use a model trained with attention\n")
        refused((code, out, err))
        assert not target.exists()
        refused(run_cli(capsys, ["translate", model, src, option, src]), option, "a file this command reads")
        refused(run_cli(capsys, ["translate", model, src, option, str(tmp_path)]), option, "is a folder")
    both = str(tmp_path / "same.txt")
    refused(run_cli(capsys, ["translate", model, src, "--attention-out", both, "--alignments", both]),
            "--attention-out and --alignments both name")
    with pytest.raises(ValueError, match="Expected a model with attention for return_attention=True"):
        translate(load_translator(plain), ["ein hund ."], return_attention=True)
    with pytest.raises(TypeError, match="return_attention"):
        translate(load_translator(model), ["ein hund ."], return_attention="yes")


def test_an_interrupted_run_leaves_no_partial_attention_file(data, model, tmp_path, capsys, monkeypatch):
    """stdout keeps what was translated; the attention files appear whole at the end or not at all."""
    import rnnkit.cli.translate as cli
    import rnnkit.seq2seq.translate as library

    calls = []
    real = library.translate

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "CHUNK_BATCHES", 1)
    monkeypatch.setattr(library, "translate", failing)
    attn, align = tmp_path / "a.jsonl", tmp_path / "a.align"
    code, out, err = run_cli(capsys, ["translate", model, data["holed"], "--batch-size", "2", "--attention-out",
                                      str(attn), "--alignments", str(align)])
    assert code != 0 and "interrupted" in err, (code, err)
    assert len(out.splitlines()) == 2  # the first chunk's two lines
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither file, nor a temporary


def test_plot_attention_counts_lines_from_one(data, model, tmp_path, capsys, monkeypatch):
    """--plot-attention N plots input line N counted from 1 (line 3 of the holed file is test[1]), the
    sentence whose n-best index is 2."""
    pytest.importorskip("matplotlib")  # --plot-attention checks it is there before translating
    import rnnkit.seq2seq.plot as plot

    seen = {}

    def fake_plot(weights, source, target, path, title=None):
        seen.update(source=source, path=path)
        return path

    monkeypatch.setattr(plot, "plot_attention", fake_plot)
    code, _, err = run_cli(capsys, ["translate", model, data["holed"], "--plot-attention", "3", "--plot-dir",
                                    str(tmp_path)])
    assert code == 0, err
    translator = load_translator(model)
    assert seen["source"] == translator.source_tokenizer.tokenize(data["test"][1])
    assert seen["path"].name == "attention_3.png"
