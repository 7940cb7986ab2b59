"""The AWS-Private-CA-compatible API, through boto3's `acm-pca` client against the real API app
(the same endpoint as MSK's routes, SigV4 on): a CA is made, described and listed page by page;
a client certificate is issued from a CSR made with `cryptography`, read back, chains to the CA,
and is revoked into the CRL Steward serves; errors have AWS Private CA's codes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from steward.api.auth.keys import NewAccessKey
from steward.client.signing import SigV4HttpxAuth
from steward.settings import Zone
from tests.unit.serving import signed_client, signed_endpoint_fixtures

ZONES = (Zone("az-a", "127.83.1"), Zone("az-b", "127.83.2"), Zone("az-c", "127.83.3"))
CONFIGURATION = {
    "KeyAlgorithm": "EC_prime256v1",
    "SigningAlgorithm": "SHA256WITHECDSA",
    "Subject": {"CommonName": "API clients", "Organization": "Example", "Country": "DE"},
}


home, store, key, endpoint = signed_endpoint_fixtures("acm-pca", ZONES)


@pytest.fixture
def pca(endpoint: str, key: NewAccessKey) -> Any:
    return signed_client("acm-pca", endpoint, key)


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return dict(raised.value.response["Error"])


def csr_for(common_name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def new_ca(pca: Any, **extra: Any) -> str:
    arn: str = pca.create_certificate_authority(
        CertificateAuthorityConfiguration=CONFIGURATION,
        CertificateAuthorityType="ROOT",
        **extra,
    )["CertificateAuthorityArn"]
    return arn


def test_a_certificate_is_issued_from_a_csr_and_revoked_into_the_crl(
    pca: Any, endpoint: str, key: NewAccessKey
) -> None:
    ca_arn = new_ca(pca, Tags=[{"Key": "team", "Value": "data"}])
    described = pca.describe_certificate_authority(CertificateAuthorityArn=ca_arn)
    ca = described["CertificateAuthority"]
    assert ca["Arn"] == ca_arn and ca["Status"] == "ACTIVE" and ca["Type"] == "ROOT"
    assert ca["CertificateAuthorityConfiguration"] == CONFIGURATION
    assert ca["NotAfter"] > ca["NotBefore"] and ca["CreatedAt"].tzinfo is not None
    root_pem = pca.get_certificate_authority_certificate(CertificateAuthorityArn=ca_arn)[
        "Certificate"
    ]
    root = x509.load_pem_x509_certificate(root_pem.encode())

    issued_arn = pca.issue_certificate(
        CertificateAuthorityArn=ca_arn,
        Csr=csr_for("alice"),
        SigningAlgorithm="SHA256WITHECDSA",
        Validity={"Value": 90, "Type": "DAYS"},
        TemplateArn="arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1",
    )["CertificateArn"]
    assert issued_arn.startswith(f"{ca_arn}/certificate/")
    pca.get_waiter("certificate_issued").wait(
        CertificateAuthorityArn=ca_arn, CertificateArn=issued_arn
    )
    got = pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=issued_arn)
    assert got["CertificateChain"] == root_pem
    certificate = x509.load_pem_x509_certificate(got["Certificate"].encode())
    certificate.verify_directly_issued_by(root)
    assert certificate.subject.rfc4514_string() == "CN=alice"
    serial = format(certificate.serial_number, "x")
    assert issued_arn.endswith(serial)

    colons = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2))
    pca.revoke_certificate(
        CertificateAuthorityArn=ca_arn, CertificateSerial=colons, RevocationReason="SUPERSEDED"
    )
    again = error(
        pca.revoke_certificate,
        CertificateAuthorityArn=ca_arn,
        CertificateSerial=serial,
        RevocationReason="SUPERSEDED",
    )
    assert again["Code"] == "RequestAlreadyProcessedException"
    unknown = error(
        pca.revoke_certificate,
        CertificateAuthorityArn=ca_arn,
        CertificateSerial="00:11:22",
        RevocationReason="SUPERSEDED",
    )
    assert unknown["Code"] == "ResourceNotFoundException"

    auth = SigV4HttpxAuth(Credentials(key.access_key_id, key.secret_access_key), "us-east-1")
    answer = httpx.get(
        f"{endpoint}/steward/v1/certificate-authorities/{quote(ca_arn, safe='')}/crl", auth=auth
    )
    assert answer.status_code == 200, answer.text
    crl = x509.load_pem_x509_crl(answer.json()["crlPem"].encode())
    assert crl.is_signature_valid(root.public_key())
    assert crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None


def test_errors_have_aws_private_ca_codes(pca: Any) -> None:
    ca_arn = new_ca(pca)
    missing = ca_arn[:-12] + "000000000000"
    assert (
        error(pca.describe_certificate_authority, CertificateAuthorityArn=missing)["Code"]
        == "ResourceNotFoundException"
    )
    assert (
        error(
            pca.describe_certificate_authority,
            CertificateAuthorityArn="arn:aws:acm-pca:us-east-1:1:certificate-authority/nope",
        )["Code"]
        == "InvalidArnException"
    )
    malformed = error(
        pca.issue_certificate,
        CertificateAuthorityArn=ca_arn,
        Csr=b"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n"
        b"-----END CERTIFICATE REQUEST-----\n",
        SigningAlgorithm="SHA256WITHECDSA",
        Validity={"Value": 1, "Type": "DAYS"},
    )
    assert malformed["Code"] == "MalformedCSRException"
    too_long = error(
        pca.issue_certificate,
        CertificateAuthorityArn=ca_arn,
        Csr=csr_for("bob"),
        SigningAlgorithm="SHA256WITHECDSA",
        Validity={"Value": 30, "Type": "YEARS"},
    )
    assert too_long["Code"] == "ValidationException"
    subordinate = error(
        pca.create_certificate_authority,
        CertificateAuthorityConfiguration=CONFIGURATION,
        CertificateAuthorityType="SUBORDINATE",
    )
    assert subordinate["Code"] == "InvalidArgsException"
    assert "SUBORDINATE" in subordinate["Message"]
    token = error(pca.list_certificate_authorities, NextToken="garbage!")
    assert token["Code"] == "InvalidNextTokenException"


def test_unsigned_requests_are_refused_in_aws_private_ca_terms(endpoint: str) -> None:
    answer = httpx.post(
        endpoint,
        headers={
            "X-Amz-Target": "ACMPrivateCA.ListCertificateAuthorities",
            "Content-Type": "application/x-amz-json-1.1",
        },
        content=b"{}",
    )
    assert answer.status_code == 400  # as Secrets Manager's endpoint answers
    assert answer.json()["__type"] == "UnrecognizedClientException"


def test_list_pages_and_a_deleted_ca_can_be_restored(pca: Any) -> None:
    made = [new_ca(pca) for _ in range(3)]
    pages = list(
        pca.get_paginator("list_certificate_authorities").paginate(PaginationConfig={"PageSize": 2})
    )
    assert len(pages) >= 2 and all(len(p["CertificateAuthorities"]) <= 2 for p in pages)
    listed = [ca["Arn"] for p in pages for ca in p["CertificateAuthorities"]]
    assert set(made) <= set(listed) and len(listed) == len(set(listed))

    arn = made[0]
    active = error(pca.delete_certificate_authority, CertificateAuthorityArn=arn)
    assert active["Code"] == "InvalidStateException"
    pca.update_certificate_authority(CertificateAuthorityArn=arn, Status="DISABLED")
    pca.delete_certificate_authority(CertificateAuthorityArn=arn, PermanentDeletionTimeInDays=7)
    deleted = pca.describe_certificate_authority(CertificateAuthorityArn=arn)
    assert deleted["CertificateAuthority"]["Status"] == "DELETED"
    assert "RestorableUntil" in deleted["CertificateAuthority"]
    refused = error(
        pca.issue_certificate,
        CertificateAuthorityArn=arn,
        Csr=csr_for("carol"),
        SigningAlgorithm="SHA256WITHECDSA",
        Validity={"Value": 1, "Type": "DAYS"},
    )
    assert refused["Code"] == "InvalidStateException"
    pca.restore_certificate_authority(CertificateAuthorityArn=arn)
    restored = pca.describe_certificate_authority(CertificateAuthorityArn=arn)
    assert restored["CertificateAuthority"]["Status"] == "DISABLED"


def test_tags_are_added_listed_and_removed(pca: Any) -> None:
    arn = new_ca(pca, Tags=[{"Key": "team", "Value": "data"}])
    pca.tag_certificate_authority(
        CertificateAuthorityArn=arn, Tags=[{"Key": "env", "Value": "prod"}]
    )
    tags = pca.list_tags(CertificateAuthorityArn=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "prod"}]
    pca.untag_certificate_authority(CertificateAuthorityArn=arn, Tags=[{"Key": "team"}])
    assert pca.list_tags(CertificateAuthorityArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]


def test_the_aws_way_to_a_root_certificate_works_too(pca: Any) -> None:
    """GetCertificateAuthorityCsr, IssueCertificate with RootCACertificate/V1, and
    ImportCertificateAuthorityCertificate replace the self-signed root with one for the same
    key."""
    arn = new_ca(pca)
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"]
    root_arn = pca.issue_certificate(
        CertificateAuthorityArn=arn,
        Csr=csr.encode(),
        SigningAlgorithm="SHA256WITHECDSA",
        TemplateArn="arn:aws:acm-pca:::template/RootCACertificate/V1",
        Validity={"Value": 5, "Type": "YEARS"},
    )["CertificateArn"]
    root = pca.get_certificate(CertificateAuthorityArn=arn, CertificateArn=root_arn)
    assert "CertificateChain" not in root
    pca.import_certificate_authority_certificate(
        CertificateAuthorityArn=arn, Certificate=root["Certificate"].encode()
    )
    assert (
        pca.get_certificate_authority_certificate(CertificateAuthorityArn=arn)["Certificate"]
        == root["Certificate"]
    )
    other = new_ca(pca)
    mismatch = error(
        pca.import_certificate_authority_certificate,
        CertificateAuthorityArn=other,
        Certificate=root["Certificate"].encode(),
    )
    assert mismatch["Code"] == "CertificateMismatchException"
