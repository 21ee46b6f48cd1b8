"""`train lm --valid/--test` with a file mostly unknown to the vocabulary (a CoNLL-U file, its ID, LEMMA and
FEATS columns read as words) warns as `evaluate` does that the perplexity says little (it said only its OOV
rate on an info line)."""
from __future__ import annotations

from clirun import run_cli


def test_train_lm_warns_that_a_mostly_unknown_valid_and_test_file_says_little(tmp_path, capsys):
    train = tmp_path / "train.txt"
    train.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 30, encoding="utf-8")
    conllu = tmp_path / "dev.conllu"
    conllu.write_text("".join(f"{i}\t{w}\t{w}\tNOUN\tNN\tNumber=Sing\t0\troot\t_\t_\n"
                              for i, w in enumerate(["the", "cat", "sat"], 1)) * 4 + "\n", encoding="utf-8")
    plain = tmp_path / "valid.txt"  # text of the training kind: no warning
    plain.write_text("the cat sat on the log\nthe dog sat on the mat\n" * 4, encoding="utf-8")
    common = ["train", "lm", "--train", str(train), "--epochs", "1", "--embed", "4", "--hidden", "4", "--bptt", "4",
              "--batch-size", "2", "--eval-batch-size", "2", "--test-batch-size", "2", "--progress", "none"]
    code, _, err = run_cli(capsys, [*common, "--valid", str(conllu), "--test", str(conllu),
                                    "--run-dir", str(tmp_path / "a")])
    assert code == 0, err
    says = "vocabulary and are scored as <unk>, so the perplexity says little"
    warned = f"rnnkit: warning: {conllu}: 72.7% of its 132 tokens are not in the training text's {says}"
    assert err.count(warned) == 2, err
    code, _, err = run_cli(capsys, [*common, "--valid", str(plain), "--test", str(plain),
                                    "--run-dir", str(tmp_path / "b")])
    assert code == 0 and "says little" not in err, err
