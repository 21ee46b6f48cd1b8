"""What the seq2seq command-line tests share: a file of lines written for a command to read, and the check
that a refused command printed one 'rnnkit: error:' line (with the given fragments) and exited 2."""
from __future__ import annotations


def write(path, lines) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def one_error_line(capsys, code: int, *fragments: str) -> str:
    out = capsys.readouterr()
    err = out.err.strip()
    assert code == 2, f"exit code {code}, stderr {err!r}"
    assert err.startswith("rnnkit: error:") and "\n" not in err, f"expected one error line, got {err!r}"
    for f in fragments:
        assert f in err, f"{f!r} not in {err!r}"
    return err
