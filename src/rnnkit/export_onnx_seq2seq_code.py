"""The onnxruntime code ``rnnkit export --onnx`` prints for a translator (:mod:`rnnkit.export_onnx_seq2seq`): it
opens the encoder, the decoder step and the vocabulary file, tokenizes a sentence as rnnkit's source tokenizer does
(:class:`rnnkit.data.tokenizer.Tokenizer`: its punct level's pattern and joiner are copied from it; a BPE side's
SentencePiece model is read from the vocabulary file), runs the encoder once and the step a token at a time, and
detokenizes the output with the target side's tokenizer.  ``translate(text)`` decodes greedily and
``beam_translate(text, beam, alpha, stop=...)`` by beam search with GNMT's length penalty (``beam_search(tokens,
beam, alpha)`` its best hypothesis: finished or not, score, tokens), each as ``rnnkit translate``
(:mod:`rnnkit.seq2seq.decode`) does with ``--beam 1`` or ``--beam K --length-norm ALPHA`` and its other options
at their defaults; ``stop`` "k-finished" (the default) or "bound" as ``--beam-stop`` (the bound of
:func:`rnnkit.seq2seq.penalties.may_still_win`, written out): ``<pad>`` and ``<bos>`` never chosen, ``<eos>`` not first (``--min-len 1``), each sentence's
limit from the translator's length rule; ``no_repeat`` N > 0 as ``--no-repeat-ngram N`` (rnnkit's own
``repeat_bans``, copied).  With copy attention the code gives the step each source token's extended id (its
target id, or V + k for the k-th distinct source word outside the target vocabulary) and writes an extended id as
that source word; with coverage it starts each sentence's coverage at zeros and carries it per hypothesis, as the
state.  Not in the code: ``--coverage-penalty``, ``--replace-unk``, ``--nbest`` and ``--max-len``
(one line to change: the limit ``encode`` returns)."""
from __future__ import annotations

import inspect
import json
from typing import Any

from rnnkit.data import tokenizer as tok
from rnnkit.english import a_or_an
from rnnkit.export_bpe import words_text
from rnnkit.export_torch_text import example_text
from rnnkit.seq2seq import no_repeat

_HEAD = '''"""{what},
exported by rnnkit{when} from
{source}
as two ONNX graphs, the encoder in ENCODER and one decoder step in STEP, its vocabularies in VOCAB.  Run it to
translate an example, or import it and call translate(text); it needs onnxruntime and numpy{needs}."""
{imports}
import numpy as np
import onnxruntime
{more}
ENCODER = {encoder!r}  # where rnnkit wrote them (-o, made absolute)
STEP = {step!r}
VOCAB = {vocab!r}
if not os.path.exists(ENCODER) and "__file__" in globals():  # moved, with this script beside them: the files there
    here = os.path.dirname(os.path.abspath(__file__))
    ENCODER, STEP, VOCAB = (os.path.join(here, os.path.basename(p)) for p in (ENCODER, STEP, VOCAB))

encoder = onnxruntime.InferenceSession(ENCODER, providers=["CPUExecutionProvider"])  # {dtype} weights, float32 math
step = onnxruntime.InferenceSession(STEP, providers=["CPUExecutionProvider"])
with open(VOCAB, encoding="utf-8") as f:
    vocab = json.load(f)
source_ids = {{t: i for i, t in enumerate(vocab["source_vocab"]["tokens"])}}  # token i has id i
target_tokens = vocab["target_vocab"]["tokens"]
{target_ids}{after}'''

_PUNCT = '''
# rnnkit's punct level: words (with inner hyphens, apostrophes, number separators) and punctuation apart
PUNCT_TOKEN = re.compile({pattern!r})
_NO_SPACE_BEFORE = frozenset({before!r})
_NO_SPACE_AFTER = frozenset({after!r})
_QUOTES = frozenset({quotes!r})
'''

_BPE = '''
def sentencepiece_model(side):
    """The SentencePiece BPE model of one side ("source_tokenizer" or "target_tokenizer"), kept in VOCAB."""
    sp = sentencepiece.SentencePieceProcessor()
    sp.LoadFromSerializedProto(base64.b64decode(vocab[side]["bpe_model"]))
    return sp
'''

_TOKENIZE = {"word": "text.split()", "char": "list(text)", "punct": "PUNCT_TOKEN.findall(text)",
             "bpe": "source_bpe.encode(text, out_type=str)"}
_DETOKENIZE = {"word": '" ".join(tokens)', "char": '"".join(tokens)', "punct": "_join_punct(tokens)",
               "bpe": "target_bpe.decode_pieces(list(tokens))"}

