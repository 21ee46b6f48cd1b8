"""A small Chinese grammar and lexicon that generate word-segmented sentences for ``rnnkit demo segment``.

Written for the demo (no corpus was copied): everyday sentences about people, food, shopping, school and
travel, each a list of words.  The segmentation convention is close to the People's Daily (PKU) one:
了, 的, 吗, 吧 are words of their own; a number, a measure word and a noun are three words (一 本 书); a
verb and its result are two (卖 完); a person's name is one word (王小明, as MSR and CTB write it).

Words were chosen so that the classic ambiguities exist in what the model learns from:

- 市长 (mayor) and 南京市 (the city of Nanjing), 长江 (the Yangtze) and 大桥 (bridge): "南京 市长" is a
  subject ("the mayor of Nanjing") and "武汉市 长江 大桥" a place, so 南京市长江大桥 can be read both ways;
- 乒乓球 (ping-pong ball), 乒乓球拍 (paddle), 卖 (sell) and 拍卖 (auction): things are sold out
  (卖 完 了) and auctioned (拍卖 完 了), so 乒乓球拍卖完了 has two readings, both Chinese;
- 研究 (study) and 研究生 (graduate student), 生命 (life) and 起源 (origin);
- 长 as "long" (很 长) next to 长江 and 市长.

:func:`generate_sentence` draws one sentence (a list of words); everything random comes from the generator
passed in.  Names are a surname and one or two given-name characters drawn at random, so a held-out
sentence often holds a name never seen in training (the OOV words of the test).
"""
from __future__ import annotations

import numpy as np

from rnnkit.demos.tagging_grammar import _chance, _pick

PEOPLE = ["我", "你", "他", "她", "我们", "你们", "他们", "老师", "学生", "研究生", "市长", "妈妈", "爸爸", "朋友",
          "同学", "孩子", "医生"]
CITIES = ["北京", "上海", "南京", "武汉"]
BRIDGE_CITIES = ["南京", "武汉"]  # cities with a bridge over the Yangtze (长江 大桥)
TIMES = ["今天", "明天", "昨天", "早上", "晚上", "周末", "下午"]
PAST_TIMES = ["昨天", "早上", "下午"]  # times that go with 了
ADVERBS = ["也", "常常", "一起"]
INSTITUTIONS = ["学校", "公园", "商店", "图书馆", "医院", "超市", "食堂"]
NUMBERS = ["一", "两", "三", "五"]
# noun: its measure word
FOOD = {"苹果": "个", "米饭": "碗", "面条": "碗", "饺子": "个", "包子": "个", "鸡蛋": "个", "西瓜": "个"}
DRINKS = {"茶": "杯", "水": "杯", "咖啡": "杯", "牛奶": "杯"}
MEDIA = {"书": "本", "电影": "部", "报纸": "份", "电视": None}
GOODS = {"书": "本", "衣服": "件", "乒乓球": "个", "乒乓球拍": "副", "球拍": "副", "票": "张", "自行车": "辆",
         "电脑": "台", "手机": "部", "画": "张"}
AUCTIONED = ["画", "自行车", "乒乓球", "乒乓球拍", "电脑", "手表"]  # what 拍卖 takes
SUBJECTS_STUDIED = ["中文", "数学", "历史", "英语"]
BALLS = ["乒乓球", "篮球", "足球"]
WRITINGS = {"信": "封", "作业": None, "汉字": "个"}
ANIMALS = ["猫", "狗", "小鸟"]
TOPIC_OWNERS = ["生命", "汉字", "长江", "中国", "语言", "音乐"]  # 生命 的 起源, 汉字 的 历史 ...
TOPICS = ["起源", "历史"]
ROLES = ["学生", "老师", "研究生", "医生", "同学", "朋友"]
ADJECTIVES = {"people": ["忙", "累", "高兴"], "food": ["好吃", "便宜", "贵"], "goods": ["漂亮", "便宜", "贵"],
              "place": ["大", "漂亮"], "river": ["长", "大", "漂亮"], "weather": ["好", "热", "冷"]}
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "林", "徐"]
GIVEN = ["明", "华", "红", "伟", "芳", "丽", "军", "静", "强", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "超", "敏",
         "霞", "平", "文", "亮"]

Words = list[str]


