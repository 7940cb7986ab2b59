"""`steward policy ...`: access policies of a cluster's principals, through Steward's routes
under `/steward/v1/clusters/{arn}/policies`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote

import click

from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP

PRINCIPAL_HELP = (
    "PRINCIPAL is a Kafka principal: User:alice for a SCRAM user, User:CN=alice,O=Example for a "
    "client certificate's subject."
)
EPILOG = f"{CLUSTER_HELP}\n\n{PRINCIPAL_HELP}"
PRINCIPAL_ARGUMENT = click.argument("principal", metavar="PRINCIPAL")
PRINCIPAL_OPTION = click.option(
    "--principal", required=True, help="User:<name>, e.g. User:alice or User:CN=alice,O=Example."
)
FILE_OPTION = click.option(
    "--file",
    "document",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="The policy document (IAM JSON with kafka-cluster:* actions); - reads stdin.",
)


def _path(cli: CliContext, cluster: str, principal: str | None = None) -> str:
    path = f"/steward/v1/clusters/{quote(cli.api.cluster_arn(cluster), safe='')}/policies"
    return path if principal is None else f"{path}/{quote(principal, safe='')}"


def _time(value: str | None) -> datetime | None:
    """An API timestamp (`2026-01-02T03:04:05.678Z`), for the output's local time."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _show_acls(cli: CliContext, acls: list[dict[str, Any]]) -> None:
    cli.output.table(
        ["PERMISSION", "OPERATION", "RESOURCE TYPE", "PATTERN", "RESOURCE"],
        [
            (
                a["permission"],
                a["operation"],
                a["resourceType"],
                a["patternType"],
                a["resourceName"],
            )
            for a in acls
        ],
    )


def _show_policy(cli: CliContext, policy: dict[str, Any]) -> None:
    cli.output.fields(
        [
            ("Principal", policy["principal"]),
            ("Status", policy["status"]),
            ("Reason", policy.get("statusReason")),
            ("Version", policy["version"]),
            ("ACLs", policy["aclCount"]),
            ("Created", _time(policy["creationTime"])),
            ("Updated", _time(policy["lastUpdateTime"])),
            ("Applied", _time(policy.get("appliedTime"))),
            ("Last error", policy.get("lastError")),
        ]
    )


@click.group()
def policy() -> None:
    """Access policies (IAM-style, kafka-cluster:* actions) of a cluster's principals, applied
    as Kafka ACLs: put, list, get, delete, compile."""


@policy.command(epilog=CLUSTER_HELP)
@CLUSTER
@PRINCIPAL_OPTION
@FILE_OPTION
@pass_cli
def put(cli: CliContext, cluster: str, principal: str, document: IO[str]) -> None:
    """Attach a policy to a principal, replacing the one it has."""
    body = {"principal": principal, "policy": document.read()}
    answer = cli.api.steward_route("PUT", _path(cli, cluster), body=body)
    if cli.output.is_json:
        cli.output.json(answer)
        return
    _show_policy(cli, answer)
    if answer["status"] == "PENDING":
        cli.output.note("Kafka gets its ACLs in a few seconds: see `steward policy get`.")


@policy.command("list", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def list_policies(cli: CliContext, cluster: str) -> None:
    """List the principals with a policy, with its status and ACL count."""
    path = _path(cli, cluster)
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    while True:
        answer = cli.api.steward_route("GET", path, params=params)
        found.extend(answer.get("policies", []))
        if not answer.get("nextToken"):
            break
        params = {"nextToken": answer["nextToken"]}
    if cli.output.is_json:
        cli.output.json({"policies": found})
        return
    cli.output.table(
        ["PRINCIPAL", "STATUS", "ACLS", "VERSION", "UPDATED", "LAST ERROR"],
        [
            (
                p["principal"],
                p["status"],
                p["aclCount"],
                p["version"],
                _time(p["lastUpdateTime"]),
                p.get("lastError"),
            )
            for p in found
        ],
    )


@policy.command(epilog=EPILOG)
@CLUSTER
@PRINCIPAL_ARGUMENT
@pass_cli
def get(cli: CliContext, cluster: str, principal: str) -> None:
    """Show a principal's policy, the Kafka ACLs it compiles to and whether they are applied."""
    answer = cli.api.steward_route("GET", _path(cli, cluster, principal))
    if cli.output.is_json:
        cli.output.json(answer)
        return
    _show_policy(cli, answer)
    cli.output.text("")
    cli.output.text(json.dumps(answer["policy"], indent=2))
    cli.output.text("")
    _show_acls(cli, answer["acls"])


@policy.command(epilog=EPILOG)
@CLUSTER
@PRINCIPAL_ARGUMENT
@pass_cli
def delete(cli: CliContext, cluster: str, principal: str) -> None:
    """Delete a principal's policy; its ACLs are removed, so it can do nothing on a cluster
    with an authorizer."""
    answer = cli.api.steward_route("DELETE", _path(cli, cluster, principal))
    if cli.output.is_json:
        cli.output.json(answer)
    else:
        cli.output.text(f"Policy of {principal} deleted.")


@policy.command("compile", epilog=CLUSTER_HELP)
@CLUSTER
@PRINCIPAL_OPTION
@FILE_OPTION
@pass_cli
def compile_document(cli: CliContext, cluster: str, principal: str, document: IO[str]) -> None:
    """Show the Kafka ACLs a policy would make, without storing it."""
    body = {"principal": principal, "policy": document.read()}
    answer = cli.api.steward_route("POST", f"{_path(cli, cluster)}/compile", body=body)
    if cli.output.is_json:
        cli.output.json(answer)
        return
    _show_acls(cli, answer["acls"])
