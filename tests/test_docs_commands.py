"""Every ``rnnkit ...`` command the documentation shows parses with rnnkit's own argument parser.

The commands are taken from the fenced code blocks of README.md and docs/**/*.md and parsed, never run,
with :func:`rnnkit.cli.main.parse_command_line` (what ``rnnkit`` itself parses with), so a renamed or
removed subcommand or option, or a choice that no longer exists, fails here with the file, the line and
argparse's message.  A block with ``$ `` prompts has commands on its prompt lines only (the rest is
output); other shell blocks have one on every line that starts with ``rnnkit``.  A command may be
continued with ``\\``, chained with ``&&``, ``||``, ``;`` or a pipe, redirected, commented, started as
``python -m rnnkit`` (``PYTHONPATH=src`` before it) or by a launcher (``mpiexec -n 2 rnnkit ...``).  A
``...`` stands for arguments left out: what comes before it is checked, a missing required argument aside;
so does an argument file (``@common.args``), which is not read: the arguments around it are checked.
"""
from __future__ import annotations

import io
import os
import re
import shlex
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from docs_text import REFERENCE_PAGES, README

from rnnkit.cli.main import build_parser, parse_command_line

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console", "shell-session", "zsh", "text"}
LAUNCHERS = {"mpiexec", "mpirun", "srun", "time", "nohup", "env", "timeout", "nice", "exec", "sudo"}
ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")
ELIDED = "..."
REQUIRED_ONLY = re.compile(r"error: the following arguments are required: [^()]*$")  # nothing misspelt named


@dataclass
class Command:
    path: str  # as shown in a failure: README.md, docs/zh/README.md
    line: int  # 1-based, the command's first line
    text: str  # as written, continuation lines joined
    argv: list[str]  # the arguments after "rnnkit", up to a "..."
    elided: bool  # a "..." or an @FILE stood for more


