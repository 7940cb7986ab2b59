"""Where Steward keeps its files and how it is reached. Every value can be set by environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def default_home() -> Path:
    return _env_path("STEWARD_HOME", Path.home() / ".steward")


def kafka_cache_dir() -> Path:
    """Where installed Kafka distributions live; shared by every Steward home on the machine."""
    return _env_path("STEWARD_KAFKA_CACHE", Path.home() / ".cache" / "steward" / "kafka")


@dataclass(frozen=True)
class Zone:
    """An availability zone of the embedded default: one host agent on its own loopback range."""

    name: str
    address_prefix: str
    """First three octets of the zone's addresses, e.g. "127.0.1": nodes get 127.0.1.1, .2, ..."""

    @property
    def agent_address(self) -> str:
        return f"{self.address_prefix}.254"


def default_zones() -> tuple[Zone, ...]:
    """Three local zones. STEWARD_ADDRESS_OCTET picks the second octet (127.<octet>.<zone>.<host>)
    so that several Steward instances on one machine (tests, CI) never share an address."""
    octet = int(os.environ.get("STEWARD_ADDRESS_OCTET", "0"))
    names = os.environ.get("STEWARD_ZONES", "az-a,az-b,az-c").split(",")
    return tuple(Zone(name.strip(), f"127.{octet}.{i + 1}") for i, name in enumerate(names))


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    api_host: str = field(default_factory=lambda: os.environ.get("STEWARD_API_HOST", "127.0.0.1"))
    api_port: int = field(default_factory=lambda: int(os.environ.get("STEWARD_API_PORT", "9780")))
    region: str = field(default_factory=lambda: os.environ.get("STEWARD_REGION", "us-east-1"))
    account_id: str = field(
        default_factory=lambda: os.environ.get("STEWARD_ACCOUNT_ID", "000000000000")
    )
    zones: tuple[Zone, ...] = field(default_factory=default_zones)
    agent_port: int = field(
        default_factory=lambda: int(os.environ.get("STEWARD_AGENT_PORT", "9781"))
    )
    max_broker_nodes: int = field(
        default_factory=lambda: int(os.environ.get("STEWARD_MAX_BROKER_NODES", "15"))
    )
    reassignment_throttle: int = field(
        default_factory=lambda: int(
            os.environ.get("STEWARD_REASSIGNMENT_THROTTLE", str(50 * 1024 * 1024))
        )
    )
    """Bytes per second each broker may spend on moving replicas when a cluster is rescaled."""
    database_url: str | None = field(default_factory=lambda: os.environ.get("STEWARD_DATABASE_URL"))

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'steward.db'}"

    @property
    def agents_dir(self) -> Path:
        return self.home / "agents"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"
