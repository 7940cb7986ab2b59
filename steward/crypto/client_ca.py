"""The X.509 work of a private certificate authority for client certificates: its key and
self-signed root, certificates signed from a client's CSR, and certificate revocation lists.

Pure functions over `cryptography` objects and PEM text: nothing here stores, seals or logs a
key. `steward.pca.service` decides what to sign and keeps the results.

Keys are ECDSA (P-256, P-384, P-521) or RSA (2048, 3072, 4096), as AWS Private CA's
KeyAlgorithm names them; signatures are ECDSA or PKCS#1 v1.5 RSA over SHA-2. RSA-PSS is not
offered: Kafka's clients and brokers do not need it, and a CA that mixes both helps nobody.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from steward.crypto.certificates import ca_extensions

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

KEY_ALGORITHMS: dict[str, tuple[str, int]] = {
    "EC_prime256v1": ("EC", 256),
    "EC_secp384r1": ("EC", 384),
    "EC_secp521r1": ("EC", 521),
    "RSA_2048": ("RSA", 2048),
    "RSA_3072": ("RSA", 3072),
    "RSA_4096": ("RSA", 4096),
}
"""AWS's KeyAlgorithm values Steward can make keys for: (family, size)."""

SIGNING_ALGORITHMS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "SHA256WITHECDSA": ("EC", hashes.SHA256),
    "SHA384WITHECDSA": ("EC", hashes.SHA384),
    "SHA512WITHECDSA": ("EC", hashes.SHA512),
    "SHA256WITHRSA": ("RSA", hashes.SHA256),
    "SHA384WITHRSA": ("RSA", hashes.SHA384),
    "SHA512WITHRSA": ("RSA", hashes.SHA512),
}
"""AWS's SigningAlgorithm values Steward can sign with: (key family, hash)."""

_CURVES: dict[int, type[ec.EllipticCurve]] = {
    256: ec.SECP256R1,
    384: ec.SECP384R1,
    521: ec.SECP521R1,
}

CLIENT_AUTH = (ExtendedKeyUsageOID.CLIENT_AUTH,)
SERVER_AND_CLIENT_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH,)

REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    "UNSPECIFIED": x509.ReasonFlags.unspecified,
    "KEY_COMPROMISE": x509.ReasonFlags.key_compromise,
    "CERTIFICATE_AUTHORITY_COMPROMISE": x509.ReasonFlags.ca_compromise,
    "AFFILIATION_CHANGED": x509.ReasonFlags.affiliation_changed,
    "SUPERSEDED": x509.ReasonFlags.superseded,
    "CESSATION_OF_OPERATION": x509.ReasonFlags.cessation_of_operation,
    "PRIVILEGE_WITHDRAWN": x509.ReasonFlags.privilege_withdrawn,
    "A_A_COMPROMISE": x509.ReasonFlags.aa_compromise,
}
"""AWS's RevocationReason values as the CRL's reasonCode."""


class MalformedCsr(ValueError):
    """Bytes that are not a PEM (or DER) certificate signing request with a valid signature."""


class MalformedCertificate(ValueError):
    """Bytes that are not a PEM X.509 certificate."""


@dataclass(frozen=True)
class RevokedSerial:
    serial: int
    revoked_at: datetime
    reason: str
    """One of REVOCATION_REASONS' keys."""


def key_family(key: PrivateKey) -> str:
    return "EC" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA"


