"""``rnnkit train tagger``, ``rnnkit train hmm``, ``rnnkit tag`` and ``rnnkit segment``; evaluators.

A thin layer over :mod:`rnnkit.tagging` and :mod:`rnnkit.hmm`.  Both kinds of model are single
checkpoint files whose metadata records how their data was read (:class:`DataSpec`), so ``tag``,
``segment`` and ``evaluate`` read new files the way training did (see :mod:`rnnkit.tagging.io`).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli.common import (HelpFormatter, add_train_options, at_least_two, positive_int, probability,
                               train_config_from_args)
from rnnkit.data.files import check_output_path
from rnnkit.cli.pretrained import (
    add_embedding_options,
    add_extend_option,
    apply_pretrained,
    embedding_size,
    extend_vocab,
    read_pretrained,
)
from rnnkit.cli.text_warnings import fold_width_hint, raw_segmented_file, unsegmented, warn
from rnnkit.errors import DataError, describe_encode_error, os_problem
from rnnkit.jsonline import json_line
from rnnkit.metrics.tagging import require_seqeval
from rnnkit.tagging.io import (
    DataSpec,
    LoadedTagger,
    TaggingData,
    format_predictions,
    raw_sentences,
    read_tagged,
    save_hmm,
    tagger_meta,
)
from rnnkit.train.digest import file_digest
from rnnkit.train.loop import BEST, LAST, Trainer


def _add_data_options(p: argparse.ArgumentParser, need_valid: bool = False,
                      valid_help: str = "validation file (best checkpoint and early stopping)") -> None:
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True, help="training file")
    d.add_argument("--valid", required=need_valid, help=valid_help)
    d.add_argument("--test", help="test file, scored with the best model at the end")
    d.add_argument("--format", choices=["conllu", "columns", "segmented"], default="conllu",
                   help="CoNLL-U, whitespace columns (CoNLL-2000), or segmented text (one sentence a line, "
                        "words separated by spaces: word segmentation as BMES character tagging)")
    d.add_argument("--tag-column", default=None,
                   help="conllu: upos or xpos (default upos); columns: column index (default -1, the last)")
    d.add_argument("--word-column", type=int, default=0, help="columns: index of the word column")
    d.add_argument("--scheme", choices=["none", "bio", "iob1", "bioes", "bmes"], default=None,
                   help="tag scheme: span schemes give span F1 and legal-sequence decoding; bmes word F1 "
                        "(default: bmes for segmented, else none = token accuracy)")
    d.add_argument("--encoding", default="utf-8", help="text encoding of the data files")


def _spec(args: argparse.Namespace) -> DataSpec:
    """The DataSpec of the data options, each combination DataSpec would refuse said in the options'
    own names."""
    fmt = args.format
    scheme = args.scheme or ("bmes" if fmt == "segmented" else "none")
    if fmt == "columns":
        try:
            tag_column: str | int = -1 if args.tag_column is None else int(args.tag_column)
        except ValueError:
            raise ValueError(f"--tag-column {args.tag_column}: --format columns takes a column index (0 the first, "
                             "-1 the last)") from None
    else:
        tag_column = args.tag_column or "upos"
    if fmt == "conllu" and tag_column not in ("upos", "xpos"):
        raise ValueError(f"--tag-column {tag_column}: a CoNLL-U file's tags are upos or xpos (a column index is "
                         "for --format columns)")
    if fmt == "segmented" and scheme != "bmes":
        raise ValueError(f"--scheme {scheme}: segmented text is tagged B, M, E, S (--scheme bmes, the default for "
                         "--format segmented); leave --scheme out")
    if fmt == "segmented" and args.tag_column is not None:
        raise ValueError("--tag-column: segmented text has no tag column (its tags come from the spaces between "
                         "words); leave it out")
    features = tuple(getattr(args, "feature_columns", None) or ())
    if features and fmt != "columns":
        raise ValueError(f"--feature-columns reads extra columns of a column file (--format columns); with --format "
                         f"{fmt} leave it out")
    return DataSpec(fmt, tag_column, args.word_column, features, scheme, args.encoding)


def register(groups) -> None:
    fmt = HelpFormatter
    p = groups.train.add_parser("tagger", help="train a BiLSTM(-CRF) sequence tagger (POS, chunks, NER, segmentation)",
                                description="Train a BiLSTM tagger with a softmax or CRF output on tagged sentences.",
                                formatter_class=fmt)
    _add_data_options(p)
    p.add_argument("--feature-columns", type=int, nargs="*", default=[],
                   help="columns: extra input columns embedded as features (e.g. 1 = the POS of CoNLL-2000)")
    m = p.add_argument_group("model")
    m.add_argument("--crf", action="store_true", help="linear-chain CRF output (default: per-token softmax)")
    m.add_argument("--char-features", action="store_true", help="character BiLSTM features for every word")
    m.add_argument("--bigrams", action="store_true", help="character-bigram embeddings (word segmentation)")
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
    _add_data_options(h, valid_help="validation file, scored after training (an HMM is estimated in one pass: "
                                    "no epochs, no checkpoint to choose)")
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
    t.add_argument("--output", help="output file, gzip- or xz-compressed when its name ends in .gz or .xz (default: stdout)")
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
    s.add_argument("--output", help="output file, gzip- or xz-compressed when its name ends in .gz or .xz (default: stdout)")
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


def _check_metric_available(spec: DataSpec, *scored: str | None) -> None:
    """Span F1 needs seqeval: say so before training when a --valid or --test file will be scored."""
    from rnnkit.tagging.task import metric_for

    if any(scored) and metric_for(spec.scheme, spec.format) == "span_f1":
        require_seqeval()


def _looks_like_conllu(path: str, encoding: str) -> str | None:
    """Why a file given with --format columns or segmented looks like CoNLL-U (None when it does not)."""
    from rnnkit.data.files import open_data, text_lines

    try:  # the head is enough (20 lines are looked at): the reader reads the whole file anyway
        with open_data(Path(path)) as f:
            head = f.read(1 << 16).decode(encoding, errors="replace")
    except (DataError, ValueError, LookupError):
        return None
    lines = [line for line in text_lines(head) if line.strip()]
    if not lines:
        return None
    ten_columns = any(len(line.split("\t")) == 10 for line in lines[:20] if not line.startswith("#"))
    # "# sent_id = 1", "# text = ..." (a CoNLL-2000 token line "# # B-NP", the pound sign, has no " = ")
    if lines[0].startswith("#") and (" = " in lines[0] or ten_columns):
        return f"its first line {lines[0][:30]!r} is a comment"
    if ten_columns:
        return "its lines have 10 tab-separated columns"
    return None


def _read_data(path: str, spec: DataSpec, labelled: bool = True, training: bool = False) -> TaggingData:
    """``read_tagged``, plus (``training``) the checks of :mod:`rnnkit.tagging.checks`; a column file
    that is really CoNLL-U gets the hint to read it with --format conllu, and so does a CoNLL-U file
    read as segmented text (which reads without error, every line a "sentence" of column "words")."""
    from rnnkit.tagging.checks import TrainingDataError, check_training_data

    if spec.format == "segmented":
        why = _looks_like_conllu(path, spec.encoding)
        if why is not None:
            fix = ("use --format conllu" if training else
                   "a segmentation model (--format segmented) reads segmented text only; give this file in that form")
            raise DataError(f"{path} looks like CoNLL-U ({why}), not segmented text (one sentence a line, words "
                            f"separated by spaces): {fix}")
    try:
        data = read_tagged(path, spec, labelled=labelled)
        if training:
            check_training_data(spec, data, path)
        elif labelled:
            _check_gold_column(spec, data, path)
        return data
    except DataError as exc:
        why = _looks_like_conllu(path, spec.encoding) if spec.format == "columns" else None
        if why is None:
            raise
        # a check's own fix (another --tag-column) would still read CoNLL-U as columns: replace it
        problem = exc.problem if isinstance(exc, TrainingDataError) else str(exc)
        raise DataError(f"{problem}; {path} looks like CoNLL-U ({why}): use --format conllu") from None


def _check_gold_column(spec: DataSpec, data: TaggingData, path: str) -> None:
    """A column file scored against its gold tags must have them in a column of their own: in a file
    narrower than the training data, --tag-column -1 can fall on the word column, and every word
    then 'is' its own gold tag (accuracy 0, said as if it were a result)."""
    if spec.format != "columns" or not data.source:
        return
    width = len(data.source[0].rows[0])
    word, tag = (c + width if c < 0 else c for c in (spec.word_column, int(spec.tag_column)))
    if word == tag:
        raise DataError(f"{path}:{data.source[0].line_number}: a line of {width} column{'s' * (width != 1)}, and "
                        f"the model reads words from column {spec.word_column} and gold tags from column "
                        f"{spec.tag_column}, the same one here; give the file with its gold tags in a column of "
                        "their own (as in the training data)")


def _read_evaluation(args: argparse.Namespace, spec: DataSpec) -> tuple[TaggingData | None, TaggingData | None]:
    """--valid and --test read now, before training: a missing or malformed file stops the run at once
    (it used to fail only after training, after 'model saved:')."""
    valid = _read_data(args.valid, spec) if args.valid else None
    test = _read_data(args.test, spec) if args.test else None
    return valid, test


# ---------------------------------------------------------------------- commands
def train_tagger(args: argparse.Namespace) -> int:
    from rnnkit.tagging.model import Tagger, TaggerConfig
    from rnnkit.tagging.task import TaggerEncoder, TaggerTask, decoding_constraints, metric_for

    cfg = train_config_from_args(args)
    spec = _spec(args)
    _check_metric_available(spec, args.valid, args.test)  # now, not after the first epoch
    train = _read_data(args.train, spec, training=True)
    valid, test = _read_evaluation(args, spec)
    enc = TaggerEncoder.build(train, lowercase=args.lowercase, char_features=args.char_features,
                              bigrams=args.bigrams, min_count=args.min_count, max_chars=args.max_chars,
                              fold_width=args.fold_width)
    try:
        decoding_constraints(enc.tags, spec.scheme)
    except ValueError as exc:
        raise DataError(f"{args.train}: the training tags do not fit --scheme {spec.scheme}: {exc}") from None
    unit = "character" if spec.format == "segmented" else "word"  # segmented text is tagged character by character
    if spec.format == "segmented":
        raw_segmented_file(train, args.train)
        if valid is not None:
            raw_segmented_file(valid, args.valid)
    blank = sum(1 for w in train.words if not w)  # blank lines of a segmented file: nothing to learn from
    print(f"train: {len(train.words) - blank:,} sentences{f' ({blank:,} blank lines skipped)' if blank else ''}, "
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
    Trainer(task, cfg, args.run_dir, unit="tok", show_ppl=False,
            data_digest=file_digest([args.train])).fit(resume=args.resume)
    run = Path(args.run_dir)
    best = run / BEST if (run / BEST).exists() else run / LAST
    print(f"model saved: {best}", file=sys.stderr)
    if test is not None:
        loaded = LoadedTagger(str(best))
        print(f"test: {describe(metric, loaded.score(test))}")
    return 0


def train_hmm(args: argparse.Namespace) -> int:
    from rnnkit.hmm import HMMTagger
    from rnnkit.tagging.task import metric_for

    spec = _spec(args)
    _check_metric_available(spec, args.valid, args.test)
    check_output_path(args.output, "--output", make_folders=True, suffix=".safetensors")
    train = _read_data(args.train, spec, training=True)
    valid, test = _read_evaluation(args, spec)
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
    """Refuse an --output that cannot be written before any tagging (the file itself is written at the
    end, so that it may be the input)."""
    if args.output:
        check_output_path(args.output, "--output")


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
        if looks:
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
            data = _read_data(path, spec, labelled=args.format == "conllu")
    _write_output(args, format_predictions(data, loaded.predict(data), spec))
    return 0


def segment(args: argparse.Namespace) -> int:
    from rnnkit.data.files import text_lines
    from rnnkit.data.segmentation import join_clusters, keep_whole, tags_to_words

    loaded = LoadedTagger(args.model)
    if loaded.spec.scheme != "bmes":
        raise ValueError(f"{args.model} is not a segmentation model (scheme {loaded.spec.scheme}); use 'rnnkit tag'")
    _check_output(args)
    lines = text_lines(_read_input(args))
    # every whitespace-separated chunk is segmented on its own: a space is already a boundary
    chunks = [chunk for line in lines for chunk in line.split()]
    data = TaggingData([list(c) for c in chunks], None, None, None)
    fold_width_hint(loaded, "".join(chunks), args.input or "standard input")
    words = iter([keep_whole(join_clusters(tags_to_words(c, t))) for c, t in zip(data.words, loaded.predict(data))])
    out = []
    for line in lines:
        out.append(" ".join(w for _ in line.split() for w in next(words)) + "\n")
    _write_output(args, "".join(out))
    return 0


def evaluate_tagger(model_path: str, data_path: str, args: argparse.Namespace) -> int:
    loaded = LoadedTagger(model_path)
    spec = DataSpec(**{**loaded.spec.to_dict(), "encoding": args.encoding or "utf-8"})  # as tag and segment
    data = _read_data(data_path, spec)
    if spec.format == "segmented":
        fold_width_hint(loaded, "".join(c for s in data.words for c in s), data_path)
    m = loaded.score(data)
    metric = loaded.task["metric"]
    if args.json:
        print(json_line({k: v for k, v in m.items() if k != "main"}))
    else:
        print(f"{data_path}: {describe(metric, m)}")
        for kind, s in (m.get("per_type") or {}).items():
            print(f"  {kind:>10}: precision {100 * s['precision']:6.2f}% recall {100 * s['recall']:6.2f}% "
                  f"F1 {100 * s['f1']:6.2f} ({s['support']} gold)")
    return 0


evaluate_cli.EVALUATORS["tagger"] = evaluate_tagger
evaluate_cli.EVALUATORS["hmm"] = evaluate_tagger
