"""How score --per-token, generate --next and states write a token: escaped only where it would split the
row or show as nothing, as it is where it shows (a Persian word's zero-width non-joiner, an emoji's joiner)."""
from __future__ import annotations

from clirun import run_cli

from rnnkit.cli.score import token_field

PERSIAN = "می\u200cخواهم"  # "I want": the zero-width non-joiner keeps می from joining خواهم
CODER = "👩\u200d💻"  # one emoji on screen: woman, joiner, laptop


def test_a_token_that_shows_is_written_as_it_is():
    assert token_field(PERSIAN) == PERSIAN and token_field(CODER) == CODER
    assert token_field("a\u200b") == "a\u200b" and token_field("床") == "床"


def test_a_token_that_shows_as_nothing_is_escaped():
    assert token_field("\u200d") == "\\u200d" and token_field("\u3000") == "\\u3000"
    assert token_field("\u200b\u3000") == "\\u200b\\u3000" and token_field(" ") == " "


def test_what_would_split_the_row_is_escaped_everywhere():
    assert token_field("a\tb\nc\rd\\") == "a\\tb\\nc\\rd\\\\"
    assert token_field("x\x1b[2Jy") == "x\\x1b[2Jy" and token_field("a\u2028b") == "a\\u2028b"


def test_score_per_token_writes_a_persian_word_and_an_emoji_as_they_are(tmp_path, capsys):
    """score --per-token wrote می\\u200cخواهم and 👩\\u200d💻: every token with a character Python does
    not print was escaped, though the token showed."""
    text = tmp_path / "fa.txt"
    text.write_text(f"من {PERSIAN} {CODER} باشم\n" * 5, encoding="utf-8")
    model = tmp_path / "fa.safetensors"
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(text), "--order", "2", "--level", "word",
                                    "--save", str(model)])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["score", str(model), str(text), "--per-token"])
    assert code == 0, err
    assert [row.split("\t")[2] for row in out.splitlines()[:4]] == ["من", PERSIAN, CODER, "باشم"], out
    code, out, err = run_cli(capsys, ["generate", str(model), "--prime", "من", "--next", "3"])
    assert code == 0, err
    assert PERSIAN in [row.split("\t")[3] for row in out.splitlines()], out
