"""``rnnkit train seq2seq``, ``rnnkit demo reverse`` and the seq2seq options of ``rnnkit evaluate MODEL
SRC --ref REF``: a thin layer over :mod:`rnnkit.seq2seq`.  Decoding, scoring and BLAS threads are in
:mod:`rnnkit.cli.seq2seq_score`.

Data come as two files parallel by line (``--train train.de.gz train.en.gz``) or one TSV file of
``source<TAB>target`` lines (``--train pairs.tsv``; ``--columns`` picks two of more).

BLEU's tokenizer (``--bleu-tokenize``, see :mod:`rnnkit.metrics.translation`) is ``auto`` unless asked:
``zh`` for Chinese references, ``char`` for Japanese, else 13a.  ``train seq2seq`` stores the choice in
the checkpoint and ``evaluate`` uses the stored one unless given another, so test and validation BLEU
are the same measure.  ``rnnkit translate`` is in :mod:`rnnkit.cli.translate`.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from rnnkit.cli.common import (
    HelpFormatter,
    add_layer_norm_option,
    add_peephole_option,
    add_residual_option,
    add_train_options,
    check_layer_norm,
    check_max_vocab,
    fit,
    nonnegative_float,
    nonnegative_int,
    peephole_rule,
    positive_int,
    probability,
    rate,
    residual_rule,
    run_folder,
    train_config_from_args,
)
from rnnkit.cli import seq2seq_bpe as bpe
from rnnkit.cli import seq2seq_pretrained as pretrained
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.seq2seq_data import columns, encode_splits, read_splits, reference, unk_rate
from rnnkit.cli.seq2seq_score import add_decoding_options, blas_threads, check_decoding_options, describe, score_files
from rnnkit.data.parallel import SPECIALS, build_vocab, filter_by_length
from rnnkit.data.tokenizer import LEVELS, Tokenizer
from rnnkit.metrics.translation import BLEU_TOKENIZERS
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig


def register(groups) -> None:
    fmt = HelpFormatter
    p = groups.train.add_parser(
        "seq2seq", help="train an attentional encoder-decoder (translation, any sequence pairs)",
        description="Train an encoder-decoder with attention on sentence pairs: two files parallel by line "
                    "(.gz/.xz read directly) or one TSV file of source<TAB>target lines.",
        formatter_class=fmt)
    d = p.add_argument_group("data")
    d.add_argument("--train", nargs="+", required=True, metavar="FILE", help="SRC TGT files, or one TSV file")
    d.add_argument("--valid", nargs="+", metavar="FILE",
                   help="validation SRC TGT or TSV: NLL and greedy BLEU each epoch, best checkpoint, early stopping")
    d.add_argument("--test", nargs="+", metavar="FILE", help="test SRC TGT or TSV, scored with the best model")
    d.add_argument("--level", choices=LEVELS, default="word",
                   help="tokens of both sides: whitespace words, words with punctuation split off (raw text), "
                        "characters, or BPE subword pieces learned from the training text (see --bpe-vocab)")
    d.add_argument("--source-level", choices=LEVELS, default=None,
                   help="tokens of the source side alone (default: --level), e.g. char for unsegmented Chinese "
                        "into English words")
    d.add_argument("--target-level", choices=LEVELS, default=None,
                   help="tokens of the target side alone (default: --level), e.g. char for English into "
                        "unsegmented Chinese")
    bpe.add_options(d)
    d.add_argument("--lowercase", action="store_true", help="lowercase both sides (BLEU is then case-insensitive)")
    d.add_argument("--max-vocab", type=positive_int, default=None,
                   help="tokens kept per side, specials included (default: no limit)")
    d.add_argument("--min-count", type=positive_int, default=1, help="tokens rarer than this in training become <unk>")
    d.add_argument("--max-length", type=positive_int, default=None,
                   help="drop training pairs with a side longer than this (default: keep all)")
    d.add_argument("--encoding", default="utf-8", help="text encoding of the data files")
    d.add_argument("--columns", type=columns, default=None, metavar="S,T",
                   help="the source and target columns (0-based) of a TSV file, such as 1,0 to translate a "
                        "two-column file's other way, 1,2 for id<TAB>source<TAB>target lines or 0,1 for Tatoeba's; "
                        "it applies to every TSV file given (--train, --valid, --test) and is kept with the model "
                        "for evaluate (default: a TSV must have two, source first)")
    d.add_argument("--header", action="store_true",
                   help="the TSV files' first line is a header (such as source<TAB>target or zh<TAB>en): skip it in "
                        "every TSV file given (--train, --valid, --test alike); without it, a first line of column "
                        "names is refused rather than trained on as a pair, and with it a first line that reads as "
                        "a pair is warned about; a resumed run needs the same")
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="gru", help="recurrent cell")
    m.add_argument("--attention", choices=["none", "additive", "dot", "general"], default="general",
                   help="additive (Bahdanau), dot or general (Luong), or none")
    m.add_argument("--copy", action="store_true",
                   help="copy attention (See et al. 2017's pointer-generator): each step mixes the output softmax "
                        "with the attention weights, so source words outside the target vocabulary (names, numbers) "
                        "can be output verbatim; needs attention")
    m.add_argument("--coverage", action="store_true",
                   help="coverage (Tu et al. 2016): the attention score also reads how much attention each source "
                        "word has had so far, against repeated and dropped words; needs --attention additive (dot "
                        "and general scores have no place for it and are refused)")
    m.add_argument("--coverage-loss", type=nonnegative_float, default=0.0, metavar="LAMBDA",
                   help="with --coverage, add See et al. 2017's coverage loss LAMBDA x sum_i min(a_ti, cov_ti) at "
                        "every target token, which penalises attending again where the attention has been "
                        "(default: 0, Tu et al.'s coverage alone; See et al. use 1)")
    m.add_argument("--no-input-feeding", action="store_true", help="do not feed h~_{t-1} to the decoder")
    m.add_argument("--unidirectional", action="store_true", help="left-to-right encoder (default bidirectional)")
    m.add_argument("--layers", type=positive_int, default=1, help="stacked layers in encoder and decoder")
    add_residual_option(m, "encoder layers (the decoder's have none)")
    add_peephole_option(m)
    add_layer_norm_option(m, "the encoder's and the decoder's cells")
    m.add_argument("--embed", type=positive_int, default=128,
                   help="embedding size of both sides, or of the side without --src-embeddings / --tgt-embeddings "
                        "(vectors set their side's size)")
    m.add_argument("--hidden", type=positive_int, default=256, help="decoder hidden units")
    m.add_argument("--encoder-hidden", type=positive_int, default=None,
                   help="encoder units per direction (default: --hidden // directions, so dot attention works)")
    m.add_argument("--attention-size", type=positive_int, default=None, help="additive attention units (default --hidden)")
    m.add_argument("--dropout", type=probability, default=0.2, help="dropout on embeddings, between layers and on h~")
    m.add_argument("--weight-drop", type=probability, default=0.0, metavar="P", help="DropConnect on the encoder's "
                   "and the decoder's recurrent weights W_hh, one mask per batch (AWD-LSTM; default: 0)")
    m.add_argument("--sampling-rate", type=rate, default=0.0,
                   help="scheduled sampling: feed the model's own previous token with this probability (drawn from "
                        "its output distribution: with --copy, the copy mixture)")
    pretrained.add_options(m)
    b = p.add_argument_group("batching and validation")
    b.add_argument("--batch-size", type=positive_int, default=64, help="sentence pairs per batch (bucketed by length)")
    b.add_argument("--eval-batch-size", type=positive_int, default=128, help="sentences per validation / test batch")
    b.add_argument("--bleu-sentences", type=nonnegative_int, default=500,
                   help="validation sentences decoded greedily each epoch for BLEU and exact match (0: none)")
    b.add_argument("--select-by", choices=["loss", "bleu"], default="loss",
                   help="keep the checkpoint (and stop early) by validation NLL or by greedy BLEU")
    b.add_argument("--bleu-tokenize", choices=BLEU_TOKENIZERS, default="auto",
                   help="sacrebleu's BLEU tokenizer for validation and test, stored with the model for 'rnnkit "
                        "evaluate': auto = zh for Chinese references, char for Japanese, else 13a (ja-mecab / "
                        "ko-mecab need sacrebleu[ja] / sacrebleu[ko])")
    b.add_argument("--max-decode-len", type=positive_int, default=None, metavar="N",
                   help="steps each validation / test sentence may take when decoding (default: ceil(ratio x "
                        "source tokens) + extra, fitted so that 99.9%% of the training pairs fit with 10 steps to spare)")
    t = p.add_argument_group("decoding the --test set", "the options of 'rnnkit translate' and 'rnnkit evaluate' "
                             "(--max-decode-len is their --max-len); they may change on --resume")
    add_decoding_options(t, prefix="test set: ", max_len=False)
    add_train_options(p, lr=1e-3, clip=5.0, optimizer="adam", epochs=10, run_dir="runs/seq2seq")
    p.set_defaults(func=train_seq2seq)

    e = groups.commands.choices.get("evaluate")
    if e is not None:  # rnnkit.cli.evaluate registers first; seq2seq models need a few more options
        e.add_argument("--ref", default=None,
                       help="seq2seq: reference file parallel to the DATA source file (without it DATA is a TSV)")
        e.add_argument("--columns", type=columns, default=None, metavar="S,T",
                       help="seq2seq: the source and reference columns (0-based) of a TSV DATA (default: the "
                            "columns the model was trained with, else a TSV must have two, source first)")
        add_decoding_options(e, prefix="seq2seq: ")
        e.add_argument("--bleu-tokenize", choices=BLEU_TOKENIZERS, default=None,
                       help="seq2seq: sacrebleu's BLEU tokenizer (default: the model's, from train seq2seq "
                            "--bleu-tokenize; auto = zh for Chinese references, char for Japanese, else 13a)")

    from rnnkit.demos.reverse import DEFAULTS

    r = groups.demo.add_parser(
        "reverse", help="an attentional GRU learns to reverse letter strings (under a minute)",
        description="Train a small GRU encoder-decoder with attention to reverse strings of letters, then show "
                    "examples and the exact match on held-out strings it never saw.",
        formatter_class=fmt)
    r.add_argument("--seed", type=nonnegative_int, default=DEFAULTS.seed, help="random seed")
    r.add_argument("--epochs", type=positive_int, default=DEFAULTS.epochs, help="passes over the training strings")
    r.add_argument("--train-size", type=positive_int, default=DEFAULTS.train_size, help="training strings")
    r.add_argument("--max-len", type=positive_int, default=DEFAULTS.max_len, help="longest training string")
    r.add_argument("--run-dir", type=run_folder, default="runs/reverse", help="where the model and checkpoints go")
    r.add_argument("--progress", choices=["auto", "bar", "lines", "none"], default="none", help="progress display")
    r.set_defaults(func=demo_reverse)


def _tokenizers_from(args: argparse.Namespace) -> tuple[Tokenizer, Tokenizer]:
    """The source and the target side's tokenizers: --source-level and --target-level, each --level unless
    given (a bpe side's reads words until its model is learned: :func:`rnnkit.cli.seq2seq_bpe.learn`)."""
    from rnnkit.cli.given import refuse_unused

    refuse_unused(args, [("--level", args.source_level is not None and args.target_level is not None,
                          "with both --source-level and --target-level, which set each side: drop one of them")])
    return tuple(bpe.reading_tokenizer(level, args.lowercase) for level in bpe.levels(args))


def check_model_options(args: argparse.Namespace) -> None:
    """The option combinations Seq2SeqConfig would reject, said in the options' own names (before any
    data is read).  Dot attention scores s_j . h_t, so the decoder's --hidden must equal the encoder
    state's size, directions x --encoder-hidden (--encoder-hidden defaults to --hidden // directions).
    --layer-norm: two units or more per encoder direction and in the decoder for the Elman RNN and the LSTM."""
    dirs = 1 if args.unidirectional else 2
    if args.encoder_hidden is not None:  # both sides of one unit named in one message, not the encoder's first
        both = args.hidden == 1
        check_layer_norm(args, args.encoder_hidden, "--encoder-hidden 1" + (", --hidden 1" if both else ""),
                         "give the encoder and the decoder 2 units or more (--encoder-hidden, --hidden)" if both
                         else "give the encoder 2 units or more (--encoder-hidden)")
    elif dirs == 2:  # the encoder's units a direction first: their fix (--hidden 4) also suits the decoder
        check_layer_norm(args, max(1, args.hidden // 2), f"--hidden {args.hidden} (the bidirectional encoder gets "
                         "half of --hidden, 1 unit a direction)", "give --hidden 4 or more (2 units a direction)"
                         + ("" if args.hidden == 1 else " or the encoder 2 units or more (--encoder-hidden)"))
    check_layer_norm(args)  # the decoder's --hidden (a one-direction encoder's too, without --encoder-hidden)
    if args.attention_size is not None and args.attention != "additive":
        raise ValueError(f"--attention-size sets additive attention's units; --attention {args.attention} has none, so "
                         "it would be ignored: add --attention additive or leave --attention-size out")
    if getattr(args, "copy", False) and args.attention == "none":
        raise ValueError("--copy copies source words through the attention weights, and --attention none has none; "
                         "choose --attention general (or dot, additive) or leave --copy out")
    if getattr(args, "coverage", False) and args.attention != "additive":
        raise ValueError(f"--coverage adds its term inside the additive score's tanh, and --attention {args.attention} "
                         "has none; choose --attention additive or leave --coverage out")
    if getattr(args, "coverage_loss", 0.0) and not getattr(args, "coverage", False):
        raise ValueError("--coverage-loss penalises attending again where the coverage vector has been, and there is "
                         "none without --coverage; add --coverage or leave --coverage-loss out")
    for option, does in (("--replace-unk", "copies the source word the decoder attends to"),
                         ("--coverage-penalty", "favours translations whose attention covered the source")):
        if getattr(args, option[2:].replace("-", "_"), None) and args.attention == "none":
            raise ValueError(f"{option} {does}, and --attention none has no attention; choose --attention general "
                             f"(or dot, additive) or leave {option} out")
    if args.attention != "dot":
        return
    if args.encoder_hidden is None:
        if args.hidden % dirs or args.hidden < dirs:  # the default --hidden // 2 cannot match an odd --hidden
            ok = max(2, args.hidden - 1)
            raise ValueError(f"--attention dot needs an even --hidden with a bidirectional encoder (each direction "
                             f"gets --hidden / 2 units), got --hidden {args.hidden}; use --attention general, set "
                             f"--hidden {ok}{f' or {args.hidden + 1}' if ok != args.hidden + 1 else ''}, "
                             f"or add --unidirectional")
        return
    need = dirs * args.encoder_hidden
    if args.hidden != need:
        enc = ("2 x --encoder-hidden (bidirectional encoder)" if dirs == 2
               else "--encoder-hidden (--unidirectional encoder)")
        raise ValueError(f"--attention dot needs --hidden equal to {enc} = {need}, got --hidden {args.hidden}; "
                         f"use --attention general, set --hidden {need}, or leave out --encoder-hidden (it then "
                         f"defaults to --hidden{' / 2' if dirs == 2 else ''})")


def build_model(args: argparse.Namespace, src_size: int, tgt_size: int, rng: np.random.Generator,
                embed: tuple[int, int] | None = None) -> Seq2Seq:
    """The model of the options; ``embed``: the (source, target) embedding sizes, else --embed for both."""
    dirs = 1 if args.unidirectional else 2
    enc_hidden = args.encoder_hidden or max(1, args.hidden // dirs)
    src_embed, tgt_embed = embed or (args.embed, args.embed)
    cfg = Seq2SeqConfig(src_vocab_size=src_size, tgt_vocab_size=tgt_size, cell=args.cell,
                        src_embedding_dim=src_embed, tgt_embedding_dim=tgt_embed, encoder_hidden_size=enc_hidden,
                        decoder_hidden_size=args.hidden, encoder_layers=args.layers, decoder_layers=args.layers,
                        bidirectional=not args.unidirectional, attention=args.attention,
                        attention_size=args.attention_size or args.hidden,
                        input_feeding=not args.no_input_feeding, dropout=args.dropout, weight_drop=args.weight_drop,
                        tie_weights=getattr(args, "tie", False), residual=getattr(args, "residual", False),
                        peephole=getattr(args, "peephole", False), layer_norm=getattr(args, "layer_norm", False),
                        copy=getattr(args, "copy", False), coverage=getattr(args, "coverage", False))
    return Seq2Seq(cfg, rng)


def train_seq2seq(args: argparse.Namespace) -> int:
    from rnnkit.seq2seq.io import seq2seq_meta
    from rnnkit.seq2seq.task import Seq2SeqTask

    cfg = train_config_from_args(args)
    check_model_options(args)  # before the data are read: a wrong combination fails at once
    pretrained.check_options(args)
    if args.select_by == "bleu" and not args.valid:  # also where --select-by was not written (a library caller)
        raise ValueError("--select-by bleu has no effect without --valid (it chooses best.safetensors by validation "
                         "BLEU): give --valid, or leave --select-by out")
    if args.select_by == "bleu" and args.bleu_sentences < 1:
        raise ValueError(f"--select-by bleu chooses the best epoch by the BLEU of --bleu-sentences validation "
                         f"sentences, and --bleu-sentences {args.bleu_sentences} decodes none: give --bleu-sentences 1 "
                         "or more, or --select-by loss")
    test_only = (not args.test, "without --test (it applies to decoding the test set): give --test")
    bleu = args.test or (args.valid and args.bleu_sentences)  # something is decoded
    no_tsv = all(len(f) == 2 for f in (args.train, args.valid, args.test) if f)  # --columns, --header: of a TSV
    refuse_unused(args, [
        *((option, *test_only) for option in ("--beam", "--length-norm", "--coverage-penalty", "--beam-stop",
                                              "--no-repeat-ngram",
                                              "--min-len", "--replace-unk")), residual_rule(args),
        peephole_rule(args),
        ("--bleu-sentences", not args.valid, "without --valid (it sets how much of it is decoded): give --valid"),
        ("--select-by", not args.valid, "without --valid (it chooses best.safetensors by validation): give --valid"),
        ("--max-decode-len", not bleu, "when nothing is decoded (it limits decoding the --valid sentences for "
                                          "BLEU and the --test ones): give --valid or --test"),
        ("--eval-batch-size", not (args.valid or args.test), "without --valid or --test (it batches them): give one"),
        ("--columns", no_tsv, "without a TSV file (it picks a TSV's columns): give one file of pairs"),
        ("--header", no_tsv, "without a TSV file (it skips a TSV file's first line): give one file of pairs"),
        *bpe.unused_rules(args),
    ])
    bpe.check_installed(args)
    check_decoding_options(args, "--max-decode-len")
    if bleu:  # sacrebleu looked for now, not after the first epoch (and before a new run clears the folder)
        from rnnkit.metrics.translation import check_bleu_tokenize

        try:
            check_bleu_tokenize(args.bleu_tokenize)
        except ImportError as exc:
            if args.test or args.select_by == "bleu":
                raise
            raise ImportError(f"{exc}; --valid scores greedy BLEU each epoch: install it, or give "
                              "--bleu-sentences 0 for the validation loss alone") from None
    check_max_vocab(args.max_vocab, SPECIALS)
    src_tok, tok = _tokenizers_from(args)  # tok: the target side's, which output and references are written in
    train, valid, test = read_splits(args, src_tok, tok)  # test before training: a wrong path fails at once
    src_tok, tok, learned = bpe.learn(args, train, (src_tok, tok))
    train, valid, test = (bpe.retokenize(pairs, (src_tok, tok)) for pairs in (train, valid, test))
    kept = filter_by_length(train, args.max_length, args.max_length)
    if not kept:
        raise ValueError(f"All {len(train):,} training pairs have a side longer than --max-length "
                         f"{args.max_length} tokens; raise --max-length or leave it out")
    bpe.warn_lone_characters(args, kept, (src_tok, tok), learned)
    from rnnkit.cli.text_warnings import SEGMENT_FIRST, warn_unsegmented

    for side, where, side_tok in ((0, "source", src_tok), (1, "target", tok)):
        if side_tok.level not in ("char", "bpe"):
            option = f"--{where}-level" if getattr(args, f"{where}_level") else "--level"
            warn_unsegmented([" ".join(p[side]) for p in kept[:20_000]], f"{args.train[side if len(args.train) == 2 else 0]}"
                             f" ({where} side)", f"at {option} {side_tok.level} {SEGMENT_FIRST}, or train with "
                             f"--{where}-level char")
    src_vocab = build_vocab((p.source for p in kept), args.max_vocab, args.min_count)
    tgt_vocab = build_vocab((p.target for p in kept), args.max_vocab, args.min_count)
    for vocab, side in ((src_vocab, "source"), (tgt_vocab, "target")):
        if len(vocab) <= len(SPECIALS):
            raise ValueError(f"--min-count {args.min_count} leaves no {side} token of the training pairs in the "
                             f"vocabulary (only {', '.join(SPECIALS)}); lower --min-count")
    dropped = f" ({len(train) - len(kept):,} longer than --max-length dropped)" if len(kept) < len(train) else ""
    levels = (f"{src_tok.level} / {tok.level}" if src_tok.level != tok.level else tok.level)
    subwords = ("; a bpe vocabulary holds the pieces the training text is split into: fewer than the model's "
                "pieces, some of which are merge steps inside longer pieces")
    subwords = subwords if "bpe" in (src_tok.level, tok.level) else ""
    inner = len(src_vocab) - len(SPECIALS), len(tgt_vocab) - len(SPECIALS)  # the training text's own types
    print(f"train: {len(kept):,} pairs{dropped}; vocabulary {inner[0]:,} source / {inner[1]:,} target {levels} types "
          f"(+ {', '.join(SPECIALS)} each){subwords}", file=sys.stderr)
    if valid is not None:
        print(f"valid: {len(valid):,} pairs, unknown tokens {100 * unk_rate(valid, 0, src_vocab):.2f}% source / "
              f"{100 * unk_rate(valid, 1, tgt_vocab):.2f}% target", file=sys.stderr)
    vectors = pretrained.read(args, src_vocab.tokens, tgt_vocab.tokens)
    with blas_threads(args):
        model = build_model(args, len(src_vocab), len(tgt_vocab), np.random.default_rng(cfg.seed),
                            pretrained.embedding_sizes(args, vectors))
        units = [{"char": "characters", "bpe": "BPE pieces"}.get(t.level, "words") for t in (src_tok, tok)]
        cfg = pretrained.apply(args, model, (src_vocab.tokens, tgt_vocab.tokens), units, vectors, cfg)
        train_ids, valid_ids, detokenize, valid_oovs = encode_splits(args, src_vocab, tgt_vocab, tok, kept, valid)
        task = Seq2SeqTask(
            model, train_ids, valid_ids,
            batch_size=args.batch_size, eval_batch_size=args.eval_batch_size, sampling_rate=args.sampling_rate,
            coverage_loss=args.coverage_loss,
            seed=cfg.seed, bleu_sentences=args.bleu_sentences,
            valid_references=None if valid is None else [reference(p.target_text, tok) for p in valid],
            detokenize=detokenize, select_by=args.select_by, valid_oovs=valid_oovs,
            max_decode_len=args.max_decode_len, bleu_tokenize=args.bleu_tokenize,
            # select_by rides along so that --resume refuses a change of it: the best so far was measured
            # by the other criterion (NLL against 100 - BLEU)
            meta={**seq2seq_meta(model, src_vocab, tgt_vocab, src_tok, tok, args.bleu_tokenize),
                  "select_by": args.select_by, "max_length": args.max_length, "max_vocab": args.max_vocab,
                  "min_count": args.min_count,
                  # evaluate reads a TSV's pairs from the columns training read (1,0: the other direction)
                  "tsv_columns": None if args.columns is None else list(args.columns)})
        if valid is not None and args.bleu_sentences > 0:
            how = " (auto, from the references' script; --bleu-tokenize to choose)" * (args.bleu_tokenize == "auto")
            print(f"valid: BLEU tokenizer {task.bleu_tokenize}{how}", file=sys.stderr)
        done = fit(task, cfg, args.run_dir, args.resume, args.train, show_ppl=True,
                   # --header decides which lines are pairs, and the data's fingerprint is of the files' bytes
                   options={**pretrained.run_options(args), "--header": args.header})
        if done is None:  # a process other than 0 of several: process 0 reports
            return 0
        best = done[1]
        if test is not None:
            scores = score_files(str(best), args.test, args.beam, args.length_norm, args.max_decode_len,
                                 args.eval_batch_size, args.encoding, args.replace_unk, pairs=test,
                                 max_len_option="--max-decode-len", min_len=args.min_len,
                                 no_repeat_ngram=args.no_repeat_ngram or 0, coverage_penalty=args.coverage_penalty,
                                 beam_stop=args.beam_stop)
            print(f"test: {describe(scores, '--max-decode-len')}")
    print(f"translate with: rnnkit translate {best} INPUT", file=sys.stderr)
    return 0


train_seq2seq.data_parallel = True  # mpiexec -n P rnnkit train seq2seq ...: several processes


def demo_reverse(args: argparse.Namespace) -> int:
    from rnnkit.cli.charlm_demo import refuse_main_demo_options
    from rnnkit.demos.reverse import ReverseDemoConfig, run_reverse_demo

    refuse_main_demo_options(args, "reverse")
    shortest = ReverseDemoConfig.min_len
    if args.max_len < shortest:
        raise ValueError(f"--max-len {args.max_len} is below the demo's shortest strings ({shortest} letters); give "
                         f"--max-len {shortest} or more")
    cfg = ReverseDemoConfig(seed=args.seed, epochs=args.epochs, train_size=args.train_size, max_len=args.max_len)
    with blas_threads(args):
        run_reverse_demo(cfg, args.run_dir, progress=args.progress, log=print)
    return 0
