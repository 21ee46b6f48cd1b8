"""The BPE model of ``train lm --level bpe`` and of a ``train seq2seq`` side at level bpe comes from one
function (:func:`rnnkit.cli.seq2seq_bpe.resumed_or_learned`): the resumed run's, whose size must match, else
learned now; each says so on stderr in its own words (the text, or the side)."""
from __future__ import annotations

import pytest

pytest.importorskip("sentencepiece")

from rnnkit.cli.seq2seq_bpe import resumed_or_learned  # noqa: E402
from rnnkit.lm.bpe_text import learn  # noqa: E402

TEXT = "".join(f"the {w} sat on the mat near {w}s\n" for w in ("cat", "dog", "bird", "fish", "frog", "hare"))


@pytest.mark.parametrize("side, part, whose, of", [(None, "text", "", "train.txt"),
                                                   ("source", "source side", "source side's ", "the source side")])
def test_resumed_or_learned_says_which_text_it_is_of(capsys, side, part, whose, of):
    model, learned = resumed_or_learned(None, 30, "--bpe-vocab", lambda: learn(TEXT, 30), side, "train.txt")
    assert learned and f"bpe: learned a 30-piece model of {of} in " in capsys.readouterr().err
    assert resumed_or_learned(model, 30, "--bpe-vocab", lambda: b"", side, "train.txt") == (model, False)
    assert f"bpe: the {whose}30-piece model of the resumed run\n" == capsys.readouterr().err
    with pytest.raises(ValueError, match=f"^--resume: this run's {part} was split by a BPE model of 30 pieces, and "
                                         "--x asks for 31; resume with --x 30, or start a new run without --resume$"):
        resumed_or_learned(model, 31, "--x", lambda: b"", side)
    with pytest.raises(ValueError, match="--x"):  # a size the text cannot fill, said as the option that set it
        resumed_or_learned(None, 100_000, "--x", lambda: learn(TEXT, 100_000), side)