def name(rng: np.random.Generator) -> str:
    """A surname and one or two given-name characters, or 小 and one: 王小明, 李华, 小红."""
    given = "".join(_pick(rng, GIVEN) for _ in range(1 + int(rng.integers(2))))
    return ("小" + given[0]) if _chance(rng, 0.15) else _pick(rng, SURNAMES) + given


def person(rng: np.random.Generator) -> Words:
    """A subject: a pronoun or a person (我, 老师, 研究生), a name, or a city's mayor (南京 市长)."""
    kind = rng.random()
    if kind < 0.25:
        return [name(rng)]
    if kind < 0.35:
        return [_pick(rng, CITIES), "市长"]
    return [_pick(rng, PEOPLE)]


def place(rng: np.random.Generator) -> Words:
    """Where one goes or is: 学校, 北京, 南京市 图书馆, 武汉市 长江 大桥, 长江 大桥."""
    kind = rng.random()
    if kind < 0.45:
        return [_pick(rng, INSTITUTIONS)]
    if kind < 0.6:
        return [_pick(rng, CITIES)]
    if kind < 0.8:
        return [_pick(rng, CITIES) + "市", _pick(rng, INSTITUTIONS)]
    if kind < 0.9:
        return [_pick(rng, BRIDGE_CITIES) + "市", "长江", "大桥"]
    return ["长江", "大桥"]


def topic(rng: np.random.Generator) -> Words:
    """What one studies (研究 ...): 生命 的 起源, 汉字 的 历史, or 语言 alone."""
    if _chance(rng, 0.25):
        return [_pick(rng, TOPIC_OWNERS)]
    return [_pick(rng, TOPIC_OWNERS), "的", _pick(rng, TOPICS)]


def institution(rng: np.random.Generator) -> Words:
    """Where one is (在 ...): 学校, 图书馆, 南京市 医院."""
    if _chance(rng, 0.7):
        return [_pick(rng, INSTITUTIONS)]
    return [_pick(rng, CITIES) + "市", _pick(rng, INSTITUTIONS)]


def thing(rng: np.random.Generator, nouns: dict[str, str | None]) -> Words:
    """A noun, maybe counted (两 碗 米饭) or pointed at (这 本 书)."""
    noun = _pick(rng, list(nouns))
    measure = nouns[noun]
    if measure is not None and _chance(rng, 0.35):
        return [_pick(rng, NUMBERS + ["这", "那"]), measure, noun]
    return [noun]


def action(rng: np.random.Generator) -> tuple[str, Words]:
    """A verb and its object: 吃 饺子, 喝 一 杯 茶, 看 电影, 买 乒乓球拍, 拍卖 画, 学习 中文, 打 篮球."""
    kind = int(rng.integers(9))
    if kind == 0:
        return "吃", thing(rng, FOOD)
    if kind == 1:
        return "喝", thing(rng, DRINKS)
    if kind == 2:
        return "看", thing(rng, MEDIA)
    if kind == 3:
        return "买", thing(rng, _pick(rng, [GOODS, FOOD]))
    if kind == 4:
        return "卖", thing(rng, _pick(rng, [GOODS, FOOD]))
    if kind == 5:
        return "拍卖", [_pick(rng, AUCTIONED)]
    if kind == 6:
        return "学习", [_pick(rng, SUBJECTS_STUDIED)]
    if kind == 7:
        return "打", [_pick(rng, BALLS)]
    return "写", thing(rng, WRITINGS)


