"""An output on a read-only file system (a container's read-only volume, a mounted image) is said as
such: "no permission to write there" sent the user to chmod, which cannot help."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from clirun import run_cli

from rnnkit.data.files import check_output_path


def _read_only(monkeypatch, folder) -> None:
    """``folder`` behaves as a read-only mount does: access(W_OK) fails (EROFS) and statvfs says ST_RDONLY."""
    real_access, real_statvfs = os.access, os.statvfs
    inside = str(folder)

    def access(path, mode, *a, **k):
        return False if str(path).startswith(inside) and mode & os.W_OK else real_access(path, mode, *a, **k)

    def statvfs(path):
        return SimpleNamespace(f_flag=os.ST_RDONLY) if str(path).startswith(inside) else real_statvfs(path)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "statvfs", statvfs)


@pytest.mark.skipif(not hasattr(os, "statvfs"), reason="no statvfs")
def test_a_read_only_file_system_is_named(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "old.txt").write_text("x", encoding="utf-8")
    _read_only(monkeypatch, ro)
    for name in ("new.safetensors", "old.txt"):
        with pytest.raises(ValueError, match="is on a read-only file system; choose another path") as info:
            check_output_path(str(ro / name), "-o")
        assert "permission" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "statvfs"), reason="no statvfs")
def test_train_ngram_save_on_a_read_only_file_system(tmp_path, monkeypatch, capsys):
    train = tmp_path / "t.txt"
    train.write_text("a b c\nb c d\n" * 5, encoding="utf-8")
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--order", "2",
                                    "--save", str(ro / "m.safetensors")])
    assert code == 2 and "read-only file system" in err and "permission" not in err, err
