"""The API's check of every request: signed with SigV4 by an access key Steward knows, for
Steward's region and the service the request is for (`kafka`, `secretsmanager`, `acm-pca`,
`application-autoscaling`, and the Query services `iam` and `sts`), within five minutes of now.
Temporary credentials (an assumed role's, from STS AssumeRole) must carry their session token
(`X-Amz-Security-Token`) and not have expired.

A request without a usable `Authorization` header, or signed by a key Steward does not know, is
MSK's UnauthorizedException (401); one whose signature, date or scope is wrong is MSK's
ForbiddenException (403). Messages follow AWS's wording and never hold a secret or a signature
Steward computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from steward.api.auth import sigv4
from steward.api.auth.sigv4 import Authorization, CredentialScope, ReceivedRequest
from steward.connect.api import is_kafka_connect_request
from steward.domain.errors import ForbiddenException, UnauthorizedException
from steward.functions.api import LAMBDA_PATH

SERVICE = "kafka"
"""MSK's signing name: what boto3 and the AWS CLI put into the credential scope."""
SECRETS_MANAGER_SERVICE = "secretsmanager"
"""Secrets Manager's signing name, for requests whose `X-Amz-Target` is `secretsmanager.*`."""
ACM_PCA_SERVICE = "acm-pca"
APPLICATION_AUTOSCALING_SERVICE = "application-autoscaling"
"""Application Auto Scaling's signing name, for `AnyScaleFrontendService.*` requests."""
"""AWS Private CA's signing name, for requests whose `X-Amz-Target` is `ACMPrivateCA.*`."""
KAFKA_CONNECT_SERVICE = "kafkaconnect"
"""MSK Connect's signing name, for requests to its paths (`steward.connect.api`)."""
QUERY_SERVICES = frozenset({"iam", "sts"})
"""Signing names of the Query services on the endpoint: a form `POST /` is scoped to one."""
LAMBDA_SERVICE = "lambda"
"""Lambda's signing name, for requests on its dated paths (`/2015-03-31/...`)."""
CLOUDWATCH_SERVICE = "monitoring"
"""CloudWatch's signing name, for its JSON (`X-Amz-Target: GraniteServiceVersion20100801.*`),
CBOR (`/service/GraniteServiceVersion20100801/...`) and Query (a form post) requests."""
CLOUDWATCH_TARGET = "GraniteServiceVersion20100801"
MAX_CLOCK_SKEW = timedelta(minutes=5)

HOW_TO_SIGN = (
    "Sign requests (SigV4) with an access key of this Steward: `steward access-key create` "
    "makes one; the first start wrote one to $STEWARD_HOME/credentials (profile steward)."
)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


class ExpiredToken(ForbiddenException):
    """Temporary credentials past their expiration: MSK's ForbiddenException to a `kafka`
    client, STS's and IAM's `ExpiredToken` to theirs."""

    code = "ExpiredToken"

    @property
    def error_type(self) -> str:
        return "ForbiddenException"


