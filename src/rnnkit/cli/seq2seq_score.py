"""How the seq2seq commands decode and score: the decoding options ``translate`` and ``evaluate``
share, BLEU / chrF / exact match of a model on SRC REF or a TSV (``rnnkit evaluate``, ``train seq2seq
--test``), the warning about outputs cut at the length limit, and the BLAS thread limit.

BLAS runs on one thread unless the user passes ``rnnkit --threads N``: the decoder multiplies a (B, H)
batch by small matrices once per step, and on the shared 2-core machine the default two threads made
training 11x slower (110 vs 1,232 target tokens/s on Multi30k, GRU 256, batch 64).
"""
from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli.common import nonnegative_float, nonnegative_int, positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.seq2seq_data import empty_pairs, read_pairs, reference
from rnnkit.data.parallel import SentencePair
from rnnkit.errors import DataError
from rnnkit.seq2seq.decode import STOP_RULES
from rnnkit.jsonline import json_line
from rnnkit.train.progress import format_perplexity, perplexity


@contextlib.contextmanager
def blas_threads(args: argparse.Namespace) -> Iterator[None]:
    """One BLAS thread unless ``rnnkit --threads N`` chose (main.py then has set the limit)."""
    if getattr(args, "threads", None) is not None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield




def ngram_size(text: str) -> int:
    """argparse type of --no-repeat-ngram: an integer >= 1 (0, which other toolkits read as off, is said
    to be the option left out)."""
    if text.strip() == "0":
        raise argparse.ArgumentTypeError("Expected an n-gram size >= 1, got 0 (to allow repeats, leave "
                                         "--no-repeat-ngram out)")
    return positive_int(text)


def add_decoding_options(p: argparse.ArgumentParser, prefix: str = "", max_len: bool = True) -> None:
    """The decoding options of ``translate``, ``evaluate`` and ``train seq2seq`` (its test set's): ``prefix``
    starts each help text; ``max_len=False`` leaves out --max-len (train seq2seq has --max-decode-len)."""
    p.add_argument("--beam", type=positive_int, default=1, help=prefix + "beam size (1: greedy decoding)")
    p.add_argument("--length-norm", type=nonnegative_float, default=0.0, metavar="ALPHA",
                   help=prefix + "GNMT's length penalty for beam search: hypotheses are ranked by log P / lp, "
                                 "lp = ((5 + length) / 6)^ALPHA, length counting <eos> (0: by the sum of "
                                 "log-probs)")
    p.add_argument("--coverage-penalty", type=nonnegative_float, default=0.0, metavar="BETA",
                   help=prefix + "GNMT's coverage penalty for beam search, added to that score: BETA x the sum "
                                 "over source tokens of log(min(total attention on it, 1)), which favours "
                                 "translations that attended to every source word (0: none; needs a model with "
                                 "attention)")
    p.add_argument("--beam-stop", choices=STOP_RULES, default="k-finished",
                   help=prefix + "when a sentence's beam search stops: k-finished, once --beam K hypotheses have "
                                 "ended (OpenNMT's and fairseq's rule; the default), or bound, once no live beam "
                                 "can still beat the best ended one (translate --nbest N: the N-th best), log P "
                                 "only falling as a beam grows: never a worse translation than k-finished's, at "
                                 "the cost of more steps")
    p.add_argument("--no-repeat-ngram", type=ngram_size, default=None, metavar="N",
                   help=prefix + "never repeat an N-gram within a translation: a token that would complete an "
                                 "N-gram already in it is not generated (greedy decoding too; default: no limit)")
    if max_len:
        p.add_argument("--max-len", type=positive_int, default=None, metavar="N",
                       help=prefix + "steps each sentence may take, EOS included (default: ceil(ratio x source "
                                     "tokens) + extra, fitted so that 99.9%% of the model's training pairs fit with 10 "
                                     "to spare)")
    p.add_argument("--min-len", type=nonnegative_int, default=1, metavar="N",
                   help=prefix + "fewest tokens before the end of a sentence (0 allows an empty translation, which "
                                 "beam search otherwise often picks)")
    p.add_argument("--replace-unk", action="store_true",
                   help=prefix + "replace each output <unk> by the source token it attended to most (a model trained "
                                 "with --copy prints its copied words itself; this replaces the <unk> it still writes)")


