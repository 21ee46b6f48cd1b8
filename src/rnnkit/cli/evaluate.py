"""``rnnkit evaluate MODEL FILE``: score any trained model on a file, by the model's kind.

Each kind of model registers an evaluator in ``EVALUATORS`` (keyed by the checkpoint's
``task["model"]``): a function ``(model_path, data_path, args) -> int`` that prints its metrics.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_task import kind_name, other_kind
from rnnkit.cli import apply_progress
from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.cli.given import given
from rnnkit.cli.lm_files import add_level_option, arpa_level
from rnnkit.cli.text_warnings import warn_unknown_perplexity
from rnnkit.errors import CheckpointError
from rnnkit.jsonline import json_line
from rnnkit.train.progress import format_perplexity

EVALUATORS: dict[str, Callable] = {}


def register(groups) -> None:
    p = groups.commands.add_parser(
        "evaluate", help="evaluate a trained model on a file",
        description="Evaluate a checkpoint on a data file: perplexity / bits per character for language models "
                    "(recurrent, or n-gram from 'rnnkit train ngram --save' or an ARPA file; a BPE-level one: "
                    "per-word perplexity and bits per character, then per piece), and the task's own "
                    "metrics for other models (a tree model's: accuracy, macro-F1, confusion matrix and per-class "
                    "scores of the roots and of all labelled nodes).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", help="checkpoint file (e.g. runs/lm/best.safetensors), a run folder (its best.safetensors, "
                                 "else last.safetensors), or an n-gram model's ARPA file (kn5.arpa, .gz, .xz or .bz2 "
                                 "too); a file, not a pipe")
    p.add_argument("data", nargs="?", help="file to evaluate on, in the format the model was trained on (a "
                                           "classifier: or --pos FILE --neg FILE); a pipe too: <(zcat test.gz)")
    p.add_argument("--batch-size", type=positive_int, default=1,
                   help="language models: parallel streams (1 scores every token exactly; more is faster)")
    p.add_argument("--bptt", type=positive_int, default=100, help="language models: window length while carrying the state")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--errors", metavar="FILE", default=None,
                   help="taggers and HMMs: write every sentence with a wrong tag to FILE, one a line: its number in "
                        "DATA, a tab, then its tokens as word/TAG, a wrong one as [word GOLD->PREDICTED]")
    p.add_argument("--encoding", default=None,
                   help="text encoding of DATA (and of --ref / --tune-on) (default: utf-8)")
    add_level_option(p)
    apply_progress.add_option(p, "", "; with --dict, a second display for the pass with the dictionary, and with a "
                                     "translator one for its loss pass over the references; an n-gram model's count "
                                     "moves about a million tokens at a time; not with --interpolate")
    u = p.add_argument_group("unsupervised HMMs (train hmm --unsupervised): where DATA's gold tags are")
    u.add_argument("--format", choices=["conllu", "columns", "slash"], default=None,
                   help="how DATA is read (default: as the model's training data; CoNLL-U for a model trained on raw "
                        "text)")
    u.add_argument("--tag-column", default=None,
                   help="the gold tags the states are scored against: conllu upos or xpos, columns an index (default: "
                        "the model's, from its training options: upos, or the last column)")
    m = p.add_argument_group("interpolating two language models (e.g. an RNN with a Kneser-Ney n-gram)")
    m.add_argument("--interpolate", metavar="MODEL2", default=None,
                   help="mix MODEL's per-token probabilities with this second language model's (same vocabulary and "
                        "level; two BPE-level models: the same SentencePiece model): p = w p_MODEL + (1 - w) p_MODEL2; "
                        "both are scored as one exact stream (no --batch-size) and all three perplexities are "
                        "printed (BPE: per word, bits/char and per piece)")
    m.add_argument("--weight", type=unit_interval, default=None, metavar="W",
                   help="the weight w of MODEL, in [0, 1] (default: the maximum-likelihood weight on --tune-on, else 0.5)")
    m.add_argument("--tune-on", metavar="FILE", default=None,
                   help="held-out text (e.g. the validation file): w is set to maximise its likelihood")
    p.set_defaults(func=evaluate)
    global _PARSER
    _PARSER = p


_PARSER: argparse.ArgumentParser | None = None
# options that only some kinds of model read (dest -> flag); the parser entries of the seq2seq ones are
# registered by rnnkit.cli.seq2seq, the tables below say which kind reads which
_KIND_OPTIONS = {"batch_size": "--batch-size", "bptt": "--bptt", "ref": "--ref", "beam": "--beam",
                 "length_norm": "--length-norm", "coverage_penalty": "--coverage-penalty", "beam_stop": "--beam-stop",
                 "no_repeat_ngram": "--no-repeat-ngram", "max_len": "--max-len", "min_len": "--min-len",
                 "replace_unk": "--replace-unk", "bleu_tokenize": "--bleu-tokenize", "columns": "--columns",
                 "header": "--header", "pos": "--pos", "neg": "--neg", "errors": "--errors", "format": "--format",
                 "tag_column": "--tag-column", "user_dict": "--dict", "progress": "--progress"}
_READS = {"lm": {"batch_size", "bptt", "progress"}, "ngram": {"progress"},
          "classifier": {"header", "pos", "neg", "progress"},
          "tagger": {"errors", "user_dict", "progress"},
          # --format, --tag-column: an unsupervised one's; --dict: a segmenter's
          "hmm": {"errors", "format", "tag_column", "user_dict", "progress"}, "treenet": {"progress"},
          "seq2seq": {"ref", "beam", "length_norm", "coverage_penalty", "beam_stop", "no_repeat_ngram", "max_len",
                      "min_len",
                      "replace_unk", "bleu_tokenize", "columns", "header", "progress"}}


def refuse_foreign_options(args: argparse.Namespace, kind: str | None, kind2: str | None = None) -> None:
    """A kind-specific option given for a model of another kind would be ignored: say so instead.
    ``kind2``: the kind of the --interpolate model."""
    reads = set(_READS.get(kind, ()))
    if args.interpolate is not None:  # one exact stream for both models; an RNN side (either one) reads --bptt
        reads = {"bptt"} if "lm" in (kind, kind2) else set()
    # written, even with its default value (docs/training.md: an option counts as given when it is written)
    foreign = [flag for dest, flag in _KIND_OPTIONS.items() if dest not in reads and hasattr(args, dest)
               and (given(args, dest) or getattr(args, dest) != _PARSER.get_default(dest))]
    if foreign:
        what = ("with --interpolate (both models are scored as one exact stream"
                + ("" if reads else ", and neither is a recurrent one") + ")") if args.interpolate is not None \
            else f"to {args.model}, {kind_name(kind)}"
        raise ValueError(f"{', '.join(foreign)} {'does' if len(foreign) == 1 else 'do'} not apply {what}; leave "
                         f"{'it' if len(foreign) == 1 else 'them'} out")


def unit_interval(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"Expected a number in [0, 1], got {text}")
    return value


def model_kind(path: str) -> object:
    """The ``task["model"]`` of a checkpoint; ``"ngram"`` for an n-gram model, its ARPA file too; ``"hmm"`` for
    an HMM's JSON file."""
    from rnnkit.hmm_io import is_hmm_json
    from rnnkit.lm.arpa_read import is_arpa
    from rnnkit.lm.io import NGRAM_KIND, is_ngram
    from rnnkit.tagging.io import HMM_KIND

    if is_ngram(path) or is_arpa(path):
        return NGRAM_KIND
    if is_hmm_json(path):  # HMMTagger.save's file: LoadedTagger reads it
        return HMM_KIND
    return (ckpt.load_meta(path).get("task") or {}).get("model")


