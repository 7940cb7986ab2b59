"""Private certificate authorities: the use cases of Steward's AWS-Private-CA-compatible API
(`acm-pca`), as much of it as MSK's mutual-TLS clients need: make a CA, issue client
certificates from CSRs, read them back, revoke them, and publish who is revoked.

MSK clusters with TLS client authentication name these CAs' ARNs; the Kafka side asks this
module for the CAs' certificates (`trust_bundle`), their revocation lists (`crl_pem`), whether
ARNs may be used at all (`check_usable`), and to be told when something changes
(`add_listener`).

Divergences from AWS Private CA, on purpose:
- A ROOT CA signs its own certificate when it is made and is ACTIVE at once (ten years, or as
  long as the certificate imported later says). AWS leaves it PENDING_CERTIFICATE until a root
  certificate is imported; that flow works too (GetCertificateAuthorityCsr, IssueCertificate with
  the RootCACertificate/V1 template, ImportCertificateAuthorityCertificate), and replaces the
  self-signed certificate with the imported one for the same key.
- SUBORDINATE CAs, RSA-PSS and post-quantum or SM2 keys are refused.
- Revocation lists are not written to S3: `crl_pem` signs a fresh one on every call, served by
  Steward's own route; a RevocationConfiguration is kept and echoed, nothing more. No OCSP.
- IdempotencyToken is accepted and ignored.

The CA's private key is sealed by the master key (context `private-ca/<arn>`) before it reaches
the store and is opened only to sign; it is never returned, logged or put into an error.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from steward.crypto import client_ca
from steward.crypto.client_ca import MalformedCertificate, MalformedCsr, PrivateKey, RevokedSerial
from steward.crypto.master_key import MasterKey, SealedValueError
from steward.domain.errors import BadRequestException, StewardError
from steward.domain.model import utcnow
from steward.pca.store import CaRecord, CertificateAuthorityRecords, IssuedCertificate

log = logging.getLogger(__name__)

ACTIVE = "ACTIVE"
DISABLED = "DISABLED"
DELETED = "DELETED"
EXPIRED = "EXPIRED"
PENDING_CERTIFICATE = "PENDING_CERTIFICATE"

CA_VALIDITY_DAYS = 3650
DEFAULT_DELETION_DAYS = 30
MIN_DELETION_DAYS = 7
MAX_DELETION_DAYS = 30
DEFAULT_CRL_DAYS = 7
"""How long a CRL is good for (its nextUpdate) when the CA's CrlConfiguration names no
ExpirationInDays: AWS's default."""
MAX_CERTIFICATE_AUTHORITIES = 200
"""AWS's default quota of CAs per account and region."""
MAX_TAGS = 50
BACKDATE = timedelta(minutes=60)
"""AWS Private CA backdates NotBefore by an hour, for hosts whose clocks are behind."""

TEMPLATE_PREFIX = "arn:aws:acm-pca:::template/"
END_ENTITY = "EndEntityCertificate/V1"
END_ENTITY_CLIENT_AUTH = "EndEntityClientAuthCertificate/V1"
END_ENTITY_SERVER_AUTH = "EndEntityServerAuthCertificate/V1"
ROOT_CA = "RootCACertificate/V1"
_TEMPLATE_USAGES = {
    END_ENTITY: client_ca.SERVER_AND_CLIENT_AUTH,
    END_ENTITY_CLIENT_AUTH: client_ca.CLIENT_AUTH,
    END_ENTITY_SERVER_AUTH: client_ca.SERVER_AUTH,
}

_CA_ARN = re.compile(
    r"^arn:aws:acm-pca:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"certificate-authority/(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_SERIAL = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})*$|^[0-9a-fA-F]+$")

