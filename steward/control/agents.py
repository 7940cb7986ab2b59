"""The host agents the control plane drives: one per registered host. In the embedded default
there is one per host on this machine (STEWARD_HOSTS_PER_ZONE hosts per zone, one by default),
started (detached) by the control plane when it is not already running; in netns mode
(STEWARD_ZONE_NETWORK) inside its zone's network namespace, which is made first when missing.
Joined hosts run their agents on their own machines and are only reached.

The control plane speaks to agents over mutual TLS once its credentials are in its home
(`steward.agent.mtls.ControlPlaneTlsFiles`, written by the server from the store): an embedded
agent is given its key and certificate in its state directory before it is started
(`local_credentials`, set by the server), and serves HTTPS with them; a joined agent got its
certificate when it joined. Without those files (a directory made outside a server, as some
tests do) agents are spoken to over plain HTTP with the shared token, as before."""

from __future__ import annotations

import logging
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

from steward.agent.client import AgentClient
from steward.agent.launcher import AgentStartError, agent_pid, ensure_agent, powered_off
from steward.agent.mtls import AgentTlsFiles, ClientTls, ControlPlaneTlsFiles
from steward.control.host_registry import HostEntry, HostRegistry, settings_entries
from steward.domain.model import utcnow
from steward.files import replace_file
from steward.network.zones import ZoneNetwork
from steward.settings import Host, Settings

log = logging.getLogger(__name__)


def agent_token(home: Path) -> str:
    """The shared secret between control plane and agents, made once per Steward home."""
    path = home / "agent-token"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        replace_file(path, secrets.token_urlsafe(32), private=True)
    return path.read_text().strip()


REFRESH_SECONDS = 1.0
"""How long the directory trusts its copy of the host registry before reading it again."""


SEEN_EVERY = 30.0
"""Seconds between two writes of a host's `last_seen` while its agent keeps answering."""


class AgentDirectory:
    """The agents of the registered hosts (`steward.control.host_registry`): how to reach each
    one, and, for the embedded hosts of this machine, how to start it. Without a registry (tools
    that only look at the embedded default) the hosts are those the settings give."""

    def __init__(self, settings: Settings, registry: HostRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.token = agent_token(settings.home)
        self._entries: dict[str, HostEntry] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}
        self.client_tls = ClientTls(ControlPlaneTlsFiles.of_home(settings.home))
        self.local_credentials: Callable[[Host, Path], None] | None = None
        """Puts an embedded agent's TLS files in its state directory (the host, that directory)
        before it starts: `AgentAuthority.ensure_local_agent`, set by the server."""
        self._seen_at: dict[str, float] = {}
        if registry is None:
            self._entries = {e.name: e for e in settings_entries(settings)}

    def _current(self, refresh: bool = False) -> dict[str, HostEntry]:
        if self.registry is None:
            return self._entries
        with self._lock:
            stale = time.monotonic() - self._read_at > REFRESH_SECONDS
            if refresh or stale:
                self._entries = {e.name: e for e in self.registry.entries()}
                self._read_at = time.monotonic()
            return self._entries

    def seen(self, agent: str) -> None:
        """Agent `agent` answered: its host's `last_seen`, written at most every
        SEEN_EVERY seconds."""
        if self.registry is None:
            return
        now = time.monotonic()
        if now - self._seen_at.get(agent, float("-inf")) < SEEN_EVERY:
            return
        self._seen_at[agent] = now
        self.registry.records.seen(agent, utcnow())

    def refresh(self) -> None:
        """Read the registry again now (after a host registered, drained or was removed)."""
        self._current(refresh=True)

    @property
    def hosts(self) -> tuple[HostEntry, ...]:
        return tuple(self._current().values())

    def host(self, agent: str) -> HostEntry:
        entries = self._current()
        if agent not in entries:
            entries = self._current(refresh=True)
        return entries[agent]

    def zone_hosts(self, zone: str) -> list[HostEntry]:
        """The hosts of `zone`, host 1 first."""
        hosts = [h for h in self.hosts if h.zone.name == zone]
        return sorted(hosts, key=lambda h: (h.number, h.name))

    def ssl_context(self) -> ssl.SSLContext | None:
        """The control plane's mutual TLS to agents, or None (plain HTTP with the token)."""
        return self.client_tls.context()

    def url(self, agent: str) -> str:
        """Where agent `agent` answers: an embedded host's over HTTPS wherever the control plane
        has its client certificate (the control plane starts it with its own); another
        machine's as registered (a joined host's `https://...`; one an operator registered by
        hand, `host:port`, over plain HTTP with the shared token)."""
        entry = self.host(agent)
        if entry.local is None:
            return entry.agent_url
        return self._scheme(entry.agent_url)

    def url_at(self, address: str, port: int) -> str:
        host = f"[{address}]" if ":" in address else address
        return self._scheme(f"http://{host}:{port}")

    def _scheme(self, url: str) -> str:
        """HTTPS wherever the control plane has its client certificate."""
        if self.ssl_context() is not None and url.startswith("http://"):
            return "https://" + url.removeprefix("http://")
        return url

    def client(self, agent: str, timeout: float = 60.0) -> AgentClient:
        return self._client(self.url(agent), timeout)

    def client_at(self, address: str, port: int, timeout: float = 60.0) -> AgentClient:
        """A client of the agent at address:port, registered or not (a host joining)."""
        return self._client(self.url_at(address, port), timeout)

    def _client(self, url: str, timeout: float) -> AgentClient:
        context = self.ssl_context() if url.startswith("https://") else None
        token = None if context is not None else self.token
        return AgentClient(url, token, timeout, context)

    def zone_network(self) -> ZoneNetwork | None:
        """The network of the zones that have namespaces (netns mode), or None (loopback)."""
        namespaced = [z for z in self.settings.zones if z.namespace is not None]
        return ZoneNetwork.from_zones(namespaced) if namespaced else None

    def ensure_local_agents(self) -> None:
        """Start the agent of every embedded host that does not run (joined hosts' agents are
        started on their own machines)."""
        network = self.zone_network()
        if network is not None:
            network.ensure()
        for entry in self.hosts:
            host = entry.local
            if host is None:
                continue
            if powered_off(self.state_dir(host.name)):
                log.warning("host %s is powered off: its agent is not started", host.name)
                continue
            self._start_agent(host)

    def ensure_local_agent(self, agent: str, timeout: float = 15.0) -> int:
        """Start the agent `agent` on this machine unless it answers already; its pid.
        AgentStartError when it does not answer within `timeout` seconds, or its host is powered
        off."""
        host = self.host(agent).local
        if host is None:
            raise AgentStartError(f"host {agent} is not on this machine: it starts its own agent")
        if powered_off(self.state_dir(agent)):
            raise AgentStartError(f"host {agent} is powered off")
        network = self.zone_network()
        if host.zone.namespace is not None and network is not None:
            network.ensure()  # a cut zone stays cut: its agent then does not answer
        return self._start_agent(host, timeout)

    def agent_running(self, agent: str) -> bool:
        """Whether a process of agent `agent` runs on this machine (it may be starting, or its
        zone cut off), whether it answers or not; False for a host of another machine."""
        entry = self._current().get(agent)
        if entry is not None and entry.local is None:
            return False
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
