"""A tiny English grammar and lexicon that generate part-of-speech tagged sentences for ``rnnkit demo tagging``.

Written for the demo (no corpus was copied): lower-case English sentences tagged with a subset of the
Universal Dependencies tags (ADJ ADP ADV AUX DET NOUN PRON PROPN PUNCT VERB), built so that the classic
ambiguities occur and only context resolves them:

- ``fish``, ``book``, ``watch``, ``duck``, ``park``, ``fly`` and their ``-s`` forms are nouns and verbs
  ("the duck can swim", "they duck"); ``saw`` is the past of *see* and a noun ("she saw the saw");
  ``can`` is a modal (AUX) and a noun ("we can fish", "the can is red");
- ``like`` is a verb and a preposition ("I like fish", "she swims like a fish");
- "time flies like an arrow" (time NOUN, flies VERB, like ADP) against "fruit flies like a banana"
  (fruit NOUN, flies NOUN, like VERB): the only noun-noun compound here is "fruit flies".  The two sentences
  differ only in words of one tag each (time and fruit, an and a, arrow and banana), which a first- or
  second-order HMM reads through the same tags, so it cannot tell them apart.

Subjects agree with their verbs ("the bird flies", "the birds fly"); names (PROPN) are made of random
syllables, so a held-out sentence often holds a name never seen in training.  :func:`generate_sentence`
draws one sentence as ``(words, tags)``; everything random comes from the generator passed in.
"""
from __future__ import annotations

import numpy as np

