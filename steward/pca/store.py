"""Private certificate authorities and the certificates they issued, as the store keeps them.

This layer moves rows only: a CA's private key arrives and leaves sealed
(`steward.pca.service` seals and opens it), so nothing here holds a key in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from steward.store import schema
from steward.store.codec import aware


@dataclass
class CaRecord:
    arn: str
    type: str
    status: str
    configuration: dict[str, Any]
    """CertificateAuthorityConfiguration as the API took it (KeyAlgorithm, SigningAlgorithm,
    Subject, ...)."""
    key_storage_security_standard: str
    usage_mode: str
    sealed_key: bytes = field(repr=False)
    created_at: datetime
    last_state_change_at: datetime
    revocation_configuration: dict[str, Any] | None = None
    certificate_pem: str | None = None
    """None while the CA waits for its certificate (PENDING_CERTIFICATE)."""
    serial: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    restorable_until: datetime | None = None
    """When a deleted CA goes for good; None for a CA not deleted."""
    status_before_deletion: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)


@dataclass
class IssuedCertificate:
    ca_arn: str
    serial: str
    """Lowercase hex, no leading zeros or colons."""
    certificate_pem: str
    issued_at: datetime
    not_after: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


def _ca(row: Any) -> CaRecord:
    return CaRecord(
        arn=row.arn,
        type=row.type,
        status=row.status,
        configuration=dict(row.configuration),
        key_storage_security_standard=row.key_storage_security_standard,
        usage_mode=row.usage_mode,
        sealed_key=bytes(row.sealed_key),
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        last_state_change_at=aware(row.last_state_change_at),  # type: ignore[arg-type]
        revocation_configuration=row.revocation_configuration,
        certificate_pem=row.certificate_pem,
        serial=row.serial,
        not_before=aware(row.not_before),
        not_after=aware(row.not_after),
        restorable_until=aware(row.restorable_until),
        status_before_deletion=row.status_before_deletion,
        tags=list(row.tags or []),
    )


def _certificate(row: Any) -> IssuedCertificate:
    return IssuedCertificate(
        ca_arn=row.ca_arn,
        serial=row.serial,
        certificate_pem=row.certificate_pem,
        issued_at=aware(row.issued_at),  # type: ignore[arg-type]
        not_after=aware(row.not_after),  # type: ignore[arg-type]
        revoked_at=aware(row.revoked_at),
        revocation_reason=row.revocation_reason,
    )


class CertificateAuthorityRecords:
    """Repository of private CAs and their issued certificates, over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- certificate authorities ----------------------------------------------------------------
    def add(self, ca: CaRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.private_cas).values(
                    arn=ca.arn,
                    type=ca.type,
                    status=ca.status,
                    configuration=ca.configuration,
                    revocation_configuration=ca.revocation_configuration,
                    key_storage_security_standard=ca.key_storage_security_standard,
                    usage_mode=ca.usage_mode,
                    sealed_key=ca.sealed_key,
                    certificate_pem=ca.certificate_pem,
                    serial=ca.serial,
                    not_before=ca.not_before,
                    not_after=ca.not_after,
                    created_at=ca.created_at,
                    last_state_change_at=ca.last_state_change_at,
                    restorable_until=ca.restorable_until,
                    status_before_deletion=ca.status_before_deletion,
                    tags=ca.tags,
                )
            )

    def by_arn(self, arn: str) -> CaRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.private_cas).where(schema.private_cas.c.arn == arn)
            ).first()
        return None if row is None else _ca(row)

    def all(self) -> list[CaRecord]:
        columns = schema.private_cas.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.private_cas).order_by(columns.created_at, columns.arn)
            ).all()
        return [_ca(r) for r in rows]

    def count_not_deleted(self) -> int:
        columns = schema.private_cas.c
        with self.engine.connect() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(schema.private_cas)
                .where(columns.status != "DELETED")
            ).scalar_one()
        return int(count)

    def set_status(
        self,
        arn: str,
        status: str,
        when: datetime,
        restorable_until: datetime | None = None,
        status_before_deletion: str | None = None,
    ) -> None:
        self._update(
            arn,
            status=status,
            last_state_change_at=when,
            restorable_until=restorable_until,
            status_before_deletion=status_before_deletion,
        )

    def set_certificate(
        self,
        arn: str,
        certificate_pem: str,
        serial: str,
        not_before: datetime,
        not_after: datetime,
        status: str,
        when: datetime,
    ) -> None:
        self._update(
            arn,
            certificate_pem=certificate_pem,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            status=status,
            last_state_change_at=when,
        )

    def set_revocation_configuration(self, arn: str, configuration: dict[str, Any]) -> None:
        self._update(arn, revocation_configuration=configuration)

    def set_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        self._update(arn, tags=tags)

    def _update(self, arn: str, **values: Any) -> None:
        """Set these columns of the CA's row."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.private_cas).where(schema.private_cas.c.arn == arn).values(**values)
            )

    def remove(self, arn: str) -> None:
        """The CA, its key and every certificate it issued, for good."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.private_ca_certificates).where(
                    schema.private_ca_certificates.c.ca_arn == arn
                )
            )
            conn.execute(delete(schema.private_cas).where(schema.private_cas.c.arn == arn))

    def purge_deleted(self, now: datetime) -> list[str]:
        """Remove the deleted CAs whose restore window has ended; their ARNs."""
        columns = schema.private_cas.c
        with self.engine.connect() as conn:
            due = conn.execute(
                select(columns.arn).where(
                    columns.status == "DELETED",
                    columns.restorable_until.is_not(None),
                    columns.restorable_until <= now,
                )
            ).all()
        for (arn,) in due:
            self.remove(arn)
        return [arn for (arn,) in due]

    # --- issued certificates --------------------------------------------------------------------
    def add_certificate(self, certificate: IssuedCertificate) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.private_ca_certificates).values(
                    ca_arn=certificate.ca_arn,
                    serial=certificate.serial,
                    certificate_pem=certificate.certificate_pem,
                    issued_at=certificate.issued_at,
                    not_after=certificate.not_after,
                    revoked_at=None,
                    revocation_reason=None,
                )
            )

    def certificate(self, ca_arn: str, serial: str) -> IssuedCertificate | None:
        columns = schema.private_ca_certificates.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.private_ca_certificates).where(
                    columns.ca_arn == ca_arn, columns.serial == serial
                )
            ).first()
        return None if row is None else _certificate(row)

    def revoke(self, ca_arn: str, serial: str, when: datetime, reason: str) -> bool:
        """Mark the certificate revoked; False when it was revoked already (the first revocation
        stands, as in a CRL)."""
        columns = schema.private_ca_certificates.c
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(schema.private_ca_certificates)
                .where(
                    columns.ca_arn == ca_arn,
                    columns.serial == serial,
                    columns.revoked_at.is_(None),
                )
                .values(revoked_at=when, revocation_reason=reason)
            ).rowcount
        return bool(changed)

    def revoked(self, ca_arn: str) -> list[IssuedCertificate]:
        columns = schema.private_ca_certificates.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.private_ca_certificates)
                .where(columns.ca_arn == ca_arn, columns.revoked_at.is_not(None))
                .order_by(columns.revoked_at, columns.serial)
            ).all()
        return [_certificate(r) for r in rows]
