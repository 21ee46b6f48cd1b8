"""A trained model as a PyTorch state dict in a safetensors file, and the torch code that loads it.

``rnnkit export --torch`` writes the weights under the names a standard torch module of the same
structure has (rnnkit's own names are PyTorch's: ``embedding.weight``, ``rnn.weight_ih_l0``, ...,
``decoder.weight``), so ``module.load_state_dict(safetensors.torch.load_file(path))`` takes them as they
are, and prints (:func:`torch_code`) the few lines of torch that build that module.  Writing needs no
torch: the arrays go through :func:`rnnkit.torch_io.torch_arrays` and safetensors' numpy writer.

Supported, with the module built:

- language models (``rnnkit train lm``) with the full softmax, tied or not (``torch.nn.Embedding`` ->
  ``torch.nn.RNN``/``LSTM``/``GRU`` -> ``torch.nn.Linear``, whose weight is the embedding's when tied: the
  file then holds it under both names, as the module's ``state_dict()`` does), or the adaptive softmax
  (``torch.nn.AdaptiveLogSoftmaxWithLoss``, same names and layout); ``forward(ids)`` gives
  log P(next token) (T, B, V); a BPE-level one's SentencePiece model is written beside the file
  (:mod:`rnnkit.export_bpe`), and the code splits text into its pieces and writes pieces as text as rnnkit does;
- classifiers (``rnnkit train classifier``): ``torch.nn.Embedding`` -> the recurrent layer over a packed
  batch -> the pooling (last, mean, max or attention over each text's real tokens; attention pooling is
  a small module of three parameters written out in the code, ``AttentionPool``) -> ``torch.nn.Linear``;
  ``forward(ids, lengths)`` gives log P(class) (B, K);
- softmax taggers over words alone (``rnnkit train tagger`` without ``--crf``, ``--char-features``,
  ``--bigrams`` or feature columns): the same up to the recurrent layer, then ``torch.nn.Linear`` at
  every word; ``forward(ids, lengths)`` gives log P(tag) (T, B, K).  rnnkit's ``tag`` decodes them with
  Viterbi kept to a span scheme's legal sequences (an argmax without one), and prints the data's scheme.

Refused: the class-based softmax (torch has no such module), taggers with a CRF or other inputs,
translators, tree models, n-gram models and HMMs, and recurrent layers with a learned initial state or with
residual connections (``--residual``: torch's recurrent modules have none), or with peepholes (``--peephole``:
torch has no peephole LSTM).

The printed code prepares text as rnnkit does: a language model's example line as ``rnnkit score`` reads it
(start token, tokens, end of line), a classifier's ``tokens(text)`` as its encoder's ``tokenize`` (lowercase,
fold the width, words or characters, the first ``max_length``), a tagger's ``word_id`` as its encoder reads a
word (fold, then lowercase); ``--fold-width`` is written out as ``fold_width``, NFKC character by character.
``WEIGHTS`` is the file's absolute path, or, once the file has moved, the file of that name beside the script.

The file's safetensors metadata (string to string) holds what the weights need to be used: ``format``
("pt"), ``model`` (the kind), ``config`` (the model's configuration, JSON) and the vocabularies and
labels as rnnkit stores them (``vocab`` for a language model, ``encoder`` for a classifier or a tagger,
whose ``train_scheme`` is there too: JSON), the export record (``rnnkit_torch``: JSON) and the rnnkit
version that wrote the file (``rnnkit_version``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._version import __version__
from rnnkit.atomic import write_atomically
from rnnkit.checkpoint import TORCH_MARK  # a metadata key of the files written here: loaders name them by it
from rnnkit.checkpoint_task import reading_metadata
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import CheckpointError, os_problem
from rnnkit.export import ExportReport, read_for_export, written_report
from rnnkit.export_bpe import bpe_code, bpe_example, bpe_side_file
from rnnkit.export_scope import CONFIG as _CONFIG
from rnnkit.export_scope import check_supported
from rnnkit.export_torch_text import (BMES_WORDS, classifier_example, classifier_prepare, code_title, example_text,
                                      is_segmenter, segmenter_example, tagger_prepare)
from rnnkit.lm.score import start_token
from rnnkit.torch_io import _TORCH_CLASS, torch_arrays


def state_dict_arrays(kind: str, task: dict[str, Any], model: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The torch module's state dict (numpy arrays, its names) of an exported model's arrays (no prefix)."""
    arrays = torch_arrays(model)
    if kind == "lm" and task["lm_config"].get("tie_weights"):
        # torch lists a tied weight under both names; the file holds both, so load_state_dict(strict=True) works
        arrays["decoder.weight"] = arrays["embedding.weight"].copy()
    return dict(sorted(arrays.items()))


