"""A cluster's certificate authority and the certificates of its nodes, as PEM text.

Each cluster has a CA of its own (a self-signed ECDSA P-256 certificate, valid ten years); each
node that listens with TLS has a key and a certificate signed by it, whose subject alternative
names are the host names and addresses the node advertises, so that clients that check host
names (Kafka's Java clients, librdkafka, kafka-python) accept it. Keys are PKCS#8 PEM, the
form Kafka's PEM key stores read (`ssl.keystore.type=PEM`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = timedelta(days=3650)
NODE_VALIDITY = timedelta(days=825)
_BACKDATE = timedelta(minutes=5)
"""Certificates start a little in the past, for hosts whose clocks are slightly behind."""


@dataclass(frozen=True)
class KeyAndCertificate:
    certificate_pem: str
    key_pem: str = field(repr=False)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def ca_extensions(
    builder: x509.CertificateBuilder,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
) -> x509.CertificateBuilder:
    """What makes a certificate a CA's: it may sign certificates and revocation lists, and no CA
    below it (a path length of 0)."""
    return (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def make_certificate_authority(name: str, now: datetime | None = None) -> KeyAndCertificate:
    """A new self-signed CA named `name` (its common name) that can sign node certificates."""
    now = now or datetime.now(UTC)
    key = _new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Steward"),
            x509.NameAttribute(NameOID.COMMON_NAME, name[:64]),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
    )
    certificate = ca_extensions(builder, key.public_key()).sign(key, hashes.SHA256())
    return KeyAndCertificate(_certificate_pem(certificate), _key_pem(key))


def subject_alternative_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """Each host as an IP address name when it is one, else as a DNS name; repeats dropped."""
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue_node_certificate(
    ca: KeyAndCertificate,
    common_name: str,
    hosts: Iterable[str],
    now: datetime | None = None,
) -> KeyAndCertificate:
    """A key and a certificate for a node reachable at `hosts` (names or IP addresses), signed by
    `ca`, good for both ends of a TLS connection (brokers connect to each other and to the
    controllers)."""
    sans = subject_alternative_names(hosts)
    if not sans:
        raise ValueError("a node certificate needs at least one host name or address")
    now = now or datetime.now(UTC)
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key")
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    key = _new_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + NODE_VALIDITY, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyAndCertificate(_certificate_pem(certificate), _key_pem(key))
