"""``rnnkit demo tagging``: an HMM and a BiLSTM-CRF learn English part-of-speech tags from a tiny grammar.

The sentences come from :mod:`rnnkit.demos.tagging_grammar`, written for the demo, so no data set is
needed.  Its words are ambiguous (fish, book, can, saw, like, flies are each two parts of speech), and
only context tells them apart.  The demo trains, on the same sentences,

- a trigram HMM (:class:`rnnkit.hmm.HMMTagger`, TnT: counts, deleted interpolation, a suffix model for
  unknown words), decoded by Viterbi, as ``rnnkit train hmm`` does; and
- a BiLSTM-CRF with character features (:class:`rnnkit.tagging.Tagger`), trained by
  :class:`~rnnkit.train.Trainer` as ``rnnkit train tagger --crf --char-features`` does,

then prints both models' token accuracy on held-out sentences (none of them in the training data), next
to the baseline that ignores context (each word's most frequent training tag), and tags a few showcase
sentences side by side with the tags the grammar means.  Both models are saved in the run folder with
the data (word/TAG files), so ``rnnkit tag``, ``rnnkit evaluate`` and ``rnnkit train`` take them.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.demos.tagging_grammar import SHOWCASE, generate_sentence
from rnnkit.textwidth import align_columns

Sentence = tuple[list[str], list[str]]  # (words, tags)


@dataclass(frozen=True)
class TaggingDemoConfig:
    """Settings of :func:`run_tagging_demo`: data sizes, the BiLSTM-CRF's sizes and its training."""

    seed: int = 0
    epochs: int = 3
    train_size: int = 2000  # training sentences
    valid_size: int = 200  # held-out sentences that pick the BiLSTM's best epoch
    test_size: int = 500  # held-out sentences both models are scored on
    embed: int = 32  # word embedding size
    hidden: int = 32  # BiLSTM units per direction
    char_hidden: int = 16  # character BiLSTM units per direction (spelling: unknown words)
    lr: float = 0.01  # Adam
    batch_size: int = 16
    dropout: float = 0.2

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0)
        for name in ("epochs", "train_size", "valid_size", "test_size", "embed", "hidden", "char_hidden",
                     "batch_size"):
            check_int(name, getattr(self, name), 1)


DEFAULTS = TaggingDemoConfig()
DEMO_FILES = ("train.txt", "valid.txt", "test.txt", "hmm.safetensors")  # both demos' files beside the checkpoints


def make_data(cfg: TaggingDemoConfig) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    """(training, validation, test sentences) drawn from the grammar with ``cfg.seed``: the held-out sets hold
    no sentence of the training set nor of each other, and none of the three holds a showcase sentence, so the
    scores and the showcase are of sentences the models never saw (their words, mostly, they did)."""
    rng = np.random.default_rng([cfg.seed, 2])
    return draw_splits(cfg, lambda: generate_sentence(rng), lambda s: " ".join(s[0]),
                       taken={text for text, _, _ in SHOWCASE})


def draw_splits(cfg: Any, generate: Callable[[], Any], text_of: Callable[[Any], str], taken: set[str],
                excluded: Callable[[str], bool] = lambda text: False) -> tuple[list, list, list]:
    """(training, validation, test) sentences of ``cfg.train_size``, ``valid_size`` and ``test_size`` from
    ``generate()``, drawn test first: none whose text (``text_of``) is in ``taken`` or ``excluded``, and the
    held-out ones distinct from every other (their texts join ``taken``); training sentences may repeat."""
    def draw(size: int, distinct: bool) -> list:
        out: list = []
        tries = 0
        while len(out) < size:
            tries += 1
            if tries > 50 * size + 1000:  # the grammar makes far more sentences than any size asked here
                raise ValueError(f"Expected the grammar to give {size} new sentences, got {len(out)}")
            sentence = generate()
            text = text_of(sentence)
            if text in taken or excluded(text):
                continue
            if distinct:
                taken.add(text)
            out.append(sentence)
        return out

    test = draw(cfg.test_size, True)
    valid = draw(cfg.valid_size, True)
    return draw(cfg.train_size, False), valid, test  # training sentences may repeat, as a corpus's do


def most_frequent_tag_accuracy(train: Sequence[Sentence], test: Sequence[Sentence]) -> float:
    """Token accuracy of tagging every word with its most frequent training tag, ignoring context; a word
    never seen gets the most frequent tag of all.  What context has to beat."""
    counts = word_tag_counts(train)
    overall = Counter(t for _, tags in train for t in tags).most_common(1)[0][0]
    best = {w: c.most_common(1)[0][0] for w, c in counts.items()}
    right = sum(best.get(w, overall) == t for words, tags in test for w, t in zip(words, tags))
    return right / sum(len(words) for words, _ in test)


