"""`steward group ...`: a cluster's consumer groups through Steward's own routes
(`/steward/v1/clusters/{arn}/consumer-groups`), signed like the MSK API's requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import click

from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP

GROUP = click.argument("group", metavar="GROUP")


def _groups_path(cli: CliContext, cluster: str, group: str | None = None) -> str:
    path = f"/steward/v1/clusters/{quote(cli.api.cluster_arn(cluster), safe='')}/consumer-groups"
    return path if group is None else f"{path}/{quote(group, safe='')}"


def _partitions(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a list of partition numbers") from None


def _timestamp(value: str) -> int:
    """Epoch milliseconds, or an ISO 8601 date-time (local time when it names no zone)."""
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither epoch milliseconds nor an ISO 8601 date-time"
        ) from None


@click.group()
def group() -> None:
    """List consumer groups with their lag, describe one, reset its offsets, delete it."""


@group.command("list", epilog=CLUSTER_HELP)
@CLUSTER
@click.option("--prefix", help="Only groups whose id starts with this.")
@pass_cli
def list_groups(cli: CliContext, cluster: str, prefix: str | None) -> None:
    """List a cluster's consumer groups: state, members and total lag."""
    path = _groups_path(cli, cluster)
    groups: list[dict[str, Any]] = []
    params: dict[str, Any] = {"prefix": prefix} if prefix else {}
    while True:
        answer = cli.api.steward_route("GET", path, params=params)
        groups.extend(answer.get("consumerGroups", []))
        if not answer.get("nextToken"):
            break
        params = {**params, "nextToken": answer["nextToken"]}
    if cli.output.is_json:
        cli.output.json({"consumerGroups": groups})
        return
    cli.output.table(
        ["GROUP", "STATE", "PROTOCOL", "MEMBERS", "LAG"],
        [
            (g["groupId"], g["state"], g["protocolType"], g["members"], g["totalLag"])
            for g in groups
        ],
    )


@group.command(epilog=CLUSTER_HELP)
@CLUSTER
@GROUP
@pass_cli
def describe(cli: CliContext, cluster: str, group: str) -> None:
    """Show a group's members and, per partition, its committed offset, log end and lag."""
    found = cli.api.steward_route("GET", _groups_path(cli, cluster, group))
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.fields(
        [
            ("Group", found["groupId"]),
            ("State", found["state"]),
            ("Protocol", found["protocolType"]),
            ("Type", found["groupType"]),
            ("Coordinator", found["coordinator"]),
            ("Assignor", found["partitionAssignor"]),
            ("Members", len(found["members"])),
            ("Total lag", found["totalLag"]),
        ]
    )
    clients = {m["memberId"]: m for m in found["members"]}
    cli.output.text("")
    cli.output.table(
        ["TOPIC", "PARTITION", "COMMITTED", "LOG END", "LAG", "CLIENT", "HOST"],
        [
            (
                p["topic"],
                p["partition"],
                p["committedOffset"],
                p["logEndOffset"],
                p["lag"],
                clients.get(p["memberId"], {}).get("clientId"),
                clients.get(p["memberId"], {}).get("host"),
            )
            for p in found["partitions"]
        ],
    )


@group.command("reset-offsets", epilog=CLUSTER_HELP)
@CLUSTER
@GROUP
@click.option("--topic", required=True, help="The topic whose offsets move.")
@click.option("--partitions", metavar="P,P,...", help="Only these partitions  [default: all]")
@click.option("--to-earliest", is_flag=True, help="To the first offset Kafka still has.")
@click.option("--to-latest", is_flag=True, help="To the log end: skip everything there is.")
@click.option(
    "--to-timestamp",
    metavar="WHEN",
    help="To the first message at or after WHEN: epoch milliseconds or an ISO 8601 date-time.",
)
@click.option(
    "--to-offset",
    type=click.IntRange(min=0),
    help="To this offset (kept between the first offset and the log end).",
)
@click.option("--dry-run", is_flag=True, help="Only show where the offsets would go.")
@pass_cli
def reset_offsets(
    cli: CliContext,
    cluster: str,
    group: str,
    topic: str,
    partitions: str | None,
    to_earliest: bool,
    to_latest: bool,
    to_timestamp: str | None,
    to_offset: int | None,
    dry_run: bool,
) -> None:
    """Move a group's committed offsets of one topic, as kafka-consumer-groups --reset-offsets
    does. The group must have no active members."""
    targets = {
        "earliest": to_earliest,
        "latest": to_latest,
        "timestamp": to_timestamp is not None,
        "offset": to_offset is not None,
    }
    chosen = [name for name, given in targets.items() if given]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --to-earliest, --to-latest, --to-timestamp, --to-offset"
        )
    body: dict[str, Any] = {"topic": topic, "to": chosen[0], "dryRun": dry_run}
    if to_timestamp is not None:
        body["timestamp"] = _timestamp(to_timestamp)
    if to_offset is not None:
        body["offset"] = to_offset
    wanted = _partitions(partitions)
    if wanted is not None:
        body["partitions"] = wanted
    path = f"{_groups_path(cli, cluster, group)}/reset-offsets"
    answer = cli.api.steward_route("POST", path, body=body)
    if cli.output.is_json:
        cli.output.json(answer)
        return
    cli.output.table(
        ["TOPIC", "PARTITION", "PREVIOUS", "NEW"],
        [
            (p["topic"], p["partition"], p["previousOffset"], p["newOffset"])
            for p in answer["partitions"]
        ],
    )
    if answer["dryRun"]:
        cli.output.note("Dry run: nothing changed.")
    else:
        cli.output.note(f"Offsets of group {group} reset.")


@group.command(epilog=CLUSTER_HELP)
@CLUSTER
@GROUP
@pass_cli
def delete(cli: CliContext, cluster: str, group: str) -> None:
    """Delete a consumer group and its committed offsets (it must have no active members)."""
    answer = cli.api.steward_route("DELETE", _groups_path(cli, cluster, group))
    if cli.output.is_json:
        cli.output.json(answer)
    else:
        cli.output.text(f"Consumer group {group} deleted.")
