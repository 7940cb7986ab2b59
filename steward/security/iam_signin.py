"""IAM sign-in on the brokers, from the control plane's side: which keys may sign in, on their way
to every broker with an IAM listener, and the brokers' refusals on their way back.

`IamCredentialSync` is level-triggered: each pass reads every identity that may sign in
(`SigningIdentity`, from the source it is given: IAM's users and roles once they exist, Steward's
own access keys until then) and sends each IAM broker's agent the whole credentials file
(`steward.kafka.iam_signin`: derived SigV4 signing keys, never a secret key), which the agent
writes only when it changed. A deleted or deactivated key is missing from the next pass's file;
`sync_now` asks for a pass at once (after an IAM change), and a pass runs every `interval`
seconds anyway, so the keys of a new day, a restarted agent or a new broker arrive without one.
The brokers verify sign-ins from their file alone: a control plane that is down stops no sign-in.

`SignInRefusals` reads the refusals the brokers record, through their agents (each call with a
timeout); `RefusalCollector` hands each new one to `on_refusal`, the hook for audit records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from steward.agent.client import AgentClient, AgentError, AgentUnavailable
from steward.domain.model import Cluster, ClusterState, Node, NodeRole, utcnow
from steward.domain.sign_in_refusals import SignInRefusal
from steward.domain.signing_identity import SigningIdentity
from steward.kafka.iam_signin import credentials_document, parse_refusal, render_credentials
from steward.store.store import Store

log = logging.getLogger(__name__)

SYNC_INTERVAL = 10.0
COLLECT_INTERVAL = 15.0

IdentitySource = Callable[[], Sequence[SigningIdentity]]
NodeKey = Callable[[Cluster, Node], str]
Agents = Callable[[str], AgentClient]
"""`agents(agent)`: a client of the agent, with a timeout on each call."""


def has_iam(cluster: Cluster) -> bool:
    """The cluster's brokers have, or are getting, an IAM listener."""
    observed = cluster.observed_spec
    return cluster.spec.client_authentication.sasl_iam or (
        observed is not None and observed.client_authentication.sasl_iam
    )


def iam_brokers(store: Store) -> list[tuple[Cluster, Node]]:
    return [
        (cluster, node)
        for cluster in store.list_clusters()
        if cluster.state is not ClusterState.DELETING and has_iam(cluster)
        for node in store.nodes(cluster.arn)
        if node.role is NodeRole.BROKER
    ]


class IamCredentialSync:
    def __init__(
        self,
        store: Store,
        identities: IdentitySource,
        agents: Agents,
        node_key: NodeKey,
        region: str,
        interval: float = SYNC_INTERVAL,
    ) -> None:
        self.store = store
        self.identities = identities
        """Swapped for IAM's own source when IAM is there."""
        self.agents = agents
        self.node_key = node_key
        self.region = region
        self.interval = interval
        self.wake: Callable[[], None] | None = None
        """Set to the background task's waker; `sync_now` uses it."""

    def sync_now(self) -> None:
        """A pass as soon as possible: in the background task when there is one, else here."""
        if self.wake is not None:
            self.wake()
        else:
            self.pass_once()

    def credentials_text(self) -> str:
        return render_credentials(credentials_document(self.identities(), self.region, utcnow()))

    def pass_once(self) -> int:
        """Send every IAM broker the current file; the number of brokers whose file changed."""
        brokers = iam_brokers(self.store)
        if not brokers:
            return 0
        text = self.credentials_text()
        changed = 0
        for cluster, node in brokers:
            key = self.node_key(cluster, node)
            try:
                if self.agents(node.agent).put_iam_credentials(key, text):
                    changed += 1
                    log.info("IAM signing keys of %s written", key)
            except AgentUnavailable as error:
                log.info("IAM signing keys of %s: %s", key, error)
            except AgentError as error:
                if error.status_code not in (404, 409):  # not there yet, or not rolled to IAM
                    log.warning("IAM signing keys of %s: %s", key, error)
        return changed


class SignInRefusals:
    """The refused sign-ins the brokers of a cluster recorded."""

    def __init__(self, store: Store, agents: Agents, node_key: NodeKey) -> None:
        self.store = store
        self.agents = agents
        self.node_key = node_key

    def read_node(
        self, cluster: Cluster, node: Node, offset: int = 0
    ) -> tuple[list[SignInRefusal], int]:
        """The broker's refusals from `offset` on, and where the next read starts.
        AgentUnavailable or AgentError when its agent does not answer."""
        lines, next_offset = self.agents(node.agent).iam_refusals(
            self.node_key(cluster, node), offset
        )
        refusals = []
        for line in lines:
            parsed = parse_refusal(line)
            if parsed is None:
                continue
            refusals.append(
                SignInRefusal(
                    cluster.arn,
                    node.node_id,
                    parsed.time,
                    parsed.mechanism,
                    parsed.reason,
                    parsed.detail,
                    parsed.access_key_id,
                    parsed.request_id,
                )
            )
        return refusals, next_offset

    def read(self, cluster_arn: str) -> list[SignInRefusal]:
        """Every refusal the cluster's brokers recorded, oldest first; a broker whose agent does
        not answer is left out (and logged)."""
        cluster = self.store.get_cluster(cluster_arn)
        if cluster is None:
            return []
        found: list[SignInRefusal] = []
        for node in self.store.nodes(cluster_arn):
            if node.role is not NodeRole.BROKER:
                continue
            try:
                offset = 0
                while True:
                    refusals, next_offset = self.read_node(cluster, node, offset)
                    found.extend(refusals)
                    if next_offset == offset or not refusals:
                        break
                    offset = next_offset
            except (AgentUnavailable, AgentError) as error:
                log.info("IAM refusals of broker %s: %s", node.node_id, error)
        return sorted(found, key=lambda r: r.time)


def log_refusal(refusal: SignInRefusal) -> None:
    log.info(
        "IAM sign-in refused on broker %s of %s: %s (%s, key %s, request %s)",
        refusal.broker_id,
        refusal.cluster_arn,
        refusal.reason,
        refusal.detail,
        refusal.access_key_id,
        refusal.request_id,
    )


@dataclass
class RefusalCollector:
    """Hands every new refusal of every IAM broker to `on_refusal`, once per control plane
    process: it starts at the beginning of each broker's file, so after a restart earlier
    refusals are handed over again (an audit sink keys them by `request_id`)."""

    refusals: SignInRefusals
    on_refusal: Callable[[SignInRefusal], None] = log_refusal
    interval: float = COLLECT_INTERVAL

    def __post_init__(self) -> None:
        self._offsets: dict[tuple[str, int], int] = {}

    def collect_once(self) -> int:
        handed = 0
        for cluster, node in iam_brokers(self.refusals.store):
            at = (cluster.arn, node.node_id)
            try:
                refusals, offset = self.refusals.read_node(cluster, node, self._offsets.get(at, 0))
            except (AgentUnavailable, AgentError):
                continue
            for refusal in refusals:
                try:
                    self.on_refusal(refusal)
                except Exception:  # a failing sink must not stop the others
                    log.exception("IAM refusal hook failed for %s", refusal.request_id)
                handed += 1
            self._offsets[at] = offset
        return handed
