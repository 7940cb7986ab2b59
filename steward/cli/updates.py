"""`steward cluster ...` commands that change a running cluster, and `steward cluster operation`,
which shows the cluster operation carrying a change out.

Every change is one MSK update call answered at once with an operation ARN; unless --no-wait, the
command then follows that operation until it is UPDATE_COMPLETE or UPDATE_FAILED, showing its
steps on stderr. The updates that need it read the cluster's CurrentVersion just before asking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from steward.cli.progress import UPDATE_FAILED, operation_steps, wait_for_operation
from steward.client.api import Api, CliError
from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP
from steward.client.output import Output

DEFAULT_UPDATE_TIMEOUT = 1800.0
"""Rolling restarts and partition moves take longer than creating a cluster."""

WAIT = click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the operation is UPDATE_COMPLETE (or UPDATE_FAILED).",
)
TIMEOUT = click.option(
    "--timeout",
    type=float,
    default=DEFAULT_UPDATE_TIMEOUT,
    show_default=True,
    help="Seconds to wait.",
)
UPDATE_HELP = (
    f"{CLUSTER_HELP} With --output json this prints the final DescribeClusterOperationV2 "
    "response (or the update's response with --no-wait); progress goes to stderr. A failed "
    "operation exits 1 with its error."
)

Update = Callable[[Api, str], dict[str, Any]]
"""Sends one update for the cluster with this ARN; returns {ClusterArn, ClusterOperationArn}."""


def _versioned(call: str, **params: Any) -> Update:
    """An update that names the cluster's CurrentVersion, read just before it is sent."""

    def send(api: Api, arn: str) -> dict[str, Any]:
        method = getattr(api.client, call)
        response: dict[str, Any] = method(
            ClusterArn=arn, CurrentVersion=api.current_version(arn), **params
        )
        return response

    return send


def _update(
    cli: CliContext, cluster: str, action: str, send: Update, wait: bool, timeout: float
) -> None:
    """Start one update of CLUSTER and, with `wait`, follow its operation to the end."""
    api = cli.api
    started = send(api, api.cluster_arn(cluster))
    out = cli.output
    operation_arn = started["ClusterOperationArn"]
    if not wait:
        if out.is_json:
            out.json(started)
        else:
            out.text(f"Cluster {cluster}: {action} started: {operation_arn}")
        return
    began = time.monotonic()
    response = wait_for_operation(
        api, operation_arn, f"cluster {cluster}: {action}", out.err, timeout
    )
    info: dict[str, Any] = response.get("ClusterOperationInfo") or {}
    if out.is_json:
        out.json(response)
    kind = info.get("OperationType") or "update"
    if info.get("OperationState") == UPDATE_FAILED:
        error = info.get("ErrorInfo") or {}
        raise CliError(
            f"Error ({error.get('ErrorCode') or 'UpdateFailed'}): {kind} of cluster {cluster} "
            f"failed: {error.get('ErrorString') or 'no reason given'} ({operation_arn})"
        )
    if not out.is_json:
        out.text(f"Cluster {cluster}: {kind} complete after {time.monotonic() - began:.0f} s.")
        out.fields(_changes(info))


