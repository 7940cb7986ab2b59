"""`steward server`: the control plane in the foreground."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from steward.settings import Settings


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
def server(host: str | None, port: int | None, home: Path | None) -> None:
    """Run the Steward control plane (MSK-compatible API and reconciler) until interrupted.

    Kafka keeps running when it stops; the next start carries on where it left off.
    """
    from steward.server import run  # imported here: it loads the whole control plane

    overrides: dict[str, Any] = {"api_host": host, "api_port": port, "home": home}
    settings = dataclasses.replace(
        Settings(), **{k: v for k, v in overrides.items() if v is not None}
    )
    run(settings)