def evaluate(args) -> int:
    from rnnkit.lm.io import NGRAM_KIND

    arpa_level(args, args.model, args.interpolate, warn=False)  # --level for no ARPA file: said before any work
    kind = model_kind(args.model)
    if kind is not None and not isinstance(kind, str):  # a list or dict there: a damaged file
        raise CheckpointError(f"{args.model}: not a model rnnkit can evaluate; {other_kind(kind)}")
    if args.interpolate is None and (args.weight is not None or args.tune_on is not None):
        raise ValueError("--weight and --tune-on need --interpolate MODEL2 (the model to mix with)")
    if args.weight is not None and args.tune_on is not None:
        raise ValueError("give --weight W or --tune-on FILE, not both (--tune-on fits the weight)")
    if args.interpolate is not None and kind not in ("lm", NGRAM_KIND):
        raise ValueError(f"--interpolate mixes language models; {args.model} is {kind_name(kind)}")
    if kind not in EVALUATORS:
        raise CheckpointError(f"{args.model}: not a model rnnkit can evaluate; {other_kind(kind)}")
    kind2 = None
    if args.interpolate is not None:
        kind2 = model_kind(args.interpolate)
    refuse_foreign_options(args, kind, kind2)
    if args.data is None and kind != "classifier":  # a classifier may be given a polarity pair instead
        raise ValueError(f"no DATA to evaluate {args.model} on: give the file after the model")
    return EVALUATORS[kind](args.model, args.data, args)


