"""Zone networks: names and addresses, the settings that choose them, how agents enter them."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from steward.agent import launcher
from steward.control.agents import AgentDirectory
from steward.network import zones
from steward.network.zones import IFNAMSIZ, ZoneNetwork, overlapping_routes, owned_names
from steward.settings import Settings, Zone, default_zones, zone_network_mode


def test_names_and_addresses_follow_the_octet_and_zone_position() -> None:
    network = ZoneNetwork(123, ["az-a", "az-b", "az-c"])
    assert network.bridge == "stw123"
    assert network.bridge_address == "10.123.0.1"
    assert str(network.network) == "10.123.0.0/16"
    b = network.zone("az-b")
    assert (b.index, b.namespace, b.veth) == (2, "steward-123-az-b", "sw123z2")
    assert (b.prefix, b.address, b.subnet) == ("10.123.2", "10.123.2.254", "10.123.2.0/24")
    assert [z.name for z in network.zones] == ["az-a", "az-b", "az-c"]


def test_every_zone_lies_in_the_shared_network_and_no_two_overlap() -> None:
    network = ZoneNetwork(7, [f"z{i}" for i in range(1, 255)])
    subnets = [ipaddress.ip_network(z.subnet) for z in network.zones]
    assert all(s.subnet_of(network.network) for s in subnets)
    assert len({s.network_address for s in subnets}) == len(subnets)
    bridge = ipaddress.ip_address(network.bridge_address)
    assert not any(bridge in s for s in subnets)
    assert ipaddress.ip_address(network.zones[-1].address) != network.network.broadcast_address


def test_interface_names_fit_the_kernel_limit_at_the_extremes() -> None:
    network = ZoneNetwork(255, [f"z{i}" for i in range(1, 255)])
    names = [network.bridge, *(z.veth for z in network.zones)]
    assert network.zones[-1].veth == "sw255z254"
    assert max(len(name) for name in names) == len("sw255z254") <= IFNAMSIZ


@pytest.mark.parametrize(
    ("octet", "names"),
    [
        (-1, ["a"]),
        (256, ["a"]),
        (1, []),
        (1, [f"z{i}" for i in range(255)]),
        (1, ["a", "a"]),
        (1, ["a/b"]),
        (1, [""]),
        (1, ["-a"]),
    ],
)
def test_bad_layouts_are_refused(octet: int, names: list[str]) -> None:
    with pytest.raises(ValueError):
        ZoneNetwork(octet, names)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no zone 'az-z'"):
        ZoneNetwork(1, ["az-a"]).zone("az-z")


def test_owned_names_never_match_another_octet() -> None:
    links = ["lo", "eth0", "stw12", "stw123", "sw12z1", "sw12z10", "sw123z1", "sw12zx", "stw12x"]
    namespaces = ["steward-12-az-a", "steward-123-az-a", "steward-probe-12", "other-12-az-a"]
    assert owned_names(12, links, namespaces) == [
        "sw12z1",
        "sw12z10",
        "steward-12-az-a",
        "stw12",
    ]
    assert owned_names(123, links, namespaces) == ["sw123z1", "steward-123-az-a", "stw123"]
    assert owned_names(99, links, namespaces) == []


def test_overlapping_routes_ignore_default_and_own_bridge() -> None:
    network = zones.network_of(5)
    routes = [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0"},
        {"dst": "10.5.0.0/16", "dev": "stw5"},
        {"dst": "10.0.0.0/8", "dev": "tun0"},
        {"dst": "10.5.7.9", "dev": "eth1"},
        {"dst": "10.6.0.0/16", "dev": "stw6"},
        {"dst": "0.0.0.0/0", "dev": "eth0"},
    ]
    assert overlapping_routes(network, routes, "stw5") == ["10.0.0.0/8", "10.5.7.9"]


def test_from_zones_recovers_the_network_and_checks_the_layout() -> None:
    network = ZoneNetwork(42, ["az-a", "az-b"])
    laid_out = [Zone(z.name, z.prefix, z.namespace) for z in network.zones]
    again = ZoneNetwork.from_zones(laid_out)
    assert again.octet == 42
    assert again.zones == network.zones
    with pytest.raises(ValueError, match="does not follow"):
        ZoneNetwork.from_zones(list(reversed(laid_out)))
    with pytest.raises(ValueError, match="does not follow"):
        ZoneNetwork.from_zones([Zone("az-a", "10.42.1", "elsewhere")])


def test_namespace_command_enters_only_the_network() -> None:
    assert zones.namespace_command("steward-1-az-a") == [
        "nsenter",
        "--net=/run/netns/steward-1-az-a",
        "--",
    ]


# --- settings -----------------------------------------------------------------------------------


def test_loopback_is_the_default_and_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEWARD_ZONE_NETWORK", raising=False)
    monkeypatch.setenv("STEWARD_ADDRESS_OCTET", "9")
    monkeypatch.delenv("STEWARD_ZONES", raising=False)
    assert zone_network_mode() == "loopback"
    assert default_zones() == (
        Zone("az-a", "127.9.1"),
        Zone("az-b", "127.9.2"),
        Zone("az-c", "127.9.3"),
    )
    assert all(z.namespace is None for z in default_zones())
    monkeypatch.setenv("STEWARD_ZONE_NETWORK", "loopback")
    assert default_zones()[0] == Zone("az-a", "127.9.1")


def test_netns_mode_gives_zones_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_ZONE_NETWORK", "NetNS")
    monkeypatch.setenv("STEWARD_ADDRESS_OCTET", "120")
    monkeypatch.setenv("STEWARD_ZONES", "east, west")
    assert default_zones() == (
        Zone("east", "10.120.1", "steward-120-east"),
        Zone("west", "10.120.2", "steward-120-west"),
    )
    assert default_zones()[1].agent_address == "10.120.2.254"


@pytest.mark.parametrize(("supported", "expected"), [(True, "netns"), (False, "loopback")])
def test_auto_mode_follows_support(
    monkeypatch: pytest.MonkeyPatch, supported: bool, expected: str
) -> None:
    monkeypatch.setenv("STEWARD_ZONE_NETWORK", "auto")
    monkeypatch.setattr("steward.settings.namespaces_supported", lambda: supported)
    assert zone_network_mode() == expected


def test_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_ZONE_NETWORK", "vlan")
    with pytest.raises(ValueError, match="STEWARD_ZONE_NETWORK"):
        default_zones()


# --- agents -------------------------------------------------------------------------------------


def test_agents_start_in_their_namespace_after_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(ZoneNetwork, "ensure", lambda self: calls.append(("ensure", self.octet)))
    monkeypatch.setattr(
        "steward.control.agents.ensure_agent",
        lambda **kwargs: calls.append((kwargs["name"], (kwargs["host"], kwargs["namespace"]))),
    )
    network = ZoneNetwork(77, ["az-a", "az-b"])
    settings = Settings(
        home=tmp_path, zones=tuple(Zone(z.name, z.prefix, z.namespace) for z in network.zones)
    )
    AgentDirectory(settings).ensure_local_agents()
    assert calls == [
        ("ensure", 77),
        ("az-a", ("10.77.1.254", "steward-77-az-a")),
        ("az-b", ("10.77.2.254", "steward-77-az-b")),
    ]


def test_loopback_agents_make_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(ZoneNetwork, "ensure", lambda self: calls.append("ensure"))
    monkeypatch.setattr(
        "steward.control.agents.ensure_agent", lambda **kwargs: calls.append(kwargs["namespace"])
    )
    settings = Settings(home=tmp_path, zones=(Zone("az-a", "127.66.1"),))
    directory = AgentDirectory(settings)
    assert directory.zone_network() is None
    directory.ensure_local_agents()
    assert calls == [None]


def test_spawn_wraps_the_agent_command_in_nsenter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []

    class _Popen:
        pid = 4242

        def __init__(self, command: list[str], **_: object) -> None:
            started.append(command)

    monkeypatch.setattr(launcher.subprocess, "Popen", _Popen)
    command = launcher.agent_command("az-a", "10.1.1.254", 9781, tmp_path, tmp_path / "token")
    launcher._spawn(command, tmp_path, "steward-1-az-a")
    launcher._spawn(command, tmp_path)
    launcher._children.clear()
    assert started == [[*zones.namespace_command("steward-1-az-a"), *command], command]