_COPY = '''
def source_oovs(tokens):
    """The source words outside the target vocabulary, in order of first occurrence: copy attention's extended
    ids V, V + 1, ... are theirs."""
    oovs = []
    for t in tokens:
        if t not in target_ids and t not in oovs:
            oovs.append(t)
    return oovs


'''

_TARGET_IDS = "target_ids = {t: i for i, t in enumerate(target_tokens)}  # copy attention: a source word's target id\n"

_EXTENDED = '''    oovs, V = source_oovs(tokens), len(target_tokens)  # copy attention: each source token's extended target id
    fixed["src_ext"] = np.array([[target_ids[t] if t in target_ids else V + oovs.index(t) for t in tokens]], np.int64)
'''

_TRANSLATE = '''

def source_tokens(text):
    """The source tokens of text as rnnkit tokenizes them:
    whitespace runs collapsed{lower}, then {how}."""
    text = " ".join(text.split()){lowered}
    return {tokenize}


def target_text(tokens):
    """The text of target tokens, as rnnkit's target tokenizer joins them."""
    return {detokenize}


def encode(tokens):
    """The encoder's run on one sentence's tokens: (what every step reads, the decoder's first state, the limit, the
    output's tokens by id{copied})."""
    unknown = source_ids[vocab["source_vocab"]["unk_token"]]
    x = np.array([[source_ids.get(t, unknown)] for t in tokens], np.int64)  # (S, 1) int64; unknown: <unk>
    names = [o.name for o in encoder.get_outputs()]
    start = dict(zip(names, encoder.run(None, {{"ids": x, "lengths": np.array([len(tokens)], np.int64)}})))
    fixed = {{k: start[k] for k in ("memory", "src_mask") if k in start}}  # (rows, S, Hk), (rows, S)
    state = {{k: start[k] for k in ("h", "c") if k in start}}  # (L, rows, H): the bridge's initial state
{feed}{coverage}{copy}    rule = vocab["length_rule"]  # each sentence's limit, EOS included: ceil(ratio * n) + extra steps
    return fixed, state, math.ceil(rule["ratio"] * len(tokens)) + rule["extra"], {words}


{source_oovs}{repeat_bans}


def decoder_step(previous, state, fixed, t, histories, no_repeat):
    """Step t of the decoder from the previous tokens (rows,): (log P(next token) (rows, {width}), the next state).
    Never chosen (-inf): <pad> and <bos>, <eos> first (no empty translation: rnnkit's --min-len 1), and with
    no_repeat N > 0 a token that would repeat an N-gram of the row's tokens so far, histories[row]."""
    names = [o.name for o in step.get_outputs()]
    result = dict(zip(names, step.run(None, {{"ids": np.asarray(previous, np.int64), **state, **fixed}})))
    logp = result["log_probs"]  # (rows, {width}){width_why}
    logp[:, [vocab["pad"], vocab["bos"]] + [vocab["eos"]] * (t == 0)] = -np.inf
    for row, tokens in enumerate(histories):
        logp[row, repeat_bans(tokens, no_repeat)] = -np.inf
    return logp, {{k: result[k + "_next"] for k in state}}


def translate(text, no_repeat=0):
    """The greedy translation of one sentence, as rnnkit translate --beam 1 (--no-repeat-ngram NO_REPEAT) gives
    it ("" for a blank one)."""
    tokens = source_tokens(text)
    if not tokens:
        return ""
    fixed, state, limit, words = encode(tokens)
    previous, out = vocab["bos"], []
    for t in range(limit):
        logp, state = decoder_step([previous], state, fixed, t, [out], no_repeat)
        previous = int(logp[0].argmax())
        if previous == vocab["eos"] or logp[0, previous] == -np.inf:  # the end, or every token banned
            break
        out.append(previous)
    return target_text([words[i] for i in out])


def beam_search(tokens, beam=4, alpha=0.0, no_repeat=0, stop="k-finished"):
    """The best hypothesis of a beam search over one sentence's source tokens (one or more), as rnnkit translate
    --beam BEAM --length-norm ALPHA (--no-repeat-ngram NO_REPEAT) --beam-stop STOP finds it: (whether it ended
    with <eos>, its score as below, rnnkit's norm_score, its target tokens).  Each step takes the 2k
    best one-token extensions of the k live hypotheses, best first; an <eos> among the first k finishes one, scored
    log P / ((5 + steps) / 6) ** alpha; the others are the next live ones, up to k.  It stops, with STOP
    "k-finished" (rnnkit's default), at k finished hypotheses; with "bound" once the best live one cannot beat the
    best finished one: no completion scores more than its log P / ((5 + limit) / 6) ** alpha, log P only falling
    as it grows; either way at the limit (the live ones then count, unfinished, after every finished one)."""
    if stop not in ("k-finished", "bound"):
        raise ValueError(f"Expected stop to be k-finished or bound, got {{stop!r}}")
    fixed, state, limit, words = encode(tokens)
    eos = vocab["eos"]
    live, scores, found = [()], np.zeros(1), []  # the live hypotheses, their log P (float64), the finished ones
    previous = [vocab["bos"]]
    for t in range(limit):
        logp, state = decoder_step(previous, state, fixed, t, live, no_repeat)  # (rows, {width})
        flat = (scores[:, None] + logp).ravel()  # ({flat},) every one-token extension
        top = np.lexsort((np.arange(flat.size), -flat))[:2 * beam]  # best first, ties to the lower index
        rows, previous, kept = [], [], []
        for place, i in enumerate(top):
            if flat[i] == -np.inf:  # a token never chosen; so is every later one
                break
            row, token = divmod(int(i), logp.shape[1])
            if token == eos and place < beam:
                found.append((True, float(flat[i]) / ((5 + len(live[row]) + 1) / 6) ** alpha, live[row]))
            elif token != eos and len(rows) < beam:
                rows, previous, kept = rows + [row], previous + [token], kept + [flat[i]]
            if len(rows) == beam:
                break
        if not rows and not found:  # every extension banned: the live ones so far are all there is
            found += [(False, float(s) / ((5 + len(h)) / 6) ** alpha, h) for h, s in zip(live, scores)]
        live, scores = [live[r] + (k,) for r, k in zip(rows, previous)], np.array(kept, np.float64)
        if not rows or (stop == "k-finished" and len(found) >= beam):
            break
        if stop == "bound":  # the best live one cannot win: stop (best -inf: none finished yet)
            best = max((score for done, score, _ in found if done), default=-np.inf)
            if kept[0] / ((5 + limit) / 6) ** alpha <= best:
                break
        if t + 1 == limit:  # cut at the limit: the live hypotheses, unfinished
            found += [(False, float(s) / ((5 + len(h)) / 6) ** alpha, h) for h, s in zip(live, scores)]
        state = {{k: v[rows] if {batch_major} else v[:, rows] for k, v in state.items()}}  # each row's own
        fixed = {{k: v[rows] for k, v in fixed.items()}}
    finished, score, ids = sorted(found, key=lambda h: (not h[0], -h[1]))[0]  # finished first, by score; ties:
    return finished, score, [words[i] for i in ids]  # the first found


def beam_translate(text, beam=4, alpha=0.0, no_repeat=0, stop="k-finished"):
    """The best translation by beam search (beam_search's), as rnnkit translate --beam BEAM --length-norm ALPHA
    (--no-repeat-ngram NO_REPEAT) --beam-stop STOP gives it ("" for a blank one)."""
    tokens = source_tokens(text)
    if not tokens:
        return ""
    return target_text(beam_search(tokens, beam, alpha, no_repeat, stop)[2])


if __name__ == "__main__":
    example = {example}
    print(example, "->", translate(example))
    print(example, "->", beam_translate(example, 4), "(beam search, 4 beams)")
'''


