"""Domain objects of the control plane: what a cluster is, what it should be, and what is
happening to it.

These are independent of any wire format; `steward.api.msk` translates them to MSK's JSON shapes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from steward.domain.health import Finding


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClusterState(StrEnum):
    ACTIVE = "ACTIVE"
    CREATING = "CREATING"
    DELETING = "DELETING"
    FAILED = "FAILED"
    HEALING = "HEALING"
    MAINTENANCE = "MAINTENANCE"
    REBOOTING_BROKER = "REBOOTING_BROKER"
    UPDATING = "UPDATING"


SERVING_STATES = frozenset(
    {
        ClusterState.ACTIVE,
        ClusterState.UPDATING,
        ClusterState.HEALING,
        ClusterState.REBOOTING_BROKER,
        ClusterState.MAINTENANCE,
    }
)
"""Cluster states in which the brokers serve, so Kafka can be read and changed through them
(topics, consumer groups, SCRAM credentials, ACLs)."""


class OperationState(StrEnum):
    PENDING = "PENDING"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_FAILED = "UPDATE_FAILED"

    @property
    def finished(self) -> bool:
        return self in (OperationState.UPDATE_COMPLETE, OperationState.UPDATE_FAILED)


class OperationType(StrEnum):
    """MSK's operation type names, as `ListClusterOperations` reports them."""

    CREATE = "CREATE"
    DELETE = "DELETE"
    INCREASE_BROKER_COUNT = "INCREASE_BROKER_COUNT"
    DECREASE_BROKER_COUNT = "DECREASE_BROKER_COUNT"
    UPDATE_BROKER_STORAGE = "UPDATE_BROKER_STORAGE"
    UPDATE_BROKER_TYPE = "UPDATE_BROKER_TYPE"
    UPDATE_CLUSTER_CONFIGURATION = "UPDATE_CLUSTER_CONFIGURATION"
    UPDATE_CLUSTER_KAFKA_VERSION = "UPDATE_CLUSTER_KAFKA_VERSION"
    UPDATE_MONITORING = "UPDATE_MONITORING"
    UPDATE_SECURITY = "UPDATE_SECURITY"
    REBOOT_NODE = "REBOOT_NODE"
    HEAL = "HEAL"
    """Steward's own: a repair the health monitor started (the cluster is HEALING meanwhile)."""
    REBALANCE = "REBALANCE"
    """Steward's own: replicas and leaders moved to even out the brokers' load (a plan of
    `steward.balancer`), asked for or started by continuous balancing."""


class StepStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class NodeRole(StrEnum):
    BROKER = "BROKER"
    CONTROLLER = "CONTROLLER"


class ClientBroker(StrEnum):
    TLS = "TLS"
    TLS_PLAINTEXT = "TLS_PLAINTEXT"
    PLAINTEXT = "PLAINTEXT"


class EnhancedMonitoring(StrEnum):
    DEFAULT = "DEFAULT"
    PER_BROKER = "PER_BROKER"
    PER_TOPIC_PER_BROKER = "PER_TOPIC_PER_BROKER"
    PER_TOPIC_PER_PARTITION = "PER_TOPIC_PER_PARTITION"


@dataclass(frozen=True)
class ConfigurationRef:
    arn: str
    revision: int


@dataclass(frozen=True)
class EncryptionInTransit:
    client_broker: ClientBroker = ClientBroker.PLAINTEXT
    in_cluster: bool = False


@dataclass(frozen=True)
class ClientAuthentication:
    unauthenticated: bool = True
    sasl_scram: bool = False
    sasl_iam: bool = False
    tls: bool = False
    tls_certificate_authority_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenMonitoring:
    jmx_exporter: bool = False
    node_exporter: bool = False


@dataclass(frozen=True)
class BrokerNodeGroup:
    instance_type: str
    zones: tuple[str, ...]
    """The availability zones the brokers are spread over, one per client subnet, in the order
    of `client_subnets`."""
    volume_size_gb: int = 1000
    security_groups: tuple[str, ...] = ()
    """MSK's `SecurityGroups`: recorded as given and answered back; Steward filters nothing by
    them."""
    client_subnets: tuple[str, ...] = ()
    """MSK's `ClientSubnets` as the user gave them: zone names, or subnet ids the operator
    mapped to zones (STEWARD_ZONES). Empty: they are the zone names."""

    @property
    def subnets(self) -> tuple[str, ...]:
        """The client subnets to answer with, one per zone."""
        return self.client_subnets or self.zones

    def subnet_of(self, zone: str) -> str:
        """The client subnet that placed brokers in `zone` (the zone's name if none did)."""
        return dict(zip(self.zones, self.subnets, strict=False)).get(zone, zone)


