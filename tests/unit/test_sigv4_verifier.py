"""Steward's SigV4 check against requests botocore itself signed: the good ones pass, and a
wrong secret, an unknown key, a changed body, path or query, a stale or future date, another
region or service, or no signature at all are refused with MSK's error types."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from steward.api.auth import sigv4
from steward.api.auth.sigv4 import ReceivedRequest
from steward.api.auth.verifier import SigV4Verifier
from steward.domain.errors import ForbiddenException, UnauthorizedException

KEY_ID = "STWTESTKEY0000000001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://127.0.0.1:9780"
ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/orders/5f1c0000-1111-2222-3333-444455556666-1"
CLUSTER_PATH = f"/v1/clusters/{quote(ARN, safe='')}/bootstrap-brokers"


def botocore_signed(
    method: str = "GET",
    path: str = CLUSTER_PATH,
    query: str = "",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    token: str | None = None,
    region: str = "us-east-1",
    service: str = "kafka",
) -> ReceivedRequest:
    """A request signed by botocore's own SigV4 signer, as Steward's server receives it."""
    url = f"{ENDPOINT}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key_id, secret, token), service, region).add_auth(request)
    return received(request)


def received(request: AWSRequest) -> ReceivedRequest:
    parts = urlsplit(request.url)
    sent = {"host": [parts.netloc]}
    for name, value in request.headers.items():
        sent.setdefault(name.lower(), []).append(value)
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    return ReceivedRequest(
        method=request.method,
        raw_path=parts.path.encode(),
        raw_query=parts.query.encode(),
        headers=sent,
        body=body,
    )


def changed(request: ReceivedRequest, **fields: object) -> ReceivedRequest:
    values = {
        "method": request.method,
        "raw_path": request.raw_path,
        "raw_query": request.raw_query,
        "headers": request.headers,
        "body": request.body,
    }
    values.update(fields)
    return ReceivedRequest(**values)  # type: ignore[arg-type]


def verifier(clock_offset: timedelta = timedelta(0), region: str = "us-east-1") -> SigV4Verifier:
    keys = {KEY_ID: SECRET}
    return SigV4Verifier(region, keys.get, clock=lambda: datetime.now(UTC) + clock_offset)


def test_a_get_botocore_signed_passes_with_its_access_key_id() -> None:
    assert verifier().authenticate(botocore_signed()) == KEY_ID


def test_a_post_with_a_json_body_and_a_query_passes() -> None:
    request = botocore_signed(
        "POST",
        "/v1/configurations",
        query="maxResults=10&nextToken=abc%2Fdef%3D",
        body=b'{"name": "dev", "serverProperties": "bnVtLnBhcnRpdGlvbnM9Mw=="}',
        headers={"Content-Type": "application/json"},
    )
    assert verifier().authenticate(request) == KEY_ID


def test_repeated_query_keys_and_session_tokens_pass() -> None:
    request = botocore_signed(
        "DELETE", f"/v1/tags/{quote(ARN, safe='')}", query="tagKeys=b&tagKeys=a", token="tok"
    )
    assert "x-amz-security-token" in request.headers
    assert verifier().authenticate(request) == KEY_ID


def test_a_signed_payload_hash_header_must_be_the_body_hash() -> None:
    body = b'{"tags": {"a": "b"}}'
    good = hashlib.sha256(body).hexdigest()
    request = botocore_signed("POST", body=body, headers={"X-Amz-Content-SHA256": good})
    assert verifier().authenticate(request) == KEY_ID
    unsigned = botocore_signed(
        "POST", body=body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    with pytest.raises(ForbiddenException, match="x-amz-content-sha256"):
        verifier().authenticate(unsigned)


def test_a_wrong_secret_is_forbidden() -> None:
    request = botocore_signed(secret="not-the-secret")
    with pytest.raises(ForbiddenException, match="signature we calculated does not match"):
        verifier().authenticate(request)


def test_an_unknown_access_key_is_unauthorized() -> None:
    with pytest.raises(UnauthorizedException, match="STWUNKNOWN"):
        verifier().authenticate(botocore_signed(key_id="STWUNKNOWN"))


@pytest.mark.parametrize(
    "tampering",
    [
        {"body": b'{"clusterName": "other"}'},
        {"raw_path": CLUSTER_PATH.replace("orders", "payments").encode()},
        {"raw_query": b"maxResults=100"},
        {"method": "DELETE"},
    ],
    ids=["body", "path", "query", "method"],
)
def test_a_request_changed_after_signing_is_forbidden(tampering: dict[str, object]) -> None:
    request = botocore_signed("POST", query="maxResults=10", body=b'{"clusterName": "orders"}')
    assert verifier().authenticate(request) == KEY_ID
    with pytest.raises(ForbiddenException):
        verifier().authenticate(changed(request, **tampering))


def test_a_changed_signed_header_is_forbidden() -> None:
    request = botocore_signed(headers={"Content-Type": "application/json"})
    headers = {**request.headers, "content-type": ["text/plain"]}
    with pytest.raises(ForbiddenException):
        verifier().authenticate(changed(request, headers=headers))
    headers = {k: v for k, v in request.headers.items() if k != "content-type"}
    with pytest.raises(ForbiddenException, match="content-type"):
        verifier().authenticate(changed(request, headers=headers))


def test_a_signature_older_or_newer_than_five_minutes_is_forbidden() -> None:
    request = botocore_signed()
    assert verifier(timedelta(minutes=4)).authenticate(request) == KEY_ID
    with pytest.raises(ForbiddenException, match="Signature expired"):
        verifier(timedelta(minutes=6)).authenticate(request)
    with pytest.raises(ForbiddenException, match="not yet current"):
        verifier(timedelta(minutes=-6)).authenticate(request)


def test_a_date_header_that_does_not_match_the_scope_is_forbidden() -> None:
    request = botocore_signed()
    stamp = request.headers["x-amz-date"][0]
    day_before = (datetime.strptime(stamp, sigv4.TIMESTAMP_FORMAT) - timedelta(days=1)).strftime(
        sigv4.TIMESTAMP_FORMAT
    )
    headers = {**request.headers, "x-amz-date": [day_before]}
    with pytest.raises(ForbiddenException, match="Credential scope"):
        verifier().authenticate(changed(request, headers=headers))
    headers = {k: v for k, v in request.headers.items() if k != "x-amz-date"}
    with pytest.raises(ForbiddenException, match="X-Amz-Date"):
        verifier().authenticate(changed(request, headers=headers))


def test_another_region_or_service_is_forbidden() -> None:
    with pytest.raises(ForbiddenException, match="region"):
        verifier().authenticate(botocore_signed(region="eu-west-1"))
    with pytest.raises(ForbiddenException, match="service"):
        verifier().authenticate(botocore_signed(service="s3"))
    assert verifier(region="eu-west-1").authenticate(botocore_signed(region="eu-west-1"))


def test_no_or_a_malformed_authorization_header_is_unauthorized() -> None:
    request = botocore_signed()
    unsigned = {k: v for k, v in request.headers.items() if k != "authorization"}
    with pytest.raises(UnauthorizedException, match="not signed"):
        verifier().authenticate(changed(request, headers=unsigned))
    for header in (
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 Credential=STWX/20260101/us-east-1/kafka, SignedHeaders=host, "
        "Signature=00",
        "AWS4-HMAC-SHA256 Credential=STWX/20260101/us-east-1/kafka/aws4_request",
        "AWS4-HMAC-SHA256",
    ):
        with pytest.raises(UnauthorizedException, match="not a valid SigV4"):
            verifier().authenticate(
                changed(request, headers={**unsigned, "authorization": [header]})
            )


def test_host_and_date_must_be_signed() -> None:
    request = botocore_signed()
    header = request.headers["authorization"][0].replace("host;x-amz-date", "x-amz-date")
    with pytest.raises(ForbiddenException, match="host"):
        verifier().authenticate(
            changed(request, headers={**request.headers, "authorization": [header]})
        )


def test_an_arn_in_the_path_is_signed_encoded_twice() -> None:
    assert sigv4.canonical_uri(b"/v1/clusters/arn%3Aaws%3Akafka%2Fa/nodes") == (
        "/v1/clusters/arn%253Aaws%253Akafka%252Fa/nodes"
    )
    assert sigv4.canonical_uri(b"") == "/"
    assert sigv4.canonical_uri(b"/a/./b/../c//d/") == "/a/c/d/"


def test_a_query_is_signed_as_sent_or_encoded_the_sigv4_way() -> None:
    assert sigv4.canonical_query_strings(b"b=2&a=1") == ("a=1&b=2",)
    assert sigv4.canonical_query_strings(b"arn=arn:aws&x=a+b") == (
        "arn=arn:aws&x=a+b",
        "arn=arn%3Aaws&x=a%20b",
    )


def test_msk_connect_paths_are_signed_for_kafkaconnect() -> None:
    assert verifier().authenticate(botocore_signed(path="/v1/connectors", service="kafkaconnect"))
    with pytest.raises(ForbiddenException, match="kafkaconnect"):
        verifier().authenticate(botocore_signed(path="/v1/custom-plugins", service="kafka"))
    with pytest.raises(ForbiddenException, match="'kafka'"):
        verifier().authenticate(botocore_signed(service="kafkaconnect"))
