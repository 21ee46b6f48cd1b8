"""``--format slash``: word/TAG text (the People's Daily / PKU format), read, written back and trained on."""
from __future__ import annotations

import re

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.data.slash import format_slash, parse_slash, read_slash, tagged_tokens
from rnnkit.errors import DataError
from rnnkit.tagging.io import DataSpec, TaggingData, format_predictions, read_tagged

SMALL = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--dropout", "0.1", "--progress", "none",
         "--checkpoint-minutes", "0"]
EN = {"DT": ["the", "a", "this"], "JJ": ["big", "red", "old"], "NN": ["cat", "dog", "house"], "VBZ": ["sees", "has"]}
ZH = {"r": ["我们", "他们"], "v": ["迈向", "充满", "走向"], "a": ["新", "美好"], "n": ["世纪", "希望", "未来"]}


def _sentences(lexicon: dict, pattern: list, n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    return [[(lexicon[t][int(rng.integers(len(lexicon[t])))], t) for t in pattern] for _ in range(n)]


def _write(path, sentences, separator=" "):
    path.write_text("".join(separator.join(f"{w}/{t}" for w, t in s) + "\n" for s in sentences), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- reader and writer
def test_round_trip_gives_the_same_bytes(tmp_path):
    text = ("\ufeff迈向/v  充满/v  希望/n  的/u  新/a  世纪/n\r\n\n  \n"
            "The/DT\tdog/NN\u3000barks/VBZ  \n\n中国/ns 1/2/m\n\n")
    path = tmp_path / "pd.txt"
    path.write_bytes(text.encode("utf-8"))
    sentences = read_slash(path)
    assert [s.words for s in sentences] == [["迈向", "充满", "希望", "的", "新", "世纪"], ["The", "dog", "barks"],
                                            ["中国", "1/2"]]
    assert [s.tags for s in sentences] == [["v", "v", "n", "u", "a", "n"], ["DT", "NN", "VBZ"], ["ns", "m"]]
    assert [s.line_number for s in sentences] == [1, 4, 6]
    assert format_slash(sentences).encode("utf-8") == text.encode("utf-8")
    # without a final line end too; and predictions replace the tags only
    assert format_slash(parse_slash("a/X  b/Y")) == "a/X  b/Y"
    assert format_slash(parse_slash("a/X  b/Y\n"), [["P", "Q"]]) == "a/P  b/Q\n"
    with pytest.raises(ValueError, match="without '/'"):
        format_slash(parse_slash("a/X\n"), [["P/Q"]])


def test_a_token_splits_at_its_last_slash(tmp_path):
    sentences = parse_slash("1/2/CD and/CC //w http://x.org/NN\n")
    assert sentences[0].words == ["1/2", "and", "/", "http://x.org"]
    assert sentences[0].tags == ["CD", "CC", "w", "NN"]
    path = _write(tmp_path / "a.txt", [[("1/2", "CD"), ("of", "IN")]])
    data = read_tagged(path, DataSpec("slash"))
    assert data.words == [["1/2", "of"]] and data.tags == [["CD", "IN"]]
    assert format_predictions(data, [["X", "Y"]], DataSpec("slash")) == "1/2/X of/Y\n"


PD1998 = "19980101-01-001-002/m  中共中央/nt  总书记/n  、/wu  [国家/n  主席/n]nt  江/nr  泽民/nr\n"


def test_people_s_daily_1998_line_ids_and_bracketed_compounds(tmp_path):
    """The 1998 files' line ID is no word, and a bracketed compound is its words with their own tags (they
    were read as the word '19980101-01-001-002', the word '[国家' and the tag 'n]nt'); both stay in the text
    written back."""
    path = tmp_path / "pd.txt"
    path.write_text(PD1998 + "\n19980101-01-001-003/m  \n19980101-01-001-004/m  新年/t  好/a\n", encoding="utf-8")
    data = read_tagged(path, DataSpec("slash"))
    assert data.words == [["中共中央", "总书记", "、", "国家", "主席", "江", "泽民"], ["新年", "好"]]  # an ID alone: none
    assert data.tags == [["nt", "n", "wu", "n", "n", "nr", "nr"], ["t", "a"]]
    assert format_slash(read_slash(path)) == path.read_text(encoding="utf-8")
    predicted = [["A", "B", "C", "D", "E", "F", "G"], ["H", "I"]]
    assert format_predictions(data, predicted, DataSpec("slash")) == (
        "19980101-01-001-002/m  中共中央/A  总书记/B  、/C  [国家/D  主席/E]nt  江/F  泽民/G\n"
        "\n19980101-01-001-003/m  \n19980101-01-001-004/m  新年/H  好/I\n")


@pytest.mark.parametrize("line, words, tags", [
    ("[[中国/ns 共产党/n]nt 中央/n]nt 好/a", ["中国", "共产党", "中央", "好"], ["ns", "n", "n", "a"]),  # nested
    ("[[a/n]nt]nz b/v", ["a", "b"], ["n", "v"]),
    ("[/w 好/a ]/w", ["[", "好", "]"], ["w", "a", "w"]),  # brackets as words
    ("[a/n b/n", ["[a", "b"], ["n", "n"]),  # no ']' pairs with it: read as written
    ("a/n b/n]nt", ["a", "b"], ["n", "n]nt"]),
    ("1998/m 19980101-01-001-002/m", ["1998", "19980101-01-001-002"], ["m", "m"]),  # an ID only first
])
def test_brackets_are_compounds_only_when_they_pair_up(line, words, tags):
    sentence = parse_slash(line)[0]
    assert (sentence.words, sentence.tags) == (words, tags)
    assert format_slash([sentence]) == line


@pytest.mark.parametrize("line, token, problem", [("a/DT dog\n", "dog", "has no '/' before a tag"),
                                                  ("a/DT /NN\n", "/NN", "has no word before its last '/'"),
                                                  ("a/DT dog/\n", "dog/", "has no tag after its last '/'"),
                                                  ("a/DT /\n", "/", "has no word")])
def test_a_bad_token_is_named_with_its_file_and_line(tmp_path, line, token, problem):
    path = tmp_path / "bad.txt"
    path.write_text("The/DT dog/NN\n\n" + line, encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_slash(path)
    message = str(exc.value)
    assert message.startswith(f"{path}:3: token {token!r} {problem}") and "--format slash" in message, message
    assert "\n" not in message
    for text, got in (("", "an empty file"), ("\n \n", "no sentences: only 2 blank lines")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DataError, match=f"expected word/TAG sentences .*got {got}"):
            read_slash(path)


def test_tagged_tokens_tells_slash_text_from_segmented_text():
    assert tagged_tokens([["迈向/v", "充满/v", "希望/n"], ["The/DT", "dog/NN", ",/,"]]) == ["迈向/v", "充满/v"]
    assert tagged_tokens([["我们", "在", "2024/05", "访问", "http://x.cn/a"]]) is None
    assert tagged_tokens([]) is None


# ---------------------------------------------------------------------- command line
@pytest.mark.parametrize("lexicon, pattern, separator", [(EN, ["DT", "JJ", "NN", "VBZ", "DT", "NN"], " "),
                                                         (ZH, ["r", "v", "a", "n"], "  ")])
def test_train_tagger_evaluate_and_tag(tmp_path, capsys, lexicon, pattern, separator):
    train = _write(tmp_path / "train.txt", _sentences(lexicon, pattern, 40), separator)
    valid = _write(tmp_path / "valid.txt", _sentences(lexicon, pattern, 10, seed=1), separator)
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--valid", str(valid), "--test",
                                      str(valid), "--format", "slash", "--epochs", "3", "--lr", "0.05",
                                      "--run-dir", str(run), *SMALL])
    assert code == 0, err
    acc = float(re.search(r"test: token accuracy ([\d.]+)%", out).group(1))
    assert acc > 90, out
    model = str(run / "best.safetensors")
    code, out, err = run_cli(capsys, ["evaluate", model, str(valid)])
    assert code == 0 and f"token accuracy {acc:.2f}%" in out, out + err
    # tag --format slash: the same text, its tags replaced by the predictions (here all right)
    code, out, err = run_cli(capsys, ["tag", model, str(valid), "--format", "slash"])
    assert code == 0 and err == "" and out == valid.read_text(encoding="utf-8"), err
    # tag's raw output (word/TAG) reads back with --format slash; raw reading of slash text is warned about
    raw = tmp_path / "raw.txt"
    raw.write_text("".join(" ".join(t.rsplit("/", 1)[0] for t in line.split()) + "\n"
                           for line in valid.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    code, tagged, err = run_cli(capsys, ["tag", model, str(raw)])
    assert code == 0 and tagged == valid.read_text(encoding="utf-8").replace(separator, " "), err
    (tmp_path / "tagged.txt").write_text(tagged, encoding="utf-8")
    code, out, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "tagged.txt")])
    assert code == 0 and "token accuracy 100.00%" in out, err
    code, out, err = run_cli(capsys, ["tag", model, str(valid)])
    assert code == 0 and "look like word/TAG pairs" in err and "give --format slash to tag its words" in err, err


