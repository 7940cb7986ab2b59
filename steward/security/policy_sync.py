"""The sync that makes Kafka's ACLs of each principal with an access policy exactly what its
policy compiles to, the way `steward.security.scram.ScramSync` keeps SCRAM credentials.

Level-triggered: a pass first brings IAM principals' policies up to date (`before_pass`), then
reads every stored policy, deleted ones still waiting included, and for
each principal whose policy changed since it was applied (or failed, or every `verify_interval`
seconds for all of them, in case someone changed ACLs behind Steward's back) it sends Kafka the
difference (`steward.kafka.acls.sync_principal_acls`). A deleted policy's principal is left with
no ACL, then the policy is forgotten. Principals without a policy are never touched: their ACLs,
if anyone made some, are not Steward's. Progress is in the store (`PolicyRecords`), so a restarted
control plane carries on where the last one stopped.

A cluster is synced only while its brokers serve and it has an authorizer (`has_authorizer`):
without one Kafka refuses every ACL call, and its policies wait. Passes run when woken (an API
change), every `interval` seconds, and on demand for one cluster (`sync_now`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from steward.domain.access_policies import ClusterIdentity, KafkaAcl, PolicyError, compile_policy
from steward.domain.errors import StewardError
from steward.domain.model import SERVING_STATES, Cluster, utcnow
from steward.kafka.acls import AclChanges, sync_principal_acls
from steward.kafka.admin import admin_client
from steward.kafka.errors import KafkaAdminError, client_errors
from steward.security.certificates import serving_bootstrap
from steward.security.cluster_policies import has_authorizer
from steward.security.policy_store import PolicyRecords, StoredPolicy
from steward.store.store import Store

log = logging.getLogger(__name__)

FAILURES_IN_A_ROW = 3
"""A cluster's pass stops after this many principals failed one after the other: its brokers are
most likely unreachable, and each attempt would wait for Kafka's timeout."""

AdminFactory = Callable[[Store, Cluster], Any]
ApplyAcls = Callable[[Any, str, Sequence[KafkaAcl]], AclChanges]


class AclSyncError(KafkaAdminError):
    """Kafka refused, or did not answer, a change of a principal's ACLs."""


def cluster_admin(store: Store, cluster: Cluster) -> Any:
    """An Admin client of the cluster's brokers, as Steward itself reaches them."""
    return admin_client(serving_bootstrap(store, cluster, "its access policies"))


@dataclass(frozen=True)
class PrincipalSync:
    """What one pass did for one principal."""

    principal: str
    deleted_policy: bool
    changes: AclChanges | None
    """The ACLs created and deleted; None when the attempt failed."""
    error: str | None = None


