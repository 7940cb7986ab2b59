"""Availability zones as Linux network namespaces, so that a whole zone can be cut off the network
and brought back (fault injection) while its processes keep running.

The layout of the Steward instance with address octet O (STEWARD_ADDRESS_OCTET) and of its zone
number i (the zone's 1-based position in STEWARD_ZONES):

    root namespace                            namespace steward-O-<zone name>
    bridge stwO, 10.O.0.1/16 --- swOzi ====== eth0, 10.O.i.254/16   (the zone's agent)
                              (veth pair)     lo,   local 10.O.i.0/24 (its Kafka nodes)

- One Linux bridge per instance in the root namespace; per zone one namespace and one veth pair,
  whose root end is a port of the bridge and whose other end is the namespace's `eth0`.
- The bridge and every `eth0` share one /16, so zones reach each other, and the root namespace
  (control plane, clients, tests) reaches every zone, by plain L2 switching: no routing between
  namespaces, no ip_forward, no NAT, no sysctl of the root namespace touched.
- The agent listens on 10.O.i.254; Kafka nodes get 10.O.i.1, .2, ... The "AnyIP" route
  `local 10.O.i.0/24 dev lo` makes every address of that /24 local to the namespace without adding
  them one by one, and the namespace answers ARP for them on `eth0` (arp_ignore is set to 0 inside
  the namespace, where it is the namespace's own setting, in case it inherited another value from
  the host). rp_filter needs no change: every packet arrives on the interface its source address
  routes back through.
- `cut(zone)` sets the root end of the zone's veth down: the zone's `eth0` loses its carrier and
  nothing gets in or out (connections time out, they are not refused), while its agent and Kafka
  processes keep running and still reach each other inside the zone. `restore(zone)` sets it up
  again; established TCP connections carry on.
- Agents start inside their zone's namespace through `nsenter --net=/run/netns/<namespace>`
  (`namespace_command`), which execs the agent, so the pid Steward records is the agent's own.
  `ip netns exec` would remount /sys and so hide /sys/fs/cgroup, where the agent sets CPU
  weights. Kafka processes inherit the namespace from their agent.
- `ensure()` creates whatever is missing and never brings a cut zone back. It refuses to use
  10.O.0.0/16 when the host already routes part of it elsewhere (say, a VPN on 10.0.0.0/8).
  `remove_octet(O)` (= `teardown()`) deletes the veths, then the namespaces, then the bridge of
  octet O, and only names that follow this module's patterns. A namespace whose processes still
  run outlives its name, but without its veth it is cut off from everything.

Host caveat: on a host where br_netfilter sends bridged traffic through iptables
(net.bridge.bridge-nf-call-iptables=1) and the FORWARD policy drops it (hosts with Docker),
traffic between zones is dropped. Changing that is a host-wide decision left to the host's owner.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

NETNS_DIR = Path("/run/netns")
"""Where `ip netns` keeps the namespaces it names (one bind mount per namespace)."""
MAX_OCTET = 255
MAX_ZONES = 254
"""Zone numbers 1..254: 10.O.0.x is the bridge's range and 10.O.255.255 the /16's broadcast."""
AGENT_HOST = 254
"""The host number of a zone's agent (and of its `eth0`): 10.O.i.254."""
IFNAMSIZ = 15
"""The longest interface name Linux accepts."""
CLONE_NEWNET = 0x40000000
_ZONE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ZoneNetworkError(Exception):
    pass


class ZoneLike(Protocol):
    """What `ZoneNetwork.from_zones` reads of a zone (`steward.settings.Zone` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def address_prefix(self) -> str: ...

    @property
    def namespace(self) -> str | None: ...


# --- names and addresses ----------------------------------------------------------------------


def bridge_name(octet: int) -> str:
    return f"stw{octet}"


def veth_name(octet: int, index: int) -> str:
    """The root end of zone `index`'s veth pair (its other end is `eth0` in the namespace)."""
    return f"sw{octet}z{index}"


def namespace_name(octet: int, zone: str) -> str:
    return f"steward-{octet}-{zone}"


def network_of(octet: int) -> ipaddress.IPv4Network:
    """The /16 shared by the bridge and every zone of the instance."""
    return ipaddress.IPv4Network(f"10.{octet}.0.0/16")


def netns_path(namespace: str) -> Path:
    return NETNS_DIR / namespace