def _sentence(rng: np.random.Generator) -> tuple[Words, str]:
    """The words of one sentence and its final punctuation (。 or ？)."""
    kind = rng.random()
    subject = person(rng)
    if kind < 0.25:  # 我 昨天 买 了 一 本 书
        verb, obj = action(rng)
        if _chance(rng, 0.4):
            return subject + [_pick(rng, PAST_TIMES), verb, "了"] + obj, "。"
        return subject + ([_pick(rng, TIMES)] if _chance(rng, 0.4) else []) + (
            [_pick(rng, ADVERBS)] if _chance(rng, 0.3) else []) + [verb] + obj, "。"
    if kind < 0.37:  # 他们 明天 去 图书馆 看 书
        words = subject + ([_pick(rng, TIMES)] if _chance(rng, 0.5) else []) + ["去"] + place(rng)
        if _chance(rng, 0.5):
            verb, obj = action(rng)
            words += [verb] + obj
        return (words + ["吗"], "？") if _chance(rng, 0.15) else (words, "。")
    if kind < 0.47:  # 研究生 在 图书馆 学习 数学
        verb, obj = action(rng)
        return subject + ["在"] + institution(rng) + [verb] + obj, "。"
    if kind < 0.55:  # 我 喜欢 打 乒乓球 / 孩子 喜欢 猫
        if _chance(rng, 0.35):
            return subject + ["喜欢", _pick(rng, ANIMALS)], "。"
        verb, obj = action(rng)
        return (subject + ["喜欢", verb] + obj + ["吗"], "？") if _chance(rng, 0.2) else (
            subject + ["喜欢", verb] + obj, "。")
    if kind < 0.63:  # 苹果 卖 完 了 / 画 拍卖 完 了 / 书 看 完 了
        verb, nouns = _pick(rng, [("卖", GOODS), ("卖", FOOD), ("吃", FOOD), ("看", MEDIA), ("拍卖", None)])
        obj = [_pick(rng, AUCTIONED)] if nouns is None else thing(rng, nouns)
        owner = _pick(rng, [[], [], ["商店", "的"], ["我", "的"], ["他们", "的"]])
        return owner + obj + [verb, "完", "了"], "。"
    if kind < 0.73:  # 长江 大桥 很 长 / 这 本 书 很 便宜 / 我 今天 很 忙
        group = _pick(rng, list(ADJECTIVES))
        if group == "people":
            subj = subject + ([_pick(rng, TIMES)] if _chance(rng, 0.4) else [])
        elif group in ("food", "goods"):
            subj = thing(rng, FOOD if group == "food" else GOODS)
        elif group == "place":
            subj = [_pick(rng, CITIES)] if _chance(rng, 0.4) else institution(rng)
        elif group == "river":
            subj = ["长江"] if _chance(rng, 0.4) else ["长江", "大桥"]
        else:
            subj = ["天气"]
        return subj + ["很", _pick(rng, ADJECTIVES[group])], "。"
    if kind < 0.79:  # 今天 天气 很 好 ， 我们 去 公园 吧
        return ([_pick(rng, TIMES)] if _chance(rng, 0.6) else []) + ["天气", "很", "好", "，", "我们", "去"] + \
            place(rng) + ["吧"], "。"
    if kind < 0.87:  # 研究生 研究 生命 的 起源
        where = ["在"] + institution(rng) if _chance(rng, 0.25) else []
        return subject + where + ["研究"] + topic(rng), "。"
    if kind < 0.95:  # 他 是 学生 / 王芳 和 李华 是 同学
        if _chance(rng, 0.5):
            return subject + ["和"] + person(rng) + ["是", _pick(rng, ["同学", "朋友"])], "。"
        return subject + ["是", _pick(rng, ROLES)], "。"
    # a heading, no punctuation: 南京市 图书馆 / 生命 的 起源
    return (place(rng) if _chance(rng, 0.5) else topic(rng)), ""


def generate_sentence(rng: np.random.Generator) -> Words:
    """One segmented sentence (its words, the final 。 or ？ among them; one sentence in ten has none, as a
    heading or a line cut short does)."""
    words, end = _sentence(rng)
    if end and not _chance(rng, 0.1):
        words = words + [end]
    return words


# Sentences the demo segments after training, each with readings: (words, what they mean).  The first
# reading is the one the sentence is usually meant to have.  No training sentence holds any of them
# (make_data in rnnkit.demos.segment leaves out every sentence that does).
SHOWCASE = [
    ("南京市长江大桥", [("南京市 长江 大桥", "the Yangtze River Bridge of Nanjing City"),
                 ("南京 市长 江大桥", "Jiang Daqiao, mayor of Nanjing: the classic misreading")]),
    ("乒乓球拍卖完了", [("乒乓球拍 卖 完 了", "the ping-pong paddles are sold out"),
                 ("乒乓球 拍卖 完 了", "the ping-pong balls have been auctioned off")]),
    ("研究生命的起源", [("研究 生命 的 起源", "study the origin of life"),
                 ("研究生 命 的 起源", "graduate student / fate / origin: a misreading")]),
    ("长江大桥很长", [("长江 大桥 很 长", "the Yangtze River Bridge is long")]),
    ("我们明天去北京看熊猫", [("我们 明天 去 北京 看 熊猫", "tomorrow we go to Beijing to see the pandas")]),
    ("张伟和欧阳丽是同学", [("张伟 和 欧阳丽 是 同学", "Zhang Wei and Ouyang Li are classmates")]),
]