_SUBJECT_FIELDS: tuple[tuple[str, ObjectIdentifier], ...] = (
    ("Country", NameOID.COUNTRY_NAME),
    ("State", NameOID.STATE_OR_PROVINCE_NAME),
    ("Locality", NameOID.LOCALITY_NAME),
    ("Organization", NameOID.ORGANIZATION_NAME),
    ("OrganizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("DistinguishedNameQualifier", NameOID.DN_QUALIFIER),
    ("SerialNumber", NameOID.SERIAL_NUMBER),
    ("Title", NameOID.TITLE),
    ("Surname", NameOID.SURNAME),
    ("GivenName", NameOID.GIVEN_NAME),
    ("Initials", NameOID.INITIALS),
    ("Pseudonym", NameOID.PSEUDONYM),
    ("GenerationQualifier", NameOID.GENERATION_QUALIFIER),
    ("CommonName", NameOID.COMMON_NAME),
)
"""ASN1Subject's members, in the order they go into a distinguished name (country first)."""


# --- AWS Private CA's errors (HTTP 400) ----------------------------------------------------------
class PrivateCaError(StewardError):
    status = 400


class ResourceNotFoundException(PrivateCaError):
    pass


class InvalidArnException(PrivateCaError):
    pass


class InvalidStateException(PrivateCaError):
    pass


class InvalidArgsException(PrivateCaError):
    pass


class InvalidRequestException(PrivateCaError):
    pass


class ValidationException(PrivateCaError):
    pass


class MalformedCSRException(PrivateCaError):
    pass


class MalformedCertificateException(PrivateCaError):
    pass


class CertificateMismatchException(PrivateCaError):
    pass


class RequestAlreadyProcessedException(PrivateCaError):
    pass


class LimitExceededException(PrivateCaError):
    pass


class InvalidNextTokenException(PrivateCaError):
    pass


class InvalidTagException(PrivateCaError):
    pass


class TooManyTagsException(PrivateCaError):
    pass


class RequestFailedException(PrivateCaError):
    pass


class CertificateAuthorityNotUsable(BadRequestException):
    """An ARN that MSK's ClientAuthentication cannot use: malformed, unknown, or a CA that is not
    ACTIVE. Reads as MSK's BadRequestException on the wire, so MSK's API can let it through."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "certificateAuthorityArnList")

    @property
    def error_type(self) -> str:
        return "BadRequestException"


@dataclass(frozen=True)
class Validity:
    """AWS's Validity: `value` read according to `type` (DAYS, MONTHS, YEARS from now; END_DATE
    as YYYYMMDDHHMMSS or YYMMDDHHMMSS; ABSOLUTE as seconds since the epoch)."""

    value: int
    type: str


@dataclass(frozen=True)
class CertificateAndChain:
    certificate_pem: str
    chain_pem: str | None
    """The certificates above it, up to the root; None for a root CA's own certificate."""


def certificate_arn(ca_arn: str, serial: int) -> str:
    return f"{ca_arn}/certificate/{client_ca.serial_hex(serial)}"


def parse_serial(text: str) -> str:
    """A serial as AWS takes it (colon-separated hex bytes, or plain hex) as the store keys it:
    lowercase hex, no leading zeros."""
    text = text.strip()
    if not text or not _SERIAL.match(text):
        raise InvalidArgsException(
            f"CertificateSerial {text!r} is not a serial number in hex (e.g. 4c:e8:1a... or "
            "4ce81a...)."
        )
    return client_ca.serial_hex(int(text.replace(":", ""), 16))


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    if year > 9999:
        raise InvalidArgsException("The Validity ends after the year 9999.")
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def validity_end(validity: Validity, now: datetime) -> datetime:
    """When a certificate issued at `now` with `validity` stops being valid."""
    value = validity.value
    if value < 1:
        raise InvalidArgsException("Validity.Value must be at least 1.")
    try:
        if validity.type == "DAYS":
            return now + timedelta(days=value)
        if validity.type == "MONTHS":
            return _add_months(now, value)
        if validity.type == "YEARS":
            return _add_months(now, 12 * value)
        if validity.type == "ABSOLUTE":
            return datetime.fromtimestamp(value, UTC)
        if validity.type == "END_DATE":
            return _end_date(str(value))
    except (OverflowError, ValueError, OSError):
        raise InvalidArgsException(
            f"Validity {value} ({validity.type}) is not a date Steward can use."
        ) from None
    raise InvalidArgsException(
        f"Validity.Type {validity.type!r} is not one of END_DATE, ABSOLUTE, DAYS, MONTHS, YEARS."
    )


