"""The onnxruntime code ``rnnkit export --onnx`` prints (:mod:`rnnkit.export_onnx`): it opens the graph and the
vocabulary file, turns a text into token ids as rnnkit does (:mod:`rnnkit.export_torch_text`, the same lines the
torch code has; a tagger's words' characters, bigrams and feature columns too, :mod:`rnnkit.export_onnx_extras`)
and runs the graph once; a language model's code then goes on generating, one token at a time,
from the state the graph returned, and a CRF tagger's decodes the graph's scores with Viterbi in numpy
(:mod:`rnnkit.export_onnx_crf`)."""
from __future__ import annotations

import json
from typing import Any

from rnnkit.export_bpe import bpe_code, bpe_example
from rnnkit.export_onnx_chars import spelled_code
from rnnkit.export_onnx_extras import FEATURE_CODE, bigram_code, feature_example
from rnnkit.export_onnx_crf import DATA_TAGS, decode_use, decoding_rules, retagged, viterbi_code
from rnnkit.export_scope import CONFIG
from rnnkit.export_torch_text import (BMES_WORDS, classifier_example, classifier_prepare, code_title, example_text,
                                      is_segmenter, segmenter_example, tagger_prepare)

_HEAD = '''"""{what}, exported by rnnkit{when} from
{source}
as an ONNX graph in MODEL, its vocabulary in VOCAB.  Run or import this file; it needs onnxruntime and numpy."""
import json
import os
{imports}
import numpy as np
import onnxruntime

MODEL = {model!r}  # where rnnkit wrote them (-o, made absolute)
VOCAB = {vocab!r}
if not os.path.exists(MODEL) and "__file__" in globals():  # moved, with this script beside them: the files there
    here = os.path.dirname(os.path.abspath(__file__))
    MODEL, VOCAB = (os.path.join(here, os.path.basename(p)) for p in (MODEL, VOCAB))


'''

_LOAD = '''
session = onnxruntime.InferenceSession(MODEL, providers=["CPUExecutionProvider"])  # {dtype} weights, float32 math
with open(VOCAB, encoding="utf-8") as f:
    vocab = json.load(f)
'''


