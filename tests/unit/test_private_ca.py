"""Private certificate authorities, the domain: a CA is made ACTIVE with a self-signed root, issues
client certificates from CSRs, revokes them into a signed CRL, tells listeners, and survives a
restart; its private key is in the store only sealed."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.engine import Engine

from steward.crypto.master_key import MasterKey
from steward.domain.errors import BadRequestException
from steward.pca.service import (
    CertificateAuthorityNotUsable,
    InvalidArgsException,
    InvalidArnException,
    InvalidStateException,
    MalformedCSRException,
    PrivateCertificateAuthorities,
    RequestAlreadyProcessedException,
    ResourceNotFoundException,
    Validity,
    parse_serial,
    validity_end,
)
from steward.pca.store import CertificateAuthorityRecords
from steward.store import schema
from steward.store.store import open_engine

ACCOUNT = "123456789012"
CONFIGURATION = {
    "KeyAlgorithm": "EC_prime256v1",
    "SigningAlgorithm": "SHA256WITHECDSA",
    "Subject": {"CommonName": "Example clients", "Organization": "Example", "Country": "US"},
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_engine(f"sqlite:///{tmp_path / 'steward.db'}")


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey(os.urandom(32))


def authorities(engine: Engine, master_key: MasterKey) -> PrivateCertificateAuthorities:
    return PrivateCertificateAuthorities(
        CertificateAuthorityRecords(engine), "us-east-1", ACCOUNT, lambda: master_key
    )


@pytest.fixture
def cas(engine: Engine, master_key: MasterKey) -> PrivateCertificateAuthorities:
    return authorities(engine, master_key)


def csr_for(common_name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def test_a_ca_issues_a_client_certificate_that_chains_to_it(
    cas: PrivateCertificateAuthorities,
) -> None:
    ca = cas.create(CONFIGURATION, "ROOT")
    assert ca.arn.startswith(f"arn:aws:acm-pca:us-east-1:{ACCOUNT}:certificate-authority/")
    assert ca.status == "ACTIVE"
    root = x509.load_pem_x509_certificate(cas.ca_certificate(ca.arn).certificate_pem.encode())
    assert root.subject.rfc4514_string() == "CN=Example clients,O=Example,C=US"
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    arn = cas.issue(ca.arn, csr_for("alice"), "SHA256WITHECDSA", Validity(30, "DAYS"))
    serial = arn.removeprefix(f"{ca.arn}/certificate/")
    got = cas.get_certificate(ca.arn, arn)
    assert got.chain_pem == ca.certificate_pem
    issued = x509.load_pem_x509_certificate(got.certificate_pem.encode())
    issued.verify_directly_issued_by(root)
    assert format(issued.serial_number, "x") == serial
    assert issued.subject.rfc4514_string() == "CN=alice,O=Example"
    usages = issued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
    lifetime = issued.not_valid_after_utc - issued.not_valid_before_utc
    assert timedelta(days=30) <= lifetime <= timedelta(days=30, hours=1, seconds=5)


def test_a_revoked_serial_is_in_the_signed_crl_and_listeners_hear_of_it(
    cas: PrivateCertificateAuthorities,
) -> None:
    heard: list[str] = []

    def failing(_: str) -> None:
        raise RuntimeError("a listener's bug does not stop the revocation")

    cas.add_listener(failing)
    cas.add_listener(heard.append)
    ca = cas.create(CONFIGURATION, "ROOT")
    kept = cas.issue(ca.arn, csr_for("bob"), "SHA256WITHECDSA", Validity(1, "YEARS"))
    gone = cas.issue(ca.arn, csr_for("mallory"), "SHA256WITHECDSA", Validity(1, "YEARS"))
    serial = gone.rsplit("/", 1)[1]
    colons = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2)).upper()
    heard.clear()

    cas.revoke(ca.arn, colons, "KEY_COMPROMISE")
    assert heard == [ca.arn]
    with pytest.raises(RequestAlreadyProcessedException):
        cas.revoke(ca.arn, serial, "SUPERSEDED")
    with pytest.raises(ResourceNotFoundException):
        cas.revoke(ca.arn, "0badc0de", "KEY_COMPROMISE")

    crl = x509.load_pem_x509_crl(cas.crl_pem(ca.arn).encode())
    root = x509.load_pem_x509_certificate(cas.ca_certificate(ca.arn).certificate_pem.encode())
    assert crl.is_signature_valid(root.public_key())
    assert crl.issuer == root.subject
    assert crl.next_update_utc is not None and crl.next_update_utc > datetime.now(UTC)
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(int(kept.rsplit("/", 1)[1], 16)) is None


def test_cas_and_revocations_survive_a_restart_and_the_key_is_sealed(
    engine: Engine, master_key: MasterKey
) -> None:
    first = authorities(engine, master_key)
    ca = first.create(CONFIGURATION, "ROOT")
    arn = first.issue(ca.arn, csr_for("carol"), "SHA256WITHECDSA", Validity(10, "DAYS"))
    first.revoke(ca.arn, arn.rsplit("/", 1)[1], "PRIVILEGE_WITHDRAWN")

    again = authorities(engine, master_key)
    assert again.describe(ca.arn).status == "ACTIVE"
    assert again.get_certificate(ca.arn, arn).certificate_pem
    crl = x509.load_pem_x509_crl(again.crl_pem(ca.arn).encode())
    assert [format(r.serial_number, "x") for r in crl] == [arn.rsplit("/", 1)[1]]

    with engine.connect() as conn:
        rows = conn.execute(select(schema.private_cas)).all()
    stored = (
        b"".join(bytes(r.sealed_key) for r in rows)
        + "".join(str(r.certificate_pem) for r in rows).encode()
    )
    assert b"PRIVATE KEY" not in stored

    stranger = authorities(engine, MasterKey(os.urandom(32)))
    with pytest.raises(Exception, match="another master key"):
        stranger.crl_pem(ca.arn)


def test_trust_bundle_and_usability_follow_the_state(cas: PrivateCertificateAuthorities) -> None:
    changed: list[str] = []
    cas.add_listener(changed.append)
    one = cas.create(CONFIGURATION, "ROOT")
    two = cas.create(
        {**CONFIGURATION, "KeyAlgorithm": "RSA_2048", "SigningAlgorithm": "SHA256WITHRSA"},
        "ROOT",
    )
    cas.check_usable([one.arn, two.arn])
    bundle = cas.trust_bundle([one.arn, two.arn, one.arn])
    assert bundle.count("BEGIN CERTIFICATE") == 2

    cas.update(two.arn, status="DISABLED")
    assert changed[-1] == two.arn
    assert cas.trust_bundle([one.arn, two.arn]) == one.certificate_pem
    with pytest.raises(CertificateAuthorityNotUsable, match="DISABLED") as refused:
        cas.check_usable([one.arn, two.arn])
    assert isinstance(refused.value, BadRequestException)
    assert refused.value.error_type == "BadRequestException"
    with pytest.raises(CertificateAuthorityNotUsable, match="not a private"):
        cas.check_usable(["arn:aws:kafka:nope"])
    with pytest.raises(CertificateAuthorityNotUsable, match="no private"):
        cas.check_usable([one.arn[:-12] + "000000000000"])
    with pytest.raises(InvalidStateException):
        cas.issue(two.arn, csr_for("dave"), "SHA256WITHRSA", Validity(1, "DAYS"))


def test_delete_needs_a_disabled_ca_and_restore_brings_it_back_disabled(
    cas: PrivateCertificateAuthorities,
) -> None:
    ca = cas.create(CONFIGURATION, "ROOT")
    with pytest.raises(InvalidStateException, match="disable it first"):
        cas.delete(ca.arn)
    cas.update(ca.arn, status="DISABLED")
    with pytest.raises(InvalidArgsException):
        cas.delete(ca.arn, 3)
    cas.delete(ca.arn, 7)
    deleted = cas.describe(ca.arn)
    assert deleted.status == "DELETED" and deleted.restorable_until is not None
    with pytest.raises(InvalidStateException):
        cas.issue(ca.arn, csr_for("erin"), "SHA256WITHECDSA", Validity(1, "DAYS"))
    cas.restore(ca.arn)
    assert cas.describe(ca.arn).status == "DISABLED"
    cas.update(ca.arn, status="ACTIVE")
    assert cas.issue(ca.arn, csr_for("erin"), "SHA256WITHECDSA", Validity(1, "DAYS"))


def test_requests_steward_cannot_honour_are_refused_clearly(
    cas: PrivateCertificateAuthorities,
) -> None:
    with pytest.raises(InvalidArgsException, match="SUBORDINATE"):
        cas.create(CONFIGURATION, "SUBORDINATE")
    with pytest.raises(InvalidArgsException, match="ML_DSA_44"):
        cas.create({**CONFIGURATION, "KeyAlgorithm": "ML_DSA_44"}, "ROOT")
    with pytest.raises(InvalidArgsException, match="does not fit"):
        cas.create({**CONFIGURATION, "SigningAlgorithm": "SHA256WITHRSA"}, "ROOT")
    with pytest.raises(InvalidArnException):
        cas.describe("arn:aws:acm-pca:us-east-1:123:certificate-authority/x")
    ca = cas.create(CONFIGURATION, "ROOT")
    with pytest.raises(MalformedCSRException):
        cas.issue(
            ca.arn,
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n",
            "SHA256WITHECDSA",
            Validity(1, "DAYS"),
        )
    with pytest.raises(Exception, match="exceeds the certificate authority validity") as error:
        cas.issue(ca.arn, csr_for("frank"), "SHA256WITHECDSA", Validity(20, "YEARS"))
    assert error.value.__class__.__name__ == "ValidationException"


def test_serials_and_validity_read_as_aws_writes_them() -> None:
    assert parse_serial("0A:1b:2C") == parse_serial("a1b2c") == "a1b2c"
    with pytest.raises(InvalidArgsException):
        parse_serial("not hex")
    now = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)
    assert validity_end(Validity(1, "MONTHS"), now) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert validity_end(Validity(2, "YEARS"), now).year == 2026
    assert validity_end(Validity(20300101000000, "END_DATE"), now) == datetime(
        2030, 1, 1, tzinfo=UTC
    )
    assert validity_end(Validity(300101000000, "END_DATE"), now).year == 2030
    assert validity_end(Validity(1893456000, "ABSOLUTE"), now).year == 2030
    with pytest.raises(InvalidArgsException):
        validity_end(Validity(1, "WEEKS"), now)
