"""Secrets, their sealed versions, and their associations with clusters, as the store keeps them.

This layer moves rows only: values arrive and leave sealed (`steward.secrets.service` seals and
opens them), so nothing here ever holds a secret value in clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.secrets import stages as staging
from steward.store import schema
from steward.store.codec import aware

MAX_VERSIONS = 100
DEPRECATED_VERSIONS_KEPT_FOR = timedelta(hours=24)
"""Secrets Manager's rule: past 100 versions, deprecated ones (no staging label) go, oldest
first, but none made in the last 24 hours."""


class DuplicateSecretError(Exception):
    """A secret with this name exists already (maybe scheduled for deletion)."""


@dataclass
class SecretRecord:
    arn: str
    name: str
    creation_time: datetime
    last_changed_time: datetime
    description: str | None = None
    kms_key_id: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    last_accessed_time: datetime | None = None
    deletion_time: datetime | None = None
    """When a secret scheduled for deletion goes; None for a secret in use."""
    resource_policy: str | None = None


@dataclass
class SealedVersion:
    secret_arn: str
    version_id: str
    sealed_value: bytes
    binary: bool
    stages: list[str]
    """Its staging labels; none for a deprecated version."""
    creation_time: datetime
    last_accessed_time: datetime | None = None


@dataclass
class ScramAssociation:
    cluster_arn: str
    secret_arn: str
    state: str
    """ASSOCIATED, or DISASSOCIATING until the credential has left Kafka."""
    association_time: datetime
    kafka_user: str | None = None
    """The user whose credential Steward last wrote into Kafka; None while there is none."""
    applied_version_id: str | None = None
    detail: str | None = None


def _secret(row: Any) -> SecretRecord:
    return SecretRecord(
        arn=row.arn,
        name=row.name,
        creation_time=aware(row.creation_time),  # type: ignore[arg-type]
        last_changed_time=aware(row.last_changed_time),  # type: ignore[arg-type]
        description=row.description,
        kms_key_id=row.kms_key_id,
        tags=list(row.tags or []),
        last_accessed_time=aware(row.last_accessed_time),
        deletion_time=aware(row.deletion_time),
        resource_policy=row.resource_policy,
    )


def _version(row: Any) -> SealedVersion:
    return SealedVersion(
        secret_arn=row.secret_arn,
        version_id=row.version_id,
        sealed_value=bytes(row.sealed_value),
        binary=bool(row.binary),
        stages=list(row.stages),
        creation_time=aware(row.creation_time),  # type: ignore[arg-type]
        last_accessed_time=aware(row.last_accessed_time),
    )


def _association(row: Any) -> ScramAssociation:
    return ScramAssociation(
        cluster_arn=row.cluster_arn,
        secret_arn=row.secret_arn,
        state=row.state,
        association_time=aware(row.association_time),  # type: ignore[arg-type]
        kafka_user=row.kafka_user,
        applied_version_id=row.applied_version_id,
        detail=row.detail,
    )


class SecretRecords:
    """Repository of secrets and their versions, over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- secrets --------------------------------------------------------------------------------
    def add(self, secret: SecretRecord, version: SealedVersion | None) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.secrets).values(
                        arn=secret.arn,
                        name=secret.name,
                        description=secret.description,
                        kms_key_id=secret.kms_key_id,
                        tags=secret.tags,
                        creation_time=secret.creation_time,
                        last_changed_time=secret.last_changed_time,
                        last_accessed_time=None,
                        deletion_time=None,
                    )
                )
                if version is not None:
                    _insert_version(conn, version)
        except IntegrityError as error:
            raise DuplicateSecretError(secret.name) from error

    def by_arn(self, arn: str) -> SecretRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.secrets).where(schema.secrets.c.arn == arn)).first()
        return None if row is None else _secret(row)

    def by_name(self, name: str) -> SecretRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.secrets).where(schema.secrets.c.name == name)).first()
        return None if row is None else _secret(row)

    def all(self) -> list[SecretRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.secrets).order_by(
                    schema.secrets.c.creation_time, schema.secrets.c.name
                )
            ).all()
        return [_secret(r) for r in rows]

    def set_deletion_time(self, arn: str, when: datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.secrets).where(schema.secrets.c.arn == arn).values(deletion_time=when)
            )

    def touch_accessed(self, arn: str, version_id: str, when: datetime) -> None:
        """A value was read: the secret's and the version's last access."""
        versions = schema.secret_versions.c
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.secrets)
                .where(schema.secrets.c.arn == arn)
                .values(last_accessed_time=when)
            )
            conn.execute(
                update(schema.secret_versions)
                .where((versions.secret_arn == arn) & (versions.version_id == version_id))
                .values(last_accessed_time=when)
            )

    def change(
        self,
        arn: str,
        now: datetime,
        *,
        description: str | None = None,
        kms_key_id: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        """Set what is given of a secret's details (None leaves one as it is); its last change
        is `now`."""
        values: dict[str, Any] = {"last_changed_time": now}
        if description is not None:
            values["description"] = description
        if kms_key_id is not None:
            values["kms_key_id"] = kms_key_id
        if tags is not None:
            values["tags"] = tags
        with self.engine.begin() as conn:
            conn.execute(update(schema.secrets).where(schema.secrets.c.arn == arn).values(values))

    def retag(
        self,
        arn: str,
        change: Callable[[list[dict[str, str]]], list[dict[str, str]]],
        now: datetime,
    ) -> None:
        """Give a secret the tags `change` computes from its tags now, in one transaction."""
        columns = schema.secrets.c
        with self.engine.begin() as conn:
            row = conn.execute(select(columns.tags).where(columns.arn == arn)).first()
            if row is None:
                return
            conn.execute(
                update(schema.secrets)
                .where(columns.arn == arn)
                .values(tags=change(list(row.tags or [])), last_changed_time=now)
            )

    def set_resource_policy(self, arn: str, policy: str | None, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.secrets)
                .where(schema.secrets.c.arn == arn)
                .values(resource_policy=policy, last_changed_time=now)
            )

    def remove(self, arn: str) -> None:
        """The secret and every version of it, for good."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.secret_versions).where(schema.secret_versions.c.secret_arn == arn)
            )
            conn.execute(delete(schema.secrets).where(schema.secrets.c.arn == arn))

    def purge_deleted(self, now: datetime) -> list[str]:
        """Remove the secrets whose recovery window has ended; their ARNs."""
        columns = schema.secrets.c
        with self.engine.connect() as conn:
            due = conn.execute(
                select(columns.arn).where(
                    columns.deletion_time.is_not(None), columns.deletion_time <= now
                )
            ).all()
        for (arn,) in due:
            self.remove(arn)
        return [arn for (arn,) in due]

    # --- versions -------------------------------------------------------------------------------
    def versions(self, secret_arn: str) -> list[SealedVersion]:
        columns = schema.secret_versions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.secret_versions)
                .where(columns.secret_arn == secret_arn)
                .order_by(columns.creation_time)
            ).all()
        return [_version(r) for r in rows]

    def add_version(self, version: SealedVersion, now: datetime) -> None:
        """Add `version` with its stages, taking each from the version that had it (AWSCURRENT
        moving on leaves AWSPREVIOUS on the version it left); a version left with no stage is
        deprecated, and goes once the secret has too many versions."""
        with self.engine.begin() as conn:
            before = _stages(conn, version.secret_arn)
            after = staging.attach(before, version.version_id, version.stages)
            del after[version.version_id]
            _write_stages(conn, version.secret_arn, before, after)
            _insert_version(conn, version)
            _drop_deprecated(conn, version.secret_arn, now)
            conn.execute(
                update(schema.secrets)
                .where(schema.secrets.c.arn == version.secret_arn)
                .values(last_changed_time=now)
            )

    def restage(
        self,
        secret_arn: str,
        change: Callable[[staging.Stages], staging.Stages],
        now: datetime,
    ) -> staging.Stages:
        """Give the versions of a secret the stages `change` computes from their stages now (in
        one transaction, so that no other change comes between); the new stages."""
        with self.engine.begin() as conn:
            before = _stages(conn, secret_arn)
            after = change(before)
            _write_stages(conn, secret_arn, before, after)
            conn.execute(
                update(schema.secrets)
                .where(schema.secrets.c.arn == secret_arn)
                .values(last_changed_time=now)
            )
        return after

    # --- associations with clusters -------------------------------------------------------------
    def associations(self, cluster_arn: str | None = None) -> list[ScramAssociation]:
        columns = schema.scram_secrets.c
        query = select(schema.scram_secrets).order_by(
            columns.cluster_arn, columns.association_time, columns.secret_arn
        )
        if cluster_arn is not None:
            query = query.where(columns.cluster_arn == cluster_arn)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_association(r) for r in rows]

    def associations_of_secret(self, secret_arn: str) -> list[ScramAssociation]:
        return [a for a in self.associations() if a.secret_arn == secret_arn]

    def set_association_state(
        self, cluster_arn: str, secret_arn: str, state: str, now: datetime
    ) -> None:
        """Associate (state ASSOCIATED) or start disassociating (DISASSOCIATING). Associating again
        forgets which version was applied, so the next sync writes the credential anew; the user
        already in Kafka stays recorded, for the sync to replace or remove."""
        columns = schema.scram_secrets.c
        where = (columns.cluster_arn == cluster_arn) & (columns.secret_arn == secret_arn)
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(schema.scram_secrets)
                .where(where)
                .values(state=state, applied_version_id=None)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(schema.scram_secrets).values(
                        cluster_arn=cluster_arn,
                        secret_arn=secret_arn,
                        state=state,
                        association_time=now,
                    )
                )

    def record_applied(
        self,
        cluster_arn: str,
        secret_arn: str,
        kafka_user: str | None,
        version_id: str | None,
        detail: str | None,
    ) -> None:
        """What the sync left in Kafka for an association (never its state, which only the API
        changes)."""
        columns = schema.scram_secrets.c
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.scram_secrets)
                .where((columns.cluster_arn == cluster_arn) & (columns.secret_arn == secret_arn))
                .values(kafka_user=kafka_user, applied_version_id=version_id, detail=detail)
            )

    def remove_association(
        self, cluster_arn: str, secret_arn: str, state: str | None = None
    ) -> None:
        """Forget an association; with `state`, only while it is still in that state."""
        columns = schema.scram_secrets.c
        where = (columns.cluster_arn == cluster_arn) & (columns.secret_arn == secret_arn)
        if state is not None:
            where = where & (columns.state == state)
        with self.engine.begin() as conn:
            conn.execute(delete(schema.scram_secrets).where(where))


def _stages(conn: Connection, secret_arn: str) -> staging.Stages:
    columns = schema.secret_versions.c
    rows = conn.execute(
        select(columns.version_id, columns.stages)
        .where(columns.secret_arn == secret_arn)
        .order_by(columns.creation_time)
    ).all()
    return {row.version_id: list(row.stages) for row in rows}


def _write_stages(
    conn: Connection, secret_arn: str, before: staging.Stages, after: staging.Stages
) -> None:
    columns = schema.secret_versions.c
    for version_id, labels in after.items():
        if before.get(version_id) != labels:
            conn.execute(
                update(schema.secret_versions)
                .where((columns.secret_arn == secret_arn) & (columns.version_id == version_id))
                .values(stages=labels)
            )


def _drop_deprecated(conn: Connection, secret_arn: str, now: datetime) -> None:
    columns = schema.secret_versions.c
    rows = conn.execute(
        select(columns.version_id, columns.stages, columns.creation_time)
        .where(columns.secret_arn == secret_arn)
        .order_by(columns.creation_time)
    ).all()
    excess = len(rows) - MAX_VERSIONS
    for row in rows:
        if excess <= 0:
            break
        if row.stages or aware(row.creation_time) > now - DEPRECATED_VERSIONS_KEPT_FOR:  # type: ignore[operator]
            continue
        conn.execute(
            delete(schema.secret_versions).where(
                (columns.secret_arn == secret_arn) & (columns.version_id == row.version_id)
            )
        )
        excess -= 1


def _insert_version(conn: Connection, version: SealedVersion) -> None:
    conn.execute(
        insert(schema.secret_versions).values(
            secret_arn=version.secret_arn,
            version_id=version.version_id,
            sealed_value=version.sealed_value,
            binary=version.binary,
            stages=version.stages,
            creation_time=version.creation_time,
        )
    )
