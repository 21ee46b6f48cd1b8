"""``rnnkit train hmm --unsupervised``: EM on untagged text from the command line, the log-likelihood it
prints (never falling), restarts, a model that ``tag`` applies and ``evaluate`` scores with the induction
measures, and one clear line for each bad input."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from clirun import run_cli, write_conllu

from rnnkit import hmm_em

# a tiny language: determiner, noun, verb (and an optional second noun phrase)
DETS, NOUNS, VERBS = ["the", "a"], ["dog", "cat", "bird", "fish"], ["sees", "likes", "eats"]


def tagged_sentences(seed=0, n=60):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = [(rng.choice(DETS), "DET"), (rng.choice(NOUNS), "NOUN"), (rng.choice(VERBS), "VERB")]
        if rng.random() < 0.5:
            s += [(rng.choice(DETS), "DET"), (rng.choice(NOUNS), "NOUN")]
        out.append([(str(w), t) for w, t in s])
    return out


def log_likelihoods(err):
    """Each restart's printed log-likelihoods, in order."""
    runs = []
    for line in err.splitlines():
        if line.startswith("restart ") and "/" in line.split()[1]:
            runs.append([])
        found = re.match(r"\s+iteration\s+(\d+)\s+log-likelihood (\S+)", line)
        if found:
            assert int(found.group(1)) == len(runs[-1])
            runs[-1].append(float(found.group(2).replace(",", "")))
    return runs


@pytest.fixture
def files(tmp_path):
    sents = tagged_sentences()
    raw = tmp_path / "raw.txt"
    raw.write_text("".join(" ".join(w for w, _ in s) + "\n" for s in sents) + "\n\n", encoding="utf-8")  # blank lines
    gold = write_conllu(tmp_path / "gold.conllu", sents)
    return raw, gold


def test_train_tag_and_evaluate(tmp_path, capsys, files):
    raw, gold = files
    model = tmp_path / "em.safetensors"
    code, out, err = run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "3", "--train", str(raw),
                                      "--format", "raw", "--iterations", "40", "--tol", "0", "--restarts", "2",
                                      "--output", str(model)])
    assert code == 0, err
    assert "train: 60 sentences" in err and "3 states" in err and f"model saved: {model}" in err
    runs = log_likelihoods(err)
    assert [len(r) for r in runs] == [41, 41]
    for r in runs:  # printed with 2 decimals: never lower than the one before, up to that rounding
        assert all(b >= a - 0.01 for a, b in zip(r, r[1:])), r
        assert r[-1] > r[0]
    assert f"best: restart {int(np.argmax([r[-1] for r in runs])) + 1} (seed" in err
    assert "warning" not in err

    # tag: the states as tags, an unknown word ("zebra") too
    text = tmp_path / "new.txt"
    text.write_text("the zebra sees a dog\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["tag", str(model), str(text)])
    assert code == 0, err
    tokens = out.split()
    assert [t.rsplit("/", 1)[0] for t in tokens] == ["the", "zebra", "sees", "a", "dog"]
    states = [t.rsplit("/", 1)[1] for t in tokens]
    assert all(re.fullmatch(r"S[012]", s) for s in states) and states[0] == states[3]  # "the", "a": one state

    # evaluate against gold tags: with 3 states on this language, the states are the tags
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(gold)])
    assert code == 0, err
    assert "many-to-one 100.00%, one-to-one 100.00%, V-measure 100.00" in out
    assert re.search(r"^\s+S\d\s+\d+\s+(DET|NOUN|VERB) 100\.0%", out, flags=re.M)
    code, out, _ = run_cli(capsys, ["evaluate", str(model), str(gold), "--json"])
    m = json.loads(out)
    assert m["many_to_one"] == m["one_to_one"] == 1.0 and sorted(m["many_to_one_map"].values()) == ["DET", "NOUN",
                                                                                                    "VERB"]

    # tag --format conllu: the states go into MISC, the gold UPOS stays
    code, out, err = run_cli(capsys, ["tag", str(model), str(gold), "--format", "conllu"])
    assert code == 0, err
    first = next(line for line in out.splitlines() if line.startswith("1\t")).split("\t")
    assert first[3] == "DET" and re.fullmatch(r"Tag=S[012]", first[9]) and "unsupervised HMM" in err


