"""rnnkit tag on sentences an HMM gives probability 0, and the output forms around them: slash text's IDs,
[compounds] and blank lines with --probs, --nbest and --spans; CoNLL-U's stale TagProb; --nbest's notes."""
from __future__ import annotations


import pytest

from clirun import run_cli
from rnnkit.data.conll import format_conllu, parse_conllu
from rnnkit.data.slash import parse_slash
from rnnkit.tagging.loaded import LoadedTagger

# the People's Daily lines of the walk: every sentence starts v/nt/w and ends w/nr, so an order-3 model's
# deleted interpolation gives the unigram no weight and "新 世纪" (BOS -> a, n -> EOS never seen) is impossible
PD = ("19980101-01-001-001/m  迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w  一九九八年/t  新年/t  讲话/n  "
      "（/w  附/v  图片/n  １/m  张/q  ）/w  \n"
      "19980101-01-001-002/m  中共中央/nt  总书记/n  、/w  [国家/n  主席/n]nt  江/nr  泽民/nr  \n"
      "19980101-01-001-003/m  （/w  一九九七年/t  十二月/t  三十一日/t  ）/w  \n")
WARNED = "probability 0 under the model"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zero")
    train = tmp / "pd_train.txt"
    train.write_text(PD * 30, encoding="utf-8")
    out = {}
    for order in (2, 3):
        out[order] = tmp / f"pdh{order}.safetensors"
        code, _, err = run_cli_plain(["train", "hmm", "--train", str(train), "--format", "slash", "--order",
                                      str(order), "--output", str(out[order])])
        assert code == 0, err
        out[f"err{order}"] = err
    return out


def run_cli_plain(argv):
    import contextlib
    import io

    from rnnkit.cli.main import main

    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main(argv)
    return code, o.getvalue(), e.getvalue()


def _tag(capsys, monkeypatch, argv, text):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))
    return run_cli(capsys, ["tag", *map(str, argv)])


def test_train_warns_when_the_unigram_gets_no_weight(models):
    assert "deleted interpolation gave the tag unigram no weight (l1 = 0," in models["err3"]
    assert "--order 2 or more varied data" in models["err3"]
    assert "deleted interpolation" not in models["err2"]  # order 2 on the same data: l1 > 0, no warning
    assert LoadedTagger(models[3]).model.lambdas_[0] == 0 < LoadedTagger(models[2]).model.lambdas_[0]


def test_order_2_is_advised_only_when_it_would_give_the_unigram_weight():
    """Alternating B E tags: an order-2 model of the same counts gives the unigram no weight either."""
    from rnnkit.cli.tagging import lower_orders_note
    from rnnkit.hmm import HMMTagger

    sentences = [["a", "b", "c", "d"], ["e", "f"], ["a", "b", "e", "f", "c", "d"]] * 5
    tags = [["B", "E", "B", "E"], ["B", "E"], ["B", "E", "B", "E", "B", "E"]] * 5
    note = lower_orders_note(HMMTagger(order=3).fit(sentences, tags), "t.txt")
    assert note.startswith("t.txt: deleted interpolation gave the tag unigram no weight (l1 = 0,")
    assert note.endswith("train with more varied data") and "--order 2" not in note
    assert HMMTagger(order=2).fit(sentences, tags).lambdas_[0] == 0


def test_a_sentence_of_probability_zero_is_warned_of_and_never_printed_as_nan(models, capsys, monkeypatch):
    text = "的 新 世纪\n新 世纪\n"  # line 2 has probability 0 (BOS -> a and n -> EOS never seen)
    loaded = LoadedTagger(models[3])
    zero = [i + 1 for i, s in enumerate(text.splitlines()) if loaded.model.log_likelihood(s.split()) == -float("inf")]
    assert 2 in zero and loaded.model.nbest(["新", "世纪"], 2) == []
    code, out, err = _tag(capsys, monkeypatch, [models[3]], text)
    assert code == 0 and out.splitlines()[1] == "新/a 世纪/n"
    assert err.count(WARNED) == 1 and f"line{'s' * (len(zero) > 1)} {', '.join(map(str, zero))}" in err
    assert "fallback guess, the path with the fewest impossible steps" in err
    code, out, err = _tag(capsys, monkeypatch, [models[3], "--probs"], text)
    assert "nan" not in out and out.splitlines()[1] == "新/a/- 世纪/n/-" and "written as '-'" in err
    code, out, err = _tag(capsys, monkeypatch, [models[3], "--nbest", "2"], text)
    blocks = out.split("\n\n")
    assert "nan" not in out and blocks[1] == "1\t-\t新/a 世纪/n" and err.count(WARNED) == 1
    assert loaded.nbest("新 世纪", 2) == []  # the library: no sequence is possible, as HMMTagger.nbest
    code, out, err = _tag(capsys, monkeypatch, [models[2], "--probs"], text)  # possible under order 2: no warning
    assert code == 0 and err == "" and "/-" not in out


