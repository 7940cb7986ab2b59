"""Faults injected into a cluster of this machine's Steward (the embedded default): the processes,
directories and network of its nodes, found through the MSK API and the zones' agents.

Each fault acts on one thing and returns at once; a fault that ends by itself later (a hang of N
seconds, a zone cut for N seconds) ends on a timer thread of its own. A host powered off
(`kill_host`) stays off until `power_on_host`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.agent import processes
from steward.agent.client import AgentUnavailable
from steward.agent.launcher import set_powered_off
from steward.agent.main import PID_FILE
from steward.agent.spec import NodeStatus
from steward.control.agents import AgentDirectory
from steward.kafka import membership
from steward.kafka.admin import TlsBootstrap
from steward.settings import Settings


class FaultError(Exception):
    """The fault cannot be injected (no such node, not running, no namespaces, ...)."""


@dataclass(frozen=True)
class LocalNode:
    node_id: int
    role: str
    """"broker" or "controller"."""
    zone: str
    host: str
    key: str
    """The agent's name for the node."""
    agent: str
    """The host agent that runs it."""


class LocalCluster:
    """A cluster of this machine's Steward, as faults see it."""

    def __init__(
        self,
        settings: Settings,
        arn: str,
        name: str,
        nodes: list[LocalNode],
        bootstrap: str | None = None,
    ) -> None:
        self.settings = settings
        self.arn = arn
        self.name = name
        self.nodes = nodes
        self.agents = AgentDirectory(settings)
        self._bootstrap = bootstrap

    @classmethod
    def from_api(
        cls, client: Any, settings: Settings, arn: str, ca_pem: str | None = None
    ) -> LocalCluster:
        """Read the cluster's nodes with a boto3 `kafka` client. A cluster that takes only TLS
        from clients (MSK's default) is reached over TLS trusting `ca_pem`, its CA."""
        info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
        name = info["ClusterName"]
        prefix = f"{name.lower()}-{arn.rsplit('/', 1)[1][:8]}"
        hosts = settings.hosts
        nodes = []
        pages = client.get_paginator("list_nodes").paginate(ClusterArn=arn)
        for page in pages:
            for item in page["NodeInfoList"]:
                if "BrokerNodeInfo" in item:
                    broker = item["BrokerNodeInfo"]
                    node_id, host = int(broker["BrokerId"]), broker["ClientVpcIpAddress"]
                    role, letter = "broker", "b"
                else:
                    host = item["ControllerNodeInfo"]["Endpoints"][0]
                    node_id = int(item["NodeARN"].rsplit("/", 1)[1])
                    role, letter = "controller", "c"
                [owner] = [h for h in hosts if h.owns(host)]
                key = f"{prefix}-{letter}{node_id}"
                nodes.append(LocalNode(node_id, role, owner.zone.name, host, key, owner.name))
        brokers = client.get_bootstrap_brokers(ClusterArn=arn)
        bootstrap: str | None = brokers.get("BootstrapBrokerString")
        if bootstrap is None and brokers.get("BootstrapBrokerStringTls"):
            if ca_pem is None:
                raise FaultError(f"{name} takes only TLS: give its CA certificate")
            bootstrap = TlsBootstrap(brokers["BootstrapBrokerStringTls"], ca_pem)
        return cls(settings, arn, name, sorted(nodes, key=lambda n: n.node_id), bootstrap)

    def node(self, node_id: int) -> LocalNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise FaultError(f"the cluster has no node {node_id}")

    @property
    def brokers(self) -> list[LocalNode]:
        return [n for n in self.nodes if n.role == "broker"]

    @property
    def bootstrap(self) -> str:
        """How clients reach the brokers: plaintext, or a `TlsBootstrap` for a TLS-only cluster."""
        if self._bootstrap is not None:
            return self._bootstrap
        return ",".join(f"{n.host}:9092" for n in self.brokers)

    def status(self, node: LocalNode) -> NodeStatus:
        status = self.agents.client(node.agent, timeout=5.0).node(node.key)
        if status is None:
            raise FaultError(f"agent {node.agent} does not know {node.key}")
        return status

    def pid(self, node: LocalNode) -> int:
        """The node's process id, from its agent; when the agent does not answer (it may have
        been killed), from the process list."""
        try:
            pid = self.status(node).pid
        except AgentUnavailable:
            pid = self._pid_from_proc(node)
        if pid is None:
            raise FaultError(f"{node.role} {node.node_id} is not running")
        return pid

    def _pid_from_proc(self, node: LocalNode) -> int | None:
        properties = str(self.node_dir(node) / "server.properties")
        for pid in processes.pids_with_argument_containing(properties):
            return pid
        return None

    def node_dir(self, node: LocalNode) -> Path:
        """Where the node's agent keeps its files (as the agent's `NodePaths.root`)."""
        return self.settings.agents_dir / node.agent / "nodes" / node.key

    def data_dir(self, node: LocalNode) -> Path:
        return self.node_dir(node) / "data"

    def agent_pid(self, agent: str) -> int:
        """The pid of host agent `agent` (host 1 of a zone has the zone's name)."""
        try:
            return int((self.settings.agents_dir / agent / PID_FILE).read_text().strip())
        except (OSError, ValueError) as error:
            raise FaultError(f"no running agent {agent}: {error}") from error

    def host_with_brokers_only(self) -> str:
        """A host (agent name) that runs brokers of the cluster and no controller, in a zone with
        another host to move them to."""
        hosts = {h.name: h for h in self.settings.hosts}
        with_controllers = {n.agent for n in self.nodes if n.role == "controller"}
        for broker in self.brokers:
            zone = hosts[broker.agent].zone.name
            peers = [h for h in hosts.values() if h.zone.name == zone and h.name != broker.agent]
            if broker.agent not in with_controllers and peers:
                return broker.agent
        raise FaultError(
            "no host runs only brokers in a zone with another host: start Steward with "
            "STEWARD_HOSTS_PER_ZONE=2 or more"
        )


