"""`steward connect plugin|worker-config|connector ...`: MSK Connect through boto3's
`kafkaconnect` client, signed with Steward's credentials like every other command.

`plugin create --file PATH` registers a file of the Steward host (bucket ARN `file:///`);
`--s3 s3://bucket/key` an object of the S3 endpoint Steward reads plugins from. `plugin
build-s3-sink` writes the ZIP of Steward's own S3 sink connector, ready to register.
"""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path
from typing import Any

import click

from steward.client.api import CliError
from steward.client.commands import all_pages, listing, service_client, show, show_answer
from steward.client.context import CliContext, pass_cli
from steward.client.output import response_data
from steward.connect.service import LOCAL_FILES_BUCKET_ARN

ARN = click.argument("arn", metavar="ARN")


def _connect(cli: CliContext) -> Any:
    return service_client(cli, "kafkaconnect")


@click.group("connect")
def connect() -> None:
    """MSK Connect: custom plugins, worker configurations and connectors."""


# --- plugins --------------------------------------------------------------------------------------
@connect.group("plugin")
def plugin() -> None:
    """Custom plugins: ZIPs or JARs of connector classes."""


@plugin.command("create")
@click.option("--name", required=True)
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--s3", "s3_url", default=None, help="s3://bucket/key of the plugin file.")
@click.option("--content-type", type=click.Choice(["ZIP", "JAR"]), default=None)
@click.option("--description", default=None)
@pass_cli
def create_plugin(
    cli: CliContext,
    name: str,
    file: Path | None,
    s3_url: str | None,
    content_type: str | None,
    description: str | None,
) -> None:
    """Register a custom plugin; it is ACTIVE once Steward has found its connector classes."""
    if (file is None) == (s3_url is None):
        raise CliError("Error: give exactly one of --file and --s3.")
    if file is not None:
        location = {"bucketArn": LOCAL_FILES_BUCKET_ARN, "fileKey": str(file.resolve())}
        key = file.name
    else:
        assert s3_url is not None
        bucket, _, key = s3_url.removeprefix("s3://").partition("/")
        if not s3_url.startswith("s3://") or not bucket or not key:
            raise CliError(f"Error: --s3 {s3_url!r} is not s3://bucket/key.")
        location = {"bucketArn": f"arn:aws:s3:::{bucket}", "fileKey": key}
    kind = content_type or ("JAR" if key.lower().endswith(".jar") else "ZIP")
    request: dict[str, Any] = {
        "name": name,
        "contentType": kind,
        "location": {"s3Location": location},
    }
    if description:
        request["description"] = description
    answer = _connect(cli).create_custom_plugin(**request)
    show_answer(cli, answer, ["customPluginArn", "customPluginState", "name", "revision"])


@plugin.command("build-s3-sink")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kafka-version", default=None, help="The Kafka distribution to build against.")
def build_s3_sink(destination: Path, kafka_version: str | None) -> None:
    """Build Steward's S3 sink connector plugin (a ZIP) into DESTINATION."""
    from steward.kafka.distribution import DEFAULT_KAFKA_VERSION
    from steward.kafka.plugins import PluginBuildError
    from steward.kafka.s3_sink import s3_sink_plugin

    try:
        built = s3_sink_plugin(kafka_version or DEFAULT_KAFKA_VERSION)
    except PluginBuildError as error:
        raise CliError(f"Error: {error}") from None
    shutil.copyfile(built, destination)
    click.echo(str(destination))


@plugin.command("list")
@pass_cli
def list_plugins(cli: CliContext) -> None:
    found = all_pages(_connect(cli), "list_custom_plugins", "customPlugins")
    listing(
        cli,
        "customPlugins",
        found,
        ["Name", "State", "Arn"],
        lambda p: [p.get("name"), p.get("customPluginState"), p.get("customPluginArn")],
    )


@plugin.command("describe")
@ARN
@pass_cli
def describe_plugin(cli: CliContext, arn: str) -> None:
    answer = _connect(cli).describe_custom_plugin(customPluginArn=arn)
    state = answer.get("stateDescription") or {}
    file = (answer.get("latestRevision") or {}).get("fileDescription") or {}
    show(
        cli,
        response_data(answer),
        [
            ("Name", answer.get("name")),
            ("State", answer.get("customPluginState")),
            ("StateDescription", state.get("message")),
            ("FileSize", file.get("fileSize")),
            ("FileMd5", file.get("fileMd5")),
            ("Arn", answer.get("customPluginArn")),
        ],
    )


@plugin.command("delete")
@ARN
@pass_cli
def delete_plugin(cli: CliContext, arn: str) -> None:
    answer = _connect(cli).delete_custom_plugin(customPluginArn=arn)
    show_answer(cli, answer, ["customPluginArn", "customPluginState"])


