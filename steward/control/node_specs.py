"""What the control plane asks an agent to run for each node of a cluster."""

from __future__ import annotations

from collections.abc import Sequence

from steward.agent.spec import NodeSpec
from steward.control.broker_logs import log_delivery_spec
from steward.control.open_monitoring import exporter_jvm_options, node_exporter_port
from steward.domain.model import Cluster, ConfigurationRef, Node, NodeRole
from steward.kafka.instance_types import CONTROLLER_HEAP_MB, INSTANCE_TYPES
from steward.kafka.node_config import (
    render_broker_properties,
    render_controller_properties,
)
from steward.kafka.properties import parse_properties
from steward.store.store import Store

CONTROLLER_CPU_WEIGHT = 100
"""Controllers are not sized by the instance type: each has the share of a kafka.m5.large."""


def node_key(cluster: Cluster, node: Node) -> str:
    """A name for the node that is unique on its host and readable in `ps`."""
    cluster_id = cluster.arn.rsplit("/", 1)[1][:8]
    role = "b" if node.role is NodeRole.BROKER else "c"
    return f"{cluster.name.lower()}-{cluster_id}-{role}{node.node_id}"


def user_properties(store: Store, cluster: Cluster) -> dict[str, str]:
    """The properties of the configuration revision the cluster runs with."""
    return revision_properties(store, cluster.spec.configuration)


def revision_properties(store: Store, ref: ConfigurationRef | None) -> dict[str, str]:
    if ref is None:
        return {}
    for revision in store.revisions(ref.arn):
        if revision.revision == ref.revision:
            return parse_properties(revision.server_properties.decode("utf-8"))
    return {}


def build_node_spec(
    cluster: Cluster,
    node: Node,
    nodes: Sequence[Node],
    configured: dict[str, str],
    desired: str = "running",
) -> NodeSpec:
    controllers = [n for n in nodes if n.role is NodeRole.CONTROLLER]
    brokers = [n for n in nodes if n.role is NodeRole.BROKER]
    if node.role is NodeRole.CONTROLLER:
        return NodeSpec(
            key=node_key(cluster, node),
            kafka_version=node.kafka_version,
            role="controller",
            node_id=node.node_id,
            cluster_id=cluster.kafka_cluster_id,
            directory_id=node.directory_id,
            properties=render_controller_properties(
                node,
                controllers,
                len(brokers),
                configured,
                cluster.spec.encryption_in_transit,
                cluster.spec.client_authentication,
            ),
            initial_controllers=None,
            heap_mb=CONTROLLER_HEAP_MB,
            cpu_weight=CONTROLLER_CPU_WEIGHT,
            jvm_options=exporter_jvm_options(cluster, node),
            desired=desired,
            encrypted_storage=cluster.spec.encrypted_at_rest,
        )
    sizing = INSTANCE_TYPES[node.instance_type]
    auth = cluster.spec.client_authentication
    return NodeSpec(
        key=node_key(cluster, node),
        kafka_version=node.kafka_version,
        role="broker",
        node_id=node.node_id,
        cluster_id=cluster.kafka_cluster_id,
        directory_id=node.directory_id,
        properties=render_broker_properties(
            node,
            controllers,
            len(brokers),
            sizing,
            configured,
            cluster.spec.encryption_in_transit,
            auth,
        ),
        initial_controllers=None,
        heap_mb=sizing.heap_mb,
        cpu_weight=sizing.cpu_weight,
        jvm_options=exporter_jvm_options(cluster, node),
        node_exporter_port=node_exporter_port(cluster, node),
        desired=desired,
        volume_gb=cluster.spec.broker_node_group.volume_size_gb,
        log_delivery=log_delivery_spec(cluster, nodes),
        encrypted_storage=cluster.spec.encrypted_at_rest,
        client_certificate_authorities=(
            list(auth.tls_certificate_authority_arns) if auth.tls else []
        ),
    )