# --- describing an operation ----------------------------------------------------------------------
def _settings(info: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of an MSK MutableClusterInfo the CLI shows, by label."""
    info = info or {}
    sizes = sorted(
        {v["VolumeSizeGB"] for v in info.get("BrokerEBSVolumeInfo") or [] if "VolumeSizeGB" in v}
    )
    configuration = info.get("ConfigurationInfo") or {}
    return {
        "Brokers": info.get("NumberOfBrokerNodes"),
        "Kafka version": info.get("KafkaVersion"),
        "Instance type": info.get("InstanceType"),
        "Volume size": ", ".join(f"{size} GiB" for size in sizes) or None,
        "Configuration": (
            f"{configuration['Arn']} (revision {configuration.get('Revision')})"
            if configuration.get("Arn")
            else None
        ),
    }


def _source_and_target(info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    provisioned = info.get("Provisioned") or {}
    return _settings(provisioned.get("SourceClusterInfo")), _settings(
        provisioned.get("TargetClusterInfo")
    )


def _changes(info: dict[str, Any]) -> list[tuple[str, Any]]:
    """`label, "source -> target"` for each setting the operation changes."""
    source, target = _source_and_target(info)
    return [
        (label, f"{source[label] if source[label] is not None else '-'} -> {after}")
        for label, after in target.items()
        if after is not None and after != source[label]
    ]


def _error_text(info: dict[str, Any]) -> str | None:
    error = info.get("ErrorInfo") or {}
    if not error:
        return None
    return ": ".join(
        str(part) for part in (error.get("ErrorCode"), error.get("ErrorString")) if part
    )


def show_operation(out: Output, info: dict[str, Any]) -> None:
    out.fields(
        [
            ("ARN", info.get("OperationArn")),
            ("Cluster", info.get("ClusterArn")),
            ("Type", info.get("OperationType")),
            ("State", info.get("OperationState")),
            ("Started", info.get("StartTime")),
            ("Ended", info.get("EndTime")),
            ("Error", _error_text(info)),
        ]
    )
    steps = operation_steps(info)
    if steps:
        out.text("")
        out.table(["STEP", "STATUS"], steps)
    source, target = _source_and_target(info)
    rows = [(label, source[label], target[label]) for label in source]
    if any(s is not None or t is not None for _, s, t in rows):
        out.text("")
        out.table(["SETTING", "SOURCE", "TARGET"], rows)


@click.command(epilog="OPERATION_ARN is what an update printed, or `steward cluster operations`.")
@click.argument("operation_arn", metavar="OPERATION_ARN")
@pass_cli
def operation(cli: CliContext, operation_arn: str) -> None:
    """Show one cluster operation: its state, steps, source and target, and error."""
    response = cli.api.client.describe_cluster_operation_v2(ClusterOperationArn=operation_arn)
    if cli.output.is_json:
        cli.output.json(response)
    else:
        show_operation(cli.output, response.get("ClusterOperationInfo") or {})


# --- the changes ----------------------------------------------------------------------------------
@click.command(epilog=UPDATE_HELP)
@CLUSTER
@click.option(
    "--brokers", type=click.IntRange(min=1), required=True, help="The new number of brokers."
)
@WAIT
@TIMEOUT
@pass_cli
def scale(cli: CliContext, cluster: str, brokers: int, wait: bool, timeout: float) -> None:
    """Scale a cluster's brokers out or in.

    Out starts the new brokers and moves partitions onto them; in first moves every replica off
    the brokers that go. The count stays a multiple of the number of zones.
    """
    send = _versioned("update_broker_count", TargetNumberOfBrokerNodes=brokers)
    _update(cli, cluster, f"scale to {brokers} brokers", send, wait, timeout)


@click.command(epilog=UPDATE_HELP)
@CLUSTER
@click.option(
    "--broker",
    type=click.IntRange(min=0),
    required=True,
    metavar="ID",
    help="The broker to restart (an ID `steward cluster nodes` lists).",
)
@WAIT
@TIMEOUT
@pass_cli
def reboot(cli: CliContext, cluster: str, broker: int, wait: bool, timeout: float) -> None:
    """Restart one broker, as a rolling restart would, and wait until it is back in sync."""

    def send(api: Api, arn: str) -> dict[str, Any]:
        response: dict[str, Any] = api.client.reboot_broker(ClusterArn=arn, BrokerIds=[str(broker)])
        return response

    _update(cli, cluster, f"reboot broker {broker}", send, wait, timeout)


@click.command("set-type", epilog=UPDATE_HELP)
@CLUSTER
@click.option(
    "--instance-type",
    required=True,
    metavar="TYPE",
    help="The brokers' new instance type, such as kafka.m5.xlarge.",
)
@WAIT
@TIMEOUT
@pass_cli
def set_type(cli: CliContext, cluster: str, instance_type: str, wait: bool, timeout: float) -> None:
    """Change the brokers' instance type (a rolling restart)."""
    send = _versioned("update_broker_type", TargetInstanceType=instance_type)
    _update(cli, cluster, f"instance type {instance_type}", send, wait, timeout)


@click.command("set-storage", epilog=UPDATE_HELP)
@CLUSTER
@click.option(
    "--volume-size",
    type=click.IntRange(min=1),
    required=True,
    metavar="GIB",
    help="Every broker's new storage, GiB (it only grows).",
)
@WAIT
@TIMEOUT
@pass_cli
def set_storage(
    cli: CliContext, cluster: str, volume_size: int, wait: bool, timeout: float
) -> None:
    """Grow every broker's storage."""
    send = _versioned(
        "update_broker_storage",
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "ALL", "VolumeSizeGB": volume_size}],
    )
    _update(cli, cluster, f"storage {volume_size} GiB", send, wait, timeout)


@click.command("set-config", epilog=UPDATE_HELP)
@CLUSTER
@click.option(
    "--configuration",
    required=True,
    metavar="CONFIG",
    help="ARN or name of the configuration to apply.",
)
@click.option(
    "--revision",
    type=click.IntRange(min=1),
    help="Revision of --configuration  [default: its latest]",
)
@WAIT
@TIMEOUT
@pass_cli
def set_config(
    cli: CliContext,
    cluster: str,
    configuration: str,
    revision: int | None,
    wait: bool,
    timeout: float,
) -> None:
    """Apply a configuration revision to a cluster.

    Settings Kafka can change at run time are applied without restarts; any other change rolls
    the brokers.
    """
    info = cli.api.configuration_info(configuration, revision)
    send = _versioned("update_cluster_configuration", ConfigurationInfo=info)
    action = f"configuration {configuration} revision {info['Revision']}"
    _update(cli, cluster, action, send, wait, timeout)