def test_train_hmm_with_a_span_scheme(tmp_path, capsys):
    sentences = [[("John", "B-PER"), ("Smith", "I-PER"), ("lives", "O"), ("in", "O"), ("Paris", "B-LOC")],
                 [("Mary", "B-PER"), ("went", "O"), ("to", "O"), ("New", "B-LOC"), ("York", "I-LOC")]] * 5
    train = _write(tmp_path / "ner.txt", sentences)
    model = tmp_path / "hmm.safetensors"
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "slash", "--scheme", "bio",
                                      "--valid", str(train), "--output", str(model)])
    assert code == 0 and "valid: spans precision 100.00% recall 100.00% F1 100.00" in out, out + err
    code, out, err = run_cli(capsys, ["tag", str(model), str(train), "--format", "slash"])
    assert code == 0 and out == train.read_text(encoding="utf-8"), err
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "slash", "--tag-column", "1",
                                      "--output", str(model)])
    assert code == 2 and "--tag-column: slash text has no tag column" in err, err


def test_bad_token_stops_training_at_its_line(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_text("The/DT dog/NN\nA/DT cat\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", str(path), "--format", "slash",
                                      "--output", str(tmp_path / "m.safetensors")])
    assert code == 2 and err.startswith(f"rnnkit: error: {path}:2: token 'cat' has no '/'"), err
    assert err.count("\n") == 1, err


