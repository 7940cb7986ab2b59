"""The host agents the control plane drives. In the embedded default there is one per zone on this
machine, started (detached) by the control plane when it is not already running."""

from __future__ import annotations

import secrets
from pathlib import Path

from steward.agent.client import AgentClient
from steward.agent.launcher import ensure_agent
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
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.token = agent_token(settings.home)
        self._zones: dict[str, Zone] = {z.name: z for z in settings.zones}

    def url(self, agent: str) -> str:
        zone = self._zones[agent]
        return f"http://{zone.agent_address}:{self.settings.agent_port}"

    def client(self, agent: str) -> AgentClient:
        return AgentClient(self.url(agent), self.token)

    def ensure_local_agents(self) -> None:
        for zone in self.settings.zones:
            ensure_agent(
                name=zone.name,
                host=zone.agent_address,
                port=self.settings.agent_port,
                state_dir=self.settings.agents_dir / zone.name,
                token_file=self.settings.home / "agent-token",
            )
