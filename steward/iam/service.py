"""IAM's use cases: users and their access keys, roles and the temporary credentials STS's
AssumeRole gives, managed and inline identity policies, and what a caller may do.

Who a request comes from (`Caller`) is worked out from the access key that signed it: a user's
key, or an assumed role's temporary key. A caller's policies are its user's (or its role's)
attached managed policies and inline policies; `decide` evaluates them as IAM does. Every
refusal, of an API request or of a broker's sign-in (`record_refusal`), is an audit record.

A change of any identity policy calls `on_policy_change`, which wakes the sync that compiles the
`kafka-cluster:*` statements of IAM principals to Kafka ACLs (`kafka_cluster_documents`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from steward.domain.access_policies import ACTIONS as KAFKA_CLUSTER_ACL_ACTIONS
from steward.domain.access_policies import SERVICE as KAFKA_CLUSTER
from steward.domain.policy_evaluation import (
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Context,
    Decision,
    NamedPolicy,
    check_conditions,
    conditions_hold,
    evaluate,
)
from steward.domain.policy_grammar import (
    Policy,
    PolicyError,
    Statement,
    matches_action,
    parse_policy,
)
from steward.domain.sign_in_refusals import SignInRefusal
from steward.domain.signing_identity import SigningIdentity
from steward.iam import arns
from steward.iam.errors import (
    AccessDenied,
    DeleteConflict,
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
)
from steward.iam.store import (
    ROLE,
    USER,
    AuditRecord,
    DuplicateEntity,
    IamRecords,
    PolicyRecord,
    PolicyVersion,
    RoleRecord,
    SessionRecord,
    UserRecord,
)
from steward.store.access_keys import (
    ACTIVE,
    ADMINISTRATOR_USER,
    INACTIVE,
    AccessKey,
    AccessKeys,
    DuplicateAccessKeyError,
    new_unique_id,
)

log = logging.getLogger(__name__)

MAX_KEYS_PER_USER = 2
"""As IAM: a user has at most two access keys (so one can be rotated)."""
MAX_POLICY_VERSIONS = 5
MAX_DOCUMENT_CHARACTERS = 6144
"""IAM's limit on a managed policy's size (inline ones are limited per principal; Steward uses
the managed limit for both, and counts characters without whitespace)."""
DEFAULT_SESSION_SECONDS = 3600
MIN_SESSION_SECONDS = 900
ACCESS_KEY_PREFIX = "STW"
SESSION_KEY_PREFIX = "STS"
"""Where AWS's temporary keys start with ASIA, Steward's start with STS."""
_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_PATH = re.compile(r"(/[\x21-\x7e]*)?/")
_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
CONNECT_ACTION = f"{KAFKA_CLUSTER}:Connect"
USE_RECORD_INTERVAL = timedelta(minutes=1)
"""A key's last use is written at most this often: not at every request."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_access_key_id(prefix: str = ACCESS_KEY_PREFIX) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(17))


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


@dataclass(frozen=True)
class Caller:
    """Who signed a request."""

    arn: str
    account: str
    user_id: str
    """GetCallerIdentity's UserId: a user's unique id, or `<role id>:<session>`."""
    user_name: str | None = None
    role_name: str | None = None
    session_name: str | None = None
    access_key_id: str | None = None
    token_issued: datetime | None = None

    @property
    def principal_type(self) -> str:
        return "AssumedRole" if self.role_name else "User"

    @property
    def principal_arn(self) -> str:
        """`aws:PrincipalArn`: for an assumed role, the role's ARN."""
        if self.role_name:
            return arns.role_arn(self.account, self.role_name)
        return self.arn


@dataclass(frozen=True)
class NewKey:
    """A key just made: the only moment its secret is shown."""

    key: AccessKey
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    assumed_role_arn: str
    assumed_role_id: str


@dataclass(frozen=True)
class SigningSecret:
    """What checks a request's signature: the key's secret, and for temporary credentials the
    session token the request must carry and when they stop working."""

    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires: datetime | None = None


def canonical_document(document: str, require_resource: bool = True) -> tuple[str, Policy]:
    """`document` as the store keeps it (compact JSON) and its statements; IAM's
    MalformedPolicyDocument when it is no policy."""
    if not isinstance(document, str) or not document.strip():
        raise MalformedPolicyDocument("The policy document is empty.")
    try:
        policy = parse_policy(document, require_resource=require_resource)
        check_conditions(policy)
    except PolicyError as error:
        raise MalformedPolicyDocument(f"Syntax errors in policy. {error}") from None
    text = json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_DOCUMENT_CHARACTERS:
        raise LimitExceeded(
            f"Cannot exceed quota for PolicySize: {MAX_DOCUMENT_CHARACTERS} characters."
        )
    return text, policy


