"""Attention heatmaps: a valid PNG for UTF-8 tokens, clear errors, no global matplotlib state."""
from __future__ import annotations

import struct
import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from rnnkit import plotting  # noqa: E402  (after the skip: the module itself needs no matplotlib)
from rnnkit.seq2seq.plot import plot_attention  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SOURCE = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche .".split()
TARGET = "Two young white males are outside near many bushes . <eos>".split()


def attention(rng: np.random.Generator, T: int, S: int) -> np.ndarray:
    scores = rng.normal(size=(T, S)) * 3.0  # (T, S)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)  # rows sum to 1


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"not a PNG: starts with {data[:8]!r}"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_german_tokens_give_a_png_without_font_warnings(tmp_path):
    rng = np.random.default_rng(0)
    backend = matplotlib.get_backend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing umlaut glyph would warn
        # but not a deprecation inside matplotlib (3.6 - 3.10.0 call pyparsing's parseString, deprecated in 3.3)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        out = plot_attention(attention(rng, len(TARGET), len(SOURCE)), SOURCE, TARGET, tmp_path / "att.png",
                             title="de → en")
    assert out == tmp_path / "att.png"
    width, height = png_size(out)
    assert out.stat().st_size > 1000 and width > 100 and height > 100
    assert matplotlib.get_backend() == backend  # the user's backend is not switched to Agg


def test_more_source_tokens_make_a_wider_picture(tmp_path):
    rng = np.random.default_rng(1)
    narrow = plot_attention(attention(rng, 4, 3), SOURCE[:3], TARGET[:4], tmp_path / "narrow.png")
    wide = plot_attention(attention(rng, 4, 12), SOURCE[:12], TARGET[:4], tmp_path / "wide.png")
    assert png_size(wide)[0] > png_size(narrow)[0] + 100, (png_size(wide), png_size(narrow))


def test_chinese_tokens_still_give_a_png(tmp_path):
    rng = np.random.default_rng(2)
    source = list("我们在公园里散步")
    target = "we walk in the park".split()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = plot_attention(attention(rng, len(target), len(source)), source, target, tmp_path / "zh.png")
    png_size(out)
    families, missing = plotting.font_families("".join(source))
    messages = [str(w.message) for w in caught]
    if missing:  # no CJK font here: one warning that says what to install, and no per-glyph warnings
        assert len(messages) == 1 and "fonts-noto-cjk" in messages[0], messages
    else:
        assert len(families) > 1 and not messages, (families, messages)


def test_a_character_missing_from_dejavu_is_spelled_or_found_in_another_font():
    assert plotting.spell_missing("我们", "我") == "U+6211 们"
    assert plotting.spell_missing("Nähe", "") == "Nähe"
    # a character model's space showed as nothing
    assert plotting.spell_missing(" ", "") == "\u2423" and plotting.spell_missing("\n", "") == "\u21b5"
    families, missing = plotting.font_families("Männer")
    assert families == ["DejaVu Sans"] and missing == ""
    # any installed font with a character DejaVu Sans lacks must be picked up as a fallback
    from matplotlib import font_manager

    base = plotting._charmap(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans")))
    for entry in font_manager.fontManager.ttflist:
        if entry.name.startswith("DejaVu Sans") or entry.name.startswith(plotting._NOT_FALLBACKS):
            continue
        extra = sorted(c for c in plotting._charmap(entry.fname) - base if chr(c).isprintable())
        if extra:
            families, missing = plotting.font_families(chr(extra[0]))
            assert missing == "" and len(families) == 2, (entry.name, hex(extra[0]), families, missing)
            return
    pytest.skip("no installed font has a character DejaVu Sans lacks")


def test_bad_arguments_name_what_was_expected(tmp_path):
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match=r"Expected weights of shape \(T, S\) = \(4, 3\).*got \(3, 4\)"):
        plot_attention(attention(rng, 3, 4), SOURCE[:3], TARGET[:4], tmp_path / "x.png")
    bad = attention(rng, 2, 2)
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        plot_attention(bad, SOURCE[:2], TARGET[:2], tmp_path / "x.png")
    with pytest.raises(TypeError, match="single str"):
        plot_attention(attention(rng, 2, 3), "abc", TARGET[:2], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_missing_matplotlib_gives_an_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    with pytest.raises(ImportError, match=r"pip install 'rnnkit\[plot\]'"):
        plot_attention(np.full((1, 1), 1.0), ["a"], ["b"], tmp_path / "x.png")
