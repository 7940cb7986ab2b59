"""`steward rebalance ...`: look at the plan that would balance a cluster (nothing moves), run
it, follow it, and turn continuous balancing on or off (MSK's UpdateRebalancing)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP


def _path(cli: CliContext, cluster: str, tail: str = "") -> str:
    return f"/steward/v1/clusters/{quote(cli.api.cluster_arn(cluster), safe='')}/rebalance{tail}"


def _gib(value: float) -> str:
    return f"{value / 1024**3:.2f} GiB"


@click.group()
def rebalance() -> None:
    """Balance a cluster's replicas and leaders over its brokers."""


@rebalance.command("plan", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def plan(cli: CliContext, cluster: str) -> None:
    """Show what a rebalance would move now, and each goal's imbalance before and after (a dry
    run: nothing moves)."""
    found = cli.api.steward_route("GET", _path(cli, cluster, "/plan"))
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.text(
        f"{found['moves']} replicas to move ({_gib(found['bytesToMove'])}), "
        f"{found['leadershipChanges']} leadership changes, about "
        f"{found['estimatedSeconds']:.0f} s at the throttle"
    )
    cli.output.table(
        ["GOAL", "BEFORE", "AFTER", "MET"],
        [
            (g["goal"], f"{g['before']:.1%}", f"{g['after']:.1%}", "yes" if g["met"] else "no")
            for g in found["goals"]
        ],
    )
    for note in found.get("notes", []):
        cli.output.text(note)


@rebalance.command("apply", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def apply(cli: CliContext, cluster: str) -> None:
    """Start a rebalance: a cluster operation that plans and moves replicas in throttled
    batches."""
    found = cli.api.steward_route("POST", _path(cli, cluster))
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.text(f"Rebalance started: {found['clusterOperationArn']}")


@rebalance.command("status", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def status(cli: CliContext, cluster: str) -> None:
    """Continuous balancing's setting and the last rebalance: its state and progress."""
    found = cli.api.steward_route("GET", _path(cli, cluster))
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.text(
        f"Continuous balancing: {found['status']} (threshold {found['imbalanceThreshold']:.0%})"
    )
    last: dict[str, Any] | None = found.get("lastRebalance")
    if last is None:
        cli.output.text("No rebalance yet.")
        return
    plan = last.get("plan") or {}
    batches = last.get("batches") or {}
    cli.output.text(
        f"Last rebalance {last['operationArn']}: {last['operationState']}; "
        f"{plan.get('moves', 0)} moves ({_gib(plan.get('bytes_moved', 0))}), "
        f"{batches.get('batches', 0)} batches started"
    )
    if batches.get("waiting_for"):
        cli.output.text(f"Waiting: {batches['waiting_for']}")


@rebalance.command("continuous", epilog=CLUSTER_HELP)
@CLUSTER
@click.argument("setting", type=click.Choice(["on", "off"]))
@click.option("--threshold", type=float, help="Imbalance (fraction of the mean) that triggers.")
@pass_cli
def continuous(cli: CliContext, cluster: str, setting: str, threshold: float | None) -> None:
    """Turn continuous balancing on (ACTIVE) or off (PAUSED)."""
    arn = cli.api.cluster_arn(cluster)
    rebalancing: dict[str, Any] = {"Status": "ACTIVE" if setting == "on" else "PAUSED"}
    if threshold is not None:
        # Steward's own member beside MSK's Status: the raw route, as boto3 would drop it.
        cli.api.steward_route(
            "PUT",
            f"/v1/clusters/{quote(arn, safe='')}/rebalancing",
            body={
                "currentVersion": cli.api.current_version(arn),
                "rebalancing": {"status": rebalancing["Status"], "imbalanceThreshold": threshold},
            },
        )
    else:
        cli.api.client.update_rebalancing(
            ClusterArn=arn,
            CurrentVersion=cli.api.current_version(arn),
            Rebalancing=rebalancing,
        )
    cli.output.text(f"Continuous balancing {rebalancing['Status']}")