class PolicySync:
    def __init__(
        self,
        store: Store,
        records: PolicyRecords,
        interval: float = 10.0,
        verify_interval: float = 60.0,
        admin: AdminFactory = cluster_admin,
        apply: ApplyAcls = sync_principal_acls,
        before_pass: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.records = records
        self.interval = interval
        self.verify_interval = verify_interval
        self._admin = admin
        self._apply = apply
        self._lock = threading.Lock()
        """One cluster sync at a time: the background pass and `sync_now` never interleave."""
        self._verified: dict[str, float] = {}
        self.before_pass = before_pass
        """Brings the stored policies up to date first: IAM principals' policies
        (`steward.security.iam_principals`)."""

    def pass_once(self) -> None:
        try:
            self.before_pass()
        except Exception:  # the policies already stored are still synced
            log.exception("Updating IAM principals' access policies failed")
        for cluster_arn in self.records.cluster_arns():
            try:
                self.sync_cluster(cluster_arn)
            except (KafkaAdminError, StewardError) as error:
                log.warning("Access policies of %s: %s", cluster_arn, error)

    def sync_now(self, cluster_arn: str) -> list[PrincipalSync]:
        """Sync one cluster now, in the caller's thread, checking every principal's ACLs
        whether or not its policy changed. What was done; nothing when the cluster does not
        serve or has no authorizer."""
        return self.sync_cluster(cluster_arn, verify=True)

    def apply_cluster(self, cluster: Cluster) -> None:
        """Write every access policy of `cluster` as Kafka ACLs now, as `cluster` says: the
        target of an UpdateSecurity (`ReconcileContext.apply_policies`), whose authorizer is on
        before the store says so. AclSyncError when a principal's ACLs could not be written, for
        the caller to try again."""
        if not has_authorizer(cluster):
            return
        with self._lock:
            done = self._sync(cluster, verify=True)
        failed = [d for d in done if d.error is not None]
        if failed:
            raise AclSyncError(
                f"{len(failed)} of {len(done)} principals' ACLs not written; "
                f"{failed[0].principal}: {failed[0].error}"
            )

    def sync_cluster(self, cluster_arn: str, verify: bool | None = None) -> list[PrincipalSync]:
        """One cluster's pass: `verify` checks every principal (None: when it is due)."""
        with self._lock:
            cluster = self.store.get_cluster(cluster_arn)
            if cluster is None:  # the cluster is gone, and its ACLs with it
                self.records.remove_cluster(cluster_arn)
                self._verified.pop(cluster_arn, None)
                return []
            if cluster.state not in SERVING_STATES or not has_authorizer(cluster):
                self._verified.pop(cluster_arn, None)  # check everything once it can
                return []
            if verify is None:
                last = self._verified.get(cluster_arn, float("-inf"))
                verify = time.monotonic() - last > self.verify_interval
            return self._sync(cluster, verify)

    def _sync(self, cluster: Cluster, verify: bool) -> list[PrincipalSync]:
        due = [
            p
            for p in self.records.all(cluster.arn)
            if verify or p.deleting or not p.applied or p.detail is not None
        ]
        due.sort(key=lambda p: p.detail is not None)  # those that failed last go last
        started = time.monotonic()
        done: list[PrincipalSync] = []
        failing = 0
        admin = self._admin(self.store, cluster) if due else None
        for policy in due:
            done.append(self._sync_principal(admin, cluster, policy))
            failing = failing + 1 if done[-1].error is not None else 0
            if failing == FAILURES_IN_A_ROW:
                log.warning("Access policies of %s: giving up this pass", cluster.name)
                return done
        if verify and all(d.error is None for d in done):
            self._verified[cluster.arn] = started
        return done

    def _sync_principal(self, admin: Any, cluster: Cluster, policy: StoredPolicy) -> PrincipalSync:
        principal = policy.principal
        try:
            if policy.deleting:
                wanted: list[KafkaAcl] = []
            else:
                wanted = compile_policy(
                    principal, policy.document, ClusterIdentity.from_arn(cluster.arn)
                )
                if not policy.in_kafka and not self.records.mark_in_kafka(
                    cluster.arn, principal, policy.version
                ):  # changed or deleted meanwhile: the next pass takes the new state
                    return PrincipalSync(principal, False, AclChanges((), ()))
            with client_errors(AclSyncError, f"Changing the ACLs of {principal}"):
                changes = self._apply(admin, principal, wanted)
        except (KafkaAdminError, PolicyError) as error:
            log.warning("Access policy of %s on %s: %s", principal, cluster.name, error)
            if policy.detail != str(error):
                self.records.record_failure(cluster.arn, principal, str(error))
            return PrincipalSync(principal, policy.deleting, None, str(error))
        if policy.deleting:
            self.records.remove(cluster.arn, principal, version=policy.version)
            log.info("Access policy of %s left cluster %s", principal, cluster.name)
            return PrincipalSync(principal, True, changes)
        changed = bool(changes.created or changes.deleted)
        if changed or not policy.applied or policy.detail is not None:
            self.records.record_applied(cluster.arn, principal, policy.version, utcnow())
        if changed:
            log.info(
                "ACLs of %s on cluster %s: %d created, %d deleted (policy version %d)",
                principal,
                cluster.name,
                len(changes.created),
                len(changes.deleted),
                policy.version,
            )
        return PrincipalSync(principal, False, changes)
