"""The BPE model of ``train lm --level bpe`` and of a ``train seq2seq`` side at level bpe comes from one
function (:func:`rnnkit.cli.bpe_model.resumed_or_learned`): the resumed run's, whose size must match, else
learned now; each says so on stderr naming the text it splits (the file, or the side)."""
from __future__ import annotations

import pytest

from rnnkit.english import a_or_an

TEXT = "".join(f"the {w} sat on the mat near {w}s\n" for w in ("cat", "dog", "bird", "fish", "frog", "hare"))


@pytest.mark.parametrize("of", ["train.txt", "the source side"])
def test_resumed_or_learned_says_which_text_it_is_of(capsys, of):
    pytest.importorskip("sentencepiece")
    from rnnkit.cli.bpe_model import resumed_or_learned
    from rnnkit.lm.bpe_text import learn

    model, learned = resumed_or_learned(None, 30, "--bpe-vocab", lambda: learn(TEXT, 30), of)
    assert learned and f"bpe: learned a 30-piece model of {of} in " in capsys.readouterr().err
    assert resumed_or_learned(model, 30, "--bpe-vocab", lambda: b"", of) == (model, False)
    assert f"bpe: the resumed run's 30-piece model of {of}\n" == capsys.readouterr().err
    with pytest.raises(ValueError, match=f"^--resume: this run's BPE model of {of} has 30 pieces, and "
                                         "--x asks for 31; resume with --x 30, or start a new run without --resume$"):
        resumed_or_learned(model, 31, "--x", lambda: b"", of)
    with pytest.raises(ValueError, match="--x"):  # a size the text cannot fill, said as the option that set it
        resumed_or_learned(None, 100_000, "--x", lambda: learn(TEXT, 100_000), of)


def test_an_8_piece_model_is_learned_with_the_article_of_the_number_read_aloud(capsys):
    from rnnkit.cli.bpe_model import resumed_or_learned

    resumed_or_learned(None, 8, "--bpe-vocab", lambda: b"model", "train.txt")
    assert capsys.readouterr().err.startswith("bpe: learned an 8-piece model of train.txt in "), "an 8"
    ans = [8, 11, 18, 80, 89, 800, 899, 8_000, 11_000, 18_500, 80_000, 800_000, 8_000_000, 11_000_000]
    articles = [1, 2, 10, 12, 30, 700, 100, 110, 180, 1_100, 1_800, 2_008, 111_000, 180_000, 1_000_000]
    assert [n for n in ans if a_or_an(n) != "an"] == []
    assert [n for n in articles if a_or_an(n) != "a"] == []
