"""`steward host ...`: the hosts nodes are placed on: list them with their capacity and what
their nodes reserve, drain one (its brokers move away), make it take nodes again, remove it,
or register a host whose agent runs on another machine."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from steward.client.context import CliContext, pass_cli

GIB = 1024**3


def _path(name: str = "", tail: str = "") -> str:
    return "/steward/v1/hosts" + (f"/{quote(name, safe='')}" if name else "") + tail


def _gib(value: float) -> str:
    return f"{value / GIB:.1f}"


def _row(host: dict[str, Any]) -> tuple[str, ...]:
    capacity, reserved = host["capacity"], host["reserved"]
    disk = sum(d["bytes"] for d in capacity["disks"])
    return (
        host["hostName"],
        host["zone"],
        host["agentAddress"],
        host["state"],
        f"{reserved['cores']:g}/{capacity['cores']:g}",
        f"{_gib(reserved['memoryBytes'])}/{_gib(capacity['memoryBytes'])}",
        f"{_gib(reserved['diskBytes'])}/{_gib(disk)}",
        str(len(host["nodes"])),
    )


COLUMNS = ["HOST", "ZONE", "AGENT", "STATE", "CORES", "MEMORY GiB", "DISK GiB", "NODES"]
"""Capacity columns are reserved/offered."""


def _show(cli: CliContext, host: dict[str, Any]) -> None:
    if cli.output.is_json:
        cli.output.json(host)
        return
    cli.output.table(COLUMNS, [_row(host)])
    for node in host["nodes"]:
        cli.output.text(f"  {node}")


@click.group()
def host() -> None:
    """The hosts Steward places nodes on."""


@host.command("list")
@pass_cli
def list_hosts(cli: CliContext) -> None:
    """Every host: zone, agent address, state, and its cores, memory and disk as reserved by
    its nodes / offered."""
    found = cli.api.steward_route("GET", _path())
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.table(COLUMNS, [_row(h) for h in found["hosts"]])


@host.command("describe")
@click.argument("name")
@pass_cli
def describe(cli: CliContext, name: str) -> None:
    """One host, with the nodes placed on it."""
    _show(cli, cli.api.steward_route("GET", _path(name)))


@host.command("drain")
@click.argument("name")
@pass_cli
def drain(cli: CliContext, name: str) -> None:
    """Give the host no new node and move its brokers to other hosts of its zone, one at a
    time (a repair each; controllers stay)."""
    _show(cli, cli.api.steward_route("POST", _path(name, "/drain")))


@host.command("activate")
@click.argument("name")
@pass_cli
def activate(cli: CliContext, name: str) -> None:
    """Let a drained host take new nodes again."""
    _show(cli, cli.api.steward_route("POST", _path(name, "/activate")))


@host.command("remove")
@click.argument("name")
@pass_cli
def remove(cli: CliContext, name: str) -> None:
    """Forget a host; refused while nodes are placed on it."""
    found = cli.api.steward_route("DELETE", _path(name))
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.text(f"host {found['hostName']} removed")


def _disk(value: str) -> dict[str, Any]:
    path, sep, size = value.rpartition("=")
    if not sep or not path:
        raise click.BadParameter(f"{value!r} is not PATH=GIB")
    return {"path": path, "bytes": int(float(size) * GIB)}


@host.command("register")
@click.argument("name")
@click.option("--zone", required=True, help="The zone the host is in.")
@click.option("--agent-address", required=True, help="HOST:PORT or URL of its agent.")
@click.option(
    "--node-address", "node_addresses", multiple=True, required=True,
    help="An address its nodes may listen on (one node each); repeat for more.",
)  # fmt: skip
@click.option("--cores", type=float, required=True)
@click.option("--memory-gib", type=float, required=True)
@click.option("--disk", "disks", multiple=True, help="PATH=GIB; repeat for more.")
@click.option("--label", "labels", multiple=True, help="KEY=VALUE; repeat for more.")
@pass_cli
def register(
    cli: CliContext,
    name: str,
    zone: str,
    agent_address: str,
    node_addresses: tuple[str, ...],
    cores: float,
    memory_gib: float,
    disks: tuple[str, ...],
    labels: tuple[str, ...],
) -> None:
    """Register a host whose agent already runs on another machine (or update one)."""
    body = {
        "hostName": name,
        "zone": zone,
        "agentAddress": agent_address,
        "nodeAddresses": list(node_addresses),
        "capacity": {
            "cores": cores,
            "memoryBytes": int(memory_gib * GIB),
            "disks": [_disk(d) for d in disks],
        },
        "labels": dict(label.partition("=")[::2] for label in labels),
    }
    _show(cli, cli.api.steward_route("POST", _path(), body=body))
