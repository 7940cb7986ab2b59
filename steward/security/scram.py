"""SCRAM secrets of a cluster (MSK's BatchAssociateScramSecret, BatchDisassociateScramSecret and
ListScramSecrets), and the sync that keeps Kafka's SCRAM-SHA-512 credentials as the associations
say.

The API records desired state only: an association is ASSOCIATED, or DISASSOCIATING until its
credential has left Kafka. `ScramSync` drives Kafka toward it, level-triggered: each pass reads
every association and the secret's current value, writes the credential where Kafka's is missing
or older than the secret (a PutSecretValue changes it on the next pass), removes it where the
secret was disassociated or deleted, and records what it applied. Nothing lives in memory, so a
restarted control plane carries on where the last one stopped.

MSK's rules: the cluster must have SASL/SCRAM client authentication on; at most 10 secrets per
call; each secret's name starts with `AmazonMSK_` and its value is JSON with `username` and
`password`. A secret that breaks a rule is answered in `unprocessedScramSecrets` with MSK's
error code, the others are associated.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from steward.domain.errors import BadRequestException, StewardError
from steward.domain.model import SERVING_STATES, Cluster, ClusterState, utcnow
from steward.kafka import scram as kafka_scram
from steward.kafka.errors import KafkaAdminError
from steward.secrets.errors import SecretsManagerError
from steward.secrets.service import Secrets
from steward.secrets.store import ScramAssociation, SecretRecords
from steward.security.certificates import serving_bootstrap
from steward.store.store import Store

log = logging.getLogger(__name__)

ASSOCIATED = "ASSOCIATED"
DISASSOCIATING = "DISASSOCIATING"
NAME_PREFIX = "AmazonMSK_"
MAX_SECRETS_PER_CALL = 10
MAX_USERS_PER_CLUSTER = 1000
INVALID_SECRET_ARN = "InvalidSecretArn"
"""MSK's error code for a secret it cannot associate."""
SECRET_ARN_PREFIX = "arn:aws:secretsmanager:"

NOT_ACCESSIBLE = "Amazon MSK wasn't able to access the provided secret."
BAD_PREFIX = (
    "The provided secret arn cannot be used with Amazon MSK. Secret names must have the prefix "
    f"'{NAME_PREFIX}'."
)
RESERVED_USER_PREFIX = "steward-"
"""`User:steward-internal` is every cluster's super user (`steward.kafka.node_config`) and
`User:steward-revoked` a revoked certificate's: no SCRAM user may take such a name."""
BAD_VALUE = (
    "The secret's value must be a JSON object with the string members username and password."
)


@dataclass(frozen=True)
class UnprocessedScramSecret:
    secret_arn: str
    error_code: str
    error_message: str


@dataclass(frozen=True)
class ScramCredential:
    username: str
    password: str
    version_id: str

    def __repr__(self) -> str:  # never the password
        return f"ScramCredential({self.username!r}, <hidden>, {self.version_id!r})"


class InvalidScramSecret(Exception):
    """A secret that cannot serve as a SCRAM credential; the message says why (no value)."""


def read_credential(
    secrets: Secrets, secret_arn: str, record_access: bool = True
) -> ScramCredential:
    """The username and password a secret holds now; InvalidScramSecret when it cannot be used."""
    try:
        record = secrets.find(secret_arn)
    except SecretsManagerError:
        raise InvalidScramSecret(NOT_ACCESSIBLE) from None
    if record.arn != secret_arn:
        raise InvalidScramSecret(NOT_ACCESSIBLE)  # MSK takes complete ARNs only
    if not record.name.startswith(NAME_PREFIX):
        raise InvalidScramSecret(BAD_PREFIX)
    try:
        value = secrets.get_value(secret_arn, record_access=record_access)
    except SecretsManagerError:
        raise InvalidScramSecret(NOT_ACCESSIBLE) from None
    try:
        content = json.loads(value.string) if value.string is not None else None
    except json.JSONDecodeError:
        content = None
    username = content.get("username") if isinstance(content, dict) else None
    password = content.get("password") if isinstance(content, dict) else None
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidScramSecret(BAD_VALUE)
    if not username or not password:
        raise InvalidScramSecret(BAD_VALUE)
    if username.startswith(RESERVED_USER_PREFIX):
        raise InvalidScramSecret(
            f"The username {username} is reserved: names that start with {RESERVED_USER_PREFIX} "
            "are Steward's own principals."
        )
    return ScramCredential(username, password, value.version_id)


