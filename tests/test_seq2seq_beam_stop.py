"""When a sentence's beam search stops (rnnkit.seq2seq.decode.beam_search's ``stop``, ``--beam-stop``): "bound" goes
on while a live beam may still beat the n-best list, and must return exactly what searching to max_len returns; it is
never worse than "k-finished" (which it replaces only when asked), and the option reaches the search from the CLI."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import refused, run_cli
from test_seq2seq_attention import SMALL, _train, corpus, write
from test_seq2seq_beam_penalties import _brute_force
from test_seq2seq_decode import _seq2seq

import rnnkit.seq2seq.translate as translate_module
from rnnkit.seq2seq import penalties
from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.penalties import gnmt_score

PAD, BOS, EOS = 0, 1, 2
KINDS = [("gru", "general"), ("lstm", "additive"), ("rnn", "dot"), ("gru", "none")]


def _case(seed):
    """A random tiny model with its search settings: beams, alpha, beta (attention models only), n-best, limit."""
    rng = np.random.default_rng(seed + 1000)
    cell, attention = KINDS[seed % 4]
    model, src, lengths = _seq2seq(seed, V=int(rng.integers(5, 10)), cell=cell, attention=attention, scale=2.0,
                                   eos_bias=float(rng.uniform(-1.5, 1.0)))
    k = int(rng.integers(2, 6))
    beta = float(rng.choice([0.0, 0.3])) if attention != "none" else 0.0
    alpha = float(rng.choice([0.0, 0.6, 1.0, 3.0]))
    kw = dict(length_norm=alpha, coverage_penalty=beta, nbest=int(rng.integers(1, k + 1)))
    limit = 10 if seed % 5 else rng.integers(4, 11, size=3)  # one limit, or one per sentence
    return model, src, lengths, k, limit, kw


def _key(h):
    """The search's own ranking: finished first, then s(Y, X)."""
    return (h.finished, h.norm_score)


def _same(a, b) -> bool:
    return [(h.tokens, h.score, h.norm_score, h.finished) for h in a] == [
        (h.tokens, h.score, h.norm_score, h.finished) for h in b]


def _counting(model):
    """``model`` with its decode_step calls counted in ``model.steps``."""
    step = model.decode_step
    model.steps = 0

    def counted(ids, carry):
        model.steps += 1
        return step(ids, carry)
    model.decode_step = counted
    return model


def test_the_bound_rule_returns_what_searching_to_the_length_limit_returns(monkeypatch):
    """With the bound made always true the search runs every sentence to max_len (or until no beam is left), seeing
    every hypothesis its beams can finish: "bound" must return the same n-best lists, bit for bit, in fewer decoder
    steps; "k-finished" must miss some (else this test could not tell the rules apart)."""
    missed = saved = 0
    for seed in range(60):
        model, src, lengths, k, limit, kw = _case(seed)
        model = _counting(model)
        bound = beam_search(model, src, lengths, k, limit, BOS, EOS, stop="bound", **kw)
        bound_steps, model.steps = model.steps, 0
        finished = beam_search(model, src, lengths, k, limit, BOS, EOS, **kw)
        with monkeypatch.context() as m:
            m.setattr(penalties, "may_still_win", lambda *a: True)
            model.steps = 0
            full = beam_search(model, src, lengths, k, limit, BOS, EOS, stop="bound", **kw)
        for b, (x, y, z) in enumerate(zip(bound, full, finished)):
            assert _same(x, y), f"seed {seed} sentence {b}: the bound stopped before a better hypothesis"
            missed += not _same(z, y)
        saved += bound_steps < model.steps
    assert missed >= 12, f"k-finished missed the full search's n-best in {missed} sentences only"
    assert saved >= 8, f"the bound saved decoder steps on {saved} models only"


def test_the_bound_rule_is_never_worse_than_k_finished_and_loses_to_greedy_less():
    """Both rules keep the same beams, and "bound" stops only when no live beam can beat its best: its answer is
    never worse than "k-finished"'s.  Beam search may still return a hypothesis less probable than greedy decoding's
    (greedy's prefix can fall out of the K beams), so where "bound" loses to greedy "k-finished" must lose too, and
    "k-finished" must lose somewhere "bound" does not (the early stop the rule removes)."""
    fixed = 0
    for seed in range(150):
        model, src, lengths, k, limit, kw = _case(seed)
        kw["nbest"] = 1
        alpha, beta = kw["length_norm"], kw["coverage_penalty"]
        greedy = greedy_decode(model, src, lengths, limit, BOS, EOS)
        pairs = zip(beam_search(model, src, lengths, k, limit, BOS, EOS, stop="bound", **kw),
                    beam_search(model, src, lengths, k, limit, BOS, EOS, **kw), greedy)
        for b, ((x,), (y,), g) in enumerate(pairs):
            assert _key(x) >= _key(y), f"seed {seed} sentence {b}: bound {x.tokens} worse than k-finished {y.tokens}"
            # greedy's hypothesis by the beam's ranking (its cp: that of the beam's own attention rows)
            cp = 0.0 if beta == 0 else penalties.coverage_penalty(g.attention, beta, int(lengths[b]))
            gk = (g.finished, gnmt_score(g.score, len(g.tokens) + g.finished, alpha, cp) - 1e-9)
            if _key(x) < gk:
                assert _key(y) < gk
            fixed += _key(y) < gk <= _key(x)
    assert fixed >= 3, f"bound beat greedy where k-finished did not in {fixed} sentences only"