def metadata(kind: str, task: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """The file's safetensors metadata: what the weights need to be used (module docstring)."""
    meta = {"format": "pt", "model": kind, TORCH_MARK: json.dumps(record), "rnnkit_version": __version__}
    if kind == "lm":
        meta.update(config=json.dumps(task["lm_config"]), vocab=task["vocab"], level=task["level"])
    elif kind == "tagger":
        meta.update(config=json.dumps(task["tagger_config"]), encoder=json.dumps(task["encoder"]),
                    train_scheme=str(task.get("train_scheme")))
    else:
        meta.update(config=json.dumps(task["classifier_config"]), encoder=json.dumps(task["encoder"]))
    return meta


def export_torch(source: str | os.PathLike, output: str | os.PathLike, dtype: str | None = None,
                 last: bool = False) -> tuple[ExportReport, str]:
    """Write the model of ``source`` (a checkpoint or a run folder) as a torch state dict in the safetensors
    file ``output``, atomically; return the report and the torch code (:func:`torch_code`) that loads it."""
    from safetensors.numpy import save

    output = Path(output)
    path, arrays, meta, model, new_meta, largest = read_for_export(source, output, dtype, last)
    task = new_meta["task"]
    kind = task["model"]
    model = {k[len("model/"):]: v for k, v in model.items()}
    check_supported(kind, task, model, path, loaded=(arrays, meta))
    del arrays  # the optimizer's state and the rest that only training needs
    bpe = bpe_side_file(kind, task, path, output, ".safetensors")  # a BPE-level model's SentencePiece model, beside it
    with reading_metadata(path, "model"):
        record = {**new_meta["export"], "module": _CLASS[kind]}
        data = save(state_dict_arrays(kind, task, model), metadata=metadata(kind, task, record))
        code = torch_code(kind, task, os.path.abspath(output), record, str(path),
                          None if bpe is None else os.path.abspath(bpe[0]))
    written, sides = write_export(output, data, [] if bpe is None else [bpe])
    return written_report(path, output, meta, kind, record, largest, written, sides), code


def write_export(output: Path, data: bytes, sides: list[tuple[Path, bytes]]) -> tuple[Path, tuple[Path, ...]]:
    """Write ``data`` to ``output``, then each ``(file, bytes)`` of ``sides`` beside it (:func:`write_bytes`); return
    the file ``output``'s bytes went to and the files beside it."""
    written = write_bytes(output, data)
    for side, side_data in sides:
        write_bytes(side, side_data)
    return written, tuple(side for side, _ in sides)


def write_bytes(output: Path, data: bytes) -> Path:
    """Write ``data`` to ``output`` atomically (its folders made); return the file written (where a symbolic
    link ``output`` leads: :func:`rnnkit.export.written_report`).  CheckpointError (one line) when it cannot."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(output, lambda f: f.write(data), durable=True)
    except OSError as exc:
        raise CheckpointError(f"{output}: cannot write ({os_problem(exc)}); choose another path") from None


# ------------------------------------------------------------------------------------- the code
_CLASS = {"lm": "LanguageModel", "classifier": "Classifier", "tagger": "Tagger"}

_HEAD = '''"""{what}, exported by rnnkit{when} from
{source}
as a PyTorch state dict in WEIGHTS, below.  Run or import this file; it needs torch and safetensors."""
import json
import os
{imports}
import torch
from safetensors import safe_open
from safetensors.torch import load_file
{torch_imports}
WEIGHTS = {weights!r}  # where rnnkit wrote it (-o, made absolute)
if not os.path.exists(WEIGHTS) and "__file__" in globals():  # moved, with this script beside it: the file there
    WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.path.basename(WEIGHTS))


'''

_LOAD = '''

model = {cls}()
model.load_state_dict(load_file(WEIGHTS))  # {dtype} weights, into the module's float32 parameters
model.eval()  # no dropout
with safe_open(WEIGHTS, framework="pt") as f:
    meta = f.metadata()  # config, and the vocabulary as rnnkit keeps it
'''


def _rnn_line(cfg: dict[str, Any], input_size: int, bidirectional: bool) -> str:
    """The torch recurrent layer of a model configuration (cell, sizes, layers, directions)."""
    args = f"{input_size}, {cfg['hidden_size']}, num_layers={cfg['num_layers']}"
    if bidirectional:
        args += ", bidirectional=True"
    return f"torch.nn.{_TORCH_CLASS[cfg['cell']]}({args})"


def _lm_class(cfg: dict[str, Any]) -> list[str]:
    V, E, H = cfg["vocab_size"], cfg["embedding_dim"], cfg["hidden_size"]
    lines = ["class LanguageModel(torch.nn.Module):",
             '    """embedding -> recurrent layer -> output layer, time-major as in rnnkit: ids (T, B)."""', "",
             "    def __init__(self):", "        super().__init__()",
             f"        self.embedding = torch.nn.Embedding({V}, {E})",
             f"        self.rnn = {_rnn_line(cfg, E, False)}"]
    if cfg["softmax"] == "adaptive":
        lines.append(f"        self.decoder = torch.nn.AdaptiveLogSoftmaxWithLoss({H}, {V}, "
                     f"cutoffs={list(cfg['cutoffs'])}, div_value={cfg['div_value']}, head_bias=True)")
        out = ["        T, B = ids.shape",
               f"        return self.decoder.log_prob(out.reshape(T * B, {H})).reshape(T, B, {V}), state"]
    else:
        lines.append(f"        self.decoder = torch.nn.Linear({H}, {V})")
        if cfg["tie_weights"]:
            lines.append("        self.decoder.weight = self.embedding.weight  # tied")
        out = ["        return torch.log_softmax(self.decoder(out), dim=-1), state  # (T, B, V)"]
    return lines + [
        "", "    def forward(self, ids, state=None):",
        '        """log P(next token) (T, B, V) after each of ids (T, B) (int64), and the state after them."""',
        "        out, state = self.rnn(self.embedding(ids), state)  # (T, B, H)", *out]


def _lm_use(task: dict[str, Any]) -> list[str]:
    vocab = json.loads(task["vocab"])
    if task["level"] == "bpe":
        return _bpe_lm_use(vocab)
    word = task["level"] == "word"
    text = example_text(vocab["tokens"], {vocab["unk_token"], vocab.get("eos_token")}, word)
    quoted = json.dumps(text, ensure_ascii=False)  # a Python string literal in double quotes, Chinese as it is
    start = start_token(Vocabulary.from_json(task["vocab"]), task["level"])  # "\\n", or the last token without one
    end = json.dumps(vocab.get("eos_token") if word else "\n")
    example = f"{quoted}.split()" if word else f"list({quoted})"
    return ['tokens = json.loads(meta["vocab"])["tokens"]  # token i has id i',
            "ids = {t: i for i, t in enumerate(tokens)}",
            "# a line as 'rnnkit score' reads it: from the start token, its " +
            ("words (split at whitespace)" if word else "characters") + ", then the end of the line",
            f"text = [{json.dumps(start, ensure_ascii=False)}] + {example} + [{end}]",
            f"x = [ids.get(t, ids[{vocab['unk_token']!r}]) for t in text]  # an unknown token is <unk>",
            "logp, _ = model(torch.tensor(x)[:, None])  # (T, 1, V)",
            "# log P(text[1:]): the number 'rnnkit score' prints first for the line",
            'print(sum(logp[t, 0, x[t + 1]].item() for t in range(len(x) - 1)), "nats")']


def _bpe_lm_use(vocab: dict[str, Any]) -> list[str]:
    """A BPE-level model's example: a line's pieces scored as 'rnnkit score' scores them, then a greedy line
    of pieces written as text as 'rnnkit generate' writes them (:mod:`rnnkit.export_bpe`)."""
    quoted = json.dumps(bpe_example(vocab["tokens"]), ensure_ascii=False)
    return ['tokens = json.loads(meta["vocab"])["tokens"]  # token i has id i',
            "ids = {t: i for i, t in enumerate(tokens)}",
            "# a line as 'rnnkit score' reads it: from the start token, its BPE pieces, then the end of the line",
            f"text = [{json.dumps(vocab['eos_token'])}] + line_pieces({quoted})  # its pieces, then <eos>",
            f"x = [ids.get(t, ids[{vocab['unk_token']!r}]) for t in text]  # an unknown piece is <unk>",
            "with torch.no_grad():",
            "    logp, state = model(torch.tensor(x)[:, None])  # (T, 1, V)",
            "# log P(text[1:]): the number 'rnnkit score' prints first for the line",
            'print(sum(logp[t, 0, x[t + 1]].item() for t in range(len(x) - 1)), "nats")',
            "# then a new line, greedily, a piece at a time from the state after the last, written as text",
            "out = []",
            "with torch.no_grad():",
            "    for _ in range(8):",
            "        out.append(int(logp[-1, 0].argmax()))",
            "        logp, state = model(torch.tensor([[out[-1]]]), state)",
            "print(decode_pieces([tokens[i] for i in out]))"]


_ATTENTION_POOL = [
    "class AttentionPool(torch.nn.Module):",
    '    """Attention pooling (Yang et al. 2016): u_t = tanh(W h_t + b), a_t = softmax_t(v . u_t) over the real',
    '    steps, s = sum_t a_t h_t."""',
    "", "    def __init__(self, size, attention_size):", "        super().__init__()",
    "        self.weight = torch.nn.Parameter(torch.empty(attention_size, size))  # W",
    "        self.bias = torch.nn.Parameter(torch.empty(attention_size))  # b",
    "        self.context = torch.nn.Parameter(torch.empty(attention_size))  # v", "",
    "    def forward(self, out, mask):",
    '        """The pooled vectors s (B, D) of states out (T, B, D) over the steps where mask (T, B) is True, and the',
    '        weights a (T, B)."""',
    "        scores = torch.tanh(out @ self.weight.T + self.bias) @ self.context  # (T, B)",
    '        a = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=0)  # 0 at padded steps',
    "        return (a[:, :, None] * out).sum(0), a", "", ""]


