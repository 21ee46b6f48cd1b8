"""``rnnkit demo segment`` (中文分词): Chinese word segmentation learned as character tagging.

The sentences come from :mod:`rnnkit.demos.segment_grammar`, written for the demo, so no data set is
needed.  Each character gets a tag: ``B`` begins a word, ``M`` is inside one, ``E`` ends it and ``S`` is a
word of one character (``南京市 长江 大桥`` is ``B M E B E B E``).  The demo segments held-out sentences with

- forward maximum matching over the training word list (the dictionary method: from the left, take the
  longest word the dictionary has; a character no word starts with is a word of its own), the baseline;
- a trigram HMM over characters and their BMES tags (:class:`rnnkit.hmm.HMMTagger`, as ``rnnkit train hmm
  --format segmented`` trains it); and
- a BiLSTM-CRF over characters and character bigrams (:class:`rnnkit.tagging.Tagger`, as ``rnnkit train
  tagger --format segmented --bigrams --crf`` trains it),

prints each one's word precision, recall and F1 (SIGHAN's: a word is right when its start and end are) and
the recall of the words never seen in training, then segments a few showcase sentences (南京市长江大桥,
乒乓球拍卖完了 ...), none of them in the training data, showing each model's BMES tags under the characters
and which of the sentence's readings, if any, its words are.  Both models are saved in the run folder with
the data (segmented text), so ``rnnkit segment``, ``rnnkit evaluate`` and ``rnnkit train`` take them.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.data.segmentation import format_segmented, words_to_tags
from rnnkit.demos.segment_grammar import SHOWCASE, generate_sentence
from rnnkit.demos.tagging import DEMO_FILES, draw_splits, sentence_count
from rnnkit.metrics.segmentation import segmentation_prf
from rnnkit.textwidth import align_columns

Words = list[str]


@dataclass(frozen=True)
class SegmentDemoConfig:
    """Settings of :func:`run_segment_demo`: data sizes, the BiLSTM-CRF's sizes and its training."""

    seed: int = 0
    epochs: int = 3
    train_size: int = 2000  # training sentences
    valid_size: int = 200  # held-out sentences that pick the BiLSTM's best epoch
    test_size: int = 500  # held-out sentences every model is scored on
    embed: int = 32  # character embedding size
    bigram_embed: int = 32  # character bigram embedding size (each character's left and right bigram)
    hidden: int = 48  # BiLSTM units per direction
    lr: float = 0.01  # Adam
    batch_size: int = 16
    dropout: float = 0.2

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0)
        for name in ("epochs", "train_size", "valid_size", "test_size", "embed", "bigram_embed", "hidden",
                     "batch_size"):
            check_int(name, getattr(self, name), 1)


DEFAULTS = SegmentDemoConfig()


def make_data(cfg: SegmentDemoConfig) -> tuple[list[Words], list[Words], list[Words]]:
    """(training, validation, test sentences) drawn from the grammar with ``cfg.seed``.  The held-out sets hold
    no sentence of the training set nor of each other; no sentence of any set holds a showcase sentence's
    characters, so the showcase shows what the models make of text they never saw."""
    rng = np.random.default_rng([cfg.seed, 3])
    showcase = [text for text, _ in SHOWCASE]
    return draw_splits(cfg, lambda: generate_sentence(rng), "".join, taken=set(),
                       excluded=lambda text: any(s in text for s in showcase))


def max_match(text: str, dictionary: Collection[str]) -> Words:
    """Forward maximum matching: from the left, the longest word of ``dictionary`` that starts here, else one
    character.  The classic dictionary segmenter: no context, so 研究生命 comes out 研究生 / 命."""
    longest = max(map(len, dictionary), default=1)
    words, i = [], 0
    while i < len(text):
        n = next((k for k in range(min(longest, len(text) - i), 1, -1) if text[i:i + k] in dictionary), 1)
        words.append(text[i:i + n])
        i += n
    return words


def word_counts(sentences: Sequence[Words], words: Sequence[str]) -> list[tuple[str, int]]:
    """How often each of ``words`` occurs in ``sentences`` (0: a word a model trained on them never saw)."""
    counts: Counter = Counter(w for s in sentences for w in s)
    return [(w, counts[w]) for w in words]


def _reading(words: Sequence[str], readings: Sequence[tuple[str, str]]) -> str:
    for k, (reading, _) in enumerate(readings, start=1):
        if list(words) == reading.split():
            return f"reading {k}" if len(readings) > 1 else "as meant"
    return "neither reading" if len(readings) > 1 else "not as meant"


