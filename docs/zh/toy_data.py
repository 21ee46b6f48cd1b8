"""A small made-up Chinese corpus for the examples of docs/zh/README.md (简体中文指南的玩具语料).

    python docs/zh/toy_data.py data          # writes data/*.txt, data/*.conllu and data/*.tsv (and .zh, .en)

Sentences come from a few templates over a small lexicon whose words carry UD tags (PRON, NOUN,
PROPN, VERB, ADV, ADJ, ADP, AUX, PART, CCONJ, PUNCT), so the same sentences serve every example:
raw text for a character language model, words separated by spaces for segmentation, and CoNLL-U
for part-of-speech tagging.  Three more small corpora, each drawn from its own generator so that the
files above stay as they were: made-up reviews for sentiment classification (label<TAB>text, and the
same sentences as bracketed trees with a label at every node), and Chinese-English sentence pairs for
translation (source<TAB>target).  The text is invented for these examples (no corpus is copied); the
same --seed writes the same files.  It is far too regular to measure anything: the real data sets are
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


# ---- sentiment: reviews as binary trees, a label at every node (0 negative, 1 neutral, 2 positive) ----
TOPICS = ["这部电影", "这本小说", "这家餐厅", "这首歌", "这门课", "这个公园", "那家咖啡馆", "这台电脑"]
GOOD = ["有趣", "精彩", "好", "棒", "漂亮", "方便"]
BAD = ["无聊", "糟糕", "差", "难看", "贵", "吵"]
DEGREE = ["很", "非常", "真", "特别"]
POLARITY = {0: "负面", 2: "正面"}  # the classifier's labels


def review(rng: np.random.Generator) -> tuple:
    """One review as a binary tree: (label, word) at a leaf, (label, left, right) inside."""
    def pick(words):
        return words[rng.integers(len(words))]

    def adjective(positive):
        return (2, pick(GOOD)) if positive else (0, pick(BAD))

    def degree_adj(positive):  # 很 有趣
        adj = adjective(positive)
        return (adj[0], (1, pick(DEGREE)), adj)

    positive = bool(rng.random() < 0.5)
    y = 2 if positive else 0
    kind = rng.integers(4)
    if kind == 0:  # 这部电影 很 有趣
        body = (y, (1, pick(TOPICS)), degree_adj(positive))
    elif kind == 1:  # 这部电影 不 有趣: negation turns the word around
        adj = adjective(not positive)
        body = (y, (1, pick(TOPICS)), (y, (1, "不" if not positive else "一点也不"), adj))
    elif kind == 2:  # 我 喜欢 这部电影
        body = (y, (1, "我"), (y, (y, "喜欢" if positive else "讨厌"), (1, pick(TOPICS))))
    else:  # 虽然 这部电影 有点 无聊 ， 但是 很 精彩: the second clause decides
        first = (0, (1, "有点"), adjective(False)) if positive else degree_adj(True)
        second = degree_adj(True) if positive else (0, (1, "有点"), adjective(False))
        concession = (1, (1, "虽然"), (first[0], (1, pick(TOPICS)), first))
        body = (y, concession, (y, (1, "，"), (y, (1, "但是"), second)))
    return (y, body, (1, "。"))


def leaves(tree: tuple) -> list[str]:
    return [tree[1]] if len(tree) == 2 else leaves(tree[1]) + leaves(tree[2])


def bracketed(tree: tuple) -> str:
    """The Stanford Sentiment Treebank's format: (2 (1 这部电影) (2 (1 很) (2 有趣)))."""
    if len(tree) == 2:
        return f"({tree[0]} {tree[1]})"
    return f"({tree[0]} {bracketed(tree[1])} {bracketed(tree[2])})"


# ---- translation: Chinese sentences and their English ----
SUBJECTS = [("我", "I", 1), ("你", "you", 2), ("他", "he", 3), ("她", "she", 3), ("我们", "we", 2),
            ("他们", "they", 2), ("老师", "the teacher", 3), ("学生们", "the students", 2),
            ("小明", "Xiaoming", 3), ("小红", "Xiaohong", 3), ("我的朋友", "my friend", 3), ("医生", "the doctor", 3)]
OBJECTS = [("中文", "Chinese"), ("数学", "mathematics"), ("音乐", "music"), ("历史", "history"),
           ("咖啡", "coffee"), ("茶", "tea"), ("苹果", "apples"), ("小说", "novels")]
PLACES = [("北京", "in Beijing", "to Beijing"), ("上海", "in Shanghai", "to Shanghai"),
          ("南京", "in Nanjing", "to Nanjing"), ("图书馆", "in the library", "to the library"),
          ("学校", "at school", "to school"), ("公园", "in the park", "to the park"),
          ("实验室", "in the lab", "to the lab"), ("医院", "in the hospital", "to the hospital")]
