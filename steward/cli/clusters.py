"""`steward cluster ...`: create, inspect and delete provisioned clusters (the commands that change
one live in steward/cli/updates.py)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import click

from steward.cli.progress import wait_for_cluster
from steward.client.api import CliError
from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP
from steward.kafka.distribution import DEFAULT_KAFKA_VERSION
from steward.kafka.instance_types import is_express

DEFAULT_WAIT_TIMEOUT = 900.0
DEFAULT_VOLUME_SIZE_GB = 100
"""The CLI's storage per Standard broker when --volume-size is left out (MSK's API default, 1000
GiB, is more than a laptop has)."""


def key_values(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """Repeated KEY=VALUE options as a dict (a callback)."""
    pairs = {}
    for value in values:
        key, sep, pair_value = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE")
        pairs[key] = pair_value
    return pairs


def _zones(_ctx: click.Context, _param: click.Parameter, value: str) -> list[str]:
    zones = [zone.strip() for zone in value.split(",") if zone.strip()]
    if not zones:
        raise click.BadParameter("name at least one zone")
    return zones


def _provisioned(info: dict[str, Any]) -> dict[str, Any]:
    return info.get("Provisioned") or {}


def _kafka_version(info: dict[str, Any]) -> str | None:
    software: dict[str, Any] = _provisioned(info).get("CurrentBrokerSoftwareInfo") or {}
    return software.get("KafkaVersion")


def _zones_of(info: dict[str, Any]) -> list[str]:
    """The zones the brokers are spread over (`ZoneIds`; the client subnets may be subnet ids
    that stand for them)."""
    group = _provisioned(info).get("BrokerNodeGroupInfo") or {}
    return list(group.get("ZoneIds") or group.get("ClientSubnets") or [])


def _subnets_if_not_zones(info: dict[str, Any]) -> list[str] | None:
    """The client subnets, where they are not simply the zones' names."""
    subnets = (_provisioned(info).get("BrokerNodeGroupInfo") or {}).get("ClientSubnets")
    return subnets if subnets and subnets != _zones_of(info) else None


def _in_transit(provisioned: dict[str, Any]) -> str | None:
    """MSK's EncryptionInTransit in words, e.g. "TLS between clients and brokers, in cluster
    too"."""
    transit = (provisioned.get("EncryptionInfo") or {}).get("EncryptionInTransit")
    if not transit:
        return None
    inside = "in cluster too" if transit.get("InCluster") else "not in cluster"
    return f"{transit.get('ClientBroker')} between clients and brokers, {inside}"


def _cluster_fields(info: dict[str, Any]) -> list[tuple[str, Any]]:
    provisioned = _provisioned(info)
    group = provisioned.get("BrokerNodeGroupInfo") or {}
    storage = (group.get("StorageInfo") or {}).get("EbsStorageInfo") or {}
    software = provisioned.get("CurrentBrokerSoftwareInfo") or {}
    state_info = info.get("StateInfo") or {}
    configuration = None
    if software.get("ConfigurationArn"):
        configuration = (
            f"{software['ConfigurationArn']} (revision {software.get('ConfigurationRevision')})"
        )
    volume = storage.get("VolumeSize")
    return [
        ("Name", info.get("ClusterName")),
        ("ARN", info.get("ClusterArn")),
        ("State", info.get("State")),
        (
            "State info",
            f"{state_info.get('Code')}: {state_info.get('Message')}" if state_info else None,
        ),
        ("Type", info.get("ClusterType")),
        ("Kafka version", software.get("KafkaVersion")),
        ("Brokers", provisioned.get("NumberOfBrokerNodes")),
        ("Instance type", group.get("InstanceType")),
        ("Zones", _zones_of(info) or None),
        ("Client subnets", _subnets_if_not_zones(info)),
        ("Security groups", group.get("SecurityGroups") or None),
        ("Volume size", f"{volume} GiB" if volume is not None else None),
        ("Configuration", configuration),
        ("Encryption in transit", _in_transit(provisioned)),
        ("Created", info.get("CreationTime")),
        ("Current version", info.get("CurrentVersion")),
        ("Active operation", info.get("ActiveOperationArn")),
        ("Tags", ", ".join(f"{k}={v}" for k, v in sorted((info.get("Tags") or {}).items()))),
    ]


@click.group()
def cluster() -> None:
    """Create, inspect, change and delete Kafka clusters."""