def _evaluate_lm(model_path: str, data_path: str, args) -> int:
    """Perplexity (bits per character) of a recurrent or n-gram language model: every token predicted."""
    from rnnkit.data.text_ids import read_ids
    from rnnkit.lm.evaluate import evaluate_stream, metrics_from_nll, predicted_tokens
    from rnnkit.lm.io import load_language_model
    from rnnkit.lm.ngram import NGramLM

    from rnnkit.cli.file_looks import conllu_lines_warning, head_lines
    from rnnkit.cli.text_warnings import SEGMENT_FIRST, warn, warn_unsegmented

    if args.interpolate is not None:
        return _evaluate_mixture(model_path, data_path, args)
    model, vocab, level, bpe = load_language_model(model_path, arpa_level(args, model_path))
    units = None
    if bpe is not None:  # pieces, and the words and characters the per-word and per-character figures count
        from rnnkit.lm.bpe_text import read_bpe_ids

        (_, ids, head, st), units = read_bpe_ids(data_path, bpe, args.encoding or "utf-8", vocab)
    else:
        _, ids, head, st = read_ids(data_path, level, args.encoding or "utf-8", vocab=vocab)
    conllu = conllu_lines_warning(head_lines(data_path, args.encoding or "utf-8") or [], data_path, "a language "
                                  "model", "sentence", "scored")
    if conllu:  # its IDs, lemmas and tags scored as words of the text
        warn(conllu)
    told = conllu or level == "word" and warn_unsegmented([" ".join(head)], data_path, f"{model_path} reads "
                                                f"words, so {SEGMENT_FIRST}, as its training text was")
    if not told:
        warn_unknown_perplexity(data_path, model_path, st)
    ngram = isinstance(model, NGramLM)  # the same count: every token, <eos> included
    total = len(ids) if ngram else predicted_tokens(len(ids), args.batch_size, start=vocab.eos_id is not None)
    with apply_progress.Shown(args.progress, total, "evaluating") as shown:
        if ngram:
            logp = model.token_logprobs(ids, on_batch=shown)
            m = metrics_from_nll(-float(logp.sum()), logp.size)
        else:
            m = evaluate_stream(model, ids, args.batch_size, args.bptt, vocab.eos_id, name=data_path, on_batch=shown)
    if units is not None:
        from rnnkit.lm.units import with_units

        m = with_units(m, units)
    m["oov_rate"] = st.fraction
    if args.json:
        print(json_line(m))
    else:
        print(f"{data_path}: {lm_result_line(m, level, st.fraction)}")
    sys.stdout.flush()
    return 0


