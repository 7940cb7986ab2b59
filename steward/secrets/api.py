"""The Secrets-Manager-compatible endpoint: AWS JSON 1.1, `POST /` with
`X-Amz-Target: secretsmanager.<Operation>`, so that boto3's `secretsmanager` client (and the AWS
CLI, Terraform's aws_secretsmanager_* resources) work against Steward's endpoint unchanged. Errors
are `{"__type": <Name>, "Message": ...}` (HTTP 400, or 500).

Served: CreateSecret, GetSecretValue, PutSecretValue, UpdateSecret, DescribeSecret, ListSecrets,
ListSecretVersionIds, UpdateSecretVersionStage, TagResource, UntagResource, GetResourcePolicy,
PutResourcePolicy, DeleteResourcePolicy, ValidateResourcePolicy, DeleteSecret, RestoreSecret and
GetRandomPassword. Only GetSecretValue answers with a value. The model's other operations
(rotation, replication, BatchGetSecretValue, ListResourcePolicies) answer InvalidRequestException
saying what Steward does not do; a target the model does not have, UnknownOperationException.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Scope

from steward.domain.errors import StewardError
from steward.secrets import passwords, policies
from steward.secrets import request_members as members
from steward.secrets.errors import (
    InternalServiceError,
    InvalidParameterException,
    InvalidRequestException,
    SecretsManagerError,
)
from steward.secrets.passwords import PasswordRules
from steward.secrets.service import SecretDescription, Secrets
from steward.secrets.unsupported import UNSUPPORTED_OPERATIONS
from steward.wire.json_protocol import (
    Body,
    JsonEndpoint,
    json_response,
    names_target,
    with_json_endpoint,
)

log = logging.getLogger(__name__)

TARGET_PREFIX = "secretsmanager."
DEFAULT_KMS_KEY = "DefaultEncryptionKey"
"""How Secrets Manager names the key of a version sealed without a KmsKeyId of its own."""


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
    "AccessDeniedException": AccessDeniedException,
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


def _described(description: SecretDescription, stages_member: str) -> Body:
    record = description.record
    return members.without_none(
        {
            "ARN": record.arn,
            "Name": record.name,
            "Description": record.description,
            "KmsKeyId": record.kms_key_id,
            "RotationEnabled": False,
            "LastChangedDate": members.timestamp(record.last_changed_time),
            "LastAccessedDate": members.timestamp(record.last_accessed_time),
            "DeletedDate": members.timestamp(record.deletion_time),
            "Tags": record.tags,
            stages_member: description.versions_to_stages or None,
            "CreatedDate": members.timestamp(record.creation_time),
        }
    )


# --- operations ---------------------------------------------------------------------------------
def _refuse_external(body: Body) -> None:
    if body.get("Type") is not None:
        raise InvalidRequestException("Steward keeps no managed external secrets: leave Type out.")


def create_secret(secrets: Secrets, body: Body) -> Body:
    if body.get("AddReplicaRegions"):
        raise InvalidRequestException("Steward does not replicate secrets to other regions.")
    _refuse_external(body)
    record, version_id = secrets.create(
        members.text(body, "Name", required=True, max_length=512),
        string_value=members.text(body, "SecretString", max_length=65536),
        binary_value=members.binary(body, "SecretBinary"),
        description=members.text(body, "Description"),
        kms_key_id=members.text(body, "KmsKeyId"),
        tag_list=members.tags(body),
        client_request_token=members.text(body, "ClientRequestToken", max_length=64),
    )
    return members.without_none({"ARN": record.arn, "Name": record.name, "VersionId": version_id})


def get_secret_value(secrets: Secrets, body: Body) -> Body:
    value = secrets.get_value(
        members.text(body, "SecretId", required=True),
        version_id=members.text(body, "VersionId", max_length=64),
        stage=members.text(body, "VersionStage", max_length=256),
    )
    return members.without_none(
        {
            "ARN": value.arn,
            "Name": value.name,
            "VersionId": value.version_id,
            "SecretString": value.string,
            "SecretBinary": base64.b64encode(value.binary).decode() if value.binary else None,
            "VersionStages": value.stages,
            "CreatedDate": members.timestamp(value.creation_time),
        }
    )


def put_secret_value(secrets: Secrets, body: Body) -> Body:
    stages = members.strings(body, "VersionStages")
    record, version_id, applied = secrets.put_value(
        members.text(body, "SecretId", required=True),
        string_value=members.text(body, "SecretString", max_length=65536),
        binary_value=members.binary(body, "SecretBinary"),
        stages=stages,
        client_request_token=members.text(body, "ClientRequestToken", max_length=64),
    )
    return {
        "ARN": record.arn,
        "Name": record.name,
        "VersionId": version_id,
        "VersionStages": applied,
    }


def update_secret(secrets: Secrets, body: Body) -> Body:
    _refuse_external(body)
    record, version_id = secrets.update(
        members.text(body, "SecretId", required=True),
        description=members.text(body, "Description"),
        kms_key_id=members.text(body, "KmsKeyId"),
        string_value=members.text(body, "SecretString", max_length=65536),
        binary_value=members.binary(body, "SecretBinary"),
        client_request_token=members.text(body, "ClientRequestToken", max_length=64),
    )
    return members.without_none({"ARN": record.arn, "Name": record.name, "VersionId": version_id})


def describe_secret(secrets: Secrets, body: Body) -> Body:
    return _described(
        secrets.describe(members.text(body, "SecretId", required=True)), "VersionIdsToStages"
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


_FILTER_KEYS = (
    "description",
    "name",
    "tag-key",
    "tag-value",
    "primary-region",
    "owning-service",
    "all",
)
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
    filters = members.member(body, "Filters", list) or []
    sort_by = members.text(body, "SortBy") or "created-date"
    order = members.text(body, "SortOrder") or "desc"
    if sort_by not in _SORT_KEYS or order not in ("asc", "desc"):
        raise InvalidParameterException("SortBy or SortOrder has a value Steward does not know.")
    found = secrets.list(members.flag(body, "IncludePlannedDeletion"))
    for item in filters:
        key = item.get("Key") if isinstance(item, dict) else None
        values = item.get("Values") if isinstance(item, dict) else None
        if key not in _FILTER_KEYS or not isinstance(values, list) or not values:
            raise InvalidParameterException("Each filter needs a known Key and some Values.")
        found = [d for d in found if any(_matches(d, key, str(v)) for v in values)]
    found.sort(key=_SORT_KEYS[sort_by], reverse=order == "desc")
    shown, following = members.page(found, body)
    result: Body = {"SecretList": [_described(d, "SecretVersionsToStages") for d in shown]}
    if following:
        result["NextToken"] = following
    return result


def list_secret_version_ids(secrets: Secrets, body: Body) -> Body:
    record, versions = secrets.list_versions(
        members.text(body, "SecretId", required=True),
        include_deprecated=members.flag(body, "IncludeDeprecated"),
    )
    shown, following = members.page(versions, body)
    key = record.kms_key_id or DEFAULT_KMS_KEY
    result: Body = {
        "Versions": [
            members.without_none(
                {
                    "VersionId": v.version_id,
                    "VersionStages": v.stages,
                    "LastAccessedDate": members.timestamp(v.last_accessed_time),
                    "CreatedDate": members.timestamp(v.creation_time),
                    "KmsKeyIds": [key],
                }
            )
            for v in shown
        ],
        "ARN": record.arn,
        "Name": record.name,
    }
    if following:
        result["NextToken"] = following
    return result


def update_secret_version_stage(secrets: Secrets, body: Body) -> Body:
    record = secrets.move_stage(
        members.text(body, "SecretId", required=True),
        members.text(body, "VersionStage", required=True, max_length=256),
        move_to=members.text(body, "MoveToVersionId", max_length=64),
        remove_from=members.text(body, "RemoveFromVersionId", max_length=64),
    )
    return {"ARN": record.arn, "Name": record.name}


def tag_resource(secrets: Secrets, body: Body) -> Body:
    secrets.tag(members.text(body, "SecretId", required=True), members.tags(body, required=True))
    return {}


def untag_resource(secrets: Secrets, body: Body) -> Body:
    secrets.untag(
        members.text(body, "SecretId", required=True),
        members.strings(body, "TagKeys", required=True) or [],
    )
    return {}


def get_resource_policy(secrets: Secrets, body: Body) -> Body:
    name = members.text(body, "PolicyName", max_length=64)
    record = secrets.resource_policy(members.text(body, "SecretId", required=True), name)
    return members.without_none(
        {
            "ARN": record.arn,
            "Name": record.name,
            "ResourcePolicy": record.resource_policy,
            "PolicyName": policies.DEFAULT_POLICY_NAME if record.resource_policy else None,
        }
    )


def put_resource_policy(secrets: Secrets, body: Body) -> Body:
    record = secrets.put_resource_policy(
        members.text(body, "SecretId", required=True),
        members.text(body, "ResourcePolicy", required=True, max_length=policies.MAX_POLICY_LENGTH),
        policy_name=members.text(body, "PolicyName", max_length=64),
        block_public_policy=members.flag(body, "BlockPublicPolicy"),
    )
    return {"ARN": record.arn, "Name": record.name, "PolicyName": policies.DEFAULT_POLICY_NAME}


def delete_resource_policy(secrets: Secrets, body: Body) -> Body:
    record = secrets.delete_resource_policy(
        members.text(body, "SecretId", required=True),
        members.text(body, "PolicyName", max_length=64),
    )
    return {"ARN": record.arn, "Name": record.name, "PolicyName": policies.DEFAULT_POLICY_NAME}


def validate_resource_policy(secrets: Secrets, body: Body) -> Body:
    problems = secrets.validate_resource_policy(
        members.text(body, "ResourcePolicy", required=True, max_length=policies.MAX_POLICY_LENGTH),
        members.text(body, "SecretId"),
    )
    return {
        "PolicyValidationPassed": not problems,
        "ValidationErrors": [
            {"CheckName": p.check_name, "ErrorMessage": p.message} for p in problems
        ],
    }


def delete_secret(secrets: Secrets, body: Body) -> Body:
    arn, name, when = secrets.delete(
        members.text(body, "SecretId", required=True),
        recovery_window_days=members.member(body, "RecoveryWindowInDays", int),
        force=members.flag(body, "ForceDeleteWithoutRecovery"),
    )
    return members.without_none({"ARN": arn, "Name": name, "DeletionDate": members.timestamp(when)})


def restore_secret(secrets: Secrets, body: Body) -> Body:
    record = secrets.restore(members.text(body, "SecretId", required=True))
    return {"ARN": record.arn, "Name": record.name}


def get_random_password(secrets: Secrets, body: Body) -> Body:
    length = members.member(body, "PasswordLength", int)
    rules = PasswordRules(
        length=passwords.DEFAULT_LENGTH if length is None else length,
        exclude_characters=members.text(
            body, "ExcludeCharacters", max_length=passwords.MAX_EXCLUDED_CHARACTERS
        )
        or "",
        exclude_numbers=members.flag(body, "ExcludeNumbers"),
        exclude_punctuation=members.flag(body, "ExcludePunctuation"),
        exclude_uppercase=members.flag(body, "ExcludeUppercase"),
        exclude_lowercase=members.flag(body, "ExcludeLowercase"),
        include_space=members.flag(body, "IncludeSpace"),
        require_each_included_type=members.flag(body, "RequireEachIncludedType", default=True),
    )
    return {"RandomPassword": secrets.random_password(rules)}


Operation = Callable[[Secrets, Body], Body]

SERVED: dict[str, Operation] = {
    "CreateSecret": create_secret,
    "GetSecretValue": get_secret_value,
    "PutSecretValue": put_secret_value,
    "UpdateSecret": update_secret,
    "DescribeSecret": describe_secret,
    "ListSecrets": list_secrets,
    "ListSecretVersionIds": list_secret_version_ids,
    "UpdateSecretVersionStage": update_secret_version_stage,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "GetResourcePolicy": get_resource_policy,
    "PutResourcePolicy": put_resource_policy,
    "DeleteResourcePolicy": delete_resource_policy,
    "ValidateResourcePolicy": validate_resource_policy,
    "DeleteSecret": delete_secret,
    "RestoreSecret": restore_secret,
    "GetRandomPassword": get_random_password,
}


def _refusal(message: str) -> Operation:
    def refuse(secrets: Secrets, body: Body) -> Body:
        raise InvalidRequestException(message)

    return refuse


OPERATIONS: dict[str, Operation] = SERVED | {
    name: _refusal(message) for name, message in UNSUPPORTED_OPERATIONS.items()
}
"""Every operation of Secrets Manager's model: served, or refused saying what Steward does not
do."""


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
