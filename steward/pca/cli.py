"""`steward ca ...`: private certificate authorities (Steward's AWS Private CA) and the client
certificates they issue, for clusters with mutual-TLS client authentication.

`issue` makes the client's key here, on the user's machine, and sends only a CSR: the private key
never travels and Steward never sees it. It is written with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from steward.client.api import CliError, make_client
from steward.client.context import CliContext, pass_cli
from steward.client.output import response_data

CLIENT_AUTH_TEMPLATE = "arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1"
REASONS = click.Choice(
    [
        "UNSPECIFIED",
        "KEY_COMPROMISE",
        "CERTIFICATE_AUTHORITY_COMPROMISE",
        "AFFILIATION_CHANGED",
        "SUPERSEDED",
        "CESSATION_OF_OPERATION",
        "PRIVILEGE_WITHDRAWN",
        "A_A_COMPROMISE",
    ]
)
CA_ARN = click.argument("ca_arn", metavar="CA_ARN")


def _acm_pca(cli: CliContext) -> Any:
    return make_client(cli.endpoint_url, cli.region, service="acm-pca")


def _subject(text: str) -> x509.Name:
    """`CN=alice,O=Example` (RFC 4514) as a name."""
    try:
        name = x509.Name.from_rfc4514_string(text)
    except ValueError as error:
        raise CliError(
            f"Error: --subject {text!r} is not a name like CN=alice,O=Example: {error}"
        ) from None
    if not name.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        raise CliError("Error: --subject needs a common name (CN=...).")
    return name


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, mode)


@click.group("ca")
def ca() -> None:
    """Private certificate authorities and the client certificates they issue."""


@ca.command()
@click.option("--common-name", required=True, help="The CA's common name (CN).")
@click.option("--organization", default=None, help="O of the CA's subject.")
@click.option("--organizational-unit", default=None, help="OU of the CA's subject.")
@click.option("--country", default=None, help="C of the CA's subject: two letters.")
@click.option(
    "--key-algorithm",
    type=click.Choice(["EC_prime256v1", "EC_secp384r1", "RSA_2048", "RSA_3072", "RSA_4096"]),
    default="EC_prime256v1",
    show_default=True,
)
@pass_cli
def create(
    cli: CliContext,
    common_name: str,
    organization: str | None,
    organizational_unit: str | None,
    country: str | None,
    key_algorithm: str,
) -> None:
    """Make a root CA. It signs its own certificate and is ACTIVE at once."""
    subject = {
        "CommonName": common_name,
        "Organization": organization,
        "OrganizationalUnit": organizational_unit,
        "Country": country,
    }
    made = _acm_pca(cli).create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": key_algorithm,
            "SigningAlgorithm": "SHA256WITHECDSA"
            if key_algorithm.startswith("EC")
            else "SHA256WITHRSA",
            "Subject": {k: v for k, v in subject.items() if v},
        },
        CertificateAuthorityType="ROOT",
    )
    if cli.output.is_json:
        cli.output.json(response_data(made))
        return
    cli.output.fields([("CertificateAuthorityArn", made["CertificateAuthorityArn"])])


@ca.command("list")
@pass_cli
def list_cas(cli: CliContext) -> None:
    """List the CAs, deleted ones still restorable included."""
    found: list[dict[str, Any]] = []
    for page in _acm_pca(cli).get_paginator("list_certificate_authorities").paginate():
        found.extend(page.get("CertificateAuthorities", []))
    if cli.output.is_json:
        cli.output.json({"CertificateAuthorities": found})
        return
    cli.output.table(
        ["Arn", "Subject", "Status", "NotAfter"],
        [
            [
                c.get("Arn"),
                c.get("CertificateAuthorityConfiguration", {}).get("Subject", {}).get("CommonName"),
                c.get("Status"),
                c.get("NotAfter"),
            ]
            for c in found
        ],
    )


@ca.command()
@CA_ARN
@pass_cli
def describe(cli: CliContext, ca_arn: str) -> None:
    """Show a CA."""
    described = _acm_pca(cli).describe_certificate_authority(CertificateAuthorityArn=ca_arn)
    if cli.output.is_json:
        cli.output.json(response_data(described))
        return
    found = described["CertificateAuthority"]
    subject = found.get("CertificateAuthorityConfiguration", {}).get("Subject", {})
    cli.output.fields(
        [
            ("Arn", found.get("Arn")),
            ("Status", found.get("Status")),
            ("Type", found.get("Type")),
            ("Subject", ", ".join(f"{k}={v}" for k, v in subject.items())),
            ("Serial", found.get("Serial")),
            ("NotBefore", found.get("NotBefore")),
            ("NotAfter", found.get("NotAfter")),
            ("RestorableUntil", found.get("RestorableUntil")),
        ]
    )


@ca.command()
@CA_ARN
@pass_cli
def certificate(cli: CliContext, ca_arn: str) -> None:
    """Print the CA's certificate (PEM): what clients and brokers trust."""
    got = _acm_pca(cli).get_certificate_authority_certificate(CertificateAuthorityArn=ca_arn)
    if cli.output.is_json:
        cli.output.json(response_data(got))
        return
    cli.output.text(got["Certificate"].rstrip("\n"))