def _classifier_class(cfg: dict[str, Any]) -> list[str]:
    V, E, H, K = cfg["vocab_size"], cfg["embedding_dim"], cfg["hidden_size"], cfg["num_classes"]
    dirs = 2 if cfg["bidirectional"] else 1
    pooling = cfg["pooling"]
    pool = {
        "last": ["        h = state[0] if isinstance(state, tuple) else state  # (L*dirs, B, H)",
                 f"        u = torch.cat(list(h[-{dirs}:]), dim=1)  # each direction's final state"],
        "mean": ["        out, _ = pad_packed_sequence(out, total_length=ids.shape[0])  # (T, B, dirs*H), 0 at padding",
                 "        u = out.sum(0) / lengths.to(out.dtype)[:, None]"],
        "max": ["        out, _ = pad_packed_sequence(out, padding_value=float(\"-inf\"), total_length=ids.shape[0])",
                "        u = out.max(0).values  # over the real tokens"],
        "attention": ["        out, _ = pad_packed_sequence(out, total_length=ids.shape[0])  # (T, B, dirs*H)",
                      "        mask = torch.arange(ids.shape[0])[:, None] < lengths[None, :]  # (T, B) real tokens",
                      "        u, _ = self.attention(out, mask)  # (the weights (T, B) are its second output)"],
    }[pooling]
    attention = []
    if pooling == "attention":
        attention = [f"        self.attention = AttentionPool({dirs * H}, {cfg['attention_size']})"]
    return (_ATTENTION_POOL if pooling == "attention" else []) + ["class Classifier(torch.nn.Module):",
            f'    """embedding -> recurrent layer -> {pooling} pooling -> linear, time-major as in rnnkit."""', "",
            "    def __init__(self):", "        super().__init__()",
            f"        self.embedding = torch.nn.Embedding({V}, {E})",
            f"        self.rnn = {_rnn_line(cfg, E, cfg['bidirectional'])}",
            f"        self.output = torch.nn.Linear({dirs * H}, {K})", *attention, "",
            "    def forward(self, ids, lengths):",
            '        """log P(class) (B, K) of the texts ids (T, B) (int64, padded at the end), lengths (B,)."""',
            "        packed = pack_padded_sequence(self.embedding(ids), lengths.cpu(), enforce_sorted=False)",
            "        out, state = self.rnn(packed)", *pool,
            "        return torch.log_softmax(self.output(u), dim=-1)"]