def _describe(cfg: dict[str, Any]) -> str:
    cell = {"rnn": "Elman RNN", "lstm": "peephole LSTM" if cfg.get("peephole") else "LSTM", "gru": "GRU"}[cfg["cell"]]
    both = "bidirectional " if cfg["bidirectional"] else ""
    attention = "without attention" if cfg["attention"] == "none" else f"with {cfg['attention']} attention"
    extras = [what for what, on in (("copy attention", cfg.get("copy")), ("coverage", cfg.get("coverage"))) if on]
    attention += "".join(f", {what}" for what in extras[:-1]) + "".join(f" and {what}" for what in extras[-1:])
    enc, dec = cfg["encoder_layers"], cfg["decoder_layers"]
    return (f"A translator into {cfg['tgt_vocab_size']:,} target tokens: {a_or_an(enc)} {enc}-layer {both}{cell} "
            f"encoder and\n{a_or_an(dec)} {dec}-layer decoder {attention}")


def _example(task: dict[str, Any]) -> str:
    """An example sentence of the source vocabulary's most frequent words (a BPE side's word-initial pieces, run
    together when Chinese)."""
    vocab = json.loads(task["source_vocab"])
    level = task["source_tokenizer"]["level"]
    tokens = vocab["tokens"]
    if level == "bpe":  # the pieces that start a word, as words
        tokens = [t[1:] for t in tokens if t.startswith("\u2581") and len(t) > 2]
    words = [t for t in tokens if any(c.isalnum() for c in t)]  # not punctuation first
    tokens = words if len(words) >= 4 else tokens
    specials = {"<pad>", "<bos>", "<eos>", vocab["unk_token"]}
    text = example_text(tokens, specials, level != "char")
    # unspaced Chinese (its word-start pieces begin its lines) runs together, as the training text did
    return words_text(text.split(" ")) if level == "bpe" else text


