"""httpx requests signed the way boto3 signs its own (SigV4, service `kafka`), for Steward's
routes that boto3 has no operation for (`/steward/v1/...`)."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "kafka"
SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class SigV4HttpxAuth(httpx.Auth):
    """Signs each request with `credentials` for `region`. Only the host, the content type and
    SigV4's own headers are signed, so headers httpx adds or a proxy rewrites do not matter;
    the body is signed whole."""

    requires_request_body = True

    def __init__(self, credentials: Credentials, region: str) -> None:
        self.credentials = credentials
        self.region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = {"host": request.headers["host"]}
        if "content-type" in request.headers:
            headers["content-type"] = request.headers["content-type"]
        unsigned = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        SigV4Auth(self.credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(
            unsigned
        )
        for name in SIGNATURE_HEADERS:
            if name in unsigned.headers:
                request.headers[name] = unsigned.headers[name]
        yield request
