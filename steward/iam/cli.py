"""`steward iam ...`: IAM users and their access keys, roles, policies and the audit of refusals,
through Steward's IAM API (boto3's `iam` client) and its audit route.

A policy document is given with `--file` (a path, or `-` for standard input), never inline on
the command line.
"""

from __future__ import annotations

import json
from typing import IO, Any

import click

from steward.client.commands import done, listing, service_client, show
from steward.client.context import CliContext, pass_cli

DOCUMENT = click.option(
    "--file",
    "document",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="The policy document (IAM's JSON); - reads standard input.",
)


def _iam(cli: CliContext) -> Any:
    return service_client(cli, "iam")


def _read(document: IO[str]) -> str:
    return document.read()


def _policy_arn(cli: CliContext, policy: str) -> str:
    """POLICY as given: an ARN, or the name of a customer managed policy."""
    if policy.startswith("arn:"):
        return policy
    account = service_client(cli, "sts").get_caller_identity()
    return f"arn:aws:iam::{account['Account']}:policy/{policy}"


@click.group()
def iam() -> None:
    """IAM users, access keys, roles and policies: who may do what on Steward's API and, through
    kafka-cluster:* statements, on the brokers."""


# -- users --------------------------------------------------------------------------------------
@iam.group()
def user() -> None:
    """IAM users: who access keys belong to."""


@user.command("create")
@click.argument("name")
@click.option("--path", default="/", show_default=True)
@pass_cli
def create_user(cli: CliContext, name: str, path: str) -> None:
    """Make user NAME."""
    made = _iam(cli).create_user(UserName=name, Path=path)["User"]
    show(cli, made, [("UserName", made["UserName"]), ("Arn", made["Arn"])])


@user.command("list")
@pass_cli
def list_users(cli: CliContext) -> None:
    """Every user."""
    users = _iam(cli).get_paginator("list_users").paginate().build_full_result()["Users"]
    listing(
        cli,
        "Users",
        users,
        ["NAME", "ARN", "CREATED"],
        lambda u: (u["UserName"], u["Arn"], u["CreateDate"]),
    )


@user.command("get")
@click.argument("name")
@pass_cli
def get_user(cli: CliContext, name: str) -> None:
    """User NAME, its keys and policies."""
    client = _iam(cli)
    found = client.get_user(UserName=name)["User"]
    keys = client.list_access_keys(UserName=name)["AccessKeyMetadata"]
    attached = client.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    inline = client.list_user_policies(UserName=name)["PolicyNames"]
    data = {**found, "AccessKeys": keys, "AttachedPolicies": attached, "InlinePolicies": inline}
    show(
        cli,
        data,
        [
            ("UserName", found["UserName"]),
            ("Arn", found["Arn"]),
            ("AccessKeys", ", ".join(f"{k['AccessKeyId']} ({k['Status']})" for k in keys)),
            ("AttachedPolicies", ", ".join(p["PolicyArn"] for p in attached)),
            ("InlinePolicies", ", ".join(inline)),
        ],
    )


@user.command("delete")
@click.argument("name")
@pass_cli
def delete_user(cli: CliContext, name: str) -> None:
    """Delete user NAME (it must have no keys or policies left)."""
    _iam(cli).delete_user(UserName=name)
    done(cli, {"UserName": name}, f"deleted user {name}")


@user.command("attach")
@click.argument("name")
@click.argument("policy")
@pass_cli
def attach_user(cli: CliContext, name: str, policy: str) -> None:
    """Attach managed POLICY (an ARN, or a customer policy's name) to user NAME."""
    arn = _policy_arn(cli, policy)
    _iam(cli).attach_user_policy(UserName=name, PolicyArn=arn)
    done(cli, {"UserName": name, "PolicyArn": arn}, f"attached {arn} to user {name}")


@user.command("detach")
@click.argument("name")
@click.argument("policy")
@pass_cli
def detach_user(cli: CliContext, name: str, policy: str) -> None:
    """Detach managed POLICY from user NAME."""
    arn = _policy_arn(cli, policy)
    _iam(cli).detach_user_policy(UserName=name, PolicyArn=arn)
    done(cli, {"UserName": name, "PolicyArn": arn}, f"detached {arn} from user {name}")


@user.command("put-policy")
@click.argument("name")
@click.argument("policy_name")
@DOCUMENT
@pass_cli
def put_user_policy(cli: CliContext, name: str, policy_name: str, document: IO[str]) -> None:
    """Create or replace inline policy POLICY_NAME of user NAME."""
    _iam(cli).put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=_read(document))
    done(cli, {"UserName": name, "PolicyName": policy_name}, f"put policy {policy_name}")


@user.command("get-policy")
@click.argument("name")
@click.argument("policy_name")
@pass_cli
def get_user_policy(cli: CliContext, name: str, policy_name: str) -> None:
    """Inline policy POLICY_NAME of user NAME, as JSON."""
    found = _iam(cli).get_user_policy(UserName=name, PolicyName=policy_name)
    cli.output.text(json.dumps(found["PolicyDocument"], indent=2))


