"""The Secrets-Manager-compatible endpoint: AWS JSON 1.1, `POST /` with
`X-Amz-Target: secretsmanager.<Operation>`, so that boto3's `secretsmanager` client works against
Steward's endpoint unchanged. Errors are `{"__type": <Name>, "Message": ...}` (HTTP 400, or 500).

Operations: CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret, ListSecrets,
DeleteSecret, RestoreSecret. Only GetSecretValue answers with a value.
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
from steward.secrets.service import (
    InternalServiceError,
    InvalidNextTokenException,
    InvalidParameterException,
    InvalidRequestException,
    SecretDescription,
    Secrets,
    SecretsManagerError,
)
from steward.wire.json_protocol import (
    Body,
    JsonEndpoint,
    json_response,
    names_target,
    with_json_endpoint,
)

log = logging.getLogger(__name__)

TARGET_PREFIX = "secretsmanager."
MAX_RESULTS = 100


def is_secrets_manager_request(scope: Scope) -> bool:
    """Whether a request names a Secrets Manager operation in its `X-Amz-Target`."""
    return names_target(scope, TARGET_PREFIX)


class UnknownOperationException(SecretsManagerError):
    pass


class SerializationException(SecretsManagerError):
    pass


class AccessDeniedException(SecretsManagerError):
    pass


class UnrecognizedClientException(SecretsManagerError):
    pass


class InvalidSignatureException(SecretsManagerError):
    pass


_AS_SECRETS_MANAGER: dict[str, type[SecretsManagerError]] = {
    "UnauthorizedException": UnrecognizedClientException,
    "ForbiddenException": InvalidSignatureException,
    "BadRequestException": InvalidParameterException,
    "InternalServerErrorException": InternalServiceError,
}
"""How errors raised outside this API (the authentication gate) read to a Secrets Manager
client."""


def error_response(error: StewardError, request_id: str) -> Response:
    if not isinstance(error, SecretsManagerError):
        kind = _AS_SECRETS_MANAGER.get(error.error_type, InternalServiceError)
        error = kind(error.message)
    return json_response(
        {"__type": error.error_type, "Message": error.message}, request_id, error.status
    )


def _unknown_operation(target: str) -> UnknownOperationException:
    """The message names this service, so that a client pointed at the wrong one can tell."""
    return UnknownOperationException(
        f"Steward's Secrets Manager has no operation {target or '(no X-Amz-Target)'}."
    )


# --- reading the request ------------------------------------------------------------------------
def _member(body: Body, name: str, kind: type, required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidParameterException(f"You must provide a value for the {name} parameter.")
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidParameterException(f"{name} must be an integer.")
    if kind is not int and not isinstance(value, kind):
        raise InvalidParameterException(f"{name} must be a {kind.__name__}.")
    return value


def _string(body: Body, name: str, required: bool = False, max_length: int = 2048) -> Any:
    value = _member(body, name, str, required)
    if value is not None and len(value) > max_length:
        raise InvalidParameterException(f"{name} is longer than {max_length} characters.")
    return value


def _binary(body: Body, name: str) -> bytes | None:
    value = _member(body, name, str)
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidParameterException(f"{name} must be base64.") from None


def _tags(body: Body) -> list[dict[str, str]]:
    tags = _member(body, "Tags", list) or []
    result = []
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
            raise InvalidParameterException("Each tag needs a Key (and a Value).")
        value = tag.get("Value", "")
        if not isinstance(value, str):
            raise InvalidParameterException("A tag's Value must be a string.")
        result.append({"Key": tag["Key"], "Value": value})
    return result


def _timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _without_none(body: Body) -> Body:
    return {k: v for k, v in body.items() if v is not None and v != []}


def _described(description: SecretDescription, stages_member: str) -> Body:
    record = description.record
    return _without_none(
        {
            "ARN": record.arn,
            "Name": record.name,
            "Description": record.description,
            "KmsKeyId": record.kms_key_id,
            "RotationEnabled": False,
            "LastChangedDate": _timestamp(record.last_changed_time),
            "LastAccessedDate": _timestamp(record.last_accessed_time),
            "DeletedDate": _timestamp(record.deletion_time),
            "Tags": record.tags,
            stages_member: description.versions_to_stages or None,
            "CreatedDate": _timestamp(record.creation_time),
        }
    )


# --- operations ---------------------------------------------------------------------------------
def create_secret(secrets: Secrets, body: Body) -> Body:
    if body.get("AddReplicaRegions"):
        raise InvalidRequestException("Steward does not replicate secrets to other regions.")
    record, version_id = secrets.create(
        _string(body, "Name", required=True, max_length=512),
        string_value=_string(body, "SecretString", max_length=65536),
        binary_value=_binary(body, "SecretBinary"),
        description=_string(body, "Description"),
        kms_key_id=_string(body, "KmsKeyId"),
        tags=_tags(body),
        client_request_token=_string(body, "ClientRequestToken", max_length=64),
    )
    return _without_none({"ARN": record.arn, "Name": record.name, "VersionId": version_id})


def get_secret_value(secrets: Secrets, body: Body) -> Body:
    value = secrets.get_value(
        _string(body, "SecretId", required=True),
        version_id=_string(body, "VersionId", max_length=64),
        stage=_string(body, "VersionStage", max_length=256),
    )
    return _without_none(
        {
            "ARN": value.arn,
            "Name": value.name,
            "VersionId": value.version_id,
            "SecretString": value.string,
            "SecretBinary": base64.b64encode(value.binary).decode() if value.binary else None,
            "VersionStages": value.stages,
            "CreatedDate": _timestamp(value.creation_time),
        }
    )


def put_secret_value(secrets: Secrets, body: Body) -> Body:
    stages = _member(body, "VersionStages", list)
    if stages is not None and not all(isinstance(s, str) and s for s in stages):
        raise InvalidParameterException("VersionStages must be a list of labels.")
    record, version_id, applied = secrets.put_value(
        _string(body, "SecretId", required=True),
        string_value=_string(body, "SecretString", max_length=65536),
        binary_value=_binary(body, "SecretBinary"),
        stages=stages,
        client_request_token=_string(body, "ClientRequestToken", max_length=64),
    )
    return {
        "ARN": record.arn,
        "Name": record.name,
        "VersionId": version_id,
        "VersionStages": applied,
    }


def describe_secret(secrets: Secrets, body: Body) -> Body:
    return _described(
        secrets.describe(_string(body, "SecretId", required=True)), "VersionIdsToStages"
    )


def _matches(description: SecretDescription, key: str, value: str) -> bool:
    negate = value.startswith("!")
    value = value.removeprefix("!")
    record = description.record
    tags = record.tags
    candidates: dict[str, list[str]] = {
        "name": [record.name],
        "description": [(record.description or "").lower()],
        "tag-key": [t["Key"] for t in tags],
        "tag-value": [t.get("Value", "") for t in tags],
        "primary-region": [],
        "owning-service": [],
    }
    if key == "all":
        words = [w.lower() for w in value.split()]
        fields = [record.name, record.description or ""] + [
            part for t in tags for part in (t["Key"], t.get("Value", ""))
        ]
        found = all(any(w in f.lower() for f in fields) for w in words)
    else:
        wanted = value.lower() if key == "description" else value
        found = any(c.startswith(wanted) for c in candidates[key])
    return found != negate


_SORT_KEYS: dict[str, Callable[[SecretDescription], Any]] = {
    "created-date": lambda d: d.record.creation_time,
    "last-accessed-date": lambda d: (
        d.record.last_accessed_time is not None,
        d.record.last_accessed_time or d.record.creation_time,
    ),
    "last-changed-date": lambda d: d.record.last_changed_time,
    "name": lambda d: d.record.name,
}


def list_secrets(secrets: Secrets, body: Body) -> Body:
    size = _member(body, "MaxResults", int) or MAX_RESULTS
    if not 1 <= size <= MAX_RESULTS:
        raise InvalidParameterException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    filters = _member(body, "Filters", list) or []
    sort_by = _string(body, "SortBy") or "created-date"
    order = _string(body, "SortOrder") or "desc"
    if sort_by not in _SORT_KEYS or order not in ("asc", "desc"):
        raise InvalidParameterException("SortBy or SortOrder has a value Steward does not know.")
    found = secrets.list(bool(_member(body, "IncludePlannedDeletion", bool)))
    for item in filters:
        key = item.get("Key") if isinstance(item, dict) else None
        values = item.get("Values") if isinstance(item, dict) else None
        if (
            key
            not in (
                "description",
                "name",
                "tag-key",
                "tag-value",
                "primary-region",
                "owning-service",
                "all",
            )
            or not isinstance(values, list)
            or not values
        ):
            raise InvalidParameterException("Each filter needs a known Key and some Values.")
        found = [d for d in found if any(_matches(d, key, str(v)) for v in values)]
    found.sort(key=_SORT_KEYS[sort_by], reverse=order == "desc")
    token = _string(body, "NextToken", max_length=4096)
    start = _offset(token) if token else 0
    end = start + size
    result: Body = {
        "SecretList": [_described(d, "SecretVersionsToStages") for d in found[start:end]]
    }
    if end < len(found):
        result["NextToken"] = base64.urlsafe_b64encode(
            json.dumps({"offset": end}).encode()
        ).decode()
    return result


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidNextTokenException("The NextToken value is invalid.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidNextTokenException("The NextToken value is invalid.")
    return offset


def delete_secret(secrets: Secrets, body: Body) -> Body:
    arn, name, when = secrets.delete(
        _string(body, "SecretId", required=True),
        recovery_window_days=_member(body, "RecoveryWindowInDays", int),
        force=bool(_member(body, "ForceDeleteWithoutRecovery", bool)),
    )
    return _without_none({"ARN": arn, "Name": name, "DeletionDate": _timestamp(when)})


def restore_secret(secrets: Secrets, body: Body) -> Body:
    record = secrets.restore(_string(body, "SecretId", required=True))
    return {"ARN": record.arn, "Name": record.name}


OPERATIONS: dict[str, Callable[[Secrets, Body], Body]] = {
    "CreateSecret": create_secret,
    "GetSecretValue": get_secret_value,
    "PutSecretValue": put_secret_value,
    "DescribeSecret": describe_secret,
    "ListSecrets": list_secrets,
    "DeleteSecret": delete_secret,
    "RestoreSecret": restore_secret,
}


def with_secrets_manager(rest_api: ASGIApp, secrets: Secrets) -> ASGIApp:
    """One endpoint for both protocols: a `POST /` that names a Secrets Manager operation in
    `X-Amz-Target` goes to Secrets Manager, everything else to `rest_api` (MSK's routes)."""
    endpoint = JsonEndpoint(
        target_prefix=TARGET_PREFIX,
        operations=OPERATIONS,
        service=secrets,
        error_response=error_response,
        unknown_operation=_unknown_operation,
        serialization=SerializationException,
        internal=InternalServiceError,
        bare_operations=False,
        log=log,
    )
    return with_json_endpoint(endpoint, rest_api)
