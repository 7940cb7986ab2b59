"""`steward ca ...` against the real API app: a CA is made and shown, a client key and certificate
are made (the key only here, mode 0600), the certificate is revoked and appears in the CRL."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.84.1"), Zone("az-b", "127.84.2"), Zone("az-c", "127.84.3"))


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("cli-private-ca")
    settings = Settings(home=home, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def run(endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--endpoint-url", endpoint, *args])


def test_a_client_certificate_is_issued_to_files_and_revoked(endpoint: str, tmp_path: Path) -> None:
    made = run(endpoint, "-o", "json", "ca", "create", "--common-name", "CLI CA", "--country", "FR")
    assert made.exit_code == 0, made.output
    ca_arn = json.loads(made.output)["CertificateAuthorityArn"]
    assert ca_arn in run(endpoint, "ca", "list").output
    assert "ACTIVE" in run(endpoint, "ca", "describe", ca_arn).output
    root_pem = run(endpoint, "ca", "certificate", ca_arn).output
    root = x509.load_pem_x509_certificate(root_pem.encode())

    issued = run(
        endpoint,
        "-o",
        "json",
        "ca",
        "issue",
        ca_arn,
        "--subject",
        "CN=alice,O=Example",
        "--out-dir",
        str(tmp_path),
        "--days",
        "30",
    )
    assert issued.exit_code == 0, issued.output
    answer = json.loads(issued.output)
    assert answer["CertificateArn"].startswith(f"{ca_arn}/certificate/")
    key_file = tmp_path / "alice.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in key_file.read_text()
    certificate = x509.load_pem_x509_certificate((tmp_path / "alice.pem").read_bytes())
    certificate.verify_directly_issued_by(root)
    assert certificate.subject.rfc4514_string() == "CN=alice,O=Example"
    assert (tmp_path / "alice-chain.pem").read_text().strip() == root_pem.strip()

    revoked = run(
        endpoint, "ca", "revoke", ca_arn, "--serial", answer["Serial"], "--reason", "KEY_COMPROMISE"
    )
    assert revoked.exit_code == 0, revoked.output
    twice = run(endpoint, "ca", "revoke", ca_arn, "--serial", answer["Serial"])
    assert twice.exit_code == 1 and "RequestAlreadyProcessedException" in twice.output
    crl_text = run(endpoint, "ca", "crl", ca_arn)
    assert crl_text.exit_code == 0, crl_text.output
    crl = x509.load_pem_x509_crl(crl_text.output.encode())
    assert crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None

    missing = run(endpoint, "ca", "crl", ca_arn[:-12] + "000000000000")
    assert missing.exit_code == 1 and "NotFoundException" in missing.output
    bad = run(endpoint, "ca", "issue", ca_arn, "--subject", "O=nobody", "--out-dir", str(tmp_path))
    assert bad.exit_code == 1 and "common name" in bad.output
