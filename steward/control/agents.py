"""The host agents the control plane drives. In the embedded default there is one per zone on this
machine, started (detached) by the control plane when it is not already running; in netns mode
(STEWARD_ZONE_NETWORK) inside its zone's network namespace, which is made first when missing."""

from __future__ import annotations

import secrets
from pathlib import Path

from steward.agent.client import AgentClient, NodeTls, StorageKeys
from steward.agent.launcher import ensure_agent
from steward.network.zones import ZoneNetwork
from steward.settings import Settings, Zone


def agent_token(home: Path) -> str:
    """The shared secret between control plane and agents, made once per Steward home."""
    path = home / "agent-token"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


class AgentDirectory:
    def __init__(
        self,
        settings: Settings,
        storage_keys: StorageKeys | None = None,
        node_tls: NodeTls | None = None,
    ) -> None:
        """`storage_keys`: where clients find the data keys of encrypted clusters; `node_tls`:
        the TLS keys and certificates of nodes with TLS listeners."""
        self.settings = settings
        self.token = agent_token(settings.home)
        self.storage_keys = storage_keys
        self.node_tls = node_tls
        self._zones: dict[str, Zone] = {z.name: z for z in settings.zones}

    def url(self, agent: str) -> str:
        zone = self._zones[agent]
        return f"http://{zone.agent_address}:{self.settings.agent_port}"

    def client(self, agent: str, timeout: float = 60.0) -> AgentClient:
        return AgentClient(self.url(agent), self.token, timeout, self.storage_keys, self.node_tls)

    def zone_network(self) -> ZoneNetwork | None:
        """The network of the zones that have namespaces (netns mode), or None (loopback)."""
        namespaced = [z for z in self.settings.zones if z.namespace is not None]
        return ZoneNetwork.from_zones(namespaced) if namespaced else None

    def ensure_local_agents(self) -> None:
        network = self.zone_network()
        if network is not None:
            network.ensure()
        for zone in self.settings.zones:
            self._start_agent(zone)

    def ensure_local_agent(self, agent: str, timeout: float = 15.0) -> int:
        """Start the agent of zone `agent` on this machine unless it answers already; its pid.
        AgentStartError when it does not answer within `timeout` seconds."""
        zone = self._zones[agent]
        network = self.zone_network()
        if zone.namespace is not None and network is not None:
            network.ensure()  # a cut zone stays cut: its agent then does not answer
        return self._start_agent(zone, timeout)

    def _start_agent(self, zone: Zone, timeout: float = 15.0) -> int:
        return ensure_agent(
            name=zone.name,
            host=zone.agent_address,
            port=self.settings.agent_port,
            state_dir=self.settings.agents_dir / zone.name,
            token_file=self.settings.home / "agent-token",
            namespace=zone.namespace,
            timeout=timeout,
        )
