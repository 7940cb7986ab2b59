"""AWS Signature Version 4 as the receiving end computes it: the parts of the `Authorization`
header, the canonical request rebuilt from the request as it arrived, the string to sign, the
signing key and the signature.

What the signer saw must be rebuilt exactly, so everything starts from the raw request: the
path still percent-encoded (MSK's ARNs travel as `arn%3Aaws%3Akafka...%2F...`), which the
signer encodes once more, and the query string as sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
"""The form of `X-Amz-Date`, e.g. 20260102T030405Z."""
SCOPE_TERMINATOR = "aws4_request"
UNRESERVED = "-_.~"
"""What SigV4's URI encoding leaves as it is (besides letters and digits)."""


class MalformedAuthorization(ValueError):
    """The `Authorization` header is not a SigV4 one, or lacks a part."""


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as it reached the server, before anything decoded it."""

    method: str
    raw_path: bytes
    """Still percent-encoded, without the query string."""
    raw_query: bytes
    headers: Mapping[str, Sequence[str]]
    """Every value of each header, by lower-case name."""
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class CredentialScope:
    date: str
    """yyyymmdd"""
    region: str
    service: str
    terminator: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    scope: CredentialScope
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization:
    """`AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request,
    SignedHeaders=<a;b;c>, Signature=<hex>`"""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise MalformedAuthorization(f"the algorithm must be {ALGORITHM}")
    parts: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, part_value = part.strip().partition("=")
        if not equals or not part_value:
            raise MalformedAuthorization(f"{part.strip()!r} is not name=value")
        parts[name] = part_value
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in parts]
    if missing:
        raise MalformedAuthorization(f"it lacks {', '.join(missing)}")
    credential = parts["Credential"].split("/")
    if len(credential) != 5 or not all(credential):
        raise MalformedAuthorization(
            "Credential must be <access key id>/<date>/<region>/<service>/aws4_request"
        )
    signed_headers = tuple(name.strip().lower() for name in parts["SignedHeaders"].split(";"))
    if not all(signed_headers):
        raise MalformedAuthorization("SignedHeaders names an empty header")
    return Authorization(
        access_key_id=credential[0],
        scope=CredentialScope(*credential[1:]),
        signed_headers=signed_headers,
        signature=parts["Signature"],
    )


def _without_dot_segments(path: bytes) -> bytes:
    """RFC 3986's dot-segment removal, also dropping empty segments (`//`), as AWS signers do
    before encoding the path."""
    kept: list[bytes] = []
    for segment in path.split(b"/"):
        if segment in (b"", b"."):
            continue
        if segment == b"..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    leading = b"/" if path.startswith(b"/") else b""
    trailing = b"/" if path.endswith(b"/") and kept else b""
    return leading + b"/".join(kept) + trailing


def canonical_uri(raw_path: bytes) -> str:
    """The path as sent, normalised and URI-encoded once more: an ARN sent as `arn%3Aaws...`
    is signed as `arn%253Aaws...` (every AWS service but S3 does this)."""
    return quote(_without_dot_segments(raw_path) or b"/", safe="/~")


def _sorted_pairs(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def canonical_query_strings(raw_query: bytes) -> tuple[str, ...]:
    """The canonical query string, in the two forms signers produce: the parameters exactly as
    sent (botocore, for URLs it encoded itself), and each name and value decoded and encoded
    again SigV4's way (the AWS specification, other SDKs). Both describe the parameters the API
    reads; a signature over either is accepted."""
    if not raw_query:
        return ("",)
    text = raw_query.decode("latin-1")
    as_sent: list[tuple[str, str]] = []
    normalised: list[tuple[str, str]] = []
    for pair in text.split("&"):
        key, _, value = pair.partition("=")
        as_sent.append((key, value))
        normalised.append(
            (
                quote(unquote_plus(key), safe=UNRESERVED),
                quote(unquote_plus(value), safe=UNRESERVED),
            )
        )
    forms = (_sorted_pairs(as_sent), _sorted_pairs(normalised))
    return forms if forms[0] != forms[1] else forms[:1]


class MissingSignedHeader(ValueError):
    """SignedHeaders names a header the request does not carry."""


def canonical_headers(request: ReceivedRequest, names: Sequence[str]) -> str:
    lines = []
    for name in names:
        values = request.headers.get(name)
        if not values:
            raise MissingSignedHeader(name)
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "".join(lines)


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    request: ReceivedRequest,
    signed_headers: Sequence[str],
    canonical_query: str,
    body_hash: str,
) -> str:
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query,
            canonical_headers(request, signed_headers),
            ";".join(signed_headers),
            body_hash,
        )
    )


def string_to_sign(timestamp: str, scope: CredentialScope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join((ALGORITHM, timestamp, str(scope), digest))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_access_key: str, scope: CredentialScope) -> bytes:
    key = _hmac(f"AWS4{secret_access_key}".encode(), scope.date)
    for part in (scope.region, scope.service, scope.terminator):
        key = _hmac(key, part)
    return key


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def same_signature(expected: str, given: str) -> bool:
    """Constant-time comparison (the given signature may hold any byte)."""
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))