class ClusterScramSecrets:
    """The use cases behind MSK's SCRAM secret routes."""

    def __init__(
        self,
        store: Store,
        secrets: Secrets,
        describe: Callable[[str], Cluster],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self._describe = describe
        self.wake = wake

    @property
    def records(self) -> SecretRecords:
        return self.secrets.records

    def _cluster_with_scram(self, cluster_arn: str) -> Cluster:
        cluster = self._describe(cluster_arn)
        if not cluster.spec.client_authentication.sasl_scram:
            raise BadRequestException(
                f"Cluster {cluster.name} does not have SASL/SCRAM client authentication enabled; "
                "SCRAM secrets can be associated only with a cluster that has it.",
                "clusterArn",
            )
        if cluster.state in (ClusterState.DELETING, ClusterState.FAILED):
            raise BadRequestException(
                f"Cluster {cluster.name} is {cluster.state.value}; its SCRAM secrets cannot "
                "change.",
                "clusterArn",
            )
        return cluster

    @staticmethod
    def _check_list(secret_arns: list[str]) -> None:
        if not secret_arns:
            raise BadRequestException(
                "secretArnList must name at least one secret.", "secretArnList"
            )
        if len(secret_arns) > MAX_SECRETS_PER_CALL:
            raise BadRequestException(
                f"secretArnList names {len(secret_arns)} secrets; at most "
                f"{MAX_SECRETS_PER_CALL} can be associated or disassociated per call.",
                "secretArnList",
            )

    def associate(self, cluster_arn: str, secret_arns: list[str]) -> list[UnprocessedScramSecret]:
        cluster = self._cluster_with_scram(cluster_arn)
        self._check_list(secret_arns)
        current = {
            a.secret_arn: a for a in self.records.associations(cluster.arn) if a.state == ASSOCIATED
        }
        users = {}
        for arn in current:
            try:
                users[read_credential(self.secrets, arn, record_access=False).username] = arn
            except InvalidScramSecret:
                continue
        unprocessed: list[UnprocessedScramSecret] = []
        accepted: list[str] = []
        for arn in dict.fromkeys(secret_arns):
            try:
                if not arn.startswith(SECRET_ARN_PREFIX):
                    raise InvalidScramSecret(NOT_ACCESSIBLE)
                credential = read_credential(self.secrets, arn)
                holder = users.get(credential.username)
                if holder is not None and holder != arn:
                    raise InvalidScramSecret(
                        f"Another secret associated with the cluster, {holder}, has the "
                        f"username {credential.username}."
                    )
                if arn not in current and len(current) + len(accepted) >= MAX_USERS_PER_CLUSTER:
                    raise InvalidScramSecret(
                        f"A cluster can have at most {MAX_USERS_PER_CLUSTER} SCRAM secrets."
                    )
            except InvalidScramSecret as error:
                unprocessed.append(UnprocessedScramSecret(arn, INVALID_SECRET_ARN, str(error)))
                continue
            users[credential.username] = arn
            accepted.append(arn)
        now = utcnow()
        for arn in accepted:
            self.records.set_association_state(cluster.arn, arn, ASSOCIATED, now)
        if accepted:
            self.wake()
        return unprocessed

    def disassociate(
        self, cluster_arn: str, secret_arns: list[str]
    ) -> list[UnprocessedScramSecret]:
        cluster = self._describe(cluster_arn)
        self._check_list(secret_arns)
        current = {
            a.secret_arn for a in self.records.associations(cluster.arn) if a.state == ASSOCIATED
        }
        unprocessed: list[UnprocessedScramSecret] = []
        now = utcnow()
        changed = False
        for arn in dict.fromkeys(secret_arns):
            if arn not in current:
                unprocessed.append(
                    UnprocessedScramSecret(
                        arn,
                        INVALID_SECRET_ARN,
                        "The provided secret is not associated with the cluster.",
                    )
                )
                continue
            self.records.set_association_state(cluster.arn, arn, DISASSOCIATING, now)
            changed = True
        if changed:
            self.wake()
        return unprocessed

    def list(self, cluster_arn: str) -> list[str]:
        cluster = self._describe(cluster_arn)
        return [
            a.secret_arn for a in self.records.associations(cluster.arn) if a.state == ASSOCIATED
        ]


class ScramSync:
    """Keeps every cluster's SCRAM credentials in Kafka as its associations and secrets say: a
    pass when woken (an association or a secret changed) and every `interval` seconds; every
    `verify_interval` seconds it also checks that Kafka still has each credential."""

    def __init__(
        self,
        store: Store,
        secrets: Secrets,
        interval: float = 10.0,
        verify_interval: float = 60.0,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.interval = interval
        self.verify_interval = verify_interval
        self._verified: dict[str, float] = {}

    def pass_once(self) -> None:
        by_cluster: dict[str, list[ScramAssociation]] = {}
        for association in self.secrets.records.associations():
            by_cluster.setdefault(association.cluster_arn, []).append(association)
        for cluster_arn, associations in by_cluster.items():
            cluster = self.store.get_cluster(cluster_arn)
            if cluster is None:  # the cluster is gone, and its credentials with it
                for association in associations:
                    self.secrets.records.remove_association(cluster_arn, association.secret_arn)
                continue
            if cluster.state not in SERVING_STATES:
                continue
            try:
                bootstrap = serving_bootstrap(self.store, cluster, "its SCRAM secrets")
                self.sync_cluster(cluster, bootstrap, associations)
            except (KafkaAdminError, StewardError) as error:
                log.warning("SCRAM credentials of %s: %s", cluster.name, error)

    def sync_cluster(
        self, cluster: Cluster, bootstrap: str, associations: list[ScramAssociation]
    ) -> None:
        present: dict[str, list[str]] | None = None
        if time.monotonic() - self._verified.get(cluster.arn, float("-inf")) > self.verify_interval:
            present = kafka_scram.users_with_credentials(bootstrap)
        records = self.secrets.records
        # Which association's credential each Kafka user is: a user that another association
        # holds is neither written over nor removed.
        holders = {a.kafka_user: a.secret_arn for a in associations if a.kafka_user is not None}

        def release(association: ScramAssociation) -> None:
            user = association.kafka_user
            if user is not None and holders.get(user) == association.secret_arn:
                kafka_scram.delete_credential(bootstrap, user)
                del holders[user]

        for association in associations:
            if association.state == DISASSOCIATING:
                release(association)
                records.remove_association(
                    cluster.arn, association.secret_arn, state=DISASSOCIATING
                )
                log.info("SCRAM secret %s left cluster %s", association.secret_arn, cluster.name)
                continue
            try:
                credential = read_credential(
                    self.secrets, association.secret_arn, record_access=False
                )
            except InvalidScramSecret as error:
                # The secret was deleted or no longer holds a credential: nobody signs in with it.
                release(association)
                if association.kafka_user is not None or association.detail != str(error):
                    records.record_applied(
                        cluster.arn, association.secret_arn, None, None, str(error)
                    )
                continue
            in_kafka = present is None or (
                association.kafka_user is not None and association.kafka_user in present
            )
            if (
                association.kafka_user == credential.username
                and association.applied_version_id == credential.version_id
                and in_kafka
            ):
                continue
            holder = holders.get(credential.username)
            if holder not in (None, association.secret_arn):
                taken = f"The username {credential.username} is the credential of secret {holder}."
                release(association)
                if association.kafka_user is not None or association.detail != taken:
                    records.record_applied(cluster.arn, association.secret_arn, None, None, taken)
                continue
            if association.kafka_user != credential.username:
                release(association)
            kafka_scram.upsert_credential(bootstrap, credential.username, credential.password)
            holders[credential.username] = association.secret_arn
            records.record_applied(
                cluster.arn,
                association.secret_arn,
                credential.username,
                credential.version_id,
                None,
            )
            log.info(
                "SCRAM credential of %s in cluster %s written (secret %s, version %s)",
                credential.username,
                cluster.name,
                association.secret_arn,
                credential.version_id,
            )
        if present is not None:
            self._verified[cluster.arn] = time.monotonic()