def namespace_command(namespace: str) -> list[str]:
    """The prefix that runs a command in `namespace`'s network (and only its network): nsenter
    execs the command, so its pid is the command's."""
    return ["nsenter", f"--net={netns_path(namespace)}", "--"]


def owned_names(octet: int, links: Iterable[str], namespaces: Iterable[str]) -> list[str]:
    """Of the given link and namespace names, those this module makes for `octet`: the zones'
    veths, the zones' namespaces and the bridge (never another octet's: `sw12z1` is not 123's)."""
    veths, owned_namespaces, bridges = _owned(octet, links, namespaces)
    return veths + owned_namespaces + bridges


def _owned(
    octet: int, links: Iterable[str], namespaces: Iterable[str]
) -> tuple[list[str], list[str], list[str]]:
    links = list(links)
    veth = re.compile(rf"^sw{octet}z[0-9]+$")
    prefix = namespace_name(octet, "")
    return (
        [n for n in links if veth.match(n)],
        [n for n in namespaces if n.startswith(prefix)],
        [n for n in links if n == bridge_name(octet)],
    )


def overlapping_routes(
    network: ipaddress.IPv4Network, routes: Iterable[dict[str, Any]], own_device: str
) -> list[str]:
    """The destinations of routes (as `ip -j route` lists them) that overlap `network`, except
    default routes and the ones through `own_device`."""
    found = []
    for route in routes:
        destination = str(route.get("dst", ""))
        if destination in ("", "default") or route.get("dev") == own_device:
            continue
        try:
            other = ipaddress.ip_network(destination, strict=False)
        except ValueError:
            continue
        if other.version == 4 and other.prefixlen > 0 and other.overlaps(network):
            found.append(destination)
    return found


@dataclass(frozen=True)
class ZoneLink:
    """One zone's share of the network: its namespace, veth and addresses."""

    name: str
    index: int
    octet: int

    @property
    def namespace(self) -> str:
        return namespace_name(self.octet, self.name)

    @property
    def veth(self) -> str:
        return veth_name(self.octet, self.index)

    @property
    def prefix(self) -> str:
        """First three octets of the zone's addresses: `10.O.i`."""
        return f"10.{self.octet}.{self.index}"

    @property
    def address(self) -> str:
        """The address of the zone's `eth0`, where its agent listens."""
        return f"{self.prefix}.{AGENT_HOST}"

    @property
    def subnet(self) -> str:
        """The zone's addresses, all local to its namespace."""
        return f"{self.prefix}.0/24"


# --- the network --------------------------------------------------------------------------------


