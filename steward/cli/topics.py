"""`steward topic ...`: a cluster's Kafka topics through MSK's Topics API."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import click

from steward.cli.clusters import key_values
from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP

TOPIC = click.argument("topic", metavar="TOPIC")
DEFAULT_REPLICATION_FACTOR = 3
CONFIG = click.option(
    "--config",
    "configs",
    multiple=True,
    callback=key_values,
    metavar="KEY=VALUE",
    help="A topic setting (retention.ms=86400000, cleanup.policy=compact, ...); repeatable.",
)


def encode_configs(configs: dict[str, str]) -> str:
    """MSK's `configs` member: base64 of a JSON object of strings."""
    return base64.b64encode(json.dumps(configs, sort_keys=True).encode()).decode()


def decode_configs(value: str | None) -> dict[str, str]:
    """The settings in a DescribeTopic answer's `Configs` (base64 of a JSON object)."""
    if not value:
        return {}
    try:
        decoded = json.loads(base64.b64decode(value))
    except (binascii.Error, ValueError):
        return {}
    return {str(k): str(v) for k, v in decoded.items()} if isinstance(decoded, dict) else {}


@click.group()
def topic() -> None:
    """List, create, change and delete the Kafka topics of a cluster."""


@topic.command("list", epilog=CLUSTER_HELP)
@CLUSTER
@click.option("--prefix", help="Only topics whose name starts with this.")
@pass_cli
def list_topics(cli: CliContext, cluster: str, prefix: str | None) -> None:
    """List a cluster's topics (internal ones included)."""
    params: dict[str, Any] = {"ClusterArn": cli.api.cluster_arn(cluster)}
    if prefix:
        params["TopicNameFilter"] = prefix
    topics = cli.api.paginate("list_topics", "Topics", **params)
    if cli.output.is_json:
        cli.output.json({"Topics": topics})
        return
    cli.output.table(
        ["NAME", "PARTITIONS", "REPLICATION", "OUT OF SYNC", "BROKERS"],
        [
            (
                t.get("TopicName"),
                t.get("PartitionCount"),
                t.get("ReplicationFactor"),
                t.get("OutOfSyncReplicaCount"),
                t.get("ReplicaIds"),
            )
            for t in topics
        ],
    )


@topic.command(epilog=CLUSTER_HELP)
@CLUSTER
@TOPIC
@pass_cli
def describe(cli: CliContext, cluster: str, topic: str) -> None:
    """Show a topic and its settings (its own and the ones it inherits)."""
    response = cli.api.client.describe_topic(
        ClusterArn=cli.api.cluster_arn(cluster), TopicName=topic
    )
    if cli.output.is_json:
        cli.output.json(response)
        return
    cli.output.fields(
        [
            ("Name", response.get("TopicName")),
            ("ARN", response.get("TopicArn")),
            ("Status", response.get("Status")),
            ("Partitions", response.get("PartitionCount")),
            ("Replication factor", response.get("ReplicationFactor")),
            ("Brokers", response.get("ReplicaIds")),
        ]
    )
    configs = decode_configs(response.get("Configs"))
    if configs:
        cli.output.text("")
        cli.output.text("\n".join(f"{key}={value}" for key, value in sorted(configs.items())))


@topic.command(epilog=CLUSTER_HELP)
@CLUSTER
@TOPIC
@click.option(
    "--partitions", type=click.IntRange(min=1), default=1, show_default=True, help="Partitions."
)
@click.option(
    "--replication-factor",
    type=click.IntRange(min=1),
    help=f"Replicas of each partition  [default: {DEFAULT_REPLICATION_FACTOR}, or the number of "
    "brokers when the cluster has fewer]",
)
@CONFIG
@pass_cli
def create(
    cli: CliContext,
    cluster: str,
    topic: str,
    partitions: int,
    replication_factor: int | None,
    configs: dict[str, str],
) -> None:
    """Create topic TOPIC."""
    api = cli.api
    arn = api.cluster_arn(cluster)
    if replication_factor is None:
        info = api.client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
        brokers = (info.get("Provisioned") or {}).get("NumberOfBrokerNodes")
        replication_factor = min(DEFAULT_REPLICATION_FACTOR, int(brokers or 1))
    params: dict[str, Any] = {
        "ClusterArn": arn,
        "TopicName": topic,
        "PartitionCount": partitions,
        "ReplicationFactor": replication_factor,
    }
    if configs:
        params["Configs"] = encode_configs(configs)
    response = api.client.create_topic(**params)
    if cli.output.is_json:
        cli.output.json(response)
        return
    cli.output.text(
        f"Topic {topic} created ({response.get('Status')}; {partitions} partitions, "
        f"replication factor {replication_factor}): {response.get('TopicArn')}"
    )


@topic.command(epilog=CLUSTER_HELP)
@CLUSTER
@TOPIC
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    help="The new number of partitions (more than now: partitions only grow).",
)
@CONFIG
@click.option(
    "--reset-configs",
    is_flag=True,
    help="Remove every setting of the topic's own: it inherits the cluster's values.",
)
@pass_cli
def update(
    cli: CliContext,
    cluster: str,
    topic: str,
    partitions: int | None,
    configs: dict[str, str],
    reset_configs: bool,
) -> None:
    """Grow a topic's partitions, or replace its settings.

    With --config, the topic's own settings become exactly the ones given: any other setting of
    its own goes back to the cluster's value."""
    if configs and reset_configs:
        raise click.UsageError("--config and --reset-configs exclude each other")
    if partitions is None and not configs and not reset_configs:
        raise click.UsageError("give --partitions, --config or --reset-configs")
    params: dict[str, Any] = {"ClusterArn": cli.api.cluster_arn(cluster), "TopicName": topic}
    if partitions is not None:
        params["PartitionCount"] = partitions
    if configs or reset_configs:
        params["Configs"] = encode_configs(configs)
    response = cli.api.client.update_topic(**params)
    if cli.output.is_json:
        cli.output.json(response)
    else:
        cli.output.text(f"Topic {topic} updated ({response.get('Status')}).")


@topic.command(epilog=CLUSTER_HELP)
@CLUSTER
@TOPIC
@pass_cli
def delete(cli: CliContext, cluster: str, topic: str) -> None:
    """Delete a topic and its data."""
    response = cli.api.client.delete_topic(ClusterArn=cli.api.cluster_arn(cluster), TopicName=topic)
    if cli.output.is_json:
        cli.output.json(response)
    else:
        cli.output.text(f"Topic {topic} deleted.")


@topic.command(epilog=CLUSTER_HELP)
@CLUSTER
@TOPIC
@pass_cli
def partitions(cli: CliContext, cluster: str, topic: str) -> None:
    """Show each partition's leader, replicas and in-sync replicas."""
    found = cli.api.paginate(
        "describe_topic_partitions",
        "Partitions",
        ClusterArn=cli.api.cluster_arn(cluster),
        TopicName=topic,
    )
    if cli.output.is_json:
        cli.output.json({"Partitions": found})
        return
    cli.output.table(
        ["PARTITION", "LEADER", "REPLICAS", "ISR"],
        [
            (
                p.get("Partition"),
                p.get("Leader") if p.get("Leader", -1) >= 0 else None,
                p.get("Replicas"),
                p.get("Isr"),
            )
            for p in found
        ],
    )