def word_tag_counts(train: Sequence[Sentence]) -> dict[str, Counter]:
    """Each training word's tags, counted."""
    counts: dict[str, Counter] = {}
    for words, tags in train:
        for w, t in zip(words, tags):
            counts.setdefault(w, Counter())[t] += 1
    return counts


def sentence_count(n: int, kind: str = "") -> str:
    """``"1 training sentence"``, ``"2,000 training sentences"``."""
    return f"{n:,} {kind}sentence{'' if n == 1 else 's'}"


def ambiguous_words(train: Sequence[Sentence], n: int = 8) -> list[tuple[str, list[tuple[str, int]]]]:
    """The ``n`` words seen with more than one tag in training, most evenly split first (their second tag's
    count, largest first), each with its tags and counts."""
    counts = word_tag_counts(train)
    split = [(w, c.most_common()) for w, c in counts.items() if len(c) > 1]
    split.sort(key=lambda item: (-item[1][1][1], item[0]))
    return split[:n]


def write_slash(path: Path, sentences: Sequence[Sentence]) -> None:
    """Sentences as word/TAG lines (``--format slash``), for ``rnnkit evaluate`` and ``rnnkit train``."""
    path.write_text("".join(" ".join(f"{w}/{t}" for w, t in zip(*s)) + "\n" for s in sentences), encoding="utf-8")


def _differ(pred: Sequence[str], gold: Sequence[str]) -> str:
    wrong = sum(p != g for p, g in zip(pred, gold))
    return "all as meant" if not wrong else f"{wrong} differ{'s' * (wrong == 1)}"


def same_hmm_tags(showcase: Sequence[tuple[list[str], list[str], list[str], list[str]]]) -> str:
    """A remark when the HMM gave "time flies like an arrow" and "fruit flies like a banana" the same tags;
    "" otherwise, or when the showcase lacks the pair.  Here it must: an HMM scores tags t of words w by
    prod_i P(t_i | t_{i-2}, t_{i-1}) P(w_i | t_i), and the words where the sentences differ (time and
    fruit, an and a, arrow and banana) each have one tag in the grammar, so each multiplies the score of
    every tag sequence Viterbi can choose by the same number."""
    found = {" ".join(words[:2]): (hmm, gold) for words, gold, hmm, _ in showcase}
    if "time flies" not in found or "fruit flies" not in found or found["time flies"][0] != found["fruit flies"][0]:
        return ""
    tags = found["time flies"][0]
    right = "time flies" if tags == found["time flies"][1] else "fruit flies" if tags == found["fruit flies"][1] \
        else "neither"
    return (f"The HMM tagged time flies ... and fruit flies ... alike ({' '.join(tags)}: right for {right}).\n"
            "An HMM scores tags by P(tag | the two tags before) x P(word | tag); time and fruit (an and a, arrow\n"
            "and banana) are tagged one way only, so they scale every candidate alike and the best tags are the\n"
            "same for both sentences.  A model that reads the words in context, as the BiLSTM does, can tell\n"
            "the two apart.")