def test_conllu_tags_are_not_read_and_restarts_reproduce(tmp_path, capsys, files):
    raw, gold = files
    sents = tagged_sentences()
    other = write_conllu(tmp_path / "other.conllu", [[(w, "X") for w, _ in s] for s in sents])  # other tags
    histories = []
    for path, fmt in ((gold, "conllu"), (other, "conllu"), (raw, "raw")):
        code, _, err = run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "4", "--train", str(path),
                                        "--format", fmt, "--iterations", "10", "--seed", "5", "--restarts", "2",
                                        "--output", str(tmp_path / f"{fmt}.safetensors")])
        assert code == 0, err
        histories.append(log_likelihoods(err))
    assert histories[0] == histories[1] == histories[2]  # the words alone, whatever their tags or format
    # restart 2 of --seed 5 is --seed 6 alone
    code, _, err = run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "4", "--train", str(raw), "--format",
                                    "raw", "--iterations", "10", "--seed", "6", "--output", str(tmp_path / "m.st")])
    assert code == 0 and log_likelihoods(err) == [histories[0][1]]


def test_test_option_scores_the_states(tmp_path, capsys, files):
    _, gold = files
    code, out, err = run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "3", "--train", str(gold),
                                      "--test", str(gold), "--output", str(tmp_path / "m.safetensors"),
                                      "--iterations", "30"])
    assert code == 0, err
    assert out.startswith("test: many-to-one ") and "one-to-one" in out and "V-measure" in out
    assert "training scores" not in err  # scoring induced tags on their own text is the usual practice


def test_chinese_words(tmp_path, capsys):
    raw = tmp_path / "zh.txt"
    raw.write_text("我们 喜欢 北京 。\n老师 在 大学 工作 。\n他 喜欢 大学 。\n" * 5,
                   encoding="utf-8")
    model = tmp_path / "zh.safetensors"
    code, _, err = run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "3", "--train", str(raw),
                                    "--format", "raw", "--output", str(model), "--iterations", "5"])
    assert code == 0, err
    text = tmp_path / "in.txt"
    text.write_text("老师 喜欢 上海 。\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["tag", str(model), str(text)])
    assert code == 0 and out.startswith("老师/S") and "上海/S" in out, err


BAD = [
    (["--states", "1"], "argument --states"),
    (["--iterations", "-1"], "argument --iterations"),
    ([], "--unsupervised needs --states K"),
    (["--states", "3", "--order", "3"], "--order has no effect with --unsupervised"),
    (["--states", "3", "--valid", "{gold}"], "--valid has no effect with --unsupervised"),
    (["--states", "3", "--scheme", "bio"], "--scheme has no effect with --unsupervised"),
    (["--states", "3", "--format", "segmented"], "--format segmented reads characters"),
    (["--states", "3", "--format", "raw", "--test", "{gold}"], "--format raw has no gold tags"),
    (["--states", "3", "--format", "raw", "--tag-column", "xpos"], "--tag-column has no effect with --format raw"),
    (["--states", "3", "--train", "{gold}", "--format", "raw"], "looks like CoNLL-U"),
    (["--states", "3", "--train", "{empty}", "--format", "raw"], "no words to learn from"),
    (["--states", "3", "--train", "{blank}", "--format", "raw"], "no words to learn from"),
    (["--states", "3", "--train", "{empty}"], "empty"),
    (["--states", "100000", "--format", "raw"], "--states small enough for the memory free (1.0 GB), got 100,000"),
]


@pytest.mark.parametrize("extra, needle", BAD)
def test_bad_input_is_one_line(tmp_path, capsys, files, monkeypatch, extra, needle):
    raw, gold = files
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blank.txt").write_text("\n  \n\n", encoding="utf-8")
    monkeypatch.setattr(hmm_em, "available_memory", lambda: 10**9)
    names = {"gold": str(gold), "empty": str(tmp_path / "empty.txt"), "blank": str(tmp_path / "blank.txt")}
    extra = [x.format(**names) for x in extra]
    argv = ["train", "hmm", "--unsupervised", "--output", str(tmp_path / "m.safetensors")]
    argv += [] if "--train" in extra else ["--train", str(raw)]
    code, out, err = run_cli(capsys, argv + extra)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert err.startswith("rnnkit: error:") or err.startswith("rnnkit train hmm: error:")
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("extra, needle", [
    (["--states", "3"], "--states has no effect without --unsupervised"),
    (["--seed", "3"], "--seed has no effect without --unsupervised"),
    (["--format", "raw"], "--format raw is text without tags"),
])
def test_em_options_need_unsupervised(tmp_path, capsys, files, extra, needle):
    raw, gold = files
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(gold), "--output", str(tmp_path / "m.st")] + extra)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_evaluate_options_by_kind_of_hmm(tmp_path, capsys, files):
    raw, gold = files
    em, sup = tmp_path / "em.safetensors", tmp_path / "sup.safetensors"
    assert run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "3", "--train", str(gold), "--output",
                            str(em), "--iterations", "5"])[0] == 0
    assert run_cli(capsys, ["train", "hmm", "--train", str(gold), "--output", str(sup)])[0] == 0
    code, _, err = run_cli(capsys, ["evaluate", str(sup), str(gold), "--tag-column", "xpos"])
    assert code == 2 and "--tag-column has no effect for" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, ["evaluate", str(em), str(gold), "--errors", str(tmp_path / "e.txt")])
    assert code == 2 and "--errors has no effect for" in err and "unsupervised HMM" in err
    # another gold column: XPOS (here every XPOS is "_": one gold tag, so homogeneity 1)
    code, out, err = run_cli(capsys, ["evaluate", str(em), str(gold), "--tag-column", "xpos"])
    assert code == 0 and "1 gold tags" in out and "homogeneity 100.00" in out, err
    # a column file of gold tags, for a model trained on CoNLL-U
    cols = tmp_path / "gold.txt"
    cols.write_text("".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in tagged_sentences(1, 10)),
                    encoding="utf-8")
    code, out, err = run_cli(capsys, ["evaluate", str(em), str(cols), "--format", "columns"])
    assert code == 0 and "3 gold tags" in out, err


