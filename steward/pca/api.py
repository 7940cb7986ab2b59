"""The AWS-Private-CA-compatible endpoint: AWS JSON 1.1, `POST /` with
`X-Amz-Target: ACMPrivateCA.<Operation>`, so that boto3's `acm-pca` client works against
Steward's endpoint unchanged (botocore prefers JSON 1.1 to CBOR for this service). Errors are
`{"__type": <Name>, "message": ...}`, HTTP 400 (500 for Steward's own failures).

Operations: CreateCertificateAuthority, DescribeCertificateAuthority, ListCertificateAuthorities,
GetCertificateAuthorityCertificate, GetCertificateAuthorityCsr,
ImportCertificateAuthorityCertificate, IssueCertificate, GetCertificate, RevokeCertificate,
UpdateCertificateAuthority, DeleteCertificateAuthority, RestoreCertificateAuthority,
TagCertificateAuthority, UntagCertificateAuthority, ListTags. None answers with a private key.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Scope

from steward.domain.errors import StewardError
from steward.pca.service import (
    CaRecord,
    InvalidArgsException,
    InvalidNextTokenException,
    InvalidRequestException,
    InvalidTagException,
    PrivateCaError,
    PrivateCertificateAuthorities,
    Validity,
)
from steward.wire.json_protocol import (
    Body,
    JsonEndpoint,
    json_response,
    names_target,
    with_json_endpoint,
)

log = logging.getLogger(__name__)

TARGET_PREFIX = "ACMPrivateCA."
MAX_RESULTS = 1000
MAX_BLOB_BYTES = 32768

Operation = Callable[[PrivateCertificateAuthorities, Body], Body]


def is_acm_pca_request(scope: Scope) -> bool:
    """Whether a request names an AWS Private CA operation in its `X-Amz-Target`."""
    return names_target(scope, TARGET_PREFIX)


class UnknownOperationException(PrivateCaError):
    pass


class SerializationException(PrivateCaError):
    pass


class UnrecognizedClientException(PrivateCaError):
    pass


class InvalidSignatureException(PrivateCaError):
    pass


class AccessDeniedException(PrivateCaError):
    status = 403


class InternalFailure(PrivateCaError):
    status = 500


_AS_ACM_PCA: dict[str, type[PrivateCaError]] = {
    "UnauthorizedException": UnrecognizedClientException,
    "ForbiddenException": InvalidSignatureException,
    "BadRequestException": InvalidRequestException,
    "InternalServerErrorException": InternalFailure,
    "AccessDeniedException": AccessDeniedException,
}
"""How errors raised outside this API (the authentication gate) read to an `acm-pca` client."""


def error_response(error: StewardError, request_id: str) -> Response:
    if not isinstance(error, PrivateCaError):
        kind = _AS_ACM_PCA.get(error.error_type, InternalFailure)
        error = kind(error.message)
    return json_response(
        {"__type": error.error_type, "message": error.message}, request_id, error.status
    )


def _unknown_operation(target: str) -> UnknownOperationException:
    """The message names this service, so that a client pointed at the wrong one can tell."""
    return UnknownOperationException(
        f"Steward's private CA has no operation {target or '(no X-Amz-Target)'}."
    )


# --- reading the request ------------------------------------------------------------------------
def _member(body: Body, name: str, kind: type, required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidArgsException(f"You must provide a value for {name}.")
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidArgsException(f"{name} must be an integer.")
    if kind is not int and not isinstance(value, kind):
        raise InvalidArgsException(f"{name} must be a {kind.__name__}.")
    return value


def _arn(body: Body, name: str = "CertificateAuthorityArn") -> str:
    value: str = _member(body, name, str, required=True)
    return value


def _blob(body: Body, name: str, required: bool = False) -> bytes | None:
    value = _member(body, name, str, required)
    if value is None:
        return None
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidArgsException(f"{name} must be base64.") from None
    if not 1 <= len(decoded) <= MAX_BLOB_BYTES:
        raise InvalidArgsException(f"{name} must be 1 to {MAX_BLOB_BYTES} bytes.")
    return decoded


def _required_blob(body: Body, name: str) -> bytes:
    value = _blob(body, name, required=True)
    if value is None:  # _blob raised already; this tells the type checker
        raise InvalidArgsException(f"You must provide a value for {name}.")
    return value


def _validity(body: Body, name: str, required: bool = False) -> Validity | None:
    value = _member(body, name, dict, required)
    if value is None:
        return None
    amount, kind = value.get("Value"), value.get("Type")
    if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(kind, str):
        raise InvalidArgsException(f"{name} needs a Value (a number) and a Type.")
    return Validity(amount, kind)


def _tags(body: Body, required: bool = False) -> list[dict[str, str]]:
    tags = _member(body, "Tags", list, required) or []
    result = []
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
            raise InvalidTagException("Each tag needs a Key (and may have a Value).")
        entry = {"Key": tag["Key"]}
        if "Value" in tag:
            if not isinstance(tag["Value"], str):
                raise InvalidTagException("A tag's Value must be a string.")
            entry["Value"] = tag["Value"]
        result.append(entry)
    return result


def _timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _without_none(body: Body) -> Body:
    return {k: v for k, v in body.items() if v is not None}


def _page(items: list[Any], body: Body) -> tuple[list[Any], str | None]:
    size = _member(body, "MaxResults", int) or MAX_RESULTS
    if not 1 <= size <= MAX_RESULTS:
        raise InvalidArgsException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    token = _member(body, "NextToken", str)
    start = _offset(token) if token else 0
    end = start + size
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], next_token


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidNextTokenException("The token specified in NextToken is not valid.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidNextTokenException("The token specified in NextToken is not valid.")
    return offset


def _described(ca: CaRecord, account_id: str) -> Body:
    return _without_none(
        {
            "Arn": ca.arn,
            "OwnerAccount": account_id,
            "CreatedAt": _timestamp(ca.created_at),
            "LastStateChangeAt": _timestamp(ca.last_state_change_at),
            "Type": ca.type,
            "Serial": ca.serial,
            "Status": ca.status,
            "NotBefore": _timestamp(ca.not_before),
            "NotAfter": _timestamp(ca.not_after),
            "CertificateAuthorityConfiguration": ca.configuration,
            "RevocationConfiguration": ca.revocation_configuration,
            "RestorableUntil": _timestamp(ca.restorable_until),
            "KeyStorageSecurityStandard": ca.key_storage_security_standard,
            "UsageMode": ca.usage_mode,
        }
    )


# --- operations ---------------------------------------------------------------------------------
def create_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    made = cas.create(
        _member(body, "CertificateAuthorityConfiguration", dict, required=True),
        _member(body, "CertificateAuthorityType", str, required=True),
        revocation_configuration=_member(body, "RevocationConfiguration", dict),
        key_storage_security_standard=_member(body, "KeyStorageSecurityStandard", str),
        usage_mode=_member(body, "UsageMode", str),
        tags=_tags(body),
    )
    return {"CertificateAuthorityArn": made.arn}


def describe_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    return {"CertificateAuthority": _described(cas.describe(_arn(body)), cas.account_id)}


def list_certificate_authorities(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    owner = _member(body, "ResourceOwner", str) or "SELF"
    if owner not in ("SELF", "OTHER_ACCOUNTS"):
        raise InvalidArgsException("ResourceOwner must be SELF or OTHER_ACCOUNTS.")
    found = cas.list() if owner == "SELF" else []  # nothing is shared from other accounts
    page, token = _page(found, body)
    return _without_none(
        {
            "CertificateAuthorities": [_described(ca, cas.account_id) for ca in page],
            "NextToken": token,
        }
    )


def get_certificate_authority_certificate(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    got = cas.ca_certificate(_arn(body))
    return _without_none({"Certificate": got.certificate_pem, "CertificateChain": got.chain_pem})


def get_certificate_authority_csr(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    return {"Csr": cas.csr(_arn(body))}


def import_certificate_authority_certificate(
    cas: PrivateCertificateAuthorities, body: Body
) -> Body:
    cas.import_certificate(
        _arn(body), _required_blob(body, "Certificate"), _blob(body, "CertificateChain")
    )
    return {}


def issue_certificate(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    if body.get("ApiPassthrough"):
        raise InvalidArgsException("Steward does not take ApiPassthrough: the CSR says it all.")
    validity = _validity(body, "Validity", required=True)
    if validity is None:  # _validity raised already; this tells the type checker
        raise InvalidArgsException("You must provide a value for Validity.")
    issued = cas.issue(
        _arn(body),
        _required_blob(body, "Csr"),
        _member(body, "SigningAlgorithm", str, required=True),
        validity,
        validity_not_before=_validity(body, "ValidityNotBefore"),
        template_arn=_member(body, "TemplateArn", str),
    )
    return {"CertificateArn": issued}


def get_certificate(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    got = cas.get_certificate(_arn(body), _arn(body, "CertificateArn"))
    return _without_none({"Certificate": got.certificate_pem, "CertificateChain": got.chain_pem})


def revoke_certificate(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    cas.revoke(
        _arn(body),
        _member(body, "CertificateSerial", str, required=True),
        _member(body, "RevocationReason", str, required=True),
    )
    return {}


def update_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    cas.update(
        _arn(body),
        status=_member(body, "Status", str),
        revocation_configuration=_member(body, "RevocationConfiguration", dict),
    )
    return {}


def delete_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    cas.delete(_arn(body), _member(body, "PermanentDeletionTimeInDays", int))
    return {}


def restore_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    cas.restore(_arn(body))
    return {}


def tag_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    cas.tag(_arn(body), _tags(body, required=True))
    return {}


def untag_certificate_authority(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    cas.untag(_arn(body), _tags(body, required=True))
    return {}


def list_tags(cas: PrivateCertificateAuthorities, body: Body) -> Body:
    page, token = _page(cas.tags(_arn(body)), body)
    return _without_none({"Tags": page, "NextToken": token})


OPERATIONS: dict[str, Operation] = {
    "CreateCertificateAuthority": create_certificate_authority,
    "DescribeCertificateAuthority": describe_certificate_authority,
    "ListCertificateAuthorities": list_certificate_authorities,
    "GetCertificateAuthorityCertificate": get_certificate_authority_certificate,
    "GetCertificateAuthorityCsr": get_certificate_authority_csr,
    "ImportCertificateAuthorityCertificate": import_certificate_authority_certificate,
    "IssueCertificate": issue_certificate,
    "GetCertificate": get_certificate,
    "RevokeCertificate": revoke_certificate,
    "UpdateCertificateAuthority": update_certificate_authority,
    "DeleteCertificateAuthority": delete_certificate_authority,
    "RestoreCertificateAuthority": restore_certificate_authority,
    "TagCertificateAuthority": tag_certificate_authority,
    "UntagCertificateAuthority": untag_certificate_authority,
    "ListTags": list_tags,
}


def with_acm_pca(other: ASGIApp, cas: PrivateCertificateAuthorities) -> ASGIApp:
    """A `POST /` that names an AWS Private CA operation in `X-Amz-Target` goes to the private CA
    API, everything else to `other` (Secrets Manager, then MSK's routes)."""
    endpoint = JsonEndpoint(
        target_prefix=TARGET_PREFIX,
        operations=OPERATIONS,
        service=cas,
        error_response=error_response,
        unknown_operation=_unknown_operation,
        serialization=SerializationException,
        internal=InternalFailure,
        bare_operations=True,
        log=log,
    )
    return with_json_endpoint(endpoint, other)