@dataclass(frozen=True)
class ClusterSpec:
    """Desired state of a provisioned cluster, as the user asked for it."""

    kafka_version: str
    """As the user gave it: a release (`4.1.2`) or MSK's name of a line (`4.1.x.kraft`)."""
    number_of_broker_nodes: int
    broker_node_group: BrokerNodeGroup
    configuration: ConfigurationRef | None = None
    encryption_in_transit: EncryptionInTransit = EncryptionInTransit()
    data_volume_kms_key_id: str | None = None
    encrypted_at_rest: bool = False
    """The brokers' and controllers' data is encrypted on disk (`steward.agent.encryption`), with
    a data key of the cluster's own. Decided when the cluster is made (STEWARD_ENCRYPTION_AT_REST)
    and never changed: the data of a running cluster is not re-encrypted."""
    client_authentication: ClientAuthentication = ClientAuthentication()
    enhanced_monitoring: EnhancedMonitoring = EnhancedMonitoring.DEFAULT
    open_monitoring: OpenMonitoring = OpenMonitoring()
    logging_info: dict[str, object] | None = None
    """MSK's `LoggingInfo` in MSK's shape, checked (`steward.api.msk.logging_info`); the brokers'
    agents deliver their logs as it says (`steward.control.broker_logs`)."""
    storage_mode: str = "LOCAL"
    kafka_release: str | None = None
    """The Apache Kafka release the nodes run when `kafka_version` names a line: pinned when the
    cluster is made or upgraded (`steward.domain.versions.release_for`), so that a newer patch
    release known later does not restart the brokers unasked."""

    @property
    def release(self) -> str:
        """The Apache Kafka release (X.Y.Z) the cluster's nodes run."""
        return self.kafka_release or self.kafka_version

    def replace(self, **changes: object) -> ClusterSpec:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StateInfo:
    code: str
    message: str


@dataclass(frozen=True)
class Condition:
    """One fact about a cluster's status, Kubernetes style: `Converged` (its nodes run the spec
    of the current generation), `Healthy` (no finding of the health monitor open)."""

    type: str
    status: bool
    reason: str = ""
    message: str = ""
    since: datetime | None = None


@dataclass(frozen=True)
class NodeRestart:
    """Why the control plane restarted a node (the roller records each restart it makes)."""

    node_id: int
    reason: str
    at: datetime


RESTARTS_KEPT = 50
"""How many of its latest restarts a cluster's status keeps."""


@dataclass
class ClusterStatus:
    """What the cluster is, as the reconciler last saw it converge: Strimzi's status with an
    observed generation. `Cluster.spec` is what it should be; a pass of the pipeline writes
    this when it has brought the nodes there."""

    observed_generation: int = 0
    """The generation of `Cluster.spec` the cluster last converged on."""
    applied_spec: ClusterSpec | None = None
    """The spec of `observed_generation`: what the nodes run (None before the first create)."""
    node_spec_hashes: dict[int, str] = field(default_factory=dict)
    """Node id -> the `NodeSpec.spec_hash` it was last given, once converged."""
    findings: list[Finding] = field(default_factory=list)
    """What the health monitor found wrong and a HEAL is (or was last) repairing."""
    conditions: list[Condition] = field(default_factory=list)
    restarts: list[NodeRestart] = field(default_factory=list)

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    def set_condition(self, kind: str, status: bool, reason: str = "", message: str = "") -> None:
        old = self.condition(kind)
        since = old.since if old is not None and old.status == status else utcnow()
        self.conditions = [c for c in self.conditions if c.type != kind]
        self.conditions.append(Condition(kind, status, reason, message, since))

    def record_restart(self, node_id: int, reason: str) -> None:
        self.restarts = [*self.restarts, NodeRestart(node_id, reason, utcnow())][-RESTARTS_KEPT:]


@dataclass
class Cluster:
    arn: str
    name: str
    spec: ClusterSpec
    """The desired state: the last spec a user's request (or a repair) was accepted with."""
    state: ClusterState
    creation_time: datetime
    current_version: str
    kafka_cluster_id: str
    """The KRaft cluster id, written into every node's meta.properties."""
    tags: dict[str, str] = field(default_factory=dict)
    state_info: StateInfo | None = None
    active_operation_arn: str | None = None
    cluster_type: str = "PROVISIONED"
    generation: int = 1
    """Bumped by every accepted change of `spec`; `status.observed_generation` catches up."""
    status: ClusterStatus = field(default_factory=ClusterStatus)

    @property
    def observed_spec(self) -> ClusterSpec:
        """What the cluster runs as far as users can tell: the spec it last converged on (what
        DescribeCluster shows while an update is under way), or the desired one before that."""
        return self.status.applied_spec or self.spec

    def accept(self, spec: ClusterSpec) -> None:
        """Take `spec` as the new desired state (a cluster whose status predates generations
        counts as converged on the spec it had)."""
        if self.status.applied_spec is None:
            self.status.applied_spec = self.spec
            self.status.observed_generation = self.generation
        self.spec = spec
        self.generation += 1

    @property
    def converged(self) -> bool:
        return self.status.observed_generation >= self.generation


