"""Where Steward keeps its files and how it is reached. Every value can be set by environment."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from steward.network.zones import ZoneNetwork, namespaces_supported

ZONE_NETWORK_ENV = "STEWARD_ZONE_NETWORK"
LEADER_ELECTION_ENV = "STEWARD_LEADER_ELECTION"
LEADER_ELECTION_MODES = ("auto", "on", "off")
ZONE_NETWORK_MODES = ("loopback", "netns", "auto")
AUTH_ENV = "STEWARD_AUTH"
ENCRYPTION_AT_REST_ENV = "STEWARD_ENCRYPTION_AT_REST"
ENCRYPTION_AT_REST_MODES = ("auto", "on", "off")
ENCRYPTION_TOOLS = ("gocryptfs", "fusermount3")
"""What encrypts a node's data at rest (`steward.agent.encryption`): gocryptfs and the FUSE
helper that unmounts its views."""


def encryption_supported() -> bool:
    """gocryptfs, the FUSE helper and /dev/fuse: what an agent needs to encrypt nodes' data, and
    what STEWARD_ENCRYPTION_AT_REST=auto looks for on this host."""
    return all(shutil.which(tool) for tool in ENCRYPTION_TOOLS) and Path("/dev/fuse").exists()


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


LOG_LEVEL_ENV = "STEWARD_LOG_LEVEL"
LOG_FORMAT_ENV = "STEWARD_LOG_FORMAT"


def default_home() -> Path:
    return _env_path("STEWARD_HOME", Path.home() / ".steward")


def kafka_cache_dir() -> Path:
    """Where installed Kafka distributions live; shared by every Steward home on the machine."""
    return _env_path("STEWARD_KAFKA_CACHE", Path.home() / ".cache" / "steward" / "kafka")


@dataclass(frozen=True)
class Zone:
    """An availability zone of the embedded default: one host agent and its nodes on their own
    range of addresses, either loopback addresses of the host or a network namespace's."""

    name: str
    address_prefix: str
    """First three octets of the zone's addresses, e.g. "127.0.1": nodes get 127.0.1.1, .2, ..."""
    namespace: str | None = None
    """The Linux network namespace the zone's agent and nodes run in (`netns` mode, see
    steward.network.zones), or None: the zone is a loopback range of the host's own network."""
    subnets: tuple[str, ...] = ()
    """The subnet ids (`subnet-0a1b...`) that name this zone in a CreateCluster's
    `ClientSubnets`, as STEWARD_ZONES gives them; the zone's name always does too."""

    @property
    def agent_address(self) -> str:
        return f"{self.address_prefix}.254"


HOSTS_PER_ZONE_ENV = "STEWARD_HOSTS_PER_ZONE"
MAX_HOSTS_PER_ZONE = 8
FIRST_AGENT_HOST_NUMBER = 254
"""Host k (1-based) of a zone has its agent on <zone prefix>.<255 - k>: host 1 on .254."""


@dataclass(frozen=True)
class Host:
    """A machine of a zone in the embedded default: one host agent and the nodes it runs. Host 1
    of a zone is named as the zone (its agent is the zone's of a one-host layout); host k >= 2 is
    `<zone>-h<k>`. The hosts of a zone share its range of addresses (and its network namespace):
    host k of n owns the node addresses <prefix>.<a> with a = k, k + n, k + 2n, ... below the
    agents' addresses."""

    zone: Zone
    number: int
    """1-based position of the host in its zone."""
    hosts_in_zone: int = 1

    @property
    def name(self) -> str:
        """The name of the host's agent (and of its state directory under `agents/`)."""
        return self.zone.name if self.number == 1 else f"{self.zone.name}-h{self.number}"

    @property
    def agent_address(self) -> str:
        return f"{self.zone.address_prefix}.{FIRST_AGENT_HOST_NUMBER + 1 - self.number}"

    def node_addresses(self) -> list[str]:
        """The addresses this host's nodes may take, in order."""
        last = FIRST_AGENT_HOST_NUMBER - self.hosts_in_zone
        numbers = range(self.number, last + 1, self.hosts_in_zone)
        return [f"{self.zone.address_prefix}.{n}" for n in numbers]

    def owns(self, address: str) -> bool:
        """Whether `address` is one of the host's node addresses."""
        prefix, _, last = address.rpartition(".")
        if prefix != self.zone.address_prefix or not last.isdigit():
            return False
        number = int(last)
        in_range = 1 <= number <= FIRST_AGENT_HOST_NUMBER - self.hosts_in_zone
        return in_range and (number - self.number) % self.hosts_in_zone == 0