@cluster.command()
@click.argument("name")
@click.option(
    "--brokers",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Number of broker nodes (a multiple of the number of zones).",
)
@click.option(
    "--zones",
    default="az-a,az-b,az-c",
    show_default=True,
    callback=_zones,
    help="Comma-separated availability zones (MSK's client subnets).",
)
@click.option("--instance-type", default="kafka.m5.large", show_default=True)
@click.option("--kafka-version", default=DEFAULT_KAFKA_VERSION, show_default=True)
@click.option(
    "--volume-size",
    type=click.IntRange(min=1),
    help="Storage per broker, GiB  [default: 100; Express types: managed, not set]",
)
@click.option("--configuration", help="ARN or name of a configuration to apply.")
@click.option(
    "--configuration-revision",
    type=click.IntRange(min=1),
    help="Revision of --configuration  [default: its latest]",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    callback=key_values,
    metavar="KEY=VALUE",
    help="A tag for the cluster; repeatable.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the cluster is ACTIVE (or FAILED).",
)
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_WAIT_TIMEOUT,
    show_default=True,
    help="Seconds to wait.",
)
@click.option(
    "--client-broker",
    type=click.Choice(["TLS", "TLS_PLAINTEXT", "PLAINTEXT"]),
    default="TLS",
    show_default=True,
    help="Encryption between clients and brokers: TLS only (port 9094), both, or plaintext "
    "only (port 9092).",
)
@click.option(
    "--in-cluster/--no-in-cluster",
    default=True,
    show_default=True,
    help="TLS between the brokers and to the KRaft controllers.",
)
@pass_cli
def create(
    cli: CliContext,
    name: str,
    brokers: int,
    zones: list[str],
    instance_type: str,
    kafka_version: str,
    volume_size: int | None,
    configuration: str | None,
    configuration_revision: int | None,
    tags: dict[str, str],
    wait: bool,
    timeout: float,
    client_broker: str,
    in_cluster: bool,
) -> None:
    """Create a provisioned cluster NAME and wait until it is ACTIVE.

    Like MSK, brokers take only TLS by default; `steward cluster ca-certificate` prints the CA
    certificate clients trust.

    With --output json this prints the final DescribeClusterV2 response (or the CreateClusterV2
    response with --no-wait); progress goes to stderr.
    """
    if configuration_revision is not None and configuration is None:
        raise click.UsageError("--configuration-revision needs --configuration")
    api = cli.api
    provisioned: dict[str, Any] = {
        "KafkaVersion": kafka_version,
        "NumberOfBrokerNodes": brokers,
        "BrokerNodeGroupInfo": {"InstanceType": instance_type, "ClientSubnets": zones},
        "EncryptionInfo": {
            "EncryptionInTransit": {"ClientBroker": client_broker, "InCluster": in_cluster}
        },
    }
    if volume_size is not None or not is_express(instance_type):
        provisioned["BrokerNodeGroupInfo"]["StorageInfo"] = {
            "EbsStorageInfo": {"VolumeSize": volume_size or DEFAULT_VOLUME_SIZE_GB}
        }
    if configuration is not None:
        provisioned["ConfigurationInfo"] = api.configuration_info(
            configuration, configuration_revision
        )
    params: dict[str, Any] = {"ClusterName": name, "Provisioned": provisioned}
    if tags:
        params["Tags"] = tags
    started = time.monotonic()
    created = api.client.create_cluster_v2(**params)
    out = cli.output
    if not wait:
        if out.is_json:
            out.json(created)
        else:
            out.text(f"Cluster {name} is {created.get('State')}: {created['ClusterArn']}")
        return
    info = wait_for_cluster(
        api, created["ClusterArn"], "ACTIVE", f"cluster {name}", out.err, timeout
    )
    assert info is not None
    if out.is_json:
        out.json({"ClusterInfo": info})
    if info["State"] == "FAILED":
        state_info = info.get("StateInfo") or {}
        raise CliError(
            f"Error ({state_info.get('Code', 'CreateFailed')}): cluster {name} FAILED: "
            f"{state_info.get('Message', 'no reason given')}"
        )
    if not out.is_json:
        bootstrap = api.client.get_bootstrap_brokers(ClusterArn=info["ClusterArn"])
        out.text(f"Cluster {name} is ACTIVE after {time.monotonic() - started:.0f} s.")
        brokers = bootstrap.get("BootstrapBrokerString") or bootstrap.get(
            "BootstrapBrokerStringTls"
        )
        out.fields([*_cluster_fields(info), ("Bootstrap brokers", brokers)])