def check_decoding_options(args: argparse.Namespace, max_len_option: str = "--max-len") -> None:
    """Refuse the decoding options of :func:`add_decoding_options` that would have no effect together;
    ``max_len_option``: the option that sets the length limit (train seq2seq's --max-decode-len)."""
    greedy = "with --beam 1 (greedy decoding has no beams to rank): give --beam K"
    rules = [("--length-norm", args.beam == 1, greedy), ("--coverage-penalty", args.beam == 1, greedy),
             ("--beam-stop", args.beam == 1, "with --beam 1 (greedy decoding has no beams to stop): give --beam K")]
    n, most = args.no_repeat_ngram, getattr(args, max_len_option[2:].replace("-", "_"))
    if n is not None and most is not None:
        rules.append(("--no-repeat-ngram", n >= most, f"with {max_len_option} {most} (a translation has at most "
                                                      f"{most} tokens, and an n-gram of {n} needs {n + 1} to repeat): "
                                                      "give a smaller N"))
    refuse_unused(args, rules)
    if most is not None and args.min_len > most:
        raise ValueError(f"--min-len {args.min_len} is above {max_len_option} {most}: no sentence could end; "
                         f"lower --min-len or raise {max_len_option}")


def score_files(model_path: str, files: list[str], beam: int = 1, length_norm: float = 0.0, max_len: int | None = None,
                batch_size: int = 64, encoding: str = "utf-8", replace_unk: bool = False,
                bleu_tokenize: str | None = None, pairs: list[SentencePair] | None = None,
                max_len_option: str = "--max-len", min_len: int = 1,
                tsv_columns: tuple[int, int] | None = None, no_repeat_ngram: int = 0,
                coverage_penalty: float = 0.0, progress: str = "none", beam_stop: str = "k-finished",
                header: bool = False) -> dict[str, Any]:
    """BLEU, chrF (sacrebleu, detokenised, cased) and exact match (tokens under the model's target tokenizer, as
    validation's: :func:`rnnkit.metrics.translation.token_exact_match`) of the model on SRC REF or a TSV;
    an empty file is a DataError naming it (BLEU of nothing is undefined).  BLEU's tokenizer is
    ``bleu_tokenize``, or the model's own choice when None; "auto" is resolved on these references.
    ``pairs``: the files already read with the model's tokenizers (train seq2seq --test reads them
    before training).  ``cut``: outputs stopped at the length limit (a warning names them, and
    ``max_len_option``, the option that sets ``max_len``).  ``no_repeat_ngram``, ``coverage_penalty``, ``beam_stop`` as
    :func:`rnnkit.seq2seq.translate.translate` takes them; ``progress``: evaluate's --progress, of the decoding;
    ``header``: skip a TSV file's first line (evaluate --header)."""
    from rnnkit.metrics.translation import (
        auto_bleu_tokenize,
        check_bleu_tokenize,
        corpus_bleu,
        corpus_chrf,
        token_exact_match,
    )
    from rnnkit.cli.apply_progress import Shown
    from rnnkit.seq2seq.io import load_translator
    from rnnkit.seq2seq.translate import count_cut, teacher_forced_nll, translate

    translator = load_translator(model_path)
    if replace_unk:
        require_attention(translator, model_path, "--replace-unk")
    if coverage_penalty:
        require_attention(translator, model_path, "--coverage-penalty")
    choice = translator.bleu_tokenize if bleu_tokenize is None else bleu_tokenize
    check_bleu_tokenize(choice)  # a missing sacrebleu (or MeCab) is said before the decoding, not after
    read_here = pairs is None
    if pairs is None:
        trained = None
        if tsv_columns is None and len(files) == 1:  # a TSV: the columns the model was trained on (1,0: reversed)
            tsv_columns = trained = _trained_columns(model_path)
        try:
            pairs = read_pairs(files, translator.source_tokenizer, translator.target_tokenizer, encoding, tsv_columns,
                               header)
        except DataError as exc:
            if len(files) == 1 and "a line without a tab" in str(exc):  # most likely, the source side alone
                raise DataError(f"{exc}; or, if it is the source side alone, give its reference translations "
                                "with --ref FILE") from None
            if trained is not None:  # the columns came from the model, not from an option the user wrote
                raise DataError(f"{files[0]}: read with the columns {trained[0]},{trained[1]} the model was trained "
                                f"with (--columns), which this file does not fit ({exc}); give --columns S,T for "
                                "this file") from None
            raise
    if not pairs:
        empty_pairs(files, "no sentences to score", "reference")
    sources = [p.source_text for p in pairs]
    if read_here:  # a source in another language (or the wrong direction) once scored BLEU 0.00 in silence
        from rnnkit.cli.translate import unknown_tokens_hint, warn_tabbed

        if len(files) == 2:  # DATA --ref REF: a source<TAB>target DATA is read whole, its targets as source words
            warn_tabbed(sources, files[0], "with --ref each whole line is read as one source sentence: to score "
                                           "its pairs, leave out --ref ('rnnkit evaluate MODEL FILE'); to score "
                                           "its first column against --ref, give 'cut -f1 FILE' as DATA")
        unknown_tokens_hint(translator, sources, files[0])
    split = translator.source_tokenizer.tokenize  # the sources' tokens, counted only when a display is shown
    with Shown(progress, lambda: sum(len(split(line)) for line in sources), "evaluating") as shown:
        out = translate(translator, sources, beam, 1, max_len, length_norm, batch_size, replace_unk, min_len,
                        no_repeat_ngram=no_repeat_ngram, coverage_penalty=coverage_penalty, on_batch=shown,
                        beam_stop=beam_stop)
    hyps = [t[0].text for t in out]
    cut = count_cut(out)
    warn_cut(cut, len(out), translator, max_len, max_len_option)
    lowercase = translator.target_tokenizer.lowercase
    refs = [reference(p.target_text, translator.target_tokenizer) for p in pairs]
    tokenize = auto_bleu_tokenize(refs) if choice == "auto" else choice
    bleu = corpus_bleu(hyps, refs, lowercase=lowercase, tokenize=tokenize)  # the signature says case:lc, tok:...
    chrf = corpus_chrf(hyps, refs)
    exact = token_exact_match([t[0].tokens for t in out], [p.target for p in pairs])  # validation's "valid exact"
    # the references' loss, as validation's: a second pass, with its own display (target tokens, ends included)
    with Shown(progress, sum(len(p.target) + 1 for p in pairs), "evaluating the references' loss") as shown:
        nll, targets = teacher_forced_nll(translator, pairs, batch_size, on_batch=shown)
    # every decoding option, so that a --json record says how its outputs were made (max_len None: the fitted rule)
    decoding = {"beam": beam, "beam_stop": beam_stop, "length_norm": length_norm, "coverage_penalty": coverage_penalty,
                "no_repeat_ngram": no_repeat_ngram or None, "min_len": min_len, "max_len": max_len,
                "replace_unk": replace_unk}
    return {"bleu": bleu.score, "chrf": chrf.score, "exact_match": exact, "sentences": len(pairs),
            "cut": cut, **decoding, "bleu_tokenize": tokenize, "bleu_signature": bleu.signature,
            "chrf_signature": chrf.signature, "loss": nll / targets, "ppl": perplexity(nll / targets),
            "target_tokens": targets}


