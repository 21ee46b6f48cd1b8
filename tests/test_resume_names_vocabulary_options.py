"""``--resume`` with another --min-count or --max-vocab named only what they change (the vocabulary, the
validation data's fingerprint: as if the --valid file had changed), never the option; --lowercase was
named by its config field alone; and ``--char-encoder bilstm`` onto a CNN run also listed the --char-embed
default that differs per encoder, which the user never gave."""
from __future__ import annotations

from clirun import run_cli, write_conllu

FAST = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]


def _lm(tmp_path, capsys) -> list[str]:
    lines = [f"the cat sees a dog rare{i}" for i in range(20)]
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["train", "lm", "--train", str(tmp_path / "t.txt"), "--valid", str(tmp_path / "t.txt"), "--level",
            "word", "--bptt", "4", *FAST, "--run-dir", str(tmp_path / "lm")]
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    return argv


def test_lm_resume_with_another_min_count_names_it_first(tmp_path, capsys):
    argv = _lm(tmp_path, capsys)
    code, _, err = run_cli(capsys, argv + ["--resume", "--min-count", "2"])
    assert code == 2 and "other training options (--min-count 1 then, 2 now; " in err, err
    assert "validation data encoded differently (the same --valid file)" in err, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--max-vocab", "5"])
    assert code == 2 and "(--max-vocab none then, 5 now; validation data encoded differently" in err, err


def test_another_valid_file_is_still_said_as_other_validation_data(tmp_path, capsys):
    argv = _lm(tmp_path, capsys)
    (tmp_path / "v.txt").write_text("the cat sees a dog\n" * 10, encoding="utf-8")
    code, _, err = run_cli(capsys, argv + ["--resume", "--valid", str(tmp_path / "v.txt")])
    assert code == 2 and "encoded differently" not in err and "--min-count" not in err, err
    assert "validation data " in err and " then, " in err, err


def test_tagger_min_count_lowercase_and_char_encoder_are_named(tmp_path, capsys):
    sents = [[(f"Word{i}", "X"), ("the", "D"), ("cat", "N")] for i in range(12)]
    train = write_conllu(tmp_path / "t.conllu", sents, xpos="XP")  # an XPOS column of two tags (for --tag-column)
    train.write_text(train.read_text(encoding="utf-8").replace("\tX\tXP\t", "\tX\tXX\t"), encoding="utf-8")
    argv = ["train", "tagger", "--train", str(train), "--valid", str(train), *FAST, "--char-features",
            "--char-encoder", "cnn", "--run-dir", str(tmp_path / "tg")]
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--min-count", "2"])
    assert code == 2 and "(--min-count 1 then, 2 now; validation data encoded differently" in err, err
    code, _, err = run_cli(capsys, [*argv, "--resume", "--tag-column", "xpos"])  # the tags, not the vocabulary
    assert code == 2 and "encoded differently (the same --valid file); data.tag_column: " in err, err
    assert "vocabulary changed" not in err, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--lowercase"])
    assert code == 2 and "--lowercase (encoder.lowercase): False then, True now" in err, err
    code, _, err = run_cli(capsys, [*argv[:-4], "--char-encoder", "bilstm", *argv[-2:], "--resume"])
    assert code == 2 and "--char-encoder (tagger_config.char_encoder)" in err and "--char-embed" not in err, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--char-embed", "7"])
    assert code == 2 and "--char-embed (tagger_config.char_embedding_dim): 30 then, 7 now" in err, err


def test_a_classifier_held_out_part_that_changed_is_other_validation_data(tmp_path, capsys):
    """Without --valid (no file, so no file fingerprint) another --valid-fraction holds out other sentences:
    other validation data, not the same data 'encoded differently'."""
    words = "good bad fine awful nice poor great dull".split()
    lines = [f"{i % 2}\t{' '.join(words[(i * k) % 8] for k in range(1, 6))}" for i in range(60)]
    (tmp_path / "c.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["train", "classifier", "--train", str(tmp_path / "c.tsv"), *FAST, "--run-dir", str(tmp_path / "cl")]
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--valid-fraction", "0.2"])
    assert code == 2 and "validation data " in err and " then, " in err and "encoded differently" not in err, err


def test_a_checkpoint_from_before_the_vocabulary_options_resumes():
    """Its run options lack --min-count, --max-vocab and the --valid file's fingerprint: nothing to compare, so
    nothing refused; its validation data, when it differs, is said as before."""
    from rnnkit.train.digest import VALID_FILE, resume_problem

    old = {"run_options": {"--batch-size": 20, "validation data": "a" * 64}}
    now = {"--batch-size": 20, "validation data": "a" * 64, "--min-count": 2, "--max-vocab": None, VALID_FILE: "b" * 64}
    assert resume_problem(old, {}, {}, None, now) is None
    said = resume_problem(old, {}, {}, None, {**now, "validation data": "c" * 64})
    assert "(validation data aaaaaaaaaaaa then, cccccccccccc now)" in said, said


def test_seq2seq_resume_names_min_count_and_max_vocab_as_options(tmp_path, capsys):
    """train seq2seq keeps them in its task description, which named them as its fields (min_count: 1 then, 2 now)."""
    pairs = ["a b c\tx y z", "b c\ty z", "a c\tx z", "c a b\tz x y"] * 3
    (tmp_path / "p.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    argv = ["train", "seq2seq", "--train", str(tmp_path / "p.tsv"), *FAST, "--run-dir", str(tmp_path / "s2s")]
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--min-count", "2"])  # every token kept: the option alone
    assert code == 2 and "other data or options (--min-count (min_count) 1 then, 2 now); " in err, err
    code, _, err = run_cli(capsys, argv + ["--resume", "--max-vocab", "6"])  # the option first: the cause
    assert code == 2 and "other data or options (--max-vocab (max_vocab) none then, 6 now; seq2seq_config" in err, err
