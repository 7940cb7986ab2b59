"""IAM and STS on Steward's endpoint, in AWS's Query protocol (`steward.wire.query_protocol`):
each operation takes the request's members and answers the members of its result, as boto3's
`iam` and `sts` models name them.

Who is calling (for CreateAccessKey without a UserName, GetCallerIdentity, AssumeRole) is the
`Caller` the authentication gate found, in `CURRENT_CALLER`; with authentication off it is the
administrator user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

from steward.iam import arns
from steward.iam.errors import InvalidAction, ServiceFailure, ValidationError
from steward.iam.service import Caller, IdentityAccess
from steward.iam.store import ROLE, USER, PolicyRecord, PolicyVersion, RoleRecord, UserRecord
from steward.store.access_keys import AccessKey
from steward.wire.query_protocol import Operation, QueryEndpoint

log = logging.getLogger(__name__)

Body = dict[str, Any]

CURRENT_CALLER: ContextVar[Caller | None] = ContextVar("steward_iam_caller", default=None)
"""The caller of the request being served; set by the authentication gate."""


def caller(iam: IdentityAccess) -> Caller:
    return CURRENT_CALLER.get() or iam.administrator()


def _document(text: str) -> str:
    """IAM answers policy documents URL-encoded (boto3 decodes them back into objects)."""
    return quote(text, safe="")


def _page(items: list[Any], members: Body, key: str) -> Body:
    """IAM's Marker/MaxItems paging over `items`, as `key`."""
    start = int(members.get("Marker") or 0) if str(members.get("Marker") or "0").isdigit() else 0
    size = int(members.get("MaxItems") or 100)
    if not 1 <= size <= 1000:
        raise ValidationError("MaxItems must be between 1 and 1000.")
    page = items[start : start + size]
    body: Body = {key: page, "IsTruncated": start + size < len(items)}
    if body["IsTruncated"]:
        body["Marker"] = str(start + size)
    return body


def _user(iam: IdentityAccess, user: UserRecord) -> Body:
    shown: Body = {
        "Path": user.path,
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": arns.user_arn(iam.account, user.user_name, user.path),
        "CreateDate": user.create_date,
    }
    if user.tags:
        shown["Tags"] = user.tags
    return shown