def _classifier_use(task: dict[str, Any]) -> list[str]:
    return ['encoder = json.loads(meta["encoder"])  # the vocabulary, the labels and how texts are cut into tokens',
            'vocab, labels = json.loads(encoder["vocab"]), encoder["labels"]  # class k is labels[k]',
            'ids = {t: i for i, t in enumerate(vocab["tokens"])}',
            f"text = tokens({json.dumps(classifier_example(task['encoder']), ensure_ascii=False)})",
            'x = torch.tensor([[ids.get(t, ids[vocab["unk_token"]])] for t in text])  # (T, 1); unknown: <unk>',
            "print(labels[model(x, torch.tensor([len(text)])).argmax(-1).item()])"]


def _tagger_class(cfg: dict[str, Any]) -> list[str]:
    V, E, H, K = cfg["vocab_size"], cfg["embedding_dim"], cfg["hidden_size"], cfg["num_tags"]
    dirs = 2 if cfg["bidirectional"] else 1
    return ["class Tagger(torch.nn.Module):",
            '    """embedding -> recurrent layer -> linear -> log-softmax at every word, time-major as in '
            'rnnkit."""', "",
            "    def __init__(self):", "        super().__init__()",
            f"        self.embedding = torch.nn.Embedding({V}, {E})",
            f"        self.rnn = {_rnn_line(cfg, E, cfg['bidirectional'])}",
            f"        self.output = torch.nn.Linear({dirs * H}, {K})", "",
            "    def forward(self, ids, lengths):",
            '        """log P(tag) (T, B, K) of every word of the sentences ids (T, B) (int64, padded), '
            'lengths (B,)."""',
            "        packed = pack_padded_sequence(self.embedding(ids), lengths.cpu(), enforce_sorted=False)",
            "        out, _ = pad_packed_sequence(self.rnn(packed)[0], total_length=ids.shape[0])  # (T, B, dirs*H)",
            "        return torch.log_softmax(self.output(out), dim=-1)"]


