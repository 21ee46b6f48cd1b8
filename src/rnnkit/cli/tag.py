"""``rnnkit tag`` and ``rnnkit segment``: a trained tagger, segmenter or HMM
(:class:`~rnnkit.tagging.loaded.LoadedTagger`) applied to new files, read the way its training data was
(``rnnkit train tagger`` and ``train hmm`` are :mod:`rnnkit.cli.tagging`; the taggers' ``rnnkit evaluate``
is :mod:`rnnkit.cli.tag_evaluate`)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rnnkit.cli import apply_progress, tag_confidence
from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli.common import HelpFormatter
from rnnkit.cli.dict_evaluate import add_dict_option, read_dicts
from rnnkit.cli.output import check_output, write_output
from rnnkit.cli.tag_evaluate import evaluate_tagger
from rnnkit.cli.tag_notes import impossible_note, no_path_note
from rnnkit.cli.file_looks import column_reason, conllu_reason, tsv_reason
from rnnkit.cli.tagging_data import read_data
from rnnkit.cli.text_warnings import (fold_width_hint, line_hints, unknown_characters_hint, unsegmented, warn,
                                      warn_unknown_tokens)
from rnnkit.data.conll import MISC_TAG
from rnnkit.data.slash import tagged_tokens
from rnnkit.errors import NoSentencesError
from rnnkit.tagging.io import DataSpec, format_predictions, raw_sentences
from rnnkit.tagging.loaded import LoadedTagger

BLOCK = 10_000  # lines of raw text (sentences of a CoNLL-U or column file) tagged, then written, at a time


def register(groups) -> None:
    fmt = HelpFormatter
    t = groups.commands.add_parser("tag", help="tag text with a trained tagger or HMM",
                                   description="Tag sentences; the output has the input's format plus predictions.",
                                   formatter_class=fmt)
    t.add_argument("model", help="tagger or HMM checkpoint, or a tagger's run folder")
    t.add_argument("input", nargs="?", help="input file (default: stdin)")
    t.add_argument("--format", choices=["raw", "conllu", "columns", "slash"],
                   help="raw: one sentence a line, whitespace tokens, out as word/TAG; conllu: the column the model "
                        "learned (UPOS or XPOS) replaced, or, for a model trained on another format, Tag=TAG added "
                        "to MISC; "
                        "columns: predictions appended as a last column; slash: word/TAG tokens (split at the last "
                        "'/'), their tags replaced (default: raw; a file that looks like CoNLL-U, columns or "
                        "word/TAG is warned about)")
    t.add_argument("--output", help="output file, compressed when its name ends in .gz, .xz or .bz2 "
                                     "(default, or -: stdout)")
    t.add_argument("--encoding", default="utf-8",
                   help="text encoding of the input and of --output (standard output uses the locale's encoding; "
                        "PYTHONIOENCODING changes it)")
    tag_confidence.add_options(t)
    apply_progress.add_option(t)
    t.set_defaults(func=tag)

    s = groups.commands.add_parser("segment", help="segment raw Chinese text into words",
                                   description="Segment raw text (one sentence a line) with a BMES tagger or HMM; "
                                               "words come out separated by spaces.  Existing spaces stay word "
                                               "boundaries; a web or e-mail address (a word of its own, Chinese "
                                               "in it included: https://中文.tw/路徑; a space or a full-width mark "
                                               "ends it, and Chinese after its . ? ; ! is the text that "
                                               "follows: www.abc.com.明天見), a Latin "
                                               "word or number (MacBook, 3.5, 6,000) and a character on screen (an "
                                               "emoji with its joiners, a flag) are never split, and a Latin "
                                               "word is cut from the Chinese beside it.  A line over "
                                               "5,000 characters is read in pieces cut after its sentence ends "
                                               "(。！？), so a book saved as one line fits in memory.  --dict "
                                               "words (names, terms) are kept whole wherever they occur.  Lines "
                                               "an HMM gives probability 0 (their words a fallback guess) are "
                                               "named in one warning after the output, as 'rnnkit tag' does; so "
                                               "are lines the model's tags cannot tag by the B M E S rules (a "
                                               "model trained on no one-character word has no S: a one-character "
                                               "line), segmented by its best tags without the rules.",
                                   formatter_class=fmt)
    s.add_argument("model", help="segmentation checkpoint (trained with --format segmented), or its run folder")
    s.add_argument("input", nargs="?", help="input file (default: stdin)")
    s.add_argument("--output", help="output file, compressed when its name ends in .gz, .xz or .bz2 "
                                     "(default, or -: stdout)")
    s.add_argument("--encoding", default="utf-8",
                   help="text encoding of the input and of --output (standard output uses the locale's encoding; "
                        "PYTHONIOENCODING changes it)")
    s.add_argument("--dict", action="append", metavar="FILE", dest="user_dict",
                   help="a user dictionary: words always kept whole (names, terms), even ones the model never saw; "
                        "UTF-8, one word a line in jieba's format 'word [freq] [tag]' (frequency and tag are "
                        "ignored), blank lines, # comments and one-character entries skipped; for the words the "
                        "model misses, not a full lexicon (jieba's dict.txt), which would override the model "
                        "everywhere (maximum matching: warned about).  Each occurrence is found leftmost-longest "
                        "(never across a space, nor inside a Latin word or an address) and the model's decoding "
                        "is constrained to keep it one word.  Give --dict more than once for several files")
    apply_progress.add_option(s, counted="; the tokens: the input's characters, spaces left out")
    s.set_defaults(func=segment)
    e = groups.commands.choices.get("evaluate")
    if e is not None:  # rnnkit.cli.evaluate registers first
        add_dict_option(e)


def _read_input(args: argparse.Namespace) -> str:
    from rnnkit.data.files import read_input

    return read_input(args.input, args.encoding)[0]


def _blocks(lines: list[str], size: int = BLOCK) -> Iterator[list[str]]:
    """``lines`` ``size`` at a time: predicted and written a block at a time, so that neither the model's
    arrays nor the output of a long file are held whole."""
    for a in range(0, len(lines), size):
        yield lines[a : a + size]


def tag(args: argparse.Namespace) -> int:
    from rnnkit.data.files import text_lines

    loaded = LoadedTagger(args.model)
    if loaded.spec.scheme == "bmes":
        raise ValueError(f"{args.model} is a segmentation model: use 'rnnkit segment {args.model}'")
    tag_confidence.check_options(args, loaded)
    check_feature_input(args, loaded)
    check_output(args)

    column = conllu_column(loaded, args)

    def formatted(data, spec, shown, first_line=1):  # the predictions, or with --probs, --nbest or --spans the
        # probabilities too; shown: the progress display; first_line: raw text's line of the block's first sentence
        impossible: list[int] = []
        pathless: list[int] = []
        if tag_confidence.wanted(args):
            text = tag_confidence.format_block(args, loaded, data, spec, column, impossible, pathless)
            shown(sum(map(len, data.words)))  # counted a block at a time
        else:
            text = format_predictions(data, loaded.predict(data, impossible=impossible, no_path=pathless,
                                                           on_batch=shown), spec, column)
        line = (lambda i: first_line + i) if data.source is None else (lambda i: data.source[i].line_number)
        zero.extend(map(line, impossible))
        rulebreak.extend(map(line, pathless))
        return text

    def written(blocks, shown) -> int:  # the output, then one warning for every sentence of probability 0 in it
        with shown:
            write_output(args, blocks)
        if zero:
            warn(impossible_note(name, zero, args))
        if rulebreak:
            warn(no_path_note(name, rulebreak, loaded, "tags", args))
        return 0

    zero: list[int] = []  # input lines of the sentences of probability 0 (an HMM's), over all blocks
    rulebreak: list[int] = []  # input lines the scheme allows no sequence of the model's tags

    size = max(1, BLOCK // args.nbest) if args.nbest else BLOCK  # --nbest K writes K lines a sentence
    enc = getattr(loaded, "encoder", None)  # full-width punctuation a model trained on ASCII's never saw
    norm = enc.norm if enc is not None else str
    name = args.input or "standard input"
    if args.format in (None, "raw"):
        lines = text_lines(_read_input(args))
        looks = unsegmented(lines, name)
        conllu = conllu_reason(lines)
        looks_columns = column_reason(lines)  # asked for with --format raw: not warned of, but no unknown words either
        slashed = tagged_tokens(line.split() for line in lines) if args.format is None else None
        columns = looks_columns if args.format is None and not slashed else None
        tsv = tsv_reason(lines) if not (conllu or slashed or columns) else None
        if conllu:  # its token lines would be tagged as sentences, column by column
            warn(f"{name} looks like CoNLL-U ({conllu}), and --format raw (the default) "
                 "reads one sentence a line: give --format conllu to tag its words")
        elif slashed:  # each word/TAG token would be tagged as one unknown word, its tag left in
            warn(f"{name}: its tokens look like word/TAG pairs ({', '.join(map(repr, slashed))}, ...), and --format "
                 "raw (the default) reads them as words: give --format slash to tag its words")
        elif columns:  # each token line would be tagged as a sentence of its fields
            warn(f"{name} looks like a column file ({columns}), and --format raw (the default) reads one "
                 "sentence a line: give --format columns")
        elif tsv:  # each line's label would be tagged as its first word
            cut = f"cut -f2- {args.input}" if args.input else "cut -f2-"
            warn(f"{name} looks like label<TAB>text, a classifier's data ({tsv}), so each label is tagged as the "
                 f"first word of its text: tag the texts alone ({cut} | rnnkit tag MODEL)")
        elif looks:
            warn(f"{looks}, and a tagger reads words separated by spaces; segment it first "
                 "('rnnkit segment SEGMENTER FILE | rnnkit tag MODEL')")
        fold_width_hint(loaded, (norm(w) for line in lines for w in line.split()), name, what="tokens",
                        model="a tagger")
        if not (conllu or looks_columns or looks or slashed or tsv):  # else the words are unknown for the reason said
            _warn_unknown_words(loaded, [line.split() for line in lines[:10_000]], name)
        shown = apply_progress.Shown(args.progress, lambda: sum(len(line.split()) for line in lines), "tagging")
        return written((formatted(raw_sentences(block), None, shown, 1 + k * size)
                        for k, block in enumerate(_blocks(lines, size))), shown)
    spec = (loaded.spec if loaded.spec.format == args.format
            else DataSpec(args.format, -1 if args.format == "columns" else "upos"))
    spec = DataSpec(**{**spec.to_dict(), "encoding": args.encoding})
    with tempfile.TemporaryDirectory() as tmp:
        path = args.input
        if path is None:
            path = os.path.join(tmp, "stdin.txt")
            Path(path).write_text(_read_input(args), encoding=args.encoding)
        try:
            data = read_data(path, spec, labelled=args.format in ("conllu", "slash"),
                             format_from="model" if loaded.spec.format == args.format else "option",
                             plain_fix="drop --format to tag plain text (rnnkit tag MODEL FILE)")
        except NoSentencesError as empty:  # nothing to tag: its lines back, as raw text's blank lines, exit 0
            json_lines = args.nbest or args.spans  # a JSON line a sentence: none
            write_output(args, [] if json_lines else ["".join(line + "\n" for line in empty.lines)])
            return 0
    fold_width_hint(loaded, (norm(w) for s in data.words for w in s), name, what="tokens", model="a tagger")
    _warn_unknown_words(loaded, [list(s) for s in data.words[:10_000]], name)
    shown = apply_progress.Shown(args.progress, sum(map(len, data.words)), "tagging")
    blocks = (data.block(a, a + size) for a in range(0, len(data.words), size))
    return written((formatted(part, spec, shown) for part in blocks), shown)


def check_feature_input(args: argparse.Namespace, loaded: LoadedTagger) -> None:
    """A model trained with --feature-columns (a chunker reading POS) tags column files that hold them: raw text,
    or another format, has none (the library's words for that name a Python call)."""
    columns = list(loaded.spec.feature_columns)
    if not columns or args.format == "columns":
        return
    name = args.input or "standard input"
    read = "read as raw text (one sentence a line)" if args.format in (None, "raw") else f"{args.format} input"
    these = f"column{'s' * (len(columns) != 1)} {', '.join(map(str, columns))}"
    raise ValueError(f"{args.model} reads feature {these} beside the words (trained with --feature-columns "
                     f"{' '.join(map(str, columns))}), and {name} is {read}, without them: give --format columns "
                     f"and a file that holds them, the words in column {loaded.spec.word_column} and the features in "
                     f"{these}, as the training data did")


def conllu_column(loaded: LoadedTagger, args: argparse.Namespace) -> str | None:
    """Where ``tag --format conllu`` writes the tags: the column a model trained on CoNLL-U learned (UPOS or
    XPOS); a model trained on another format (a chunker's B-NP, a NER model's B-PER) cannot say its tags are
    either, so they go into MISC as ``Tag=B-NP``, UPOS and XPOS left as they are (said on stderr)."""
    if args.format != "conllu":
        return None
    says = not (args.nbest or args.spans)  # their output is no CoNLL-U: nothing goes into MISC
    if loaded.task["metric"] == "induction":
        if says:
            print(f"{args.model} is an unsupervised HMM: its states go into the MISC column as {MISC_TAG}=S3 ..., UPOS "
                  "and XPOS left as they are", file=sys.stderr)
        return "misc"
    if loaded.spec.format == "conllu":
        return None
    trained = {"columns": "a column file", "slash": "word/TAG text"}.get(loaded.spec.format, loaded.spec.format)
    if says:
        print(f"{args.model} was trained on {trained}, not CoNLL-U: its tags go into the MISC column "
              f"as {MISC_TAG}=TAG, UPOS and XPOS left as they are (a model trained on CoNLL-U fills the column it "
              "learned)", file=sys.stderr)
    return "misc"


def _warn_unknown_words(loaded: LoadedTagger, sentences: list[list[str]], name: str) -> None:
    """Warn when nine in ten or more of ten or more words to tag are unknown to the tagger, read as it reads
    them: text in another language than it was trained on is tagged with confident nonsense (a few unseen
    names are not judged).  Only words (tokens with a letter, Chinese characters included) count: the
    punctuation and digits a tagger knows in any language would hide Chinese text given to an English tagger."""
    flags = loaded.known(sentences)
    reads = "which guesses their tags from their endings" if loaded.kind == "hmm" else "which reads them as <unk>"
    warn_unknown_tokens(((w, k) for s, f in zip(sentences, flags) for w, k in zip(s, f) if any(map(str.isalpha, w))),
                        name, "the language the model was trained on", share=0.9, reads=reads, least=10,
                        counted="words")


def segment(args: argparse.Namespace) -> int:
    from rnnkit.data.files import text_lines
    from rnnkit.tagging.segmenter import no_path_causes, segment_lines

    loaded = LoadedTagger(args.model)
    if loaded.spec.scheme != "bmes":
        raise ValueError(f"{args.model} is not a segmentation model (scheme {loaded.spec.scheme}); use 'rnnkit tag'")
    check_output(args)
    words = read_dicts(args.user_dict)  # read, and checked, before the input
    lines = text_lines(_read_input(args))
    conllu = conllu_reason(lines)
    if conllu:  # its ID, FORM, LEMMA ... columns would be segmented as one run of text a line
        warn(f"{args.input or 'standard input'} looks like CoNLL-U ({conllu}), and segment reads raw text, one "
             f"sentence a line; to score the model on this file's words: rnnkit evaluate {args.model} FILE")
    # the model reads each line without its spaces, as it read its training sentences and as evaluate
    # reads a test sentence; a space stays a boundary (fixed), so evaluate's F1 is that of this output
    per_line = ["".join(line.split()) for line in lines]
    unspaced = "".join(per_line)
    fold_warned = fold_width_hint(loaded, unspaced, args.input or "standard input")
    shown = apply_progress.Shown(args.progress, len(unspaced), "segmenting")
    if words:  # the model need not know the characters of a dictionary word: it is kept whole anyway
        from rnnkit.data.user_dict import lexicon_warning, outside_matches

        characters = len(unspaced)
        per_line = [outside_matches(words, [line]) for line in lines]
        unspaced = "".join(per_line)
        lexicon = lexicon_warning(words, characters, characters - len(unspaced))  # a full lexicon given?
        if lexicon:
            warn(lexicon)
    unknown_warned = unknown_characters_hint(loaded, unspaced, args.input or "standard input")
    # a few bad lines in a big file stay below the shares above: judged line by line as well
    line_hints(loaded, per_line, args.input or "standard input", fold_warned, unknown_warned)
    del unspaced, per_line

    zero: list[int] = []  # input lines an HMM gives probability 0, over all blocks, warned of after the output
    rulebreak: list[int] = []  # input lines the model's B M E (without S) cannot tag
    blocked: dict[int, list[str]] = {}  # those of them only with their --dict words kept whole: the words to blame

    def segmented(first: int, block: list[str]) -> str:
        impossible: list[int] = []
        pathless: list[int] = []
        because: dict[int, list[str]] = {}
        found = segment_lines(loaded, block, words, impossible, pathless, because, on_batch=shown)
        zero.extend(first + i for i in impossible)
        rulebreak.extend(first + i for i in pathless)
        blocked.update((first + i, w) for i, w in because.items())
        return "".join(" ".join(w) + "\n" for w in found)

    size = BLOCK
    with shown:
        write_output(args, (segmented(1 + k * size, block) for k, block in enumerate(_blocks(lines, size))))
    if zero:
        warn(impossible_note(args.input or "standard input", zero, args, "words"))
    for lines_, cause, fix in no_path_causes(loaded.trained_tags, rulebreak, blocked):
        warn(no_path_note(args.input or "standard input", lines_, loaded, "words", args, (cause, fix)))
    return 0


evaluate_cli.EVALUATORS["tagger"] = evaluate_tagger
evaluate_cli.EVALUATORS["hmm"] = evaluate_tagger
