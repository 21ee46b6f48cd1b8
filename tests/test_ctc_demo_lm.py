"""``rnnkit demo ctc --text words --lm-order N``: word-like strings, the n-gram model of the training strings (the
same when a loaded network's are drawn again) and the beam search fused with it."""
from __future__ import annotations

import re

import numpy as np
import pytest
from clirun import _one_line, run_cli

from rnnkit.demos.ctc import CTCDemoConfig, evaluate_transcriber, run_ctc_demo, train_transcriber
from rnnkit.demos.ctc_fusion import LMFusion, fit_string_lm, training_strings
from rnnkit.demos.ctc_speech import speech_batch, spell
from rnnkit.demos.ctc_words import WORDS, text_drawer, word_labels
from rnnkit.metrics.edit_distance import label_error_rate
from rnnkit.nn import ctc_beam_decode


def test_word_like_strings_are_words_joined_and_cut_to_their_length():
    draw = text_drawer("words", 5)
    rng = np.random.default_rng(0)
    allowed = [w for w in WORDS if set(w) <= set("abcde")]
    starts = {w[:i] for w in allowed for i in range(len(w) + 1)}  # a word cut anywhere, or not at all
    joined = re.compile(f"(?:{'|'.join(allowed)})*(?:{'|'.join(sorted(starts, key=len, reverse=True))})")
    for n in (1, 3, 7, 20, 50):
        text = spell(draw(rng, n))
        assert len(text) == n and joined.fullmatch(text), text
    assert not joined.fullmatch("aaaa")  # the pattern can refuse
    assert len(word_labels(4)) == 6 and all(k.max() <= 4 for k in word_labels(4))
    with pytest.raises(ValueError, match=r"Expected symbols >= 4 for word-like text"):
        word_labels(3)
    with pytest.raises(ValueError, match=r"Expected text in \('random', 'words'\), got 'poems'"):
        text_drawer("poems", 5)


def test_random_text_draws_as_before_and_words_draw_from_the_list():
    a = speech_batch(np.random.default_rng(3), np.array([4, 6]), 5, 0.3)
    b = speech_batch(np.random.default_rng(3), np.array([4, 6]), 5, 0.3, draw=text_drawer("random", 5))
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    _, _, targets, _ = speech_batch(np.random.default_rng(3), np.array([40]), 5, 0.3, draw=text_drawer("words", 5))
    assert "cab" in spell(targets[0]) or "bed" in spell(targets[0]) or "dad" in spell(targets[0])


def test_a_loaded_networks_training_strings_drawn_again_are_those_it_trained_on():
    cfg = CTCDemoConfig(steps=3, hidden=4, batch_size=5, text="words")
    seen: list[np.ndarray] = []
    train_transcriber(cfg, None, seen)
    again = training_strings(cfg)
    assert len(seen) == len(again) == 15 and all(np.array_equal(u, v) for u, v in zip(seen, again))


def test_the_ngram_model_learns_words_and_nothing_from_random_strings():
    held = {}
    for text in ("random", "words"):
        cfg = CTCDemoConfig(steps=60, batch_size=32, text=text)
        lm = fit_string_lm(training_strings(cfg), 5, 3)
        _, _, targets, _ = speech_batch(np.random.default_rng(9), np.full(300, 6), 5, 0.0, draw=text_drawer(text, 5))
        held[text] = lm.perplexity(list(targets - 1))
    assert 4.8 < held["random"] < 5.3  # 1/A per symbol is all there is to know
    assert held["words"] < 3.5


