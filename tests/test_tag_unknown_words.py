"""`rnnkit tag`'s warning about input in another language counts words only: the punctuation and digits an
English tagger knows hid Chinese text from it (the walk's Chinese input was tagged NUM throughout, silently)."""
from __future__ import annotations

from clirun import run_cli, write_conllu

TINY = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
        "--checkpoint-minutes", "0"]
POS = [[("the", "DET"), ("cat", "NOUN"), ("sees", "VERB"), ("1", "NUM"), ("dog", "NOUN"), (",", "PUNCT"),
        ("2", "NUM"), (".", "PUNCT")]] * 6


def test_chinese_text_among_known_punctuation_and_digits_is_warned_about(tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(write_conllu(tmp_path / "t.conllu", POS)),
                                    "--run-dir", str(run), *TINY])
    assert code == 0, err
    chinese = tmp_path / "zh.txt"  # 48 tokens, 12 of them words: 75% unknown tokens, 100% unknown words
    chinese.write_text("他们 , 1 . 学生 , 2 .\n老师 , 3 . 朋友 , 4 .\n书 , 5 . 猫 , 6 .\n" * 2, encoding="utf-8")
    code, _, err = run_cli(capsys, ["tag", str(run / "last.safetensors"), str(chinese)])
    assert code == 0 and "12 of its 12 words (100%: " in err and "unknown to the model" in err, err
    english = tmp_path / "en.txt"  # ordinary English with a few unseen words among known ones: no warning
    english.write_text("the cat sees 1 dog , 2 .\nthe zebra sees 3 dog .\nthe cat sees 4 lion , 5 .\n",
                       encoding="utf-8")
    code, _, err = run_cli(capsys, ["tag", str(run / "last.safetensors"), str(english)])
    assert code == 0 and "unknown to the model" not in err, err
