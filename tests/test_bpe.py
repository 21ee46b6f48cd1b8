"""BPE subword units (rnnkit.data.bpe) and the ``bpe`` level of :class:`rnnkit.data.tokenizer.Tokenizer`:
round trips, determinism, Chinese text, storage as base64, and the one-line errors."""
from __future__ import annotations

import sys

import pytest

pytest.importorskip("sentencepiece")

from rnnkit.data import bpe  # noqa: E402
from rnnkit.data.tokenizer import Tokenizer  # noqa: E402

LINES = ["Ein Mann fährt Fahrrad auf der Straße.", "Zwei Hunde spielen im Schnee.",
         "Eine Frau liest ein Buch im Park.", "Ein kleiner Hund läuft über die Wiese.",
         "Drei Kinder spielen Fußball auf der Straße.", "Der Mann und die Frau fahren Fahrrad."] * 4
ZH = ["我们今天去北京，好吗？", "他在学校学习中文。", "今天天气很好，我们去公园吧！", "她喜欢看书和听音乐。"] * 4


def test_detokenize_gives_back_the_text():
    tok = Tokenizer("bpe", bpe_model=bpe.train_bpe(LINES, 80))
    for line in LINES[:6] + ["Ein Hund fährt Fahrrad im Park."]:  # the last one is not a training line
        pieces = tok.tokenize(line)
        assert 1 < len(pieces) < len(line), pieces  # split, yet not only into characters
        assert tok.detokenize(pieces) == line
    assert tok.detokenize(tok.tokenize("  Zwei   Hunde  ")) == "Zwei Hunde"  # whitespace collapsed, like word


def test_chinese_round_trips_with_its_full_width_punctuation():
    tok = Tokenizer("bpe", bpe_model=bpe.train_bpe(ZH, 40))
    for line in ZH[:4]:
        assert tok.detokenize(tok.tokenize(line)) == line  # no NFKC: "，" stays full-width
    assert "，" in "".join(tok.tokenize(ZH[0]))


def test_lowercase_applies_before_the_pieces():
    tok = Tokenizer("bpe", lowercase=True, bpe_model=bpe.train_bpe([s.lower() for s in LINES], 60))
    assert tok.detokenize(tok.tokenize("Zwei Hunde")) == "zwei hunde"


def test_the_same_lines_give_the_same_model_and_other_lines_another():
    first = bpe.train_bpe(LINES, 70)
    assert bpe.train_bpe(list(LINES), 70) == first  # byte for byte
    assert bpe.piece_count(first) == 70
    assert bpe.train_bpe(LINES, 60) != first


def test_the_model_survives_to_dict_and_from_dict_as_base64_text():
    import json

    tok = Tokenizer("bpe", bpe_model=bpe.train_bpe(ZH, 40))
    fields = json.loads(json.dumps(tok.to_dict()))
    assert isinstance(fields["bpe_model"], str)
    back = Tokenizer.from_dict(fields)
    assert back == tok and back.tokenize(ZH[1]) == tok.tokenize(ZH[1])
    assert Tokenizer.from_dict(Tokenizer("punct").to_dict()) == Tokenizer("punct")
    assert "bytes>" in repr(tok) and len(repr(tok)) < 100


def test_a_bpe_level_needs_its_model_and_only_it_has_one():
    with pytest.raises(ValueError, match="bpe_model"):
        Tokenizer("bpe")
    with pytest.raises(ValueError, match="bpe_model"):
        Tokenizer("word", bpe_model=b"x")
    with pytest.raises(TypeError, match="bpe_model"):
        Tokenizer("bpe", bpe_model="not bytes")
    with pytest.raises(ValueError, match="SentencePiece model"):
        Tokenizer("bpe", bpe_model=b"not a model")  # at once, not at the first sentence


@pytest.mark.parametrize("size, says", [(5000, "more pieces than BPE can make of the lines"),
                                        (5, "fewer pieces than the lines has distinct characters")])
