"""``rnnkit train tagger`` and ``rnnkit train hmm``, and how their scores are said (``describe``).

A thin layer over :mod:`rnnkit.tagging` and :mod:`rnnkit.hmm`.  Both kinds of model are single
checkpoint files whose metadata records how their data was read (:class:`DataSpec`), so ``tag``, ``segment``
(:mod:`rnnkit.cli.tag`) and ``evaluate`` (:mod:`rnnkit.cli.tag_evaluate`) read new files the way training did (see
:mod:`rnnkit.tagging.io`; the data options and reading with their checks are :mod:`rnnkit.cli.tagging_data`).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.cli import hmm_em as hmm_em_cli
from rnnkit.cli.common import (HelpFormatter, add_layer_norm_option, add_peephole_option, add_residual_option,
                               add_train_options, at_least_two, check_layer_norm, check_min_count, fit, peephole_rule,
                               positive_float, positive_int, probability, residual_rule, train_config_from_args,
                               vocab_types)
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.pretrained import (
    add_embedding_options,
    add_extend_option,
    apply_pretrained,
    embedding_size,
    embeddings_option,
    vocabulary_options,
    extend_vocab,
    read_pretrained,
)
from rnnkit.cli.tagging_data import (add_data_options, check_metric_available, converted, fixed_columns, read_data,
                                     read_evaluation, spec_from_args, train_scheme_from_args)
from rnnkit.cli.text_warnings import raw_segmented_file, warn
from rnnkit.data.files import check_output_path
from rnnkit.errors import DataError
from rnnkit.tagging.checks import run_together, unnamed_spans
from rnnkit.tagging.io import (
    DataSpec,
    LoadedTagger,
    TaggingData,
    save_hmm,
    tagger_meta,
)


def register(groups) -> None:
    fmt = HelpFormatter
    p = groups.train.add_parser("tagger", help="train a BiLSTM(-CRF) sequence tagger (POS, chunks, NER, segmentation)",
                                description="Train a BiLSTM tagger (--cell and --unidirectional choose another "
                                            "recurrent layer) with a softmax or CRF output on tagged sentences.",
                                formatter_class=fmt)
    d = add_data_options(p)
    d.add_argument("--feature-columns", type=int, nargs="+", default=[],
                   help="columns: extra input columns embedded as features (e.g. 1 = the POS of CoNLL-2000); the "
                        "model then tags column files that hold them (tag --format columns; in Python, "
                        "LoadedTagger.tag(sentences, features=...))")
    m = p.add_argument_group("model")
    m.add_argument("--crf", action="store_true", help="linear-chain CRF output (default: per-token softmax)")
    m.add_argument("--char-features", action="store_true",
                   help="character features for every word, from a BiLSTM (or a CNN: --char-encoder cnn)")
    m.add_argument("--char-encoder", choices=["bilstm", "cnn"], default="bilstm",
                   help="what reads a word's characters: bilstm, a character BiLSTM (Lample et al. 2016), or cnn, a "
                        "character CNN with max pooling (Ma & Hovy 2016); needs --char-features")
    m.add_argument("--bigrams", action="store_true",
                   help="embeddings of each token's left and right bigrams: of characters for word segmentation "
                        "(--format segmented, the usual use), of words for CoNLL-U and column files")
    add_embedding_options(m, 100, what="word (or character)")
    add_extend_option(m)
    m.add_argument("--char-embed", type=positive_int, default=None,
                   help="character embedding size (default 25 for the char BiLSTM, 30 for the char CNN)")
    m.add_argument("--char-hidden", type=positive_int, default=25, help="hidden units per direction of the char BiLSTM")
    m.add_argument("--char-filters", type=positive_int, default=30,
                   help="filters of the char CNN, the width of its word features")
    m.add_argument("--char-window", type=positive_int, default=3,
                   help="characters each char CNN filter reads; a word is padded with window - 1 zero vectors on "
                        "each side")
    m.add_argument("--char-dropout", type=probability, default=None, metavar="P",
                   help="dropout on the char CNN's character embeddings (default: --dropout's rate, as Ma & Hovy)")
    m.add_argument("--bigram-embed", type=positive_int, default=50, help="bigram embedding size")
    m.add_argument("--feature-embed", type=positive_int, default=20, help="embedding size of each feature column")
    m.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm",
                   help="recurrent cell of the word-level layer (--char-encoder chooses the characters' own)")
    m.add_argument("--unidirectional", action="store_true",
                   help="the word-level layer reads left to right only (default: bidirectional)")
    m.add_argument("--hidden", type=positive_int, default=100,
                   help="hidden units per direction of the word-level layer")
    m.add_argument("--layers", type=positive_int, default=1, help="stacked word-level layers")
    add_residual_option(m, "word-level layers")
    add_peephole_option(m)
    add_layer_norm_option(m)
    m.add_argument("--dropout", type=probability, default=0.5, help="dropout on the inputs, between layers and on the output")
    m.add_argument("--weight-drop", type=probability, default=0.0, metavar="P",
                   help="DropConnect on the word-level layer's recurrent weights W_hh, one mask per batch (AWD-LSTM; "
                        "default: 0)")
    m.add_argument("--lowercase", action="store_true", help="lowercase words for the word embedding (chars keep case)")
    m.add_argument("--fold-width", action="store_true",
                   help="read full-width letters, digits and punctuation (Ａ１，：（) as their ASCII forms and the "
                        "ideographic full stop 。 as '.' (NFKC, one character to one), in everything the model reads; "
                        "output keeps the input's characters.  For Chinese text written with full-width punctuation "
                        "and a corpus written with half-width (UD Chinese GSD), or the other way round; saved with "
                        "the model")
    m.add_argument("--min-count", type=positive_int, default=1, help="words (and bigrams) rarer than this become <unk>")
    m.add_argument("--singleton-unk", type=probability, default=0.0,
                   help="replace words seen once in training by <unk> with this probability (word dropout)")
    m.add_argument("--max-chars", type=at_least_two, default=30,
                   help="characters kept per word for the character features (a longer word keeps its first and last "
                        "ones, half each)")
    m.add_argument("--batch-size", type=positive_int, default=32, help="sentences per batch")
    add_train_options(p, lr=0.001, clip=5.0, optimizer="adam", epochs=20, run_dir="runs/tagger")
    p.set_defaults(func=train_tagger)

    h = groups.train.add_parser("hmm", help="train an HMM tagger (TnT-style trigram or bigram), or learn one "
                                             "from untagged text by EM (--unsupervised)",
                                description="Train a supervised HMM tagger; evaluate, tag and segment accept it.  "
                                            "With --unsupervised --states K: learn a bigram HMM with K hidden states "
                                            "from untagged text by Baum-Welch (EM), for part-of-speech induction; "
                                            "tag applies it (its tags are the states S0 .. S{K-1}) and evaluate "
                                            "scores them against gold tags (many-to-one, one-to-one, V-measure).",
                                formatter_class=fmt)
    add_data_options(h, valid_help="validation file, scored after training (an HMM is estimated in one pass: "
                                    "no epochs, no checkpoint to choose)",
                     test_help="test file, scored with the estimated model (the one --output saves); with "
                               "--unsupervised its gold tags against the states", raw=True)
    h.add_argument("--order", type=int, choices=[2, 3], default=3, help="2: bigram HMM, 3: trigram (TnT)")
    h.add_argument("--emission", choices=["ml", "add_k", "witten_bell"], default="ml",
                   help="emission probabilities of known words: ml, the relative frequency c(w, t) / c(t) (TnT's); "
                        "add_k, (c(w, t) + k) / (c(t) + k (V + 1)); witten_bell, Witten-Bell smoothing towards the "
                        "add-one word unigram (default ml)")
    h.add_argument("--add-k", type=positive_float, default=0.1, metavar="K",
                   help="add_k: the k added to every count (default 0.1)")
    h.add_argument("--fold-width", action="store_true",
                   help="read full-width letters, digits and punctuation as their ASCII forms and 。 as '.', as "
                        "train tagger --fold-width does; saved with the model")
    h.add_argument("--output", default="runs/hmm/model.safetensors", help="where to save the model")
    hmm_em_cli.add_options(h)
    h.set_defaults(func=train_hmm)



def describe(metric: str, m: dict[str, Any]) -> str:
    """One line of the headline metrics."""
    if metric == "induction":
        return hmm_em_cli.describe_induction(m)
    if metric == "accuracy":
        line = f"token accuracy {100 * m['accuracy']:.2f}%"
        if m.get("oov_rate") is not None:  # scored by a loaded model, which knows its vocabulary
            def pct(x: float | None) -> str:
                return "n/a" if x is None else f"{100 * x:.2f}%"

            line += (f" (known words {pct(m['iv_accuracy'])}, unknown words {pct(m['oov_accuracy'])}; "
                     f"{100 * m['oov_rate']:.2f}% of the tokens unknown)")
        return line
    if metric == "span_f1":
        return (f"spans precision {100 * m['precision']:.2f}% recall {100 * m['recall']:.2f}% "
                f"F1 {100 * m['f1']:.2f} (token accuracy {100 * m['accuracy']:.2f}%)")
    line = (f"words precision {100 * m['precision']:.2f}% recall {100 * m['recall']:.2f}% F1 {100 * m['f1']:.2f} "
            f"({m['gold_words']:,} gold words)")
    if m.get("oov_rate") is not None:  # scored against the training word list
        recall = "n/a (no OOV words)" if m["oov_recall"] is None else f"{100 * m['oov_recall']:.2f}%"
        line += f", OOV rate {100 * m['oov_rate']:.2f}% OOV recall {recall}"
    return line


def detail_lines(m: dict[str, Any]) -> str:
    """The lines under a tagger's headline metrics (:func:`describe`): each span type's (NER, chunks) or each
    tag's (POS) precision, recall and F1, a line each, names right-aligned by display width (Chinese tag
    names line up), then the most frequent tag errors (:func:`errors_table`); "" when the metric has
    neither."""
    from rnnkit.cli.classify_report import prf_line

    if "many_to_one" in m:  # induced tags: how each state maps, not per-tag scores
        return hmm_em_cli.state_lines(m)
    kinds = m.get("per_type") or m.get("per_tag") or {}
    return "".join(f"  {prf_line(kind, s, 10)}\n" for kind, s in kinds.items()) + errors_table(m)


def errors_table(m: dict[str, Any], n: int = 10) -> str:
    """The ``n`` most frequent tag confusions of the scores ``m`` (token accuracy's and span F1's, which
    hold the tags' confusion matrix; "" for others), a line each with its count and share of the wrong
    tokens: a 17-50 tag matrix is too wide to print, and its largest cells are what error analysis reads."""
    from rnnkit.cli.text_warnings import percent
    from rnnkit.metrics.classification import top_confusions
    from rnnkit.textwidth import display_width, ljust

    if "confusion" not in m:
        return ""
    matrix = np.asarray(m["confusion"])  # (K, K) rows gold, columns predicted
    wrong = int(matrix.sum() - np.trace(matrix))
    if not wrong:
        return "most frequent tag errors: none, every token's tag is right\n"
    top = top_confusions(matrix, m["labels"], n)
    kinds = int(np.count_nonzero(matrix)) - int(np.count_nonzero(np.diag(matrix)))
    pairs = [f"{gold} -> {pred}" for gold, pred, _ in top]
    width = max(map(display_width, pairs))
    shown = f"the {len(top)} most frequent of {kinds} kinds" if kinds > len(top) else f"{kinds} kind{'s' * (kinds > 1)}"
    lines = [f"most frequent tag errors (gold -> predicted; {shown}, {wrong:,} token{'s' * (wrong > 1)} wrong):\n"]
    lines += [f"  {ljust(pair, width)} {count:>7,} ({percent(count, wrong)} of errors)\n"
              for pair, (_, _, count) in zip(pairs, top)]
    return "".join(lines)


def _train_words(spec: DataSpec, data: TaggingData) -> list[str] | None:
    return sorted({w for s in data.source for w in s}) if spec.format == "segmented" else None


# ---------------------------------------------------------------------- commands
def train_tagger(args: argparse.Namespace) -> int:
    from rnnkit.tagging.model import Tagger, TaggerConfig
    from rnnkit.tagging.task import TaggerEncoder, TaggerTask, decoding_constraints, metric_for

    chars = (not args.char_features, "without --char-features (it configures the character features): add it")
    cnn = args.char_encoder == "cnn"
    cnn_only = ("--char-filters", "--char-window", "--char-dropout")
    refuse_unused(args, [*[(flag, *chars) for flag in ("--char-encoder", "--char-embed", "--char-hidden", *cnn_only,
                                                       "--max-chars")],
                         ("--char-hidden", cnn, "with --char-encoder cnn (it sizes the character BiLSTM): give "
                          "--char-filters for the CNN's width"),
                         *[(flag, not cnn, "with the character BiLSTM (it configures the character CNN): add "
                            "--char-encoder cnn") for flag in cnn_only],
                         ("--bigram-embed", not args.bigrams, "without --bigrams (it sizes their embedding): add it"),
                         ("--feature-embed", not args.feature_columns,
                          "without --feature-columns (it sizes their embeddings): give the columns"),
                         ("--singleton-unk", args.min_count > 1, f"with --min-count {args.min_count} (the words seen "
                          "once it replaces are already <unk>): give --min-count 1"), residual_rule(args),
                         peephole_rule(args)])
    check_layer_norm(args)
    cfg = train_config_from_args(args)
    spec = spec_from_args(args)
    train_scheme = train_scheme_from_args(args, spec)  # None: the data's own
    check_metric_available(spec, args.valid, args.test)  # now, not after the first epoch
    train = read_data(args.train, spec, training=True, repair=args.repair_spans)
    spec = fixed_columns(spec, train)
    valid, test = read_evaluation(args, spec, train)
    enc = TaggerEncoder.build(converted(train, spec, train_scheme), lowercase=args.lowercase,
                              char_features=args.char_features, bigrams=args.bigrams, min_count=args.min_count,
                              max_chars=args.max_chars, fold_width=args.fold_width)
    if not args.char_features:  # with them, a tagger of characters alone still learns
        check_min_count(args.min_count, enc.words, args.train)
    try:
        decoding_constraints(enc.tags, train_scheme or spec.scheme)
    except ValueError as exc:
        raise DataError(f"{args.train}: the training tags do not fit --scheme {spec.scheme}: {exc}") from None
    unit = "character" if spec.format == "segmented" else "word"  # segmented text is tagged character by character
    raw = _raw_segmented_files(spec, args, train, valid, test)
    if args.scheme is None and (spans := unnamed_spans(spec, train)):
        warn(f"{args.train}: {spans}")
    blank = sum(1 for w in train.words if not w)  # blank lines of a segmented file: nothing to learn from
    if long := run_together(spec, train, args.train):
        warn(long)
    if not raw and (pathless := pathless_note(args.train, enc.tags, train_scheme or spec.scheme)):
        warn(pathless)
    n = len(train.words) - blank
    print(f"train: {n:,} sentence{'s' * (n != 1)}{f' ({blank:,} blank lines skipped)' if blank else ''}, "
          f"{sum(map(len, train.words)):,} {unit}s, {vocab_types(enc.words, unit)}, {len(enc.tags)} tags"
          + (f" ({train_scheme.upper()}, rewritten from {spec.scheme.upper()})" if train_scheme else ""),
          file=sys.stderr)
    if args.extend_vocab:
        evaluation = [d for d in (valid, test) if d is not None]
        enc.words = extend_vocab(args, enc.words, (enc.norm(w) for d in evaluation for s in enc.folded(d.words)
                                                   for w in s))
    vectors = read_pretrained(args, enc.words.tokens)
    mcfg = TaggerConfig(vocab_size=len(enc.words), num_tags=len(enc.tags),
                        embedding_dim=embedding_size(args, vectors, 100),
                        char_vocab_size=len(enc.chars) if enc.chars else 0,
                        char_embedding_dim=args.char_embed or (30 if cnn else 25), char_hidden=args.char_hidden,
                        char_encoder=args.char_encoder, char_filters=args.char_filters, char_window=args.char_window,
                        char_dropout=args.char_dropout,
                        bigram_vocab_size=len(enc.bigrams) if enc.bigrams else 0,
                        bigram_embedding_dim=args.bigram_embed, feature_vocab_sizes=[len(v) for v in enc.features],
                        feature_embedding_dim=args.feature_embed, hidden_size=args.hidden, num_layers=args.layers,
                        output="crf" if args.crf else "softmax", cell=args.cell,
                        bidirectional=not args.unidirectional, dropout=args.dropout, weight_drop=args.weight_drop,
                        residual=args.residual, peephole=args.peephole,
                        layer_norm=args.layer_norm)
    model = Tagger(mcfg, np.random.default_rng(cfg.seed))
    cfg = apply_pretrained(args, model.params, enc.words.tokens, vectors, cfg)
    metric = metric_for(spec.scheme, spec.format)
    train_words = _train_words(spec, train)
    task = TaggerTask(model, enc, enc.encode(converted(train, spec, train_scheme)),
                      enc.encode(converted(valid, spec, train_scheme)) if valid else None, valid, metric,
                      spec.scheme, args.batch_size, args.singleton_unk, cfg.seed, train_words,
                      meta=tagger_meta(model, enc, spec, metric, train_words, train_scheme), train_scheme=train_scheme)
    done = fit(task, cfg, args.run_dir, args.resume, [args.train],
               options={**embeddings_option(args), **vocabulary_options(args)})
    if done is None:  # a process other than 0 of several: process 0 reports
        return 0
    best = done[1]
    if test is not None:
        loaded = LoadedTagger(str(best))
        m = loaded.score(test)
        print(f"test: {describe(metric, m)}")
        print(detail_lines(m), end="")
    return 0


train_tagger.data_parallel = True  # mpiexec -n P rnnkit train tagger ...: several processes (rnnkit.cli.processes)


def _raw_segmented_files(spec: DataSpec, args: argparse.Namespace, *data: TaggingData | None) -> bool:
    """Warn about each --train, --valid, --test file of a --format segmented run that holds raw text; True
    when the training file does (its missing one-character words then need no warning of their own)."""
    raw = [spec.format == "segmented" and d is not None and raw_segmented_file(d, name)
           for d, name in zip(data, (args.train, args.valid, args.test))]
    return raw[0]


def pathless_note(path: str, tags: list[str], scheme: str) -> str | None:
    """A warning when the training tags leave some sentence length without a legal sequence under ``scheme``
    (BMES without S: no one-character word), or None."""
    from rnnkit.constraints import missing_tags_cause, missing_tags_fix, no_path_indices
    from rnnkit.tagging.task import decoding_constraints

    if not no_path_indices(decoding_constraints(tags, scheme), [1, 2, 3]):
        return None
    what = "line" if scheme == "bmes" else "sentence"
    add = missing_tags_fix(scheme, examples=True)
    return (f"{path}: {missing_tags_cause(tags, scheme)}; such a {what} is read ignoring the {scheme.upper()} "
            f"rules (segment and tag name each one in a warning); to fix it, add {add} to the training data")


def train_hmm(args: argparse.Namespace) -> int:
    from rnnkit.hmm import HMMTagger
    from rnnkit.tagging.task import metric_for

    if args.unsupervised:
        return hmm_em_cli.train_unsupervised(args)
    hmm_em_cli.refuse_em_options(args)
    refuse_unused(args, [("--add-k", args.emission != "add_k", "without --emission add_k (it is its k): add it")])
    spec = spec_from_args(args)
    train_scheme = train_scheme_from_args(args, spec)  # None: the data's own
    check_metric_available(spec, args.valid, args.test)
    check_output_path(args.output, "--output", make_folders=True, suffix=".safetensors",
                      inputs=[args.train, args.valid, args.test])
    train = read_data(args.train, spec, training=True, repair=args.repair_spans)
    spec = fixed_columns(spec, train)
    valid, test = read_evaluation(args, spec, train)
    raw = _raw_segmented_files(spec, args, train, valid, test)
    if args.scheme is None and (spans := unnamed_spans(spec, train)):
        warn(f"{args.train}: {spans}")
    if long := run_together(spec, train, args.train):
        warn(long)
    keep = [i for i, s in enumerate(train.words) if s]
    start = time.perf_counter()
    hmm = HMMTagger(order=args.order, emission=args.emission, k=args.add_k,
                    scheme=None if spec.scheme == "none" else train_scheme or spec.scheme)
    words = [train.words[i] for i in keep]
    if args.fold_width:
        from rnnkit.data.segmentation import fold_sentences

        words = fold_sentences(words)
    tags = converted(train, spec, train_scheme).tags
    hmm.fit(words, [tags[i] for i in keep])
    rewritten = f" ({train_scheme.upper()} tags, rewritten from {spec.scheme.upper()})" if train_scheme else ""
    print(f"trained on {len(keep):,} sentences{rewritten} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if note := lower_orders_note(hmm, args.train):
        warn(note)
    if not raw and (pathless := pathless_note(args.train, hmm.tags_, hmm.scheme or "none")):
        warn(pathless)
    metric = metric_for(spec.scheme, spec.format)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    save_hmm(args.output, hmm, spec, metric, _train_words(spec, train), fold_width=args.fold_width,
             train_scheme=train_scheme)
    print(f"model saved: {args.output}", file=sys.stderr)
    loaded = LoadedTagger(args.output)
    for name, data in (("valid", valid), ("test", test)):
        if data is not None:
            print(f"{name}: {describe(metric, loaded.score(data))}")
    return 0


def _bigram_unigram_weight(hmm: Any) -> float:
    """The unigram's weight that deleted interpolation would give an order-2 model of the same counts (its
    own estimate: it can be 0 too, or not)."""
    from rnnkit.hmm import deleted_interpolation

    counts = getattr(hmm, "ngram_counts_", None)
    if counts is None:
        return 0.0
    return float(deleted_interpolation([c.astype(float) for c in counts[:2]])[0])


def lower_orders_note(hmm: Any, train: str) -> str | None:
    """The warning for a model whose deleted interpolation gave the unigram no weight (a small or repetitive
    corpus): every tag bigram not seen in training (every trigram, when the bigram has none either) is then
    impossible, and a sentence that needs one gets probability 0 (``rnnkit tag`` warns of each; its tags are
    only a fallback guess)."""
    lambdas = getattr(hmm, "lambdas_", None)
    if lambdas is None or lambdas[0] > 0:
        return None
    gram = "trigram" if hmm.order == 3 and lambdas[1] == 0 else "bigram"
    fix = "--order 2 or " if hmm.order == 3 and _bigram_unigram_weight(hmm) > 0 else ""  # when it helps
    weights = ", ".join(f"l{k} = {w:.3g}" for k, w in enumerate(lambdas, start=1))
    return (f"{train}: deleted interpolation gave the tag unigram no weight ({weights}), so every tag "
            f"{gram} not seen in training is impossible and a sentence that needs one gets probability 0 (tagged by "
            f"a fallback guess); train with {fix}more varied data")
