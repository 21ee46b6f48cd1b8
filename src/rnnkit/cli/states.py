"""``rnnkit states MODEL [FILE | --text TEXT]``: a trained language model's hidden state, cell state and
gates at every token of a text, as a table, JSON lines or a heatmap (:mod:`rnnkit.lm.states`)."""
from __future__ import annotations

import argparse
import sys

from rnnkit.cli.common import HelpFormatter
from rnnkit.jsonline import json_line


def register(groups) -> None:
    p = groups.commands.add_parser(
        "states", help="a trained language model's hidden states and gates at every token of a text (table, plot)",
        description="Run a recurrent language model (from 'rnnkit train lm' or a demo; LSTM, GRU or Elman, "
                    "character or word level) over a text, tokenised as the model's level says and read from "
                    "the start of a sentence as 'rnnkit score' reads a line (the start token first, its row not "
                    "shown), the state carried throughout, and print, per token, the activations of one layer: "
                    "its hidden state h and, for an LSTM, the cell state c and the gates i, f, g, o, for a GRU "
                    "the gates r, z, n (PyTorch's names and order).  Tab-separated with a header row: the token "
                    "(\\n, \\t, \\r and \\\\ escaped, a token that shows as nothing written \\u3000 "
                    "or \\u200d, as 'generate --next' writes it; one the model does not know marked ' (<unk>)': "
                    "it read the <unk> vector there), then one column per quantity and unit (h0, h1, ..., c0, ...).  A "
                    "layer-normalized LSTM's c is the cell before its LN (h = o * tanh(LN(c))), as its standard "
                    "error says.  --output draws them as heatmaps of units (y) by tokens (x), char-rnn style, an <unk> "
                    "token's label marked as in the table.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", help="recurrent language-model checkpoint (e.g. runs/char/best.safetensors), or its run folder")
    p.add_argument("input", nargs="?", help="text file to read (default: standard input, or --text)")
    p.add_argument("--text", default=None, help="the text itself, instead of a file")
    p.add_argument("--encoding", default="utf-8", help="text encoding of the input file (e.g. gb18030)")
    p.add_argument("--layer", type=layer_number, default=None,
                   help="which recurrent layer, 0 for the first (weight_*_l0), -1 for the last (default: the last)")
    p.add_argument("--units", default=None, metavar="LIST",
                   help="units to show, e.g. 0,5,17 or 0-15 or both (0-3,8); default: all H units")
    p.add_argument("--show", default=None, metavar="LIST",
                   help="quantities to show, e.g. h or h,c,f: h (all cells), c, i, f, g, o (LSTM), r, z, n (GRU) "
                        "(default: all the cell has)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per token instead: position (from 1), token (with \"unk\": true "
                        "when the model read it as <unk>), and per quantity the list of the shown units' values (in "
                        "--units order)")
    p.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="also draw the heatmaps into FILE (.png, .pdf or .svg; needs matplotlib: pip install "
                        "'rnnkit[plot]'); legible for up to a few hundred tokens; without --units, the first "
                        f"{PLOT_UNITS} units are drawn")
    p.set_defaults(func=run)


