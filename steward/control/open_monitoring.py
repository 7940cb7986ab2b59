"""Open monitoring with Prometheus (MSK's `OpenMonitoring`): what each node runs for it.

- JMX exporter: every Kafka node (brokers, and the KRaft controllers, whose metrics Steward reads
  for the cluster-level metrics) runs the Prometheus JMX exporter agent on its own address, port
  11001 (`steward.kafka.jmx_exporter`). It is part of the JVM's command line, so switching it on
  or off restarts the nodes (one at a time, `steward.control.rolling`).
- Node exporter: every broker's agent runs Prometheus's node_exporter on the broker's address,
  port 11002 (`steward.agent.node_exporter`; its built-in exporter where the package is
  missing); switched live, restarting nothing.
"""

from __future__ import annotations

from steward.domain.model import Cluster, Node, NodeRole
from steward.kafka.jmx_exporter import JMX_EXPORTER_PORT, NODE_EXPORTER_PORT, javaagent_options


def exporter_jvm_options(cluster: Cluster, node: Node) -> list[str]:
    if not cluster.spec.open_monitoring.jmx_exporter:
        return []
    return javaagent_options(node.host, JMX_EXPORTER_PORT)


def node_exporter_port(cluster: Cluster, node: Node) -> int | None:
    if node.role is not NodeRole.BROKER or not cluster.spec.open_monitoring.node_exporter:
        return None
    return NODE_EXPORTER_PORT
