"""`steward secret ...`: SCRAM sign-ins kept in Steward's Secrets Manager, and their association
with clusters (MSK's BatchAssociateScramSecret and friends).

A password is never an argument (it would show in the process list and the shell's history): it
is asked for, or read from standard input when that is not a terminal.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from steward.client.api import CliError, make_client
from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP
from steward.client.output import response_data

NAME_PREFIX = "AmazonMSK_"
SECRETS = click.argument("secrets", nargs=-1, required=True, metavar="SECRET...")


def _secretsmanager(cli: CliContext) -> Any:
    return make_client(cli.endpoint_url, cli.region, service="secretsmanager")


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("Error: the password is empty.")
    return password


def _secret_arn(cli: CliContext, secret: str) -> str:
    """SECRET as given: an ARN, or a secret's name."""
    if secret.startswith("arn:"):
        return secret
    return str(_secretsmanager(cli).describe_secret(SecretId=secret)["ARN"])


@click.group()
def secret() -> None:
    """SCRAM sign-ins (Secrets Manager secrets) and the clusters they are associated with."""


@secret.command()
@click.argument("name")
@click.option("--username", required=True, help="The Kafka user the secret signs in as.")
@click.option("--description", default=None, help="What the secret is for.")
@pass_cli
def create(cli: CliContext, name: str, username: str, description: str | None) -> None:
    """Make secret NAME holding a SCRAM sign-in ({"username", "password"}). The password is
    asked for, or read from standard input. MSK's clusters take secrets named AmazonMSK_*."""
    value = json.dumps({"username": username, "password": _read_password()})
    params: dict[str, Any] = {"Name": name, "SecretString": value}
    if description:
        params["Description"] = description
    made = _secretsmanager(cli).create_secret(**params)
    if cli.output.is_json:
        cli.output.json(response_data(made))
        return
    cli.output.fields([("ARN", made["ARN"]), ("Name", made["Name"])])
    if not name.startswith(NAME_PREFIX):
        cli.output.note(f"Only secrets named {NAME_PREFIX}* can be associated with a cluster.")


def _current_sign_in(cli: CliContext, secret_id: str) -> dict[str, Any]:
    value = _secretsmanager(cli).get_secret_value(SecretId=secret_id).get("SecretString")
    try:
        content = json.loads(value) if value is not None else None
    except json.JSONDecodeError:
        content = None
    if not isinstance(content, dict):
        raise CliError(
            f"Error: {secret_id} does not hold a SCRAM sign-in: give both --username and "
            "--password."
        )
    return content


@secret.command()
@click.argument("secret_id", metavar="SECRET")
@click.option("--description", default=None, help="A new description.")
@click.option("--username", default=None, help="A new Kafka user for the sign-in.")
@click.option(
    "--password",
    "new_password",
    is_flag=True,
    help="Give the sign-in a new password (asked for, or read from standard input).",
)
@pass_cli
def update(
    cli: CliContext,
    secret_id: str,
    description: str | None,
    username: str | None,
    new_password: bool,
) -> None:
    """Change SECRET (a name or an ARN): its description, its user, its password. A new user or
    password makes a new version, AWSCURRENT, which the clusters the secret is associated with
    take within moments (the previous one stays readable as AWSPREVIOUS)."""
    if description is None and username is None and not new_password:
        raise CliError("Error: give --description, --username or --password.")
    params: dict[str, Any] = {"SecretId": secret_id}
    if description is not None:
        params["Description"] = description
    if username is not None or new_password:
        password = _read_password() if new_password else None
        if username is None or password is None:
            current = _current_sign_in(cli, secret_id)
            username = username if username is not None else current.get("username")
            password = password if password is not None else current.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise CliError(
                f"Error: {secret_id} does not hold a SCRAM sign-in: give both --username and "
                "--password."
            )
        params["SecretString"] = json.dumps({"username": username, "password": password})
    updated = _secretsmanager(cli).update_secret(**params)
    if cli.output.is_json:
        cli.output.json(response_data(updated))
        return
    cli.output.fields(
        [
            ("ARN", updated["ARN"]),
            ("Name", updated["Name"]),
            ("VersionId", updated.get("VersionId", "(unchanged)")),
        ]
    )


def _tag(pair: str) -> dict[str, str]:
    key, equals, value = pair.partition("=")
    if not equals or not key:
        raise CliError(f"Error: {pair!r} is not KEY=VALUE.")
    return {"Key": key, "Value": value}