def new_key(key_algorithm: str) -> PrivateKey:
    family, size = KEY_ALGORITHMS[key_algorithm]
    if family == "EC":
        return ec.generate_private_key(_CURVES[size]())
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: only ever handed to the master key to seal."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("a CA key is an EC or RSA key")
    return key


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def load_certificate(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise MalformedCertificate(str(error)) from error


def new_serial() -> int:
    """A random positive 127-bit serial with its top bit set: always 32 hex digits, like the
    serials in AWS Private CA's certificate ARNs."""
    return secrets.randbits(127) | (1 << 126)


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def _hash(signing_algorithm: str) -> hashes.HashAlgorithm:
    return SIGNING_ALGORITHMS[signing_algorithm][1]()


def self_signed_root(
    key: PrivateKey,
    subject: x509.Name,
    signing_algorithm: str,
    not_before: datetime,
    not_after: datetime,
    serial: int,
) -> x509.Certificate:
    """The CA's own certificate: subject and issuer `subject`, may sign certificates and CRLs,
    no intermediate below it (path length 0)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    return ca_extensions(builder, key.public_key()).sign(key, _hash(signing_algorithm))


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """The CSR in `data` (PEM, or DER as some tools write it), its signature checked."""
    try:
        if b"-----BEGIN" in data:
            csr = x509.load_pem_x509_csr(data)
        else:
            csr = x509.load_der_x509_csr(data)
        valid = csr.is_signature_valid
        public_key = csr.public_key()
    except (ValueError, TypeError, InvalidSignature) as error:
        raise MalformedCsr(f"the CSR does not parse: {error}") from error
    if not valid:
        raise MalformedCsr("the CSR's signature does not match its public key")
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise MalformedCsr("the CSR's key is neither an EC nor an RSA key")
    return csr


def csr_for_key(key: PrivateKey, subject: x509.Name, signing_algorithm: str) -> str:
    """A PEM CSR for the CA's own key (AWS's GetCertificateAuthorityCsr)."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .sign(key, _hash(signing_algorithm))
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )


def _subject_alternative_names(
    csr: x509.CertificateSigningRequest,
) -> x509.SubjectAlternativeName | None:
    try:
        found = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    return found.value


def sign_end_entity(
    ca_key: PrivateKey,
    ca_certificate: x509.Certificate,
    csr: x509.CertificateSigningRequest,
    signing_algorithm: str,
    not_before: datetime,
    not_after: datetime,
    serial: int,
    usages: Iterable[x509.ObjectIdentifier] = CLIENT_AUTH,
) -> x509.Certificate:
    """A certificate for the CSR's key and subject (and subject alternative names, when the CSR
    asks for some), not a CA, for the extended key `usages`, signed by the CA."""
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise MalformedCsr("the CSR's key is neither an EC nor an RSA key")
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                data_encipherment=False,
                key_agreement=isinstance(public_key, ec.EllipticCurvePublicKey),
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    names = _subject_alternative_names(csr)
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    return builder.sign(ca_key, _hash(signing_algorithm))


def sign_root_from_csr(
    ca_key: PrivateKey,
    csr: x509.CertificateSigningRequest,
    signing_algorithm: str,
    not_before: datetime,
    not_after: datetime,
    serial: int,
) -> x509.Certificate:
    """AWS's RootCACertificate/V1 template: the CA's own CSR, signed by its own key."""
    if csr.public_key() != ca_key.public_key():
        raise MalformedCsr("a root CA certificate is made from the CA's own CSR")
    return self_signed_root(ca_key, csr.subject, signing_algorithm, not_before, not_after, serial)


def revocation_list(
    ca_key: PrivateKey,
    ca_certificate: x509.Certificate,
    signing_algorithm: str,
    revoked: Iterable[RevokedSerial],
    this_update: datetime,
    next_update: datetime,
) -> str:
    """A signed X.509 v2 CRL (PEM) of the CA listing `revoked`, numbered by `this_update` in
    milliseconds, so that a later list always has a larger CRLNumber without a counter to keep.

    RFC 5280 (5.3.1) asks that the reason code be left out rather than be `unspecified`; so it
    is for revocations made with reason UNSPECIFIED."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(int(this_update.timestamp() * 1000)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    for entry in revoked:
        revoked_builder = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
        )
        reason = REVOCATION_REASONS[entry.reason]
        if reason is not x509.ReasonFlags.unspecified:
            revoked_builder = revoked_builder.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(revoked_builder.build())
    crl = builder.sign(ca_key, _hash(signing_algorithm))
    return crl.public_bytes(serialization.Encoding.PEM).decode()