# noun: (singular, plural).  Beings do things; things are seen, carried, read... (and are red, old, in the box)
BEINGS = [("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("duck", "ducks"), ("fish", "fish"), ("fly", "flies"),
          ("man", "men"), ("woman", "women"), ("child", "children"), ("girl", "girls"), ("boy", "boys"),
          ("teacher", "teachers")]
THINGS = [("book", "books"), ("can", "cans"), ("saw", "saws"), ("watch", "watches"), ("table", "tables"),
          ("boat", "boats"), ("park", "parks"), ("river", "rivers"), ("arrow", "arrows"), ("banana", "bananas"),
          ("apple", "apples"), ("letter", "letters"), ("ticket", "tickets"), ("box", "boxes"), ("house", "houses"),
          ("garden", "gardens"), ("car", "cars"), ("cake", "cakes")]
PLACES = ["park", "river", "garden", "house", "box", "boat", "car", "table"]  # objects of in, on, near, under
MASS_NOUNS = ["time", "fruit", "water", "music", "milk"]  # objects without a determiner ("we need time")
# verb: (base, third person singular, past, -ing)
TRANSITIVE = [("see", "sees", "saw", "seeing"), ("watch", "watches", "watched", "watching"),
              ("like", "likes", "liked", "liking"), ("book", "books", "booked", "booking"),
              ("eat", "eats", "ate", "eating"), ("open", "opens", "opened", "opening"),
              ("need", "needs", "needed", "needing"), ("find", "finds", "found", "finding"),
              ("want", "wants", "wanted", "wanting"), ("read", "reads", "read", "reading"),
              ("park", "parks", "parked", "parking"), ("love", "loves", "loved", "loving"),
              ("paint", "paints", "painted", "painting"), ("carry", "carries", "carried", "carrying")]
INTRANSITIVE = [("fish", "fishes", "fished", "fishing"), ("fly", "flies", "flew", "flying"),
                ("swim", "swims", "swam", "swimming"), ("sleep", "sleeps", "slept", "sleeping"),
                ("run", "runs", "ran", "running"), ("walk", "walks", "walked", "walking"),
                ("duck", "ducks", "ducked", "ducking"), ("jump", "jumps", "jumped", "jumping"),
                ("sing", "sings", "sang", "singing"), ("wait", "waits", "waited", "waiting")]
ADJECTIVES = ["old", "new", "big", "small", "red", "sharp", "happy", "quiet", "green", "little", "hungry", "busy"]
ADVERBS = ["quickly", "slowly", "happily", "quietly", "often", "today", "again"]
PLACE_PREPOSITIONS = ["in", "on", "near", "under", "with"]
MODALS = ["can", "will", "could"]
# pronoun: (subject form, object form, agreement) where agreement is "1sg", "3sg" or "pl" (you and we: plural)
PRONOUNS = [("I", "me", "1sg"), ("you", "you", "pl"), ("he", "him", "3sg"), ("she", "her", "3sg"),
            ("it", "it", "3sg"), ("we", "us", "pl"), ("they", "them", "pl")]
SYLLABLES = ["ma", "ri", "to", "ka", "lo", "ne", "sa", "bo", "li", "da", "ru", "mi", "te", "no", "vi", "ella"]
SINGULAR_DETERMINERS = ["the", "a", "this", "every", "my"]
PLURAL_DETERMINERS = ["the", "these", "some", "my"]
TAGS = ("ADJ", "ADP", "ADV", "AUX", "DET", "NOUN", "PRON", "PROPN", "PUNCT", "VERB")

Tokens = list[tuple[str, str]]


def _pick(rng: np.random.Generator, options: list) -> object:
    return options[int(rng.integers(len(options)))]


def _chance(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def name(rng: np.random.Generator) -> str:
    """A capitalised name of two or three random syllables (Marito, Kalo, Bella...)."""
    return "".join(_pick(rng, SYLLABLES) for _ in range(2 + int(rng.integers(2)))).capitalize()


def _article(next_word: str, determiner: str) -> str:
    """'a' becomes 'an' before a vowel: an arrow, an old cat."""
    return "an" if determiner == "a" and next_word[0] in "aeiou" else determiner


def noun_phrase(rng: np.random.Generator, role: str, being: bool = False) -> tuple[Tokens, str]:
    """A noun phrase and its agreement ("3sg" or "pl"; "1sg" for I).  ``role`` "subject" or "object" picks the
    pronoun's form; only objects are mass nouns ("we need water"), and "fruit flies" is a plural phrase.
    ``being``: a noun is one of BEINGS (the subject of a verb), else of BEINGS or THINGS."""
    kind = rng.random()
    if kind < 0.18:
        subject, obj, agreement = _pick(rng, PRONOUNS)
        return [(subject if role == "subject" else obj, "PRON")], agreement
    if kind < 0.28:
        return [(name(rng), "PROPN")], "3sg"
    if kind < 0.33:
        return [("fruit", "NOUN"), ("flies", "NOUN")], "pl"
    if kind < 0.38 and role == "object":
        return [(_pick(rng, MASS_NOUNS), "NOUN")], "3sg"
    singular, plural = _pick(rng, BEINGS if being or _chance(rng, 0.4) else THINGS)
    number = "pl" if _chance(rng, 0.4) else "3sg"
    noun = plural if number == "pl" else singular
    words: Tokens = [(_pick(rng, ADJECTIVES), "ADJ")] if _chance(rng, 0.25) else []
    words.append((noun, "NOUN"))
    if number == "pl" and _chance(rng, 0.3):  # bare plural: "ducks swim"
        return words, number
    determiner = _pick(rng, PLURAL_DETERMINERS if number == "pl" else SINGULAR_DETERMINERS)
    return [(_article(words[0][0], determiner), "DET")] + words, number


def _place(rng: np.random.Generator) -> Tokens:
    """A preposition and a place: "in the park", "near a river"."""
    determiner = _pick(rng, ["the", "a", "my", "this"])
    noun = _pick(rng, PLACES)
    return [(_pick(rng, PLACE_PREPOSITIONS), "ADP"), (_article(noun, determiner), "DET"), (noun, "NOUN")]


def _simile(rng: np.random.Generator) -> Tokens:
    """ "like" as a preposition: "like a fish", "like an arrow"."""
    noun = _pick(rng, ["arrow", "fish", "bird", "duck", "dog", "child"])
    return [("like", "ADP"), (_article(noun, "a"), "DET"), (noun, "NOUN")]


def _form(verb: tuple[str, str, str, str], tense: str, agreement: str) -> str:
    base, third, past, ing = verb
    if tense == "past":
        return past
    if tense == "ing":
        return ing
    if tense == "base":
        return base
    return third if agreement == "3sg" else base


def verb_phrase(rng: np.random.Generator, tense: str, agreement: str, transitive: float = 0.55) -> Tokens:
    """A verb phrase in ``tense`` ("present", "past", "base" after a modal or as a command, "ing" after a form
    of be): a transitive verb and its object (with probability ``transitive``), or an intransitive verb with a
    place, a simile or an adverb."""
    if _chance(rng, transitive):
        words: Tokens = [(_form(_pick(rng, TRANSITIVE), tense, agreement), "VERB")]
        words += noun_phrase(rng, "object")[0]
        if _chance(rng, 0.2):
            words += _place(rng)
    else:
        words = [(_form(_pick(rng, INTRANSITIVE), tense, agreement), "VERB")]
        extra = rng.random()
        if extra < 0.3:
            words += _place(rng)
        elif extra < 0.5:
            words += _simile(rng)
    if _chance(rng, 0.15):
        words.append((_pick(rng, ADVERBS), "ADV"))
    return words


def _be(tense: str, agreement: str) -> str:
    if tense == "past":
        return "were" if agreement == "pl" else "was"
    return {"1sg": "am", "3sg": "is"}.get(agreement, "are")


def generate_sentence(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """One tagged sentence, ``(words, tags)``, ending with "." (or "?" for a question)."""
    kind = rng.random()
    if kind < 0.05:  # "time flies ...": time is a subject only here, always with a third-person verb
        words = [("time", "NOUN")] + verb_phrase(rng, _pick(rng, ["present", "past"]), "3sg", transitive=0.0)
    elif kind < 0.08:  # "fruit flies like ...": what fruit flies like (they are in other sentences too)
        food = _pick(rng, ["banana", "apple", "cake"])
        obj = [(_article(food, "a"), "DET"), (food, "NOUN")] if _chance(rng, 0.5) else [(food + "s", "NOUN")]
        words = [("fruit", "NOUN"), ("flies", "NOUN"), (_pick(rng, ["like", "liked"]), "VERB")] + obj
    elif kind < 0.14:  # a command: the verb comes first ("book a table .")
        words = verb_phrase(rng, "base", "pl")
    elif kind < 0.22:  # a question: the modal comes first ("can you fish ?")
        subject, agreement = noun_phrase(rng, "subject", being=True)
        words = [(_pick(rng, MODALS), "AUX")] + subject + verb_phrase(rng, "base", agreement)
        return [w for w, _ in words] + ["?"], [t for _, t in words] + ["PUNCT"]
    else:
        tense = _pick(rng, ["present", "past", "modal", "be", "be", "ing"])
        subject, agreement = noun_phrase(rng, "subject", being=tense != "be")  # "the can is red"
        if tense == "modal":
            words = subject + [(_pick(rng, MODALS), "AUX")] + verb_phrase(rng, "base", agreement)
        elif tense == "be":  # "the can is red", "the ducks were in the park"
            rest = [(_pick(rng, ADJECTIVES), "ADJ")] if _chance(rng, 0.7) else _place(rng)
            words = subject + [(_be(_pick(rng, ["present", "past"]), agreement), "AUX")] + rest
        elif tense == "ing":
            be = _be(_pick(rng, ["present", "past"]), agreement)
            words = subject + [(be, "AUX")] + verb_phrase(rng, "ing", agreement)
        else:
            words = subject + verb_phrase(rng, tense, agreement)
    return [w for w, _ in words] + ["."], [t for _, t in words] + ["PUNCT"]


# Sentences the demo tags after training, with their tags as this grammar means them, and what each shows.
# None of them is in the demo's training data (make_data in rnnkit.demos.tagging leaves them out).
SHOWCASE = [
    ("time flies like an arrow .", "NOUN VERB ADP DET NOUN PUNCT", "flies a verb, like a preposition"),
    ("fruit flies like a banana .", "NOUN NOUN VERB DET NOUN PUNCT", "fruit flies a compound noun, like a verb"),
    ("we can fish .", "PRON AUX VERB PUNCT", "can a modal, fish a verb"),
    ("she saw the saw .", "PRON VERB DET NOUN PUNCT", "saw twice: verb, then noun"),
    ("book the book .", "VERB DET NOUN PUNCT", "a command: a verb comes first"),
    ("the old can is in the box .", "DET ADJ NOUN AUX ADP DET NOUN PUNCT", "can a noun, after an adjective"),
    ("the wug glorped a blicket .", "DET NOUN VERB DET NOUN PUNCT", "three words never seen: wug, glorped, blicket"),
    ("Zandor swims quickly .", "PROPN VERB ADV PUNCT", "a name never seen"),
]