def zone_hosts(zones: tuple[Zone, ...], per_zone: int) -> tuple[Host, ...]:
    """Every host of the given zones, `per_zone` each, zone by zone."""
    if not 1 <= per_zone <= MAX_HOSTS_PER_ZONE:
        raise ValueError(f"{HOSTS_PER_ZONE_ENV}={per_zone}: expected 1 to {MAX_HOSTS_PER_ZONE}")
    return tuple(Host(zone, k, per_zone) for zone in zones for k in range(1, per_zone + 1))


def zone_network_mode() -> str:
    """How the zones are laid out, from STEWARD_ZONE_NETWORK: "loopback" (the default: loopback
    ranges 127.<octet>.<zone>), "netns" (a network namespace per zone, 10.<octet>.<zone>), or
    "auto" (netns where this process may make namespaces, else loopback)."""
    mode = os.environ.get(ZONE_NETWORK_ENV, "").strip().lower() or "loopback"
    if mode not in ZONE_NETWORK_MODES:
        raise ValueError(f"{ZONE_NETWORK_ENV}={mode!r}: expected one of {ZONE_NETWORK_MODES}")
    if mode == "auto":
        return "netns" if namespaces_supported() else "loopback"
    return mode


ZONES_ENV = "STEWARD_ZONES"
SUBNET_ID_PREFIX = "subnet-"


def parse_zones(value: str) -> list[tuple[str, tuple[str, ...]]]:
    """The zones STEWARD_ZONES names, each with the subnet ids that stand for it in
    `ClientSubnets`. Two forms: zone names separated by commas (`az-a,az-b,az-c`), or zones
    separated by semicolons, each with `=` and its comma-separated subnet ids
    (`az-a=subnet-0a1b,subnet-0a1c;az-b=subnet-0b1a;az-c`). A ValueError says what is wrong."""
    mapped = "=" in value or ";" in value
    entries = value.split(";") if mapped else value.split(",")
    zones: list[tuple[str, tuple[str, ...]]] = []
    owner: dict[str, str] = {}
    for entry in entries:
        if mapped and not entry.strip():
            continue  # a trailing or doubled ";"
        name, _, listed = entry.partition("=")
        name = name.strip()
        if not name:
            raise ValueError(f"{ZONES_ENV}={value!r}: a zone has no name")
        if any(name == known for known, _ in zones):
            raise ValueError(f"{ZONES_ENV}={value!r}: zone {name} is named twice")
        subnets = tuple(s.strip() for s in listed.split(",")) if listed.strip() else ()
        for subnet in subnets:
            if not subnet.startswith(SUBNET_ID_PREFIX) or subnet == SUBNET_ID_PREFIX:
                raise ValueError(
                    f"{ZONES_ENV}={value!r}: {subnet!r} (under zone {name}) is not a subnet id "
                    f"({SUBNET_ID_PREFIX}...); zones are separated by ';'"
                )
            if subnet in owner:
                raise ValueError(
                    f"{ZONES_ENV}={value!r}: subnet {subnet} is in both {owner[subnet]} and {name}"
                )
            owner[subnet] = name
        zones.append((name, subnets))
    return zones


def default_zones() -> tuple[Zone, ...]:
    """Three local zones by default, or those STEWARD_ZONES names (`parse_zones`).
    STEWARD_ADDRESS_OCTET picks the second octet (127.<octet>.<zone>.<host>) so that several
    Steward instances on one machine (tests, CI) never share an address. In netns mode
    (STEWARD_ZONE_NETWORK) zone i is the namespace steward-<octet>-<name> with the addresses
    10.<octet>.<i>.<host>."""
    octet = int(os.environ.get("STEWARD_ADDRESS_OCTET", "0"))
    parsed = parse_zones(os.environ.get(ZONES_ENV, "az-a,az-b,az-c"))
    names = [name for name, _ in parsed]
    if zone_network_mode() == "netns":
        network = ZoneNetwork(octet, names)
        return tuple(
            Zone(z.name, z.prefix, z.namespace, subnets)
            for z, (_, subnets) in zip(network.zones, parsed, strict=True)
        )
    return tuple(
        Zone(name, f"127.{octet}.{i + 1}", subnets=subnets)
        for i, (name, subnets) in enumerate(parsed)
    )


METRICS_PROMETHEUS_URL_ENV = "STEWARD_METRICS_PROMETHEUS_URL"
ALARM_TOPICS_ENV = "STEWARD_ALARM_TOPICS"


