"""The training loop's progress and epoch lines (rnnkit.train.progress): notices shown in every mode, fractions
as percentages, plain lines that end with the epoch's last update, and a BPE model's epoch-line names."""
from __future__ import annotations


def test_progress_notices_show_even_without_progress_lines():
    import io

    from rnnkit.train.progress import Progress

    for mode in ("none", "lines", "bar"):
        stream = io.StringIO()
        p = Progress(mode, stream=stream)
        p.start_epoch(1, 100)
        p.message("early stopping: no improvement for 3 epochs")
        p.message("new run in r: removed the earlier run's best.safetensors", always=True)
        p.end_epoch("epoch 1 done")
        text = stream.getvalue()
        assert "removed the earlier run's best.safetensors\n" in text, (mode, text)
        assert ("early stopping" in text) == (mode != "none"), (mode, text)


def test_epoch_lines_show_fractions_as_percentages_as_evaluate_does():
    """The epoch line said 'valid accuracy 0.11', then '0.2401', and 'valid f1 0.09769' (4 significant
    digits), while evaluate said 'token accuracy 24.01%'; then 'valid macro_f1 36.40%' while evaluate said
    'macro-F1 52.60': F1 scores are times 100 without %, as conlleval and every report give them."""
    from rnnkit.train.progress import format_metric

    assert [format_metric(k, v) for k, v in (("accuracy", 0.11), ("f1", 0.09769), ("macro_f1", 1.0),
                                             ("exact", 0.995), ("root_accuracy", 0.5), ("root_macro_f1", 0.364),
                                             ("node_macro_f1", 0.5), ("precision", 0.25))] == \
        ["11.00%", "9.77", "100.00", "99.50%", "50.00%", "36.40", "50.00", "25.00%"]
    assert [format_metric(k, v) for k, v in (("loss", 4.123456), ("ppl", 141.19), ("bits", 1.6364), ("bleu", 27.5))] \
        == ["4.1235", "141.19", "1.6364", "27.50"]


def test_progress_lines_end_with_the_epochs_last_update():
    """Plain progress lines (no terminal) showed one line per 50 updates, so an epoch's last line said 87.6% or
    94.7% before 'epoch N done': the last update's line now comes first, once, when it was not printed."""
    import io

    from rnnkit.train.progress import Progress

    # every 2nd update: the last (4th) printed already, so not again; the last (3rd) unprinted, so shown at the end
    for units, printed in (((15, 15, 30, 40), ["30.0%", "100.0%"]), ((30, 30, 40), ["60.0%", "100.0%"])):
        stream = io.StringIO()
        p = Progress("lines", every=2, stream=stream)
        p.start_epoch(1, 100)
        for n in units:
            p.update(n, 1.0, 0.1)
        p.end_epoch("epoch 1 done")
        lines = stream.getvalue().splitlines()
        assert lines[-1] == "epoch 1 done" and [line.split(" | ")[1].strip() for line in lines[:-1]] == printed, lines


def test_a_bpe_models_epoch_line_names_its_bits_per_piece_and_marks_estimates():
    """A BPE model's epoch line said 'valid bits 2.98 | valid word_ppl 9.15 | valid bits_per_char 0.97': bits
    per what, beside bits per character, and the per-word figures estimated from several streams unmarked."""
    from rnnkit.train.progress import epoch_name

    bpe = {"loss": 2.0, "ppl": 7.4, "bits": 2.9, "word_ppl": 9.1, "bits_per_char": 0.97}
    assert [epoch_name(k, bpe, True) for k in bpe] == ["loss", "ppl", "bits/piece", "~word_ppl", "~bits/char"]
    assert [epoch_name(k, bpe, False) for k in bpe] == ["loss", "ppl", "bits/piece", "word_ppl", "bits/char"]
    word = {"loss": 2.0, "ppl": 7.4, "bits": 2.9}  # a word or character model's bits: as they were
    assert [epoch_name(k, word, True) for k in word] == ["loss", "ppl", "bits"]


def test_the_eta_of_a_run_with_a_step_limit_ends_at_the_limit(monkeypatch):
    """`--max-steps 300` with 1,000 steps an epoch: the lines said 'eta 3m04s' for the whole epoch, then the run
    stopped at once at step 300.  Ten steps of 1 s, 2 steps left: eta 2 s, not the epoch's 990 s."""
    import io

    import rnnkit.train.progress as progress

    clock = iter(range(100))
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    for steps_left, eta in ((12, "eta 0m02s"), (None, "eta 16m30s")):
        stream = io.StringIO()
        p = progress.Progress("lines", every=10, stream=stream)
        p.start_epoch(2, 1000 * 20, steps_left=steps_left)
        for _ in range(10):
            p.update(20, 1.0, 0.1)
        assert stream.getvalue().rstrip().endswith(eta), stream.getvalue()