def _evaluate_mixture(model_path: str, data_path: str, args) -> int:
    """Perplexity of MODEL, of --interpolate MODEL2 and of their linear interpolation over DATA."""
    from rnnkit.data.text_ids import read_ids
    from rnnkit.lm.evaluate import metrics_from_nll
    from rnnkit.lm.interpolate import fit_weight, mix, stream_log_probs
    from rnnkit.lm.io import load_language_model
    from rnnkit.lm.score import start_token

    from rnnkit.lm.arpa_read import is_arpa

    level_arg = arpa_level(args, model_path, args.interpolate)
    models = [load_language_model(path, level_arg) for path in (model_path, args.interpolate)]
    (_, vocab_a, level, bpe_a), (_, vocab_b, level_b, bpe_b) = models
    bpe = _shared_bpe((model_path, level, bpe_a), (args.interpolate, level_b, bpe_b))
    if level != level_b:
        arpa = args.level is None and any(is_arpa(path) for path in (model_path, args.interpolate))
        hint = " (an ARPA file is read at --level word unless told or written by rnnkit of characters)" * arpa
        raise ValueError(f"{model_path} is a {level}-level model and {args.interpolate} a {level_b}-level one{hint}; "
                         "interpolate two models of the same level")
    if set(vocab_a.tokens) != set(vocab_b.tokens) or vocab_a.unk_token != vocab_b.unk_token:
        only = sorted(set(vocab_a.tokens) ^ set(vocab_b.tokens))
        raise ValueError(f"{model_path} and {args.interpolate} have different vocabularies ({len(vocab_a):,} and "
                         f"{len(vocab_b):,} tokens; e.g. {only[:3]} in one only); train both on the same file with "
                         + ("the same --bpe-vocab" if bpe is not None else "the same --max-vocab and --min-count"))

    to_b = np.array([vocab_b.token_id(t) for t in vocab_a.tokens], dtype=np.int64)  # the same tokens, b's ids

    oov = {}

    units = {}

    def log_probs(path: str) -> tuple[np.ndarray, np.ndarray]:
        if bpe is not None:  # the pieces both models read, and the words and characters of the text
            from rnnkit.lm.bpe_text import read_bpe_ids

            got, units[path] = read_bpe_ids(path, bpe, args.encoding or "utf-8", vocab_a, head=0)
        else:
            got = read_ids(path, level, args.encoding or "utf-8", vocab=vocab_a, head=0)  # read once: a pipe too
        ids, oov[path] = got.ids, got.oov
        return tuple(stream_log_probs(model, ids if vocab is vocab_a else to_b[ids],
                                      vocab.token_id(start_token(vocab, level)), args.bptt)
                     for model, vocab, _, _ in models)

    weight, tuned = args.weight, None
    if weight is None and args.tune_on is not None:
        weight, iterations = fit_weight(*log_probs(args.tune_on))
        tuned = {"file": args.tune_on, "iterations": iterations}
    weight = 0.5 if weight is None else weight
    a, b = log_probs(data_path)
    warn_unknown_perplexity(data_path, model_path, oov[data_path])  # as plain evaluate warns (it said nothing here)
    m = metrics_from_nll(-float(mix(a, b, weight).sum()), a.size)
    m.update(weight=weight, tuned_on=None if tuned is None else tuned["file"],
             model=metrics_from_nll(-float(a.sum()), a.size), interpolate=metrics_from_nll(-float(b.sum()), b.size))
    if bpe is not None:  # every piece is predicted (from <eos>): the per-word and per-character figures are exact
        from rnnkit.lm.units import with_units

        u = units[data_path]
        m = {**with_units(m, u), "model": with_units(m["model"], u), "interpolate": with_units(m["interpolate"], u)}
    if args.json:
        print(json_line(m))
        return 0
    how = f"fitted on {args.tune_on}" if tuned else "given" if args.weight is not None else "the default"

    def figure(x: dict) -> str:
        if level == "bpe":
            return (f"perplexity {format_perplexity(x['word_ppl'])} per word, {x['bits_per_char']:.4f} bits/char, "
                    f"perplexity {format_perplexity(x['ppl'])} per piece")
        return (f"{x['bits']:.4f} bits/char (perplexity {format_perplexity(x['ppl'])})" if level == "char"
                else f"perplexity {format_perplexity(x['ppl'])}")

    over = (f"{m['tokens']:,} pieces, {m['words']:,} words and {m['chars']:,} characters" if level == "bpe"
            else f"{m['tokens']:,} tokens")
    print(f"{data_path}: {model_path}: {figure(m['model'])}; {args.interpolate}: {figure(m['interpolate'])}; "
          f"interpolated with weight {weight:.4f} on the first ({how}): {figure(m)}; over {over}, {STREAM}")
    return 0


