"""Reading ARPA files: rnnkit's own export read back gives the model's own log-probabilities (word and
character level), a hand-written file gives the back-off values worked out by hand, and a damaged file
is one DataError naming its line."""
from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
from test_arpa import fitted, random_corpus

from rnnkit.data import Vocabulary
from rnnkit.errors import DataError
from rnnkit.lm import NGramLM
from rnnkit.lm.arpa import save_arpa, write_arpa
from rnnkit.lm.arpa_read import is_arpa, read_arpa
from rnnkit.lm.backoff import BackoffLM
from rnnkit.lm.score import score_tokens

LN10 = math.log(10)

# a trigram model small enough to score by hand: p in log10, weights after the words
TINY = """
\\data\\
ngram 1=6
ngram 2=4
ngram 3=3

\\1-grams:
-1.0\t<unk>\t0
-0.5\t</s>
-99\t<s>\t-0.3
-0.6\ta\t-0.2
-0.7\tb\t-0.1
-0.8\tc

\\2-grams:
-0.3\t<s> a\t-0.15
-0.4\ta b\t-0.25
-0.2\tb </s>
-0.35\ta c

\\3-grams:
-0.1\t<s> a b
-0.05\ta b </s>
-0.02\tc b </s>

\\end\\
"""


def arpa_file(tmp_path, text, name="lm.arpa"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("smoothing", ["kneser_ney", "katz"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_an_exported_model_reads_back_with_its_own_probabilities(tmp_path, smoothing, order):
    model, vocab, rng = fitted(smoothing, order)
    path = tmp_path / "m.arpa.gz"
    save_arpa(path, model, vocab)
    back, vocab2 = read_arpa(path)
    assert isinstance(back, BackoffLM) and isinstance(back, NGramLM)
    assert vocab2 == vocab and back.order == order and back.eos_id_ == vocab.eos_id
    test = [vocab.encode(s + ["<eos>"]) for s in random_corpus(rng, 40)]  # unseen n-grams and <unk> too
    want, got = model.token_logprobs(test), back.token_logprobs(test)
    np.testing.assert_allclose(got, want, rtol=1e-7)  # 8 significant digits of log10 p
    for history in ([], [2], [2, 3], [4, 1, 5, 6]):
        np.testing.assert_allclose(back.distribution(history), model.distribution(history), rtol=1e-6)
    # written again, the file is the same: nothing was lost or added on the way
    again = io.StringIO()
    write_arpa(again, back, vocab2)
    first = io.StringIO()
    write_arpa(first, model, vocab)
    assert again.getvalue() == first.getvalue()


def test_a_character_model_reads_back_with_its_spaces_newlines_and_tabs(tmp_path):
    text = "the cat\tsat\non the mat\n  a dog ran\n"
    vocab = Vocabulary.build(list(text), eos_token=None)
    model = NGramLM(4).fit(vocab.encode(list(text)), len(vocab))
    path = tmp_path / "c.arpa"
    save_arpa(path, model, vocab)
    written = path.read_text(encoding="utf-8")
    assert "<space>" in written and "<U+0009>" in written and "\t</s> o" in written  # a history across lines
    back, vocab2 = read_arpa(path, level="char")
    assert vocab2 == vocab and back.eos_id_ is None  # one stream, as the model was fitted
    test = vocab.encode(list("a cat\tran on\nthe dog\n"))
    np.testing.assert_allclose(back.token_logprobs(test), model.token_logprobs(test), rtol=1e-7)
    lines = ["the cat", " zz "]
    for a, b in zip(score_tokens(back, vocab2, "char", lines), score_tokens(model, vocab, "char", lines)):
        np.testing.assert_allclose(a.logprobs, b.logprobs, rtol=1e-7)


def test_a_character_model_of_one_line_reads_back_as_one_stream(tmp_path):
    # no n-gram runs on after its only newline, the last character: the file itself says the text is one stream
    text = "the cat sat on the mat and a dog ran far\n"
    vocab = Vocabulary.build(list(text), eos_token=None)
    model = NGramLM(3).fit(vocab.encode(list(text)), len(vocab))
    path = tmp_path / "one.arpa"
    save_arpa(path, model, vocab)
    back, vocab2 = read_arpa(path, level="char")
    assert vocab2 == vocab and back.eos_id_ is None
    test = vocab.encode(list("the dog\nsat on\na mat\n"))  # line starts follow a newline, not <s>
    np.testing.assert_allclose(back.token_logprobs(test), model.token_logprobs(test), rtol=1e-7)


def test_comment_lines_before_data_are_read_past_and_may_say_how_to_read_the_text(tmp_path):
    # the lines-model file of the test above, as a stream: the second line's a follows the newline, not <s>
    lines = CHAR_LINES_MODEL
    stream = "# rnnkit: text=stream\n" + lines
    model, vocab = read_arpa(arpa_file(tmp_path, "# made by hand\n\n" + stream, "c.lm"), level="char")
    assert is_arpa(tmp_path / "c.lm") and model.eos_id_ is None
    ids = vocab.encode(list("a a\na\n"))
    want = [-0.1, -0.2, -0.3, -0.1 - 0.5, -0.4, -0.1 - 0.5]  # the second a after </s>: bow(</s>) p(a)
    np.testing.assert_allclose(model.token_logprobs(ids) / LN10, want, rtol=1e-12)
    model, _ = read_arpa(arpa_file(tmp_path, "# rnnkit: text=lines\n" + lines), level="char")
    assert model.eos_id_ == vocab.token_id("\n")
    model, words = read_arpa(arpa_file(tmp_path, stream))  # at word level each line is a sentence all the same
    assert model.eos_id_ == words.eos_id == words.token_id("<eos>")


def test_a_hand_written_file_backs_off_as_worked_out_by_hand(tmp_path):
    model, vocab = read_arpa(arpa_file(tmp_path, TINY))
    assert vocab.tokens == ["<unk>", "<eos>", "a", "b", "c"] and vocab.eos_token == "<eos>"
    cases = {
        # p(a|<s>) listed; p(b|<s> a) listed; p(c|a b) = bow(a b) bow(b) p(c); p(</s>|b c) = bow(c) p(</s>) = p(</s>)
        "a b c": [-0.3, -0.1, -0.25 - 0.1 - 0.8, -0.5],
        # p(c|<s>) = bow(<s>) p(c); p(a|<s> c): nothing listed, p(a); p(b|c a) = p(b|a) listed; p(</s>|a b) listed
        "c a b": [-0.3 - 0.8, -0.6, -0.4, -0.05],
        # an unknown word is <unk>: p(<unk>|<s> a) = bow(<s> a) bow(a) p(<unk>)
        "a zebra": [-0.3, -0.15 - 0.2 - 1.0, -0.5],
        # "c b" is not listed but is the context of "c b </s>": a blank, p(b|c) = bow(c) p(b), weight 1
        "c b": [-0.3 - 0.8, -0.7, -0.02],
    }
    got = score_tokens(model, vocab, "word", list(cases))
    for (line, want), scores in zip(cases.items(), got):
        np.testing.assert_allclose(scores.logprobs / LN10, want, rtol=1e-12, err_msg=line)
    assert not got[2].known[1] and got[2].known[0]


def test_a_file_without_unk_gets_one_as_kenlm_gives_it(tmp_path):
    text = TINY.replace("ngram 1=6", "ngram 1=5").replace("-1.0\t<unk>\t0\n", "")
    with pytest.warns(UserWarning, match="no <unk> among the unigrams.*-100"):
        model, vocab = read_arpa(arpa_file(tmp_path, text))
    assert vocab.tokens[-1] == "<unk>"
    (scores,) = score_tokens(model, vocab, "word", ["a zebra"])
    assert scores.logprobs[1] / LN10 == pytest.approx(-0.15 - 0.2 - 100)


CHAR_LINES_MODEL = """\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1\t<unk>\t0
-0.5\t</s>\t0
-99\t<s>\t-0.5
-0.4\ta\t-0.1
-0.6\t<space>\t0

\\2-grams:
-0.1\t<s> a
-0.2\ta <space>
-0.3\t<space> a

\\end\\
"""


def test_a_character_model_of_lines_starts_each_line_afresh(tmp_path):
    # KenLM's model of "a b" lines: no n-gram runs on after </s>, so every line starts from <s>
    model, vocab = read_arpa(arpa_file(tmp_path, CHAR_LINES_MODEL), level="char")
    assert vocab.eos_token is None and model.eos_id_ == vocab.token_id("\n")
    ids = vocab.encode(list("a a\na\n"))
    want = [-0.1, -0.2, -0.3, -0.1 - 0.5, -0.1, -0.1 - 0.5]  # the second line's a from <s> again
    np.testing.assert_allclose(model.token_logprobs(ids) / LN10, want, rtol=1e-12)


def test_arpa_files_are_told_by_name_or_by_their_first_line(tmp_path):
    assert is_arpa(tmp_path / "absent.arpa.gz")
    assert is_arpa(arpa_file(tmp_path, TINY, "kenlm.lm"))
    assert not is_arpa(arpa_file(tmp_path, "hello\n", "x.lm"))
    assert not is_arpa(tmp_path / "absent.safetensors")


def test_a_byte_order_mark_before_data_is_read_past(tmp_path):
    # Windows editors save UTF-8 with a BOM; the file is the same model, told by name or by content
    plain = read_arpa(arpa_file(tmp_path, TINY))
    for name in ("bom.arpa", "bom.lm"):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + TINY.lstrip().encode("utf-8"))
        assert is_arpa(path)
        model, vocab = read_arpa(path)
        assert vocab == plain[1]
        ids = vocab.encode("a b c </s> a c".split())
        np.testing.assert_array_equal(model.token_logprobs(ids), plain[0].token_logprobs(ids))


BAD = [
    ("", "the file is empty", None),
    ("ngram 1=2\n", "expected \\data\\", 1),
    ("\\data\\\nngram 1=x\n", "expected 'ngram 1=N'", 2),
    ("\\data\\\nngram 2=3\n", "expected 'ngram 1=N'", 2),
    (TINY.replace("ngram 2=4", "ngram 2=5"), "lists 4 n-grams, but the header says ngram 2=5 (line 4)", 21),
    (TINY.replace("ngram 3=3", "ngram 3=2"), "lists 3 n-grams, but the header says ngram 3=2", 26),
    (TINY.replace("-0.4\ta b", "-0.4x\ta b"), "'-0.4x' is not a number (expected a log10 probability)", 17),
    (TINY.replace("a b\t-0.25", "a b\tlow"), "'low' is not a number (expected a log10 back-off weight)", 17),
    (TINY.replace("-0.4\ta b", "0.4\ta b"), "the log10 probability 0.4 is not <= 0", 17),
    (TINY.replace("-0.4\ta b", "nan\ta b"), "the log10 probability nan is not <= 0", 17),
    (TINY.replace("-0.35\ta c", "-0.35\ta d"), "the word 'd' is not among the unigrams", 19),
    (TINY.replace("-0.35\ta c", "-0.35\ta b"), "this 2-gram is listed a second time", 19),
    (TINY.replace("-0.8\tc", "-0.8\tb"), "the unigram 'b' is listed a second time", 13),
    (TINY.replace("-0.05\ta b </s>", "-0.05\ta b </s>\t-0.1"), "expected 4 fields", 23),
    (TINY.replace("-0.2\tb </s>", "-0.2\tb"), "expected 3 or 4 fields", 18),
    (TINY.replace("\\end\\", ""), "expected \\end\\ after the 3-grams", 26),
    (TINY.replace("\\3-grams:", "\\4-grams:"), "expected \\3-grams:", 21),
    (TINY.replace("<s>", "<S>"), "no <s> among the unigrams", None),
    (TINY.replace("</s>", "</S>"), "no </s> among the unigrams", None),
    (TINY.replace("</s>", "</S>"), "a character model is read with level 'char' (--level char)", None),
    (TINY.replace("ngram 1=6", "ngram 1=7").replace("-0.8\tc\n", "-0.8\tc\n-0.9\t<eos>\n"),
     "'</s>' and '<eos>' are both rnnkit's token '<eos>'", None),
]


@pytest.mark.parametrize("text,said,line", BAD)
def test_a_bad_file_is_one_error_naming_its_line(tmp_path, text, said, line):
    path = arpa_file(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_arpa(path)
    message = str(info.value)
    assert said in message and "\n" not in message, message
    assert message.startswith(f"{path}:{line}: " if line else f"{path}: "), message


def test_a_binary_file_is_said_to_be_binary_not_shown_raw(tmp_path):
    """Its bytes were shown as the first line (replacement characters, control bytes) in the message."""
    for data, said in ((b"\xd9\x9e+\xef\x04\x19>\x00\x01 \x02\n\x03",
                        "got binary data (not text): give an ARPA text file"),
                       (b"mmap lm http://kheafield.com/code format version 5\n\x00\x01",
                        "got KenLM's binary format ('mmap lm ...'), which rnnkit does not read")):
        path = tmp_path / "model.arpa"
        path.write_bytes(data)
        with pytest.raises(DataError) as info:
            read_arpa(path)
        message = str(info.value)
        assert message.startswith(f"{path}:1: expected \\data\\") and said in message, message
        assert message.isprintable(), message


def test_damaged_files_load_or_fail_with_a_data_error(tmp_path):
    model, vocab, _ = fitted("kneser_ney", 3)
    buf = io.StringIO()
    write_arpa(buf, model, vocab)
    lines = buf.getvalue().splitlines(keepends=True)
    rng = np.random.default_rng(0)
    failed = 0
    for trial in range(60):
        damaged = list(lines)
        i = int(rng.integers(len(damaged)))
        how = trial % 4
        if how == 0:
            del damaged[i]
        elif how == 1:
            damaged = damaged[:i]
        elif how == 2:
            j = int(rng.integers(max(len(damaged[i]) - 1, 1)))
            damaged[i] = damaged[i][:j] + ("\t", "#", "x")[trial % 3] + damaged[i][j + 1 :]
        else:
            damaged.insert(i, damaged[int(rng.integers(len(damaged)))])
        path = arpa_file(tmp_path, "".join(damaged))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a lost <unk> is warned about
                read_arpa(path)
        except DataError as exc:
            failed += 1
            assert str(exc).startswith(f"{path}:") and "\n" not in str(exc), exc
    assert failed > 30
