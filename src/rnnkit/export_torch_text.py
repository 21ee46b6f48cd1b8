"""The text preparation in the torch code ``rnnkit export --torch`` prints (:mod:`rnnkit.export_torch`): the lines
that turn a text into the tokens the model was trained on, exactly as rnnkit's encoders do, written out in plain
Python with the model's settings (no rnnkit needed to run them)."""
from __future__ import annotations

import json
import textwrap
from typing import Any

# rnnkit.data.segmentation.fold_width, written out: NFKC character by character, never of the whole text
FOLD_WIDTH = [
    "def fold_width(text):",
    '    """Each character as its Unicode NFKC form where that is one character (full-width to half-width: "Ａ１，"',
    '    -> "A1,"), and the ideographic full stop to "." (rnnkit\'s --fold-width).  Character by character: NFKC',
    '    of the whole text would compose accents and expand "ﬁ" to "fi", which rnnkit does not."""',
    '    folded = ["." if c in "\\u3002\\uff61" else unicodedata.normalize("NFKC", c) for c in text]',
    '    return "".join(f if len(f) == 1 else c for c, f in zip(text, folded))', "", ""]


def classifier_prepare(enc: dict[str, Any]) -> list[str]:
    """The code's ``tokens(text)``: rnnkit.classify.task.ClassifierEncoder.tokenize with this encoder's settings
    (lowercase, then fold the width, then cut into words or characters, then keep the first max_length)."""
    char, lower, fold, cap = enc.get("level") == "char", enc.get("lowercase"), enc.get("fold_width"), \
        enc.get("max_length", 0)
    steps = [what for what, on in (("lowercased", lower), ("width-folded", fold)) if on]
    steps.append("every character but whitespace (an accent stays with its letter)" if char else
                 "split at whitespace")
    if cap:
        steps.append(f"the first {cap} kept (--max-length)")
    text = "fold_width(text)" if fold else "text"
    doc = textwrap.wrap(f'"""The tokens rnnkit reads of a text: {", ".join(steps)}."""', 112)
    lines = ["def tokens(text):", *("    " + line for line in doc)]
    if lower:
        lines.append("    text = text.lower()")
    if char:
        lines += ["    out = []", f"    for c in {text}:", "        if c.isspace():", "            continue",
                  '        if out and unicodedata.category(c).startswith("M"):  # a combining mark',
                  "            out[-1] += c", "        else:", "            out.append(c)"]
    else:
        lines.append(f"    out = {text}.split()")
    lines.append(f'    return out{f"[:{cap}]" if cap else ""} or ["<unk>"]  # an empty text is read as <unk>')
    return (FOLD_WIDTH if fold else []) + lines


def tagger_prepare(enc: dict[str, Any]) -> list[str]:
    """The code's ``word_id(word)``: rnnkit.tagging.task.TaggerEncoder's fold, then lowercase, then look up."""
    lower, fold = enc.get("lowercase"), enc.get("fold_width")
    steps = [what for what, on in (("width-folded", fold), ("lowercased", lower)) if on]
    word = "fold_width(word)" if fold else "word"
    return (FOLD_WIDTH if fold else []) + [
        "def word_id(word, ids, unk):",
        *("    " + line for line in textwrap.wrap(f'"""The id of a word in the vocabulary ids, unk for an unknown one, '
                                                  f'the word read as rnnkit reads it{": " if steps else ""}'
                                                  f'{" and ".join(steps)}."""', 112)),
        f"    return ids.get({word}{'.lower()' if lower else ''}, unk)"]


def example_text(tokens: list[str], specials: set, word: bool) -> str:
    """A short text of the model's own tokens for the code's example: "the cat sat" (words) or "The cat"
    (characters) when the vocabulary has them all, else its most frequent tokens (Chinese characters, say)."""
    usual = "the cat sat".split() if word else list("The cat")
    if set(usual) <= set(tokens):
        return " ".join(usual) if word else "".join(usual)
    frequent = [t for t in tokens if t not in specials and t.strip()][:4]  # the vocabulary's order: by count
    return " ".join(frequent) if word else "".join(frequent)


