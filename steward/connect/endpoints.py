"""Where a connector's Kafka cluster is: the bootstrap servers as MSK Connect takes them, or a
Steward cluster's ARN in their place (Steward's addition), whose listeners of the connector's
encryption in transit are then the bootstrap (its IAM listeners for a connector that signs in
with IAM), and whose CA the workers trust over TLS."""

from __future__ import annotations

from steward.connect.store import ConnectorRecord
from steward.connect.workers import (
    ClusterEndpoint,
    ConnectorFailed,
    NotReadyYet,
    signs_in_with_iam,
)
from steward.control.service import ClusterService
from steward.domain.errors import StewardError
from steward.kafka.distribution import DEFAULT_KAFKA_VERSION

CLUSTER_ARN_PREFIX = "arn:aws:kafka:"


def is_cluster_arn(bootstrap: str) -> bool:
    return bootstrap.startswith(CLUSTER_ARN_PREFIX)


class ClusterEndpoints:
    def __init__(self, clusters: ClusterService) -> None:
        self.clusters = clusters

    def exists(self, arn: str) -> bool:
        try:
            self.clusters.describe_cluster(arn)
        except StewardError:
            return False
        return True

    def __call__(self, connector: ConnectorRecord) -> ClusterEndpoint:
        bootstrap = connector.spec["kafkaCluster"]["apacheKafkaCluster"]["bootstrapServers"]
        tls = connector.spec["kafkaClusterEncryptionInTransit"]["encryptionType"] == "TLS"
        iam = signs_in_with_iam(connector)
        if not is_cluster_arn(bootstrap):
            return ClusterEndpoint(bootstrap, DEFAULT_KAFKA_VERSION)
        try:
            cluster = self.clusters.describe_cluster(bootstrap)
            brokers = self.clusters.bootstrap_brokers(bootstrap)
            servers = brokers.sasl_iam if iam else brokers.tls if tls else brokers.plaintext
            ca = self.clusters.ca_certificate(bootstrap) if tls and servers else None
        except StewardError as error:
            raise ConnectorFailed("CLUSTER_UNAVAILABLE", error.message) from error
        if not servers and cluster.state.value in ("CREATING", "UPDATING", "HEALING"):
            raise NotReadyYet(f"cluster {cluster.name} is {cluster.state.value}")
        if not servers and iam:
            raise ConnectorFailed(
                "CLUSTER_UNAVAILABLE",
                f"Cluster {cluster.name} does not take IAM client authentication, which the "
                "connector signs in with.",
            )
        if not servers:
            raise ConnectorFailed(
                "CLUSTER_UNAVAILABLE",
                f"Cluster {cluster.name} has no {'TLS' if tls else 'plaintext'} listeners for "
                "the connector's encryption in transit.",
            )
        return ClusterEndpoint(servers, cluster.spec.kafka_version, ca)
