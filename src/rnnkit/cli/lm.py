"""``rnnkit train lm``, and the options of ``rnnkit generate`` (run by :mod:`rnnkit.cli.generate`): a thin layer
over :mod:`rnnkit.lm`."""
from __future__ import annotations

import argparse
import math
import shlex
import sys

import numpy as np

from rnnkit.cli.evaluate import lm_result_line
from rnnkit.cli.common import (
    HelpFormatter,
    _number,
    add_layer_norm_option,
    add_peephole_option,
    add_residual_option,
    add_train_options,
    check_layer_norm,
    check_max_vocab,
    check_min_count,
    fit,
    fraction,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
    peephole_rule,
    residual_rule,
    train_config_from_args,
    vocab_tokens,
    vocab_types,
)
from rnnkit.cli import lm_bpe, next_tokens, processes
from rnnkit.cli.generate import generate
from rnnkit.cli.given import given, refuse_unused
from rnnkit.cli.lm_files import add_level_option
from rnnkit.cli.pretrained import (
    add_pretrained_options,
    apply_pretrained,
    embedding_size,
    embeddings_option,
    vocabulary_options,
    read_pretrained,
)
from rnnkit.cli.text_warnings import unsegmented, warn, warn_unknown_perplexity
from rnnkit.data.vocab import Vocabulary
from rnnkit.init import INIT_SCALE_RANGE, MAX_INIT_SCALE
from rnnkit.lm.adaptive_softmax import check_cutoffs, default_cutoffs
from rnnkit.lm.class_softmax import class_ordered_ids, frequency_classes
from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.lm.io import lm_meta, load_lm
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.task import LMTask
from rnnkit.lm.units import with_units


def init_scale(text: str) -> float:
    """argparse type of --init-scale: s of U(-s, s), at most rnnkit.init.MAX_INIT_SCALE, as gradflow's --init."""
    return _number(text, lambda s: 0 < s <= MAX_INIT_SCALE, INIT_SCALE_RANGE)


def temperature(text: str) -> float:
    """argparse type of --temperature: a finite number > 0; 0, the limit that always takes the most likely
    token, is named as --greedy."""
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError as exc:
        try:
            zero = float(text) == 0
        except ValueError:
            zero = False
        if zero:
            raise argparse.ArgumentTypeError(f"{exc} (temperature 0 is greedy decoding: give --greedy)") from None
        raise