def _end_date(digits: str) -> datetime:
    if len(digits) == 12:  # UTCTime: YY >= 50 is 19YY
        year = int(digits[:2])
        digits = ("19" if year >= 50 else "20") + digits
    if len(digits) != 14:
        raise ValueError("END_DATE is YYYYMMDDHHMMSS or YYMMDDHHMMSS")
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def subject_name(subject: dict[str, Any]) -> x509.Name:
    """AWS's ASN1Subject as an X.509 name."""
    attributes: list[x509.NameAttribute] = []
    try:
        for member, oid in _SUBJECT_FIELDS:
            value = subject.get(member)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise InvalidArgsException(f"Subject.{member} must be a non-empty string.")
            attributes.append(x509.NameAttribute(oid, value))
        for custom in subject.get("CustomAttributes") or []:
            if not isinstance(custom, dict) or not isinstance(custom.get("Value"), str):
                raise InvalidArgsException(
                    "Each Subject.CustomAttributes entry needs an ObjectIdentifier and a Value."
                )
            attributes.append(
                x509.NameAttribute(
                    ObjectIdentifier(str(custom.get("ObjectIdentifier"))), custom["Value"]
                )
            )
    except ValueError as error:
        raise InvalidArgsException(f"The Subject is not valid: {error}") from None
    if not attributes:
        raise InvalidArgsException("The Subject must have at least one attribute (CommonName).")
    return x509.Name(attributes)


