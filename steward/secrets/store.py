"""Secrets, their sealed versions, and their associations with clusters, as the store keeps them.

This layer moves rows only: values arrive and leave sealed (`steward.secrets.service` seals and
opens them), so nothing here ever holds a secret value in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema
from steward.store.codec import aware


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


@dataclass
class SealedVersion:
    secret_arn: str
    version_id: str
    sealed_value: bytes
    binary: bool
    stages: list[str]
    creation_time: datetime


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
    )


def _version(row: Any) -> SealedVersion:
    return SealedVersion(
        secret_arn=row.secret_arn,
        version_id=row.version_id,
        sealed_value=bytes(row.sealed_value),
        binary=bool(row.binary),
        stages=list(row.stages),
        creation_time=aware(row.creation_time),  # type: ignore[arg-type]
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

    def touch_accessed(self, arn: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.secrets)
                .where(schema.secrets.c.arn == arn)
                .values(last_accessed_time=when)
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
        """Add `version`, taking its stages from the versions that had them (AWSCURRENT moving
        on leaves AWSPREVIOUS on the version it left); versions left with no stage are dropped,
        as Secrets Manager drops deprecated versions."""
        columns = schema.secret_versions.c
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(schema.secret_versions).where(columns.secret_arn == version.secret_arn)
            ).all()
            others = [_version(r) for r in rows]
            moving = set(version.stages)
            for other in others:
                stages = [s for s in other.stages if s not in moving]
                if "AWSCURRENT" in moving and "AWSCURRENT" in other.stages:
                    stages.append("AWSPREVIOUS")
                elif "AWSCURRENT" in moving and "AWSPREVIOUS" in stages:
                    stages.remove("AWSPREVIOUS")
                where = (columns.secret_arn == other.secret_arn) & (
                    columns.version_id == other.version_id
                )
                if stages:
                    conn.execute(update(schema.secret_versions).where(where).values(stages=stages))
                else:
                    conn.execute(delete(schema.secret_versions).where(where))
            _insert_version(conn, version)
            conn.execute(
                update(schema.secrets)
                .where(schema.secrets.c.arn == version.secret_arn)
                .values(last_changed_time=now)
            )

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
