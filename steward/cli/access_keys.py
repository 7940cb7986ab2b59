"""`steward access-key ...`: the keys that may sign requests to Steward's API. These commands
work on the store of this machine's Steward (STEWARD_HOME) directly, not through the API, so
they also work before any key exists and while Steward is stopped.

Every key belongs to an IAM user: by default the administrator user (`steward-admin`, with
AdministratorAccess attached), so a key made here may do everything, as before Steward had IAM;
`--user` gives it to another user, whose policies then decide. `steward iam access-key ...` does
the same through the API, with IAM's rules (at most two keys a user)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click

from steward.client.api import CliError
from steward.client.context import CliContext, pass_cli
from steward.settings import Settings

if TYPE_CHECKING:
    from steward.store.store import Store

HOME = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The Steward's state  [default: $STEWARD_HOME or ~/.steward]",
)


def _open_store(home: Path | None) -> Store:
    from steward.store.store import Store  # imported here: the other commands never need it

    settings = Settings() if home is None else dataclasses.replace(Settings(), home=home)
    return Store(settings.db_url)


@click.group("access-key")
def access_key() -> None:
    """Access keys for Steward's API (SigV4, as AWS access keys are used)."""


@access_key.command()
@click.option("--name", default="", help="What the key is for (shown by `list`).")
@click.option(
    "--user",
    "user_name",
    default=None,
    help="The IAM user the key belongs to  [default: steward-admin, allowed everything]",
)
@HOME
@pass_cli
def create(cli: CliContext, name: str, user_name: str | None, home: Path | None) -> None:
    """Make an access key. Its secret is shown this once: keep it."""
    from steward.api.auth.keys import create_access_key
    from steward.iam.store import IamRecords
    from steward.store.access_keys import ADMINISTRATOR_USER

    store = _open_store(home)
    try:
        if user_name is not None and IamRecords(store.engine).user(user_name) is None:
            raise CliError(f"Error (NoSuchEntity): there is no IAM user {user_name}.")
        made = create_access_key(store.access_keys, name, user_name or ADMINISTRATOR_USER)
    finally:
        store.close()
    if cli.output.is_json:
        cli.output.json(
            {
                "AccessKeyId": made.access_key_id,
                "SecretAccessKey": made.secret_access_key,
                "Name": made.key.name,
                "UserName": made.key.user_name,
                "CreationTime": made.key.creation_time,
            }
        )
        return
    cli.output.fields(
        [
            ("AccessKeyId", made.access_key_id),
            ("SecretAccessKey", made.secret_access_key),
            ("Name", made.key.name),
            ("UserName", made.key.user_name),
        ]
    )
    cli.output.note(
        "The secret is not shown again. Use the pair as AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (or in a profile of an AWS credentials file)."
    )


@access_key.command("list")
@HOME
@pass_cli
def list_keys(cli: CliContext, home: Path | None) -> None:
    """List the access keys (never their secrets)."""
    store = _open_store(home)
    try:
        keys = store.access_keys.all_keys()
    finally:
        store.close()
    if cli.output.is_json:
        cli.output.json(
            {
                "AccessKeys": [
                    {
                        "AccessKeyId": k.access_key_id,
                        "Name": k.name,
                        "UserName": k.user_name,
                        "Status": k.status,
                        "CreationTime": k.creation_time,
                    }
                    for k in keys
                ]
            }
        )
        return
    cli.output.table(
        ["ACCESS KEY ID", "NAME", "USER", "STATUS", "CREATED"],
        [(k.access_key_id, k.name, k.user_name, k.status, k.creation_time) for k in keys],
    )


@access_key.command()
@click.argument("access_key_id", metavar="ACCESS_KEY_ID")
@HOME
@pass_cli
def delete(cli: CliContext, access_key_id: str, home: Path | None) -> None:
    """Delete an access key: requests it signs are refused from now on."""
    store = _open_store(home)
    try:
        removed = store.access_keys.remove(access_key_id)
    finally:
        store.close()
    if not removed:
        raise CliError(f"Error (NotFoundException): there is no access key {access_key_id}.")
    if cli.output.is_json:
        cli.output.json({"AccessKeyId": access_key_id})
        return
    cli.output.text(f"deleted access key {access_key_id}")
