"""The control plane's use cases. Every front end (MSK API, console) calls these and nothing else.

Methods are synchronous and quick: they validate, record desired state and operations in the store,
and wake the reconciler. The reconciler does the slow work (starting Kafka) in the background.
"""

from __future__ import annotations

from steward.control.model import (
    BootstrapBrokers,
    Cluster,
    ClusterSpec,
    Configuration,
    ConfigurationRevision,
    KafkaVersionInfo,
    Node,
    Operation,
)


class ClusterService:
    """Signatures of the use cases. Errors are `steward.errors.StewardError` subclasses."""

    # --- clusters -------------------------------------------------------------------------------
    def create_cluster(self, name: str, spec: ClusterSpec, tags: dict[str, str]) -> Cluster:
        """Validate and record a new cluster in CREATING with a CREATE operation.

        BadRequestException(invalid_parameter=...) for bad values, ConflictException for a name
        already used by a cluster that is not deleted.
        """
        raise NotImplementedError

    def describe_cluster(self, arn: str) -> Cluster:
        raise NotImplementedError

    def list_clusters(self, name_prefix: str | None = None) -> list[Cluster]:
        """Clusters ordered by creation time, filtered by name prefix."""
        raise NotImplementedError

    def delete_cluster(self, arn: str, current_version: str | None = None) -> Cluster:
        """Start deleting: state DELETING; once every node is stopped and purged it is gone."""
        raise NotImplementedError

    def bootstrap_brokers(self, arn: str) -> BootstrapBrokers:
        raise NotImplementedError

    def list_nodes(self, arn: str) -> list[Node]:
        """Brokers first (by node id), then controllers."""
        raise NotImplementedError

    # --- operations -----------------------------------------------------------------------------
    def list_operations(self, cluster_arn: str) -> list[Operation]:
        """Newest first."""
        raise NotImplementedError

    def describe_operation(self, operation_arn: str) -> Operation:
        raise NotImplementedError

    # --- Kafka versions -------------------------------------------------------------------------
    def list_kafka_versions(self) -> list[KafkaVersionInfo]:
        raise NotImplementedError

    # --- configurations -------------------------------------------------------------------------
    def create_configuration(
        self,
        name: str,
        description: str | None,
        kafka_versions: list[str],
        server_properties: bytes,
    ) -> Configuration:
        raise NotImplementedError

    def describe_configuration(self, arn: str) -> Configuration:
        raise NotImplementedError

    def describe_configuration_revision(
        self, arn: str, revision: int
    ) -> tuple[Configuration, ConfigurationRevision]:
        raise NotImplementedError

    def list_configurations(self) -> list[Configuration]:
        raise NotImplementedError

    def list_configuration_revisions(self, arn: str) -> list[ConfigurationRevision]:
        raise NotImplementedError

    def update_configuration(
        self, arn: str, description: str | None, server_properties: bytes
    ) -> Configuration:
        raise NotImplementedError

    def delete_configuration(self, arn: str) -> Configuration:
        raise NotImplementedError

    # --- tags -----------------------------------------------------------------------------------
    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        raise NotImplementedError

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        raise NotImplementedError

    def list_tags(self, arn: str) -> dict[str, str]:
        raise NotImplementedError
