"""What the control plane asks an agent to run for each node of a cluster.

`NodeSpecRenderer` assembles all of it in one place: the node's Kafka properties (Steward's and
the cluster's configuration revision), its launch settings from the desired spec (Kafka version,
instance type), and the material it needs (its data key when its storage is encrypted, its TLS key
and certificates, the client CAs it trusts). An agent client only sends what it renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

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


def desired_node(cluster: Cluster, node: Node) -> Node:
    """`node` as the cluster's spec wants it: on the spec's Kafka version and (a broker) on its
    instance type. The node's record catches up once it runs so (`Store.update_nodes`)."""
    spec = cluster.spec
    instance_type = (
        spec.broker_node_group.instance_type if node.role is NodeRole.BROKER else node.instance_type
    )
    if node.kafka_version == spec.release and node.instance_type == instance_type:
        return node
    return replace(node, kafka_version=spec.release, instance_type=instance_type)


SpecDecorator = Callable[[NodeSpec], NodeSpec]


class NodeSpecRenderer:
    """Everything a node gets, from the cluster's desired spec and the store."""

    def __init__(
        self,
        store: Store,
        storage_keys: Callable[[str], str] | None = None,
        node_tls: SpecDecorator | None = None,
        client_trust: SpecDecorator | None = None,
    ) -> None:
        """`storage_keys`: a cluster's data key by Kafka cluster id; `node_tls`: a spec with its
        node's TLS key and certificates; `client_trust`: with the client CAs it trusts."""
        self.store = store
        self.storage_keys = storage_keys
        self.node_tls = node_tls
        self.client_trust = client_trust

    def render(
        self,
        cluster: Cluster,
        node: Node,
        nodes: Sequence[Node] | None = None,
        desired: str = "running",
        configured: dict[str, str] | None = None,
    ) -> NodeSpec:
        """The spec of `node` that the cluster's desired spec gives it (`nodes`: the cluster's
        nodes, read from the store when not given; `configured`: the configuration's properties,
        likewise)."""
        if nodes is None:
            nodes = self.store.nodes(cluster.arn)
        if configured is None:
            configured = user_properties(self.store, cluster)
        wanted = [desired_node(cluster, n) for n in nodes]
        spec = build_node_spec(cluster, desired_node(cluster, node), wanted, configured, desired)
        return self.with_material(spec)

    def with_material(self, spec: NodeSpec) -> NodeSpec:
        """`spec` with the keys and certificates its node needs."""
        if spec.encrypted_storage and spec.storage_key is None and self.storage_keys is not None:
            spec = replace(spec, storage_key=self.storage_keys(spec.cluster_id))
        if self.node_tls is not None:
            spec = self.node_tls(spec)
        if self.client_trust is not None:
            spec = self.client_trust(spec)
        return spec


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
