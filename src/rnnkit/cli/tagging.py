"""``rnnkit train tagger``, ``rnnkit train hmm``, ``rnnkit tag`` and ``rnnkit segment``; evaluators.

A thin layer over :mod:`rnnkit.tagging` and :mod:`rnnkit.hmm`.  Both kinds of model are single
checkpoint files whose metadata records how their data was read (:class:`DataSpec`), so ``tag``,
``segment`` and ``evaluate`` read new files the way training did (see :mod:`rnnkit.tagging.io`;
the data options and reading with their checks are :mod:`rnnkit.cli.tagging_data`).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli.common import (HelpFormatter, add_train_options, at_least_two, check_min_count, fit, positive_int,
                               probability, train_config_from_args)
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.pretrained import (
    add_embedding_options,
    add_extend_option,
    apply_pretrained,
    embedding_size,
    extend_vocab,
    read_pretrained,
)
from rnnkit.cli.tagging_data import (add_data_options, check_metric_available, conllu_reason, fixed_columns, read_data,
                                     read_evaluation, spec_from_args)
from rnnkit.cli.text_warnings import (fold_width_hint, raw_segmented_file, unknown_characters_hint, unsegmented,
                                     warn)
from rnnkit.data.files import check_output_path
from rnnkit.errors import DataError, describe_encode_error, os_problem
from rnnkit.jsonline import json_line
from rnnkit.tagging.checks import check_gold_spans, gold_scheme_note, run_together, unnamed_spans
from rnnkit.tagging.io import (
    DataSpec,
    LoadedTagger,
    TaggingData,
    format_predictions,
    raw_sentences,
    save_hmm,
    tagger_meta,
)


def register(groups) -> None:
    fmt = HelpFormatter
    p = groups.train.add_parser("tagger", help="train a BiLSTM(-CRF) sequence tagger (POS, chunks, NER, segmentation)",
                                description="Train a BiLSTM tagger with a softmax or CRF output on tagged sentences.",
                                formatter_class=fmt)
    add_data_options(p)
    p.add_argument("--feature-columns", type=int, nargs="+", default=[],
                   help="columns: extra input columns embedded as features (e.g. 1 = the POS of CoNLL-2000)")
    m = p.add_argument_group("model")
    m.add_argument("--crf", action="store_true", help="linear-chain CRF output (default: per-token softmax)")
    m.add_argument("--char-features", action="store_true", help="character BiLSTM features for every word")
    m.add_argument("--bigrams", action="store_true",
                   help="embeddings of each token's left and right bigrams: of characters for word segmentation "
                        "(--format segmented, the usual use), of words for CoNLL-U and column files")
    add_embedding_options(m, 100, what="word (or character)")
    add_extend_option(m)
    m.add_argument("--char-embed", type=positive_int, default=25, help="character embedding size of the char BiLSTM")
    m.add_argument("--char-hidden", type=positive_int, default=25, help="hidden units per direction of the char BiLSTM")
    m.add_argument("--bigram-embed", type=positive_int, default=50, help="bigram embedding size")
    m.add_argument("--feature-embed", type=positive_int, default=20, help="embedding size of each feature column")
    m.add_argument("--hidden", type=positive_int, default=100, help="hidden units per direction of the word BiLSTM")
    m.add_argument("--layers", type=positive_int, default=1, help="stacked BiLSTM layers")
    m.add_argument("--dropout", type=probability, default=0.5, help="dropout on the inputs, between layers and on the output")
    m.add_argument("--weight-drop", type=probability, default=0.0, metavar="P",
                   help="DropConnect on the BiLSTM's recurrent weights W_hh, one mask per batch (AWD-LSTM; default: 0)")
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
                   help="characters kept per word for the char BiLSTM (a longer word keeps its first and last "
                        "ones, half each)")
    m.add_argument("--batch-size", type=positive_int, default=32, help="sentences per batch")
    add_train_options(p, lr=0.001, clip=5.0, optimizer="adam", epochs=20, run_dir="runs/tagger")
    p.set_defaults(func=train_tagger)

    h = groups.train.add_parser("hmm", help="train an HMM tagger (TnT-style trigram or bigram)",
                                description="Train a supervised HMM tagger; evaluate, tag and segment accept it.",
                                formatter_class=fmt)
    add_data_options(h, valid_help="validation file, scored after training (an HMM is estimated in one pass: "
                                    "no epochs, no checkpoint to choose)",
                     test_help="test file, scored with the estimated model (the one --output saves)")
    h.add_argument("--order", type=int, choices=[2, 3], default=3, help="2: bigram HMM, 3: trigram (TnT)")
    h.add_argument("--emission", choices=["ml", "add_k", "witten_bell"], default="ml", help="known-word emissions")
    h.add_argument("--fold-width", action="store_true",
                   help="read full-width letters, digits and punctuation as their ASCII forms and 。 as '.', as "
                        "train tagger --fold-width does; saved with the model")
    h.add_argument("--output", default="runs/hmm/model.safetensors", help="where to save the model")
    h.set_defaults(func=train_hmm)

    t = groups.commands.add_parser("tag", help="tag text with a trained tagger or HMM",
                                   description="Tag sentences; the output has the input's format plus predictions.",
                                   formatter_class=fmt)
    t.add_argument("model", help="tagger or HMM checkpoint")
    t.add_argument("input", nargs="?", help="input file (default: stdin)")
    t.add_argument("--format", choices=["raw", "conllu", "columns"], default="raw",
                   help="raw: one sentence a line, whitespace tokens, out as word/TAG; conllu: tag column replaced; "
                        "columns: predictions appended as a last column")
    t.add_argument("--output", help="output file, compressed when its name ends in .gz, .xz or .bz2 (default: stdout)")
    t.add_argument("--encoding", default="utf-8",
                   help="text encoding of the input and of --output (standard output uses the locale's encoding; "
                        "PYTHONIOENCODING changes it)")
    t.set_defaults(func=tag)

    s = groups.commands.add_parser("segment", help="segment raw Chinese text into words",
                                   description="Segment raw text (one sentence a line) with a BMES tagger or HMM; "
                                               "words come out separated by spaces.  Existing spaces stay word "
                                               "boundaries; a web or e-mail address (a word of its own), a Latin "
                                               "word or number (MacBook, 3.5, 6,000) and a character on screen (an "
                                               "emoji with its joiners, a flag) are never split.",
                                   formatter_class=fmt)
    s.add_argument("model", help="segmentation checkpoint (trained with --format segmented)")
    s.add_argument("input", nargs="?", help="input file (default: stdin)")
    s.add_argument("--output", help="output file, compressed when its name ends in .gz, .xz or .bz2 (default: stdout)")
    s.add_argument("--encoding", default="utf-8",
                   help="text encoding of the input and of --output (standard output uses the locale's encoding; "
                        "PYTHONIOENCODING changes it)")
    s.set_defaults(func=segment)


def describe(metric: str, m: dict[str, Any]) -> str:
    """One line of the headline metrics."""
    if metric == "accuracy":
        return f"token accuracy {100 * m['accuracy']:.2f}%"
    if metric == "span_f1":
        return (f"spans precision {100 * m['precision']:.2f}% recall {100 * m['recall']:.2f}% "
                f"F1 {100 * m['f1']:.2f} (token accuracy {100 * m['accuracy']:.2f}%)")
    line = (f"words precision {100 * m['precision']:.2f}% recall {100 * m['recall']:.2f}% F1 {100 * m['f1']:.2f} "
            f"({m['gold_words']:,} gold words)")
    if m.get("oov_rate") is not None:  # scored against the training word list
        recall = "n/a (no OOV words)" if m["oov_recall"] is None else f"{100 * m['oov_recall']:.2f}%"
        line += f", OOV rate {100 * m['oov_rate']:.2f}% OOV recall {recall}"
    return line


def _train_words(spec: DataSpec, data: TaggingData) -> list[str] | None:
    return sorted({w for s in data.source for w in s}) if spec.format == "segmented" else None


# ---------------------------------------------------------------------- commands
def train_tagger(args: argparse.Namespace) -> int:
    from rnnkit.tagging.model import Tagger, TaggerConfig
    from rnnkit.tagging.task import TaggerEncoder, TaggerTask, decoding_constraints, metric_for

    chars = (not args.char_features, "without --char-features (it configures the character BiLSTM): add it")
    refuse_unused(args, [("--char-embed", *chars), ("--char-hidden", *chars), ("--max-chars", *chars),
                         ("--bigram-embed", not args.bigrams, "without --bigrams (it sizes their embedding): add it"),
                         ("--feature-embed", not args.feature_columns,
                          "without --feature-columns (it sizes their embeddings): give the columns"),
                         ("--singleton-unk", args.min_count > 1, f"with --min-count {args.min_count} (the words seen "
                          "once it replaces are already <unk>): give --min-count 1")])
    cfg = train_config_from_args(args)
    spec = spec_from_args(args)
    check_metric_available(spec, args.valid, args.test)  # now, not after the first epoch
    train = read_data(args.train, spec, training=True)
    spec = fixed_columns(spec, train)
    valid, test = read_evaluation(args, spec)
    enc = TaggerEncoder.build(train, lowercase=args.lowercase, char_features=args.char_features,
                              bigrams=args.bigrams, min_count=args.min_count, max_chars=args.max_chars,
                              fold_width=args.fold_width)
    if not args.char_features:  # with them, a tagger of characters alone still learns
        check_min_count(args.min_count, enc.words, args.train)
    try:
        decoding_constraints(enc.tags, spec.scheme)
    except ValueError as exc:
        raise DataError(f"{args.train}: the training tags do not fit --scheme {spec.scheme}: {exc}") from None
    unit = "character" if spec.format == "segmented" else "word"  # segmented text is tagged character by character
    _raw_segmented_files(spec, args, train, valid, test)
    if args.scheme is None and (spans := unnamed_spans(spec, train)):
        warn(f"{args.train}: {spans}")
    blank = sum(1 for w in train.words if not w)  # blank lines of a segmented file: nothing to learn from
    if long := run_together(spec, train, args.train):
        warn(long)
    n = len(train.words) - blank
    print(f"train: {n:,} sentence{'s' * (n != 1)}{f' ({blank:,} blank lines skipped)' if blank else ''}, "
          f"{sum(map(len, train.words)):,} {unit}s, {len(enc.words):,} {unit} types, {len(enc.tags)} tags",
          file=sys.stderr)
    if args.extend_vocab:
        evaluation = [d for d in (valid, test) if d is not None]
        enc.words = extend_vocab(args, enc.words, (enc.norm(w) for d in evaluation for s in enc.folded(d.words)
                                                   for w in s))
    vectors = read_pretrained(args, enc.words.tokens)
    mcfg = TaggerConfig(vocab_size=len(enc.words), num_tags=len(enc.tags),
                        embedding_dim=embedding_size(args, vectors, 100),
                        char_vocab_size=len(enc.chars) if enc.chars else 0, char_embedding_dim=args.char_embed,
                        char_hidden=args.char_hidden, bigram_vocab_size=len(enc.bigrams) if enc.bigrams else 0,
                        bigram_embedding_dim=args.bigram_embed, feature_vocab_sizes=[len(v) for v in enc.features],
                        feature_embedding_dim=args.feature_embed, hidden_size=args.hidden, num_layers=args.layers,
                        output="crf" if args.crf else "softmax", dropout=args.dropout,
                        weight_drop=args.weight_drop)
    model = Tagger(mcfg, np.random.default_rng(cfg.seed))
    cfg = apply_pretrained(args, model.params, enc.words.tokens, vectors, cfg)
    metric = metric_for(spec.scheme, spec.format)
    train_words = _train_words(spec, train)
    task = TaggerTask(model, enc, enc.encode(train), enc.encode(valid) if valid else None, valid, metric,
                      spec.scheme, args.batch_size, args.singleton_unk, cfg.seed, train_words,
                      meta=tagger_meta(model, enc, spec, metric, train_words))
    done = fit(task, cfg, args.run_dir, args.resume, [args.train])
    if done is None:  # a process other than 0 of several: process 0 reports
        return 0
    best = done[1]
    if test is not None:
        loaded = LoadedTagger(str(best))
        print(f"test: {describe(metric, loaded.score(test))}")
    return 0


train_tagger.data_parallel = True  # mpiexec -n P rnnkit train tagger ...: several processes (rnnkit.cli.processes)


def _raw_segmented_files(spec: DataSpec, args: argparse.Namespace, *data: TaggingData | None) -> None:
    """Warn about each --train, --valid, --test file of a --format segmented run that holds raw text."""
    if spec.format == "segmented":
        for d, name in zip(data, (args.train, args.valid, args.test)):
            if d is not None:
                raw_segmented_file(d, name)


def train_hmm(args: argparse.Namespace) -> int:
    from rnnkit.hmm import HMMTagger
    from rnnkit.tagging.task import metric_for

    spec = spec_from_args(args)
    check_metric_available(spec, args.valid, args.test)
    check_output_path(args.output, "--output", make_folders=True, suffix=".safetensors",
                      inputs=[args.train, args.valid, args.test])
    train = read_data(args.train, spec, training=True)
    spec = fixed_columns(spec, train)
    valid, test = read_evaluation(args, spec)
    _raw_segmented_files(spec, args, train, valid, test)
    if args.scheme is None and (spans := unnamed_spans(spec, train)):
        warn(f"{args.train}: {spans}")
    if long := run_together(spec, train, args.train):
        warn(long)
    keep = [i for i, s in enumerate(train.words) if s]
    start = time.perf_counter()
    hmm = HMMTagger(order=args.order, emission=args.emission, scheme=None if spec.scheme == "none" else spec.scheme)
    words = [train.words[i] for i in keep]
    if args.fold_width:
        from rnnkit.data.segmentation import fold_sentences

        words = fold_sentences(words)
    hmm.fit(words, [train.tags[i] for i in keep])
    print(f"trained on {len(keep):,} sentences in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    metric = metric_for(spec.scheme, spec.format)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    save_hmm(args.output, hmm, spec, metric, _train_words(spec, train), fold_width=args.fold_width)
    print(f"model saved: {args.output}", file=sys.stderr)
    loaded = LoadedTagger(args.output)
    for name, data in (("valid", valid), ("test", test)):
        if data is not None:
            print(f"{name}: {describe(metric, loaded.score(data))}")
    return 0


def _read_input(args: argparse.Namespace) -> str:
    from rnnkit.data.files import read_input

    return read_input(args.input, args.encoding)[0]


def _check_output(args: argparse.Namespace) -> None:
    """Refuse an --output that cannot be written before any tagging, or that is the model or the input
    (tagging a gold CoNLL-U file into itself would replace its gold tags with the predictions)."""
    if args.output:
        check_output_path(args.output, "--output", inputs=[getattr(args, "model", None), getattr(args, "input", None)])


def _write_output(args: argparse.Namespace, text: str) -> None:
    if args.output:
        from rnnkit.data.files import write_text_file

        try:
            write_text_file(args.output, text, args.encoding)  # .gz/.xz compressed by name, as inputs are read
        except UnicodeEncodeError as exc:
            raise DataError(f"--output {args.output}: {describe_encode_error(exc)}") from None
        except OSError as exc:
            raise OSError(f"--output {args.output}: cannot write ({os_problem(exc)}); choose another file") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def tag(args: argparse.Namespace) -> int:
    from rnnkit.data.files import text_lines

    loaded = LoadedTagger(args.model)
    if loaded.spec.scheme == "bmes":
        raise ValueError(f"{args.model} is a segmentation model: use 'rnnkit segment {args.model}'")
    _check_output(args)
    if args.format == "raw":
        lines = text_lines(_read_input(args))
        looks = unsegmented(lines, args.input or "standard input")
        conllu = conllu_reason(lines)
        if conllu:  # its token lines would be tagged as sentences, column by column
            warn(f"{args.input or 'standard input'} looks like CoNLL-U ({conllu}), and --format raw (the default) "
                 "reads one sentence a line: give --format conllu to tag its words")
        elif looks:
            warn(f"{looks}, and a tagger reads words separated by spaces; segment it first "
                 "('rnnkit segment SEGMENTER FILE | rnnkit tag MODEL')")
        data = raw_sentences(lines)
        spec = None
    else:
        spec = loaded.spec if loaded.spec.format == args.format else DataSpec(args.format, "upos" if args.format == "conllu" else -1)
        spec = DataSpec(**{**spec.to_dict(), "encoding": args.encoding})
        with tempfile.TemporaryDirectory() as tmp:
            path = args.input
            if path is None:
                path = os.path.join(tmp, "stdin.txt")
                Path(path).write_text(_read_input(args), encoding=args.encoding)
            data = read_data(path, spec, labelled=args.format == "conllu",
                             format_from="model" if loaded.spec.format == args.format else "option")
    enc = getattr(loaded, "encoder", None)  # full-width punctuation a model trained on ASCII's never saw
    norm = enc.norm if enc is not None else str
    fold_width_hint(loaded, [norm(w) for s in data.words for w in s], args.input or "standard input",
                    what="tokens", model="a tagger")
    _write_output(args, format_predictions(data, loaded.predict(data), spec))
    return 0


def segment(args: argparse.Namespace) -> int:
    from rnnkit.data.files import text_lines
    from itertools import accumulate

    from rnnkit.data.segment_rules import fix_words
    from rnnkit.data.segmentation import tags_to_words

    loaded = LoadedTagger(args.model)
    if loaded.spec.scheme != "bmes":
        raise ValueError(f"{args.model} is not a segmentation model (scheme {loaded.spec.scheme}); use 'rnnkit tag'")
    _check_output(args)
    lines = text_lines(_read_input(args))
    conllu = conllu_reason(lines)
    if conllu:  # its ID, FORM, LEMMA ... columns would be segmented as one run of text a line
        warn(f"{args.input or 'standard input'} looks like CoNLL-U ({conllu}), and segment reads raw text, one "
             f"sentence a line; to score the model on this file's words: rnnkit evaluate {args.model} FILE")
    # the model reads each line without its spaces, as it read its training sentences and as evaluate
    # reads a test sentence; a space stays a boundary (fixed), so evaluate's F1 is that of this output
    chunked = [line.split() for line in lines if line.split()]
    data = TaggingData([list("".join(c)) for c in chunked], None, None, None)
    fold_width_hint(loaded, "".join(map("".join, chunked)), args.input or "standard input")
    unknown_characters_hint(loaded, "".join(map("".join, chunked)), args.input or "standard input")
    words = iter([fix_words(tags_to_words(c, t), accumulate(len(w) for w in chunks[:-1]))
                  for c, t, chunks in zip(data.words, loaded.predict(data), chunked)])
    out = [" ".join(next(words)) + "\n" if line.split() else "\n" for line in lines]
    _write_output(args, "".join(out))
    return 0


def evaluate_tagger(model_path: str, data_path: str, args: argparse.Namespace) -> int:
    loaded = LoadedTagger(model_path)
    spec = DataSpec(**{**loaded.spec.to_dict(), "encoding": args.encoding or "utf-8"})  # as tag and segment
    data = read_data(data_path, spec)
    if spec.format == "segmented":
        raw_segmented_file(data, data_path, gold=True)  # raw text as gold: every sentence one word, F1 near 0
        fold_width_hint(loaded, "".join(c for s in data.words for c in s), data_path)
    check_gold_spans(spec, data, data_path)  # span F1 of gold tags that are not the scheme's (a POS column)
    note = gold_scheme_note(spec, data, data_path)
    if note:
        warn(note)
    m = loaded.score(data)
    if spec.format != "segmented":  # segmented text's gold tags are made from its spaces, in the model's set
        _warn_unknown_tags(loaded, data, data_path)
    metric = loaded.task["metric"]
    if args.json:
        print(json_line({k: v for k, v in m.items() if k != "main"}))
    else:
        print(f"{data_path}: {describe(metric, m)}")
        for kind, s in (m.get("per_type") or {}).items():
            print(f"  {kind:>10}: precision {100 * s['precision']:6.2f}% recall {100 * s['recall']:6.2f}% "
                  f"F1 {100 * s['f1']:6.2f} ({s['support']} gold)")
    return 0


def _warn_unknown_tags(loaded: LoadedTagger, data: Any, path: str) -> None:
    """Gold tags the model was not trained on can only be counted wrong; when most are, the tags are
    likely another column or another tag set (a chunker's file scored with a POS model, UPOS '_')."""
    known = set(loaded.tags)
    gold = Counter(t for sentence in data.tags for t in sentence)
    unknown = Counter({t: n for t, n in gold.items() if t not in known})
    if unknown:
        total, missing = gold.total(), unknown.total()
        names = ", ".join(repr(t) for t, _ in unknown.most_common(5)) + (", ..." if len(unknown) > 5 else "")
        warn(f"{path}: {missing:,} of its {total:,} gold tags ({100 * missing / total:.1f}%: {names}) are tags the "
             f"model was not trained on (it knows {', '.join(map(repr, loaded.tags[:10]))}"
             f"{', ...' if len(loaded.tags) > 10 else ''}); they are counted as wrong"
             + ("; is the file tagged in the model's tag set and column?" if missing >= 0.5 * total else ""))


evaluate_cli.EVALUATORS["tagger"] = evaluate_tagger
evaluate_cli.EVALUATORS["hmm"] = evaluate_tagger