def _tagger_use(task: dict[str, Any]) -> list[str]:
    enc = task["encoder"]
    vocab = json.loads(enc["words"])
    if is_segmenter(task):
        text = json.dumps(segmenter_example(vocab), ensure_ascii=False)
        return ['encoder = json.loads(meta["encoder"])  # the character vocabulary, the tags B, M, E, S',
                'vocab, tags = json.loads(encoder["words"]), encoder["tags"]  # tag k is tags[k]',
                'ids = {t: i for i, t in enumerate(vocab["tokens"])}',
                f"chars = [c for c in {text} if not c.isspace()]  # a segmenter reads characters",
                'x = torch.tensor([[word_id(c, ids, ids[vocab["unk_token"]])] for c in chars])  # (T, 1)',
                "best = [tags[k] for k in model(x, torch.tensor([len(chars)]))[:, 0].argmax(-1).tolist()]",
                'print(" ".join(bmes_words(chars, best)))  # the text cut into words']
    words = example_text(vocab["tokens"], {vocab["unk_token"]}, True)
    return ['encoder = json.loads(meta["encoder"])  # the word vocabulary, the tags, lowercasing, width folding',
            'vocab, tags = json.loads(encoder["words"]), encoder["tags"]  # tag k is tags[k]',
            'ids = {t: i for i, t in enumerate(vocab["tokens"])}',
            f"words = {json.dumps(words, ensure_ascii=False)}.split()",
            'x = torch.tensor([[word_id(w, ids, ids[vocab["unk_token"]])] for w in words])  # (T, 1)',
            f"# each word's likeliest tag, in the scheme the model was trained in ({task.get('train_scheme')}); "
            "rnnkit tag keeps",
            "# a span scheme's legal sequences (Viterbi over these log-probabilities) and prints the data's scheme",
            "print([tags[k] for k in model(x, torch.tensor([len(words)]))[:, 0].argmax(-1).tolist()])"]


def torch_code(kind: str, task: dict[str, Any], weights: str, record: dict[str, Any], source: str,
               bpe: str | None = None) -> str:
    """The Python source that builds the torch module of a model, loads ``weights`` into it and uses it once;
    ``source``: the checkpoint it was exported from, ``record`` the export's record (step, epoch, dtype);
    ``bpe``: a BPE-level language model's SentencePiece model file (:mod:`rnnkit.export_bpe`)."""
    cfg = task[_CONFIG[kind]]
    what, when, imports = code_title(kind, task, cfg, record)
    if kind == "lm":
        text = [] if bpe is None else ["", ""] + bpe_code(bpe, json.loads(task["vocab"]))
        body, use, torch_imports = _lm_class(cfg) + text, _lm_use(task), ""
    else:
        enc = task["encoder"]
        if kind == "tagger":
            segment = BMES_WORDS if is_segmenter(task) else []
            body, use = _tagger_class(cfg) + ["", ""] + segment + tagger_prepare(enc), _tagger_use(task)
        else:
            body, use = _classifier_class(cfg) + ["", ""] + classifier_prepare(enc), _classifier_use(task)
        torch_imports = "from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence\n"
    head = _HEAD.format(what=what, source=source, when=when, weights=weights, imports=imports,
                        torch_imports=torch_imports)
    load = _LOAD.format(cls=_CLASS[kind], dtype=record.get("dtype") or "float32")
    return head + "\n".join(body) + "\n" + load + "\n".join(use) + "\n"
