"""A small made-up Chinese corpus for the examples of docs/zh/README.md (简体中文指南的玩具语料).

    python docs/zh/toy_data.py data          # writes data/*.txt and data/*.conllu

Sentences come from a few templates over a small lexicon whose words carry UD tags (PRON, NOUN,
PROPN, VERB, ADV, ADJ, ADP, AUX, PART, CCONJ, PUNCT), so the same sentences serve every example:
raw text for a character language model, words separated by spaces for segmentation, and CoNLL-U
for part-of-speech tagging.  The text is invented for these examples (no corpus is copied); the same
--seed writes the same files.  It is far too regular to measure anything: the real data sets are
named in the guide.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

WORDS = {  # tag -> words
    "PRON": ["我", "你", "他", "她", "我们", "你们", "他们", "大家"],
    "PERSON": ["老师", "学生", "同学", "朋友", "妈妈", "爸爸", "医生", "工程师", "小明", "小红"],
    "THING": ["中文", "数学", "音乐", "电影", "小说", "苹果", "咖啡", "作业", "问题", "神经网络", "语言模型",
              "计算机", "历史", "大学"],
    "PLACE": ["北京", "上海", "南京", "图书馆", "学校", "公园", "实验室", "长江"],
    "VERB": ["喜欢", "学习", "研究", "讨论", "阅读", "写", "看", "训练"],
    "GO": ["去", "参观", "回到"],
    "ADJ": ["有趣", "重要", "简单", "困难", "漂亮", "好", "大"],
    "ADV": ["每天", "经常", "也", "都", "常常", "一起"],
    "TIME": ["今天", "昨天", "明天", "上午", "晚上"],
    "AUX": ["会", "要", "能", "想"],
}
TAGS = {"PERSON": "NOUN", "THING": "NOUN", "PLACE": "PROPN", "GO": "VERB", "TIME": "NOUN"}  # UD's tag of a class
NAMES = {"小明", "小红", "北京", "上海", "南京", "长江"}  # proper nouns among PERSON and PLACE


def _tag(cls: str, word: str) -> str:
    if cls == "PLACE" and word not in NAMES:
        return "NOUN"  # 图书馆, 学校: common nouns
    if cls == "PERSON" and word in NAMES:
        return "PROPN"
    return TAGS.get(cls, cls)


def sentence(rng: np.random.Generator) -> list[tuple[str, str]]:
    """One sentence: a list of (word, UD tag)."""
    def w(cls: str) -> tuple[str, str]:
        word = WORDS[cls][rng.integers(len(WORDS[cls]))]
        return word, _tag(cls, word)

    def subject() -> list[tuple[str, str]]:
        return [w("PRON") if rng.random() < 0.5 else w("PERSON")]

    lit = {"在": "ADP", "很": "ADV", "的": "PART", "了": "PART", "吗": "PART", "和": "CCONJ", "对": "ADP",
           "觉得": "VERB", "一起": "ADV", "重要": "ADJ", "。": "PUNCT", "？": "PUNCT", "，": "PUNCT"}
    templates = [
        lambda: [*subject(), w("ADV"), w("VERB"), w("THING"), "。"],  # 我们 每天 学习 中文 。
        lambda: [*subject(), "在", w("PLACE"), w("VERB"), w("THING"), "。"],  # 老师 在 北京 研究 语言模型 。
        lambda: [*subject(), "觉得", w("THING"), "很", w("ADJ"), "。"],  # 他 觉得 数学 很 有趣 。
        lambda: [*subject(), w("AUX"), w("VERB"), w("THING"), "吗", "？"],  # 你 想 学习 音乐 吗 ？
        lambda: [w("TIME"), "，", *subject(), w("GO"), w("PLACE"), "了", "。"],  # 今天 ， 我 去 上海 了 。
        lambda: [w("PRON"), "的", w("PERSON"), "很", w("ADJ"), "。"],  # 我 的 朋友 很 好 。
        lambda: [w("THING"), "对", w("PERSON"), "很", "重要", "。"],  # 数学 对 学生 很 重要 。
        lambda: [*subject(), "和", w("PERSON"), "一起", w("VERB"), w("THING"), "。"],  # 我 和 同学 一起 看 电影 。
    ]
    words = templates[rng.integers(len(templates))]()
    return [item if isinstance(item, tuple) else (item, lit[item]) for item in words]


def conllu(sentences: list[list[tuple[str, str]]]) -> str:
    """CoNLL-U: ten tab-separated columns a word (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC),
    a blank line after each sentence; the dependency columns are placeholders."""
    out = []
    for k, sent in enumerate(sentences, start=1):
        out.append(f"# sent_id = {k}\n# text = {''.join(word for word, _ in sent)}\n")
        for i, (word, tag) in enumerate(sent, start=1):
            out.append(f"{i}\t{word}\t{word}\t{tag}\t_\t_\t{0 if i == 1 else 1}\t{'root' if i == 1 else 'dep'}\t_\t_\n")
        out.append("\n")
    return "".join(out)


def write(folder: Path, seed: int = 0, sizes: tuple[int, int, int] = (400, 60, 60)) -> list[Path]:
    """Write the corpus into ``folder``; the files written."""
    rng = np.random.default_rng(seed)
    train, dev, test = ([sentence(rng) for _ in range(n)] for n in sizes)
    folder.mkdir(parents=True, exist_ok=True)

    def raw(sents):
        return "".join("".join(word for word, _ in s) + "\n" for s in sents)

    def segmented(sents):
        return "".join(" ".join(word for word, _ in s) + "\n" for s in sents)

    files = {
        "train.txt": raw(train), "valid.txt": raw(dev), "test.txt": raw(test),  # character LM, n-grams
        "seg-train.txt": segmented(train), "seg-dev.txt": segmented(dev), "seg-test.txt": segmented(test),
        "raw.txt": raw(test[:5]),  # to segment
        "pos-train.conllu": conllu(train), "pos-dev.conllu": conllu(dev), "pos-test.conllu": conllu(test),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="where to write the files (made if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args()
    for path in write(Path(args.folder), args.seed):
        print(path, sum(1 for _ in path.open(encoding="utf-8")), "lines")


if __name__ == "__main__":
    main()
