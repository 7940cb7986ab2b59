"""The client side of IAM sign-in, for tests: OAUTHBEARER tokens from Amazon's
aws-msk-iam-sasl-signer-python, and AWS_MSK_IAM payloads as aws-msk-iam-auth builds them (a
SigV4-presigned `GET https://<broker host>/?Action=kafka-cluster:Connect`, its query parameters
as a JSON object with lower-cased names), presigned here with botocore's `SigV4QueryAuth`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import CredentialProvider, Credentials


class StaticCredentials(CredentialProvider):
    """One key, handed to the signer library as a botocore credentials provider."""

    METHOD = "static"

    def __init__(self, key_id: str, secret: str, token: str | None = None) -> None:
        super().__init__()
        self.credentials = Credentials(key_id, secret, token)

    def load(self) -> Credentials:
        return self.credentials


@contextmanager
def signing_clock(when: datetime | None) -> Iterator[None]:
    """botocore signs as of `when` (a client whose clock is off, or an old signature)."""
    if when is None:
        yield
        return
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        yield


def oauth_token(
    region: str,
    key_id: str,
    secret: str,
    token: str | None = None,
    when: datetime | None = None,
) -> tuple[str, int]:
    """The signer library's token and its expiry (epoch ms)."""
    with signing_clock(when):
        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(
            region, StaticCredentials(key_id, secret, token)
        )
    return str(value), int(expiry_ms)


def msk_iam_payload(
    host: str,
    region: str,
    key_id: str,
    secret: str,
    token: str | None = None,
    when: datetime | None = None,
) -> str:
    """An AWS_MSK_IAM first message for `host`, signed `when` (now by default)."""
    signer = SigV4QueryAuth(Credentials(key_id, secret, token), "kafka-cluster", region, 900)
    request = AWSRequest(
        method="GET", url=f"https://{host}/", params={"Action": "kafka-cluster:Connect"}
    )
    with signing_clock(when):
        signer.add_auth(request)
    fields = {name.lower(): value for name, value in parse_qsl(urlsplit(request.url).query)}
    fields.update({"version": "2020_10_22", "host": host, "user-agent": "steward-tests"})
    return json.dumps(fields)