def register(groups) -> None:
    p = groups.train.add_parser(
        "lm", help="train a character-, word- or subword-level (BPE) RNN language model",
        description="Train a recurrent language model on a UTF-8 text file with stateful truncated BPTT.  "
                    "Started as several processes by an MPI launcher (mpiexec -n P rnnkit train lm ...; needs "
                    "mpi4py), each trains B / P of the --batch-size streams and all take the same steps.",
        formatter_class=HelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True, help="training text file (UTF-8; .gz, .bz2 or .xz read directly)")
    d.add_argument("--valid", help="validation file, for perplexity each epoch, early stopping and the best checkpoint")
    d.add_argument("--test", help="test file, read before training and scored with the best model at the end")
    d.add_argument("--encoding", default="utf-8",
                   help="text encoding of --train, --valid and --test (e.g. gb18030 or big5 for Chinese text; a file "
                        "that does not decode is named with what it probably is)")
    d.add_argument("--level", choices=["char", "word", "bpe"], default="word",
                   help="tokens: characters (every Unicode character, newline included), whitespace words "
                        "with <eos> at each line end (PTB convention), or BPE subword pieces of each line with "
                        "<eos> at its end (validation and --test also report per-word perplexity and bits per "
                        "character, which compare with the other levels)")
    lm_bpe.add_option(d)
    d.add_argument("--max-vocab", type=positive_int, default=None,
                   help="keep at most this many tokens (others become <unk>; default: no limit)")
    d.add_argument("--min-count", type=positive_int, default=1, help="tokens rarer than this in training become <unk>")
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm", help="recurrent cell")
    m.add_argument("--layers", type=positive_int, default=2, help="stacked recurrent layers")
    add_residual_option(m)
    add_peephole_option(m)
    add_layer_norm_option(m)
    m.add_argument("--hidden", type=positive_int, default=200, help="hidden units per layer")
    m.add_argument("--embed", type=positive_int, default=None,
                   help="embedding size (default: --hidden, or the size of --embeddings' vectors)")
    add_pretrained_options(m, "token (word or character)")
    m.add_argument("--dropout", type=probability, default=0.0, help="dropout on input, between layers and on output")
    m.add_argument("--dropout-input", type=probability, default=None, metavar="P",
                   help="dropout on the embeddings only (default: --dropout; char-rnn uses 0)")
    m.add_argument("--dropout-hidden", type=probability, default=None, metavar="P",
                   help="dropout between recurrent layers only (default: --dropout)")
    m.add_argument("--dropout-output", type=probability, default=None, metavar="P",
                   help="dropout on the last layer's outputs only (default: --dropout)")
    m.add_argument("--variational", action="store_true", help="one dropout mask per sequence, shared across time")
    m.add_argument("--weight-drop", type=probability, default=0.0, metavar="P",
                   help="DropConnect on the recurrent weights W_hh, one mask per window (AWD-LSTM; default: 0)")
    m.add_argument("--tie", action="store_true", help="tie the output layer to the embedding (needs --embed = --hidden)")
    m.add_argument("--softmax", choices=["full", "class", "adaptive"], default="full",
                   help="full softmax, Mikolov's class-based factorised softmax, or Grave et al.'s adaptive softmax "
                        "(both exact and much faster for large vocabularies)")
    m.add_argument("--classes", type=nonnegative_int, default=0, help="classes for --softmax class (0: about sqrt(V))")
    m.add_argument("--class-power", type=nonnegative_float, default=1.0,
                   help="--softmax class: frequency bins of equal total count**power; 1: equal frequency mass "
                        "(RNNLM's 'old classes', the better one on PTB here), 0.5: sqrt (RNNLM's default)")
    m.add_argument("--cutoffs", type=cutoff_list, default=None, metavar="C0,C1,...",
                   help="--softmax adaptive: the shortlist size and the tail clusters' bounds, in words sorted by "
                        "frequency (default: 2000, then 10000 and 50000 where below the vocabulary size)")
    m.add_argument("--div-value", type=positive_float, default=4.0,
                   help="--softmax adaptive: tail cluster i projects to hidden / div_value**(i+1) units")
    m.add_argument("--init-scale", type=init_scale, default=None,
                   help="initialise every parameter from U(-s, s) (Zaremba: 0.1); default: PyTorch's initialisation")
    b = p.add_argument_group("batching")
    b.add_argument("--batch-size", type=positive_int, default=20,
                   help="parallel streams B (under mpiexec -n P, in all: each process trains B / P)")
    b.add_argument("--bptt", type=positive_int, default=35, help="truncated BPTT window T (the state carries across windows)")
    b.add_argument("--jitter", action="store_true", help="randomly vary the window length (AWD-LSTM recipe)")
    b.add_argument("--loss-scale", choices=["token", "batch"], default="token",
                   help="gradient of the mean loss per token of a full --bptt window, or summed over time and averaged "
                        "over the batch (Zaremba); either way a shorter window (an epoch's last) weighs by its tokens")
    b.add_argument("--eval-batch-size", type=positive_int, default=10,
                   help="streams for validation perplexity (each stream's first token and the tail of up to B-1 "
                        "tokens are not predicted)")
    b.add_argument("--test-batch-size", type=positive_int, default=1,
                   help="streams for --test; 1 predicts every token, as 'rnnkit evaluate' does")
    add_train_options(p, lr=1.0, clip=5.0, optimizer="sgd", seeded="; --jitter's window lengths")
    p.set_defaults(func=train_lm)

    g = groups.commands.add_parser(
        "generate", help="sample text from a trained language model (or list the likeliest next tokens)",
        description="Sample text from a language model checkpoint (recurrent, or n-gram from 'rnnkit train ngram "
                    "--save') or ARPA file; the text streams to stdout.  With --next K, list the K most likely next "
                    "tokens after --prime and their probabilities instead.",
        formatter_class=HelpFormatter,
    )
    g.add_argument("model", help="checkpoint (e.g. runs/lm/best.safetensors), its run folder, or an ARPA file "
                                 "(kn5.arpa, .gz, .xz or .bz2 too)")
    g.add_argument("--prime", default=None, help="text to start from (default: a newline / <eos>); a word-level "
                   "model's prime is written as it reads it, each <eos> a line end")
    g.add_argument("--length", type=positive_int, default=300, help="tokens to generate (at most, with --lines)")
    g.add_argument("--lines", type=positive_int, default=None, metavar="N",
                   help="stop at the end of the N-th line: N sentences (<eos>) of a word- or BPE-level model, N "
                        "newlines of a character-level one (default: no stop before --length)")
    g.add_argument("--temperature", type=temperature, default=None,
                   help="divide log-probabilities by this (lower: safer; default: 1; for the most likely token "
                        "each step, --greedy)")
    g.add_argument("--top-k", type=nonnegative_int, default=0,
                   help="sample only among the k most likely tokens (0: all)")
    g.add_argument("--top-p", type=fraction, default=None,
                   help="sample from the smallest set with this much probability, in (0, 1] (default: 1, all)")
    g.add_argument("--greedy", action="store_true", help="always take the most likely token")
    g.add_argument("--seed", type=nonnegative_int, default=None,
                   help="random seed of the sampling: the same seed gives the same text (default 0)")
    add_level_option(g)
    next_tokens.add_options(g)
    g.set_defaults(func=generate)