# --- worker configurations ------------------------------------------------------------------------
@connect.group("worker-config")
def worker_config() -> None:
    """Worker configurations: properties every worker of a connector runs with."""


@worker_config.command("create")
@click.option("--name", required=True)
@click.option(
    "--properties",
    "properties",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A worker properties file.",
)
@click.option("--description", default=None)
@pass_cli
def create_worker_config(
    cli: CliContext, name: str, properties: Path, description: str | None
) -> None:
    request: dict[str, Any] = {
        "name": name,
        "propertiesFileContent": base64.b64encode(properties.read_bytes()).decode(),
    }
    if description:
        request["description"] = description
    answer = _connect(cli).create_worker_configuration(**request)
    show_answer(cli, answer, ["workerConfigurationArn", "workerConfigurationState", "name"])


@worker_config.command("list")
@pass_cli
def list_worker_configs(cli: CliContext) -> None:
    found = all_pages(_connect(cli), "list_worker_configurations", "workerConfigurations")
    listing(
        cli,
        "workerConfigurations",
        found,
        ["Name", "Revision", "Arn"],
        lambda w: [
            w.get("name"),
            (w.get("latestRevision") or {}).get("revision"),
            w.get("workerConfigurationArn"),
        ],
    )


@worker_config.command("describe")
@ARN
@pass_cli
def describe_worker_config(cli: CliContext, arn: str) -> None:
    answer = _connect(cli).describe_worker_configuration(workerConfigurationArn=arn)
    if cli.output.is_json:
        cli.output.json(response_data(answer))
        return
    content = (answer.get("latestRevision") or {}).get("propertiesFileContent", "")
    cli.output.fields(
        [
            ("Name", answer.get("name")),
            ("State", answer.get("workerConfigurationState")),
            ("Arn", answer.get("workerConfigurationArn")),
        ]
    )
    click.echo(base64.b64decode(content).decode(errors="replace"), nl=False)


@worker_config.command("delete")
@ARN
@pass_cli
def delete_worker_config(cli: CliContext, arn: str) -> None:
    answer = _connect(cli).delete_worker_configuration(workerConfigurationArn=arn)
    show_answer(cli, answer, ["workerConfigurationArn", "workerConfigurationState"])


# --- connectors -----------------------------------------------------------------------------------
@connect.group("connector")
def connector() -> None:
    """Connectors: Kafka Connect workers running a plugin's connector against a cluster."""


def _configuration(pairs: tuple[str, ...]) -> dict[str, str]:
    configuration: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"Error: --config {pair!r} is not KEY=VALUE.")
        configuration[key] = value
    return configuration


@connector.command("create")
@click.option("--name", required=True)
@click.option("--plugin", "plugin_arn", required=True, help="The custom plugin's ARN.")
@click.option(
    "--bootstrap",
    required=True,
    help="The cluster's bootstrap servers, or a Steward cluster's ARN.",
)
@click.option("--config", "config", multiple=True, help="KEY=VALUE of the connector; repeated.")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--mcu", type=click.Choice(["1", "2", "4", "8"]), default="1", show_default=True)
@click.option("--autoscale", default=None, help="MIN:MAX workers, by the CPU rule.")
@click.option("--scale-in", type=int, default=20, show_default=True, help="CPU % to scale in.")
@click.option("--scale-out", type=int, default=80, show_default=True, help="CPU % to scale out.")
@click.option("--tls", is_flag=True, help="TLS to the cluster (else plaintext).")
@click.option(
    "--iam", is_flag=True, help="Sign in with IAM as --role (implies --tls; the IAM listeners)."
)
@click.option("--log-bucket", default=None, help="Deliver the workers' logs to this S3 bucket.")
@click.option("--log-prefix", default=None, help="The key prefix of --log-bucket's objects.")
@click.option("--log-group", default=None, help="Deliver the workers' logs to this log group.")
@click.option("--worker-config", "worker_config_arn", default=None)
@click.option(
    "--subnet",
    "subnets",
    multiple=True,
    default=("az-a", "az-b", "az-c"),
    show_default=True,
    help="A zone (or its subnet id) the workers run in; repeated.",
)
@click.option("--role", default="arn:aws:iam::000000000000:role/steward-connect")
@click.option("--wait/--no-wait", default=False, help="Wait until RUNNING or FAILED.")
@pass_cli
def create_connector(
    cli: CliContext,
    name: str,
    plugin_arn: str,
    bootstrap: str,
    config: tuple[str, ...],
    workers: int,
    mcu: str,
    autoscale: str | None,
    scale_in: int,
    scale_out: int,
    tls: bool,
    iam: bool,
    log_bucket: str | None,
    log_prefix: str | None,
    log_group: str | None,
    worker_config_arn: str | None,
    subnets: tuple[str, ...],
    role: str,
    wait: bool,
) -> None:
    """Create a connector."""
    if autoscale:
        low, _, high = autoscale.partition(":")
        if not (low.isdigit() and high.isdigit()):
            raise CliError(f"Error: --autoscale {autoscale!r} is not MIN:MAX.")
        capacity: dict[str, Any] = {
            "autoScaling": {
                "mcuCount": int(mcu),
                "minWorkerCount": int(low),
                "maxWorkerCount": int(high),
                "scaleInPolicy": {"cpuUtilizationPercentage": scale_in},
                "scaleOutPolicy": {"cpuUtilizationPercentage": scale_out},
            }
        }
    else:
        capacity = {"provisionedCapacity": {"mcuCount": int(mcu), "workerCount": workers}}
    request: dict[str, Any] = {
        "connectorName": name,
        "capacity": capacity,
        "connectorConfiguration": _configuration(config),
        "kafkaCluster": {
            "apacheKafkaCluster": {"bootstrapServers": bootstrap, "vpc": {"subnets": list(subnets)}}
        },
        "kafkaClusterClientAuthentication": {"authenticationType": "IAM" if iam else "NONE"},
        "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS" if tls or iam else "PLAINTEXT"},
        "kafkaConnectVersion": "3.7.x",
        "plugins": [{"customPlugin": {"customPluginArn": plugin_arn, "revision": 1}}],
        "serviceExecutionRoleArn": role,
    }
    log_delivery: dict[str, Any] = {}
    if log_bucket:
        bucket: dict[str, Any] = {"enabled": True, "bucket": log_bucket}
        if log_prefix:
            bucket["prefix"] = log_prefix
        log_delivery["s3"] = bucket
    if log_group:
        log_delivery["cloudWatchLogs"] = {"enabled": True, "logGroup": log_group}
    if log_delivery:
        request["logDelivery"] = {"workerLogDelivery": log_delivery}
    if worker_config_arn:
        request["workerConfiguration"] = {
            "workerConfigurationArn": worker_config_arn,
            "revision": 1,
        }
    client = _connect(cli)
    answer = client.create_connector(**request)
    if wait:
        answer = _wait(client, answer["connectorArn"])
    show_answer(cli, answer, ["connectorArn", "connectorName", "connectorState"])


