"""Click arguments and help text shared by commands of more than one group."""

from __future__ import annotations

import click

CLUSTER = click.argument("cluster", metavar="CLUSTER")
CLUSTER_HELP = "CLUSTER is a cluster ARN or the exact name of a cluster."