@dataclass
class Node:
    """One Kafka process of a cluster (a broker or a KRaft controller) on a host in a zone."""

    cluster_arn: str
    node_id: int
    role: NodeRole
    zone: str
    host: str
    """The address the node listens on and advertises."""
    agent: str
    """Name of the host agent that runs the node."""
    ports: dict[str, int]
    """Listener name -> port, e.g. {"CLIENT": 9092} for a broker, {"CONTROLLER": 9093}."""
    directory_id: str
    """KRaft directory id of the node's metadata log directory (base64url uuid)."""
    added_time: datetime
    kafka_version: str
    instance_type: str

    @property
    def arn(self) -> str:
        # arn:aws:kafka:region:account:broker/<cluster-name>/<cluster-uuid>/<node-id>
        prefix, _, rest = self.cluster_arn.partition(":cluster/")
        return f"{prefix}:broker/{rest}/{self.node_id}"

    def endpoint(self, listener: str) -> str:
        return f"{self.host}:{self.ports[listener]}"


@dataclass
class OperationStep:
    name: str
    status: StepStatus = StepStatus.PENDING
    detail: str = ""
    started_at: datetime | None = None
    """When the step began (again, after a restart of the control plane): its timeout counts
    from here."""
    attempts: int = 0
    """Unexpected errors in a row: what the step's backoff grows with."""


@dataclass
class Operation:
    """A long change to a cluster, carried out by the reconciler step by step and resumable."""

    arn: str
    cluster_arn: str
    type: OperationType
    state: OperationState
    steps: list[OperationStep]
    creation_time: datetime
    end_time: datetime | None = None
    source: dict[str, object] | None = None
    target: dict[str, object] | None = None
    error_code: str | None = None
    error_message: str | None = None
    progress: dict[str, object] = field(default_factory=dict)
    """Step name -> the step's progress (`steward.control.step`), what must survive a restart
    (e.g. which nodes were already started)."""
    generation: int = 0
    """The generation of the cluster's spec this operation brings it to."""

    def step(self, name: str) -> OperationStep:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def next_step(self) -> OperationStep | None:
        for step in self.steps:
            if step.status is not StepStatus.SUCCEEDED:
                return step
        return None


@dataclass
class ConfigurationRevision:
    revision: int
    creation_time: datetime
    server_properties: bytes
    description: str | None = None


class ConfigurationState(StrEnum):
    ACTIVE = "ACTIVE"
    DELETING = "DELETING"
    DELETE_FAILED = "DELETE_FAILED"


@dataclass
class Configuration:
    arn: str
    name: str
    description: str
    kafka_versions: list[str]
    creation_time: datetime
    state: ConfigurationState
    latest_revision: ConfigurationRevision


@dataclass(frozen=True)
class KafkaVersionInfo:
    version: str
    status: str
    """ACTIVE or DEPRECATED, as MSK reports it."""
    installed: bool


@dataclass(frozen=True)
class BootstrapBrokers:
    plaintext: str | None = None
    tls: str | None = None
    sasl_scram: str | None = None
    sasl_iam: str | None = None


class TopicState(StrEnum):
    """MSK's `TopicState`."""

    CREATING = "CREATING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class TopicPartition:
    partition: int
    leader: int | None
    """None while the partition has no leader."""
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class Topic:
    """A Kafka topic of a cluster, as Kafka reports it."""

    arn: str
    name: str
    partitions: tuple[TopicPartition, ...] = ()
    """By partition id; empty when Kafka did not report the topic yet (or any more)."""
    state: TopicState = TopicState.ACTIVE
    configs: dict[str, str] | None = None
    """Every config of the topic with its value (its own settings and what it inherits); None
    when not read."""

    @property
    def partition_count(self) -> int:
        return len(self.partitions)

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    @property
    def replica_ids(self) -> list[int]:
        """The brokers holding a replica of any partition."""
        return sorted({broker for p in self.partitions for broker in p.replicas})

    @property
    def out_of_sync_replica_count(self) -> int:
        return sum(len(set(p.replicas) - set(p.isr)) for p in self.partitions)