class ZoneNetwork:
    """The bridge, namespaces and veths of one Steward instance (its address octet)."""

    def __init__(self, octet: int, zone_names: Sequence[str]) -> None:
        if not 0 <= octet <= MAX_OCTET:
            raise ValueError(f"address octet {octet} is not in 0..{MAX_OCTET}")
        if not 1 <= len(zone_names) <= MAX_ZONES:
            raise ValueError(f"a zone network has 1 to {MAX_ZONES} zones, not {len(zone_names)}")
        if len(set(zone_names)) != len(zone_names):
            raise ValueError(f"zone names repeat: {list(zone_names)}")
        for name in zone_names:
            if not _ZONE_NAME.match(name):
                raise ValueError(f"zone name {name!r} cannot name a network namespace")
        self.octet = octet
        self.zones = tuple(ZoneLink(name, i, octet) for i, name in enumerate(zone_names, 1))
        self._by_name = {z.name: z for z in self.zones}

    @classmethod
    def from_zones(cls, zones: Iterable[ZoneLike]) -> ZoneNetwork:
        """The network the given zones (which have namespaces) were laid out on; a ValueError
        when they do not follow the layout (`10.O.i` and `steward-O-<name>`, in order)."""
        zones = list(zones)
        if not zones:
            raise ValueError("no zones")
        try:
            octet = int(zones[0].address_prefix.split(".")[1])
        except (IndexError, ValueError):
            raise ValueError(f"{zones[0].address_prefix!r} is not a zone prefix") from None
        network = cls(octet, [z.name for z in zones])
        for zone, link in zip(zones, network.zones, strict=True):
            if (zone.address_prefix, zone.namespace) != (link.prefix, link.namespace):
                raise ValueError(
                    f"zone {zone.name} ({zone.address_prefix}, {zone.namespace}) does not follow "
                    f"the layout of octet {octet}: ({link.prefix}, {link.namespace})"
                )
        return network

    @property
    def bridge(self) -> str:
        return bridge_name(self.octet)

    @property
    def bridge_address(self) -> str:
        return f"10.{self.octet}.0.1"

    @property
    def network(self) -> ipaddress.IPv4Network:
        return network_of(self.octet)

    def zone(self, name: str) -> ZoneLink:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"no zone {name!r} in {sorted(self._by_name)}") from None

    # --- making and removing ------------------------------------------------------------------
    def ensure(self) -> None:
        """Create whatever is missing (bridge, namespaces, veths, addresses, routes). A zone that
        is cut stays cut."""
        with _octet_lock(self.octet):
            overlaps = overlapping_routes(self.network, _routes(), self.bridge)
            if overlaps:
                raise ZoneNetworkError(
                    f"{self.network} overlaps routes of this host ({', '.join(overlaps)}): "
                    "pick another STEWARD_ADDRESS_OCTET"
                )
            links = _links()
            if self.bridge not in links:
                _ip("link", "add", "name", self.bridge, "type", "bridge")
                _ip("link", "set", "dev", self.bridge, "alias", f"steward {self.octet} zones")
            _ip("addr", "replace", f"{self.bridge_address}/16", "dev", self.bridge)
            _ip("link", "set", "dev", self.bridge, "up")
            namespaces = set(list_namespaces())
            for zone in self.zones:
                self._ensure_zone(zone, zone.veth in links, zone.namespace in namespaces)

    def _ensure_zone(self, zone: ZoneLink, has_veth: bool, has_namespace: bool) -> None:
        inside = ("-n", zone.namespace)
        if not has_namespace:
            _ip("netns", "add", zone.namespace)
        if has_veth and _run(["ip", *inside, "link", "show", "dev", "eth0"]).returncode != 0:
            # The veth's other end is in an older namespace of the same name, one that lost its
            # name while processes still ran in it: leave that one cut off and start afresh.
            _ip("link", "del", "dev", zone.veth)
            has_veth = False
        if not has_veth:
            _ip(
                "link", "add", "name", zone.veth, "type", "veth",
                "peer", "name", "eth0", "netns", zone.namespace,
            )  # fmt: skip
            _ip("link", "set", "dev", zone.veth, "alias", f"steward {self.octet} zone {zone.name}")
        _ip("link", "set", "dev", zone.veth, "master", self.bridge)
        if not has_veth:
            _ip("link", "set", "dev", zone.veth, "up")  # a zone that is cut stays cut
        _ip(*inside, "link", "set", "dev", "lo", "up")
        run_in_namespace(zone.namespace, _answer_arp_for_local_routes)
        _ip(*inside, "addr", "replace", f"{zone.address}/16", "dev", "eth0")
        _ip(*inside, "link", "set", "dev", "eth0", "up")
        _ip(*inside, "route", "replace", "local", zone.subnet, "dev", "lo")

    def exists(self) -> bool:
        """Whether the bridge and every zone's namespace and veth are there."""
        links, namespaces = set(_links()), set(list_namespaces())
        return self.bridge in links and all(
            z.veth in links and z.namespace in namespaces for z in self.zones
        )

    def teardown(self) -> list[str]:
        """Remove everything of this octet (see `remove_octet`)."""
        return remove_octet(self.octet)

    # --- faults -------------------------------------------------------------------------------
    def cut(self, zone: str) -> None:
        """Cut `zone` off the network: nothing gets in or out; its processes keep running."""
        _ip("link", "set", "dev", self.zone(zone).veth, "down")

    def restore(self, zone: str) -> None:
        """Connect a cut zone again."""
        _ip("link", "set", "dev", self.zone(zone).veth, "up")

    def is_cut(self, zone: str) -> bool:
        veth = self.zone(zone).veth
        (link,) = json.loads(_ip("-j", "link", "show", "dev", veth)) or [{}]
        return "UP" not in link.get("flags", [])


def remove_octet(octet: int) -> list[str]:
    """Delete the veths, namespaces and bridge of `octet` (only names this module makes; see
    `owned_names`), and return their names. Nothing to do (or no `ip` at all) is fine."""
    if shutil.which("ip") is None:
        return []
    with _octet_lock(octet):
        veths, namespaces, bridges = _owned(octet, _links(), list_namespaces())
        # The veths first (deleting one end deletes both, even when the namespace outlives its
        # name), then the namespaces, the bridge last.
        for veth in veths:
            _ip("link", "del", "dev", veth, check=False)
        for namespace in namespaces:
            _ip("netns", "del", namespace, check=False)
        for bridge in bridges:
            _ip("link", "del", "dev", bridge, check=False)
        return veths + namespaces + bridges


