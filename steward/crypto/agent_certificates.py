"""The certificates that let the control plane and the host agents authenticate each other
(mutual TLS on the agent API), all signed by one "agents" CA that each Steward store has.

Two kinds of certificate, kept apart by their extended key usage so that neither can stand in
for the other: an agent's is for serving only (`serverAuth`), with its host's address and name as
subject alternative names, so a stolen agent certificate cannot drive other agents; the control
plane's is for connecting only (`clientAuth`). OpenSSL checks these usages on both ends of a
handshake.

An agent's key is made on its own machine and only its CSR travels; the control plane signs it
with the names the control plane decided, whatever names the CSR asks for. Pure functions over
PEM text: nothing here stores, seals or logs a key.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from steward.crypto.certificates import (
    KeyAndCertificate,
    make_certificate_authority,
    subject_alternative_names,
)
from steward.crypto.client_ca import MalformedCsr, load_csr

AGENTS_CA_NAME = "Steward agents CA"
CONTROL_PLANE_NAME = "steward-control-plane"
"""The common name of the control plane's client certificate."""
DEFAULT_LIFETIME = timedelta(days=90)
_BACKDATE = timedelta(minutes=5)


def make_agents_authority(now: datetime | None = None) -> KeyAndCertificate:
    """A new agents CA: made once per store, its key then sealed by the master key."""
    return make_certificate_authority(AGENTS_CA_NAME, now)


def new_agent_key() -> str:
    """A new P-256 key for an agent, PKCS#8 PEM: it stays on the agent's machine."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def agent_csr(key_pem: str, name: str, hosts: Iterable[str]) -> str:
    """A PEM CSR for the agent's key, naming the agent and the addresses it listens on."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("an agent key is an EC key")
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])])
    )
    sans = subject_alternative_names(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def _ca_parts(ca: KeyAndCertificate) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the agents CA key is not an EC key")
    return key, x509.load_pem_x509_certificate(ca.certificate_pem.encode())


def _sign(
    ca: KeyAndCertificate,
    public_key: ec.EllipticCurvePublicKey,
    common_name: str,
    usage: x509.ObjectIdentifier,
    hosts: Iterable[str],
    lifetime: timedelta,
    now: datetime | None,
) -> str:
    now = now or datetime.now(UTC)
    ca_key, ca_certificate = _ca_parts(ca)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + lifetime, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    sans = subject_alternative_names(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def sign_agent_certificate(
    ca: KeyAndCertificate,
    csr_pem: str,
    name: str,
    hosts: Iterable[str],
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> str:
    """The agent's serving certificate for the CSR's key: common name `name`, subject
    alternative names `hosts` (its address and host name; the CSR's own are not used).
    MalformedCsr when the CSR does not parse, its signature fails, or its key is not EC."""
    hosts = list(hosts)
    if not hosts:
        raise ValueError("an agent certificate needs its address or host name")
    csr = load_csr(csr_pem.encode())
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise MalformedCsr("an agent's CSR has an EC key")
    return _sign(ca, public_key, name, ExtendedKeyUsageOID.SERVER_AUTH, hosts, lifetime, now)


def issue_control_plane_certificate(
    ca: KeyAndCertificate, lifetime: timedelta = DEFAULT_LIFETIME, now: datetime | None = None
) -> KeyAndCertificate:
    """A new key and client certificate for the control plane: what every agent asks for."""
    key_pem = new_agent_key()
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    certificate = _sign(
        ca,
        key.public_key(),
        CONTROL_PLANE_NAME,
        ExtendedKeyUsageOID.CLIENT_AUTH,
        (),
        lifetime,
        now,
    )
    return KeyAndCertificate(certificate, key_pem)


def not_after(certificate_pem: str) -> datetime:
    return x509.load_pem_x509_certificate(certificate_pem.encode()).not_valid_after_utc


def not_before(certificate_pem: str) -> datetime:
    return x509.load_pem_x509_certificate(certificate_pem.encode()).not_valid_before_utc


def fingerprint(certificate_pem: str) -> str:
    """The certificate's SHA-256 fingerprint, hex in pairs (as `openssl x509 -fingerprint`)."""
    der = x509.load_pem_x509_certificate(certificate_pem.encode()).public_bytes(
        serialization.Encoding.DER
    )
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def is_due_for_renewal(certificate_pem: str, now: datetime | None = None) -> bool:
    """Whether less than a third of the certificate's lifetime (not counting the minutes it
    is backdated by) is left."""
    now = now or datetime.now(UTC)
    start, end = not_before(certificate_pem), not_after(certificate_pem)
    lifetime = end - start - _BACKDATE if end - start > _BACKDATE else end - start
    return now >= end - lifetime / 3


def matches_key(certificate_pem: str, key_pem: str) -> bool:
    """Whether the certificate is for the key (a renewed one may only replace its own key)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    return bool(certificate.public_key() == key.public_key())


def server_context(ca_file: Path, certificate_file: Path, key_file: Path) -> ssl.SSLContext:
    """An agent's TLS: its certificate, and a client certificate of the agents CA required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate_file, key_file)
    context.load_verify_locations(cafile=ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(ca_pem: str, certificate_file: Path, key_file: Path) -> ssl.SSLContext:
    """The control plane's TLS to an agent: its client certificate, the agent's certificate
    checked against the agents CA and the address connected to."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate_file, key_file)
    return context
