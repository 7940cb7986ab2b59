"""How a Kafka node's JVM resolves host names.

Kafka's SASL server asks for the name of the broker's own address (a reverse lookup) for every
new SASL connection (SCRAM, IAM), on the network thread that serves the listener. No DNS server
knows Steward's node addresses (127.100.x.y on one machine, a host's own addresses elsewhere), and
a resolver that is slow to say so, or drops the query (the JVM then waits 5 s or more), holds
every connection of that network thread meanwhile: one lost packet stalls sign-ins of other
clients.

So a node whose configuration names no host but addresses and names of the host's hosts file
(its listeners, advertised listeners, quorum voters and bootstrap servers) resolves from a hosts
file of its own (`-Djdk.net.hosts.file`): localhost and the host's `/etc/hosts` as it was when the
node started. The reverse lookup of an address the file does not list fails at once, as it does
with a resolver that answers, and Kafka goes on with the address. A node configured with a name
the hosts file does not hold resolves as the host does, and so does every node with
`STEWARD_NODE_NAME_RESOLUTION=system`. Options in STEWARD_KAFKA_JVM_OPTIONS come later on the
command line and win.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from steward.files import replace_file

NAME_RESOLUTION_ENV = "STEWARD_NODE_NAME_RESOLUTION"
"""`hosts-file` (the default: see the module's docstring) or `system`."""

HOSTS_FILE_PROPERTY = "jdk.net.hosts.file"
SYSTEM_HOSTS_FILE = Path("/etc/hosts")
LOCALHOST_ENTRIES = "127.0.0.1 localhost\n::1 localhost\n"

LISTENER_PROPERTIES = ("listeners", "advertised.listeners")
"""`NAME://host:port,...`"""
VOTERS_PROPERTY = "controller.quorum.voters"
"""`id@host:port,...`"""
BOOTSTRAP_PROPERTY = "controller.quorum.bootstrap.servers"
"""`host:port,...`"""


def uses_system_resolver() -> bool:
    return os.environ.get(NAME_RESOLUTION_ENV, "hosts-file").strip().lower() == "system"


def configured_hosts(properties: Mapping[str, str]) -> list[str]:
    """Every host a node's configuration names: in its listeners, advertised listeners, quorum
    voters and quorum bootstrap servers ("" for a listener on every interface)."""
    endpoints: list[str] = []
    for key in LISTENER_PROPERTIES:
        endpoints += [entry.partition("://")[2] for entry in _entries(properties.get(key))]
    endpoints += [entry.partition("@")[2] for entry in _entries(properties.get(VOTERS_PROPERTY))]
    endpoints += _entries(properties.get(BOOTSTRAP_PROPERTY))
    return [_host_of(endpoint) for endpoint in endpoints]


def hosts_file_names(text: str) -> set[str]:
    """The names a hosts file gives addresses to (lower case)."""
    names: set[str] = set()
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        names.update(name.lower() for name in fields[1:])
    return names


def resolves_from(hosts: Iterable[str], names: set[str]) -> bool:
    """Every host is an address, or a name of `names`."""
    return all(_is_address(host) or host.lower() in names for host in hosts)


def jvm_options(properties: Mapping[str, str], hosts_file: Path) -> list[str]:
    """The node's JVM options for name resolution: its own hosts file, written to `hosts_file`,
    when its configuration allows (see the module's docstring); none, and no file, otherwise."""
    system_hosts = _read(SYSTEM_HOSTS_FILE)
    text = LOCALHOST_ENTRIES + system_hosts
    if uses_system_resolver() or not resolves_from(
        configured_hosts(properties), hosts_file_names(text)
    ):
        hosts_file.unlink(missing_ok=True)
        return []
    replace_file(
        hosts_file, f"# Written by the Steward agent: localhost and {SYSTEM_HOSTS_FILE}.\n{text}"
    )
    return [f"-D{HOSTS_FILE_PROPERTY}={hosts_file}"]


def _entries(value: str | None) -> list[str]:
    return [entry.strip() for entry in (value or "").split(",") if entry.strip()]


def _host_of(endpoint: str) -> str:
    """`host` of `host:port`, `[v6]:port` or a bare host."""
    if endpoint.startswith("["):
        return endpoint[1:].partition("]")[0]
    host, colon, port = endpoint.rpartition(":")
    return host if colon and port.isdigit() else endpoint


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _read(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text if text.endswith("\n") or not text else text + "\n"