@user.command("delete-policy")
@click.argument("name")
@click.argument("policy_name")
@pass_cli
def delete_user_policy(cli: CliContext, name: str, policy_name: str) -> None:
    """Delete inline policy POLICY_NAME of user NAME."""
    _iam(cli).delete_user_policy(UserName=name, PolicyName=policy_name)
    done(cli, {"UserName": name, "PolicyName": policy_name}, f"deleted policy {policy_name}")


# -- access keys --------------------------------------------------------------------------------
@iam.group("access-key")
def access_key() -> None:
    """Access keys of IAM users."""


@access_key.command("create")
@click.argument("user_name", metavar="USER")
@pass_cli
def create_key(cli: CliContext, user_name: str) -> None:
    """Make an access key for USER. Its secret is shown this once."""
    made = _iam(cli).create_access_key(UserName=user_name)["AccessKey"]
    show(
        cli,
        made,
        [
            ("UserName", made["UserName"]),
            ("AccessKeyId", made["AccessKeyId"]),
            ("SecretAccessKey", made["SecretAccessKey"]),
        ],
    )
    if not cli.output.is_json:
        cli.output.note("The secret is not shown again.")


@access_key.command("list")
@click.argument("user_name", metavar="USER")
@pass_cli
def list_keys(cli: CliContext, user_name: str) -> None:
    """USER's access keys (never their secrets)."""
    keys = _iam(cli).list_access_keys(UserName=user_name)["AccessKeyMetadata"]
    listing(
        cli,
        "AccessKeyMetadata",
        keys,
        ["ACCESS KEY ID", "STATUS", "CREATED"],
        lambda k: (k["AccessKeyId"], k["Status"], k["CreateDate"]),
    )


@access_key.command("update")
@click.argument("user_name", metavar="USER")
@click.argument("access_key_id")
@click.option("--status", type=click.Choice(["Active", "Inactive"]), required=True)
@pass_cli
def update_key(cli: CliContext, user_name: str, access_key_id: str, status: str) -> None:
    """Make a key Active or Inactive (an inactive one signs nothing)."""
    _iam(cli).update_access_key(UserName=user_name, AccessKeyId=access_key_id, Status=status)
    done(cli, {"AccessKeyId": access_key_id, "Status": status}, f"{access_key_id}: {status}")


@access_key.command("delete")
@click.argument("user_name", metavar="USER")
@click.argument("access_key_id")
@pass_cli
def delete_key(cli: CliContext, user_name: str, access_key_id: str) -> None:
    """Delete a key of USER."""
    _iam(cli).delete_access_key(UserName=user_name, AccessKeyId=access_key_id)
    done(cli, {"AccessKeyId": access_key_id}, f"deleted access key {access_key_id}")


# -- managed policies ---------------------------------------------------------------------------
@iam.group()
def policy() -> None:
    """Managed policies (customer ones, and the AWS managed ones Steward knows)."""


@policy.command("create")
@click.argument("name")
@DOCUMENT
@click.option("--description", default=None)
@pass_cli
def create_policy(cli: CliContext, name: str, document: IO[str], description: str | None) -> None:
    """Make managed policy NAME."""
    params: dict[str, Any] = {"PolicyName": name, "PolicyDocument": _read(document)}
    if description:
        params["Description"] = description
    made = _iam(cli).create_policy(**params)["Policy"]
    show(cli, made, [("PolicyName", made["PolicyName"]), ("Arn", made["Arn"])])


@policy.command("list")
@click.option("--scope", type=click.Choice(["All", "AWS", "Local"]), default="All")
@pass_cli
def list_policies(cli: CliContext, scope: str) -> None:
    """Managed policies."""
    found = _iam(cli).get_paginator("list_policies").paginate(Scope=scope).build_full_result()
    listing(
        cli,
        "Policies",
        found["Policies"],
        ["NAME", "ARN", "VERSION", "ATTACHMENTS"],
        lambda p: (p["PolicyName"], p["Arn"], p["DefaultVersionId"], p["AttachmentCount"]),
    )


@policy.command("get")
@click.argument("policy_ref", metavar="POLICY")
@pass_cli
def get_policy(cli: CliContext, policy_ref: str) -> None:
    """POLICY's default version, as JSON."""
    client = _iam(cli)
    arn = _policy_arn(cli, policy_ref)
    found = client.get_policy(PolicyArn=arn)["Policy"]
    version = client.get_policy_version(PolicyArn=arn, VersionId=found["DefaultVersionId"])
    document = version["PolicyVersion"]["Document"]
    if cli.output.is_json:
        cli.output.json({**found, "Document": document})
        return
    cli.output.text(json.dumps(document, indent=2))