# --- the faults ---------------------------------------------------------------------------------
def kill_node(cluster: LocalCluster, node_id: int) -> str:
    node = cluster.node(node_id)
    pid = cluster.pid(node)
    os.kill(pid, signal.SIGKILL)
    return f"kill -9 {node.role} {node_id} (pid {pid})"


def kill_active_controller(cluster: LocalCluster) -> str:
    leader = membership.quorum(cluster.bootstrap).leader_id
    if leader is None:
        raise FaultError("the quorum has no leader to kill")
    return kill_node(cluster, leader) + ", the active controller"


def hang_node(cluster: LocalCluster, node_id: int, seconds: float) -> str:
    """SIGSTOP the node's process; SIGCONT it after `seconds` if it is still that process."""
    node = cluster.node(node_id)
    pid = cluster.pid(node)
    os.kill(pid, signal.SIGSTOP)

    def resume() -> None:
        with contextlib.suppress(ProcessLookupError):  # Steward killed it meanwhile
            os.kill(pid, signal.SIGCONT)

    timer = threading.Timer(seconds, resume)
    timer.daemon = True
    timer.start()
    return f"SIGSTOP {node.role} {node_id} (pid {pid}) for {seconds:.0f} s"


def delete_data(cluster: LocalCluster, node_id: int) -> str:
    """rm -rf of the node's data directory; of what it holds, when it is a volume's mount point
    (which stays)."""
    node = cluster.node(node_id)
    path = cluster.data_dir(node)
    if os.path.ismount(path):
        for entry in list(path.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    else:
        shutil.rmtree(path)
    return f"rm -rf the data directory of {node.role} {node_id} ({path})"


BALLAST = "chaos-ballast"
"""The file `fill_disk` takes a volume's room with (a plain file: Kafka leaves it alone)."""


def fill_disk(cluster: LocalCluster, node_id: int) -> str:
    """Take every free byte of the broker's volume with one file (fallocate: no data written),
    as a runaway producer or a forgotten retention setting would in time."""
    node = cluster.node(node_id)
    path = cluster.data_dir(node)
    if not os.path.ismount(path):
        raise FaultError(
            f"{node.role} {node_id} has no volume of its own to fill: start Steward with "
            "STEWARD_BROKER_VOLUMES=loop (or auto, as root)"
        )
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    taken = 0
    with open(path / BALLAST, "ab") as ballast:
        chunk = free
        while chunk >= stat.f_frsize:  # what the filesystem's bookkeeping leaves: in halves
            try:
                os.posix_fallocate(ballast.fileno(), taken, chunk)
                taken += chunk
            except OSError:
                chunk //= 2
    left = os.statvfs(path).f_bavail * os.statvfs(path).f_frsize
    return (
        f"filled the volume of {node.role} {node_id} ({taken / 1024**3:.2f} GiB taken, "
        f"{left // 1024} KiB left)"
    )


def kill_agent(cluster: LocalCluster, agent: str) -> str:
    pid = cluster.agent_pid(agent)
    os.kill(pid, signal.SIGKILL)
    return f"kill -9 agent {agent} (pid {pid})"


def kill_host(cluster: LocalCluster, agent: str) -> str:
    """A machine that dies: power host `agent` off (its agent is not started again), then
    SIGKILL its agent and every Kafka process it runs, of any cluster."""
    state_dir = cluster.settings.agents_dir / agent
    set_powered_off(state_dir, True)
    killed = []
    with contextlib.suppress(FaultError):
        pid = cluster.agent_pid(agent)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    for pid in _kafka_pids_under(state_dir / "nodes"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return f"power off host {agent}: kill -9 its agent and Kafka processes (pids {killed})"


def _kafka_pids_under(directory: Path) -> list[int]:
    """The Kafka processes (`kafka.Kafka`) with an argument inside `directory`."""
    found: set[int] = set()
    for path in {str(directory) + "/", str(directory.resolve()) + "/"}:
        for pid in processes.pids_with_argument_containing(path):
            if "kafka.Kafka" in (processes.read_cmdline(pid) or []):
                found.add(pid)
    return sorted(found)


def power_on_host(cluster: LocalCluster, agent: str) -> str:
    """Power host `agent` on again: its agent may be started (Steward does it)."""
    set_powered_off(cluster.settings.agents_dir / agent, False)
    return f"power on host {agent}"


def cut_zone(cluster: LocalCluster, zone: str, seconds: float) -> str:
    """Take zone `zone` off the network (netns mode only) and bring it back after `seconds`."""
    network = cluster.agents.zone_network()
    if network is None:
        raise FaultError("zones are not in network namespaces (STEWARD_ZONE_NETWORK=netns)")
    network.cut(zone)
    timer = threading.Timer(seconds, network.restore, args=(zone,))
    timer.daemon = True
    timer.start()
    return f"cut zone {zone} off the network for {seconds:.0f} s"
