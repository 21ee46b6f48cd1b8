"""``rnnkit train classifier`` (with k-fold cross-validation) and ``rnnkit classify``; registers the evaluator.

A thin layer over :mod:`rnnkit.classify`.  Data: ``label<TAB>text`` files (``--format tsv``) or one
file per class (``--format polarity --pos F --neg F``, rt-polarity; add ``--encoding cp1252``; its
validation and test data as ``--valid-pos/--valid-neg`` and ``--test-pos/--test-neg`` pairs, or as
label<TAB>text files).  Without ``--valid`` a fraction of the training data is held out to pick the
best epoch (reading and checking the data: :mod:`rnnkit.cli.classify_data`), by accuracy or with
``--select-by macro_f1`` by macro-F1; ``--class-weights`` weighs the classes in the loss
(:mod:`rnnkit.classify.weights`).  Reports, and ``rnnkit evaluate``'s scoring: :mod:`rnnkit.cli.classify_report`.

``--level char`` makes every non-space character a token, for Chinese or Japanese written without
spaces; training at word level on such text is warned about (each sentence would be one token), and
so is classifying or evaluating it with a word-level model.  The level is saved in the checkpoint.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli import apply_progress, processes
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.classify_data import (check_labels, data_source, data_summary, held_data, holdout, read_examples,
                                      say_holdout, warn_if_unsegmented, warn_small_holdout)
from rnnkit.cli.classify_folds import class_weights_option, cross_validation, fold_count, remove_stale_folds
from rnnkit.cli.classify_report import describe, evaluate_classifier, scores, warn_unknown_labels
from rnnkit.cli.common import (
    HelpFormatter,
    add_layer_norm_option,
    add_peephole_option,
    add_residual_option,
    add_select_by_option,
    add_train_options,
    check_layer_norm,
    check_min_count,
    fit,
    nonnegative_int,
    positive_int,
    probability,
    peephole_rule,
    residual_rule,
    train_config_from_args,
)
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
from rnnkit.cli.output import check_output, write_output
from rnnkit.cli.classify_trees import (add_tree_format_options, classified_lines, train_phrases, tree_format_rules,
                                      tree_row)
from rnnkit.cli.trees import label_scheme
from rnnkit.cli.trees_classify import add_tree_options
from rnnkit.cli.text_warnings import fold_width_hint, warn, warn_unknown_tokens
from rnnkit.errors import DataError
from rnnkit.train.loop import LAST

__all__ = ["describe", "scores"]  # (from rnnkit.cli.classify_report, where they are defined)

BLOCK = 10_000  # lines classified, then written, at a time


def register(groups) -> None:
    fmt = HelpFormatter
    p = groups.train.add_parser("classifier", help="train a recurrent sentence classifier",
                                description="Train an embedding -> (Bi)RNN -> pooling -> softmax sentence classifier; "
                                            "--folds K runs K-fold cross-validation instead.", formatter_class=fmt)
    d = p.add_argument_group("data")
    d.add_argument("--train", help="training file (label<TAB>text; --format tsv, or labelled trees with --format tree)")
    d.add_argument("--valid", help="validation file (default: hold out --valid-fraction of the training data)")
    d.add_argument("--test", help="test file, scored with the best model at the end")
    d.add_argument("--format", choices=["tsv", "polarity", "tree"], default="tsv",
                   help="tsv: label<TAB>text lines; polarity: one file per class (--pos, --neg); tree: one labelled "
                        "bracketed tree a line (SST's files), each tree's words and root label one example")
    d.add_argument("--pos", help="polarity: file of positive sentences, one a line")
    d.add_argument("--neg", help="polarity: file of negative sentences, one a line")
    for which, what in (("valid", "validation"), ("test", "test")):
        for side, name in (("pos", "positive"), ("neg", "negative")):
            d.add_argument(f"--{which}-{side}", metavar="FILE",
                           help=f"polarity: {what} file of {name} sentences (with --{which}-"
                                f"{'neg' if side == 'pos' else 'pos'}; instead of --{which})")
    d.add_argument("--encoding", default="utf-8", help="text encoding (rt-polarity: cp1252)")
    d.add_argument("--header", action="store_true",
                   help="tsv: the files' first line is a header; skip it in every file read (--train, --valid and "
                        "--test alike; refused when it reads as an example, its label another line's)")
    d.add_argument("--level", choices=["word", "char"], default="word",
                   help="tokens: words split at whitespace, or characters: every non-space character is one "
                        "token and spaces are dropped (Chinese or Japanese written without spaces; Latin words "
                        "are then split into letters too); saved with the model")
    add_tree_format_options(d)
    d.add_argument("--valid-fraction", type=probability, default=0.1, help="held out for validation without --valid "
                   "(the sentences drawn by --seed)")
    d.add_argument("--folds", type=fold_count, default=0,
                   help="K-fold cross-validation (e.g. 10 for rt-polarity); 0: off")
    d.add_argument("--fold-seed", type=nonnegative_int, default=0, help="seed of the fold assignment")
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm", help="recurrent cell")
    add_embedding_options(m, 100, what="token (word, or character with --level char)")
    add_extend_option(m, "--valid and --test (with --folds: of every fold)")
    m.add_argument("--hidden", type=positive_int, default=100, help="hidden units per direction")
    m.add_argument("--layers", type=positive_int, default=1, help="stacked recurrent layers")
    add_residual_option(m)
    add_peephole_option(m)
    add_layer_norm_option(m)
    m.add_argument("--unidirectional", action="store_true", help="one direction only (default: bidirectional)")
    m.add_argument("--pooling", choices=["last", "mean", "max", "attention"], default="max",
                   help="sentence vector from the states: the last one of each direction, their mean, their "
                        "elementwise max, or attention's weighted mean (Yang et al. 2016; 'rnnkit classify "
                        "--attention' shows each token's weight)")
    m.add_argument("--attention-size", type=positive_int, default=None, metavar="A",
                   help="--pooling attention: units of its tanh layer (default --hidden)")
    m.add_argument("--dropout", type=probability, default=0.5,
                   help="dropout on embeddings, between layers and on the pooled vector")
    m.add_argument("--weight-drop", type=probability, default=0.0, metavar="P",
                   help="DropConnect on the recurrent weights W_hh, one mask per batch, one per sub-batch when a batch "
                        "too long to pad whole is split (AWD-LSTM; default: 0)")
    m.add_argument("--word-dropout", type=probability, default=0.0,
                   help="replace each training token by <unk> with this probability (regularises, and trains the "
                        "<unk> vector that words unseen in training get)")
    m.add_argument("--lowercase", action="store_true", help="lowercase the text")
    m.add_argument("--fold-width", action="store_true",
                   help="read full-width letters, digits and punctuation (Ａ１，：) as their ASCII forms and 。 as '.' "
                        "(NFKC, one character to one), so text mixing the two forms gives one token per character; "
                        "saved with the model")
    m.add_argument("--min-count", type=positive_int, default=1, help="tokens rarer than this become <unk>")
    m.add_argument("--max-length", type=nonnegative_int, default=0,
                   help="keep at most this many tokens (words, or characters with --level char) per text (0: all; a "
                        "text far longer than the others is warned of with a value to give)")
    m.add_argument("--batch-size", type=positive_int, default=32, help="sentences per batch")
    i = p.add_argument_group("imbalanced classes")
    add_select_by_option(i)
    i.add_argument("--class-weights", type=class_weights_option, default="none", metavar="{none,balanced,LABEL=W,...}",
                   help="weights of the classes in the training loss (sum of the weighted cross-entropies / the "
                        "batch's texts): none (all 1), balanced (N / (K N_k) for the N_k of N training texts "
                        "labelled k, as scikit-learn; with --folds from each fold's training part), or e.g. "
                        "'pos=3,neg=0.5' (each W > 0; a label left out weighs 1); saved with the model (--resume "
                        "refuses another)")
    add_train_options(p, lr=0.001, clip=5.0, optimizer="adam", epochs=10, run_dir="runs/classifier",
                      seeded="; without --valid, which sentences --valid-fraction holds out")
    p.set_defaults(func=train_classifier)
    e = groups.commands.choices.get("evaluate")
    if e is not None:  # rnnkit.cli.evaluate registers first
        e.add_argument("--header", action="store_true",
                       help="classifier, seq2seq: skip the TSV file's first line (a classifier's: refused when it "
                            "reads as an example, its label one of the model's; a translator's DATA whose first line "
                            "is column names, such as source<TAB>target, is refused without it)")
        e.add_argument("--pos", metavar="FILE", help="classifier: score a polarity pair, this file's sentences "
                                                     "labelled pos (with --neg, instead of DATA)")
        e.add_argument("--neg", metavar="FILE", help="classifier: ... and this file's labelled neg")

    c = groups.commands.add_parser("classify", help="classify sentences with a trained classifier",
                                   description="Read one text a line (for a tree model, from 'rnnkit train tree': one "
                                               "bracketed binary tree a line (a Child-Sum Tree-LSTM's: any number "
                                               "of children a node), its labels optional, or with --binarize "
                                               "plain words); write label<TAB>text lines, one for every "
                                               "input line: a blank input line gives an empty output line, so output "
                                               "line k is the class of input line k (with --attention, under "
                                               "each text its tokens follow, one a line, indented).",
                                   formatter_class=fmt)
    c.add_argument("model", help="classifier or tree-model checkpoint, or its run folder (its best.safetensors, else "
                                  "last.safetensors)")
    c.add_argument("input", nargs="?", help="input file, one text (or tree) a line (default: stdin)")
    c.add_argument("--probs", action="store_true",
                   help="add a column with every class's probability (--format text and tree; --format json has "
                        "them always)")
    c.add_argument("--attention", action="store_true",
                   help="under each text, every token it was read as with its attention weight and a bar (a model "
                        "trained with --pooling attention)")
    c.add_argument("--output", help="output file, compressed when its name ends in .gz, .xz or .bz2, written "
                                    "whole or not at all (default, or -: stdout)")
    c.add_argument("--encoding", default="utf-8",
                   help="text encoding of the input and of --output (standard output uses the locale's encoding; "
                        "PYTHONIOENCODING changes it)")
    apply_progress.add_option(c, counted="; a tree model's tokens: its words")
    add_tree_options(c)
    c.set_defaults(func=classify)


def _fit(args: argparse.Namespace, train: list, valid: list | None, run_dir: Path,
         evaluation: list | None = None, part: str | None = None, valid_name: str | None = None,
         say_data: Callable[[], None] | None = None) -> tuple[Any, Any]:
    """Train one model; returns (model, encoder) of the best checkpoint.  ``evaluation``: the texts
    whose words ``--extend-vocab`` may add (validation and test data); ``part``: what ``train`` is,
    for messages (default: the training files); ``valid_name``: the given validation data's; ``say_data``
    says what the data hold (a single run's, once its data are past every refusal)."""
    from rnnkit.classify.model import Classifier, ClassifierConfig
    from rnnkit.classify.task import ClassifierEncoder, ClassifierTask, classifier_meta, load_classifier
    from rnnkit.classify.weights import class_weights_from

    cfg = train_config_from_args(args)
    held_out = None  # (held, of) texts of the training data held out, when they were
    where = "the validation data"
    if valid is None and args.valid_fraction > 0:
        total = len(train)
        train, valid = holdout(args, train, cfg.seed, part or data_source(args))
        held_out = (len(valid), total)
    elif valid is not None and valid_name:
        where = valid_name if valid_name.startswith("--") else f"--valid {valid_name}"
    train = train_phrases(args, train)  # --format tree --all-phrases: every phrase of the training part's trees
    enc = ClassifierEncoder.build([e.text for e in train], [e.label for e in train], args.lowercase,
                                  args.min_count, args.max_length, args.level, args.fold_width)
    check_min_count(args.min_count, enc.vocab, part or data_source(args))
    train_labels = enc.encode_labels([e.label for e in train])
    # from the texts trained on: after the hold-out, and with --folds each fold's own
    weights = class_weights_from(args.class_weights, enc.labels, train_labels, "--class-weights")
    enc.vocab = extend_vocab(args, enc.vocab, (tok for e in (valid or []) + (evaluation or [])
                                               for tok in enc.tokenize(e.text)))
    vectors = read_pretrained(args, enc.vocab.tokens)
    if say_data is not None:  # said after the errors a run can still meet; with --folds, once for all
        say_data()
    if weights is not None and not args.folds:
        shown = ", ".join(f"{label} {w:.4g}" for label, w in zip(enc.labels, weights))
        print(f"class weights ({args.class_weights}): {shown}", file=sys.stderr)
    if held_out and not args.folds:
        say_holdout(args, *held_out, part or data_source(args))
        warn_small_holdout(args, *held_out, part or data_source(args))
    # attention_size at its default unless attention pools: a run from before the field existed resumes
    sizes = {"attention_size": args.attention_size or args.hidden} if args.pooling == "attention" else {}
    mcfg = ClassifierConfig(len(enc.vocab), len(enc.labels), args.cell, embedding_size(args, vectors, 100),
                            args.hidden, args.layers, not args.unidirectional, args.pooling, args.dropout,
                            args.weight_drop, class_weights=weights, residual=args.residual,
                            peephole=args.peephole, layer_norm=args.layer_norm, **sizes)
    model = Classifier(mcfg, np.random.default_rng(cfg.seed))
    scheme = label_scheme(args) if args.format == "tree" else None
    cfg = apply_pretrained(args, model.params, enc.vocab.tokens, vectors, cfg)
    vs = vl = None
    if valid:
        vs = enc.encode([e.text for e in valid])
        vl = enc.encode_labels([e.label for e in valid], where)
    task = ClassifierTask(model, enc.encode([e.text for e in train]), train_labels, vs, vl, args.batch_size, cfg.seed,
                          meta=classifier_meta(model, enc, args.format, scheme), word_dropout=args.word_dropout,
                          unk_id=enc.vocab.unk_id, select_by=args.select_by)
    # a cross-validation resumed: the folds it had not reached yet have no checkpoint, and start afresh
    # (process 0's folder decides, for every process)
    resume = processes.group().broadcast(args.resume and (not args.folds or (run_dir / LAST).exists()))
    files = [args.pos, args.neg] if args.format == "polarity" else [args.train]
    done = fit(task, cfg, run_dir, resume, files, unit="sent", say=not args.folds,  # a fold's model: not said
               options={**embeddings_option(args), **vocabulary_options(args),
                        "--all-phrases": bool(getattr(args, "all_phrases", False))})
    if done is None:  # a process other than 0 of several
        return None, None
    best = done[1]
    model, enc, _ = load_classifier(best)
    return model, enc


def train_classifier(args: argparse.Namespace) -> int:
    valid_given = bool(args.valid or args.valid_pos or args.valid_neg)
    refuse_unused(args, [
        ("--fold-seed", not args.folds, "without --folds (it assigns the folds): give --folds K"),
        ("--valid-fraction", valid_given, "with --valid (it holds out training data when there is no --valid "
                                          "file): choose one"),
        ("--header", args.format != "tsv", f"with --format {args.format} (it skips a TSV file's first line): use "
                                           "--format tsv"),
        ("--attention-size", args.pooling != "attention", f"with --pooling {args.pooling} (it sizes attention "
                                                          "pooling): add --pooling attention"),
        residual_rule(args),
        peephole_rule(args),
        *tree_format_rules(args),
        ("--select-by", not valid_given and args.valid_fraction == 0,
         "without validation data (it chooses best.safetensors by a validation metric): give --valid, or a "
         "--valid-fraction above 0"),
    ])
    check_layer_norm(args)
    if args.folds and (valid_given or args.test or args.test_pos or args.test_neg):
        raise ValueError(f"--folds {args.folds} validates and tests on each fold's held-out part, so --valid and "
                         "--test would be ignored: leave them out, or drop --folds to use them")
    examples = read_examples(args)
    check_labels(args, examples)
    if args.folds > len(examples):
        raise DataError(f"--folds {args.folds} needs at least {args.folds} texts (each fold holds some out to test "
                        f"on), and {data_source(args)} has {len(examples):,}; give --folds {len(examples)} or fewer")
    run = Path(args.run_dir)

    def say_data() -> None:  # after the refusals the data can meet, so that a refusal is the one line on stderr
        print(data_summary(args, examples), file=sys.stderr)
        if args.level == "word":
            warn_if_unsegmented([e.text for e in examples], data_source(args))

    if args.folds:
        return cross_validation(args, examples, run, _fit, scores, say_data)
    classes = sorted({e.label for e in examples})  # a held-out file's --header line of one of them is an example
    valid, valid_name = held_data(args, "valid", classes)
    test, test_name = held_data(args, "test", classes)
    if args.test:  # said as the data load, not after the training (a polarity pair's labels are pos and neg)
        warn_unknown_labels(test, classes, test_name, 1 + args.header, training=True)
    model, enc = _fit(args, examples, valid, run, test, valid_name=valid_name, say_data=say_data)
    if model is None:  # a process other than 0 of several: process 0 reports
        return 0
    if not args.resume:
        remove_stale_folds(run)
    if test is not None:
        print("test: " + describe(scores(model, enc, test)))
    return 0


train_classifier.data_parallel = True  # mpiexec -n P rnnkit train classifier ... (--folds too)


def classify(args: argparse.Namespace) -> int:
    from rnnkit import checkpoint as ckpt
    from rnnkit.classify.loaded import LoadedClassifier
    from rnnkit.cli.classify_attention import check_attention
    from rnnkit.cli.classify_rows import FORMATS, output_row
    from rnnkit.cli.file_looks import columns_lines_warning, conllu_lines_warning
    from rnnkit.data.classification import looks_like_header
    from rnnkit.data.files import read_input, text_lines

    if (ckpt.load_meta(args.model).get("task") or {}).get("model") == "treenet":
        from rnnkit.cli.trees_classify import classify_trees

        if args.attention:
            raise ValueError(f"--attention shows a sentence classifier's attention pooling, and {args.model} is a "
                             "tree model: leave --attention out")
        return classify_trees(args)
    refuse_unused(args, [("--binarize", True, "for a sentence classifier (it is a tree model's option): classify "
                                              "with a model from 'rnnkit train tree'")])
    loaded = LoadedClassifier(args.model)
    from_trees = loaded.task.get("format") == "tree"  # trained on tree files: reads trees (their words) too
    if args.format not in FORMATS and not from_trees:
        raise ValueError(f"--format {args.format} has no effect for a sentence classifier trained on texts (it "
                         f"writes a tree): give --format {' or '.join(FORMATS)}, or classify with a model from 'rnnkit "
                         "train tree' or 'rnnkit train classifier --format tree'")
    enc, labels = loaded.encoder, loaded.labels  # (labels: a copy, taken once, not per text)
    if args.attention:
        check_attention(loaded.model.config.pooling, args.model)
    check_output(args)  # before the work: not the input or the model, and a file that can be made
    text, name = read_input(args.input, args.encoding)
    lines, trees = classified_lines(text_lines(text), name, args.format, from_trees)
    texts = [line for line in lines if line.strip()]
    # a header line (label<TAB>text, as train --header skips) would be classified as a text of its own
    header = bool(texts) and "\t" in texts[0] and looks_like_header(*texts[0].split("\t", 1))
    body = texts[header:]
    labelled = bool(body) and all("\t" in line and line.split("\t", 1)[0].strip() in labels for line in body)
    if labelled:  # label<TAB>text, the training format: the labels would be read as words
        warn(f"every line of {args.input or 'standard input'} starts with one of the model's labels and a tab "
             f"(label<TAB>text, as training reads{', under a header line' if header else ''}), so the label is "
             "classified as part of the text; to score labelled texts use 'rnnkit evaluate MODEL FILE"
             f"{' --header' if header else ''}', or give the texts alone ('cut -f2-')")
    elif header:
        warn(f"{args.input or 'standard input'}:{lines.index(texts[0]) + 1}: the first line ({texts[0].strip()!r}) "
             "looks like a header, and is classified as a text; remove it ('tail -n +2')")
    misread = (conllu_lines_warning(lines, args.input or "standard input", "classify", "text", "classified")
               or columns_lines_warning(lines, args.input or "standard input", "classify", "text", "classified"))
    warned = False
    if misread:  # each token line (ID, FORM, LEMMA ... or word, tag, chunk) would be classified as a text of its own
        warn(misread)
    elif enc.level == "word":
        warned = warn_if_unsegmented(texts, args.input or "standard input", enc, args.model)
    fold_width_hint(enc, (t for text in texts for t in enc.tokenize(text)), args.input or "standard input",
                    known=set(enc.vocab.tokens), what=f"{'character' if enc.level == 'char' else 'word'} tokens",
                    model="a classifier")
    if not (labelled or misread or warned):  # else the cause is warned of already
        warn_unknown_tokens(((t, t in enc.vocab) for text in texts[:10_000] for t in enc.tokenize(text)),
                            args.input or "standard input", "the language the model was trained on", share=0.9,
                            least=10)
    del texts

    def classified(start: int) -> str:
        block = lines[start : start + BLOCK]
        texts = [line for line in block if line.strip()]
        weights: Any = iter(())
        if args.attention:
            found, shares = loaded.attention(texts, on_batch=progress)
            probs, weights = iter(found), iter(shares)
        else:
            probs = iter(loaded.predict_proba(texts, on_batch=progress))
        out = []
        for line, tree in zip(block, trees[start : start + BLOCK]):
            if not line.strip():
                out.append("\n")  # a blank line stays blank, so output line k belongs to input line k
            elif args.format == "tree":
                p = next(probs)
                out.append(tree_row(tree, labels[int(p.argmax())], p, labels, args.probs))
            else:
                out.append(output_row(line, next(probs), labels, enc, args.format, args.probs,
                                      next(weights) if args.attention else None))
        return "".join(out)

    # classified and written a block at a time; the tokens, for a display, counted only when one is shown
    with apply_progress.Shown(args.progress, lambda: sum(len(enc.tokenize(line)) for line in lines if line.strip()),
                              "classifying") as progress:
        write_output(args, (classified(a) for a in range(0, len(lines), BLOCK)))
    return 0


evaluate_cli.EVALUATORS["classifier"] = evaluate_classifier