def _is_cloudwatch(request: ReceivedRequest, target: str, scope: CredentialScope) -> bool:
    if target.startswith(f"{CLOUDWATCH_TARGET}."):
        return True
    if request.raw_path.startswith(f"/service/{CLOUDWATCH_TARGET}/".encode()):
        return True
    return scope.service == CLOUDWATCH_SERVICE and _is_form_post(request)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TemporarySecret(Protocol):
    """What signs for temporary credentials (`steward.iam.service.SigningSecret`)."""

    @property
    def secret_access_key(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...

    @property
    def expires(self) -> datetime | None: ...


@dataclass
class SigV4Verifier:
    region: str
    secret_of: Callable[[str], str | TemporarySecret | None]
    """An access key's secret (with, for temporary credentials, their session token and
    expiry), or None for a key that may not sign."""
    service: str = SERVICE
    max_clock_skew: timedelta = MAX_CLOCK_SKEW
    clock: Callable[[], datetime] = field(default=_utcnow)

    def authenticate(self, request: ReceivedRequest) -> str:
        """The access key id that signed `request`; raises when the request may not pass."""
        authorization = self._authorization(request)
        found = self.secret_of(authorization.access_key_id)
        if found is None:
            raise UnauthorizedException(
                "The security token included in the request is invalid: Steward has no active "
                f"access key {authorization.access_key_id}. {HOW_TO_SIGN}"
            )
        secret = found if isinstance(found, str) else self._temporary(found, request)
        self._check_scope(authorization.scope, request)
        self._check_signed_headers(authorization)
        timestamp = self._check_date(request, authorization.scope)
        body_hash = self._body_hash(request)
        key = sigv4.signing_key(secret, authorization.scope)
        for query in sigv4.canonical_query_strings(request.raw_query):
            try:
                canonical = sigv4.canonical_request(
                    request, authorization.signed_headers, query, body_hash
                )
            except sigv4.MissingSignedHeader as error:
                raise ForbiddenException(
                    f"SignedHeaders names {error}, which the request does not carry."
                ) from error
            to_sign = sigv4.string_to_sign(timestamp, authorization.scope, canonical)
            if sigv4.same_signature(sigv4.signature(key, to_sign), authorization.signature):
                return authorization.access_key_id
        raise ForbiddenException(SIGNATURE_MISMATCH)

    def _temporary(self, found: TemporarySecret, request: ReceivedRequest) -> str:
        """The secret of temporary credentials, once the request carries their token and they
        have not expired."""
        token = request.header("x-amz-security-token")
        if found.session_token is not None and not sigv4.same_signature(
            found.session_token, token or ""
        ):
            raise UnauthorizedException(
                "The security token included in the request is invalid: temporary credentials "
                "need their session token (X-Amz-Security-Token)."
            )
        if found.expires is not None and found.expires <= self.clock():
            raise ExpiredToken("The security token included in the request is expired")
        return found.secret_access_key

    @staticmethod
    def _authorization(request: ReceivedRequest) -> Authorization:
        header = request.header("authorization")
        if header is None:
            raise UnauthorizedException(
                f"Missing Authentication Token: the request is not signed. {HOW_TO_SIGN}"
            )
        try:
            return sigv4.parse_authorization(header)
        except sigv4.MalformedAuthorization as error:
            raise UnauthorizedException(
                f"The Authorization header is not a valid SigV4 one: {error}. {HOW_TO_SIGN}"
            ) from error

    def _check_scope(self, scope: CredentialScope, request: ReceivedRequest) -> None:
        target = request.header("x-amz-target") or ""
        service = self.service
        if target.startswith("secretsmanager."):
            service = SECRETS_MANAGER_SERVICE
        elif target.startswith("ACMPrivateCA."):
            service = ACM_PCA_SERVICE
        elif target.startswith("AnyScaleFrontendService."):
            service = APPLICATION_AUTOSCALING_SERVICE
        elif _is_cloudwatch(request, target, scope):
            service = CLOUDWATCH_SERVICE
        elif is_kafka_connect_request({"path": request.raw_path.decode("latin-1")}):
            service = KAFKA_CONNECT_SERVICE
        elif _is_form_post(request) and scope.service in QUERY_SERVICES:
            service = scope.service
        elif LAMBDA_PATH.match(request.raw_path.decode("latin-1")):
            service = LAMBDA_SERVICE
        if scope.region != self.region:
            raise ForbiddenException(
                f"Credential should be scoped to a valid region, not '{scope.region}': this "
                f"Steward's region is '{self.region}'."
            )
        if scope.service != service:
            raise ForbiddenException(
                f"Credential should be scoped to correct service: '{service}', not "
                f"'{scope.service}'."
            )
        if scope.terminator != sigv4.SCOPE_TERMINATOR:
            raise ForbiddenException(
                "Credential should be scoped with a valid terminator: "
                f"'{sigv4.SCOPE_TERMINATOR}', not '{scope.terminator}'."
            )

    @staticmethod
    def _check_signed_headers(authorization: Authorization) -> None:
        unsigned = [h for h in ("host", "x-amz-date") if h not in authorization.signed_headers]
        if unsigned:
            raise ForbiddenException(
                f"SignedHeaders must include {' and '.join(unsigned)}: a signature that does not "
                "cover them could be replayed elsewhere or later."
            )

    def _check_date(self, request: ReceivedRequest, scope: CredentialScope) -> str:
        timestamp = request.header("x-amz-date")
        if timestamp is None:
            raise ForbiddenException("Authorization header requires an 'X-Amz-Date' header.")
        try:
            signed_at = datetime.strptime(timestamp, sigv4.TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError as error:
            raise ForbiddenException(
                f"X-Amz-Date {timestamp!r} is not of the form yyyymmddThhmmssZ."
            ) from error
        if scope.date != timestamp[:8]:
            raise ForbiddenException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{scope.date}' != '{timestamp[:8]}', from '{timestamp}'."
            )
        now = self.clock()
        skew = f"{self.max_clock_skew.total_seconds() / 60:g} min."
        if signed_at < now - self.max_clock_skew:
            raise ForbiddenException(
                f"Signature expired: {timestamp} is now earlier than "
                f"{(now - self.max_clock_skew).strftime(sigv4.TIMESTAMP_FORMAT)} "
                f"({now.strftime(sigv4.TIMESTAMP_FORMAT)} - {skew})"
            )
        if signed_at > now + self.max_clock_skew:
            raise ForbiddenException(
                f"Signature not yet current: {timestamp} is still later than "
                f"{(now + self.max_clock_skew).strftime(sigv4.TIMESTAMP_FORMAT)} "
                f"({now.strftime(sigv4.TIMESTAMP_FORMAT)} + {skew})"
            )
        return timestamp

    @staticmethod
    def _body_hash(request: ReceivedRequest) -> str:
        """The hash of the body that arrived. A client may name it in `x-amz-content-sha256`
        (signed like any header); it must then be that hash: a payload Steward does not see
        whole, or `UNSIGNED-PAYLOAD`, is not accepted."""
        computed = sigv4.payload_hash(request.body)
        declared = request.header("x-amz-content-sha256")
        if declared is not None and declared != computed:
            raise ForbiddenException(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        return computed


def _is_form_post(request: ReceivedRequest) -> bool:
    content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    return (
        request.method == "POST"
        and request.raw_path == b"/"
        and content_type == "application/x-www-form-urlencoded"
    )