def run_tagging_demo(cfg: TaggingDemoConfig = DEFAULTS, run_dir: str | Path = "runs/tagging",
                     progress: str = "none", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train both taggers, print their held-out accuracy and the showcase; returns {"hmm", "bilstm",
    "baseline": test token accuracies, "showcase": [(words, gold, hmm tags, bilstm tags)], "seconds"}."""
    from rnnkit.train.run_lock import make_run_folder, run_lock

    make_run_folder(run_dir)  # a file in the way, or no permission: said before any work
    with run_lock(run_dir):  # the data files and the HMM are this run's too, not only the checkpoints
        return _tagging_demo(cfg, Path(run_dir), progress, log)


def _tagging_demo(cfg: TaggingDemoConfig, run_dir: Path, progress: str, log: Callable[[str], None]) -> dict[str, Any]:
    from rnnkit.hmm import HMMTagger
    from rnnkit.tagging import LoadedTagger, Tagger, TaggerConfig, TaggerEncoder, TaggerTask, TaggingData
    from rnnkit.tagging.io import DataSpec, save_hmm, tagger_meta
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.earlier_run import replaced_note
    from rnnkit.train.loop import Trainer, model_file

    start = time.perf_counter()
    train, valid, test = make_data(cfg)
    log(f"English part-of-speech tagging: {sentence_count(len(train), 'training ')} from the demo's grammar (seed "
        f"{cfg.seed}),\n{sum(len(w) for w, _ in train):,} words of {len({x for w, _ in train for x in w}):,} "
        f"types; {sentence_count(len(test), 'other ')} held out for the test")
    split = [f"{w} {' '.join(f'{t} {c}' for t, c in tags)}" for w, tags in ambiguous_words(train, 6)]
    log("words seen with more than one tag, the most evenly split:" if split else
        "no word was seen with more than one tag in training")
    for k in range(0, len(split), 3):
        log("  " + "; ".join(split[k:k + 3]))
    replaced = replaced_note(run_dir, DEMO_FILES)  # the checkpoints: the Trainer's note says theirs
    if replaced:
        log(replaced)
    for part, sentences in (("train", train), ("valid", valid), ("test", test)):
        write_slash(run_dir / f"{part}.txt", sentences)
    spec = DataSpec(format="slash")
    data = {name: TaggingData([w for w, _ in s], [t for _, t in s], None, None)
            for name, s in (("train", train), ("valid", valid), ("test", test))}

    hmm_path = run_dir / "hmm.safetensors"
    save_hmm(hmm_path, HMMTagger(order=3).fit(data["train"].words, data["train"].tags), spec, "accuracy")
    hmm = LoadedTagger(hmm_path)
    hmm_scores = hmm.score(data["test"])

    enc = TaggerEncoder.build(data["train"], char_features=True)
    model_cfg = TaggerConfig(vocab_size=len(enc.words), num_tags=len(enc.tags), embedding_dim=cfg.embed,
                             char_vocab_size=len(enc.chars), char_embedding_dim=16, char_hidden=cfg.char_hidden,
                             hidden_size=cfg.hidden, output="crf", dropout=cfg.dropout)
    model = Tagger(model_cfg, np.random.default_rng(cfg.seed))
    # singleton_unk: words seen once (names, mostly) train the <unk> vector that unseen words get
    task = TaggerTask(model, enc, enc.encode(data["train"]), enc.encode(data["valid"]), data["valid"], "accuracy",
                      "none", cfg.batch_size, singleton_unk=0.5, seed=cfg.seed,
                      meta=tagger_meta(model, enc, spec, "accuracy"))
    train_cfg = TrainConfig(epochs=cfg.epochs, optimizer="adam", lr=cfg.lr, clip=5.0, seed=cfg.seed,
                            progress=progress, checkpoint_minutes=None)
    log(f"BiLSTM-CRF ({cfg.hidden} units a direction, character features): "
        f"{cfg.epochs} epoch{'' if cfg.epochs == 1 else 's'}")
    state = Trainer(task, train_cfg, run_dir, unit="tok").fit()
    for record in state.history:
        log(f"  epoch {record['epoch']}: train loss {record['train_loss']:.4f}, accuracy on the {len(valid)} "
            f"validation sentences {100 * record['valid_accuracy']:.2f}%")
    best = model_file(run_dir)
    bilstm = LoadedTagger(best)
    bilstm_scores = bilstm.score(data["test"])
    baseline = most_frequent_tag_accuracy(train, test)

    def pct(m: dict[str, Any], key: str) -> str:
        return "n/a" if m.get(key) is None else f"{100 * m[key]:.2f}%"

    log(f"test: token accuracy on {sum(len(w) for w, _ in test):,} words of {len(test)} held-out sentences "
        f"({pct(hmm_scores, 'oov_rate')} of them never seen in training)")
    rows = [["  each word's most frequent tag (no context)", f"{100 * baseline:6.2f}%"]]
    rows += [[f"  {label}", f"{100 * m['accuracy']:6.2f}%", f"(known words {pct(m, 'iv_accuracy')}, unknown "
              f"{pct(m, 'oov_accuracy')})"] for label, m in (("trigram HMM (Viterbi)", hmm_scores),
                                                             ("BiLSTM-CRF", bilstm_scores))]
    for line in align_columns(rows):
        log(line)
    log("showcase sentences (none of them in the training data):")
    showcase = []
    for text, gold_text, note in SHOWCASE:
        words, gold = text.split(), gold_text.split()
        h, b = hmm.tag([words])[0], bilstm.tag([words])[0]
        showcase.append((words, gold, h, b))
        log(f"{text}   ({note})")
        rows = [["words", *words], ["gold", *gold], ["HMM", *h, _differ(h, gold)], ["BiLSTM", *b, _differ(b, gold)]]
        for line in align_columns(rows):
            log("  " + line)
    said = same_hmm_tags(showcase)
    if said:
        log(said)
    seconds = time.perf_counter() - start
    log(f"done in {seconds:.0f} s.  Models: {best} (BiLSTM-CRF), {hmm_path} (HMM)")
    log(f"data: {run_dir / 'train.txt'}, valid.txt, test.txt (word/TAG lines: --format slash)")
    log(f"try: echo \"the duck can fish\" | rnnkit tag {best}")
    log(f"     rnnkit evaluate {hmm_path} {run_dir / 'test.txt'}")
    return {"hmm": hmm_scores["accuracy"], "bilstm": bilstm_scores["accuracy"], "baseline": baseline,
            "showcase": showcase, "seconds": seconds}
