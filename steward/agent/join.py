"""A machine's side of joining a Steward as a host (`steward agent join`).

The machine makes its agent key in its state directory (it never leaves it), sends the control
plane its join token, name, zone, address, capacity and a CSR for that key, and gets back its
signed certificate and the agents CA, which it writes beside the key
(`steward.agent.mtls.AgentTlsFiles`). The agent then runs with those files: HTTPS, taking only
the control plane's client certificate. What was joined is kept in `<state dir>/join.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from steward.agent.mtls import AgentTlsFiles, write_private
from steward.crypto.agent_certificates import agent_csr

JOIN_PATH = "/steward/v1/host-joins"
JOIN_RECORD_FILE = "join.json"
DEFAULT_AGENT_PORT = 9781


class JoinRefused(Exception):
    """The control plane refused the join (its message says why), or could not be reached."""


@dataclass(frozen=True)
class Joined:
    name: str
    zone: str
    address: str
    agent_port: int
    control_plane: str
    control_plane_fingerprint: str
    """The SHA-256 fingerprint of the control plane's client certificate at the join."""


def memory_bytes() -> int:
    """The machine's memory, from /proc/meminfo (MemTotal)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def measure_capacity(disks: list[Path]) -> dict[str, Any]:
    """What the machine offers brokers: its cores, its memory and each disk's size."""
    return {
        "cores": os.cpu_count() or 1,
        "memoryBytes": memory_bytes(),
        "disks": [{"path": str(d), "sizeBytes": shutil.disk_usage(d).total} for d in disks],
    }


def address_towards(url: str) -> str:
    """The address of this machine on the route to `url`'s host: what the control plane can
    reach the agent at when no address is given."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))  # no packet is sent: it only picks the route
        return str(probe.getsockname()[0])


def join(
    control_plane: str,
    token: str,
    zone: str,
    name: str,
    address: str,
    state_dir: Path,
    agent_port: int = DEFAULT_AGENT_PORT,
    disks: list[Path] | None = None,
    node_addresses: list[str] | None = None,
    verify: str | bool = True,
    timeout: float = 30.0,
) -> Joined:
    """Join the Steward at `control_plane` as host `name` of `zone`, reachable at
    `address:agent_port`; the agent's TLS files end up in `state_dir`. JoinRefused says why
    not. `node_addresses`: where its nodes may listen, one node each (default: `address`).
    `verify`: a CA file for a control plane served over HTTPS with a private CA."""
    state_dir.mkdir(parents=True, exist_ok=True)
    files = AgentTlsFiles.of_state_dir(state_dir)
    key = files.ensure_key()
    body = {
        "token": token,
        "name": name,
        "zone": zone,
        "address": address,
        "agentPort": agent_port,
        "capacity": measure_capacity(disks or [state_dir]),
        "csr": agent_csr(key, name, [address, name]),
        "nodeAddresses": node_addresses or [address],
    }
    url = control_plane.rstrip("/") + JOIN_PATH
    try:
        response = httpx.post(url, json=body, timeout=timeout, verify=verify)
    except httpx.HTTPError as error:
        raise JoinRefused(f"cannot reach the control plane at {control_plane}: {error}") from error
    answer = _json(response)
    if response.status_code != 200:
        kind = response.headers.get("x-amzn-ErrorType", f"HTTP {response.status_code}")
        message = answer.get("message") or response.text[:300]
        raise JoinRefused(f"{kind}: {message}")
    files.write(str(answer["certificate"]), str(answer["caCertificate"]))
    joined = Joined(
        name=name,
        zone=zone,
        address=address,
        agent_port=agent_port,
        control_plane=control_plane,
        control_plane_fingerprint=str(answer.get("controlPlaneFingerprint", "")),
    )
    write_private(state_dir / JOIN_RECORD_FILE, json.dumps(asdict(joined), indent=2))
    return joined


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