def cutoff_list(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated positive integers, strictly increasing."""
    try:
        cut = tuple(int(x) for x in text.split(","))
    except ValueError:
        cut = ()
    if not cut or min(cut) < 1 or any(b <= a for a, b in zip(cut, cut[1:])):
        raise argparse.ArgumentTypeError(f"Expected comma-separated increasing positive integers "
                                         f"such as 2000,10000, got {text!r}")
    return cut


def build_model(args, vocab, classes: np.ndarray | None, rng: np.random.Generator, vectors=None) -> LanguageModel:
    V = len(vocab)
    embed = embedding_size(args, vectors, args.hidden)
    if args.tie and embed != args.hidden:
        raise ValueError(f"--tie needs the embedding size to equal --hidden ({args.hidden}); the --embeddings "
                         f"vectors have {embed} dimensions: give --hidden {embed}, or leave --tie out")

    def drop(p: float | None) -> float:  # a site's own option, else --dropout
        return args.dropout if p is None else p

    cfg = LMConfig(vocab_size=V, cell=args.cell, embedding_dim=embed, hidden_size=args.hidden,
                   num_layers=args.layers, dropout_input=drop(args.dropout_input),
                   dropout_hidden=drop(args.dropout_hidden), dropout_output=drop(args.dropout_output),
                   variational=args.variational, weight_drop=args.weight_drop, tie_weights=args.tie,
                   softmax=args.softmax, num_classes=args.classes, cutoffs=args.cutoffs or (),
                   div_value=args.div_value, init_scale=args.init_scale, residual=args.residual,
                   peephole=args.peephole, layer_norm=args.layer_norm)
    return LanguageModel(cfg, rng, word_classes=classes)


def _renumbered(vocab: Vocabulary, order: np.ndarray) -> Vocabulary:
    """The vocabulary whose new id k is the old id order[k]."""
    return Vocabulary(vocab.decode(order), unk_token=vocab.unk_token, eos_token=vocab.eos_token)


def train_lm(args) -> int:
    if (args.cutoffs or given(args, "cutoffs")) and args.softmax != "adaptive":  # given: written, whatever its value
        raise ValueError(f"--cutoffs shape the adaptive softmax; with --softmax {args.softmax} they would be ignored: "
                         "add --softmax adaptive or leave --cutoffs out")
    if (args.classes or given(args, "classes")) and args.softmax != "class":  # given: even --classes 0
        raise ValueError(f"--classes sets the class-based softmax's classes; with --softmax {args.softmax} it would "
                         "be ignored: add --softmax class or leave --classes out")
    if args.tie and args.softmax == "adaptive":  # said before the data are read
        raise ValueError("--tie shares the output layer's (V, H) matrix with the embedding, and --softmax adaptive "
                         "has none (a head and projected tail clusters): drop --tie, or use --softmax full or class")
    if args.tie and args.embed is not None and args.embed != args.hidden:  # said before the data are read
        raise ValueError(f"--tie shares one matrix between the embedding and the output layer, so --embed must "
                         f"equal --hidden ({args.hidden}), got --embed {args.embed}: leave --embed out or give "
                         f"--embed {args.hidden}")
    sites = (args.dropout_input, args.dropout_output) + ((args.dropout_hidden,) if args.layers > 1 else ())
    rates = [args.dropout if p is None else p for p in sites]  # the dropout that acts
    refuse_unused(args, [
        ("--div-value", args.softmax != "adaptive", "without --softmax adaptive (it sizes the tail clusters): add it"),
        ("--class-power", args.softmax != "class", "without --softmax class (it shapes the classes): add it"),
        ("--dropout-hidden", args.layers == 1, "with --layers 1 (it acts between recurrent layers): add layers"),
        residual_rule(args),
        peephole_rule(args),
        ("--dropout", all(p is not None for p in sites), "when every dropout it sets is given its own rate ("
         + ", ".join(["--dropout-input", "--dropout-output"] + ["--dropout-hidden"] * (args.layers > 1))
         + "): leave one of those out for it to set"),
        ("--variational", not any(rates), "without dropout (it shares each dropout mask across time): give --dropout"),
        ("--eval-batch-size", not args.valid, "without --valid (it batches validation): give --valid FILE"),
        ("--test-batch-size", not args.test, "without --test (it batches the test set): give --test FILE"),
        *lm_bpe.unused_rules(args),
    ])
    lm_bpe.check_installed(args)
    check_layer_norm(args)
    from rnnkit.data.text import require_tokens
    from rnnkit.data.text_ids import read_ids

    n = processes.group().size
    if args.batch_size % n:  # said before the data are read
        raise ValueError(f"--batch-size {args.batch_size} does not split into {n} equal shares, one per process "
                         f"(mpiexec -n {n}); give a multiple of {n}")
    cfg = train_config_from_args(args)
    check_max_vocab(args.max_vocab, ["<unk>", "<eos>"] if args.level == "word" else ["<unk>"])
    # at level bpe: the pieces of a BPE model learned from --train (or the resumed run's)
    reader = lm_bpe.Reader(args) if args.level == "bpe" else read_ids
    vocab, train_ids, train_head, _ = reader(args.train, args.level, args.encoding, max_size=args.max_vocab,
                                               min_count=args.min_count)  # (N,) ids; the first 200,000 tokens
    bpe = reader.model if args.level == "bpe" else None
    if bpe is not None:
        reader.warn_lone(vocab)
    check_min_count(args.min_count, vocab, args.train)
    require_tokens(train_ids.size, args.batch_size * (args.bptt + 1), args.train,
                   batch_size=args.batch_size, bptt=args.bptt)
    counts = np.bincount(train_ids, minlength=len(vocab))
    unk_trained = counts[vocab.unk_id] > 0  # here: the class and adaptive softmaxes renumber the vocabulary below
    classes = None
    if args.softmax == "class":
        V = len(vocab)
        if args.classes > V:
            raise ValueError(f"--classes {args.classes} is more than the vocabulary's "
                             f"{vocab_tokens(vocab, args.level)} of {args.train}: "
                             f"give at most {V}, or 0 for about sqrt(V) = {max(1, int(round(math.sqrt(V))))}")
        classes = frequency_classes(counts, args.classes or max(1, int(round(math.sqrt(V)))), args.class_power)
        # renumber the vocabulary so each class is a run of ids: the class softmax then slices
        order, new_id = class_ordered_ids(classes)
        vocab, train_ids = _renumbered(vocab, order), new_id[train_ids]
        classes = classes[order]
    elif args.softmax == "adaptive":
        # ids by falling training frequency: the shortlist is then ids [0, cutoffs[0])
        order = np.argsort(-counts, kind="stable")  # order[new] = old
        vocab, train_ids = _renumbered(vocab, order), np.argsort(order)[train_ids]  # argsort: old -> new
        if args.cutoffs and args.cutoffs[-1] >= len(vocab):
            raise ValueError(f"--cutoffs {','.join(map(str, args.cutoffs))}: the last bound must be below the "
                             f"vocabulary's {vocab_tokens(vocab, args.level)} of {args.train}; give smaller "
                             "bounds, or leave --cutoffs out for the default")
        cut = check_cutoffs(args.cutoffs, len(vocab)) if args.cutoffs else default_cutoffs(len(vocab))
        if args.hidden // args.div_value ** len(cut) < 1:  # the last tail cluster's projection, as torch sizes it
            raise ValueError(f"--softmax adaptive: tail cluster {len(cut)} projects to --hidden / --div-value^"
                             f"{len(cut)} = {args.hidden} / {args.div_value:g}^{len(cut)}, less than 1 unit; lower "
                             f"--div-value (to {args.hidden ** (1 / len(cut)):.3g} or less), raise --hidden, or give "
                             "fewer --cutoffs")
    print(f"vocabulary: {vocab_types(vocab, args.level)} from {train_ids.size:,} training tokens", file=sys.stderr)
    looks = unsegmented([" ".join(train_head)], args.train) if args.level == "word" else None
    if looks:
        warn(f"{looks}; train with --level char, or segment it first ('rnnkit segment')")
    valid_ids = None
    # at word level a stream of validation or test text starts from <eos>, which the first stream reads first
    starts = int(vocab.eos_id is not None)
    first = ", the first starting from <eos>" if starts else ""
    if args.valid:
        _, valid_ids, _, st = reader(args.valid, args.level, args.encoding, vocab=vocab, head=0)
        require_tokens(valid_ids.size, 2 * args.eval_batch_size - starts, args.valid,
                       fix=f"{args.eval_batch_size} validation streams of 2 tokens at least{first}; use a smaller "
                           "--eval-batch-size or a longer file")
        print(f"valid: {valid_ids.size:,} tokens, OOV rate {100 * st.fraction:.2f}% ({st.count:,} -> <unk>)",
              file=sys.stderr)
        warn_unknown_perplexity(args.valid, "the training text", st)  # as evaluate warns: another kind of text?
        if st.fraction >= 0.02 and not unk_trained:
            warn(f"{args.valid}: {100 * st.fraction:.1f}% of its pieces are unknown (characters that are not in the "
                 f"training text, or never alone in it), and the training text has no <unk>, so the model never "
                 "learns what an unknown piece is and pays dearly for each; train on text with those characters"
                 if bpe is not None else
                 f"{args.valid}: {100 * st.fraction:.1f}% of its tokens are unknown, and the training text has no "
                 f"<unk> (--min-count {args.min_count} keeps every token it has), so the model never learns what an "
                 "unknown token is and pays dearly for each; --min-count 2 trains <unk> on the rarest tokens")
    test_ids = test_oov = None
    if args.test:  # read now: a bad test file should fail before training, not after it
        _, test_ids, _, test_oov = reader(args.test, args.level, args.encoding, vocab=vocab, head=0)
        warn_unknown_perplexity(args.test, "the training text", test_oov)
        require_tokens(test_ids.size, 2 * args.test_batch_size - starts, args.test,
                       fix=f"{args.test_batch_size} test streams of 2 tokens at least{first}; use a smaller "
                           "--test-batch-size or a longer file")
    vectors = read_pretrained(args, vocab.tokens)
    model = build_model(args, vocab, classes, np.random.default_rng(cfg.seed), vectors)
    cfg = apply_pretrained(args, model.params, vocab.tokens, vectors, cfg)
    if args.tie and args.freeze_embeddings:
        print("embeddings: --tie makes the output layer the same table, so it is frozen too", file=sys.stderr)
    task = LMTask(model, train_ids, valid_ids, args.batch_size, args.bptt, args.jitter, args.loss_scale,
                  args.eval_batch_size, meta=lm_meta(model, vocab, args.level, bpe), start_id=vocab.eos_id,
                  valid_units=reader.units[args.valid] if bpe is not None and args.valid else None)
    done = fit(task, cfg, args.run_dir, args.resume, [args.train], show_ppl=True,  # under mpiexec: its streams
               options={**embeddings_option(args), **vocabulary_options(args)})
    if done is None:  # a process other than 0 of several: process 0 reports
        return 0
    best = done[1]
    if test_ids is not None:
        model, vocab, level, _ = load_lm(best)
        m = evaluate_stream(model, test_ids, args.test_batch_size, args.bptt, vocab.eos_id, name=args.test)
        if bpe is not None:
            m = with_units(m, reader.units[args.test])
        print(f"test: {lm_result_line(m, args.level, test_oov.fraction, '--test-batch-size')}")  # as evaluate says
    prime = "" if looks else lm_bpe.prime_example(train_head) if bpe is not None else \
        _prime_example(train_head, args.level, vocab)  # unsegmented: its "words" are lines
    print(f"sample more with: rnnkit generate {best}" + (f" --prime {shlex.quote(prime)}" if prime else ""),
          file=sys.stderr)
    return 0


train_lm.data_parallel = True  # mpiexec -n P rnnkit train lm ...: several processes (rnnkit.cli.processes)


def _prime_example(tokens: list[str], level: str, vocab: Vocabulary) -> str:
    """A prime the model knows, for the closing hint: the start of one of the training text's first lines
    (2 to 4 characters, each in the vocabulary, the first a letter or digit), so a Chinese model's hint is
    in Chinese (床前, not the commonest character, '，'); at word level the vocabulary's first word of at most
    20 characters with a letter or digit in it, a frequent one (the text's first could be unknown under
    --min-count); "" for none (no --prime)."""
    known = [t for t in vocab.tokens if t not in (vocab.unk_token, vocab.eos_token) and t.strip() and len(t) <= 20
             and any(c.isalnum() for c in t)]
    if level == "char":
        for line in "".join(tokens[:2000]).split("\n")[:50]:
            line = line.strip()
            n = 0
            while n < min(4, len(line)) and line[n] in vocab and line[n].isalnum():  # 床前明月, not 光，
                n += 1
            if n >= 2:
                return line[:n]
    return known[0] if known else ""