def run_segment_demo(cfg: SegmentDemoConfig = DEFAULTS, run_dir: str | Path = "runs/segment",
                     progress: str = "none", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train the segmenters, print their held-out scores and the showcase; returns {"max_match", "hmm",
    "bilstm": each one's test scores (segmentation_prf's dict), "showcase": [(text, {model: words})],
    "seconds"}."""
    from rnnkit.train.run_lock import make_run_folder, run_lock

    make_run_folder(run_dir)  # a file in the way, or no permission: said before any work
    with run_lock(run_dir):  # the data files and the HMM are this run's too, not only the checkpoints
        return _segment_demo(cfg, Path(run_dir), progress, log)


def _segment_demo(cfg: SegmentDemoConfig, run_dir: Path, progress: str, log: Callable[[str], None]) -> dict[str, Any]:
    from rnnkit.hmm import HMMTagger
    from rnnkit.tagging import LoadedTagger, Tagger, TaggerConfig, TaggerEncoder, TaggerTask, TaggingData
    from rnnkit.tagging.io import DataSpec, save_hmm, tagger_meta
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.earlier_run import replaced_note
    from rnnkit.train.loop import Trainer, model_file

    start = time.perf_counter()
    train, valid, test = make_data(cfg)
    train_words = sorted({w for s in train for w in s})
    log(f"Chinese word segmentation (中文分词): {sentence_count(len(train), 'training ')} from the demo's grammar "
        f"(seed {cfg.seed}),\n{sum(len(''.join(s)) for s in train):,} characters, {len(train_words):,} distinct "
        f"word{'' if len(train_words) == 1 else 's'}; {sentence_count(len(test), 'other ')} held out for the test")
    replaced = replaced_note(run_dir, DEMO_FILES)  # the checkpoints: the Trainer's note says theirs
    if replaced:
        log(replaced)
    for part, sentences in (("train", train), ("valid", valid), ("test", test)):
        (run_dir / f"{part}.txt").write_text(format_segmented(sentences, " "), encoding="utf-8")
    spec = DataSpec(format="segmented", scheme="bmes")

    def tagged(sentences: list[Words]) -> TaggingData:
        pairs = [words_to_tags(s) for s in sentences]
        return TaggingData([c for c, _ in pairs], [t for _, t in pairs], None, sentences)

    data = {"train": tagged(train), "valid": tagged(valid), "test": tagged(test)}

    hmm_path = run_dir / "hmm.safetensors"
    save_hmm(hmm_path, HMMTagger(order=3, scheme="bmes").fit(data["train"].words, data["train"].tags), spec,
             "word_f1", train_words)
    hmm = LoadedTagger(hmm_path)

    enc = TaggerEncoder.build(data["train"], bigrams=True)
    model_cfg = TaggerConfig(vocab_size=len(enc.words), num_tags=len(enc.tags), embedding_dim=cfg.embed,
                             bigram_vocab_size=len(enc.bigrams), bigram_embedding_dim=cfg.bigram_embed,
                             hidden_size=cfg.hidden, output="crf", dropout=cfg.dropout)
    model = Tagger(model_cfg, np.random.default_rng(cfg.seed))
    task = TaggerTask(model, enc, enc.encode(data["train"]), enc.encode(data["valid"]), data["valid"], "word_f1",
                      "bmes", cfg.batch_size, singleton_unk=0.5, seed=cfg.seed, train_words=train_words,
                      meta=tagger_meta(model, enc, spec, "word_f1", train_words))
    train_cfg = TrainConfig(epochs=cfg.epochs, optimizer="adam", lr=cfg.lr, clip=5.0, seed=cfg.seed,
                            progress=progress, checkpoint_minutes=None)
    log(f"BiLSTM-CRF over characters and character bigrams ({cfg.hidden} units a direction): "
        f"{cfg.epochs} epoch{'' if cfg.epochs == 1 else 's'}")
    state = Trainer(task, train_cfg, run_dir, unit="char").fit()
    for record in state.history:
        log(f"  epoch {record['epoch']}: train loss {record['train_loss']:.4f}, word F1 on the {len(valid)} "
            f"validation sentences {100 * record['valid_f1']:.2f}")
    best = model_file(run_dir)
    bilstm = LoadedTagger(best)

    dictionary = set(train_words)
    scores = {"max_match": segmentation_prf(test, [max_match("".join(s), dictionary) for s in test], train_words),
              "hmm": hmm.score(data["test"]), "bilstm": bilstm.score(data["test"])}
    labels = {"max_match": "dictionary, forward maximum matching", "hmm": "trigram HMM over BMES tags",
              "bilstm": "BiLSTM-CRF, characters and bigrams"}
    m = scores["bilstm"]
    log(f"test: {m['gold_words']:,} words of {len(test)} held-out sentences, {100 * m['oov_rate']:.2f}% of them "
        "never seen in training (OOV)")

    def recall(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    rows = [[f"  {labels[k]}", f"P {100 * s['precision']:6.2f}%", f"R {100 * s['recall']:6.2f}%",
             f"F1 {100 * s['f1']:6.2f}", f"OOV recall {recall(s['oov_recall'])}"] for k, s in scores.items()]
    for line in align_columns(rows):
        log(line)

    log("showcase sentences (none of them in the training data):")
    showcase = []
    for text, readings in SHOWCASE:
        found = {"max-match": max_match(text, dictionary), "HMM": hmm.segment(text), "BiLSTM-CRF": bilstm.segment(text)}
        showcase.append((text, found))
        log(text)
        named = ["meant"] if len(readings) == 1 else [f"reading {k}" for k in range(1, len(readings) + 1)]
        for line in align_columns([[label, " / ".join(r.split()), meaning]
                                   for label, (r, meaning) in zip(named, readings)]):
            log("  " + line)
        in_readings = list(dict.fromkeys(w for r, _ in readings for w in r.split()))
        log("  times in the training sentences: "
            + ", ".join(f"{w} {n}" for w, n in word_counts(train, in_readings)))
        rows = [["characters", *text]]
        rows += [[label, *words_to_tags(words)[1], " / ".join(words), _reading(words, readings)]
                 for label, words in found.items()]
        for line in align_columns(rows):
            log("    " + line)
    seconds = time.perf_counter() - start
    log(f"done in {seconds:.0f} s.  Models: {best} (BiLSTM-CRF), {hmm_path} (HMM)")
    log(f"data: {run_dir / 'train.txt'}, valid.txt, test.txt (words separated by spaces: --format segmented)")
    log(f"try: echo 南京市长江大桥很长 | rnnkit segment {best}")
    log(f"     rnnkit evaluate {hmm_path} {run_dir / 'test.txt'}")
    return {**scores, "showcase": showcase, "seconds": seconds}
