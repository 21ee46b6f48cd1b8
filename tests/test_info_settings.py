"""``rnnkit info``'s ``settings`` of a training checkpoint tell the options the run chose from those it left at the
defaults of the command that trained it (read here from that command's parser, as ``rnnkit train lm`` parses
a command line without them), and ``--json``'s ``options`` say which, beside the keys it had."""
from __future__ import annotations

import json
import re

import numpy as np
from clirun import run_cli

from rnnkit.cli.main import build_parser, main

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]


def _defaults(command, *required):
    """{option: default} of ``rnnkit train COMMAND``: what its parser gives for a command line without them."""
    args = vars(build_parser().parse_args(["train", command, *required]))
    return {"--" + name.replace("_", "-"): value for name, value in args.items()}


def test_settings_tell_chosen_options_from_defaults(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "lm.txt").write_text("".join(" ".join(rng.choice(WORDS, 6)) + "\n" for _ in range(30)),
                                     encoding="utf-8")
    defaults = _defaults("lm", "--train", "x")
    bptt = defaults["--bptt"] // 7  # not the default, nor --batch-size's
    argv = ["train", "lm", "--train", str(tmp_path / "lm.txt"), "--level", "word", "--embed", "4", "--hidden", "4",
            "--bptt", str(bptt), "--batch-size", "3", "--min-count", str(defaults["--min-count"]),  # the default, given
            "--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 0
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "run" / "last.safetensors"), "--json"])
    assert code == 0, err
    options = json.loads(out)["options"]
    stored = options["run_options"]
    assert stored["--bptt"] == bptt and stored["--min-count"] == defaults["--min-count"]  # the values, as they were
    assert {"train_config", "run_options"} <= set(options) and options["command"] == "rnnkit train lm"
    assert options["chosen"] == [k for k, v in stored.items() if k.startswith("--") and defaults[k] != v]
    assert {"--bptt", "--batch-size"} <= set(options["chosen"]) and "--min-count" not in options["chosen"]
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "run" / "last.safetensors")])
    settings = re.search(r"^settings +(.*)$", out, re.M).group(1)
    chosen, left = re.fullmatch(r"chosen: (.*); defaults of rnnkit train lm: (.*)", settings).groups()
    assert f"--bptt {bptt}" in chosen and "--batch-size 3" in chosen and "--min-count" not in chosen
    assert f"--min-count {defaults['--min-count']}" in left and "--bptt" not in left