def _trained_columns(model_path: str) -> tuple[int, int] | None:
    """The --columns the model was trained with (None: the first two, or a checkpoint from before they were kept)."""
    from rnnkit.checkpoint import load_meta

    cols = (load_meta(model_path).get("task") or {}).get("tsv_columns")
    return None if cols is None else (int(cols[0]), int(cols[1]))


def warn_cut(cut: int, total: int, translator: Any, max_len: int | None, option: str = "--max-len") -> None:
    """One warning line when ``cut`` of ``total`` translations stopped at the length limit without EOS."""
    if not cut:
        return
    from rnnkit.cli.text_warnings import warn

    more = f"give {option} N for a longer limit" if max_len is None else f"raise {option}"
    warn(f"{cut:,} of {total:,} translations stopped at {translator.length_rule.describe(max_len, option)} "
         f"without an end-of-sentence token, so they are cut; {more} (a model that repeats itself never ends: "
         "it needs more training)")


def require_attention(translator: Any, model_path: str, option: str) -> None:
    """``option`` (--replace-unk, --plot-attention) reads the decoder's attention: refuse a model
    without it before anything is decoded."""
    if translator.model.config.attention == "none":
        raise ValueError(f"{option} reads the decoder's attention, and {model_path} was trained with --attention "
                         f"none; leave {option} out or use a model trained with attention")