def check_kafka_cluster_statements(policy: Policy) -> None:
    """A kafka-cluster statement is compiled to Kafka ACLs, which have no NotAction, NotResource
    or Condition: such a statement is refused rather than enforced differently on the brokers
    than on paper. (`*` statements, such as AdministratorAccess, compile as Action `*`.)"""
    for statement in policy.statements:
        names_kafka = statement.actions and any(
            p != "*" and matches_action(p.partition(":")[0], KAFKA_CLUSTER)
            for p in statement.actions
        )
        if statement.not_actions and any(
            matches_action(p.partition(":")[0], KAFKA_CLUSTER) for p in statement.not_actions
        ):
            names_kafka = True
        if not names_kafka:
            continue
        for key, present in (
            ("NotAction", bool(statement.not_actions)),
            ("NotResource", bool(statement.not_resources)),
            ("Condition", bool(statement.conditions)),
        ):
            if present:
                raise MalformedPolicyDocument(
                    f"{statement.name} names kafka-cluster actions, which become Kafka ACLs on "
                    f"the brokers, and ACLs have no {key}: split the kafka-cluster actions into "
                    "a statement without it."
                )


class IdentityAccess:
    """IAM and STS over the store: what the Query API and `steward iam` call."""

    def __init__(
        self,
        records: IamRecords,
        keys: AccessKeys,
        account: str,
        region: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.records = records
        self.keys = keys
        self.account = account
        self.region = region
        self.clock = clock
        self.on_policy_change: Callable[[], None] = lambda: None
        """Set by whoever runs the ACL sync: IAM principals' kafka-cluster statements changed."""
        self.on_key_change: Callable[[], None] = lambda: None
        """Set by whoever sends the brokers their signing keys: a key was made, changed or
        deleted, or a role session began."""
        self._last_use: dict[str, datetime] = {}

    # -- callers ----------------------------------------------------------------------------------
    def signing_secret(self, access_key_id: str) -> SigningSecret | None:
        """How to check a signature by `access_key_id`: None for a key that may not sign (unknown,
        or inactive). Temporary credentials come with their expiry, which the verifier checks
        (so that it can say they expired); until the next AssumeRole clears them out."""
        secret = self.keys.secret_of(access_key_id)
        if secret is not None:
            return SigningSecret(secret)
        session = self.records.session(access_key_id)
        if session is None:
            return None
        return SigningSecret(session.secret_access_key, session.session_token, session.expires)

    def caller_of(self, access_key_id: str) -> Caller | None:
        """Who signs with `access_key_id`; None for a key Steward does not know."""
        key = self.keys.get(access_key_id)
        if key is not None:
            user = self.records.user(key.user_name)
            if user is None:
                return None
            self._record_use(access_key_id)
            return Caller(
                arn=arns.user_arn(self.account, user.user_name, user.path),
                account=self.account,
                user_id=user.user_id,
                user_name=user.user_name,
                access_key_id=access_key_id,
            )
        session = self.records.session(access_key_id)
        if session is None or session.expires <= self.clock():
            return None
        role = self.records.role(session.role_name)
        if role is None:
            return None
        return Caller(
            arn=arns.assumed_role_arn(self.account, role.role_name, session.session_name),
            account=self.account,
            user_id=f"{role.role_id}:{session.session_name}",
            role_name=role.role_name,
            session_name=session.session_name,
            access_key_id=access_key_id,
            token_issued=session.create_date,
        )

    def administrator(self) -> Caller:
        """The identity of requests when authentication is off."""
        user = self.records.user(ADMINISTRATOR_USER)
        return Caller(
            arn=arns.user_arn(self.account, ADMINISTRATOR_USER),
            account=self.account,
            user_id=user.user_id if user else "AIDASTEWARDADMIN",
            user_name=ADMINISTRATOR_USER,
        )

    def _record_use(self, access_key_id: str) -> None:
        now = self.clock()
        last = self._last_use.get(access_key_id)
        if last is not None and now - last < USE_RECORD_INTERVAL:
            return
        self._last_use[access_key_id] = now
        self.keys.record_use(access_key_id, "steward", now)

    def policies_of(self, caller: Caller) -> list[NamedPolicy]:
        if caller.role_name:
            return self._policies(ROLE, caller.role_name)
        assert caller.user_name is not None
        return self._policies(USER, caller.user_name)

    def _policies(self, kind: str, name: str) -> list[NamedPolicy]:
        named = []
        for arn in self.records.attached(kind, name):
            document = self._managed_document(arn)
            if document is not None:
                named.append(NamedPolicy(arn, parse_policy(document)))
        for policy_name, document in self.records.inline(kind, name).items():
            named.append(
                NamedPolicy(f"inline policy {policy_name} of {kind} {name}", parse_policy(document))
            )
        return named

    def _managed_document(self, arn: str) -> str | None:
        if arn.startswith(arns.AWS_MANAGED_PREFIX):
            return arns.AWS_MANAGED_POLICIES.get(arns.name_of(arn))
        policy = self.records.policy(arn)
        if policy is None:
            return None
        for version in self.records.versions(arn):
            if version.version_id == policy.default_version_id:
                return version.document
        return None

    def context_of(self, caller: Caller, request: Mapping[str, str]) -> dict[str, Any]:
        """The global condition keys of a request by `caller`; `request` adds the request's own
        (aws:SourceIp, aws:SecureTransport, service-specific keys)."""
        now = self.clock()
        context: dict[str, Any] = {
            "aws:PrincipalArn": caller.principal_arn,
            "aws:PrincipalAccount": caller.account,
            "aws:PrincipalType": caller.principal_type,
            "aws:userid": caller.user_id,
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:RequestedRegion": self.region,
        }
        if caller.user_name:
            context["aws:username"] = caller.user_name
        if caller.token_issued is not None:
            context["aws:TokenIssueTime"] = caller.token_issued.strftime("%Y-%m-%dT%H:%M:%SZ")
        context.update(request)
        return context

    def decide(self, caller: Caller, action: str, resource: str, context: Context) -> Decision:
        return evaluate(self.policies_of(caller), action, resource, context)

    def authorize(
        self, caller: Caller, action: str, resource: str, request: Mapping[str, str]
    ) -> Decision:
        """The decision on `caller`'s request; a refusal is recorded in the audit."""
        decision = self.decide(caller, action, resource, self.context_of(caller, request))
        if not decision.allowed:
            self.records.add_audit(
                self.clock(), "api", caller.arn, action, resource, decision.outcome, decision.reason
            )
            log.info("refused %s %s on %s: %s", caller.arn, action, resource, decision.reason)
        return decision

    def record_refusal(
        self,
        principal: str,
        action: str,
        resource: str,
        reason: str,
        source: str = "sign-in",
        decision: str = "Deny",
        when: datetime | None = None,
        request_id: str | None = None,
    ) -> bool:
        """An audit record of a refusal Steward's API did not decide itself (a broker's IAM
        sign-in: a bad signature, an expired token, a missing Connect permission); False when
        the refusal of `request_id` is recorded already."""
        return self.records.add_audit(
            when or self.clock(), source, principal, action, resource, decision, reason, request_id
        )

    def record_sign_in_refusal(self, refusal: SignInRefusal) -> None:
        """A broker's refused sign-in (`steward.security.iam_signin.RefusalCollector` hands them
        over, again after a restart: a refusal is recorded once, by its request id). The
        principal is the key's user or role session when Steward knows the key."""
        principal = f"access key {refusal.access_key_id}" if refusal.access_key_id else "unknown"
        if refusal.access_key_id:
            caller = self._identity_of_key(refusal.access_key_id)
            if caller is not None:
                principal = caller
        reason = (
            f"{refusal.reason}: {refusal.detail} (broker {refusal.broker_id}, "
            f"{refusal.mechanism}, request {refusal.request_id})"
        )
        self.record_refusal(
            principal,
            CONNECT_ACTION,
            refusal.cluster_arn,
            reason,
            when=refusal.time,
            request_id=refusal.request_id,
        )

    def _identity_of_key(self, access_key_id: str) -> str | None:
        key = self.keys.get(access_key_id)
        if key is not None:
            user = self.records.user(key.user_name)
            return arns.user_arn(self.account, key.user_name, user.path if user else "/")
        session = self.records.session(access_key_id)
        if session is not None:
            return arns.assumed_role_arn(self.account, session.role_name, session.session_name)
        return None

    def audit(
        self,
        principal: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        return self.records.audit(principal, action, since, limit)

    def signing_identities(self) -> list[SigningIdentity]:
        """Every active key of every user, and every role session that has not expired: who may
        sign a broker's IAM sign-in."""
        identities = []
        users = {u.user_name: u for u in self.records.users()}
        for key, secret in self.keys.active_secrets():
            user = users.get(key.user_name)
            if user is None:
                continue
            identities.append(
                SigningIdentity(
                    key.access_key_id,
                    secret,
                    arns.user_arn(self.account, user.user_name, user.path),
                )
            )
        for session in self.records.sessions(self.clock()):
            identities.append(
                SigningIdentity(
                    session.access_key_id,
                    session.secret_access_key,
                    arns.assumed_role_arn(self.account, session.role_name, session.session_name),
                    session.session_token,
                    session.expires,
                )
            )
        return identities

    # -- users ------------------------------------------------------------------------------------
    def create_user(
        self, name: str, path: str = "/", tags: list[dict[str, str]] | None = None
    ) -> UserRecord:
        _check_name(name, "userName")
        _check_path(path)
        user = UserRecord(name, new_unique_id("AIDA"), path, self.clock(), list(tags or []))
        try:
            self.records.add_user(user)
        except DuplicateEntity:
            raise EntityAlreadyExists(f"User with name {name} already exists.") from None
        return user

    def user(self, name: str) -> UserRecord:
        user = self.records.user(name)
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return user

    def users(self, path_prefix: str = "/") -> list[UserRecord]:
        return [u for u in self.records.users() if u.path.startswith(path_prefix)]

    def delete_user(self, name: str) -> None:
        """As IAM: refused while the user has access keys or policies."""
        self.user(name)
        if self.keys.all_keys(name):
            raise DeleteConflict("Cannot delete entity, must delete access keys first.")
        if self.records.attached(USER, name):
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")
        if self.records.inline(USER, name):
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        self.records.remove_user(name)

    def tag_user(self, name: str, tags: list[dict[str, str]]) -> None:
        user = self.user(name)
        merged = {t["Key"]: t["Value"] for t in user.tags}
        merged.update({t["Key"]: t.get("Value", "") for t in tags})
        if len(merged) > 50:
            raise LimitExceeded("A user can have at most 50 tags.")
        self.records.set_user_tags(name, [{"Key": k, "Value": v} for k, v in merged.items()])

    def untag_user(self, name: str, keys: list[str]) -> None:
        user = self.user(name)
        self.records.set_user_tags(name, [t for t in user.tags if t["Key"] not in set(keys)])

    # -- access keys ------------------------------------------------------------------------------
    def create_access_key(self, user_name: str, description: str = "") -> NewKey:
        self.user(user_name)
        if len(self.keys.all_keys(user_name)) >= MAX_KEYS_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}.")
        return self.add_access_key(user_name, description)

    def add_access_key(
        self, user_name: str, description: str = "", access_key_id: str | None = None
    ) -> NewKey:
        """A new key of `user_name`, with no quota (Steward's own keys: `steward access-key`)."""
        key = AccessKey(access_key_id or new_access_key_id(), description, self.clock(), user_name)
        secret = new_secret()
        try:
            self.keys.add(key, secret)
        except DuplicateAccessKeyError:
            raise EntityAlreadyExists(f"Access key {key.access_key_id} exists already.") from None
        self.on_key_change()
        return NewKey(key, secret)

    def access_keys(self, user_name: str | None) -> list[AccessKey]:
        if user_name is not None:
            self.user(user_name)
        return self.keys.all_keys(user_name)

    def _key_of(self, access_key_id: str, user_name: str | None) -> AccessKey:
        key = self.keys.get(access_key_id)
        if key is None or (user_name is not None and key.user_name != user_name):
            raise NoSuchEntity(f"The Access Key with id {access_key_id} cannot be found.")
        return key

    def update_access_key(self, access_key_id: str, status: str, user_name: str | None) -> None:
        if status not in (ACTIVE, INACTIVE):
            raise ValidationError("Status must be Active or Inactive.")
        self._key_of(access_key_id, user_name)
        self.keys.set_status(access_key_id, status)
        self.on_key_change()

    def delete_access_key(self, access_key_id: str, user_name: str | None) -> None:
        self._key_of(access_key_id, user_name)
        self.keys.remove(access_key_id)
        self.on_key_change()

    def access_key_last_used(self, access_key_id: str) -> AccessKey:
        return self._key_of(access_key_id, None)

    # -- roles and STS ----------------------------------------------------------------------------
    def create_role(
        self,
        name: str,
        trust_policy: str,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int = DEFAULT_SESSION_SECONDS,
        tags: list[dict[str, str]] | None = None,
    ) -> RoleRecord:
        _check_name(name, "roleName")
        _check_path(path)
        if not 3600 <= max_session_duration <= 43200:
            raise ValidationError("MaxSessionDuration must be between 3600 and 43200 seconds.")
        text, policy = canonical_document(trust_policy, require_resource=False)
        _check_trust_policy(policy)
        role = RoleRecord(
            name,
            new_unique_id("AROA"),
            path,
            text,
            description,
            max_session_duration,
            self.clock(),
            list(tags or []),
        )
        try:
            self.records.add_role(role)
        except DuplicateEntity:
            raise EntityAlreadyExists(f"Role with name {name} already exists.") from None
        return role

    def role(self, name: str) -> RoleRecord:
        role = self.records.role(name)
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return role

    def roles(self, path_prefix: str = "/") -> list[RoleRecord]:
        return [r for r in self.records.roles() if r.path.startswith(path_prefix)]

    def update_trust_policy(self, name: str, document: str) -> None:
        self.role(name)
        text, policy = canonical_document(document, require_resource=False)
        _check_trust_policy(policy)
        self.records.set_trust_policy(name, text)

    def delete_role(self, name: str) -> None:
        self.role(name)
        if self.records.attached(ROLE, name):
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")
        if self.records.inline(ROLE, name):
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        self.records.remove_role(name)  # and its sessions: their keys sign nothing more
        self.on_policy_change()
        self.on_key_change()

    def assume_role(
        self,
        caller: Caller,
        role_arn: str,
        session_name: str,
        duration_seconds: int | None = None,
    ) -> TemporaryCredentials:
        """Temporary credentials of the role, for a caller its trust policy lets assume it (the
        caller's own policies allowing sts:AssumeRole were checked before the request got
        here)."""
        if not _SESSION_NAME.fullmatch(session_name or ""):
            raise ValidationError(
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )
        role = self.records.role(arns.name_of(role_arn))
        if role is None or role_arn != arns.role_arn(self.account, role.role_name, role.path):
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn}"
            )
        duration = DEFAULT_SESSION_SECONDS if duration_seconds is None else duration_seconds
        if not MIN_SESSION_SECONDS <= duration <= role.max_session_duration:
            raise ValidationError(
                f"The requested DurationSeconds exceeds the MaxSessionDuration set for this role "
                f"({MIN_SESSION_SECONDS} to {role.max_session_duration} seconds)."
            )
        trust = parse_policy(role.assume_role_policy, require_resource=False)
        if not _trusts(trust, caller, self.context_of(caller, {})):
            reason = f"the trust policy of role {role.role_name} does not allow it"
            self.records.add_audit(
                self.clock(), "api", caller.arn, "sts:AssumeRole", role_arn, "Deny", reason
            )
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn} because {reason}"
            )
        return self._new_session(role, session_name, caller.arn, duration)

    def service_may_assume(self, role_arn: str, service: str) -> bool:
        """Whether `role_arn` is one of Steward's roles and its trust policy lets the AWS service
        principal `service` (such as `lambda.amazonaws.com`) call sts:AssumeRole."""
        role = self.role_by_arn(role_arn)
        if role is None:
            return False
        trust = parse_policy(role.assume_role_policy, require_resource=False)
        return _trusts_service(trust, service)

    def assume_role_for_service(
        self,
        role_arn: str,
        service: str,
        session_name: str,
        duration_seconds: int = DEFAULT_SESSION_SECONDS,
    ) -> TemporaryCredentials:
        """Temporary credentials of `role_arn` for one of Steward's own services acting as the AWS
        service principal `service`: what Lambda does with a function's execution role. No user
        key signs this; the role's trust policy must name the service, as on AWS, and the refusal
        is an audit record like any AssumeRole's."""
        if not _SESSION_NAME.fullmatch(session_name or ""):
            raise ValidationError(f"The role session name {session_name!r} is not valid.")
        role = self.role_by_arn(role_arn)
        reason = f"the role {role_arn} does not exist"
        if role is not None:
            trust = parse_policy(role.assume_role_policy, require_resource=False)
            if _trusts_service(trust, service):
                longest = min(duration_seconds, role.max_session_duration)
                duration = max(MIN_SESSION_SECONDS, longest)
                return self._new_session(role, session_name, service, duration)
            reason = f"the trust policy of role {role.role_name} does not allow it"
        self.records.add_audit(
            self.clock(), "api", service, "sts:AssumeRole", role_arn, "Deny", reason
        )
        raise AccessDenied(
            f"{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn} "
            f"because {reason}"
        )

    def role_by_arn(self, role_arn: str) -> RoleRecord | None:
        """The role `role_arn` names in this account, path included; None for another."""
        role = self.records.role(arns.name_of(role_arn or ""))
        if role is None or role_arn != arns.role_arn(self.account, role.role_name, role.path):
            return None
        return role

    def _new_session(
        self, role: RoleRecord, session_name: str, source: str, duration: int
    ) -> TemporaryCredentials:
        now = self.clock()
        session = SessionRecord(
            access_key_id=new_access_key_id(SESSION_KEY_PREFIX),
            secret_access_key=new_secret(),
            session_token=secrets.token_urlsafe(96),
            role_name=role.role_name,
            session_name=session_name,
            source_identity=source,
            create_date=now,
            expires=now + timedelta(seconds=duration),
        )
        self.records.remove_expired_sessions(now)
        self.records.add_session(session)
        self.on_policy_change()  # a new Kafka principal, if the role has kafka-cluster statements
        self.on_key_change()
        return TemporaryCredentials(
            session.access_key_id,
            session.secret_access_key,
            session.session_token,
            session.expires,
            arns.assumed_role_arn(self.account, role.role_name, session_name),
            f"{role.role_id}:{session_name}",
        )

    # -- managed policies -------------------------------------------------------------------------
    def create_policy(
        self, name: str, document: str, path: str = "/", description: str | None = None
    ) -> PolicyRecord:
        if not _POLICY_NAME.fullmatch(name or ""):
            raise ValidationError(f"The policy name {name!r} is not valid.")
        _check_path(path)
        text = self._identity_document(document)
        now = self.clock()
        record = PolicyRecord(
            arns.policy_arn(self.account, name, path),
            name,
            new_unique_id("ANPA"),
            path,
            description,
            "v1",
            2,
            now,
            now,
        )
        try:
            self.records.add_policy(record, text)
        except DuplicateEntity:
            raise EntityAlreadyExists(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            ) from None
        return record

    def policy(self, arn: str) -> PolicyRecord:
        if arn.startswith(arns.AWS_MANAGED_PREFIX) and arns.name_of(arn) in (
            arns.AWS_MANAGED_POLICIES
        ):
            epoch = datetime(2015, 2, 6, 18, 39, 46, tzinfo=UTC)
            return PolicyRecord(
                arn, arns.name_of(arn), "ANPAAWSMANAGED", "/", None, "v1", 2, epoch, epoch
            )
        policy = self.records.policy(arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    def policies(self, scope: str = "All") -> list[PolicyRecord]:
        local = self.records.policies()
        if scope == "Local":
            return local
        managed = [
            self.policy(arns.AWS_MANAGED_PREFIX + name) for name in arns.AWS_MANAGED_POLICIES
        ]
        if scope == "AWS":
            return managed
        return managed + local

    def attachment_count(self, arn: str) -> int:
        return self.records.attachment_count(arn)

    def policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        policy = self.policy(arn)
        if arn.startswith(arns.AWS_MANAGED_PREFIX):
            if version_id != "v1":
                raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist.")
            document = arns.AWS_MANAGED_POLICIES[arns.name_of(arn)]
            return PolicyVersion(arn, "v1", document, policy.create_date)
        for version in self.records.versions(arn):
            if version.version_id == version_id:
                return version
        raise NoSuchEntity(
            f"Policy {arn} version {version_id} does not exist or is not attachable."
        )

    def policy_versions(self, arn: str) -> list[PolicyVersion]:
        self.policy(arn)
        if arn.startswith(arns.AWS_MANAGED_PREFIX):
            return [self.policy_version(arn, "v1")]
        return self.records.versions(arn)

    def create_policy_version(self, arn: str, document: str, set_default: bool) -> PolicyVersion:
        self._local_policy(arn)
        if len(self.records.versions(arn)) >= MAX_POLICY_VERSIONS:
            raise LimitExceeded(
                f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you "
                "create a new version, you must delete an existing version."
            )
        text = self._identity_document(document)
        version_id = self.records.add_version(arn, text, self.clock(), set_default)
        if set_default:
            self.on_policy_change()
        return self.policy_version(arn, version_id)

    def set_default_policy_version(self, arn: str, version_id: str) -> None:
        self._local_policy(arn)
        self.policy_version(arn, version_id)
        self.records.set_default_version(arn, version_id, self.clock())
        self.on_policy_change()

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        policy = self._local_policy(arn)
        self.policy_version(arn, version_id)
        if version_id == policy.default_version_id:
            raise DeleteConflict("Cannot delete the default version of a policy.")
        self.records.remove_version(arn, version_id)

    def delete_policy(self, arn: str) -> None:
        self._local_policy(arn)
        if self.records.attachment_count(arn):
            raise DeleteConflict("Cannot delete a policy attached to entities.")
        self.records.remove_policy(arn)

    def _local_policy(self, arn: str) -> PolicyRecord:
        if arn.startswith(arns.AWS_MANAGED_PREFIX):
            raise InvalidInput(f"Policy {arn} is an AWS managed policy; it cannot be changed.")
        return self.policy(arn)

    def _identity_document(self, document: str) -> str:
        text, policy = canonical_document(document)
        for statement in policy.statements:
            if statement.principals is not None or statement.not_principals is not None:
                raise MalformedPolicyDocument(
                    f"Policy document should not specify a principal ({statement.name})."
                )
        check_kafka_cluster_statements(policy)
        return text

    # -- attachments and inline policies ----------------------------------------------------------
    def _principal(self, kind: str, name: str) -> None:
        if kind == USER:
            self.user(name)
        else:
            self.role(name)

    def attach_policy(self, kind: str, name: str, policy_arn: str) -> None:
        self._principal(kind, name)
        self.policy(policy_arn)
        self.records.attach(kind, name, policy_arn)
        self.on_policy_change()

    def detach_policy(self, kind: str, name: str, policy_arn: str) -> None:
        self._principal(kind, name)
        if not self.records.detach(kind, name, policy_arn):
            raise NoSuchEntity(f"Policy {policy_arn} was not found.")
        self.on_policy_change()

    def attached_policies(self, kind: str, name: str) -> list[tuple[str, str]]:
        """(name, ARN) of each managed policy attached."""
        self._principal(kind, name)
        return [(arns.name_of(a), a) for a in self.records.attached(kind, name)]

    def put_inline_policy(self, kind: str, name: str, policy_name: str, document: str) -> None:
        self._principal(kind, name)
        if not _POLICY_NAME.fullmatch(policy_name or ""):
            raise ValidationError(f"The policy name {policy_name!r} is not valid.")
        self.records.put_inline(kind, name, policy_name, self._identity_document(document))
        self.on_policy_change()

    def inline_policy(self, kind: str, name: str, policy_name: str) -> str:
        self._principal(kind, name)
        document = self.records.inline(kind, name).get(policy_name)
        if document is None:
            raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")
        return document

    def inline_policy_names(self, kind: str, name: str) -> list[str]:
        self._principal(kind, name)
        return list(self.records.inline(kind, name))

    def delete_inline_policy(self, kind: str, name: str, policy_name: str) -> None:
        self._principal(kind, name)
        if not self.records.remove_inline(kind, name, policy_name):
            raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")
        self.on_policy_change()

    # -- the data plane ---------------------------------------------------------------------------
    def kafka_cluster_documents(self) -> dict[str, dict[str, Any]]:
        """For each user and role with statements naming `kafka-cluster:*` actions, the document
        of those statements alone, cut to what Kafka ACLs can say (other services' actions and
        resources left out), by Kafka principal (`User:<ARN>`). A role's document is the one
        its sessions sign in with, under each session's ARN."""
        documents: dict[str, dict[str, Any]] = {}
        principals: list[tuple[str, list[str]]] = []
        for user in self.records.users():
            principals.append(
                (
                    USER + ":" + user.user_name,
                    [arns.user_arn(self.account, user.user_name, user.path)],
                )
            )
        sessions = self.records.sessions(self.clock())
        for role in self.records.roles():
            session_arns = [
                arns.assumed_role_arn(self.account, role.role_name, s.session_name)
                for s in sessions
                if s.role_name == role.role_name
            ]
            if session_arns:
                principals.append((ROLE + ":" + role.role_name, session_arns))
        for key, principal_arns in principals:
            kind, _, name = key.partition(":")
            statements = []
            for named in self._policies(kind, name):
                statements += [_kafka_part(s) for s in named.policy.statements]
            kept = [s for s in statements if s is not None]
            if not kept:
                continue
            for arn in principal_arns:
                documents[f"User:{arn}"] = {"Version": "2012-10-17", "Statement": kept}
        return documents


KAFKA_CLUSTER_ACTIONS = ("Connect", *KAFKA_CLUSTER_ACL_ACTIONS)


def _kafka_part(statement: Statement) -> dict[str, Any] | None:
    """The kafka-cluster part of an identity statement, as a statement ACLs can say; None when it
    grants or denies nothing on Kafka.

    ACLs have no conditions, so where a statement cannot be compiled as written it is compiled to
    deny more, never to allow more: an Allow with a Condition or NotResource grants nothing on the
    brokers, a Deny with a Condition denies unconditionally and one with NotResource denies on
    every resource. (Such kafka-cluster statements are refused when a policy is put; this is
    for `*` statements, and documents kept from before.) NotAction becomes the kafka-cluster
    actions it leaves."""
    if statement.actions:
        actions = [
            p
            for p in statement.actions
            if p == "*" or matches_action(p.partition(":")[0], KAFKA_CLUSTER)
        ]
    else:
        actions = [
            f"{KAFKA_CLUSTER}:{a}"
            for a in KAFKA_CLUSTER_ACTIONS
            if not any(matches_action(p, f"{KAFKA_CLUSTER}:{a}") for p in statement.not_actions)
        ]
    if statement.allow and (statement.conditions or statement.not_resources):
        return None
    if statement.not_resources:
        resources = ["*"]
    else:
        resources = [r for r in statement.resources if r == "*" or r.split(":")[2:3] == ["kafka"]]
    if not actions or not resources:
        return None
    return {"Effect": statement.effect, "Action": actions, "Resource": resources}


def _check_name(name: str, member: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )


def _check_path(path: str) -> None:
    if not _PATH.fullmatch(path or "") or len(path) > 512:
        raise ValidationError(f"The specified value for path is invalid: {path!r}.")


def _check_trust_policy(policy: Policy) -> None:
    for statement in policy.statements:
        if statement.principals is None and statement.not_principals is None:
            raise MalformedPolicyDocument(
                f"Has prohibited field Resource, or lacks a Principal ({statement.name})."
            )


def _trusts(trust: Policy, caller: Caller, context: Context) -> bool:
    """Whether the role's trust policy lets `caller` call sts:AssumeRole: a Deny naming it
    refuses, else an Allow naming it (by ARN, its account, its account's root, or `*`)."""
    keys = {k.lower(): v for k, v in context.items()}
    allowed = False
    for statement in trust.statements:
        patterns = statement.actions or ()
        if statement.actions and not any(matches_action(p, "sts:AssumeRole") for p in patterns):
            continue
        if statement.not_actions and any(
            matches_action(p, "sts:AssumeRole") for p in statement.not_actions
        ):
            continue
        names = _principal_matches(statement.principals, caller)
        if statement.not_principals is not None:
            names = not _principal_matches(statement.not_principals, caller)
        if not names or not conditions_hold(statement.conditions, keys):
            continue
        if not statement.allow:
            return False
        allowed = True
    return allowed


def _trusts_service(trust: Policy, service: str) -> bool:
    """Whether the trust policy lets the service principal `service` call sts:AssumeRole: a Deny
    naming it refuses, else an Allow naming it (`Service`, or `*`). Conditions on a service's
    request are not evaluated: a statement with any does not apply to it."""
    allowed = False
    for statement in trust.statements:
        if statement.actions and not any(
            matches_action(p, "sts:AssumeRole") for p in statement.actions
        ):
            continue
        if statement.not_actions and any(
            matches_action(p, "sts:AssumeRole") for p in statement.not_actions
        ):
            continue
        principals = statement.principals or {}
        names = "*" in principals or any(
            value in ("*", service) for value in principals.get("Service", ())
        )
        if statement.not_principals is not None or not names or statement.conditions:
            continue
        if not statement.allow:
            return False
        allowed = True
    return allowed


def _principal_matches(principals: dict[str, tuple[str, ...]] | None, caller: Caller) -> bool:
    if principals is None:
        return False
    if "*" in principals:
        return True
    for value in principals.get("AWS", ()):
        if value in ("*", caller.account, f"arn:aws:iam::{caller.account}:root"):
            return True
        if value in (caller.arn, caller.principal_arn):
            return True
    return False


__all__ = [
    "EXPLICIT_DENY",
    "IMPLICIT_DENY",
    "Caller",
    "IdentityAccess",
    "NewKey",
    "SigningSecret",
    "TemporaryCredentials",
    "canonical_document",
]