VERBS = [("喜欢", "like", "likes"), ("学习", "study", "studies"), ("研究", "study", "studies")]
LANGUAGES = [("中文", "Chinese"), ("英文", "English"), ("日文", "Japanese"), ("法文", "French")]
SUBJECT_ADJ = [("有趣", "interesting"), ("重要", "important"), ("简单", "easy"), ("难", "difficult")]


def pair(rng: np.random.Generator) -> tuple[str, str]:
    """One Chinese sentence and its English translation."""
    def pick(items):
        return items[rng.integers(len(items))]

    zh_s, en_s, person = pick(SUBJECTS)
    third = person == 3  # he likes, they like
    kind = rng.integers(6)
    if kind == 0:  # 我喜欢音乐。 I like music.
        zh_v, en_v, en_v3 = VERBS[0]
        zh_o, en_o = pick(OBJECTS)
        zh, en = f"{zh_s}{zh_v}{zh_o}。", f"{en_s} {en_v3 if third else en_v} {en_o}."
    elif kind == 1:  # 他在图书馆学习数学。 He studies mathematics in the library.
        zh_v, en_v, en_v3 = pick(VERBS[1:])
        zh_o, en_o = pick(OBJECTS[:4])
        zh_p, en_at, _ = pick(PLACES)
        zh, en = f"{zh_s}在{zh_p}{zh_v}{zh_o}。", f"{en_s} {en_v3 if third else en_v} {en_o} {en_at}."
    elif kind == 2:  # 我们明天去北京。 We will go to Beijing tomorrow.
        zh_p, _, en_to = pick(PLACES)
        zh_t, en = pick([("明天", f"{en_s} will go {en_to} tomorrow."), ("昨天", f"{en_s} went {en_to} yesterday.")])
        zh = f"{zh_s}{zh_t}去{zh_p}。"
    elif kind == 3:  # 她不喜欢咖啡。 She does not like coffee.
        zh_o, en_o = pick(OBJECTS)
        zh, en = f"{zh_s}不喜欢{zh_o}。", f"{en_s} {'does' if third else 'do'} not like {en_o}."
    elif kind == 4:  # 你会说中文吗？ Can you speak Chinese?
        zh_l, en_l = pick(LANGUAGES)
        zh, en = f"{zh_s}会说{zh_l}吗？", f"can {en_s} speak {en_l}?"
    else:  # 历史很有趣。 History is interesting.
        zh_o, en_o = pick(OBJECTS[:4])
        zh_a, en_a = pick(SUBJECT_ADJ)
        zh, en = f"{zh_o}很{zh_a}。", f"{en_o} is {en_a}."
    return zh, en[0].upper() + en[1:]


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
    files.update(_review_files(np.random.default_rng([seed, 1]), sizes))
    files.update(_pair_files(np.random.default_rng([seed, 2])))
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _review_files(rng: np.random.Generator, sizes: tuple[int, int, int]) -> dict[str, str]:
    """The reviews twice: label<TAB>text for the classifier, bracketed trees for the tree models."""
    splits = {split: [review(rng) for _ in range(n)] for split, n in zip(("train", "dev", "test"), sizes)}
    files = {f"senti-{split}.tsv": "".join(f"{POLARITY[t[0]]}\t{''.join(leaves(t))}\n" for t in trees)
             for split, trees in splits.items()}
    files.update({f"tree-{split}.txt": "".join(bracketed(t) + "\n" for t in trees) for split, trees in splits.items()})
    return files


def _pair_files(rng: np.random.Generator, sizes: tuple[int, int, int] = (1000, 100, 100)) -> dict[str, str]:
    """Chinese<TAB>English pairs; the validation and test sentences are not in the training pairs."""
    seen: set[str] = set()
    files = {}
    for split, n in zip(("train", "dev", "test"), sizes):
        pairs: list[tuple[str, str]] = []
        while len(pairs) < n:
            zh, en = pair(rng)
            if split == "train" or zh not in seen:
                pairs.append((zh, en))
                seen.add(zh)
        files[f"zh-en-{split}.tsv"] = "".join(f"{zh}\t{en}\n" for zh, en in pairs)
        if split == "test":  # the two sides apart, for translate and evaluate --ref
            files["zh-en-test.zh"] = "".join(zh + "\n" for zh, _ in pairs)
            files["zh-en-test.en"] = "".join(en + "\n" for _, en in pairs)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="where to write the files (made if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args()
    for path in write(Path(args.folder), args.seed):
        print(path, sum(1 for _ in path.open(encoding="utf-8")), "lines")


if __name__ == "__main__":
    main()