def test_a_falling_log_likelihood_is_warned_about_as_a_bug(capsys):
    from rnnkit.cli.hmm_em import _Progress

    progress = _Progress(n_words=100, seeds=[0], max_iter=5, tol=0.0)
    for t, ll in enumerate([-500.0, -400.0, -400.0 - 1e-9, -401.0, -300.0]):  # a rounding wobble, then a real fall
        progress(0, t, ll)
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("rnnkit: warning:")]
    assert len(warnings) == 1 and "iteration 3 lowered the log-likelihood by 1" in warnings[0] and "bug" in warnings[0]
    assert progress.falls == 1


def test_evaluate_splits_known_and_unknown_words(tmp_path, capsys, files):
    raw, _ = files
    model = tmp_path / "em.safetensors"
    assert run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "3", "--train", str(raw), "--format", "raw",
                            "--output", str(model), "--iterations", "30"])[0] == 0
    gold = write_conllu(tmp_path / "new.conllu", [[("the", "DET"), ("zebra", "NOUN"), ("sees", "VERB")],
                                                  [("a", "DET"), ("dog", "NOUN"), ("naps", "VERB")]])
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(gold)])
    assert code == 0, err
    assert re.search(r"on known words [\d.]+%, on unknown words [\d.]+%; 33\.33% of the tokens unknown", out), out
    from rnnkit.checkpoint import load_checkpoint

    arrays, _ = load_checkpoint(model)  # the tables as arrays, not JSON in the header
    assert sorted(arrays) == ["model/hmm.emissions", "model/hmm.end", "model/hmm.start", "model/hmm.state_counts",
                              "model/hmm.transitions"]
    assert arrays["model/hmm.emissions"].shape == (len(DETS + NOUNS + VERBS), 3)