@policy.command("update")
@click.argument("policy_ref", metavar="POLICY")
@DOCUMENT
@pass_cli
def update_policy(cli: CliContext, policy_ref: str, document: IO[str]) -> None:
    """Give POLICY a new default version."""
    arn = _policy_arn(cli, policy_ref)
    made = _iam(cli).create_policy_version(
        PolicyArn=arn, PolicyDocument=_read(document), SetAsDefault=True
    )["PolicyVersion"]
    done(cli, made, f"{arn}: version {made['VersionId']} is the default")


@policy.command("delete")
@click.argument("policy_ref", metavar="POLICY")
@pass_cli
def delete_policy(cli: CliContext, policy_ref: str) -> None:
    """Delete POLICY (it must be attached to nobody)."""
    arn = _policy_arn(cli, policy_ref)
    _iam(cli).delete_policy(PolicyArn=arn)
    done(cli, {"PolicyArn": arn}, f"deleted policy {arn}")


# -- roles --------------------------------------------------------------------------------------
@iam.group()
def role() -> None:
    """Roles: identities whose temporary credentials STS AssumeRole gives."""


@role.command("create")
@click.argument("name")
@click.option(
    "--trust-file",
    "trust",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="The trust policy (who may assume the role); - reads standard input.",
)
@click.option("--max-session-duration", type=int, default=3600, show_default=True)
@pass_cli
def create_role(cli: CliContext, name: str, trust: IO[str], max_session_duration: int) -> None:
    """Make role NAME."""
    made = _iam(cli).create_role(
        RoleName=name,
        AssumeRolePolicyDocument=_read(trust),
        MaxSessionDuration=max_session_duration,
    )["Role"]
    show(cli, made, [("RoleName", made["RoleName"]), ("Arn", made["Arn"])])


@role.command("list")
@pass_cli
def list_roles(cli: CliContext) -> None:
    """Every role."""
    roles = _iam(cli).get_paginator("list_roles").paginate().build_full_result()["Roles"]
    listing(
        cli,
        "Roles",
        roles,
        ["NAME", "ARN", "CREATED"],
        lambda r: (r["RoleName"], r["Arn"], r["CreateDate"]),
    )


@role.command("delete")
@click.argument("name")
@pass_cli
def delete_role(cli: CliContext, name: str) -> None:
    """Delete role NAME (it must have no policies left)."""
    _iam(cli).delete_role(RoleName=name)
    done(cli, {"RoleName": name}, f"deleted role {name}")


@role.command("attach")
@click.argument("name")
@click.argument("policy_ref", metavar="POLICY")
@pass_cli
def attach_role(cli: CliContext, name: str, policy_ref: str) -> None:
    """Attach managed POLICY to role NAME."""
    arn = _policy_arn(cli, policy_ref)
    _iam(cli).attach_role_policy(RoleName=name, PolicyArn=arn)
    done(cli, {"RoleName": name, "PolicyArn": arn}, f"attached {arn} to role {name}")


@role.command("detach")
@click.argument("name")
@click.argument("policy_ref", metavar="POLICY")
@pass_cli
def detach_role(cli: CliContext, name: str, policy_ref: str) -> None:
    """Detach managed POLICY from role NAME."""
    arn = _policy_arn(cli, policy_ref)
    _iam(cli).detach_role_policy(RoleName=name, PolicyArn=arn)
    done(cli, {"RoleName": name, "PolicyArn": arn}, f"detached {arn} from role {name}")


@role.command("put-policy")
@click.argument("name")
@click.argument("policy_name")
@DOCUMENT
@pass_cli
def put_role_policy(cli: CliContext, name: str, policy_name: str, document: IO[str]) -> None:
    """Create or replace inline policy POLICY_NAME of role NAME."""
    _iam(cli).put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=_read(document))
    done(cli, {"RoleName": name, "PolicyName": policy_name}, f"put policy {policy_name}")


# -- audit --------------------------------------------------------------------------------------
@iam.command()
@click.option("--principal", default=None, help="Only this principal's ARN.")
@click.option("--action", default=None, help="Only this action, e.g. kafka:DeleteCluster.")
@click.option("--since", default=None, help="Only from this time on (ISO 8601).")
@click.option("--max-results", type=click.IntRange(1, 1000), default=100, show_default=True)
@pass_cli
def audit(
    cli: CliContext,
    principal: str | None,
    action: str | None,
    since: str | None,
    max_results: int,
) -> None:
    """Refusals, newest first: API requests no policy allowed (or one denied), and refused
    broker sign-ins, each with why."""
    params: dict[str, Any] = {"maxResults": str(max_results)}
    for key, value in (("principal", principal), ("action", action), ("since", since)):
        if value:
            params[key] = value
    answer = cli.api.steward_route("GET", "/steward/v1/iam/audit", params=params)
    listing(
        cli,
        "records",
        answer["records"],
        ["TIME", "SOURCE", "PRINCIPAL", "ACTION", "RESOURCE", "DECISION", "WHY"],
        lambda r: tuple(
            r[name]
            for name in ("time", "source", "principal", "action", "resource", "decision", "reason")
        ),
    )
