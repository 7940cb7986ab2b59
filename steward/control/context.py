"""What reconcile steps work with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from steward.agent.spec import NodeSpec
from steward.control.agents import AgentDirectory
from steward.control.cluster_view import ClusterView, KafkaClusterView
from steward.control.node_specs import NodeSpecRenderer
from steward.domain.model import Cluster, Node, NodeRole
from steward.monitor.store import MetricStore
from steward.security.certificates import steward_bootstrap
from steward.settings import Settings
from steward.store.store import Store

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class ReconcileContext:
    settings: Settings
    store: Store
    agents: AgentDirectory
    renderer: NodeSpecRenderer | None = None
    """Every node's spec; one on the store alone (no keys, no certificates) when not given."""
    broker_wait_timeout: float = 180.0
    """How long a create waits for its brokers to serve before it fails."""
    apply_policies: Callable[[Cluster], None] | None = None
    """Write a cluster's access policies as Kafka ACLs now (UpdateSecurity, between brokers)."""
    metrics: MetricStore | None = None
    """The metric store, whose per-topic rates the balancer weighs partitions by (none: by
    size and count only)."""

    def render(
        self,
        cluster: Cluster,
        node: Node,
        nodes: Sequence[Node] | None = None,
        desired: str = "running",
        configured: dict[str, str] | None = None,
    ) -> NodeSpec:
        """The whole spec the cluster's desired state gives `node` (`NodeSpecRenderer`)."""
        if self.renderer is None:
            self.renderer = NodeSpecRenderer(self.store)
        return self.renderer.render(cluster, node, nodes, desired, configured)

    def bootstrap(self, cluster: Cluster) -> str:
        """The cluster's bootstrap string as Steward connects to it (`steward_bootstrap`)."""
        brokers = [n for n in self.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
        return steward_bootstrap(self.store, cluster, brokers)

    def cluster_view(self, cluster: Cluster) -> ClusterView:
        """Kafka's own view of the cluster, as rolling restarts consult it."""
        return KafkaClusterView(self.bootstrap(cluster))

    def in_parallel(self, action: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Run `action` on every item at once (one agent call per node); re-raise the first
        error."""
        if len(items) <= 1:
            return [action(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
            return list(pool.map(action, items))