def classifier_example(enc: dict[str, Any]) -> str:
    """The classifier code's example text, of the model's own vocabulary: "a good film" when a word-level
    model knows those words, else :func:`example_text` at the model's level (a character-level or Chinese
    classifier's most frequent characters or words), so the example is not every token <unk>."""
    vocab = json.loads(enc["vocab"]) if isinstance(enc["vocab"], str) else enc["vocab"]
    word = enc.get("level", "word") != "char"
    if word and {"a", "good", "film"} <= set(vocab["tokens"]):
        return "a good film"
    return example_text(vocab["tokens"], {vocab["unk_token"]}, word)


def is_segmenter(task: dict[str, Any]) -> bool:
    """Whether a tagger was trained on segmented text (--format segmented): it tags characters B, M, E, S."""
    data = task.get("data")
    return isinstance(data, dict) and data.get("format") == "segmented"


def code_title(kind: str, task: dict[str, Any], cfg: dict[str, Any], record: dict[str, Any]) -> tuple[str, str, str]:
    """``(what, when, imports)`` of an exported model's code (torch and ONNX alike): what the model is, the step
    and epoch it was saved at (from the export's ``record``), and ``import unicodedata`` when its text is folded
    or read by character (``import sentencepiece`` for a BPE-level language model); ``cfg`` the model's config
    in ``task``."""
    cell = {"rnn": "Elman RNN", "lstm": "peephole LSTM" if cfg.get("peephole") else "LSTM", "gru": "GRU"}[cfg["cell"]]
    step = record.get("step")
    when = f" (step {step:,}, epoch {record.get('epoch')})" if step is not None else ""
    if kind == "lm":
        if task["level"] == "bpe":  # its text is split by the SentencePiece model written beside it
            return (f"A {cfg['num_layers']}-layer {cell} BPE-level language model over "
                    f"{cfg['vocab_size']:,} pieces", when, "import sentencepiece\n")
        level = "character" if task["level"] == "char" else "word"
        return (f"A {cfg['num_layers']}-layer {cell} {level}-level language model over {cfg['vocab_size']:,} tokens",
                when, "")
    both = "bidirectional " if cfg["bidirectional"] else ""
    enc = task["encoder"]
    if kind == "tagger":
        output = "CRF" if cfg.get("output", "crf") == "crf" else "softmax"  # a CRF tagger: ONNX alone
        what = f"A {cfg['num_layers']}-layer {both}{cell} {output} tagger of {cfg['num_tags']} tags"
        if is_segmenter(task):
            what = f"A {cfg['num_layers']}-layer {both}{cell} {'CRF ' * (output == 'CRF')}word segmenter (B/M/E/S tags)"
        unicode = enc.get("fold_width")
    else:
        what = f"A {cfg['num_layers']}-layer {both}{cell} text classifier into {cfg['num_classes']} classes"
        unicode = enc.get("fold_width") or enc.get("level") == "char"
    return what, when, "import unicodedata\n" if unicode else ""


def segmenter_example(vocab: dict[str, Any]) -> str:
    """A segmenter code's example: the model's six most frequent letters (Chinese characters, say), no punctuation
    or digits, as one unsegmented text."""
    letters = [t for t in vocab["tokens"] if t != vocab["unk_token"] and len(t) == 1 and t.isalpha()][:6]
    return "".join(letters) or "".join(t for t in vocab["tokens"] if t != vocab["unk_token"])[:6]


# the words of a segmenter's characters by their B/M/E/S tags (rnnkit.tagging's BMES decoding, written out)
BMES_WORDS = [
    "def bmes_words(chars, tags):",
    '    """The words of the characters chars by their tags: a word starts at B or S (and after E or S) and ends at',
    '    E or S.  Each character takes its own likeliest tag, so an illegal sequence (M after S, say) can occur; it',
    '    is read as if legal.  rnnkit segment keeps to legal sequences (Viterbi over the log-probabilities)."""',
    '    words, word = [], ""',
    "    for c, t in zip(chars, tags):",
    '        if word and t in ("B", "S"):  # a new word starts: the one before ends here',
    "            words.append(word)",
    '            word = ""',
    "        word += c",
    '        if t in ("E", "S"):',
    "            words.append(word)",
    '            word = ""',
    "    return words + ([word] if word else [])", "", ""]
