"""Access keys: how they look, the store that keeps them (and a store made before it had them),
`steward access-key create|list|delete`, the credentials file, and what the control plane does
with keys when it starts: seeded from the environment, made at the first start, or not checked
at all with STEWARD_AUTH=off."""

from __future__ import annotations

import io
import json
import logging
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from steward.api.auth.guard import AcceptAnyRequest
from steward.api.auth.keys import check_access_key_id, create_access_key
from steward.api.auth.startup import prepare_authentication
from steward.api.auth.verifier import SigV4Verifier
from steward.cli.main import cli
from steward.client import credentials as cli_credentials
from steward.client.credentials_file import read_credentials, write_credentials
from steward.settings import Settings, Zone
from steward.store import schema
from steward.store.access_keys import AccessKey, AccessKeys, DuplicateAccessKeyError
from steward.store.store import Store

ZONES = (Zone("az-a", "127.79.1"),)


def settings(home: Path, **values: Any) -> Settings:
    return Settings(home=home, zones=ZONES, **values)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = Store(settings(tmp_path).db_url)
    yield store
    store.close()


class Console(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class AccessKeysInMemory(AccessKeys):
    def __init__(self) -> None:
        self.keys: dict[str, tuple[AccessKey, str]] = {}

    def add(self, key: AccessKey, secret_access_key: str) -> None:
        self.keys[key.access_key_id] = (key, secret_access_key)


def test_keys_look_like_aws_ones_and_differ() -> None:
    made = [create_access_key(AccessKeysInMemory(), "k") for _ in range(20)]
    for key in made:
        assert re.fullmatch(r"STW[A-Z0-9]{17}", key.access_key_id)
        assert re.fullmatch(r"[A-Za-z0-9+/]{40}", key.secret_access_key)
        assert key.secret_access_key not in repr(key)
    assert len({k.secret_access_key for k in made}) == 20
    check_access_key_id("AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(ValueError):
        check_access_key_id("has/slash")


def test_the_store_keeps_keys_and_lists_them_without_secrets(store: Store) -> None:
    keys = store.access_keys
    made = create_access_key(keys, "ci")
    assert keys.secret_of(made.access_key_id) == made.secret_access_key
    assert keys.secret_of("STWNOPE") is None
    listed = keys.all_keys()
    assert [(k.access_key_id, k.name) for k in listed] == [(made.access_key_id, "ci")]
    assert made.secret_access_key not in repr(listed)
    with pytest.raises(DuplicateAccessKeyError):
        keys.add(made.key, "other")
    assert keys.remove(made.access_key_id)
    assert not keys.remove(made.access_key_id)
    assert keys.all_keys() == []


def test_a_store_made_before_access_keys_gets_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    older = [t for t in schema.metadata.sorted_tables if t.name != "access_keys"]
    schema.metadata.create_all(engine, tables=older)
    assert "access_keys" not in inspect(engine).get_table_names()
    engine.dispose()
    store = Store(url)
    try:
        assert "access_keys" in inspect(store.engine).get_table_names()
        create_access_key(store.access_keys, "after the upgrade")
    finally:
        store.close()


def test_the_credentials_file_is_private_and_keeps_other_profiles(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = A\naws_secret_access_key = B\n")
    write_credentials(path, "STWONE", "secret/with+chars%")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_credentials(path) == ("STWONE", "secret/with+chars%")
    assert read_credentials(path, "default") == ("A", "B")
    write_credentials(path, "STWTWO", "s2")
    assert read_credentials(path) == ("STWTWO", "s2")
    assert read_credentials(tmp_path / "missing") is None
    assert list(tmp_path.iterdir()) == [path]


def test_the_first_start_makes_a_key_writes_it_and_shows_it_on_a_terminal(
    tmp_path: Path,
    store: Store,
) -> None:
    console = Console(tty=True)
    verifier = prepare_authentication(settings(tmp_path), store.access_keys, console, {})
    assert isinstance(verifier, SigV4Verifier)
    credentials = read_credentials(tmp_path / "credentials")
    assert credentials is not None
    key_id, secret = credentials
    assert store.access_keys.secret_of(key_id) == secret
    assert key_id in console.getvalue() and secret in console.getvalue()
    assert "AWS_PROFILE=steward" in console.getvalue()
    again = Console(tty=True)
    prepare_authentication(settings(tmp_path), store.access_keys, again, {})
    assert again.getvalue() == ""
    assert len(store.access_keys.all_keys()) == 1


def test_the_first_start_keeps_the_secret_off_a_console_that_is_no_terminal(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    store: Store,
) -> None:
    console = Console(tty=False)
    with caplog.at_level(logging.DEBUG):
        prepare_authentication(settings(tmp_path), store.access_keys, console, {})
    credentials = read_credentials(tmp_path / "credentials")
    assert credentials is not None
    key_id, secret = credentials
    assert key_id in console.getvalue()
    assert secret not in console.getvalue()
    assert secret not in caplog.text


def test_a_key_from_the_environment_is_stored_and_its_secret_dropped(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    store: Store,
) -> None:
    environ = {
        "STEWARD_ACCESS_KEY_ID": "STWSEEDED00000000001",
        "STEWARD_SECRET_ACCESS_KEY": "seeded-secret",
    }
    with caplog.at_level(logging.DEBUG):
        prepare_authentication(settings(tmp_path), store.access_keys, Console(True), environ)
        assert store.access_keys.secret_of("STWSEEDED00000000001") == "seeded-secret"
        assert "STEWARD_SECRET_ACCESS_KEY" not in environ
        assert not (tmp_path / "credentials").exists()  # a key exists: no first-start key
        environ["STEWARD_SECRET_ACCESS_KEY"] = "rotated"
        prepare_authentication(settings(tmp_path), store.access_keys, Console(True), environ)
    assert store.access_keys.secret_of("STWSEEDED00000000001") == "rotated"
    assert "seeded-secret" not in caplog.text and "rotated" not in caplog.text
    with pytest.raises(ValueError, match="both"):
        prepare_authentication(
            settings(tmp_path),
            store.access_keys,
            Console(True),
            {"STEWARD_ACCESS_KEY_ID": "STWHALF"},
        )


def test_auth_off_accepts_anything_and_says_so(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    store: Store,
) -> None:
    with caplog.at_level(logging.WARNING):
        authenticator = prepare_authentication(
            settings(tmp_path, auth="off"), store.access_keys, Console(True), {}
        )
    assert isinstance(authenticator, AcceptAnyRequest)
    assert "STEWARD_AUTH=off" in caplog.text
    assert store.access_keys.all_keys() == []
    with pytest.raises(ValueError, match="STEWARD_AUTH"):
        prepare_authentication(
            settings(tmp_path, auth="maybe"), store.access_keys, Console(True), {}
        )


def test_access_key_commands_create_list_and_delete(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"STEWARD_HOME": str(tmp_path)}
    created = runner.invoke(cli, ["access-key", "create", "--name", "ci", "-o", "json"], env=env)
    assert created.exit_code == 0, created.output
    made = json.loads(created.stdout)
    assert made["AccessKeyId"].startswith("STW") and len(made["SecretAccessKey"]) == 40

    table = runner.invoke(cli, ["access-key", "create", "--home", str(tmp_path)], env={})
    assert table.exit_code == 0, table.output
    assert "SecretAccessKey" in table.stdout

    listed = runner.invoke(cli, ["access-key", "list"], env=env)
    assert listed.exit_code == 0 and made["AccessKeyId"] in listed.stdout and "ci" in listed.stdout
    assert made["SecretAccessKey"] not in listed.stdout
    as_json = json.loads(runner.invoke(cli, ["-o", "json", "access-key", "list"], env=env).stdout)
    assert len(as_json["AccessKeys"]) == 2
    assert all(
        set(k) == {"AccessKeyId", "Name", "UserName", "Status", "CreationTime"}
        for k in as_json["AccessKeys"]
    )

    deleted = runner.invoke(cli, ["access-key", "delete", made["AccessKeyId"]], env=env)
    assert deleted.exit_code == 0, deleted.output
    again = runner.invoke(cli, ["access-key", "delete", made["AccessKeyId"]], env=env)
    assert again.exit_code == 1 and "NotFoundException" in again.output


def test_the_cli_signs_with_what_boto3_finds_else_the_first_start_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path))
    assert cli_credentials.steward_credentials().access_key == cli_credentials.PLACEHOLDER
    write_credentials(tmp_path / "credentials", "STWFROMHOME", "home-secret")
    found = cli_credentials.steward_credentials()
    assert (found.access_key, found.secret_key) == ("STWFROMHOME", "home-secret")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "STWFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert cli_credentials.steward_credentials().access_key == "STWFROMENV"


def test_key_times_are_utc(store: Store) -> None:
    made = create_access_key(store.access_keys, "t")
    listed = store.access_keys.all_keys()[0]
    assert listed.creation_time.tzinfo is not None
    assert abs((datetime.now(UTC) - listed.creation_time).total_seconds()) < 60
    assert listed.access_key_id == made.access_key_id