@pytest.mark.parametrize("alpha,beta,min_len,no_repeat", [(0.0, 0.0, 1, 2), (3.0, 0.4, 0, 0)])
def test_an_exhaustive_beam_with_the_bound_rule_equals_brute_force(alpha, beta, min_len, no_repeat):
    """500 beams keep every prefix (see test_seq2seq_beam_penalties.py): stopping by the bound, which with alpha > 0
    divides by lp(max_len), must still return the brute-force ranking of every finished sequence."""
    V, max_len, nbest = 6, 5, 4
    model, src, lengths = _seq2seq(7, V=V, attention="general", scale=1.5, eos_bias=1.0)
    beams = beam_search(model, src, lengths, 500, max_len, BOS, EOS, length_norm=alpha, nbest=nbest, min_len=min_len,
                        no_repeat_ngram=no_repeat, coverage_penalty=beta, stop="bound")
    for b, hyps in enumerate(beams):
        ranked = sorted(_brute_force(model, src, lengths, b, V, max_len, alpha, beta, min_len, no_repeat),
                        key=lambda sq: -sq[1])[:nbest]
        assert [h.tokens for h in hyps] == [seq for seq, _ in ranked], f"sentence {b}: n-best differs"
        assert max(abs(h.norm_score - s) for h, (_, s) in zip(hyps, ranked)) < 1e-9


def test_a_stop_rule_that_does_not_exist_is_refused():
    model, src, lengths = _seq2seq(0)
    for stop in ("never", None, 1):
        with pytest.raises(ValueError, match="Expected stop to be one of k-finished, bound"):
            beam_search(model, src, lengths, 2, 5, BOS, EOS, stop=stop)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("beamstop")
    src, tgt = corpus(120, 0)
    test, _ = corpus(6, 2)
    return {"dir": d, "train": (write(d / "train.de", src), write(d / "train.en", tgt)),
            "test": write(d / "test.de", test), "ref": write(d / "test.en", ["x"] * len(test))}


def test_beam_stop_reaches_the_search_from_translate_evaluate_and_train(data, monkeypatch, capsys):
    """Each command's --beam-stop is the stop the search gets (k-finished when left out), and evaluate's and train's
    test line name it when it is not the default (the user walk's evaluate said "beam 5" alone); with --beam 1
    (greedy: no beams to stop) it is refused, and so is a rule that does not exist."""
    model = _train(data, "run", "--epochs", "1")
    seen = []

    def spy(*args, **kw):
        seen.append(kw["stop"])
        return beam_search(*args, **kw)
    monkeypatch.setattr(translate_module, "beam_search", spy)
    run = ["train", "seq2seq", "--train", *data["train"], "--lr", "0.01", "--run-dir", str(data["dir"] / "run"),
           *SMALL, "--epochs", "1", "--resume", "--test", data["test"], data["ref"]]
    commands = (["translate", model, data["test"]], ["evaluate", model, data["test"], "--ref", data["ref"]], run)
    for command in commands:
        for extra, want in (([], "k-finished"), (["--beam-stop", "bound"], "bound"),
                            (["--beam-stop", "k-finished"], "k-finished")):
            seen.clear()
            code, out, err = run_cli(capsys, [*command, "--beam", "3", *extra])
            assert code == 0, err
            assert seen and set(seen) == {want}, (command[0], extra, seen)
            if command[0] != "translate":  # the report names a stop rule that is not the default
                said = "beam 3, --beam-stop bound;" if want == "bound" else "beam 3;"
                assert said in out and (want == "bound" or "--beam-stop" not in out), (command[0], extra, out)
        refused(run_cli(capsys, [*command, "--beam-stop", "bound"]), "--beam-stop has no effect with --beam 1")
        refused(run_cli(capsys, [*command, "--beam", "3", "--beam-stop", "never"]), "invalid choice: 'never'",
                usage=True)


def test_the_report_names_every_decoding_option_not_at_its_default(data, capsys):
    """evaluate's line named --beam-stop alone; the other options that change the translations went unsaid
    (the --json record had them all)."""
    model = _train(data, "said", "--epochs", "1", "--attention", "general")
    options = ["--beam", "3", "--length-norm", "0.6", "--coverage-penalty", "0.2", "--no-repeat-ngram", "3",
               "--min-len", "2"]
    code, out, err = run_cli(capsys, ["evaluate", model, data["test"], "--ref", data["ref"], *options])
    assert code == 0 and ("(6 sentences, beam 3, --length-norm 0.6, --coverage-penalty 0.2, --no-repeat-ngram 3, "
                          "--min-len 2; BLEU ") in out, (out, err)
    from rnnkit.cli.seq2seq_score import decoding_said

    s = {"beam": 4, "beam_stop": "bound", "length_norm": 0.6, "coverage_penalty": 0.2, "no_repeat_ngram": 3,
         "min_len": 0, "max_len": 30, "replace_unk": True}
    assert decoding_said(s) == ("beam 4, --beam-stop bound, --length-norm 0.6, --coverage-penalty 0.2, "
                                "--no-repeat-ngram 3, --min-len 0, --max-len 30, --replace-unk")
    assert decoding_said(s, "--max-decode-len").endswith("--max-decode-len 30, --replace-unk")
    defaults = {"beam": 1, "beam_stop": "k-finished", "length_norm": 0.0, "coverage_penalty": 0.0,
                "no_repeat_ngram": None, "min_len": 1, "max_len": None, "replace_unk": False}
    assert decoding_said(defaults) == "greedy"