@click.command(epilog=UPDATE_HELP)
@CLUSTER
@click.option(
    "--kafka-version",
    required=True,
    metavar="VERSION",
    help="The version to move to (see `steward cluster compatible-versions`).",
)
@click.option(
    "--configuration", metavar="CONFIG", help="ARN or name of a configuration to apply with it."
)
@click.option(
    "--configuration-revision",
    type=click.IntRange(min=1),
    help="Revision of --configuration  [default: its latest]",
)
@WAIT
@TIMEOUT
@pass_cli
def upgrade(
    cli: CliContext,
    cluster: str,
    kafka_version: str,
    configuration: str | None,
    configuration_revision: int | None,
    wait: bool,
    timeout: float,
) -> None:
    """Move a cluster to another Kafka version with a rolling upgrade.

    The controllers roll first, then the brokers; the metadata.version is raised last, and from
    then on the cluster cannot go back to an older minor version.
    """
    if configuration_revision is not None and configuration is None:
        raise click.UsageError("--configuration-revision needs --configuration")
    params: dict[str, Any] = {"TargetKafkaVersion": kafka_version}
    if configuration is not None:
        params["ConfigurationInfo"] = cli.api.configuration_info(
            configuration, configuration_revision
        )
    send = _versioned("update_cluster_kafka_version", **params)
    _update(cli, cluster, f"upgrade to Kafka {kafka_version}", send, wait, timeout)


@click.command(
    "compatible-versions",
    epilog=f"{CLUSTER_HELP} Without CLUSTER: every Kafka version Steward knows.",
)
@click.argument("cluster", metavar="[CLUSTER]", required=False)
@pass_cli
def compatible_versions(cli: CliContext, cluster: str | None) -> None:
    """List the Kafka versions a cluster can be upgraded (or moved) to."""
    params = {"ClusterArn": cli.api.cluster_arn(cluster)} if cluster else {}
    response = cli.api.client.get_compatible_kafka_versions(**params)
    if cli.output.is_json:
        cli.output.json(response)
        return
    cli.output.table(
        ["SOURCE", "TARGETS"],
        [
            (v.get("SourceVersion"), v.get("TargetVersions"))
            for v in response.get("CompatibleKafkaVersions") or []
        ],
    )


def _switch(name: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(f"--{name}/--no-{name}", default=None, help=help_text)


@click.command("set-security", epilog=UPDATE_HELP)
@CLUSTER
@_switch("unauthenticated", "Allow clients without credentials (off: deny by default, ACLs).")
@_switch("scram", "SASL/SCRAM sign-ins on port 9096.")
@_switch("tls-auth", "TLS client certificates from --certificate-authority on port 9094.")
@click.option(
    "--certificate-authority",
    "authorities",
    multiple=True,
    metavar="CA_ARN",
    help="A private CA whose client certificates the brokers trust (repeat for more).",
)
@click.option(
    "--client-broker",
    type=click.Choice(["TLS", "TLS_PLAINTEXT", "PLAINTEXT"]),
    help="Encryption between clients and brokers.",
)
@WAIT
@TIMEOUT
@pass_cli
def set_security(
    cli: CliContext,
    cluster: str,
    unauthenticated: bool | None,
    scram: bool | None,
    tls_auth: bool | None,
    authorities: tuple[str, ...],
    client_broker: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Change client authentication or client-broker encryption (UpdateSecurity, a rolling
    restart); what is not named stays as it is."""
    auth: dict[str, Any] = {}
    if unauthenticated is not None:
        auth["Unauthenticated"] = {"Enabled": unauthenticated}
    if scram is not None:
        auth["Sasl"] = {"Scram": {"Enabled": scram}}
    if tls_auth is not None or authorities:
        tls: dict[str, Any] = {"Enabled": True if tls_auth is None else tls_auth}
        if authorities:
            tls["CertificateAuthorityArnList"] = list(authorities)
        auth["Tls"] = tls
    params: dict[str, Any] = {}
    if auth:
        params["ClientAuthentication"] = auth
    if client_broker is not None:
        params["EncryptionInfo"] = {"EncryptionInTransit": {"ClientBroker": client_broker}}
    if not params:
        raise CliError("Name something to change (see --help).")
    _update(cli, cluster, "security", _versioned("update_security", **params), wait, timeout)


COMMANDS = (
    scale,
    reboot,
    set_type,
    set_storage,
    set_config,
    set_security,
    upgrade,
    compatible_versions,
    operation,
)
"""Added to the `steward cluster` group by steward.cli.main."""