def leftovers(octet: int) -> list[str]:
    """The links and namespaces of `octet` that exist now."""
    if shutil.which("ip") is None:
        return []
    return owned_names(octet, _links(), list_namespaces())


def list_namespaces() -> list[str]:
    """The named network namespaces (`ip netns list`)."""
    text = _ip("-j", "netns", "list")
    return [str(entry["name"]) for entry in json.loads(text or "[]")]


# --- support ------------------------------------------------------------------------------------

_support_lock = threading.Lock()
_supported: bool | None = None


def namespaces_supported() -> bool:
    """Whether this process may make network namespaces, bridges and veths (and enter them):
    tried once, with a throwaway namespace, veth and bridge, and remembered."""
    global _supported
    with _support_lock:
        if _supported is None:
            _supported = _probe()
        return _supported


def _probe() -> bool:
    if not sys.platform.startswith("linux") or not _has_capabilities():
        return False
    if shutil.which("ip") is None or shutil.which("nsenter") is None:
        return False
    tag = str(os.getpid())  # one probe per process (under _support_lock)
    namespace, veth, bridge = f"steward-probe-{tag}", f"stwp{tag}", f"stwb{tag}"
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", "name", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        _ip("link", "add", "name", bridge, "type", "bridge")
        _ip("link", "set", "dev", veth, "master", bridge)
        run_in_namespace(namespace, _answer_arp_for_local_routes)
        return True
    except (ZoneNetworkError, OSError):
        return False
    finally:
        for args in (("link", "del", "dev", veth), ("link", "del", "dev", bridge)):
            _ip(*args, check=False)
        _ip("netns", "del", namespace, check=False)


def _has_capabilities() -> bool:
    """CAP_NET_ADMIN and CAP_SYS_ADMIN in this process's effective set (what the probe needs),
    a cheap answer before trying: a plain user's CLI never starts a process to find out."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    match = re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.MULTILINE)
    if match is None:
        return False
    effective = int(match.group(1), 16)
    return all(effective >> bit & 1 for bit in (12, 21))  # CAP_NET_ADMIN, CAP_SYS_ADMIN


# --- inside a namespace -------------------------------------------------------------------------


def run_in_namespace(namespace: str, action: Callable[[], T]) -> T:
    """`action()` on a thread of its own that has entered `namespace`'s network: the sockets it
    opens and the /proc/sys/net it sees are the namespace's. The calling thread is left as it
    is (a network namespace is a per-thread property in Linux)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def enter_and_run() -> None:
        try:
            fd = os.open(netns_path(namespace), os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            outcome.append(action())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=enter_and_run, name=f"netns-{namespace}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def _answer_arp_for_local_routes() -> None:
    """arp_ignore 0 (reply for any local address, the AnyIP ones included) in this thread's
    namespace; the effective value is the larger of `all` and the interface's."""
    for device in ("all", "default", "eth0"):
        path = Path(f"/proc/sys/net/ipv4/conf/{device}/arp_ignore")
        if path.exists():
            path.write_text("0\n")


# --- running ip ---------------------------------------------------------------------------------


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ZoneNetworkError(f"{' '.join(command)}: {error}") from error


def _ip(*args: str, check: bool = True) -> str:
    result = _run(["ip", *args])
    if check and result.returncode != 0:
        raise ZoneNetworkError(f"ip {' '.join(args)}: {result.stderr.strip() or result.stdout}")
    return result.stdout


def _links() -> list[str]:
    return [str(link["ifname"]) for link in json.loads(_ip("-j", "link", "show") or "[]")]


def _routes() -> list[dict[str, Any]]:
    routes = json.loads(_ip("-j", "-4", "route", "show", "table", "main") or "[]")
    return [r for r in routes if isinstance(r, dict)]


@contextlib.contextmanager
def _octet_lock(octet: int) -> Iterator[None]:
    """One change at a time to an octet's network, across threads and processes."""
    path = Path(tempfile.gettempdir()) / f"steward-zone-network-{octet}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
