"""`steward config ...`: MSK configurations, i.e. versioned server.properties for clusters."""

from __future__ import annotations

from typing import IO, Any

import click

from steward.client.context import CliContext, pass_cli
from steward.client.output import Output

CONFIG = click.argument("config", metavar="CONFIG")
CONFIG_HELP = "CONFIG is a configuration ARN or the exact name of a configuration."
PROPERTIES = click.option(
    "--server-properties",
    type=click.File("rb"),
    required=True,
    help="A server.properties file ('-' reads stdin).",
)


def _kafka_versions(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _show_revision(out: Output, configuration: dict[str, Any], revision: dict[str, Any]) -> None:
    latest = (configuration.get("LatestRevision") or {}).get("Revision")
    out.fields(
        [
            ("Name", configuration.get("Name")),
            ("ARN", configuration.get("Arn")),
            ("State", configuration.get("State")),
            ("Kafka versions", configuration.get("KafkaVersions")),
            ("Description", configuration.get("Description")),
            ("Created", configuration.get("CreationTime")),
            ("Latest revision", latest),
            ("Revision", revision.get("Revision")),
            ("Revision created", revision.get("CreationTime")),
            ("Revision description", revision.get("Description")),
        ]
    )
    out.text("")
    out.text(_text(revision.get("ServerProperties")).rstrip("\n"))


@click.group()
def config() -> None:
    """Manage configurations (server.properties applied to clusters)."""


@config.command()
@click.argument("name")
@PROPERTIES
@click.option(
    "--kafka-versions",
    callback=_kafka_versions,
    help="Comma-separated Kafka versions the configuration is for.",
)
@click.option("--description")
@pass_cli
def create(
    cli: CliContext,
    name: str,
    server_properties: IO[bytes],
    kafka_versions: list[str] | None,
    description: str | None,
) -> None:
    """Create configuration NAME from a server.properties file."""
    params: dict[str, Any] = {"Name": name, "ServerProperties": server_properties.read()}
    if kafka_versions:
        params["KafkaVersions"] = kafka_versions
    if description is not None:
        params["Description"] = description
    response = cli.api.client.create_configuration(**params)
    if cli.output.is_json:
        cli.output.json(response)
        return
    revision = (response.get("LatestRevision") or {}).get("Revision")
    cli.output.text(f"Configuration {name} created (revision {revision}): {response['Arn']}")


@config.command("list")
@pass_cli
def list_configs(cli: CliContext) -> None:
    """List configurations."""
    configurations = cli.api.paginate("list_configurations", "Configurations")
    if cli.output.is_json:
        cli.output.json({"Configurations": configurations})
        return
    cli.output.table(
        ["NAME", "STATE", "REVISION", "KAFKA VERSIONS", "CREATED", "ARN"],
        [
            (
                c.get("Name"),
                c.get("State"),
                (c.get("LatestRevision") or {}).get("Revision"),
                c.get("KafkaVersions"),
                c.get("CreationTime"),
                c.get("Arn"),
            )
            for c in configurations
        ],
    )


@config.command(epilog=CONFIG_HELP)
@CONFIG
@click.option("--revision", type=click.IntRange(min=1), help="[default: the latest]")
@pass_cli
def describe(cli: CliContext, config: str, revision: int | None) -> None:
    """Show a configuration and the server properties of one of its revisions."""
    client = cli.api.client
    arn = cli.api.configuration_arn(config)
    configuration = client.describe_configuration(Arn=arn)
    if revision is None:
        revision = int(configuration["LatestRevision"]["Revision"])
    response = client.describe_configuration_revision(Arn=arn, Revision=revision)
    if cli.output.is_json:
        cli.output.json(response)
    else:
        _show_revision(cli.output, configuration, response)


@config.command(epilog=CONFIG_HELP)
@CONFIG
@pass_cli
def revisions(cli: CliContext, config: str) -> None:
    """List the revisions of a configuration."""
    arn = cli.api.configuration_arn(config)
    items = cli.api.paginate("list_configuration_revisions", "Revisions", Arn=arn)
    if cli.output.is_json:
        cli.output.json({"Revisions": items})
        return
    cli.output.table(
        ["REVISION", "CREATED", "DESCRIPTION"],
        [(r.get("Revision"), r.get("CreationTime"), r.get("Description")) for r in items],
    )


@config.command(epilog=CONFIG_HELP)
@CONFIG
@PROPERTIES
@click.option("--description")
@pass_cli
def update(
    cli: CliContext, config: str, server_properties: IO[bytes], description: str | None
) -> None:
    """Add a revision to a configuration."""
    params: dict[str, Any] = {
        "Arn": cli.api.configuration_arn(config),
        "ServerProperties": server_properties.read(),
    }
    if description is not None:
        params["Description"] = description
    response = cli.api.client.update_configuration(**params)
    if cli.output.is_json:
        cli.output.json(response)
        return
    revision = (response.get("LatestRevision") or {}).get("Revision")
    cli.output.text(f"Configuration {config} is at revision {revision}.")


@config.command(epilog=CONFIG_HELP)
@CONFIG
@pass_cli
def delete(cli: CliContext, config: str) -> None:
    """Delete a configuration (no cluster may use it)."""
    response = cli.api.client.delete_configuration(Arn=cli.api.configuration_arn(config))
    if cli.output.is_json:
        cli.output.json(response)
    else:
        cli.output.text(f"Configuration {config} deleted.")