def test_segmented_file_of_word_tag_pairs_is_warned_about(tmp_path, capsys):
    path = _write(tmp_path / "pd.txt", _sentences(ZH, ["r", "v", "a", "n"], 6), "  ")
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", str(path), "--format", "segmented",
                                      "--output", str(tmp_path / "seg.safetensors")])
    first = next(t for t in path.read_text(encoding="utf-8").split())
    assert code == 0 and (f"rnnkit: warning: {path}: its tokens look like word/TAG pairs ({first!r}, " in err
                          and "...): give --format slash to train on the tags\n" in err), err
    segmented = tmp_path / "seg.txt"
    segmented.write_text("我们  迈向  新  世纪\n他们  走向  美好  未来\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["train", "hmm", "--train", str(segmented), "--format", "segmented",
                                      "--output", str(tmp_path / "seg.safetensors")])
    assert code == 0 and "word/TAG" not in err, err


def test_block_of_slash_data_writes_its_part(tmp_path):
    sentences = parse_slash("a/X\n\nb/Y c/Z\n\n")
    data = TaggingData([s.words for s in sentences], [s.tags for s in sentences], None, sentences)
    spec = DataSpec("slash")
    whole = format_predictions(data, data.tags, spec)
    parts = "".join(format_predictions(data.block(k, k + 1), data.tags[k:k + 1], spec) for k in range(2))
    assert whole == parts == "a/X\n\nb/Y c/Z\n\n"