def _wait(client: Any, arn: str, timeout: float = 900.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = client.describe_connector(connectorArn=arn)
        if described["connectorState"] in ("RUNNING", "FAILED"):
            return described
        if time.monotonic() > deadline:
            raise CliError(f"Error: the connector is still {described['connectorState']}.")
        time.sleep(2)


@connector.command("list")
@pass_cli
def list_connectors(cli: CliContext) -> None:
    found = all_pages(_connect(cli), "list_connectors", "connectors")
    listing(
        cli,
        "connectors",
        found,
        ["Name", "State", "Arn"],
        lambda c: [c.get("connectorName"), c.get("connectorState"), c.get("connectorArn")],
    )


@connector.command("describe")
@ARN
@pass_cli
def describe_connector(cli: CliContext, arn: str) -> None:
    answer = _connect(cli).describe_connector(connectorArn=arn)
    state = answer.get("stateDescription") or {}
    show(
        cli,
        response_data(answer),
        [
            ("Name", answer.get("connectorName")),
            ("State", answer.get("connectorState")),
            ("StateDescription", state.get("message")),
            ("CurrentVersion", answer.get("currentVersion")),
            ("Bootstrap", answer["kafkaCluster"]["apacheKafkaCluster"]["bootstrapServers"]),
            ("Arn", answer.get("connectorArn")),
        ],
    )


@connector.command("update")
@ARN
@click.option("--workers", type=int, default=None)
@click.option("--mcu", type=click.Choice(["1", "2", "4", "8"]), default="1")
@click.option("--config", "config", multiple=True, help="KEY=VALUE: the whole new configuration.")
@pass_cli
def update_connector(
    cli: CliContext, arn: str, workers: int | None, mcu: str, config: tuple[str, ...]
) -> None:
    """Change a RUNNING connector's worker count or configuration."""
    client = _connect(cli)
    current = client.describe_connector(connectorArn=arn)["currentVersion"]
    request: dict[str, Any] = {"connectorArn": arn, "currentVersion": current}
    if workers is not None:
        request["capacity"] = {
            "provisionedCapacity": {"mcuCount": int(mcu), "workerCount": workers}
        }
    if config:
        request["connectorConfiguration"] = _configuration(config)
    answer = client.update_connector(**request)
    show_answer(cli, answer, ["connectorArn", "connectorState"])


@connector.command("delete")
@ARN
@pass_cli
def delete_connector(cli: CliContext, arn: str) -> None:
    answer = _connect(cli).delete_connector(connectorArn=arn)
    show_answer(cli, answer, ["connectorArn", "connectorState"])