def layer_number(text: str) -> int:
    """--layer value: an integer, negative ones counting from the last layer (checked against the model later)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Expected a layer number such as 0 or -1, got {text!r}") from None


PLOT_UNITS = 32  # units drawn without --units: a panel of 32 rows reads; the table keeps every unit


def parse_units(text: str, hidden: int) -> list[int]:
    """``--units`` as unit indices in the order given: numbers and ranges a-b (inclusive), comma-separated."""
    units: list[int] = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            numbers = [int(b) for b in bounds]
        except ValueError:
            numbers = []
        if len(numbers) not in (1, 2) or numbers[0] > numbers[-1]:
            raise ValueError(f"--units {text}: expected unit numbers and ranges such as 0,5,17 or 0-15, got "
                             f"{part.strip()!r}")
        if numbers[-1] >= hidden:
            raise ValueError(f"--units {text}: unit {numbers[-1]} is beyond the layer's {hidden} units "
                             f"(0..{hidden - 1}); choose smaller ones")
        units.extend(range(numbers[0], numbers[-1] + 1))
    return units


def parse_show(text: str, cell: str) -> list[str]:
    """``--show`` as quantity names, each one the cell has."""
    from rnnkit.lm.states import QUANTITIES

    have = QUANTITIES[cell]
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in have:
            raise ValueError(f"--show {text}: {name!r} is not a quantity of {cell.upper()} layers; choose among "
                             f"{', '.join(have)}")
    return names


def _check_model(path: str) -> None:
    """Refuse an n-gram model (or ARPA file) with one line: it has no hidden state to show."""
    from rnnkit.cli.evaluate import model_kind
    from rnnkit.lm.io import NGRAM_KIND

    if model_kind(path) == NGRAM_KIND:
        raise ValueError(f"{path}: an n-gram language model has no hidden state to show; give a recurrent one "
                         "(from 'rnnkit train lm')")


def run(args: argparse.Namespace) -> int:
    from rnnkit.cli.score import token_field
    from rnnkit.data.text import plain_text, tokenize
    from rnnkit.lm.io import load_lm
    from rnnkit.lm.score import start_token
    from rnnkit.lm.states import hidden_states, layer_index
    from rnnkit.lm.states_plot import UNK_MARK

    if args.output is not None:
        from rnnkit.plotting import check_plot_file

        check_plot_file(args.output, "--output")  # before the model is run
    if args.text is not None and args.input is not None:
        raise ValueError(f"give the text as FILE ({args.input}) or as --text, not both")
    _check_model(args.model)
    model, vocab, level, task = load_lm(args.model)
    cfg = model.config
    L = cfg.num_layers
    if args.layer is not None and not -L <= args.layer < L:
        raise ValueError(f"--layer {args.layer}: {args.model} has {L} recurrent layer{'s' * (L != 1)} "
                         f"(0..{L - 1}, or -1 for the last); choose one of them")
    layer = layer_index(model, args.layer)
    units = list(range(cfg.hidden_size)) if args.units is None else parse_units(args.units, cfg.hidden_size)
    show = None if args.show is None else parse_show(args.show, cfg.cell)
    if args.text is not None:
        text, name = args.text, "--text"
    else:
        from rnnkit.data.files import read_input

        text, name = read_input(args.input, args.encoding)
        text = plain_text(text)
    if level == "bpe":  # the pieces of the model's own BPE model, <eos> after each line
        from rnnkit.lm.bpe_text import text_pieces
        from rnnkit.lm.io import bpe_model_of

        tokens = text_pieces(bpe_model_of(task), text)
    else:
        tokens = tokenize(text, level)
    if not tokens:
        raise ValueError(f"{name}: no {level} token to read (it is empty{' or blank' * (level != 'char')}); "
                         "give some text")
    if level == "word":
        from rnnkit.cli.text_warnings import SEGMENT_FIRST, warn_unsegmented

        warn_unsegmented(text.split("\n")[:20_000], name, f"{args.model} reads words, so {SEGMENT_FIRST}")
    start = vocab.token_id(start_token(vocab, level))
    values = hidden_states(model, vocab.encode(tokens), layer, start_id=start)  # name -> (T, H)
    values = {k: values[k][:, units] for k in (show or values)}  # (T, U) each, in the order asked
    if cfg.cell == "lstm" and cfg.layer_norm and "c" in values:
        print("c is the cell state before its layer normalization: h = o * tanh(LN(c))", file=sys.stderr)
    unknown = [token not in vocab for token in tokens]  # read as <unk>: its vector, not the token's
    out = sys.stdout
    if args.json:
        for position, token in enumerate(tokens):
            row = {"position": position + 1, "token": token, **({"unk": True} if unknown[position] else {})}
            row.update({k: [round(float(x), 6) for x in v[position]] for k, v in values.items()})
            out.write(json_line(row) + "\n")
    else:
        out.write("\t".join(["token"] + [f"{k}{u}" for k in values for u in units]) + "\n")
        for position, token in enumerate(tokens):
            cells = [f"{x:.4f}" for v in values.values() for x in v[position].tolist()]
            shown = token_field(token) + (UNK_MARK if unknown[position] else "")
            out.write("\t".join([shown, *cells]) + "\n")
    out.flush()
    if args.output is not None:
        from rnnkit.lm.states_plot import plot_states

        # counted from 1 in words, as --layer (0-based, as weight_*_l0) gives it in brackets
        title = (f"{args.model}: {cfg.cell.upper()} layer {layer + 1} of {cfg.num_layers} (--layer {layer}), "
                 f"{len(tokens)} {level} tokens")
        drawn = units
        if args.units is None and len(units) > PLOT_UNITS:  # 6 panels of 256 rows each: thousands of pixels tall
            drawn = units[:PLOT_UNITS]
            print(f"plotting units 0-{PLOT_UNITS - 1} of {len(units)} (the table has them all); choose others "
                  "with --units", file=sys.stderr)
        plotted = {k: v[:, : len(drawn)] for k, v in values.items()}  # (T, U') each: drawn is a prefix of units
        path = plot_states(plotted, tokens, drawn, args.output, title=title,  # an LM's Elman cells are tanh
                           unknown=unknown)
        print(f"plot written: {path}", file=sys.stderr)  # stdout holds the table
    return 0