def test_the_beam_lm_column_decodes_with_the_lm_its_weight_and_its_bonus():
    cfg = CTCDemoConfig(steps=100, hidden=8, batch_size=8, text="words")
    seen: list[np.ndarray] = []
    model = train_transcriber(cfg, None, seen)
    lm = fit_string_lm(seen, cfg.symbols, 3)
    n, count, beam, weight, bonus = 6, 20, 4, 0.5, 2.0
    got = evaluate_transcriber(model, cfg, n, count, np.random.default_rng(5), beam, lm=lm,
                               fusion=LMFusion(3, weight, bonus))
    x, lengths, targets, _ = speech_batch(np.random.default_rng(5), np.full(count, n), cfg.symbols, cfg.noise,
                                          draw=text_drawer(cfg.text, cfg.symbols))  # the batch it drew
    logits, _ = model.forward(x, lengths)  # (T, B, A + 1)
    refs = [t.tolist() for t in targets]

    def rate(**fusion):
        return label_error_rate(refs, ctc_beam_decode(logits, lengths, beam, **fusion))

    assert got["beam"] == rate()
    assert got["beam+lm"] == rate(lm=lm, lm_weight=weight, length_bonus=bonus)
    # the LM is strong enough here that leaving out it, its weight or its bonus changes the rate
    others = {rate(), rate(lm=lm, lm_weight=weight), rate(lm=lm, length_bonus=bonus),
              rate(lm=lm, lm_weight=1.0, length_bonus=bonus)}
    assert got["beam+lm"] not in others, (got, others)


def test_run_ctc_demo_with_a_language_model_reports_a_fourth_rate():
    lines: list[str] = []
    cfg = CTCDemoConfig(steps=3, hidden=4, batch_size=4, max_len=3, text="words")
    results = run_ctc_demo(cfg, [2, 5], test_size=6, beam=2, log=lines.append, fusion=LMFusion(2, 1.0, 0.5))
    assert all(set(m) == {"baseline", "greedy", "beam", "beam+lm"} for m in results.values())
    text = "\n".join(lines)
    assert "language model: a 2-gram (Kneser-Ney) of the 12 training strings' symbols" in text
    assert "beam (2)   beam+LM" in text


def test_the_demo_wraps_its_language_model_and_builds_its_drawer_once(monkeypatch):
    import rnnkit.nn.ctc_lm as ctc_lm

    wrapped = []
    real = ctc_lm.NGramLabelLM

    def counting(*args):
        wrapped.append(real(*args))
        return wrapped[-1]

    monkeypatch.setattr(ctc_lm, "NGramLabelLM", counting)
    cfg = CTCDemoConfig(steps=2, hidden=4, batch_size=4, max_len=3, text="words")
    run_ctc_demo(cfg, [2, 3, 4], test_size=4, beam=2, log=lambda line: None, fusion=LMFusion(2, 1.0, 0.5))
    assert len(wrapped) == 1 and len(wrapped[0].cache) > 1  # one cache of distributions for the three lengths
    assert text_drawer("words", 5) is text_drawer("words", 5)


def test_the_cli_fuses_a_language_model_and_refuses_bad_values(capsys):
    code, out, err = run_cli(capsys, ["demo", "ctc", "--steps", "2", "--hidden", "4", "--text", "words",
                                      "--lm-order", "3", "--lm-weight", "0.8", "--length-bonus", "-0.5",
                                      "--test-lengths", "3", "--test-size", "4", "--beam", "2"])
    assert code == 0, err
    assert "strings of 2-6 word-like symbols" in out and "fused with weight 0.8 and length bonus -0.5" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("     3 "))
    assert len(row) == 5 and all(cell.endswith("%") for cell in row[1:])
    for argv, message in ((["--text", "words", "--symbols", "3"], "Expected symbols >= 4 for word-like text"),
                          (["--lm-weight", "-1"], "argument --lm-weight: Expected a finite number >= 0, got -1"),
                          (["--length-bonus", "inf"], "argument --length-bonus: Expected a finite number, got inf"),
                          (["--lm-order", "-2"], "argument --lm-order: Expected")):
        code, _, err = run_cli(capsys, ["demo", "ctc", *argv])
        assert code == 2 and message in _one_line(err), (argv, err)


@pytest.mark.parametrize("flag, value", [("--lm-weight", "2"), ("--length-bonus", "1")])
@pytest.mark.parametrize("order", [[], ["--lm-order", "0"]])
def test_the_cli_refuses_lm_options_without_a_language_model(capsys, flag, value, order):
    code, out, err = run_cli(capsys, ["demo", "ctc", "--steps", "1", flag, value, *order])
    assert code != 0 and out == "" and err.count("\n") == 1, err
    assert (f"{flag} has no effect without --lm-order N (only the decoding fused with an N-gram language model uses "
            f"it): give --lm-order N, or leave {flag} out") in err, err
