"""`steward server`: the control plane in the foreground."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import click

from steward.logs import FORMATS, LEVELS
from steward.settings import LOG_FORMAT_ENV, LOG_LEVEL_ENV, Settings


@click.command()
@click.option(
    "--host", help="Address the API listens on  [default: $STEWARD_API_HOST or 127.0.0.1]"
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port of the API  [default: $STEWARD_API_PORT or 9780]",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where Steward keeps its state  [default: $STEWARD_HOME or ~/.steward]",
)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    help="INFO: operations, repairs, refusals, warnings; DEBUG adds every request to an agent and "
    "the Kafka clients' chatter  [default: $STEWARD_LOG_LEVEL or INFO]",
)
@click.option(
    "--log-format",
    type=click.Choice(FORMATS, case_sensitive=False),
    help="A line a record, or a JSON object a line  [default: $STEWARD_LOG_FORMAT or text]",
)
def server(
    host: str | None,
    port: int | None,
    home: Path | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run the Steward control plane (MSK-compatible API and reconciler) until interrupted.

    Kafka keeps running when it stops; the next start carries on where it left off.
    """
    from steward.server import run  # imported here: it loads the whole control plane

    # Through the environment, so that the agents this server starts log the same way.
    if log_level:
        os.environ[LOG_LEVEL_ENV] = log_level.upper()
    if log_format:
        os.environ[LOG_FORMAT_ENV] = log_format.lower()
    overrides: dict[str, Any] = {"api_host": host, "api_port": port, "home": home}
    settings = dataclasses.replace(
        Settings(), **{k: v for k, v in overrides.items() if v is not None}
    )
    run(settings)
