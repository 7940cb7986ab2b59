"""`steward host join-token ...` (on an operator's machine, through Steward's signed routes; a
group of `steward host`) and `steward agent join` (on the machine that joins: its token is its
one credential)."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

import click

from steward.agent.join import DEFAULT_AGENT_PORT, JoinRefused, address_towards, join
from steward.agent.launcher import agent_command
from steward.agent.mtls import AgentTlsFiles
from steward.client.context import CliContext, pass_cli

JOIN_TOKENS = "/steward/v1/host-join-tokens"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """`90s`, `15m`, `1h`, `2d` (or plain seconds) as seconds."""
    found = _DURATION.match(value)
    if found is None:
        raise click.BadParameter("a number with s, m, h or d, e.g. 1h or 30m")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


@click.group("join-token")
def join_token() -> None:
    """Single-use tokens that let a machine join as a host (`steward agent join`)."""


@join_token.command("create")
@click.option("--zone", help="The zone the machine may join; any zone when not given.")
@click.option(
    "--expires-in",
    default="1h",
    show_default=True,
    callback=parse_duration,
    help="How long the token may be used: e.g. 30m, 1h, 2d (at most 7 days).",
)
@pass_cli
def create_join_token(cli: CliContext, zone: str | None, expires_in: int) -> None:
    """Make a join token; it is shown this once (Steward keeps only its hash)."""
    body: dict[str, object] = {"expiresInSeconds": expires_in}
    if zone:
        body["zone"] = zone
    answer = cli.api.steward_route("POST", JOIN_TOKENS, body=body)
    if cli.output.is_json:
        cli.output.json(answer)
        return
    cli.output.text(answer["token"])
    where = f"zone {answer['zone']}" if answer.get("zone") else "any zone"
    cli.output.note(
        f"Join token {answer['tokenId']} for {where}, single use, expires {answer['expiresAt']}."
    )


@join_token.command("list")
@pass_cli
def list_join_tokens(cli: CliContext) -> None:
    """Every join token: its zone, expiry and which host used it."""
    answer = cli.api.steward_route("GET", JOIN_TOKENS)
    if cli.output.is_json:
        cli.output.json(answer)
        return
    cli.output.table(
        ["TOKEN ID", "ZONE", "EXPIRES", "USED BY", "USED AT"],
        [
            [t["tokenId"], t["zone"] or "(any)", t["expiresAt"], t["usedBy"], t["usedAt"]]
            for t in answer["joinTokens"]
        ],
    )


@click.group()
def agent() -> None:
    """The host agent of this machine."""


@agent.command("join")
@click.option("--control-plane", required=True, help="The Steward's URL, e.g. http://cp1:9780.")
@click.option("--token", required=True, help="A token from `steward host join-token create`.")
@click.option("--zone", required=True, help="The zone this machine is in.")
@click.option(
    "--address",
    help="Where the control plane reaches this machine's agent  "
    "[default: this machine's address on the route to the control plane]",
)
@click.option("--name", help="The host's name  [default: this machine's host name]")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_AGENT_PORT,
    show_default=True,
    help="The agent's port.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/lib/steward/agent"),
    show_default=True,
    help="The agent's state: its key and certificates, its nodes' files.",
)
@click.option(
    "--disk",
    "disks",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A disk (its mount point) brokers may use; repeatable  [default: the state directory]",
)
@click.option(
    "--node-address",
    "node_addresses",
    multiple=True,
    help="An address this machine's Kafka nodes may listen on, one node each; repeatable  "
    "[default: the agent's address]",
)
@click.option(
    "--control-plane-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="The CA certificate of a control plane served over HTTPS with a private CA.",
)
@click.option(
    "--run/--no-run",
    default=True,
    show_default=True,
    help="Run the agent in the foreground once joined, or print how to run it.",
)
def join_command(
    control_plane: str,
    token: str,
    zone: str,
    address: str | None,
    name: str | None,
    port: int,
    state_dir: Path,
    disks: tuple[Path, ...],
    node_addresses: tuple[str, ...],
    control_plane_ca: str | None,
    run: bool,
) -> None:
    """Join this machine to a Steward as a host of ZONE: its agent gets a certificate of the
    Steward's agents CA (its key never leaves this machine) and takes only the control plane's
    client certificate from then on."""
    name = name or socket.gethostname().split(".")[0]
    address = address or address_towards(control_plane)
    state_dir = state_dir.resolve()
    try:
        joined = join(
            control_plane,
            token,
            zone,
            name,
            address,
            state_dir,
            agent_port=port,
            disks=list(disks) or None,
            node_addresses=list(node_addresses) or None,
            verify=control_plane_ca or True,
        )
    except JoinRefused as error:
        raise click.ClickException(f"the join was refused: {error}") from error
    command = agent_command(
        name, address, port, state_dir, None, AgentTlsFiles.of_state_dir(state_dir).directory
    )
    click.echo(
        f"Joined as host {joined.name} of zone {joined.zone}, agent at https://{address}:{port}; "
        f"control plane certificate {joined.control_plane_fingerprint}.",
        err=True,
    )
    if not run:
        click.echo(" ".join(command))
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
