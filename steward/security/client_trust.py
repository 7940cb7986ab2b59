"""Which client certificates a cluster's brokers accept: the certificates of the private CAs the
cluster names (MSK's `ClientAuthentication.Tls.CertificateAuthorityArnList`) and those CAs'
revocation lists, on their way from the private CA service (`steward.pca.service`) to each
broker's agent.

Both travel inside the broker's `NodeSpec` (`with_client_trust`, on every apply). Which CAs a
cluster trusts is a launch setting (a change rolls the brokers, as UpdateSecurity does); the
revocation lists are not: the brokers read them again when their agent rewrites them. `push`
re-applies the unchanged specs of the brokers of every ACTIVE cluster that trusts a CA, so that a
revocation reaches them within seconds; it runs when a CA changes, and every `interval` seconds
anyway, for the agent that was away and the lists that near their next update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from steward.agent.client import AgentClient
from steward.agent.spec import NodeSpec
from steward.domain.model import Cluster, ClusterState, Node, NodeRole
from steward.pca.service import PrivateCertificateAuthorities
from steward.store.store import Store

log = logging.getLogger(__name__)

PUSH_INTERVAL = 60.0


RenderNode = Callable[[Cluster, Node, Sequence[Node]], NodeSpec]


def trusted_authorities(cluster: Cluster) -> tuple[str, ...]:
    auth = cluster.spec.client_authentication
    return auth.tls_certificate_authority_arns if auth.tls else ()


class ClientTrust:
    def __init__(
        self,
        store: Store,
        authorities: PrivateCertificateAuthorities,
        cluster_ca: Callable[[str], str],
        interval: float = PUSH_INTERVAL,
    ) -> None:
        """`cluster_ca(kafka_cluster_id)`: the cluster's own CA certificate, trusted by a client
        listener none of whose CAs is ACTIVE any more (Kafka will not start with an empty trust
        store; only Steward holds certificates of that CA, and their subjects have no ACLs)."""
        self.store = store
        self.authorities = authorities
        self.cluster_ca = cluster_ca
        self.interval = interval
        self.agents: Callable[[str], AgentClient] | None = None
        """`agents(agent)`: an `AgentClient`; set before the first `push`."""
        self.render: RenderNode | None = None
        """A node's whole spec; set before the first `push`."""

    def with_client_trust(self, spec: NodeSpec) -> NodeSpec:
        """`spec` with the certificates and revocation lists of the CAs it names."""
        if not spec.client_certificate_authorities:
            return spec
        arns = spec.client_certificate_authorities
        bundle = self.authorities.trust_bundle(arns) or self.cluster_ca(spec.cluster_id)
        lists = []
        for arn in arns:
            try:
                lists.append(self.authorities.crl_pem(arn))
            except Exception as error:  # a CA deleted for good: nothing of it is trusted anyway
                log.info("no revocation list for %s: %s", arn, error)
        return replace(
            spec, client_trusted_certificates=bundle, revocation_lists="".join(lists) or None
        )

    # --- pushing --------------------------------------------------------------------------------
    def push(self) -> int:
        """Re-apply the specs of the brokers of every ACTIVE cluster with mutual TLS; the number
        of brokers reached."""
        assert self.agents is not None and self.render is not None
        reached = 0
        for cluster in self.store.list_clusters():
            if cluster.state is not ClusterState.ACTIVE or not trusted_authorities(cluster):
                continue
            if cluster.active_operation_arn is not None:
                continue  # the operation applies specs itself, in its own order
            nodes = self.store.nodes(cluster.arn)
            for node in nodes:
                if node.role is not NodeRole.BROKER:
                    continue
                try:
                    client = self.agents(node.agent)
                    client.apply(self.render(cluster, node, nodes))
                    reached += 1
                except Exception as error:
                    log.warning(
                        "could not give broker %s of %s its client trust: %s",
                        node.node_id,
                        cluster.name,
                        error,
                    )
        return reached
