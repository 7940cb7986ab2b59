"""Files replaced whole: the new content or the old, a private file never readable by others,
nothing left behind when writing fails."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from steward.files import replace_file


def test_a_file_is_replaced_by_text_or_bytes(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    replace_file(path, "one\n")
    replace_file(path, b"two\n", sync=True)
    assert path.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["spec.json"]


def test_a_private_file_is_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("old")
    path.chmod(0o644)
    replace_file(path, "secret", private=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "secret"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "status.json"
    path.write_text("old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr("steward.files.os.replace", refuse)
    with pytest.raises(OSError):
        replace_file(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