def shell_lines(markdown: str) -> list[tuple[int, str]]:
    """(line number, text) of the command lines in ``markdown``'s shell code blocks: every line of a block,
    or only its ``$ `` prompt lines when it has any, ``\\`` continuations joined; the block's indentation removed."""
    lines = markdown.splitlines()
    found: list[tuple[int, str]] = []
    k = 0
    while k < len(lines):
        opening = FENCE.match(lines[k])
        if not opening:
            k += 1
            continue
        indent, fence, language = opening.groups()
        end = next((j for j in range(k + 1, len(lines))
                    if lines[j].strip().startswith(fence[0] * len(fence)) and not lines[j].strip().strip(fence[0])),
                   None)
        if end is None:
            raise ValueError(f"line {k + 1}: the code block opened here is never closed")
        if language.lower() in SHELL_BLOCKS:
            body = [(j + 1, lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
                    for j in range(k + 1, end)]
            found.extend(_logical_lines(body))
        k = end + 1
    return found


def _logical_lines(body: list[tuple[int, str]]) -> list[tuple[int, str]]:
    prompted = any(text.startswith("$ ") for _, text in body)
    out: list[tuple[int, str]] = []
    k = 0
    while k < len(body):
        number, text = body[k]
        k += 1
        if prompted and not text.startswith("$ "):
            continue  # a command's output
        text = text[2:] if prompted else text
        while text.rstrip().endswith("\\") and k < len(body):  # continued on the next line
            text = text.rstrip()[:-1] + " " + body[k][1].strip()
            k += 1
        out.append((number, text))
    return out


def simple_commands(line: str) -> list[list[str]]:
    """The words of each simple command of a shell ``line``: split at ``&&``, ``||``, ``;``, ``|`` and ``&``,
    without redirections (``> out.txt``, ``2>&1``) and comments."""
    line = re.sub(r"(?<![^\s;&|])\d+(?=[<>])", "", line)  # the 2 of 2>&1 or 2> err.txt
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True  # a word ends at a space or an operator, as in a shell
    commands: list[list[str]] = [[]]
    tokens = iter(lexer)
    for token in tokens:
        if token and set(token) <= set(lexer.punctuation_chars):
            if "<" in token or ">" in token:
                next(tokens, None)  # the redirection's file (or &1)
            else:
                commands.append([])
            continue
        commands[-1].append(token)
    return [c for c in commands if c]


def rnnkit_argv(words: list[str]) -> list[str] | None:
    """The arguments given to rnnkit by the simple command ``words``, or None if it does not run rnnkit."""
    k = 0
    while k < len(words) and ASSIGNMENT.match(words[k]):  # PYTHONPATH=src python -m rnnkit
        k += 1
    if k < len(words) and os.path.basename(words[k]) in LAUNCHERS:  # mpiexec -n 2 rnnkit ...
        k = next((j for j in range(k + 1, len(words)) if _program(words[j])), len(words))
    if k >= len(words):
        return None
    program = _program(words[k])
    if program == "rnnkit":
        return words[k + 1:]
    if program == "python" and "-m" in words[k + 1:]:
        m = words.index("-m", k + 1)
        if words[m + 1:m + 2] == ["rnnkit"]:
            return words[m + 2:]
    return None


def _program(word: str) -> str | None:
    name = os.path.basename(word)
    if name == "rnnkit":
        return "rnnkit"
    return "python" if re.fullmatch(r"python[\d.]*", name) else None


def find_commands(path: Path) -> list[Command]:
    shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    commands = []
    for number, text in shell_lines(path.read_text(encoding="utf-8")):
        try:
            words_list = simple_commands(text)
        except ValueError as exc:  # an unclosed quote
            raise ValueError(f"{shown}:{number}: cannot split {text!r} as a shell would: {exc}") from None
        for words in words_list:
            argv = rnnkit_argv(words)
            if argv is None:
                continue
            elided = ELIDED in argv
            if elided:
                argv = argv[:argv.index(ELIDED)]
            end = argv.index("--") if "--" in argv else len(argv)  # rnnkit reads no @FILE after --
            files = [k for k in range(end) if argv[k].startswith("@") and len(argv[k]) > 1]
            if files:  # @common.args: arguments kept in a file, which is not read here
                argv = [word for k, word in enumerate(argv) if k not in files]
            commands.append(Command(shown, number, text.strip(), argv, elided or bool(files)))
    return commands


def parse_error(parser, command: Command) -> str | None:
    """argparse's message for ``command``, or None when it parses; nothing is run, and SystemExit is caught."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            parse_command_line(parser, command.argv)
    except SystemExit as exc:
        if exc.code in (0, None):  # --help, --version
            return None
        message = err.getvalue().strip() or f"exit status {exc.code}"
        if command.elided and REQUIRED_ONLY.search(message):
            return None  # what is required is among the arguments the "..." left out
        return message
    return None


def problems(parser, commands: list[Command]) -> list[str]:
    said = []
    for command in commands:
        message = parse_error(parser, command)
        if message is not None:
            said.append(f"{command.path}:{command.line}: {command.text}\n    {message}")
    return said


@pytest.fixture(scope="module")
def parser():
    return build_parser()


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_documented_command_parses(parser, path):
    commands = find_commands(path)
    found = problems(parser, commands)
    assert not found, f"{len(found)} of {len(commands)} commands do not parse:\n" + "\n".join(found)


def test_the_readme_commands_are_found():
    """The check above is only as good as the search: README's command list holds some ninety commands, and with
    the reference pages (docs/*.md) the English documentation shows over 150."""
    commands = find_commands(README)
    assert len(commands) >= 80, len(commands)
    subcommands = {c.argv[0] for c in commands if c.argv}
    assert {"train", "generate", "evaluate", "tag", "segment", "gradcheck", "gradflow"} <= subcommands
    assert sum(len(find_commands(page)) for page in REFERENCE_PAGES) >= 150


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(text, encoding="utf-8")
    return path


SHAPES = """\
Some prose with `rnnkit not-a-command --inline` that is not checked.

```bash
rnnkit train lm --train t.txt \\
    --level char --run-dir runs/x   # a comment --with-no-option
pip install . && rnnkit gradflow --cell rnn | head -3 > flow.txt 2>&1
PYTHONPATH=src python -m rnnkit gradcheck --cell gru; python -m pytest -q
mpiexec -n 2 rnnkit train tagger --train t.conllu --crf
cd rnnkit && ls
rnnkit --threads 1 ...
rnnkit train lm @common.args --lr 0.002 -- @x
```

```
$ rnnkit generate m.safetensors --prime 床前 --length 48
rnnkit: error: m.safetensors: no such file
$ cat x | rnnkit segment seg.safetensors
```

```python
rnnkit = "not a shell line"
```
"""


def test_the_shapes_a_command_takes_are_found(tmp_path):
    found = [(c.line, c.argv, c.elided) for c in find_commands(_write(tmp_path, SHAPES))]
    assert found == [
        (4, ["train", "lm", "--train", "t.txt", "--level", "char", "--run-dir", "runs/x"], False),
        (6, ["gradflow", "--cell", "rnn"], False),
        (7, ["gradcheck", "--cell", "gru"], False),
        (8, ["train", "tagger", "--train", "t.conllu", "--crf"], False),
        (10, ["--threads", "1"], True),
        (11, ["train", "lm", "--lr", "0.002", "--", "@x"], True),
        (15, ["generate", "m.safetensors", "--prime", "床前", "--length", "48"], False),
        (17, ["segment", "seg.safetensors"], False),
    ]


@pytest.mark.parametrize("bad, said", [
    ("rnnkit train lm --train t.txt --hiden 8", "unrecognized arguments: --hiden"),  # a misspelt option
    ("rnnkit trian lm", "invalid choice: 'trian'"),  # a misspelt command
    ("rnnkit gradcheck --cell lsmt", "invalid choice: 'lsmt'"),  # a choice that does not exist
    ("rnnkit train lm --train t.txt --epochs many", "argument --epochs"),  # a value of the wrong type
    ("rnnkit generate", "the following arguments are required"),  # a required argument left out
    ("rnnkit --threads 1 train lm --hiden 8 ...", "did you mean --hidden?"),  # before a "..." too
    ("rnnkit train lm @common.args --hiden 8", "did you mean --hidden?"),  # beside an argument file
])
def test_a_stale_command_fails_with_its_file_and_line(parser, tmp_path, bad, said):
    path = _write(tmp_path, f"# title\n\n```bash\nrnnkit demo --steps 3\n{bad}   # ok?\n```\n")
    found = problems(parser, find_commands(path))
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:5: {bad}") and said in found[0], found[0]


def test_parsing_runs_nothing_and_help_passes(parser, tmp_path, capsys):
    path = _write(tmp_path, "```bash\nrnnkit --help\nrnnkit train --help\nrnnkit --version\n"
                            f"rnnkit train lm --train t.txt --run-dir {tmp_path / 'run'} --epochs 1\n```\n")
    assert problems(parser, find_commands(path)) == []
    assert not (tmp_path / "run").exists()  # parsed, not trained
    assert capsys.readouterr() == ("", "")  # help text and version taken, not printed