def alarm_topics(text: str) -> dict[str, str]:
    """`name=url` pairs, separated by whitespace or commas, as a mapping."""
    found: dict[str, str] = {}
    for pair in text.replace(",", " ").split():
        name, sep, url = pair.partition("=")
        if not sep or not name or not url:
            raise ValueError(f"{ALARM_TOPICS_ENV}: {pair!r} is not name=url")
        found[name] = url
    return found


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
    hosts_per_zone: int = field(
        default_factory=lambda: int(os.environ.get(HOSTS_PER_ZONE_ENV, "1"))
    )
    """Hosts (agents) per zone on this machine (STEWARD_HOSTS_PER_ZONE, 1 to 8; 1 by default)."""
    host_replace_after: float = field(
        default_factory=lambda: float(os.environ.get("STEWARD_HOST_REPLACE_AFTER", "60"))
    )
    """Seconds a host's agent may stay silent, and fail to start again, before its brokers are
    moved to another host of its zone (STEWARD_HOST_REPLACE_AFTER)."""
    agent_port: int = field(
        default_factory=lambda: int(os.environ.get("STEWARD_AGENT_PORT", "9781"))
    )
    agent_certificate_lifetime: float = field(
        default_factory=lambda: float(
            os.environ.get("STEWARD_AGENT_CERTIFICATE_LIFETIME", str(90 * 86400))
        )
    )
    """Seconds the agents' certificates and the control plane's client certificate for the agent
    API are valid (STEWARD_AGENT_CERTIFICATE_LIFETIME, 90 days by default); each is renewed when
    a third of it is left."""
    max_broker_nodes: int = field(
        default_factory=lambda: int(os.environ.get("STEWARD_MAX_BROKER_NODES", "15"))
    )
    reassignment_throttle: int = field(
        default_factory=lambda: int(
            os.environ.get("STEWARD_REASSIGNMENT_THROTTLE", str(50 * 1024 * 1024))
        )
    )
    """Bytes per second each broker may spend on moving replicas when a cluster is rescaled."""
    autoscaling_interval: float = field(
        default_factory=lambda: float(os.environ.get("STEWARD_AUTOSCALING_INTERVAL", "60"))
    )
    """Seconds between two passes of the storage and broker autoscalers
    (STEWARD_AUTOSCALING_INTERVAL); a change to a target or policy wakes them at once."""
    broker_scaling_period: int = field(
        default_factory=lambda: int(os.environ.get("STEWARD_BROKER_SCALING_PERIOD", "300"))
    )
    """Seconds per point of the metric series broker autoscaling fits its trend to
    (STEWARD_BROKER_SCALING_PERIOD); the latest point is the load it sees now."""
    broker_scaling_window: float = field(
        default_factory=lambda: float(os.environ.get("STEWARD_BROKER_SCALING_WINDOW", "10800"))
    )
    """Seconds of history the trend is fitted over (STEWARD_BROKER_SCALING_WINDOW, 3 hours)."""
    broker_scaling_lead_time: float = field(
        default_factory=lambda: float(os.environ.get("STEWARD_BROKER_SCALING_LEAD_TIME", "900"))
    )
    """Seconds ahead the trend is carried (STEWARD_BROKER_SCALING_LEAD_TIME, 15 minutes): about
    what adding brokers and moving replicas onto them takes. Tests shorten all three."""
    database_url: str | None = field(default_factory=lambda: os.environ.get("STEWARD_DATABASE_URL"))
    """The store (STEWARD_DATABASE_URL): SQLite in the home when unset; a PostgreSQL URL
    (`postgresql://user:password@host/database`) for control planes on several hosts."""
    leader_election: str = field(
        default_factory=lambda: os.environ.get(LEADER_ELECTION_ENV, "").strip().lower() or "auto"
    )
    """Whether this server competes for the store's lease and runs the background work only
    while it leads (STEWARD_LEADER_ELECTION): "auto" (the default: when the store is not SQLite,
    i.e. may be shared by other servers), "on" or "off"."""
    lease_seconds: float = field(
        default_factory=lambda: float(os.environ.get("STEWARD_LEASE_SECONDS", "10"))
    )
    """How long the leader's lease lasts without renewal (STEWARD_LEASE_SECONDS): about how
    long the control plane takes to have a new leader when the leading server dies."""
    advertise_url: str | None = field(
        default_factory=lambda: os.environ.get("STEWARD_ADVERTISE_URL", "").strip() or None
    )
    """The URL of this server's API as the other servers reach it, to forward writes to it
    while it leads (STEWARD_ADVERTISE_URL); `api_url` when unset."""
    health_monitor: bool = field(
        default_factory=lambda: (
            os.environ.get("STEWARD_HEALTH_MONITOR", "on").lower()
            not in ("off", "0", "false", "no")
        )
    )
    """Watch clusters and repair them (HEALING). Off only for tests that break nodes on purpose
    and want them to stay broken."""
    metrics_interval: float = field(
        default_factory=lambda: float(os.environ.get("STEWARD_METRICS_INTERVAL", "15"))
    )
    """Seconds between two scrapes of the clusters' exporters into the metric store
    (STEWARD_METRICS_INTERVAL); 0 turns the scraper off."""
    metrics_prometheus_url: str | None = field(
        default_factory=lambda: os.environ.get(METRICS_PROMETHEUS_URL_ENV, "").strip() or None
    )
    """A Prometheus whose HTTP query API (`/api/v1/query_range`) answers the brokers' exporter
    metrics instead of the embedded store (STEWARD_METRICS_PROMETHEUS_URL, e.g.
    http://127.0.0.1:9090); unset: the embedded SQLite store answers everything."""
    alarm_topics: dict[str, str] = field(
        default_factory=lambda: alarm_topics(os.environ.get(ALARM_TOPICS_ENV, ""))
    )
    """The webhook each SNS topic an alarm action may name posts to (STEWARD_ALARM_TOPICS:
    `name=url` pairs separated by spaces or commas; an action
    `arn:aws:sns:<region>:<account>:<name>` then posts to that URL)."""
    auth: str = field(
        default_factory=lambda: os.environ.get(AUTH_ENV, "").strip().lower() or "sigv4"
    )
    """How the API checks callers (STEWARD_AUTH): "sigv4" (the default: every request signed by
    an access key of this Steward) or "off" (anything passes; development only)."""
    log_level: str = field(default_factory=lambda: os.environ.get(LOG_LEVEL_ENV, "INFO"))
    """INFO (the default: operations, repairs, refusals, warnings), DEBUG (also every request to
    an agent and the Kafka clients' chatter), WARNING or ERROR (STEWARD_LOG_LEVEL)."""
    log_format: str = field(default_factory=lambda: os.environ.get(LOG_FORMAT_ENV, "text"))
    """`text` (the default: a line a record) or `json` (a JSON object a line; STEWARD_LOG_FORMAT).
    The agents Steward starts log the same way."""
    connect_s3_endpoint: str | None = field(
        default_factory=lambda: os.environ.get("STEWARD_CONNECT_S3_ENDPOINT") or None
    )
    """The S3 endpoint that MSK Connect's custom plugin locations (`s3://` objects) are read from
    (STEWARD_CONNECT_S3_ENDPOINT); AWS's own when unset. Its keys:
    STEWARD_CONNECT_S3_ACCESS_KEY_ID and STEWARD_CONNECT_S3_SECRET_ACCESS_KEY, else boto3's
    default credentials."""
    connect_s3_access_key_id: str | None = field(
        default_factory=lambda: os.environ.get("STEWARD_CONNECT_S3_ACCESS_KEY_ID") or None
    )
    connect_s3_secret_access_key: str | None = field(
        default_factory=lambda: os.environ.get("STEWARD_CONNECT_S3_SECRET_ACCESS_KEY") or None,
        repr=False,
    )
    encryption_at_rest: str = field(
        default_factory=lambda: os.environ.get(ENCRYPTION_AT_REST_ENV, "").strip().lower() or "auto"
    )
    """Whether new clusters' data is encrypted on disk (STEWARD_ENCRYPTION_AT_REST): "auto" (the
    default: where the host has gocryptfs and FUSE), "on" (always; a host without them fails the
    nodes' storage) or "off"."""

    def encrypts_at_rest(self) -> bool:
        """Whether a cluster made now is encrypted at rest."""
        if self.encryption_at_rest not in ENCRYPTION_AT_REST_MODES:
            raise ValueError(
                f"{ENCRYPTION_AT_REST_ENV}={self.encryption_at_rest!r}: "
                f"expected one of {ENCRYPTION_AT_REST_MODES}"
            )
        if self.encryption_at_rest == "auto":
            return encryption_supported()
        return self.encryption_at_rest == "on"

    def elects_leader(self) -> bool:
        """Whether this server must hold the store's lease to run the background work."""
        if self.leader_election not in LEADER_ELECTION_MODES:
            raise ValueError(
                f"{LEADER_ELECTION_ENV}={self.leader_election!r}: "
                f"expected one of {LEADER_ELECTION_MODES}"
            )
        if self.leader_election == "auto":
            return not self.db_url.startswith("sqlite")
        return self.leader_election == "on"

    @property
    def api_address(self) -> str:
        """Where the other control plane servers reach this one's API."""
        return self.advertise_url or self.api_url

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'steward.db'}"

    @property
    def hosts(self) -> tuple[Host, ...]:
        return zone_hosts(self.zones, self.hosts_per_zone)

    @property
    def agents_dir(self) -> Path:
        return self.home / "agents"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"