@cluster.command("list")
@click.option("--name-prefix", help="Only clusters whose name starts with this.")
@pass_cli
def list_clusters(cli: CliContext, name_prefix: str | None) -> None:
    """List clusters."""
    params = {"ClusterNameFilter": name_prefix} if name_prefix else {}
    clusters = cli.api.paginate("list_clusters_v2", "ClusterInfoList", **params)
    out = cli.output
    if out.is_json:
        out.json({"ClusterInfoList": clusters})
        return
    out.table(
        ["NAME", "STATE", "BROKERS", "KAFKA", "ZONES", "CREATED", "ARN"],
        [
            (
                c.get("ClusterName"),
                c.get("State"),
                _provisioned(c).get("NumberOfBrokerNodes"),
                _kafka_version(c),
                _zones_of(c),
                c.get("CreationTime"),
                c.get("ClusterArn"),
            )
            for c in clusters
        ],
    )


@cluster.command(epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def describe(cli: CliContext, cluster: str) -> None:
    """Show one cluster (DescribeClusterV2)."""
    response = cli.api.client.describe_cluster_v2(ClusterArn=cli.api.cluster_arn(cluster))
    if cli.output.is_json:
        cli.output.json(response)
    else:
        cli.output.fields(_cluster_fields(response["ClusterInfo"]))


@cluster.command(epilog=CLUSTER_HELP)
@CLUSTER
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Wait until the cluster is gone."
)
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_WAIT_TIMEOUT,
    show_default=True,
    help="Seconds to wait.",
)
@pass_cli
def delete(cli: CliContext, cluster: str, wait: bool, timeout: float) -> None:
    """Delete a cluster: stop its Kafka nodes and remove their data."""
    api = cli.api
    arn = api.cluster_arn(cluster)
    response = api.client.delete_cluster(ClusterArn=arn)
    out = cli.output
    if wait:
        wait_for_cluster(api, arn, "DELETED", f"cluster {cluster}", out.err, timeout)
    if out.is_json:
        out.json(response)
    else:
        out.text(f"Cluster {cluster} {'deleted' if wait else 'is ' + response.get('State', '')}.")


