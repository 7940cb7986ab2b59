"""The host agents the control plane drives. In the embedded default there is one per host on this
machine (STEWARD_HOSTS_PER_ZONE hosts per zone, one by default), started (detached) by the control
plane when it is not already running; in netns mode (STEWARD_ZONE_NETWORK) inside its zone's
network namespace, which is made first when missing.

The control plane speaks to agents over mutual TLS once its credentials are in its home
(`steward.agent.mtls.ControlPlaneTlsFiles`, written by the server from the store): an embedded
agent is given its key and certificate in its state directory before it is started
(`local_credentials`, set by the server), and serves HTTPS with them. Without those files (a
directory made outside a server, as some tests do) agents are spoken to over plain HTTP with the
shared token, as before."""

from __future__ import annotations

import logging
import secrets
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from steward.agent.client import AgentClient
from steward.agent.launcher import AgentStartError, agent_pid, ensure_agent, powered_off
from steward.agent.mtls import AgentTlsFiles, ClientTls, ControlPlaneTlsFiles
from steward.network.zones import ZoneNetwork
from steward.settings import Host, Settings

log = logging.getLogger(__name__)


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
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.token = agent_token(settings.home)
        self._hosts: dict[str, Host] = {h.name: h for h in settings.hosts}
        self._starting: dict[str, threading.Lock] = {}
        self.client_tls = ClientTls(ControlPlaneTlsFiles.of_home(settings.home))
        self.local_credentials: Callable[[Host, Path], None] | None = None
        """Puts an embedded agent's TLS files in its state directory (the host, that directory)
        before it starts: `AgentAuthority.ensure_local_agent`, set by the server."""

    @property
    def hosts(self) -> tuple[Host, ...]:
        return tuple(self._hosts.values())

    def host(self, agent: str) -> Host:
        return self._hosts[agent]

    def zone_hosts(self, zone: str) -> list[Host]:
        """The hosts of `zone`, host 1 first."""
        return [h for h in self._hosts.values() if h.zone.name == zone]

    def ssl_context(self) -> ssl.SSLContext | None:
        """The control plane's mutual TLS to agents, or None (plain HTTP with the token)."""
        return self.client_tls.context()

    def url(self, agent: str) -> str:
        return self.url_at(self._hosts[agent].agent_address, self.settings.agent_port)

    def url_at(self, address: str, port: int) -> str:
        scheme = "https" if self.ssl_context() is not None else "http"
        host = f"[{address}]" if ":" in address else address
        return f"{scheme}://{host}:{port}"

    def client(self, agent: str, timeout: float = 60.0) -> AgentClient:
        return self.client_at(self._hosts[agent].agent_address, self.settings.agent_port, timeout)

    def client_at(self, address: str, port: int, timeout: float = 60.0) -> AgentClient:
        """A client of the agent at address:port (an embedded one or one that joined)."""
        context = self.ssl_context()
        token = None if context is not None else self.token
        return AgentClient(self.url_at(address, port), token, timeout, context)

    def zone_network(self) -> ZoneNetwork | None:
        """The network of the zones that have namespaces (netns mode), or None (loopback)."""
        namespaced = [z for z in self.settings.zones if z.namespace is not None]
        return ZoneNetwork.from_zones(namespaced) if namespaced else None

    def ensure_local_agents(self) -> None:
        network = self.zone_network()
        if network is not None:
            network.ensure()
        for host in self._hosts.values():
            if powered_off(self.state_dir(host.name)):
                log.warning("host %s is powered off: its agent is not started", host.name)
                continue
            self._start_agent(host)

    def ensure_local_agent(self, agent: str, timeout: float = 15.0) -> int:
        """Start the agent `agent` on this machine unless it answers already; its pid.
        AgentStartError when it does not answer within `timeout` seconds, or its host is powered
        off."""
        host = self._hosts[agent]
        if powered_off(self.state_dir(agent)):
            raise AgentStartError(f"host {agent} is powered off")
        network = self.zone_network()
        if host.zone.namespace is not None and network is not None:
            network.ensure()  # a cut zone stays cut: its agent then does not answer
        return self._start_agent(host, timeout)

    def agent_running(self, agent: str) -> bool:
        """Whether a process of agent `agent` runs on this machine (it may be starting, or its
        zone cut off), whether it answers or not."""
        return agent_pid(self.state_dir(agent)) is not None

    def state_dir(self, agent: str) -> Path:
        return self.settings.agents_dir / agent

    def _start_agent(self, host: Host, timeout: float = 15.0) -> int:
        # One start of an agent at a time: the reconciler, a repair and the health monitor's
        # sweep may all find it silent at once.
        with self._starting.setdefault(host.name, threading.Lock()):
            state_dir = self.state_dir(host.name)
            context = self.ssl_context()
            if context is not None and self.local_credentials is not None:
                self.local_credentials(host, state_dir)
            files = AgentTlsFiles.of_state_dir(state_dir)
            tls = context is not None and files.complete()
            return ensure_agent(
                name=host.name,
                host=host.agent_address,
                port=self.settings.agent_port,
                state_dir=state_dir,
                token_file=None if tls else self.settings.home / "agent-token",
                namespace=host.zone.namespace,
                timeout=timeout,
                tls_dir=files.directory if tls else None,
                ssl_context=context if tls else None,
            )