def test_slash_probs_keep_ids_compounds_and_spaces(models, tmp_path, capsys):
    path = tmp_path / "pd.txt"
    path.write_text(PD, encoding="utf-8")
    code, out, _ = run_cli(capsys, ["tag", str(models[2]), str(path), "--format", "slash", "--probs"])
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("19980101-01-001-002/m  中共中央/nt/1.0000  总书记/n/")
    assert "  [国家/n/1.0000  主席/n/1.0000]nt  " in lines[1] and len(lines) == 3


def test_slash_nbest_gives_one_block_per_input_line(models, tmp_path, capsys):
    path = tmp_path / "pdid.txt"
    path.write_text("19980101-01-001-004/m  \n\n新/a  世纪/n\n\n", encoding="utf-8")
    from rnnkit.data.slash import lines_around  # new with one block per input line

    sentence = parse_slash(path.read_text(encoding="utf-8"))[0]
    assert lines_around(sentence) == (2, 1)
    code, out, _ = run_cli(capsys, ["tag", str(models[2]), str(path), "--format", "slash", "--nbest", "1"])
    assert code == 0 and out.split("\n\n")[:4] == ["1\t1\t", "1\t1\t", "1\t1\t新/a 世纪/n", "1\t1\t"]
    raw = tmp_path / "raw.txt"
    raw.write_text("\n\n新 世纪\n\n", encoding="utf-8")
    assert run_cli(capsys, ["tag", str(models[2]), str(raw), "--nbest", "1"])[1] == out  # as raw text's


def test_conllu_drops_a_stale_tag_prob():
    text = "1\tI\t_\t_\t_\t_\t_\t_\t_\tTag=X|Foo=1|TagProb=0.9931\n2\tsee\t_\t_\t_\t_\t_\t_\t_\tTagProb=0.5\n\n"
    sents = parse_conllu(text)
    assert format_conllu(sents, [["PRON", "VERB"]], "misc").splitlines()[:2] == [
        "1\tI\t_\t_\t_\t_\t_\t_\t_\tTag=PRON|Foo=1", "2\tsee\t_\t_\t_\t_\t_\t_\t_\tTag=VERB"]
    assert format_conllu(sents, [["PRON", "VERB"]], "upos").splitlines()[1] == "2\tsee\t_\tVERB\t_\t_\t_\t_\t_\t_"
    assert format_conllu(sents, [["PRON", "VERB"]], "misc", [["0.1", "0.2"]]).splitlines()[:2] == [
        "1\tI\t_\t_\t_\t_\t_\t_\t_\tTag=PRON|Foo=1|TagProb=0.1", "2\tsee\t_\t_\t_\t_\t_\t_\t_\tTag=VERB|TagProb=0.2"]


def test_conllu_nbest_says_nothing_of_misc(models, tmp_path, capsys):
    path = tmp_path / "in.conllu"
    path.write_text("1\t新\t_\t_\t_\t_\t_\t_\t_\t_\n2\t世纪\t_\t_\t_\t_\t_\t_\t_\t_\n\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["tag", str(models[2]), str(path), "--format", "conllu"])
    assert code == 0 and "MISC column" in err
    code, out, err = run_cli(capsys, ["tag", str(models[2]), str(path), "--format", "conllu", "--nbest", "1"])
    assert code == 0 and "MISC" not in err and out == "1\t1\t新/a 世纪/n\n\n"


def test_one_warning_for_all_the_blocks_of_a_long_input(models, capsys, monkeypatch):
    """The output is written 10,000 lines at a time; the sentences of probability 0 are told once, after it."""
    from rnnkit.cli.tag import BLOCK

    code, out, err = _tag(capsys, monkeypatch, [models[3]], "新 世纪\n" * (BLOCK + 5))
    assert code == 0 and len(out.splitlines()) == BLOCK + 5
    assert err.count(WARNED) == 1 and f"lines 1, 2, 3, 4, 5 and {BLOCK:,} more have {WARNED}" in err, err


def test_evaluate_names_a_gold_sentence_of_probability_zero(models, tmp_path, capsys):
    """As tag names it: evaluate scored it on the fallback guess without a word."""
    gold = tmp_path / "gold.txt"
    gold.write_text(PD.split("\n")[1] + "\n新/a 世纪/n\n", encoding="utf-8")  # line 2: BOS -> a, n -> EOS never seen
    code, out, err = run_cli(capsys, ["evaluate", str(models[3]), str(gold)])
    assert code == 0 and out.startswith(f"{gold}: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert f"gold.txt: 1 of the 2 sentences (line 2) has {WARNED}: no tag path can produce it" in err, err
    assert "its tags are a fallback guess" in err and err.rstrip().endswith("; it is scored as predicted"), err
    code, out, err = run_cli(capsys, ["evaluate", str(models[2]), str(gold)])  # possible under order 2
    assert code == 0 and err == "", err