def test_a_vocabulary_the_text_cannot_fill_is_one_line(size, says):
    with pytest.raises(ValueError) as info:
        bpe.train_bpe(LINES, size, "the lines")
    message = str(info.value)
    assert says in message and "\n" not in message and "trainer_interface" not in message, message
    assert "give" in message


def test_no_text_and_a_bad_size_are_refused():
    with pytest.raises(ValueError, match="no non-empty line in the lines"):
        bpe.train_bpe(["", "  "], 50, "the lines")
    with pytest.raises(ValueError, match="vocab_size"):
        bpe.train_bpe(LINES, True)


def test_a_missing_sentencepiece_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # import sentencepiece now raises ImportError
    with pytest.raises(ImportError) as info:
        bpe.train_bpe(LINES, 50)
    assert "pip install 'rnnkit[bpe]'" in str(info.value) and "\n" not in str(info.value)


def test_new_text_is_split_only_into_pieces_of_the_training_text_or_characters():
    # "▁Fahrra" is merged on the way to "▁Fahrrad" and never stands alone in the training lines
    lines = ["Fahrrad fahren", "ein Fahrrad", "das Fahrrad", "Fahrrad und Rad"] * 5
    tok = Tokenizer("bpe", bpe_model=bpe.train_bpe(lines, 40))
    seen = {piece for line in lines for piece in tok.tokenize(line)} | set("".join(lines)) | {"▁"}  # or characters
    for new in ("Fahrra", "Radfahren", "das Fahrra", "fahrrad"):  # the training lines' characters, new words
        pieces = tok.tokenize(new)
        assert set(pieces) <= seen, (new, pieces, seen)
        assert tok.detokenize(pieces) == new


def test_only_pieces_marks_the_others_unused_and_keeps_the_rest():
    model = bpe.train_bpe(LINES, 80)
    assert bpe.only_pieces(model, {p for line in LINES for p in Tokenizer("bpe", bpe_model=model).tokenize(line)}) \
        == model  # already restricted by train_bpe: nothing changes
    assert bpe.piece_count(bpe.only_pieces(model, set())) == 80  # unused, not removed
    with pytest.raises(ValueError, match="SentencePiece model"):
        bpe.only_pieces(model[:-3], set())


def test_marking_pieces_unused_leaves_the_training_lines_split_as_before(monkeypatch):
    restricted = bpe.train_bpe(LINES, 80)
    monkeypatch.setattr(bpe, "only_pieces", lambda model, keep: model)
    unrestricted = bpe.train_bpe(LINES, 80)
    assert unrestricted != restricted  # some pieces were marked
    for line in LINES:
        assert bpe.encode(restricted, line) == bpe.encode(unrestricted, line)


def test_the_wire_format_edit_equals_sentencepieces_own_protobuf_classes(monkeypatch):
    """only_pieces edits the ModelProto bytes by hand (to spare rnnkit a protobuf dependency whose runtime must
    match the version sentencepiece's generated code was made with); where that code runs, the same edit
    through it gives the same bytes."""
    pb = pytest.importorskip("sentencepiece.sentencepiece_model_pb2")
    only_pieces = bpe.only_pieces
    monkeypatch.setattr(bpe, "only_pieces", lambda model, keep: model)  # the model as SentencePiece made it
    model = bpe.train_bpe(LINES, 80)
    keep = {p for line in LINES[:3] for p in bpe.encode(model, line)}
    proto = pb.ModelProto()
    proto.ParseFromString(model)
    for piece in proto.pieces:
        if piece.type == pb.ModelProto.SentencePiece.NORMAL and piece.piece not in keep and len(piece.piece) > 1:
            piece.type = pb.ModelProto.SentencePiece.UNUSED
    edited = only_pieces(model, keep)
    assert edited != model
    again = pb.ModelProto()
    again.ParseFromString(edited)
    assert again == proto