@secret.command()
@click.argument("secret_id", metavar="SECRET")
@click.argument("tags", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_cli
def tag(cli: CliContext, secret_id: str, tags: tuple[str, ...]) -> None:
    """Tag SECRET (a name or an ARN); a key it has already takes the new value."""
    _secretsmanager(cli).tag_resource(SecretId=secret_id, Tags=[_tag(t) for t in tags])
    _show_tags(cli, secret_id)


@secret.command()
@click.argument("secret_id", metavar="SECRET")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@pass_cli
def untag(cli: CliContext, secret_id: str, keys: tuple[str, ...]) -> None:
    """Remove the tags KEY... from SECRET (a name or an ARN)."""
    _secretsmanager(cli).untag_resource(SecretId=secret_id, TagKeys=list(keys))
    _show_tags(cli, secret_id)


def _show_tags(cli: CliContext, secret_id: str) -> None:
    tags = _secretsmanager(cli).describe_secret(SecretId=secret_id).get("Tags", [])
    if cli.output.is_json:
        cli.output.json({"Tags": tags})
        return
    cli.output.table(["Key", "Value"], [[t.get("Key"), t.get("Value")] for t in tags])


@secret.command("list")
@pass_cli
def list_secrets(cli: CliContext) -> None:
    """List the secrets (never their values)."""
    secrets: list[dict[str, Any]] = []
    for page in _secretsmanager(cli).get_paginator("list_secrets").paginate():
        secrets.extend(page.get("SecretList", []))
    if cli.output.is_json:
        cli.output.json({"SecretList": secrets})
        return
    cli.output.table(
        ["Name", "ARN", "Created", "Changed"],
        [
            [s.get("Name"), s.get("ARN"), s.get("CreatedDate"), s.get("LastChangedDate")]
            for s in secrets
        ],
    )


@secret.command()
@click.argument("secret_id", metavar="SECRET")
@click.option("--force", is_flag=True, help="Delete at once, with no recovery window.")
@click.option(
    "--recovery-days",
    type=click.IntRange(7, 30),
    default=None,
    help="Days during which the secret can be restored  [default: 30]",
)
@pass_cli
def delete(cli: CliContext, secret_id: str, force: bool, recovery_days: int | None) -> None:
    """Delete SECRET (a name or an ARN), after a recovery window unless --force."""
    if force and recovery_days is not None:
        raise CliError("Error: --force and --recovery-days exclude each other.")
    params: dict[str, Any] = {"SecretId": secret_id}
    if force:
        params["ForceDeleteWithoutRecovery"] = True
    elif recovery_days is not None:
        params["RecoveryWindowInDays"] = recovery_days
    deleted = _secretsmanager(cli).delete_secret(**params)
    if cli.output.is_json:
        cli.output.json(response_data(deleted))
        return
    cli.output.fields(
        [("Name", deleted.get("Name")), ("DeletionDate", deleted.get("DeletionDate"))]
    )


def _show_unprocessed(cli: CliContext, answer: dict[str, Any]) -> None:
    if cli.output.is_json:
        cli.output.json(response_data(answer))
        return
    failed = answer.get("UnprocessedScramSecrets", [])
    if not failed:
        cli.output.text("Done.")
        return
    cli.output.table(
        ["Secret", "Error", "Message"],
        [[u.get("SecretArn"), u.get("ErrorCode"), u.get("ErrorMessage")] for u in failed],
    )
    raise SystemExit(1)


@secret.command(epilog=CLUSTER_HELP)
@CLUSTER
@SECRETS
@pass_cli
def associate(cli: CliContext, cluster: str, secrets: tuple[str, ...]) -> None:
    """Let the users of SECRET... (names or ARNs) sign in to CLUSTER with SASL/SCRAM."""
    arns = [_secret_arn(cli, s) for s in secrets]
    answer = cli.api.client.batch_associate_scram_secret(
        ClusterArn=cli.api.cluster_arn(cluster), SecretArnList=arns
    )
    _show_unprocessed(cli, answer)


@secret.command(epilog=CLUSTER_HELP)
@CLUSTER
@SECRETS
@pass_cli
def disassociate(cli: CliContext, cluster: str, secrets: tuple[str, ...]) -> None:
    """Remove the SCRAM sign-ins of SECRET... (names or ARNs) from CLUSTER."""
    arns = [_secret_arn(cli, s) for s in secrets]
    answer = cli.api.client.batch_disassociate_scram_secret(
        ClusterArn=cli.api.cluster_arn(cluster), SecretArnList=arns
    )
    _show_unprocessed(cli, answer)


@secret.command("associated", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def associated(cli: CliContext, cluster: str) -> None:
    """List the secrets associated with CLUSTER."""
    arns = cli.api.paginate(
        "list_scram_secrets", "SecretArnList", ClusterArn=cli.api.cluster_arn(cluster)
    )
    if cli.output.is_json:
        cli.output.json({"SecretArnList": arns})
        return
    cli.output.table(["SecretArn"], [[arn] for arn in arns])