class PrivateCertificateAuthorities:
    def __init__(
        self,
        records: CertificateAuthorityRecords,
        region: str,
        account_id: str,
        master_key: Callable[[], MasterKey],
    ) -> None:
        """`master_key` gives the key when first needed (made at first use where there is
        none)."""
        self.records = records
        self.region = region
        self.account_id = account_id
        self._master_key_source = master_key
        self._master_key: MasterKey | None = None
        self._key_lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []

    # --- listeners ------------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[str], None]) -> None:
        """Call `callback(ca_arn)` after anything changes what a broker must trust or refuse:
        a CA made, its status changed (disabled, enabled, deleted, restored), its certificate
        replaced, or one of its certificates revoked. Runs in the caller's thread; what it raises
        is logged and dropped."""
        self._listeners.append(callback)

    def _changed(self, ca_arn: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(ca_arn)
            except Exception:
                log.exception("a private CA listener failed for %s", ca_arn)

    # --- helpers --------------------------------------------------------------------------------
    @property
    def master_key(self) -> MasterKey:
        with self._key_lock:
            if self._master_key is None:
                self._master_key = self._master_key_source()
            return self._master_key

    def new_arn(self) -> str:
        return (
            f"arn:aws:acm-pca:{self.region}:{self.account_id}:certificate-authority/{uuid.uuid4()}"
        )

    @staticmethod
    def _context(arn: str) -> str:
        return f"private-ca/{arn}"

    def _key(self, ca: CaRecord) -> PrivateKey:
        try:
            return client_ca.load_key(self.master_key.open(ca.sealed_key, self._context(ca.arn)))
        except SealedValueError:
            raise RequestFailedException(
                "Steward cannot open the CA's private key: it was sealed with another master key."
            ) from None

    @staticmethod
    def check_arn(arn: str) -> None:
        if not isinstance(arn, str) or not _CA_ARN.match(arn):
            raise InvalidArnException(
                f"{arn!r} is not a private CA ARN "
                "(arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>)."
            )

    def find(self, arn: str) -> CaRecord:
        """The CA with ARN `arn`, its status as of now (EXPIRED once its certificate is)."""
        self.check_arn(arn)
        now = utcnow()
        self.records.purge_deleted(now)
        found = self.records.by_arn(arn)
        if found is None:
            raise ResourceNotFoundException(f"Could not find certificate authority {arn}.")
        return self._as_of(found, now)

    @staticmethod
    def _as_of(ca: CaRecord, now: datetime) -> CaRecord:
        if ca.status in (ACTIVE, DISABLED) and ca.not_after is not None and ca.not_after <= now:
            return replace(ca, status=EXPIRED)
        return ca

    @staticmethod
    def _certificate_of(ca: CaRecord) -> x509.Certificate:
        if ca.certificate_pem is None:
            raise InvalidStateException(
                f"The certificate authority {ca.arn} has no certificate yet "
                f"(status {ca.status}): import one first."
            )
        return x509.load_pem_x509_certificate(ca.certificate_pem.encode())

    @staticmethod
    def _check_signing_algorithm(signing_algorithm: str, family: str) -> None:
        known = client_ca.SIGNING_ALGORITHMS.get(signing_algorithm)
        if known is None:
            raise InvalidArgsException(
                f"Steward does not sign with {signing_algorithm!r}; use one of "
                f"{', '.join(client_ca.SIGNING_ALGORITHMS)}."
            )
        if known[0] != family:
            raise InvalidArgsException(
                f"The signing algorithm {signing_algorithm} does not fit the CA's {family} key."
            )

    # --- certificate authorities ----------------------------------------------------------------
    def create(
        self,
        configuration: dict[str, Any],
        ca_type: str,
        *,
        revocation_configuration: dict[str, Any] | None = None,
        key_storage_security_standard: str | None = None,
        usage_mode: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> CaRecord:
        """A new CA, ACTIVE, with a key of its own and a self-signed root certificate."""
        if ca_type == "SUBORDINATE":
            raise InvalidArgsException(
                "Steward makes ROOT certificate authorities only: SUBORDINATE is not supported."
            )
        if ca_type != "ROOT":
            raise InvalidArgsException(f"CertificateAuthorityType {ca_type!r} is not ROOT.")
        key_algorithm = configuration.get("KeyAlgorithm")
        signing_algorithm = configuration.get("SigningAlgorithm")
        if key_algorithm not in client_ca.KEY_ALGORITHMS:
            raise InvalidArgsException(
                f"Steward does not make {key_algorithm!r} keys; use one of "
                f"{', '.join(client_ca.KEY_ALGORITHMS)}."
            )
        self._check_signing_algorithm(
            str(signing_algorithm), client_ca.KEY_ALGORITHMS[key_algorithm][0]
        )
        subject = subject_name(configuration.get("Subject") or {})
        self._check_tags(tags or [])
        if self.records.count_not_deleted() >= MAX_CERTIFICATE_AUTHORITIES:
            raise LimitExceededException(
                f"This Steward has {MAX_CERTIFICATE_AUTHORITIES} certificate authorities already."
            )
        arn = self.new_arn()
        now = utcnow()
        key = client_ca.new_key(key_algorithm)
        serial = client_ca.new_serial()
        not_before, not_after = now - BACKDATE, now + timedelta(days=CA_VALIDITY_DAYS)
        certificate = client_ca.self_signed_root(
            key, subject, str(signing_algorithm), not_before, not_after, serial
        )
        record = CaRecord(
            arn=arn,
            type=ca_type,
            status=ACTIVE,
            configuration=configuration,
            key_storage_security_standard=(
                key_storage_security_standard or "FIPS_140_2_LEVEL_3_OR_HIGHER"
            ),
            usage_mode=usage_mode or "GENERAL_PURPOSE",
            sealed_key=self.master_key.seal(client_ca.key_pem(key), self._context(arn)),
            created_at=now,
            last_state_change_at=now,
            revocation_configuration=revocation_configuration,
            certificate_pem=client_ca.certificate_pem(certificate),
            serial=client_ca.serial_hex(serial),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            tags=list(tags or []),
        )
        self.records.add(record)
        log.info("made private CA %s (%s)", arn, subject.rfc4514_string())
        self._changed(arn)
        return record

    def describe(self, arn: str) -> CaRecord:
        return self.find(arn)

    def list(self) -> list[CaRecord]:
        """Every CA, deleted ones still restorable included, oldest first."""
        now = utcnow()
        self.records.purge_deleted(now)
        return [self._as_of(ca, now) for ca in self.records.all()]

    def ca_certificate(self, arn: str) -> CertificateAndChain:
        ca = self.find(arn)
        if ca.status in (DELETED, PENDING_CERTIFICATE) or ca.certificate_pem is None:
            raise InvalidStateException(
                f"The certificate authority {arn} is {ca.status}: it has no certificate to give."
            )
        return CertificateAndChain(ca.certificate_pem, None)

    def update(
        self,
        arn: str,
        status: str | None = None,
        revocation_configuration: dict[str, Any] | None = None,
    ) -> None:
        """Enable (ACTIVE) or disable (DISABLED) the CA, or change its RevocationConfiguration."""
        ca = self.find(arn)
        if revocation_configuration is not None:
            if ca.status == DELETED:
                raise InvalidStateException(f"The certificate authority {arn} is DELETED.")
            self.records.set_revocation_configuration(arn, revocation_configuration)
        if status is None or status == ca.status:
            return
        if status not in (ACTIVE, DISABLED):
            raise InvalidArgsException("Status can only be set to ACTIVE or DISABLED.")
        if ca.status not in (ACTIVE, DISABLED):
            raise InvalidStateException(
                f"The certificate authority {arn} is {ca.status}: only an ACTIVE or DISABLED "
                "CA can be enabled or disabled."
            )
        self.records.set_status(arn, status, utcnow())
        self._changed(arn)

    def delete(self, arn: str, permanent_deletion_days: int | None = None) -> None:
        """Mark the CA DELETED, restorable for `permanent_deletion_days` (7 to 30; 30 by default).
        An ACTIVE CA must be disabled first; one that never had a certificate goes at once."""
        days = DEFAULT_DELETION_DAYS if permanent_deletion_days is None else permanent_deletion_days
        if not MIN_DELETION_DAYS <= days <= MAX_DELETION_DAYS:
            raise InvalidArgsException(
                "PermanentDeletionTimeInDays must be between 7 and 30 days (inclusive)."
            )
        ca = self.find(arn)
        if ca.status == DELETED:
            raise InvalidStateException(f"The certificate authority {arn} is already DELETED.")
        if ca.status == ACTIVE:
            raise InvalidStateException(
                f"The certificate authority {arn} is ACTIVE: disable it first "
                "(UpdateCertificateAuthority with Status DISABLED)."
            )
        now = utcnow()
        if ca.status == PENDING_CERTIFICATE:
            self.records.remove(arn)
        else:
            self.records.set_status(
                arn,
                DELETED,
                now,
                restorable_until=now + timedelta(days=days),
                status_before_deletion=ca.status,
            )
        self._changed(arn)

    def restore(self, arn: str) -> None:
        """Bring a DELETED CA back within its window, DISABLED (or as it was, when it was not
        enabled): enabling it again is a separate, deliberate step, as in AWS."""
        ca = self.find(arn)
        if ca.status != DELETED:
            raise InvalidStateException(
                f"The certificate authority {arn} is {ca.status}, not DELETED."
            )
        before = ca.status_before_deletion or DISABLED
        self.records.set_status(arn, DISABLED if before == EXPIRED else before, utcnow())
        self._changed(arn)

    # --- the AWS way to a root certificate ------------------------------------------------------
    def csr(self, arn: str) -> str:
        """A CSR for the CA's own key and subject (PEM)."""
        ca = self.find(arn)
        if ca.status == DELETED:
            raise InvalidStateException(f"The certificate authority {arn} is DELETED.")
        return client_ca.csr_for_key(
            self._key(ca),
            subject_name(ca.configuration.get("Subject") or {}),
            str(ca.configuration["SigningAlgorithm"]),
        )

    def import_certificate(self, arn: str, certificate: bytes, chain: bytes | None = None) -> None:
        """Make `certificate` (PEM) the CA's own, in place of the one it has: it must be a CA
        certificate for the CA's key, self-signed (Steward has no subordinate CAs)."""
        ca = self.find(arn)
        if ca.status in (DELETED, EXPIRED):
            raise InvalidStateException(f"The certificate authority {arn} is {ca.status}.")
        if chain:
            raise InvalidRequestException(
                "A root CA's certificate has no chain: leave out CertificateChain."
            )
        try:
            loaded = client_ca.load_certificate(certificate)
        except MalformedCertificate as error:
            raise MalformedCertificateException(
                f"The certificate does not parse: {error}"
            ) from None
        key = self._key(ca)
        if loaded.public_key() != key.public_key():
            raise CertificateMismatchException(
                "The certificate's public key is not the certificate authority's."
            )
        try:
            constraints = loaded.extensions.get_extension_for_class(x509.BasicConstraints).value
            loaded.verify_directly_issued_by(loaded)
        except (x509.ExtensionNotFound, ValueError, TypeError) as error:
            raise MalformedCertificateException(
                f"The certificate is not a self-signed CA certificate: {error}"
            ) from None
        if not constraints.ca:
            raise MalformedCertificateException("The certificate is not a CA certificate.")
        now = utcnow()
        self.records.set_certificate(
            arn,
            client_ca.certificate_pem(loaded),
            client_ca.serial_hex(loaded.serial_number),
            loaded.not_valid_before_utc,
            loaded.not_valid_after_utc,
            ACTIVE if ca.status == PENDING_CERTIFICATE else ca.status,
            now,
        )
        self._changed(arn)

    # --- certificates ---------------------------------------------------------------------------
    def issue(
        self,
        arn: str,
        csr: bytes,
        signing_algorithm: str,
        validity: Validity,
        *,
        validity_not_before: Validity | None = None,
        template_arn: str | None = None,
    ) -> str:
        """Sign a certificate for the CSR's key and subject; its ARN. The default template is
        AWS's EndEntityCertificate/V1 (client and server authentication);
        EndEntityClientAuthCertificate/V1 gives client authentication only."""
        ca = self.find(arn)
        if ca.status != ACTIVE:
            raise InvalidStateException(
                f"The certificate authority {arn} is {ca.status}: only an ACTIVE CA issues "
                "certificates."
            )
        template = END_ENTITY
        if template_arn is not None:
            template = template_arn.removeprefix(TEMPLATE_PREFIX)
            if not template_arn.startswith(TEMPLATE_PREFIX) or (
                template not in _TEMPLATE_USAGES and template != ROOT_CA
            ):
                raise InvalidArgsException(
                    f"Steward does not know the template {template_arn}; it has "
                    + ", ".join(TEMPLATE_PREFIX + t for t in [*_TEMPLATE_USAGES, ROOT_CA])
                    + "."
                )
        key = self._key(ca)
        self._check_signing_algorithm(signing_algorithm, client_ca.key_family(key))
        try:
            request = client_ca.load_csr(csr)
        except MalformedCsr as error:
            raise MalformedCSRException(f"The CSR is malformed: {error}") from None
        now = utcnow()
        not_after = validity_end(validity, now)
        not_before = now - BACKDATE
        if validity_not_before is not None:
            if validity_not_before.type != "ABSOLUTE":
                raise InvalidArgsException("ValidityNotBefore.Type must be ABSOLUTE.")
            not_before = validity_end(validity_not_before, now)
        if not_after <= max(now, not_before):
            raise InvalidArgsException("The Validity ends before the certificate would begin.")
        serial = client_ca.new_serial()
        try:
            if template == ROOT_CA:
                certificate = client_ca.sign_root_from_csr(
                    key, request, signing_algorithm, not_before, not_after, serial
                )
            else:
                ca_certificate = self._certificate_of(ca)
                ca_end = ca_certificate.not_valid_after_utc
                if not_after > ca_end:
                    raise ValidationException(
                        "The certificate validity specified exceeds the certificate authority "
                        f"validity (it ends {ca_end.isoformat()})."
                    )
                certificate = client_ca.sign_end_entity(
                    key,
                    ca_certificate,
                    request,
                    signing_algorithm,
                    max(not_before, ca_certificate.not_valid_before_utc),
                    not_after,
                    serial,
                    _TEMPLATE_USAGES[template],
                )
        except MalformedCsr as error:
            raise MalformedCSRException(f"The CSR is malformed: {error}") from None
        except ValueError as error:
            raise MalformedCSRException(f"The CSR cannot be signed: {error}") from None
        self.records.add_certificate(
            IssuedCertificate(
                ca_arn=arn,
                serial=client_ca.serial_hex(serial),
                certificate_pem=client_ca.certificate_pem(certificate),
                issued_at=now,
                not_after=certificate.not_valid_after_utc,
            )
        )
        issued = certificate_arn(arn, serial)
        log.info("private CA %s issued %s for %s", arn, issued, request.subject.rfc4514_string())
        return issued

    def _issued(self, ca: CaRecord, serial: str) -> IssuedCertificate:
        found = self.records.certificate(ca.arn, serial)
        if found is None:
            raise ResourceNotFoundException(
                f"The certificate authority {ca.arn} issued no certificate with serial {serial}."
            )
        return found

    def get_certificate(self, ca_arn: str, arn: str) -> CertificateAndChain:
        """The certificate `arn` and its chain: the CA's certificate."""
        ca = self.find(ca_arn)
        prefix = f"{ca_arn}/certificate/"
        serial_text = arn.removeprefix(prefix) if isinstance(arn, str) else ""
        if not arn.startswith(prefix) or not re.fullmatch(r"[0-9a-f]+", serial_text):
            raise InvalidArnException(
                f"{arn!r} is not the ARN of a certificate of {ca_arn} ({prefix}<serial in hex>)."
            )
        if ca.status == DELETED:
            raise InvalidStateException(f"The certificate authority {ca_arn} is DELETED.")
        issued = self._issued(ca, parse_serial(serial_text))
        loaded = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
        chain = None if loaded.issuer == loaded.subject else ca.certificate_pem
        return CertificateAndChain(issued.certificate_pem, chain)

    def revoke(self, ca_arn: str, serial: str, reason: str) -> None:
        """Revoke the CA's certificate with `serial`; it appears in every CRL from now on."""
        if reason not in client_ca.REVOCATION_REASONS:
            raise InvalidArgsException(
                f"RevocationReason {reason!r} is not one of "
                f"{', '.join(client_ca.REVOCATION_REASONS)}."
            )
        ca = self.find(ca_arn)
        if ca.status not in (ACTIVE, DISABLED, EXPIRED):
            raise InvalidStateException(
                f"The certificate authority {ca_arn} is {ca.status}: its certificates cannot be "
                "revoked."
            )
        key = parse_serial(serial)
        self._issued(ca, key)
        if not self.records.revoke(ca_arn, key, utcnow().replace(microsecond=0), reason):
            raise RequestAlreadyProcessedException(
                f"The certificate with serial {serial} is already revoked."
            )
        log.info("private CA %s revoked serial %s (%s)", ca_arn, key, reason)
        self._changed(ca_arn)

    # --- what the brokers need ------------------------------------------------------------------
    def crl_pem(self, ca_arn: str) -> str:
        """A freshly signed X.509 v2 CRL (PEM) of the CA, listing every certificate it revoked
        with when and why. Good for the CA's CrlConfiguration.ExpirationInDays (7 by default)."""
        ca = self.find(ca_arn)
        ca_certificate = self._certificate_of(ca)
        crl_configuration = (ca.revocation_configuration or {}).get("CrlConfiguration") or {}
        days = crl_configuration.get("ExpirationInDays") or DEFAULT_CRL_DAYS
        now = utcnow().replace(microsecond=0)
        revoked = [
            RevokedSerial(int(c.serial, 16), c.revoked_at, c.revocation_reason or "UNSPECIFIED")
            for c in self.records.revoked(ca_arn)
            if c.revoked_at is not None
        ]
        return client_ca.revocation_list(
            self._key(ca),
            ca_certificate,
            str(ca.configuration["SigningAlgorithm"]),
            revoked,
            now,
            now + timedelta(days=int(days)),
        )

    def trust_bundle(self, ca_arns: Iterable[str]) -> str:
        """The certificates (PEM, one after another) of those of `ca_arns` that are ACTIVE now,
        each once: what a broker trusts client certificates from. CAs disabled, deleted, expired
        or gone are left out, so the result may be empty."""
        now = utcnow()
        self.records.purge_deleted(now)
        pems: list[str] = []
        for arn in dict.fromkeys(ca_arns):
            found = self.records.by_arn(arn) if _CA_ARN.match(arn) else None
            if found is None:
                continue
            ca = self._as_of(found, now)
            if ca.status == ACTIVE and ca.certificate_pem and ca.certificate_pem not in pems:
                pems.append(ca.certificate_pem)
        return "".join(pems)

    def check_usable(self, ca_arns: Iterable[str]) -> None:
        """Raise CertificateAuthorityNotUsable (MSK's BadRequestException) unless every ARN names
        an ACTIVE CA of this Steward."""
        for arn in ca_arns:
            try:
                ca = self.find(arn)
            except InvalidArnException:
                raise CertificateAuthorityNotUsable(
                    f"{arn!r} is not a private certificate authority ARN "
                    "(arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>)."
                ) from None
            except ResourceNotFoundException:
                raise CertificateAuthorityNotUsable(
                    f"There is no private certificate authority {arn}."
                ) from None
            if ca.status != ACTIVE:
                raise CertificateAuthorityNotUsable(
                    f"The private certificate authority {arn} is {ca.status}, not ACTIVE."
                )

    # --- tags -----------------------------------------------------------------------------------
    @staticmethod
    def _check_tags(tags: list[dict[str, str]]) -> None:
        for tag in tags:
            key = tag.get("Key")
            if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.startswith("aws:"):
                raise InvalidTagException(f"The tag key {key!r} is not valid.")
            if len(tag.get("Value", "")) > 256:
                raise InvalidTagException(f"The value of tag {key} is longer than 256 characters.")
        if len(tags) > MAX_TAGS:
            raise TooManyTagsException(f"A certificate authority has at most {MAX_TAGS} tags.")

    def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        ca = self.find(arn)
        self._check_tags(tags)
        merged = {t["Key"]: t.get("Value", "") for t in ca.tags}
        merged.update({t["Key"]: t.get("Value", "") for t in tags})
        result = [{"Key": k, "Value": v} for k, v in merged.items()]
        self._check_tags(result)
        self.records.set_tags(arn, result)

    def untag(self, arn: str, tags: list[dict[str, str]]) -> None:
        """Remove the tags named; one given with a Value goes only when its value matches."""
        ca = self.find(arn)
        self._check_tags(tags)

        def removed(tag: dict[str, str]) -> bool:
            return any(
                t["Key"] == tag["Key"] and ("Value" not in t or t["Value"] == tag.get("Value", ""))
                for t in tags
            )

        self.records.set_tags(arn, [t for t in ca.tags if not removed(t)])

    def tags(self, arn: str) -> list[dict[str, str]]:
        return self.find(arn).tags