def _lm_use(task: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    vocab = json.loads(task["vocab"])
    word, bpe = task["level"] == "word", task["level"] == "bpe"
    text = bpe_example(vocab["tokens"]) if bpe else \
        example_text(vocab["tokens"], {vocab["unk_token"], vocab.get("eos_token")}, word)
    quoted = json.dumps(text, ensure_ascii=False)
    example = f"{quoted}.split()" if word else f"list({quoted})"
    end = json.dumps(vocab.get("eos_token") if word else "\n")
    shape = f"({cfg['num_layers']}, 1, {cfg['hidden_size']})"
    names = '["h_0", "c_0"]' if cfg["cell"] == "lstm" else '["h_0"]'
    line = (f'text = [vocab["start_token"]] + line_pieces({quoted})  # its pieces, then <eos>' if bpe else
            f'text = [vocab["start_token"]] + {example} + [{end}]')
    show = ("print(decode_pieces([tokens[i] for i in out]))" if bpe else
            'print("".join(tokens[i] for i in out))' if not word else  # <eos>: a line end, as rnnkit generate
            'print("\\n".join(line.strip() for line in " ".join(tokens[i] for i in out).split(EOS)))')
    return ['tokens = vocab["vocab"]["tokens"]  # token i has id i',
            *(['EOS = vocab["vocab"]["eos_token"]  # the end of a line'] if word else []),
            "ids = {t: i for i, t in enumerate(tokens)}",
            "# a line as 'rnnkit score' reads it: from the start token, its " +
            {"word": "words (split at whitespace)", "char": "characters", "bpe": "BPE pieces"}[task["level"]] +
            ", then the end of the line",
            line,
            'x = np.array([[ids.get(t, ids[vocab["vocab"]["unk_token"]])] for t in text])  # (T, 1) int64; '
            "unknown: <unk>",
            f"state = {{name: np.zeros({shape}, np.float32) for name in {names}}}  # (L, B, H): a text's start",
            'logp, *final = session.run(None, {"ids": x, **state})  # log P(next token) (T, 1, V), the state after x',
            "# log P(text[1:]): the number 'rnnkit score' prints first for the line",
            'print(sum(float(logp[t, 0, x[t + 1, 0]]) for t in range(len(x) - 1)), "nats")',
            "# then a new line, greedily, a token at a time: each run starts from the state the last one returned",
            "out = []",
            "for _ in range(8):",
            "    out.append(int(logp[-1, 0].argmax()))",
            '    logp, *final = session.run(None, {"ids": np.array([[out[-1]]]), **dict(zip(state, final))})',
            show]


def _classifier_use(task: dict[str, Any]) -> list[str]:
    return ['ids = {t: i for i, t in enumerate(vocab["vocab"]["tokens"])}',
            f"text = tokens({json.dumps(classifier_example(task['encoder']), ensure_ascii=False)})",
            'x = np.array([[ids.get(t, ids[vocab["vocab"]["unk_token"]])] for t in text])  # (T, 1) int64; '
            "unknown: <unk>",
            'logp = session.run(["log_probs"], {"ids": x, "lengths": np.array([len(text)])})[0]  # (1, K)',
            'print(vocab["labels"][int(logp[0].argmax())])  # class k is labels[k]']


_RULED_BMES_DOC = [
    '    """The words of the characters chars by their tags: a word starts at B or S (and after E or S) and ends at',
    "    E or S.  rnnkit segment also keeps a Latin word, a number or an address whole and punctuation a word of its",
    '    own (rnnkit.data.segment_rules): on such text its words can differ."""']


def _decoding(task: dict[str, Any]) -> tuple[bool, bool]:
    """(a CRF tagger, its tags have a scheme's rules)."""
    return task[CONFIG["tagger"]].get("output", "crf") == "crf", bool(decoding_rules(task))


def _tagger_body(task: dict[str, Any]) -> list[str]:
    """The functions the tagger's code defines: BMES words, the Viterbi decoder (a CRF's, or under a scheme's
    rules), and word_id."""
    crf, ruled = _decoding(task)
    bmes = (BMES_WORDS[:1] + _RULED_BMES_DOC + BMES_WORDS[4:]) if is_segmenter(task) else []  # BMES: rules always
    cfg, enc = task[CONFIG["tagger"]], task["encoder"]
    more = [code for code, on in ((spelled_code(enc), cfg.get("char_vocab_size")),
                                  (bigram_code(enc), cfg.get("bigram_vocab_size")),
                                  (FEATURE_CODE, cfg.get("feature_vocab_sizes"))) if on]
    scheme = DATA_TAGS if retagged(task) else []  # trained in another scheme: written back in the data's
    return (bmes + viterbi_code(crf, ruled) + scheme + tagger_prepare(enc)
            + [line for code in more for line in ["", ""] + code])


def _more_inputs(task: dict[str, Any], tokens: str) -> str:
    """The code's other inputs of the sentence ``tokens`` (``words`` or ``chars``) than its ids and length."""
    cfg = task[CONFIG["tagger"]]
    return "".join(f", **{call}" for call, on in ((f"spelled({tokens})", cfg.get("char_vocab_size")),
                                                   (f"bigram_ids({tokens})", cfg.get("bigram_vocab_size")),
                                                   ("feature_ids(columns)", cfg.get("feature_vocab_sizes"))) if on)


def _tagger_use(task: dict[str, Any]) -> list[str]:
    words_vocab = json.loads(task["encoder"]["words"])
    crf, ruled = _decoding(task)
    if is_segmenter(task):
        text = json.dumps(segmenter_example(words_vocab), ensure_ascii=False)
        return ['ids = {t: i for i, t in enumerate(vocab["words"]["tokens"])}  # the characters',
                f"chars = [c for c in {text} if not c.isspace()]  # a segmenter reads characters",
                'x = np.array([[word_id(c, ids, ids[vocab["words"]["unk_token"]])] for c in chars])  # (T, 1) int64',
                *decode_use("len(chars)", crf, ruled, _more_inputs(task, "chars")),
                'tags = [vocab["tags"][k] for k in best]  # B, M, E or S',
                'print(" ".join(bmes_words(chars, tags)))  # the text cut into words']
    words = example_text(words_vocab["tokens"], {words_vocab["unk_token"]}, True)
    columns = []  # a tagger with feature columns: each word's values (the example: each column's likeliest)
    if task[CONFIG["tagger"]].get("feature_vocab_sizes"):
        row = json.dumps(feature_example(task["encoder"]), ensure_ascii=False)
        columns = ["# each word's feature columns, as the training data's extra columns (here each column's most "
                   "frequent value)", f"columns = [{row} for w in words]"]
    return ['ids = {t: i for i, t in enumerate(vocab["words"]["tokens"])}',
            f"words = {json.dumps(words, ensure_ascii=False)}.split()",
            'x = np.array([[word_id(w, ids, ids[vocab["words"]["unk_token"]])] for w in words])  # (T, 1) int64',
            *columns, *decode_use("len(words)", crf, ruled, _more_inputs(task, "words")),
            *([f"# in the data's scheme ({task['data']['scheme']}), as rnnkit tag prints them, not the model's "
               f"({task['train_scheme']})", 'print(data_tags([vocab["tags"][k] for k in best], vocab["rules"]))']
              if retagged(task) else ['print([vocab["tags"][k] for k in best])'])]


def onnx_code(kind: str, task: dict[str, Any], model: str, vocab: str, record: dict[str, Any], source: str,
              bpe: str | None = None) -> str:
    """The Python source that opens the graph ``model`` and vocabulary ``vocab`` in onnxruntime and uses them;
    ``source``: the checkpoint they were exported from, ``record`` the export's record (step, epoch, dtype);
    ``bpe``: a BPE-level language model's SentencePiece model file (:mod:`rnnkit.export_bpe`)."""
    cfg = task[CONFIG[kind]]
    what, when, imports = code_title(kind, task, cfg, record)
    if kind == "lm":
        use, body = _lm_use(task, cfg), [] if bpe is None else bpe_code(bpe, json.loads(task["vocab"]))
    elif kind == "tagger":
        body, use = _tagger_body(task), _tagger_use(task)
    else:
        body, use = classifier_prepare(task["encoder"]), _classifier_use(task)
    head = _HEAD.format(what=what, when=when, source=source, model=model, vocab=vocab, imports=imports)
    load = _LOAD.format(dtype=record.get("dtype") or "float32")
    if not body:
        head = head.rstrip("\n") + "\n"
    return head + "\n".join(body) + ("\n\n" if body else "") + load + "\n".join(use) + "\n"