def _shared_bpe(first: tuple[str, str, bytes | None], second: tuple[str, str, bytes | None]) -> bytes | None:
    """The SentencePiece model two BPE-level models (each ``(path, level, bpe_model)``) share byte for byte, None
    when neither is BPE-level; a ValueError when only one is, or their pieces come from different SentencePiece
    models."""
    (path_a, level_a, a), (path_b, level_b, b) = first, second
    if "bpe" not in (level_a, level_b):
        return None
    if level_a != level_b:  # its tokens are its own BPE model's pieces: no word or character model shares them
        raise ValueError(f"--interpolate mixes models token by token, and {path_a if level_a == 'bpe' else path_b} "
                         "is a BPE-level one (--level bpe) while the other is not; evaluate each on its own and "
                         "compare their per-word perplexities")
    if a != b:
        raise ValueError(f"{path_a} and {path_b} split text with different SentencePiece models, so their pieces "
                         "differ; interpolate models trained with the same BPE model (the same --train file and "
                         "--bpe-vocab), or compare their per-word perplexities")
    return a


EVALUATORS["lm"] = _evaluate_lm
EVALUATORS["ngram"] = _evaluate_lm


def lm_result_line(m: dict, level: str, oov: float, batch_option: str = "--batch-size") -> str:
    """A language model's score on a file, as ``evaluate`` and ``train lm --test`` print it after the
    file's name or ``test:``: bits per character (4 decimals) and the per-character perplexity, or
    perplexity (2), the NLL, the token count and the OOV rate; a BPE model's per-word perplexity and bits
    per character (:mod:`rnnkit.lm.units`) first, then its per-piece perplexity and loss.  ``batch_option``:
    the option that sets the streams (``train lm --test``'s is ``--test-batch-size``), named when not every
    piece was predicted.  The line ends by saying the file was read as one stream (a line's first words see the
    lines before), unlike ``rnnkit score``, which scores each line from the start of a sentence."""
    return f"{_lm_figures(m, level, oov, batch_option)}, {STREAM}"


STREAM = "the file read as one stream"


def _lm_figures(m: dict, level: str, oov: float, batch_option: str) -> str:
    """:func:`lm_result_line`'s figures, by level."""
    if level == "bpe":
        exact = "" if m["tokens"] == m.get("pieces", m["tokens"]) else (
            f" ({m['tokens']:,} of its {m['pieces']:,} pieces predicted: per-word and per-character figures "
            f"estimated from their mean; {batch_option} 1 predicts all)")
        return (f"perplexity {format_perplexity(m['word_ppl'])} per word, {m['bits_per_char']:.4f} bits/char "
                f"(over {m['words']:,} words and {m['chars']:,} characters, line ends included); per piece: "
                f"perplexity {format_perplexity(m['ppl'])}, loss {m['loss']:.4f} nats over {m['tokens']:,} pieces"
                f"{exact}, OOV {100 * oov:.2f}%")
    if level == "char":
        return (f"{m['bits']:.4f} bits/char (perplexity {format_perplexity(m['ppl'])}), loss {m['loss']:.4f} "
                f"nats/char over {m['tokens']:,} characters, OOV {100 * oov:.2f}%")
    return (f"perplexity {format_perplexity(m['ppl'])}, loss {m['loss']:.4f} nats/token over {m['tokens']:,} tokens, "
            f"OOV {100 * oov:.2f}%")
