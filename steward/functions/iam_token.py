"""A poller's IAM sign-in: the OAUTHBEARER token MSK's IAM clients send, made from the temporary
credentials of the function's execution role that the control plane leaves in a file.

The token is what aws-msk-iam-sasl-signer-python makes: `GET https://kafka.<region>.amazonaws.com/
?Action=kafka-cluster:Connect` presigned with SigV4 for the `kafka-cluster` service for 900
seconds, a `User-Agent` query parameter added after signing, the whole URL base64url-encoded
without padding. botocore signs it (a runtime dependency), so the poller needs nothing more.

The credentials file is JSON (`AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration` as
epoch seconds), written 0600 and replaced whole by the control plane when it renews the session;
the poller reads it again each time librdkafka asks for a token, so a renewal needs no restart.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from steward.files import replace_file

SIGNING_SERVICE = "kafka-cluster"
TOKEN_SECONDS = 900
USER_AGENT = "steward-trigger-poller"
PRINCIPAL = "steward-trigger"
"""The principal name librdkafka's oauth_cb must return; the brokers take the token's own."""
OAuthToken = tuple[str, float, str, dict[str, str]]


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: float
    """Epoch seconds."""

    def to_json(self) -> dict[str, object]:
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration,
        }

    @classmethod
    def from_json(cls, value: dict[str, object]) -> RoleCredentials:
        return cls(
            str(value["AccessKeyId"]),
            str(value["SecretAccessKey"]),
            str(value["SessionToken"]),
            float(str(value["Expiration"])),
        )


def write_credentials(path: Path, credentials: RoleCredentials) -> None:
    """Replace the file whole, readable by Steward's user only: a reader never sees half."""
    replace_file(path, json.dumps(credentials.to_json()), private=True)


def read_credentials(path: Path) -> RoleCredentials:
    return RoleCredentials.from_json(json.loads(path.read_text()))


def auth_token(region: str, credentials: RoleCredentials) -> tuple[str, float]:
    """The token and when it stops being good (epoch seconds): the presigned URL's expiry, or
    the credentials' if they end first."""
    signer = SigV4QueryAuth(
        Credentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        SIGNING_SERVICE,
        region,
        expires=TOKEN_SECONDS,
    )
    request = AWSRequest(
        method="GET",
        url=f"https://kafka.{region}.amazonaws.com/",
        params={"Action": "kafka-cluster:Connect"},
    )
    signer.add_auth(request)
    request.params = {"User-Agent": USER_AGENT}
    url = request.prepare().url
    token = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    signed = parse_qs(urlsplit(url).query)["X-Amz-Date"][0]
    signed_at = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    return token, min(signed_at + TOKEN_SECONDS, credentials.expiration)


def oauth_callback(region: str, path: Path) -> Callable[[str | None], OAuthToken]:
    """librdkafka's `oauth_cb`: a fresh token from the file's current credentials."""

    def callback(_config: str | None) -> OAuthToken:
        token, expires = auth_token(region, read_credentials(path))
        return token, expires, PRINCIPAL, {}

    return callback
