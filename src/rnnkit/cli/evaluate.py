"""``rnnkit evaluate MODEL FILE``: score any trained model on a file, by the model's kind.

Each kind of model registers an evaluator in ``EVALUATORS`` (keyed by the checkpoint's
``task["model"]``): a function ``(model_path, data_path, args) -> int`` that prints its metrics.
"""
from __future__ import annotations

import json
import sys
from typing import Callable

from rnnkit import checkpoint as ckpt
from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.errors import CheckpointError

EVALUATORS: dict[str, Callable] = {}


def register(groups) -> None:
    p = groups.commands.add_parser(
        "evaluate", help="evaluate a trained model on a file",
        description="Evaluate a checkpoint on a data file: perplexity / bits per character for language models "
                    "(recurrent, or n-gram from 'rnnkit train ngram --save'), and the task's own metrics for other "
                    "models.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", help="checkpoint file (e.g. runs/lm/best.safetensors)")
    p.add_argument("data", help="file to evaluate on, in the format the model was trained on")
    p.add_argument("--batch-size", type=positive_int, default=1,
                   help="language models: parallel streams (1 scores every token exactly; more is faster)")
    p.add_argument("--bptt", type=positive_int, default=100, help="language models: window length while carrying the state")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=evaluate)


def evaluate(args) -> int:
    from rnnkit.lm.io import NGRAM_KIND, is_ngram

    kind = NGRAM_KIND if is_ngram(args.model) else (ckpt.load_meta(args.model).get("task") or {}).get("model")
    if kind not in EVALUATORS:
        raise CheckpointError(f"{args.model}: no evaluator for models of kind {kind!r}")
    return EVALUATORS[kind](args.model, args.data, args)


def _evaluate_lm(model_path: str, data_path: str, args) -> int:
    """Perplexity (bits per character) of a recurrent or n-gram language model: every token predicted."""
    from rnnkit.data.text import read_tokens
    from rnnkit.data.vocab import oov_rate
    from rnnkit.lm.evaluate import evaluate_stream, metrics_from_nll
    from rnnkit.lm.io import load_language_model
    from rnnkit.lm.ngram import NGramLM

    model, vocab, level = load_language_model(model_path)
    tokens = read_tokens(data_path, level)
    st = oov_rate(tokens, vocab)
    if isinstance(model, NGramLM):  # the same count: every token, <eos> included
        logp = model.token_logprobs(vocab.encode(tokens))
        m = metrics_from_nll(-float(logp.sum()), logp.size)
    else:
        m = evaluate_stream(model, vocab.encode(tokens), args.batch_size, args.bptt, vocab.eos_id)
    m["oov_rate"] = st.fraction
    if args.json:
        print(json.dumps(m))
    elif level == "char":
        print(f"{data_path}: {m['bits']:.4f} bits/char, loss {m['loss']:.4f} nats/char over {m['tokens']:,} "
              f"characters, OOV {100 * st.fraction:.2f}%")
    else:
        print(f"{data_path}: perplexity {m['ppl']:.2f}, loss {m['loss']:.4f} nats/token over {m['tokens']:,} "
              f"tokens, OOV {100 * st.fraction:.2f}%")
    sys.stdout.flush()
    return 0


EVALUATORS["lm"] = _evaluate_lm
EVALUATORS["ngram"] = _evaluate_lm
