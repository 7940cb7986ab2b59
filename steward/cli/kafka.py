"""`steward kafka ...`: Kafka distributions on this machine (no running Steward needed)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from steward.client.api import CliError
from steward.client.context import CliContext, pass_cli
from steward.domain.versions import version_key
from steward.kafka import distribution as dist
from steward.kafka.distribution import DistributionError, KafkaDistribution
from steward.kafka.jmx_exporter import JmxExporterError, install_jmx_exporter


@click.group()
def kafka() -> None:
    """Kafka versions and their installation on this machine."""


@kafka.command()
@pass_cli
def versions(cli: CliContext) -> None:
    """List the Kafka versions Steward supports and which are installed."""
    installed = {d.version: d for d in dist.installed_distributions()}
    names = sorted(set(dist.RELEASED_KAFKA_VERSIONS) | set(installed), key=version_key)
    rows = [
        {
            "Version": version,
            "Status": dist.version_status(version),
            "Installed": version in installed,
            "Source": installed[version].source if version in installed else None,
        }
        for version in names
    ]
    out = cli.output
    if out.is_json:
        out.json({"KafkaVersions": rows})
        return
    out.table(
        ["VERSION", "STATUS", "INSTALLED", "SOURCE"],
        [(r["Version"], r["Status"], "yes" if r["Installed"] else "no", r["Source"]) for r in rows],
    )


def _adopt(kafka_home: Path, version: str | None) -> KafkaDistribution:
    found = dist.kafka_home_version(kafka_home)
    if version is not None and version != found:
        raise DistributionError(
            f"{kafka_home} holds Kafka {found}, not {version} (unset KAFKA_HOME or drop "
            "--kafka-home to install from Maven Central)"
        )
    return dist.adopt_kafka_home(kafka_home)


@kafka.command()
@click.argument("version", required=False)
@click.option(
    "--kafka-home",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Use this Apache Kafka install instead of downloading  [default: $KAFKA_HOME]",
)
@pass_cli
def install(cli: CliContext, version: str | None, kafka_home: Path | None) -> None:
    """Install Kafka VERSION from Maven Central, or adopt an existing install.

    Does nothing when VERSION is already installed.
    """
    out = cli.output
    if kafka_home is None and os.environ.get("KAFKA_HOME"):
        kafka_home = Path(os.environ["KAFKA_HOME"]).expanduser()
    try:
        if kafka_home is not None:
            installed = _adopt(kafka_home, version)
            verb = "adopted"
        elif version is None:
            raise click.UsageError("give a VERSION, or --kafka-home / KAFKA_HOME to adopt")
        elif (existing := dist.find_distribution(version)) is not None:
            installed, verb = existing, "already installed"
        else:
            installed = dist.install_distribution(version, log=out.note)
            verb = "installed"
    except DistributionError as error:
        raise CliError(f"Error: {error}") from error
    try:
        install_jmx_exporter(log=out.note)
    except JmxExporterError as error:
        out.note(f"Warning: open monitoring's JMX exporter is not installed: {error}")
    if out.is_json:
        out.json(
            {
                "Version": installed.version,
                "Source": installed.source,
                "LibsDir": str(installed.libs_dir),
            }
        )
    else:
        out.text(f"Kafka {installed.version} {verb} ({installed.source}): {installed.libs_dir}")
