"""``rnnkit train ngram``: an n-gram language-model baseline, with its perplexity on each file.

The perplexity is the one the RNN language model reports (every token predicted, ``<eos>`` included,
natural log), so the two columns compare.  See :mod:`rnnkit.lm.ngram` for the conventions.  At ``--level
bpe`` the tokens are the pieces ``train lm --level bpe`` reads (:mod:`rnnkit.cli.lm_bpe`: a SentencePiece
model learned from ``--train``, kept in the ``--save`` checkpoint), and each file's line gives the per-word
perplexity and bits per character of :mod:`rnnkit.lm.units` beside the per-piece perplexity, as the BPE
RNN's do; an ARPA file cannot carry the SentencePiece model, so ``--arpa`` is refused there.
"""
from __future__ import annotations

import argparse
import os
import time

from rnnkit.cli import lm_bpe
from rnnkit.cli.common import check_max_vocab, check_min_count, positive_float, positive_int, vocab_types
from rnnkit.cli.given import refuse_unused
from rnnkit.data.files import check_output_path
from rnnkit.data.text import LEVELS
from rnnkit.data.text_ids import read_ids
from rnnkit.lm.ngram import SMOOTHINGS, NGramLM
from rnnkit.train.progress import format_perplexity


def register(groups) -> None:
    p = groups.train.add_parser(
        "ngram",
        help="n-gram language model baseline (Kneser-Ney, Katz or add-delta)",
        description="Train an n-gram language model on --train and print the vocabulary size, the OOV "
        "rate and the perplexity of every file given.",
    )
    p.add_argument("--train", required=True, metavar="FILE",
                   help="training text (UTF-8 unless --encoding), .gz, .bz2 or .xz read directly (required)")
    p.add_argument("--valid", metavar="FILE", help="validation text to evaluate (default: none)")
    p.add_argument("--test", metavar="FILE", help="test text to evaluate (default: none)")
    p.add_argument("--order", type=positive_int, default=5, help="n, the n-gram order, >= 1 (default: 5)")
    p.add_argument("--smoothing", choices=SMOOTHINGS, default="kneser_ney",
                   help="interpolated modified Kneser-Ney, Katz backoff or add-delta (default: kneser_ney)")
    p.add_argument("--delta", type=positive_float, default=None,
                   help="the delta of add-delta smoothing; 1 is Laplace (default: 1.0)")
    p.add_argument("--level", choices=[*LEVELS, "bpe"], default="word",
                   help="word: whitespace tokens plus <eos> per line; char: every character; bpe: the subword "
                        "pieces of 'train lm --level bpe' (a SentencePiece model learned from --train, saved with "
                        "--save), <eos> per line, and per-word perplexity and bits/char beside the per-piece "
                        "perplexity (default: word)")
    p.add_argument("--max-vocab", type=positive_int, default=None, metavar="N",
                   help="keep at most N tokens, <unk> and <eos> included (default: no limit)")
    p.add_argument("--min-count", type=positive_int, default=1, metavar="N",
                   help="map training tokens seen fewer than N times to <unk> (default: 1)")
    lm_bpe.add_option(p)
    p.add_argument("--encoding", default="utf-8",
                   help="text encoding of the files (e.g. gb18030 or big5 for Chinese text) (default: utf-8)")
    p.add_argument("--save", metavar="PATH", help="write the model and its vocabulary to PATH, a checkpoint "
                   "(safetensors) that 'rnnkit evaluate' and 'rnnkit generate' take (default: not saved)")
    p.add_argument("--arpa", metavar="PATH", help="also write the model as an ARPA file (compressed when PATH ends "
                   "in .gz, .xz or .bz2), which SRILM, KenLM and other toolkits read, and 'rnnkit evaluate', 'score' "
                   "and 'generate' too; Kneser-Ney or Katz, not at --level bpe (an ARPA file cannot hold its "
                   "SentencePiece model).  At --level char each character is a token, a space written <space>, a "
                   "newline </s> and other whitespace <U+XXXX> (default: not written)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # build the model first: a bad --order or --delta fails before any file is read
    if args.delta is not None and args.smoothing != "add_delta":
        raise ValueError(f"--delta is add-delta smoothing's; with --smoothing {args.smoothing} it would be ignored: "
                         "add --smoothing add_delta or leave --delta out")
    model = NGramLM(args.order, args.smoothing, args.delta)  # delta None: add-one for add_delta
    refuse_unused(args, lm_bpe.unused_rules(args))
    lm_bpe.check_installed(args)
    if args.arpa:
        _check_arpa(args)
    if args.save:
        check_output_path(args.save, "--save", make_folders=True, suffix=".safetensors",
                          inputs=[args.train, getattr(args, "valid", None), getattr(args, "test", None)])
    check_max_vocab(args.max_vocab, ["<unk>", "<eos>"] if args.level == "word" else ["<unk>"])
    reader = lm_bpe.Reader(args) if args.level == "bpe" else read_ids  # bpe: learns its model from --train
    vocab, train_ids, train_head, train_oov = reader(args.train, args.level, args.encoding, max_size=args.max_vocab,
                                                     min_count=args.min_count)
    check_min_count(args.min_count, vocab, args.train)
    files = [("train", args.train, train_ids, train_oov)]
    for name, path in (("valid", args.valid), ("test", args.test)):
        if path is not None:
            read = reader(path, args.level, args.encoding, vocab=vocab, head=0)
            files.append((name, path, read.ids, read.oov))
    bpe = reader.model if args.level == "bpe" else None
    print(f"vocabulary: {vocab_types(vocab, args.level)} from {train_ids.size:,} training tokens")
    if bpe is not None:
        reader.warn_lone(vocab)
    if args.level == "word":
        from rnnkit.cli.text_warnings import SEGMENT_FIRST, warn_unsegmented

        warn_unsegmented([" ".join(train_head)], args.train, f"at --level word {SEGMENT_FIRST}, "
                         "or train with --level char")
    start = time.perf_counter()
    model.fit(train_ids, len(vocab), eos_id=vocab.eos_id)
    seconds = time.perf_counter() - start
    print(f"{args.order}-gram {args.smoothing} fitted in {seconds:.1f} s")
    for name, path, ids, oov in files:
        if bpe is not None:  # every piece predicted: the per-word and per-character figures are exact
            print(f"{name}: {path}: {_bpe_line(model, ids, reader.units[path], oov.fraction)}")
            continue
        ppl = model.perplexity(ids)
        print(f"{name}: {path}: {oov.total:,} tokens, OOV {oov.count:,} ({100 * oov.fraction:.2f}%), "
              f"perplexity {format_perplexity(ppl)}")
    if args.save:
        model.save(args.save, vocab=vocab, level=args.level, bpe_model=bpe)
        print(f"model saved: {args.save}")
    if args.arpa:
        from rnnkit.lm.arpa import save_arpa

        save_arpa(args.arpa, model, vocab)
        print(f"ARPA file written: {args.arpa}")
    return 0


def _bpe_line(model: NGramLM, ids, units, oov: float) -> str:
    """A BPE-level file's figures as ``evaluate`` prints a BPE model's (:func:`rnnkit.cli.evaluate.lm_result_line`)."""
    from rnnkit.cli.evaluate import lm_result_line
    from rnnkit.lm.evaluate import metrics_from_nll
    from rnnkit.lm.units import with_units

    logp = model.token_logprobs(ids)  # (N,) every piece, <eos> included
    return lm_result_line(with_units(metrics_from_nll(-float(logp.sum()), logp.size), units), "bpe", oov)


def _check_arpa(args: argparse.Namespace) -> None:
    """--arpa with a model that has no ARPA form, or a path that cannot be written: said before any work."""
    if args.level == "bpe":
        raise ValueError("--arpa cannot go with --level bpe: an ARPA file holds no SentencePiece model, so no reader "
                         "would split text into the same pieces; save the model with --save FILE (it keeps both)")
    if args.smoothing == "add_delta":
        raise ValueError("--arpa needs --smoothing kneser_ney or katz: add-delta smoothing has no back-off "
                         "weights, so no ARPA form")
    if args.save and os.path.abspath(args.save) == os.path.abspath(args.arpa):
        raise ValueError(f"--arpa {args.arpa} is also --save's path; give the ARPA file a name of its own, e.g. "
                         "model.arpa")
    check_output_path(args.arpa, "--arpa", make_folders=True, suffix=".arpa",
                      inputs=[args.train, getattr(args, "valid", None), getattr(args, "test", None)])
