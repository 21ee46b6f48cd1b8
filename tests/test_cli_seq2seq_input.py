"""What the seq2seq commands make of the files and options they are given: TSV columns, a missing
sacrebleu, input the model cannot read, translations written as they are done, and the messages that
point to the option to fix."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from clirun import run_cli, write

import rnnkit.cli.translate as translate_cli

WORDS = {"ein": "a", "rot": "red", "hund": "dog", "katze": "cat", "groß": "big", "läuft": "runs"}


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    keys = sorted(WORDS)
    src, tgt = [], []
    for _ in range(n):
        words = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(2, 5))]
        src.append(" ".join(words))
        tgt.append(" ".join(WORDS[w] for w in reversed(words)))
    return src, tgt


SMALL = ["--embed", "8", "--hidden", "16", "--progress", "none", "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs")
    src, tgt = corpus(80, 0)
    return {"dir": d, "src": write(d / "train.de", src), "tgt": write(d / "train.en", tgt),
            "tsv3": write(d / "train3.tsv", [f"{i}\t{s}\t{t}" for i, (s, t) in enumerate(zip(src, tgt))]),
            "tsv": write(d / "train.tsv", [f"{s}\t{t}" for s, t in zip(src, tgt)])}


@pytest.fixture(scope="module")
def model(data):
    from rnnkit.cli.main import main

    run = data["dir"] / "run"
    assert main(["train", "seq2seq", "--train", data["src"], data["tgt"], "--epochs", "2", "--run-dir", str(run),
                 *SMALL]) == 0
    return str(run / "last.safetensors")


def test_a_tsv_of_three_columns_needs_columns(data, tmp_path, capsys):
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["tsv3"], "--run-dir", str(tmp_path / "a"),
                                    *SMALL])
    assert code == 2 and "train3.tsv:1: 3 tab-separated fields" in err and "--columns" in err
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["tsv3"], "--columns", "1,2", "--max-steps",
                                    "2", "--run-dir", str(tmp_path / "b"), *SMALL])
    assert code == 0, err
    from rnnkit.seq2seq.io import load_translator

    tr = load_translator(str(tmp_path / "b" / "last.safetensors"))
    assert "hund" in tr.source_vocab and "dog" in tr.target_vocab and "0" not in tr.source_vocab


def test_evaluate_reads_the_columns_asked_for(data, model, capsys):
    pytest.importorskip("sacrebleu")
    code, _, err = run_cli(capsys, ["evaluate", model, data["tsv3"]])
    assert code == 2 and "--columns" in err
    code, out, _ = run_cli(capsys, ["evaluate", model, data["tsv3"], "--columns", "1,2", "--json"])
    assert code == 0 and '"sentences": 80' in out
    _, plain, _ = run_cli(capsys, ["evaluate", model, data["tsv"], "--json"])
    assert plain == out  # the same pairs as the two-column file
    code, _, err = run_cli(capsys, ["evaluate", model, data["src"], "--ref", data["tgt"], "--columns", "0,1"])
    assert code == 2 and "leave --columns out" in err
    code, _, err = run_cli(capsys, ["evaluate", model, data["src"]])  # --ref forgotten
    assert code == 2 and "give its reference translations with --ref FILE" in err


def test_without_sacrebleu_validation_is_refused_before_the_run_folder_is_cleared(data, tmp_path, capsys,
                                                                                   monkeypatch):
    def missing(name):
        raise ImportError("BLEU and chrF need sacrebleu: pip install 'rnnkit[translate]'")

    monkeypatch.setattr("rnnkit.metrics.translation.check_bleu_tokenize", missing)
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.safetensors").write_bytes(b"an earlier run's checkpoint")
    valid = shutil.copy(data["tsv"], tmp_path / "valid.tsv")  # not the training file, which is warned about
    train = ["train", "seq2seq", "--train", data["tsv"], "--valid", str(valid), "--run-dir", str(run), *SMALL]
    for extra, words in (([], "--bleu-sentences 0 for the validation loss alone"),
                         (["--select-by", "bleu"], "need sacrebleu")):
        code, _, err = run_cli(capsys, train + extra)
        assert code == 2 and words in err and err.count("\n") == 1
        assert (run / "last.safetensors").read_bytes() == b"an earlier run's checkpoint"
    code, _, err = run_cli(capsys, train + ["--bleu-sentences", "0", "--max-steps", "1"])
    assert code == 0, err


def test_translations_are_written_batch_group_by_group(data, model, tmp_path, capsys, monkeypatch):
    src, _ = corpus(9, 5)
    path = write(tmp_path / "in.de", src)
    _, whole, _ = run_cli(capsys, ["translate", model, path, "--beam", "2", "--nbest", "2"])
    writes = []
    real_write = translate_cli.sys.stdout.write
    monkeypatch.setattr(translate_cli, "CHUNK_BATCHES", 1)
    monkeypatch.setattr(translate_cli.sys.stdout, "write", lambda text: (writes.append(text), real_write(text))[1])
    code, out, _ = run_cli(capsys, ["translate", model, path, "--beam", "2", "--nbest", "2", "--batch-size", "2"])
    assert code == 0 and out == whole  # the indices count on across groups: 0 ... 8
    assert len(writes) == 5 and [line.split(" ||| ")[0] for line in out.splitlines()][::2] == [str(i) for i in range(9)]


def test_input_the_model_does_not_know_is_named(model, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Das ist ein Test , oder nicht ?\n"))
    code, out, err = run_cli(capsys, ["translate", model])
    assert code == 0 and out.count("\n") == 1
    assert "7 of its 8 tokens (88%" in err and "'Das'" in err and "unknown to the model" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("ein hund läuft\n"))
    assert "unknown" not in run_cli(capsys, ["translate", model])[2]
    monkeypatch.setattr("sys.stdin", io.StringIO("Hallo Welt\n"))  # short, but not one word known
    assert "2 of its 2 tokens (100%" in run_cli(capsys, ["translate", model])[2]
    monkeypatch.setattr("sys.stdin", io.StringIO("ein Welt\n"))  # short, one word of two unknown: no warning
    assert "unknown" not in run_cli(capsys, ["translate", model])[2]


def test_a_pairs_file_or_unsegmented_chinese_given_to_translate_is_named(data, model, capsys, monkeypatch):
    """A source<TAB>reference file was translated line by line, reference included; raw Chinese given to a
    word-level model got at most the generic unknown-token warning (none for a short line)."""
    import io

    code, _, err = run_cli(capsys, ["translate", model, data["tsv"]])
    assert code == 0 and "80 of its 80 lines hold a tab, as a source<TAB>reference file does" in err, err
    assert "'cut -f1 FILE | rnnkit translate MODEL'" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("他喜欢熊猫。\n我是学生。\n"))
    code, _, err = run_cli(capsys, ["translate", model])
    assert code == 0 and "the text looks unsegmented" in err and "rnnkit segment SEGMENTER FILE" in err, err
    monkeypatch.setattr("sys.stdin", io.StringIO("ein hund läuft\n"))
    err = run_cli(capsys, ["translate", model])[2]
    assert "unsegmented" not in err and "hold a tab" not in err, err


def test_fewer_nbest_translations_than_asked_are_warned(model, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("ein hund\n"))
    code, out, err = run_cli(capsys, ["translate", model, "--beam", "20", "--nbest", "20", "--max-len", "1"])
    assert code == 0 and out.count("\n") < 20 and "got fewer than --nbest 20 translations" in err


def test_messages_name_the_option_to_fix(data, tmp_path, capsys):
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["tsv"], "--min-count", "1000",
                                    "--run-dir", str(tmp_path / "a"), *SMALL])
    assert code == 2 and "--min-count 1000 leaves no source token" in err
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["tsv"], "--valid", data["src"],
                                    "--bleu-sentences", "0", "--run-dir", str(tmp_path / "b"), *SMALL])
    assert code == 2 and "--valid takes SRC TGT (two files parallel by line) or one TSV file" in err
    run = ["train", "seq2seq", "--train", data["tsv"], "--run-dir", str(tmp_path / "c"), *SMALL]
    assert run_cli(capsys, run + ["--max-steps", "1"])[0] == 0
    code, _, err = run_cli(capsys, run + ["--max-steps", "2", "--resume", "--max-length", "3"])
    assert code == 2 and "--max-length (max_length) none then, 3 now" in err


def test_evaluate_reads_a_tsv_with_the_trained_columns_and_warns_of_an_unknown_source(data, tmp_path, capsys):
    """A model trained the other way round (--columns 1,0) was scored on the TSV's first column as source:
    BLEU 0.00, silently; so was a source in the other language."""
    run = tmp_path / "rev"
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["tsv"], "--columns", "1,0", "--epochs", "1",
                                    "--run-dir", str(run), *SMALL])
    assert code == 0, err
    model = str(run / "last.safetensors")
    code, out, err = run_cli(capsys, ["evaluate", model, data["tsv"], "--json"])
    assert code == 0 and "unknown to the model" not in err, err  # en -> de, as trained
    code, _, err = run_cli(capsys, ["evaluate", model, data["tsv"], "--columns", "0,1"])
    assert code == 0 and "train.tsv: " in err and "are unknown to the model" in err, err
    code, _, err = run_cli(capsys, ["evaluate", model, data["src"], "--ref", data["tgt"]])  # German into en -> de
    assert code == 0 and "train.de: " in err and "are unknown to the model" in err, err


ZH = {"我": "I", "你": "you", "爱": "love", "看": "see", "猫": "cats", "狗": "dogs"}


def test_each_side_has_its_own_level(tmp_path, capsys):
    """Unsegmented Chinese into English words: --source-level char reads the source a character at a
    time while the target stays words (one --level made English letters or Chinese 'words' of whole
    sentences); the model keeps both, translate and evaluate read with them, and --resume keeps them."""
    from rnnkit.checkpoint import load_meta

    rng = np.random.default_rng(0)
    keys = sorted(ZH)
    pairs = [[keys[i] for i in rng.integers(0, len(keys), size=rng.integers(5, 9))] for _ in range(60)]
    tsv = write(tmp_path / "zh-en.tsv", ["".join(p) + "\t" + " ".join(ZH[c] for c in p) for p in pairs])
    run = tmp_path / "run"
    args = ["train", "seq2seq", "--train", tsv, "--source-level", "char", "--epochs", "1", "--run-dir", str(run),
            *SMALL]
    code, _, err = run_cli(capsys, args)
    assert code == 0 and "warning" not in err and "char / word types" in err, err  # no 'looks unsegmented'
    task = load_meta(run / "last.safetensors")["task"]
    assert task["source_tokenizer"]["level"] == "char" and task["target_tokenizer"]["level"] == "word", task
    assert set(task["source_vocab"]) >= set(ZH) and "love" in task["target_vocab"], task["target_vocab"]
    code, out, err = run_cli(capsys, ["translate", str(run / "last.safetensors"), write(tmp_path / "in.txt", ["我爱猫"])])
    assert code == 0 and "segment" not in err and out.split() and all(w in ZH.values() for w in out.split()), (out, err)
    code, out, err = run_cli(capsys, ["evaluate", str(run / "last.safetensors"), tsv])
    assert code == 0 and "BLEU" in out and "unknown" not in err, (out, err)
    code, _, err = run_cli(capsys, [*args, "--target-level", "word", "--level", "char"])  # --level: no side left
    assert code == 2 and "--level has no effect with both --source-level and --target-level" in err, err
    code, _, err = run_cli(capsys, [*args[:4], "--resume", *args[6:]])  # --source-level left out: word then
    assert code == 2 and "--source-level (source_tokenizer.level): 'char' then, 'word' now" in err, err
    # the target side read as words when it is unsegmented Chinese: warned about, naming the side's option
    back = write(tmp_path / "en-zh.tsv", [" ".join(ZH[c] for c in p) + "\t" + "".join(p) for p in pairs])
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", back, "--epochs", "1", "--max-steps", "1",
                                    "--run-dir", str(tmp_path / "back"), *SMALL])
    warned = [line for line in err.splitlines() if "warning" in line]
    assert code == 0 and len(warned) == 1 and "target side" in warned[0] and "--target-level char" in warned[0], err


def test_a_header_line_is_refused_or_skipped_with_header(data, model, tmp_path, capsys):
    """A first line of column names (source<TAB>target) was trained on and scored as a pair, silently: it is
    refused, naming --header, which skips it in every TSV file (train seq2seq) or DATA (evaluate)."""
    src, tgt = corpus(30, 1)
    headed = write(tmp_path / "headed.tsv", ["source\ttarget", *(f"{s}\t{t}" for s, t in zip(src, tgt))])
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", headed, "--run-dir", str(run), *SMALL])
    assert code == 2 and "headed.tsv:1: the first line ('source'<TAB>'target') looks like a header" in err, err
    assert "--header" in err
    code, out, err = run_cli(capsys, ["train", "seq2seq", "--train", headed, "--valid", headed, "--header",
                                      "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0 and "train: 30 pairs" in out + err, out + err
    from rnnkit.seq2seq.io import load_translator

    assert "source" not in load_translator(str(run / "last.safetensors")).source_vocab
    code, _, err = run_cli(capsys, ["evaluate", model, headed])
    assert code == 2 and "looks like a header" in err, err
    pytest.importorskip("sacrebleu")
    code, out, _ = run_cli(capsys, ["evaluate", model, headed, "--header", "--json"])
    assert code == 0 and '"sentences": 30' in out, out
    code, _, err = run_cli(capsys, ["evaluate", model, data["src"], "--ref", data["tgt"], "--header"])
    assert code == 2 and "--header skips the first line of a TSV file of pairs, and the pairs are two files " \
                          f"parallel by line ({data['src']}, {data['tgt']}): leave --header out" in err, err
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", data["src"], data["tgt"], "--header", "--run-dir",
                                    str(run), *SMALL])
    assert code == 2 and "--header has no effect without a TSV file" in err, err


def test_resume_with_another_header_is_refused_and_a_dropped_pair_is_warned_about(tmp_path, capsys):
    """A run started with --header and resumed without it trained on one pair more, silently (the data's
    fingerprint is of the file's bytes); --header on a file without a header dropped its first pair unsaid."""
    src, tgt = corpus(30, 2)
    plain = write(tmp_path / "plain.tsv", [f"{s}\t{t}" for s, t in zip(src, tgt)])
    run = ["train", "seq2seq", "--train", plain, "--run-dir", str(tmp_path / "run"), "--epochs", "2", *SMALL]
    code, out, err = run_cli(capsys, [*run, "--header", "--max-steps", "1"])
    assert code == 0 and "train: 29 pairs" in out + err, out + err
    assert f"plain.tsv:1: header=True (--header) skips the first line as a header, but it reads as a sentence pair " \
           f"({src[0][:20]!r}<TAB>{tgt[0][:20]!r})" in err, err
    code, out, err = run_cli(capsys, [*run, "--resume"])
    assert code == 2 and "other training options (--header given then, not given now" in err, err
    code, out, err = run_cli(capsys, [*run, "--resume", "--header"])
    assert code == 0 and "resumed from" in out + err, (out, err)


def test_read_pairs_refuses_the_tsv_options_with_two_files_and_train_reads_them_for_its_tsv_files_only(data):
    """read_pairs refuses --columns and --header with two parallel files (they would have no effect); train
    seq2seq's sets pass them on only for a TSV file, so a TSV --train with a parallel --valid takes --header."""
    from rnnkit.cli.seq2seq_data import read_nonempty, read_pairs
    from rnnkit.data.tokenizer import Tokenizer

    tok, two = Tokenizer(), [data["src"], data["tgt"]]
    for kwargs, option in (({"header": True}, "--header"), ({"tsv_columns": (0, 1)}, "--columns")):
        with pytest.raises(ValueError, match=f"are two files parallel by line .*: leave {option} out"):
            read_pairs(two, tok, tok, **kwargs)
    assert read_nonempty("--valid", two, tok, "utf-8", (0, 1), header=True) == read_pairs(two, tok, tok)
    with pytest.warns(UserWarning, match="reads as a sentence pair"):  # the file has no header line
        assert len(read_nonempty("--train", [data["tsv"]], tok, "utf-8", header=True)) == 79  # its first line skipped