@cluster.command("bootstrap-brokers", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def bootstrap_brokers(cli: CliContext, cluster: str) -> None:
    """Print the bootstrap broker string clients connect with."""
    response = cli.api.client.get_bootstrap_brokers(ClusterArn=cli.api.cluster_arn(cluster))
    if cli.output.is_json:
        cli.output.json(response)
        return
    brokers = response.get("BootstrapBrokerString") or response.get("BootstrapBrokerStringTls")
    if not brokers:
        raise CliError("Error: the cluster has no bootstrap brokers (yet).")
    cli.output.text(brokers)


@cluster.command("ca-certificate", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def ca_certificate(cli: CliContext, cluster: str) -> None:
    """Print the PEM certificate of the cluster's CA, for clients of its TLS listeners (e.g.
    `ssl.ca.location` of librdkafka, `ssl.truststore.location` with `ssl.truststore.type=PEM` of
    Kafka's Java clients)."""
    arn = cli.api.cluster_arn(cluster)
    answer = cli.api.steward_route(
        "GET", f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate"
    )
    if cli.output.is_json:
        cli.output.json(answer)
        return
    cli.output.text(str(answer["certificatePem"]).strip())


@cluster.command("sign-in-refusals", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def sign_in_refusals(cli: CliContext, cluster: str) -> None:
    """The IAM sign-ins the cluster's brokers refused, oldest first, each with the check that
    failed (unknown key, bad signature, expired, wrong host, clock skew, missing token, ...)."""
    arn = cli.api.cluster_arn(cluster)
    answer = cli.api.steward_route(
        "GET", f"/steward/v1/clusters/{quote(arn, safe='')}/sign-in-refusals"
    )
    if cli.output.is_json:
        cli.output.json(answer)
        return
    cli.output.table(
        ["TIME", "BROKER", "MECHANISM", "ACCESS KEY", "REASON", "DETAIL"],
        [
            (r["time"], r["brokerId"], r["mechanism"], r["accessKeyId"], r["reason"], r["detail"])
            for r in answer["signInRefusals"]
        ],
    )


@cluster.command("health", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def health(cli: CliContext, cluster: str) -> None:
    """What Steward's health monitor last saw: each node, Kafka's own view, faults found."""
    arn = cli.api.cluster_arn(cluster)
    report = cli.api.steward_route("GET", f"/steward/v1/clusters/{quote(arn, safe='')}/health")
    if cli.output.is_json:
        cli.output.json(report)
        return
    cli.output.text(f"{report['status']}")
    if report["status"] == "UNKNOWN":
        return
    cli.output.table(
        ["NODE", "ROLE", "ZONE", "STATE", "PID", "RESTARTS", "ANSWERS", "VOLUME"],
        [
            (
                n["nodeId"],
                n["role"].lower(),
                n["zone"],
                n["state"] or ("agent unreachable" if not n["agentReachable"] else "unknown"),
                n["pid"],
                n["restarts"],
                {True: "yes", False: "no", None: "-"}[n["answers"]],
                _volume_use(n.get("volumeSizeBytes"), n.get("volumeUsedBytes")),
            )
            for n in report["nodes"]
        ],
    )
    kafka = report.get("kafka") or {}
    cli.output.text(
        "live brokers {}; partitions {}: {} under-replicated, {} offline, {} under min ISR; "
        "quorum leader {}, max lag {}".format(
            kafka.get("servingBrokers"),
            kafka.get("partitions"),
            kafka.get("underReplicatedPartitions"),
            kafka.get("offlinePartitions"),
            kafka.get("underMinIsrPartitions"),
            kafka.get("quorumLeader"),
            kafka.get("quorumMaxLag"),
        )
    )
    for finding in report.get("findings", []):
        cli.output.text(f"fault: {finding['reason']}")


@cluster.command("status", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def status(cli: CliContext, cluster: str) -> None:
    """Where the cluster stands against its spec: generations, conditions, recent restarts."""
    arn = cli.api.cluster_arn(cluster)
    report = cli.api.steward_route("GET", f"/steward/v1/clusters/{quote(arn, safe='')}/status")
    if cli.output.is_json:
        cli.output.json(report)
        return
    cli.output.text(
        f"generation {report['generation']}, converged on {report['observedGeneration']}"
    )
    cli.output.table(
        ["CONDITION", "STATUS", "REASON", "MESSAGE"],
        [(c["type"], c["status"], c["reason"], c["message"]) for c in report["conditions"]],
    )
    for finding in report["findings"]:
        cli.output.text(f"fault: {finding['reason']}")
    if report["restarts"]:
        cli.output.table(
            ["TIME", "NODE", "WHY"],
            [(r["time"], r["nodeId"], r["reason"]) for r in report["restarts"]],
        )


def _node_row(node: dict[str, Any]) -> tuple[Any, ...]:
    node_id = str(node.get("NodeARN", "")).rsplit("/", 1)[-1] or "-"
    if "BrokerNodeInfo" in node:
        broker = node["BrokerNodeInfo"]
        return (
            broker.get("BrokerId", node_id),
            "broker",
            broker.get("ClientSubnet"),
            broker.get("Endpoints"),
            node.get("InstanceType"),
        )
    controller = node.get("ControllerNodeInfo") or {}
    return (node_id, "controller", None, controller.get("Endpoints"), node.get("InstanceType"))


def _node_id(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


@cluster.command(epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def nodes(cli: CliContext, cluster: str) -> None:
    """List the brokers and KRaft controllers of a cluster."""
    infos = cli.api.paginate("list_nodes", "NodeInfoList", ClusterArn=cli.api.cluster_arn(cluster))
    if cli.output.is_json:
        cli.output.json({"NodeInfoList": infos})
        return
    rows = sorted((_node_row(n) for n in infos), key=lambda r: (r[1] != "broker", _node_id(r[0])))
    cli.output.table(["ID", "ROLE", "ZONE", "ENDPOINTS", "INSTANCE TYPE"], rows)


@cluster.command(epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def operations(cli: CliContext, cluster: str) -> None:
    """List the operations (create, delete, ...) of a cluster."""
    ops = cli.api.paginate(
        "list_cluster_operations_v2",
        "ClusterOperationInfoList",
        ClusterArn=cli.api.cluster_arn(cluster),
    )
    if cli.output.is_json:
        cli.output.json({"ClusterOperationInfoList": ops})
        return
    cli.output.table(
        ["TYPE", "STATE", "STARTED", "ENDED", "ARN"],
        [
            (
                op.get("OperationType"),
                op.get("OperationState"),
                op.get("StartTime"),
                op.get("EndTime"),
                op.get("OperationArn"),
            )
            for op in ops
        ],
    )


def _volume_use(size: int | None, used: int | None) -> str:
    """ "42% of 10.0 GiB" for a node with a volume of its own, "-" for one without."""
    if not size or used is None:
        return "-"
    return f"{100 * used / size:.0f}% of {size / 1024**3:.1f} GiB"
