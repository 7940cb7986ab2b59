from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from steward.crypto.master_key import MASTER_KEY_ENV, MasterKey, SealedValueError
from steward.security.data_keys import DataKeys
from steward.store.store import Store


def test_the_first_start_makes_a_private_key_file_and_later_starts_reuse_it(
    tmp_path: Path,
) -> None:
    first = MasterKey.load_or_create(tmp_path, environ={})
    path = tmp_path / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.seal(b"hunter2", "arn:one")
    assert b"hunter2" not in sealed
    again = MasterKey.load_or_create(tmp_path, environ={})
    assert again.open(sealed, "arn:one") == b"hunter2"
    assert "hunter2" not in repr(again) and path.read_text().strip() not in repr(again)


def test_a_value_opens_only_with_its_key_and_its_context(tmp_path: Path) -> None:
    key = MasterKey.load_or_create(tmp_path, environ={})
    sealed = key.seal(b"data key", "cluster/a")
    assert key.seal(b"data key", "cluster/a") != sealed  # a fresh nonce every time
    with pytest.raises(SealedValueError):
        key.open(sealed, "cluster/b")
    other = MasterKey.load_or_create(tmp_path / "other", environ={})
    with pytest.raises(SealedValueError):
        other.open(sealed, "cluster/a")
    with pytest.raises(SealedValueError):
        key.open(b"plain text", "cluster/a")


def test_the_key_can_come_from_the_environment(tmp_path: Path) -> None:
    raw = bytes(range(32))
    key = MasterKey.load_or_create(
        tmp_path, environ={MASTER_KEY_ENV: base64.b64encode(raw).decode()}
    )
    assert not (tmp_path / "master.key").exists()
    assert MasterKey(raw).open(key.seal(b"x", "c"), "c") == b"x"
    with pytest.raises(ValueError, match=MASTER_KEY_ENV):
        MasterKey.load_or_create(tmp_path, environ={MASTER_KEY_ENV: "too-short"})


def test_each_cluster_gets_one_data_key_sealed_in_the_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'steward.db'}")
    try:
        keys = DataKeys(store.engine, MasterKey.load_or_create(tmp_path, environ={}))
        first = keys.key_for("cluster-one-id")
        assert keys.key_for("cluster-one-id") == first
        assert keys.key_for("cluster-two-id") != first
        assert len(base64.b64decode(first)) == 32
        reopened = DataKeys(store.engine, MasterKey.load_or_create(tmp_path, environ={}))
        assert reopened.key_for("cluster-one-id") == first
    finally:
        store.close()
    assert first.encode() not in (tmp_path / "steward.db").read_bytes()
    assert base64.b64decode(first) not in (tmp_path / "steward.db").read_bytes()
