"""The brokers' IAM sign-in checks, run through the Java verifier's command line with Kafka's own
jars, on tokens from Amazon's aws-msk-iam-sasl-signer-python and AWS_MSK_IAM payloads presigned by
botocore: what signs in (and as whom, for how long), and why the rest is refused."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from steward.domain.signing_identity import SigningIdentity
from steward.kafka.distribution import find_distribution
from steward.kafka.iam_signin import credentials_document, render_credentials, signing_key
from steward.kafka.java import find_java
from steward.kafka.plugins import IAM_SIGN_IN_VERIFIER, plugin_jar
from tests.iam_signing import msk_iam_payload, oauth_token

VERSION = "4.3.1"
REGION = "us-east-1"
HOST = "127.0.9.1"
ALICE = SigningIdentity("AKIAALICE0000000001", "alice-secret/+=", "arn:aws:iam::1:user/alice")
TEMPORARY = SigningIdentity(
    "ASIATEMP00000000001",
    "temp-secret",
    "arn:aws:sts::1:assumed-role/writer/s1",
    session_token="FQoGZXIvYXdzE+token/with=chars",
    expires=datetime.now(UTC) + timedelta(hours=1),
)


@pytest.fixture(scope="module")
def classpath() -> str:
    distribution = find_distribution(VERSION)
    if distribution is None:
        pytest.skip(f"Kafka {VERSION} is not installed")
    return f"{distribution.classpath}{os.pathsep}{plugin_jar(VERSION)}"


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "credentials.json"
    document = credentials_document([ALICE, TEMPORARY], REGION, datetime.now(UTC))
    path.write_text(render_credentials(document))
    return path


def verify(
    classpath: str, credentials: Path, mechanism: str, what: str, now: datetime | None = None
) -> dict[str, object]:
    command = [find_java(), "-cp", classpath, IAM_SIGN_IN_VERIFIER, str(credentials), HOST]
    command += [mechanism, what]
    if now is not None:
        command.append(str(int(now.timestamp() * 1000)))
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_signing_keys_are_sigv4s() -> None:
    # AWS's documented example of deriving a signing key (secret, 20120215, us-east-1, iam)
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_a_signer_library_token_signs_in_as_the_keys_principal(
    classpath: str, credentials: Path
) -> None:
    token, expiry_ms = oauth_token(REGION, ALICE.access_key_id, ALICE.secret_access_key)
    result = verify(classpath, credentials, "OAUTHBEARER", token)
    assert result["reason"] is None
    assert result["principalArn"] == ALICE.principal_arn
    assert result["lifetimeMs"] == expiry_ms


def test_an_aws_msk_iam_payload_signs_in_for_the_brokers_host(
    classpath: str, credentials: Path
) -> None:
    payload = msk_iam_payload(HOST, REGION, ALICE.access_key_id, ALICE.secret_access_key)
    result = verify(classpath, credentials, "AWS_MSK_IAM", payload)
    assert result["reason"] is None
    assert result["principalArn"] == ALICE.principal_arn


def test_temporary_credentials_sign_in_with_their_token_only(
    classpath: str, credentials: Path
) -> None:
    key, secret = TEMPORARY.access_key_id, TEMPORARY.secret_access_key
    signed = msk_iam_payload(HOST, REGION, key, secret, TEMPORARY.session_token)
    accepted = verify(classpath, credentials, "AWS_MSK_IAM", signed)
    assert accepted["principalArn"] == TEMPORARY.principal_arn
    assert TEMPORARY.expires is not None
    assert int(str(accepted["lifetimeMs"])) <= TEMPORARY.expires.timestamp() * 1000
    missing = verify(
        classpath, credentials, "AWS_MSK_IAM", msk_iam_payload(HOST, REGION, key, secret)
    )
    assert missing["reason"] == "missing token"
    other = msk_iam_payload(HOST, REGION, key, secret, "another-token")
    assert verify(classpath, credentials, "AWS_MSK_IAM", other)["reason"] == "wrong token"


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "AWS_MSK_IAM"])
def test_refusals_say_which_check_failed(classpath: str, credentials: Path, mechanism: str) -> None:
    def signed(
        key: str = ALICE.access_key_id,
        secret: str = ALICE.secret_access_key,
        region: str = REGION,
        host: str = HOST,
    ) -> str:
        if mechanism == "OAUTHBEARER":
            return oauth_token(region, key, secret)[0]
        return msk_iam_payload(host, region, key, secret)

    now = datetime.now(UTC)
    cases = {
        "unknown key": (signed(key="AKIANOBODY000000000"), None),
        "bad signature": (signed(secret="not-alices-secret"), None),
        "expired": (signed(), now + timedelta(minutes=20)),
        "clock skew": (signed(), now - timedelta(minutes=10)),
    }
    if mechanism == "OAUTHBEARER":
        cases["wrong host"] = (signed(region="eu-west-1"), None)
    else:
        cases["wrong host"] = (signed(host="other-broker.example"), None)
        cases["wrong region"] = (signed(region="eu-west-1"), None)
    for reason, (what, when) in cases.items():
        assert verify(classpath, credentials, mechanism, what, when)["reason"] == reason, reason


def test_a_key_left_out_of_the_file_signs_in_no_more(classpath: str, tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(render_credentials(credentials_document([], REGION, datetime.now(UTC))))
    token, _ = oauth_token(REGION, ALICE.access_key_id, ALICE.secret_access_key)
    assert verify(classpath, path, "OAUTHBEARER", token)["reason"] == "unknown key"


def test_expired_temporary_credentials_leave_the_file() -> None:
    expired = SigningIdentity(
        "ASIAOLD",
        "s",
        "arn:aws:sts::1:assumed-role/r/s",
        "t",
        datetime.now(UTC) - timedelta(seconds=1),
    )
    document = credentials_document([expired, ALICE], REGION, datetime.now(UTC))
    assert [k["accessKeyId"] for k in document["keys"]] == [ALICE.access_key_id]  # type: ignore[index, union-attr]
    assert "alice-secret" not in render_credentials(document)
