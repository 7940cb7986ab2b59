"""The update use cases: each checks the request against the cluster as it is, then records the
desired change as a cluster operation that the reconciler carries out.

A cluster takes one change at a time: an update needs the cluster ACTIVE, with no operation
running, at the `currentVersion` the caller read (optimistic concurrency, as MSK does). An
accepted update writes the cluster's new spec (one generation more) and opens the operation MSK
shows; the pipeline brings the cluster there (`steward.control.pipeline`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from steward.control.arns import ArnFactory, new_current_version
from steward.control.operation_records import mutable_info
from steward.control.pipeline import start_operation
from steward.domain.errors import BadRequestException, ConflictException
from steward.domain.limits import MAX_VOLUME_SIZE_GB
from steward.domain.model import (
    ClientBroker,
    Cluster,
    ClusterSpec,
    ClusterState,
    ConfigurationRef,
    EnhancedMonitoring,
    Node,
    NodeRole,
    OpenMonitoring,
    Operation,
    OperationType,
    StateInfo,
)
from steward.domain.versions import compatible_targets
from steward.kafka import reassignment
from steward.kafka.errors import KafkaAdminError
from steward.kafka.instance_types import INSTANCE_TYPES, is_express
from steward.kafka.node_config import internal_tls
from steward.security.certificates import steward_bootstrap
from steward.store.store import Store

ALL_BROKERS = "ALL"


@dataclass(frozen=True)
class CompatibleVersions:
    source: str
    targets: list[str]


class ClusterUpdates:
    def __init__(
        self,
        store: Store,
        arns: ArnFactory,
        describe: Callable[[str], Cluster],
        check_spec: Callable[[ClusterSpec], None],
        known_versions: Callable[[], list[str]],
        pin_release: Callable[[ClusterSpec, str], ClusterSpec],
        wake: Callable[[], None],
    ) -> None:
        self.store = store
        self.arns = arns
        self._describe = describe
        self._check_spec = check_spec
        self._known_versions = known_versions
        self._pin_release = pin_release
        self._wake = wake

    # --- the use cases --------------------------------------------------------------------------
    def update_broker_count(
        self, arn: str, current_version: str, target: int, state_info: StateInfo | None = None
    ) -> Operation:
        """`state_info`: why the count changes, shown while it does (broker autoscaling names
        the metric values that decided it)."""
        cluster = self._updatable(arn, current_version)
        current = cluster.spec.number_of_broker_nodes
        param = "targetNumberOfBrokerNodes"
        if target == current:
            raise BadRequestException(f"The cluster already has {current} broker nodes.", param)
        spec = cluster.spec.replace(number_of_broker_nodes=target)
        self._check_spec_as(spec, param)
        widest = self._widest_replication(cluster) if target < current else None
        if widest is not None and widest > target:
            raise BadRequestException(
                f"{target} brokers cannot hold the cluster's topics with replication factor "
                f"{widest}; lower their replication factor first, or keep more brokers.",
                param,
            )
        kind = (
            OperationType.INCREASE_BROKER_COUNT
            if target > current
            else OperationType.DECREASE_BROKER_COUNT
        )
        return self._begin(cluster, current_version, kind, spec, state_info=state_info)

    def update_broker_storage(
        self, arn: str, current_version: str, volumes: Sequence[tuple[str, int]]
    ) -> Operation:
        """`volumes`: (kafkaBrokerNodeId, volumeSizeGB) pairs. Every broker shares one volume size
        in Steward, so the request must name ALL (or every broker with the same size)."""
        cluster = self._updatable(arn, current_version)
        param = "targetBrokerEBSVolumeInfo"
        self._check_storage_settable(cluster, param)
        if not volumes:
            raise BadRequestException("Specify the target volume size.", param)
        sizes = {size for _, size in volumes}
        broker_ids = {str(n.node_id) for n in self._brokers(cluster)}
        named = {node.removesuffix(".0") for node, _ in volumes}
        if len(sizes) != 1 or (named != {ALL_BROKERS} and named != broker_ids):
            raise BadRequestException(
                "Every broker of a cluster has the same storage: give kafkaBrokerNodeId ALL, "
                "or every broker with the same volumeSizeGB.",
                param,
            )
        return self._grow_storage(cluster, current_version, sizes.pop(), param)

    def update_storage(self, arn: str, current_version: str, volume_size_gb: int) -> Operation:
        cluster = self._updatable(arn, current_version)
        self._check_storage_settable(cluster, "volumeSizeGB")
        return self._grow_storage(cluster, current_version, volume_size_gb, "volumeSizeGB")

    def update_broker_type(self, arn: str, current_version: str, instance_type: str) -> Operation:
        cluster = self._updatable(arn, current_version)
        param = "targetInstanceType"
        if instance_type not in INSTANCE_TYPES:
            raise BadRequestException(
                f"Instance type {instance_type} is not supported; supported types: "
                f"{', '.join(INSTANCE_TYPES)}.",
                param,
            )
        current = cluster.spec.broker_node_group.instance_type
        if instance_type == current:
            raise BadRequestException(f"The brokers already are {instance_type}.", param)
        if is_express(instance_type) != is_express(current):
            raise BadRequestException(
                f"The brokers are {current}: an Express cluster changes only to another Express "
                "type and a Standard one only to another Standard type (Steward does not run "
                "clusters of both kinds of broker, which moving between them needs).",
                param,
            )
        group = replace(cluster.spec.broker_node_group, instance_type=instance_type)
        spec = cluster.spec.replace(broker_node_group=group)
        return self._begin(cluster, current_version, OperationType.UPDATE_BROKER_TYPE, spec)

    def update_cluster_configuration(
        self, arn: str, current_version: str, configuration: ConfigurationRef
    ) -> Operation:
        cluster = self._updatable(arn, current_version)
        spec = cluster.spec.replace(configuration=configuration)
        self._check_spec(spec)
        return self._begin(
            cluster, current_version, OperationType.UPDATE_CLUSTER_CONFIGURATION, spec
        )

    def update_cluster_kafka_version(
        self,
        arn: str,
        current_version: str,
        target_version: str,
        configuration: ConfigurationRef | None = None,
    ) -> Operation:
        cluster = self._updatable(arn, current_version)
        param = "targetKafkaVersion"
        source = cluster.spec.kafka_version
        spec = self._pin_release(
            cluster.spec.replace(
                kafka_version=target_version,
                configuration=configuration or cluster.spec.configuration,
            ),
            param,
        )
        if target_version == source:
            # A line name again moves the cluster to the newest release of its line.
            if spec.release == cluster.spec.release:
                raise BadRequestException(
                    f"The cluster already runs Kafka {source} ({spec.release}).", param
                )
        else:
            allowed = compatible_targets(source, self._known_versions())
            if target_version not in allowed:
                raise BadRequestException(
                    f"Kafka {source} cannot be updated to {target_version}; compatible "
                    f"versions: {', '.join(allowed) or 'none'}.",
                    param,
                )
        self._check_spec(spec)
        return self._begin(
            cluster, current_version, OperationType.UPDATE_CLUSTER_KAFKA_VERSION, spec
        )

    def update_monitoring(
        self,
        arn: str,
        current_version: str,
        enhanced_monitoring: EnhancedMonitoring | None = None,
        open_monitoring: OpenMonitoring | None = None,
        logging_info: dict[str, object] | None = None,
    ) -> Operation:
        """MSK's UpdateMonitoring: what is left out stays as it is."""
        cluster = self._updatable(arn, current_version)
        spec = cluster.spec.replace(
            enhanced_monitoring=enhanced_monitoring or cluster.spec.enhanced_monitoring,
            open_monitoring=open_monitoring or cluster.spec.open_monitoring,
            logging_info=logging_info if logging_info is not None else cluster.spec.logging_info,
        )
        self._check_spec(spec)
        return self._begin(cluster, current_version, OperationType.UPDATE_MONITORING, spec)

    def update_security(
        self,
        arn: str,
        current_version: str,
        client_authentication: dict[str, Any] | None = None,
        client_broker: ClientBroker | None = None,
        in_cluster: bool | None = None,
    ) -> Operation:
        """MSK's UpdateSecurity: a new client authentication and client-broker encryption, rolled
        in (`operations.security`). What is left out stays as it is; `inCluster` encryption
        cannot change, nor can a change alter whether the brokers' internal listeners speak TLS
        (the nodes' identities, and Steward's way in, depend on it)."""
        cluster = self._updatable(arn, current_version)
        old_transit = cluster.spec.encryption_in_transit
        transit = replace(old_transit, client_broker=client_broker or old_transit.client_broker)
        auth = replace(cluster.spec.client_authentication, **(client_authentication or {}))
        if in_cluster is not None and in_cluster != old_transit.in_cluster:
            raise BadRequestException(
                "In-cluster encryption cannot be changed on a running cluster.",
                "encryptionInfo.encryptionInTransit.inCluster",
            )
        if internal_tls(transit, auth) != internal_tls(
            old_transit, cluster.spec.client_authentication
        ):
            raise BadRequestException(
                "This cluster has no in-cluster encryption, and turning unauthenticated access "
                "off or on would change how its brokers talk to each other: the brokers' "
                "identities need TLS between them. Create a cluster with inCluster encryption "
                "for that.",
                "clientAuthentication.unauthenticated",
            )
        spec = cluster.spec.replace(client_authentication=auth, encryption_in_transit=transit)
        if spec == cluster.spec:
            raise BadRequestException(
                "The cluster already has this security configuration.", "clientAuthentication"
            )
        self._check_spec(spec)
        return self._begin(cluster, current_version, OperationType.UPDATE_SECURITY, spec)

    def rebalance(self, arn: str, current_version: str | None = None) -> Operation:
        """Open a REBALANCE operation: the pipeline plans on the cluster as it then is and moves
        replicas in batches (`steward.control.steps.balancing`). Without `current_version`, the
        cluster's own (continuous balancing and Steward's route do not ask the caller for it)."""
        cluster = self._describe(arn)
        version = current_version or cluster.current_version
        cluster = self._updatable(arn, version)
        return self._begin(cluster, version, OperationType.REBALANCE, cluster.spec)

    def reboot_broker(self, arn: str, broker_ids: Sequence[str]) -> Operation:
        cluster = self._describe(arn)
        param = "brokerIds"
        if len(broker_ids) != 1:
            raise BadRequestException("Reboot one broker at a time.", param)
        known = {str(n.node_id): n.node_id for n in self._brokers(cluster)}
        broker = known.get(broker_ids[0].removesuffix(".0"))
        if broker is None:
            raise BadRequestException(
                f"The cluster has no broker {broker_ids[0]}; brokers: {', '.join(known)}.", param
            )
        return self._begin(
            cluster,
            cluster.current_version,
            OperationType.REBOOT_NODE,
            cluster.spec,
            state=ClusterState.REBOOTING_BROKER,
            progress={"broker_ids": [broker]},
        )

    def compatible_kafka_versions(self, arn: str | None) -> list[CompatibleVersions]:
        known = self._known_versions()
        sources = [self._describe(arn).spec.kafka_version] if arn is not None else known
        return [CompatibleVersions(s, compatible_targets(s, known)) for s in sources]

    # --- shared ---------------------------------------------------------------------------------
    def _updatable(self, arn: str, current_version: str) -> Cluster:
        cluster = self._describe(arn)
        if current_version != cluster.current_version:
            raise BadRequestException(
                "The current version does not match the cluster's version "
                f"({cluster.current_version}); describe the cluster and try again.",
                "currentVersion",
            )
        return cluster

    def _brokers(self, cluster: Cluster) -> list[Node]:
        return [n for n in self.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]

    def _widest_replication(self, cluster: Cluster) -> int | None:
        """The largest replication factor of the cluster's topics, or None when Kafka cannot
        tell right now (the operation checks again before it moves anything)."""
        bootstrap = steward_bootstrap(self.store, cluster, self._brokers(cluster))
        try:
            assignment = reassignment.current_assignment(bootstrap, timeout=5.0)
        except KafkaAdminError:
            return None
        return max((len(replicas) for replicas in assignment.values()), default=0)

    def _check_spec_as(self, spec: ClusterSpec, param: str) -> None:
        try:
            self._check_spec(spec)
        except BadRequestException as error:
            if error.invalid_parameter == "numberOfBrokerNodes":
                raise BadRequestException(error.message, param) from error
            raise

    @staticmethod
    def _check_storage_settable(cluster: Cluster, param: str) -> None:
        if is_express(cluster.spec.broker_node_group.instance_type):
            raise BadRequestException(
                "The cluster's brokers are Express brokers: their storage is managed (Steward "
                "grows each broker's volume as it fills) and cannot be set.",
                param,
            )

    def _grow_storage(
        self, cluster: Cluster, current_version: str, size: int, param: str
    ) -> Operation:
        current = cluster.spec.broker_node_group.volume_size_gb
        if size <= current:
            raise BadRequestException(
                f"Storage can only grow: the brokers have {current} GiB; ask for more.", param
            )
        if size > MAX_VOLUME_SIZE_GB:
            raise BadRequestException(
                f"The volume size must be at most {MAX_VOLUME_SIZE_GB} GiB.", param
            )
        group = replace(cluster.spec.broker_node_group, volume_size_gb=size)
        spec = cluster.spec.replace(broker_node_group=group)
        return self._begin(cluster, current_version, OperationType.UPDATE_BROKER_STORAGE, spec)

    def _begin(
        self,
        cluster: Cluster,
        current_version: str,
        kind: OperationType,
        spec: ClusterSpec,
        state: ClusterState = ClusterState.UPDATING,
        progress: dict[str, object] | None = None,
        state_info: StateInfo | None = None,
    ) -> Operation:
        if cluster.state is not ClusterState.ACTIVE or cluster.active_operation_arn:
            raise self._busy(cluster)
        source = mutable_info(cluster.spec)
        if spec != cluster.spec:
            cluster.accept(spec)
        operation = start_operation(
            self.arns.operation(cluster.arn),
            cluster.arn,
            kind,
            source=source,
            target=mutable_info(spec),
            generation=cluster.generation,
        )
        operation.progress = dict(progress or {})
        cluster.state = state
        cluster.state_info = state_info
        cluster.active_operation_arn = operation.arn
        cluster.current_version = new_current_version()
        if not self.store.begin_update(cluster, operation, current_version):
            raise self._busy(self._describe(cluster.arn))
        self._wake()
        return operation

    @staticmethod
    def _busy(cluster: Cluster) -> ConflictException:
        doing = f" ({cluster.active_operation_arn})" if cluster.active_operation_arn else ""
        return ConflictException(
            f"The cluster is {cluster.state.value}{doing}; it takes one change at a time. "
            "Wait until it is ACTIVE and try again.",
            "clusterArn",
        )
