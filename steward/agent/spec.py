"""What the control plane asks an agent to run (`NodeSpec`) and what it reports (`NodeStatus`).

Both travel as JSON between control plane and agent and are stored as JSON in the node's
directory, so they are plain dataclasses with explicit `to_dict`/`from_dict`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

from steward.agent.cgroups import MAX_WEIGHT, MIN_WEIGHT
from steward.agent.log_delivery import InvalidLogDelivery, LogDelivery
from steward.kafka.launch import LOCATION_PROPERTIES, server_properties

NodeRole = Literal["broker", "controller", "connect"]
"""`connect`: a Kafka Connect worker in distributed mode (`steward.kafka.connect_worker`): no
storage to format, its properties are the worker's, its command is ConnectDistributed."""
DesiredState = Literal["running", "stopped"]
NodeState = Literal["running", "stopped", "starting", "crashed", "formatting", "failed"]

_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_KAFKA_UUID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

AGENT_OWNED_PROPERTIES: frozenset[str] = LOCATION_PROPERTIES
"""Storage locations: the agent places every node's data and TLS key store under its own node
directory."""


def is_valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


class InvalidSpec(ValueError):
    """A NodeSpec the agent cannot run as given; the caller has to fix it."""


@dataclass
class NodeSpec:
    key: str
    """Unique on the host; [a-z0-9-]; the name of the node's directory."""
    kafka_version: str
    role: NodeRole
    node_id: int
    cluster_id: str
    """The KRaft cluster id (base64url of a UUID, 22 characters)."""
    directory_id: str
    """The id of the node's only log directory (base64url of a UUID, 22 characters)."""
    properties: dict[str, str]
    """The full server.properties except `log.dirs`, which the agent sets."""
    initial_controllers: str | None = None
    """Controllers only: `--initial-controllers` of the format, `id@host:port:directoryId,...`."""
    heap_mb: int = 1024
    jvm_options: list[str] = field(default_factory=list)
    desired: DesiredState = "running"
    cpu_weight: int | None = None
    """The node's relative share of the host's CPU under contention (100 = the default share),
    enforced with cgroups where the host allows it (see `steward.agent.cgroups`)."""
    volume_gb: int | None = None
    """Brokers: the size of the node's data volume, where the agent gives nodes volumes of their
    own (`steward.agent.volumes`). It only grows, and growing restarts nothing."""
    encrypted_storage: bool = False
    """The node's data is encrypted at rest (`steward.agent.encryption`), with `storage_key`."""
    storage_key: str | None = field(default=None, repr=False)
    """The cluster's data key, for encrypted storage. It travels from the control plane to the
    agent and stays in the agent's memory: never in the stored spec (`to_json`) nor a log."""
    tls_certificate_chain: str | None = None
    """Nodes with TLS listeners: the node's certificate and its CA's, PEM."""
    tls_key: str | None = field(default=None, repr=False)
    """The node's private key (PKCS#8 PEM). The agent writes it with the certificate chain into
    the node's key store file (mode 0600) and leaves it out of the stored spec (`to_json`)."""
    tls_trusted_certificates: str | None = None
    """The CA certificates the node trusts (PEM): its cluster's CA."""
    client_certificate_authorities: list[str] = field(default_factory=list)
    """Brokers with mutual TLS for clients: the ARNs of the private CAs whose client certificates
    the CLIENT_TLS listener trusts (MSK's `CertificateAuthorityArnList`)."""
    client_trusted_certificates: str | None = None
    """Those CAs' certificates (PEM), filled in by the control plane on the way to the agent."""
    revocation_lists: str | None = None
    """Those CAs' certificate revocation lists (PEM), likewise; the broker reads them again when
    the agent rewrites them (`RevocationCheckingPrincipalBuilder`), so a new list restarts
    nothing."""
    log_delivery: dict[str, Any] | None = None
    """Brokers: where the agent delivers the broker's log (`steward.agent.log_delivery`, MSK's
    LoggingInfo). Applied live: a change restarts nothing."""
    aws_credentials: dict[str, Any] | None = field(default=None, repr=False)
    """Connect workers that sign in with IAM: the temporary credentials of the connector's
    service execution role (`AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration` in
    epoch seconds). The agent keeps them in the worker's AWS profile (`steward.agent.aws_profile`),
    replaced live when the control plane sends a renewed session, and leaves them out of the
    stored spec (`to_json`)."""
    node_exporter_port: int | None = None
    """Brokers: the port on the broker's address where the agent runs Prometheus's node_exporter
    (`steward.agent.node_exporter`, MSK's node exporter; the built-in one where the package is
    missing); None for none. Applied live."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            raise InvalidSpec(f"key {self.key!r} must match {_KEY.pattern}")
        if not isinstance(self.kafka_version, str) or not _VERSION.match(self.kafka_version):
            raise InvalidSpec(f"kafka_version {self.kafka_version!r} is not X.Y.Z")
        if self.role not in get_args(NodeRole):
            raise InvalidSpec(f"role {self.role!r} is not one of {get_args(NodeRole)}")
        if self.desired not in get_args(DesiredState):
            raise InvalidSpec(f"desired {self.desired!r} is not one of {get_args(DesiredState)}")
        if not _is_int(self.node_id) or self.node_id < 0:
            raise InvalidSpec(f"node_id {self.node_id!r} must be a non-negative integer")
        if not _is_int(self.heap_mb) or self.heap_mb < 64:
            raise InvalidSpec(f"heap_mb {self.heap_mb!r} must be an integer of at least 64")
        if self.cpu_weight is not None and (
            not _is_int(self.cpu_weight) or not MIN_WEIGHT <= self.cpu_weight <= MAX_WEIGHT
        ):
            raise InvalidSpec(
                f"cpu_weight {self.cpu_weight!r} must be null or an integer "
                f"from {MIN_WEIGHT} to {MAX_WEIGHT}"
            )
        if self.volume_gb is not None and (not _is_int(self.volume_gb) or self.volume_gb < 1):
            raise InvalidSpec(f"volume_gb {self.volume_gb!r} must be null or a positive integer")
        if not isinstance(self.encrypted_storage, bool):
            raise InvalidSpec("encrypted_storage must be true or false")
        if self.storage_key is not None and (
            not isinstance(self.storage_key, str) or len(self.storage_key) < 32
        ):
            raise InvalidSpec("storage_key must be null or a string of at least 32 characters")
        for name in (
            "tls_certificate_chain",
            "tls_key",
            "tls_trusted_certificates",
            "client_trusted_certificates",
            "revocation_lists",
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or "-----BEGIN " not in value):
                raise InvalidSpec(f"{name} must be null or PEM text")
        for name in ("cluster_id", "directory_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _KAFKA_UUID.match(value):
                raise InvalidSpec(f"{name} {value!r} is not a Kafka UUID (22 base64url chars)")
        self._validate_properties()
        if self.log_delivery is not None:
            if self.role == "controller":
                raise InvalidSpec("log_delivery is only for brokers and Connect workers")
            try:
                LogDelivery.from_dict(self.log_delivery)
            except InvalidLogDelivery as error:
                raise InvalidSpec(f"log_delivery: {error}") from error
        if self.node_exporter_port is not None and (
            not _is_int(self.node_exporter_port) or not 1 <= self.node_exporter_port <= 65535
        ):
            raise InvalidSpec("node_exporter_port must be null or a port number")
        if self.aws_credentials is not None:
            if self.role != "connect":
                raise InvalidSpec("aws_credentials is only for Connect workers")
            _validate_aws_credentials(self.aws_credentials)
        if self.initial_controllers is not None and self.role != "controller":
            raise InvalidSpec("initial_controllers is only for controllers")
        if not isinstance(self.jvm_options, list) or not all(
            isinstance(option, str) and option for option in self.jvm_options
        ):
            raise InvalidSpec("jvm_options must be a list of non-empty strings")

    def _validate_properties(self) -> None:
        if not isinstance(self.properties, dict):
            raise InvalidSpec("properties must be an object of strings")
        for key, value in self.properties.items():
            if not isinstance(key, str) or not _PROPERTY_KEY.match(key):
                raise InvalidSpec(f"property name {key!r} is not valid")
            if not isinstance(value, str) or "\n" in value or "\r" in value:
                raise InvalidSpec(f"property {key} must be a single-line string")
            if key in AGENT_OWNED_PROPERTIES:
                raise InvalidSpec(f"{key} is set by the agent and must not be in properties")
        node_id = self.properties.get("node.id")
        if node_id is not None and node_id != str(self.node_id):
            raise InvalidSpec(f"properties node.id={node_id} but node_id is {self.node_id}")
        roles = self.properties.get("process.roles")
        if roles is not None and roles.replace(" ", "") != self.role:
            raise InvalidSpec(f"properties process.roles={roles} but role is {self.role}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeSpec:
        if not isinstance(data, dict):
            raise InvalidSpec("a node spec must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidSpec(f"unknown fields: {', '.join(unknown)}")
        try:
            spec = cls(**data)
        except TypeError as error:
            raise InvalidSpec(str(error)) from error
        spec.properties = dict(spec.properties)
        spec.jvm_options = list(spec.jvm_options)
        spec.client_certificate_authorities = list(spec.client_certificate_authorities)
        if spec.log_delivery is not None:
            spec.log_delivery = dict(spec.log_delivery)
        if spec.aws_credentials is not None:
            spec.aws_credentials = dict(spec.aws_credentials)
        return spec

    def to_json(self) -> str:
        """The spec as the agent stores it: without `storage_key` nor `tls_key`."""
        stored = self.to_dict()
        stored["storage_key"] = None
        stored["tls_key"] = None
        stored["aws_credentials"] = None
        if self.log_delivery is not None:
            stored["log_delivery"] = LogDelivery.from_dict(self.log_delivery).stored()
        return json.dumps(stored, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NodeSpec:
        return cls.from_dict(json.loads(text))

    def server_properties(self, data_dir: str) -> dict[str, str]:
        """The properties the node runs with: the spec's, plus identity and storage (a Connect
        worker has neither: its properties are all the worker's)."""
        if self.role == "connect":
            return dict(self.properties)
        return server_properties(self.properties, self.role, self.node_id, data_dir)

    @property
    def spec_hash(self) -> str:
        """Changes exactly when a running process must be restarted to pick the spec up: not on
        `desired` (start/stop), `initial_controllers` (used only when formatting) nor
        `volume_gb` (a volume grows under a running Kafka) nor `storage_key` (sent again, never
        changed). A `cpu_weight` of None and an `encrypted_storage` of false are left out, so that
        specs written before those fields existed keep their hash (and their running processes)."""
        launch = self.to_dict()
        del launch["desired"], launch["initial_controllers"], launch["volume_gb"]
        del launch["storage_key"]
        del launch["log_delivery"]  # the agent applies it live
        del launch["node_exporter_port"]  # so are the node metrics
        del launch["aws_credentials"]  # renewed live: the worker's SDK reads its profile again
        # The TLS material is issued anew as often as the control plane likes; what the node
        # listens with (its listeners, their protocols) is in `properties`.
        del launch["tls_certificate_chain"], launch["tls_key"], launch["tls_trusted_certificates"]
        # Which CAs the clients' listener trusts is a launch setting; their certificates and
        # revocation lists are material like the node's own (the lists are read live).
        del launch["client_trusted_certificates"], launch["revocation_lists"]
        if not launch["client_certificate_authorities"]:
            del launch["client_certificate_authorities"]
        if launch["cpu_weight"] is None:
            del launch["cpu_weight"]
        if not launch["encrypted_storage"]:
            del launch["encrypted_storage"]
        canonical = json.dumps(launch, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass
class NodeStatus:
    key: str
    state: NodeState
    pid: int | None = None
    started_at: float | None = None
    """Epoch seconds when the current (or last) process started."""
    restarts: int = 0
    """How often the agent restarted the node after it exited on its own."""
    last_exit_code: int | None = None
    message: str | None = None
    """Why the node is crashed or failed, e.g. the last lines of its log."""
    spec_hash: str | None = None
    """The `NodeSpec.spec_hash` the running process was started with."""
    data_missing: bool = False
    """The process runs but its data directory is gone (the volume was lost or wiped)."""
    cpu_seconds: float | None = None
    """CPU time the running process has used so far (all threads, user and system)."""
    volume_size_bytes: int | None = None
    """The size of the node's data volume, when it has one of its own (else None)."""
    volume_used_bytes: int | None = None
    """What is used of it (Kafka's data and anything else written there)."""
    log_delivery: dict[str, Any] | None = None
    """Per destination of the broker's log delivery: lines delivered, dropped (its queue
    overflowed while it was down) and waiting, and its last error (`steward.agent.log_shipper`)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeStatus:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        status = cls(**values)
        if status.state not in get_args(NodeState):
            raise ValueError(f"unknown node state {status.state!r}")
        return status


AWS_CREDENTIAL_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken")


def _validate_aws_credentials(value: object) -> None:
    if not isinstance(value, dict) or set(value) != {*AWS_CREDENTIAL_FIELDS, "Expiration"}:
        raise InvalidSpec(
            "aws_credentials must have exactly AccessKeyId, SecretAccessKey, SessionToken and "
            "Expiration"
        )
    for name in AWS_CREDENTIAL_FIELDS:
        text = value[name]
        if not isinstance(text, str) or not text or any(c in text for c in "\r\n\0"):
            raise InvalidSpec(f"aws_credentials.{name} must be a single-line string")
    expiration = value["Expiration"]
    if not isinstance(expiration, int | float) or isinstance(expiration, bool):
        raise InvalidSpec("aws_credentials.Expiration must be epoch seconds")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
