"""Clusters as the control plane leaves them, made without Kafka for the use-case and API tests."""

from __future__ import annotations

from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    Operation,
    OperationState,
)

ZONE_NAMES = ("az-a", "az-b", "az-c")


def active_cluster(
    service: ClusterService, name: str = "orders", **spec_changes: object
) -> Cluster:
    """A 3-broker, 3-zone cluster as a finished create leaves it: ACTIVE, its CREATE operation
    complete, brokers 1, 2 and 3 placed (node ids 1001-1003 go to the controllers)."""
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ZONE_NAMES, 10))
    created = service.create_cluster(name, spec.replace(**spec_changes), {})
    (create,) = service.list_operations(created.arn)
    create.state = OperationState.UPDATE_COMPLETE
    created.state = ClusterState.ACTIVE
    created.active_operation_arn = None
    service.store.save_operation(create, created)
    nodes = Placer(service.settings.zones, service.store.used_hosts()).place(
        created.arn,
        list(ZONE_NAMES),
        [1, 2, 3],
        [1001, 1002, 1003],
        "4.3.1",
        created.spec.broker_node_group.instance_type,
    )
    service.store.add_nodes(nodes)
    return service.describe_cluster(created.arn)


def desired_spec(service: ClusterService, operation: Operation) -> ClusterSpec:
    """The spec an accepted update wrote for the cluster (the generation its operation brings
    the cluster to)."""
    cluster = service.store.get_cluster(operation.cluster_arn)
    assert cluster is not None
    assert cluster.generation == operation.generation
    return cluster.spec