def decoding_said(s: dict[str, Any], max_len_option: str = "--max-len") -> str:
    """How :func:`score_files`' translations were made: greedy or beam K, then every decoding option not at its
    default, as the command line gives it (``max_len_option``: train seq2seq's --max-decode-len); the defaults go
    unsaid."""
    said = ["greedy" if s["beam"] == 1 else f"beam {s['beam']}"]
    if s["beam"] > 1 and s.get("beam_stop", "k-finished") != "k-finished":
        said.append(f"--beam-stop {s['beam_stop']}")
    for key, option in (("length_norm", "--length-norm"), ("coverage_penalty", "--coverage-penalty")):
        if s.get(key):
            said.append(f"{option} {s[key]:g}")
    for key, option, default in (("no_repeat_ngram", "--no-repeat-ngram", None), ("min_len", "--min-len", 1),
                                 ("max_len", max_len_option, None)):
        if s.get(key, default) != default:
            said.append(f"{option} {s[key]}")
    if s.get("replace_unk"):
        said.append("--replace-unk")
    return ", ".join(said)


def describe(s: dict[str, Any], max_len_option: str = "--max-len") -> str:
    how = decoding_said(s, max_len_option)
    return (f"BLEU {s['bleu']:.2f}, chrF {s['chrf']:.2f}, exact match {100 * s['exact_match']:.2f}% "
            f"({s['sentences']:,} sentences, {how}; BLEU {s['bleu_signature']}); reference loss {s['loss']:.4f} "
            f"per target token (perplexity {format_perplexity(s['ppl'])}, teacher-forced)")


def evaluate_seq2seq(model_path: str, data_path: str, args: argparse.Namespace) -> int:
    # DATA --ref REF: two files parallel by line, with which read_pairs refuses --columns and --header
    files = [data_path] if getattr(args, "ref", None) is None else [data_path, args.ref]
    check_decoding_options(args)
    with blas_threads(args):
        s = score_files(model_path, files, getattr(args, "beam", 1), getattr(args, "length_norm", 0.0),
                        getattr(args, "max_len", None), 64, getattr(args, "encoding", None) or "utf-8",
                        replace_unk=getattr(args, "replace_unk", False),
                        bleu_tokenize=getattr(args, "bleu_tokenize", None), min_len=getattr(args, "min_len", 1),
                        tsv_columns=getattr(args, "columns", None),
                        no_repeat_ngram=getattr(args, "no_repeat_ngram", None) or 0,
                        coverage_penalty=getattr(args, "coverage_penalty", 0.0), progress=args.progress,
                        beam_stop=getattr(args, "beam_stop", "k-finished"), header=getattr(args, "header", False))
    if args.json:
        print(json_line(s))
    else:
        print(f"{data_path}: {describe(s)}")
    return 0


evaluate_cli.EVALUATORS["seq2seq"] = evaluate_seq2seq