def translator_code(task: dict[str, Any], record: dict[str, Any], source: str, encoder: str, step: str,
                    vocab: str) -> str:
    """The Python source that translates with the exported graphs (module docstring); ``source``: the checkpoint
    exported, ``record`` the export's record (step, epoch, dtype); ``encoder``, ``step``, ``vocab``: the files."""
    cfg = task["seq2seq_config"]
    src, tgt = task["source_tokenizer"], task["target_tokenizer"]
    levels = {src["level"], tgt["level"]}
    bpe, punct = "bpe" in levels, "punct" in levels
    imports = "\n".join(line for line, on in (("import base64", bpe), ("import json", True), ("import math", True),
                                              ("import os", True), ("import re", punct)) if on)
    bans = inspect.getsource(no_repeat.repeat_bans)  # rnnkit's own lines, its annotations left out
    bans = bans.replace("(tokens: Sequence[int], n: int) -> list[int]:", "(tokens, n):")
    blocks, after = [], ""  # the punct level's pattern and joiner, the BPE models' loader: before the files
    if punct:
        joiner = inspect.getsource(tok._join_punct)  # rnnkit's own lines, its annotation's names left out
        marks = {name: "".join(sorted(chars)) for name, chars in (("before", tok._NO_SPACE_BEFORE),
                                                                   ("after", tok._NO_SPACE_AFTER),
                                                                   ("quotes", tok._QUOTES))}
        blocks += [_PUNCT.format(pattern=tok._PUNCT_TOKEN.pattern, **marks).strip(),
                   joiner.replace("(tokens: Sequence[str]) -> str:", "(tokens):").strip()]
    if bpe:
        blocks.append(_BPE.strip())
        after = "".join(f"{side}_bpe = sentencepiece_model({side + '_tokenizer'!r})\n"
                        for side, t in (("source", src), ("target", tgt)) if t["level"] == "bpe")
    more = "import sentencepiece\n" * bpe + "".join(f"\n\n{b}\n" for b in blocks) + "\n" * bool(blocks)
    step_line = record.get("step")
    head = _HEAD.format(what=_describe(cfg), when=f" (step {step_line:,}, epoch {record.get('epoch')})"
                        if step_line is not None else "", source=source, needs=" (and sentencepiece)" * bpe,
                        imports=imports, more=more, after=after, encoder=encoder, step=step, vocab=vocab,
                        dtype=record.get("dtype") or "float32", target_ids=_TARGET_IDS if cfg.get("copy") else "")
    how = {"word": "split at whitespace", "char": "every character (spaces too)", "punct": "words and punctuation "
           "apart", "bpe": "the pieces of its SentencePiece BPE model"}[src["level"]]
    feed = (f'    state["feed"] = np.zeros((1, {cfg["decoder_hidden_size"]}), np.float32)  # h~_0 = 0: input feeding'
            "'s first\n") if cfg["input_feeding"] else ""
    copy, coverage = bool(cfg.get("copy")), bool(cfg.get("coverage"))
    covered = ('    state["coverage"] = np.zeros((1, len(tokens)), np.float32)  # cov_0 = 0: the attention so far\n'
               if coverage else "")
    body = _TRANSLATE.format(lower=", lowercased" if src["lowercase"] else "",
                             lowered=".lower()" if src["lowercase"] else "", how=how, tokenize=_TOKENIZE[src["level"]],
                             detokenize=_DETOKENIZE[tgt["level"]], feed=feed, repeat_bans=bans.strip(),
                             coverage=covered, copy=_EXTENDED if copy else "", source_oovs=_COPY.lstrip("\n") if copy else "",
                             words="target_tokens + oovs" if copy else "target_tokens",
                             width="V + X" if copy else "V", flat="rows * (V + X)" if copy else "rows * V",
                             width_why=", X: the sentence's source words outside the target vocabulary" if copy else "",
                             copied=": the target vocabulary's, then the source's words outside it" if copy else "",
                             batch_major='k in ("feed", "coverage")' if coverage else 'k == "feed"',
                             example=json.dumps(_example(task), ensure_ascii=False))
    return head + body