@ca.command()
@CA_ARN
@click.option(
    "--subject", required=True, help="The certificate's subject, e.g. CN=alice,O=Example."
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where <name>.key, <name>.pem and <name>-chain.pem go.",
)
@click.option("--name", default=None, help="File name stem  [default: the subject's CN]")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True)
@pass_cli
def issue(
    cli: CliContext, ca_arn: str, subject: str, out_dir: Path, name: str | None, days: int
) -> None:
    """Make a client key here and have CA_ARN issue its certificate (client authentication)."""
    subject_name = _subject(subject)
    stem = name or str(subject_name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
    if not stem or "/" in stem or stem.startswith("."):
        raise CliError(f"Error: {stem!r} cannot name a file; give --name.")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    client = _acm_pca(cli)
    issued = client.issue_certificate(
        CertificateAuthorityArn=ca_arn,
        Csr=csr,
        SigningAlgorithm=_signing_algorithm(client, ca_arn),
        Validity={"Value": days, "Type": "DAYS"},
        TemplateArn=CLIENT_AUTH_TEMPLATE,
    )
    arn = issued["CertificateArn"]
    got = client.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=arn)
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path = out_dir / f"{stem}.key"
    _write(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        0o600,
    )
    _write(out_dir / f"{stem}.pem", got["Certificate"])
    _write(out_dir / f"{stem}-chain.pem", got.get("CertificateChain", ""))
    serial = arn.rsplit("/", 1)[1]
    if cli.output.is_json:
        cli.output.json({"CertificateArn": arn, "Serial": serial, "KeyFile": str(key_path)})
        return
    cli.output.fields(
        [("CertificateArn", arn), ("Serial", serial), ("Files", f"{out_dir}/{stem}.*")]
    )


def _signing_algorithm(client: Any, ca_arn: str) -> str:
    described = client.describe_certificate_authority(CertificateAuthorityArn=ca_arn)
    configuration = described["CertificateAuthority"]["CertificateAuthorityConfiguration"]
    return str(configuration["SigningAlgorithm"])


@ca.command()
@CA_ARN
@click.option("--serial", required=True, help="The certificate's serial, hex (colons allowed).")
@click.option("--reason", type=REASONS, default="UNSPECIFIED", show_default=True)
@pass_cli
def revoke(cli: CliContext, ca_arn: str, serial: str, reason: str) -> None:
    """Revoke the certificate with --serial: brokers refuse it once they have the new CRL."""
    _acm_pca(cli).revoke_certificate(
        CertificateAuthorityArn=ca_arn, CertificateSerial=serial, RevocationReason=reason
    )
    if cli.output.is_json:
        cli.output.json({"CertificateAuthorityArn": ca_arn, "Serial": serial, "Reason": reason})
        return
    cli.output.text(f"Revoked {serial} ({reason}).")


@ca.command()
@CA_ARN
@pass_cli
def crl(cli: CliContext, ca_arn: str) -> None:
    """Print the CA's certificate revocation list (PEM), signed afresh (Steward's own route:
    AWS would publish it to S3)."""
    answer = cli.api.steward_route(
        "GET", f"/steward/v1/certificate-authorities/{quote(ca_arn, safe='')}/crl"
    )
    if cli.output.is_json:
        cli.output.json(answer)
        return
    cli.output.text(str(answer["crlPem"]).rstrip("\n"))