def _role(iam: IdentityAccess, role: RoleRecord) -> Body:
    shown: Body = {
        "Path": role.path,
        "RoleName": role.role_name,
        "RoleId": role.role_id,
        "Arn": arns.role_arn(iam.account, role.role_name, role.path),
        "CreateDate": role.create_date,
        "AssumeRolePolicyDocument": _document(role.assume_role_policy),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.tags:
        shown["Tags"] = role.tags
    return shown


def _policy(iam: IdentityAccess, policy: PolicyRecord) -> Body:
    return {
        "PolicyName": policy.policy_name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": iam.attachment_count(policy.arn),
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "Description": policy.description,
        "CreateDate": policy.create_date,
        "UpdateDate": policy.update_date,
    }


def _version(version: PolicyVersion, default: str) -> Body:
    return {
        "Document": _document(version.document),
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == default,
        "CreateDate": version.create_date,
    }


def _key_metadata(key: AccessKey) -> Body:
    return {
        "UserName": key.user_name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status,
        "CreateDate": key.creation_time,
    }


def _user_of_request(iam: IdentityAccess, members: Body) -> str:
    """The UserName a key operation names, else the caller's own user."""
    if members.get("UserName"):
        return str(members["UserName"])
    who = caller(iam)
    if who.user_name is None:
        raise ValidationError("Must specify userName when calling with non-User credentials")
    return who.user_name


# -- users --------------------------------------------------------------------------------------
def create_user(iam: IdentityAccess, m: Body) -> Body:
    user = iam.create_user(m["UserName"], m.get("Path", "/"), m.get("Tags"))
    return {"User": _user(iam, user)}


def get_user(iam: IdentityAccess, m: Body) -> Body:
    name = m.get("UserName") or caller(iam).user_name
    if name is None:
        raise ValidationError("Must specify userName when calling with non-User credentials")
    return {"User": _user(iam, iam.user(name))}


def list_users(iam: IdentityAccess, m: Body) -> Body:
    users = [_user(iam, u) for u in iam.users(m.get("PathPrefix", "/"))]
    return _page(users, m, "Users")


def delete_user(iam: IdentityAccess, m: Body) -> None:
    iam.delete_user(m["UserName"])


def tag_user(iam: IdentityAccess, m: Body) -> None:
    iam.tag_user(m["UserName"], m.get("Tags", []))


def untag_user(iam: IdentityAccess, m: Body) -> None:
    iam.untag_user(m["UserName"], m.get("TagKeys", []))


def list_user_tags(iam: IdentityAccess, m: Body) -> Body:
    return _page(iam.user(m["UserName"]).tags, m, "Tags")


# -- access keys --------------------------------------------------------------------------------
def create_access_key(iam: IdentityAccess, m: Body) -> Body:
    made = iam.create_access_key(_user_of_request(iam, m))
    return {
        "AccessKey": {
            **_key_metadata(made.key),
            "SecretAccessKey": made.secret_access_key,
        }
    }


def list_access_keys(iam: IdentityAccess, m: Body) -> Body:
    keys = [_key_metadata(k) for k in iam.access_keys(_user_of_request(iam, m))]
    return _page(keys, m, "AccessKeyMetadata")


def update_access_key(iam: IdentityAccess, m: Body) -> None:
    iam.update_access_key(m["AccessKeyId"], m["Status"], _user_of_request(iam, m))


def delete_access_key(iam: IdentityAccess, m: Body) -> None:
    iam.delete_access_key(m["AccessKeyId"], _user_of_request(iam, m))


def get_access_key_last_used(iam: IdentityAccess, m: Body) -> Body:
    key = iam.access_key_last_used(m["AccessKeyId"])
    last: Body = {"ServiceName": "N/A", "Region": "N/A"}
    if key.last_used_time is not None:
        last = {
            "LastUsedDate": key.last_used_time,
            "ServiceName": key.last_used_service or "steward",
            "Region": iam.region,
        }
    return {"UserName": key.user_name, "AccessKeyLastUsed": last}


# -- roles --------------------------------------------------------------------------------------
def create_role(iam: IdentityAccess, m: Body) -> Body:
    role = iam.create_role(
        m["RoleName"],
        m["AssumeRolePolicyDocument"],
        m.get("Path", "/"),
        m.get("Description"),
        m.get("MaxSessionDuration", 3600),
        m.get("Tags"),
    )
    return {"Role": _role(iam, role)}


def get_role(iam: IdentityAccess, m: Body) -> Body:
    return {"Role": _role(iam, iam.role(m["RoleName"]))}


def list_roles(iam: IdentityAccess, m: Body) -> Body:
    return _page([_role(iam, r) for r in iam.roles(m.get("PathPrefix", "/"))], m, "Roles")


def delete_role(iam: IdentityAccess, m: Body) -> None:
    iam.delete_role(m["RoleName"])


def update_assume_role_policy(iam: IdentityAccess, m: Body) -> None:
    iam.update_trust_policy(m["RoleName"], m["PolicyDocument"])


# -- managed policies ---------------------------------------------------------------------------
def create_policy(iam: IdentityAccess, m: Body) -> Body:
    policy = iam.create_policy(
        m["PolicyName"], m["PolicyDocument"], m.get("Path", "/"), m.get("Description")
    )
    return {"Policy": _policy(iam, policy)}


def get_policy(iam: IdentityAccess, m: Body) -> Body:
    return {"Policy": _policy(iam, iam.policy(m["PolicyArn"]))}


def list_policies(iam: IdentityAccess, m: Body) -> Body:
    shown = [_policy(iam, p) for p in iam.policies(m.get("Scope", "All"))]
    prefix = m.get("PathPrefix", "/")
    shown = [p for p in shown if p["Path"].startswith(prefix)]
    if m.get("OnlyAttached"):
        shown = [p for p in shown if p["AttachmentCount"]]
    return _page(shown, m, "Policies")


def delete_policy(iam: IdentityAccess, m: Body) -> None:
    iam.delete_policy(m["PolicyArn"])


def get_policy_version(iam: IdentityAccess, m: Body) -> Body:
    policy = iam.policy(m["PolicyArn"])
    version = iam.policy_version(m["PolicyArn"], m["VersionId"])
    return {"PolicyVersion": _version(version, policy.default_version_id)}


def list_policy_versions(iam: IdentityAccess, m: Body) -> Body:
    policy = iam.policy(m["PolicyArn"])
    versions = [_version(v, policy.default_version_id) for v in iam.policy_versions(policy.arn)]
    for version in versions:
        del version["Document"]
    return _page(versions, m, "Versions")


def create_policy_version(iam: IdentityAccess, m: Body) -> Body:
    version = iam.create_policy_version(
        m["PolicyArn"], m["PolicyDocument"], bool(m.get("SetAsDefault", False))
    )
    policy = iam.policy(m["PolicyArn"])
    shown = _version(version, policy.default_version_id)
    del shown["Document"]
    return {"PolicyVersion": shown}


def set_default_policy_version(iam: IdentityAccess, m: Body) -> None:
    iam.set_default_policy_version(m["PolicyArn"], m["VersionId"])


def delete_policy_version(iam: IdentityAccess, m: Body) -> None:
    iam.delete_policy_version(m["PolicyArn"], m["VersionId"])


# -- attachments and inline policies, for users and roles ---------------------------------------
def _attachments(kind: str, member: str) -> dict[str, Operation]:
    title = kind.capitalize()

    def attach(iam: IdentityAccess, m: Body) -> None:
        iam.attach_policy(kind, m[member], m["PolicyArn"])

    def detach(iam: IdentityAccess, m: Body) -> None:
        iam.detach_policy(kind, m[member], m["PolicyArn"])

    def list_attached(iam: IdentityAccess, m: Body) -> Body:
        attached = [
            {"PolicyName": name, "PolicyArn": arn}
            for name, arn in iam.attached_policies(kind, m[member])
        ]
        return _page(attached, m, "AttachedPolicies")

    def put(iam: IdentityAccess, m: Body) -> None:
        iam.put_inline_policy(kind, m[member], m["PolicyName"], m["PolicyDocument"])

    def get(iam: IdentityAccess, m: Body) -> Body:
        document = iam.inline_policy(kind, m[member], m["PolicyName"])
        return {
            member: m[member],
            "PolicyName": m["PolicyName"],
            "PolicyDocument": _document(document),
        }

    def list_inline(iam: IdentityAccess, m: Body) -> Body:
        return _page(iam.inline_policy_names(kind, m[member]), m, "PolicyNames")

    def delete(iam: IdentityAccess, m: Body) -> None:
        iam.delete_inline_policy(kind, m[member], m["PolicyName"])

    return {
        f"Attach{title}Policy": attach,
        f"Detach{title}Policy": detach,
        f"ListAttached{title}Policies": list_attached,
        f"Put{title}Policy": put,
        f"Get{title}Policy": get,
        f"List{title}Policies": list_inline,
        f"Delete{title}Policy": delete,
    }


IAM_OPERATIONS: dict[str, Operation] = {
    "CreateUser": create_user,
    "GetUser": get_user,
    "ListUsers": list_users,
    "DeleteUser": delete_user,
    "TagUser": tag_user,
    "UntagUser": untag_user,
    "ListUserTags": list_user_tags,
    "CreateAccessKey": create_access_key,
    "ListAccessKeys": list_access_keys,
    "UpdateAccessKey": update_access_key,
    "DeleteAccessKey": delete_access_key,
    "GetAccessKeyLastUsed": get_access_key_last_used,
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "DeleteRole": delete_role,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "GetPolicyVersion": get_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "CreatePolicyVersion": create_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "DeletePolicyVersion": delete_policy_version,
    **_attachments(USER, "UserName"),
    **_attachments(ROLE, "RoleName"),
}


# -- STS ----------------------------------------------------------------------------------------
def get_caller_identity(iam: IdentityAccess, _: Body) -> Body:
    who = caller(iam)
    return {"UserId": who.user_id, "Account": who.account, "Arn": who.arn}


def assume_role(iam: IdentityAccess, m: Body) -> Body:
    made = iam.assume_role(
        caller(iam), m["RoleArn"], m["RoleSessionName"], m.get("DurationSeconds")
    )
    return {
        "Credentials": {
            "AccessKeyId": made.access_key_id,
            "SecretAccessKey": made.secret_access_key,
            "SessionToken": made.session_token,
            "Expiration": made.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": made.assumed_role_id, "Arn": made.assumed_role_arn},
    }


STS_OPERATIONS: dict[str, Operation] = {
    "GetCallerIdentity": get_caller_identity,
    "AssumeRole": assume_role,
}


def _unknown(service: str) -> Callable[[str], InvalidAction]:
    def unknown(action: str) -> InvalidAction:
        return InvalidAction(f"Steward's {service} has no action {action or '(none)'}.")

    return unknown


def iam_endpoint(iam: IdentityAccess) -> QueryEndpoint[IdentityAccess]:
    return QueryEndpoint(
        model_name="iam",
        operations=IAM_OPERATIONS,
        service=iam,
        unknown_action=_unknown("IAM"),
        internal=ServiceFailure,
        log=log,
    )


def sts_endpoint(iam: IdentityAccess) -> QueryEndpoint[IdentityAccess]:
    return QueryEndpoint(
        model_name="sts",
        operations=STS_OPERATIONS,
        service=iam,
        unknown_action=_unknown("STS"),
        internal=ServiceFailure,
        log=log,
    )
