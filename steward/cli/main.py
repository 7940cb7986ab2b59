"""The `steward` command: a front end over Steward's MSK-compatible API."""

from __future__ import annotations

from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from steward.autoscaling.cli import autoscaling
from steward.cli.access_keys import access_key
from steward.cli.alarms import alarm
from steward.cli.chaos import chaos
from steward.cli.clusters import cluster
from steward.cli.configs import config
from steward.cli.groups import group as consumer_group
from steward.cli.host_joins import agent, join_token
from steward.cli.hosts import host
from steward.cli.kafka import kafka
from steward.cli.metrics import metrics
from steward.cli.policies import policy
from steward.cli.rebalance import rebalance
from steward.cli.server import server
from steward.cli.topics import topic
from steward.cli.updates import COMMANDS as UPDATE_COMMANDS
from steward.client.api import default_endpoint_url, translate
from steward.client.context import OUTPUT_FORMATS, CliContext, output_option
from steward.client.output import Output
from steward.cloudwatch.cli import cloudwatch
from steward.connect.cli import connect
from steward.functions.cli import function, trigger
from steward.iam.cli import iam
from steward.pca.cli import ca
from steward.secrets.cli import secret


class StewardGroup(click.Group):
    """Shows every boto3 failure of any subcommand as a one-line error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ClientError, BotoCoreError) as error:
            obj = ctx.find_object(CliContext)
            endpoint_url = obj.endpoint_url if obj else default_endpoint_url()
            raise translate(error, endpoint_url) from error


@click.group(
    name="steward", cls=StewardGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "-o",
    "--output",
    type=OUTPUT_FORMATS,
    default="table",
    show_default=True,
    help="Tables for people, or the API's response data as JSON.",
)
@click.option(
    "--endpoint-url",
    envvar="STEWARD_ENDPOINT_URL",
    metavar="URL",
    help="Steward's API  [default: $STEWARD_ENDPOINT_URL or http://127.0.0.1:9780]",
)
@click.version_option(package_name="steward")
@click.pass_context
def cli(ctx: click.Context, output: str, endpoint_url: str | None) -> None:
    """Steward: self-hosted, MSK-compatible managed Apache Kafka."""
    ctx.obj = CliContext(Output(output), endpoint_url or default_endpoint_url())


def _accept_output_option(group: click.Group) -> None:
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_output_option(command)
        else:
            command.params.append(output_option())


for command in UPDATE_COMMANDS:
    cluster.add_command(command)
for group in (
    cluster,
    config,
    topic,
    consumer_group,
    alarm,
    metrics,
    kafka,
    chaos,
    access_key,
    rebalance,
    autoscaling,
    host,
):
    cli.add_command(group)
    _accept_output_option(group)
cli.add_command(secret)
_accept_output_option(secret)
cli.add_command(ca)
cli.add_command(iam)
_accept_output_option(iam)
_accept_output_option(ca)
cli.add_command(cloudwatch)
_accept_output_option(cloudwatch)
cli.add_command(policy)
_accept_output_option(policy)
for side_group in (function, trigger):
    cli.add_command(side_group)
    _accept_output_option(side_group)
cli.add_command(connect)
_accept_output_option(connect)
cli.add_command(server)
host.add_command(join_token)  # after the loop above: its commands take --output, not it
_accept_output_option(join_token)
cli.add_command(agent)


def main() -> None:
    cli(prog_name="steward")
