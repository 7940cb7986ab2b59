"""IAM's tables as repositories: users, roles, managed policies and their versions, attachments,
inline policies, assumed-role sessions and the audit of refusals. Access keys are in
`steward.store.access_keys`, which the signature check reads too."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema
from steward.store.codec import aware

USER = "user"
ROLE = "role"


class DuplicateEntity(Exception):
    """A row with this key exists already."""


@dataclass(frozen=True)
class UserRecord:
    user_name: str
    user_id: str
    path: str
    create_date: datetime
    tags: list[dict[str, str]]


@dataclass(frozen=True)
class RoleRecord:
    role_name: str
    role_id: str
    path: str
    assume_role_policy: str
    description: str | None
    max_session_duration: int
    create_date: datetime
    tags: list[dict[str, str]]


@dataclass(frozen=True)
class PolicyRecord:
    arn: str
    policy_name: str
    policy_id: str
    path: str
    description: str | None
    default_version_id: str
    next_version: int
    create_date: datetime
    update_date: datetime


@dataclass(frozen=True)
class PolicyVersion:
    policy_arn: str
    version_id: str
    document: str
    create_date: datetime


@dataclass(frozen=True)
class SessionRecord:
    access_key_id: str
    secret_access_key: str
    session_token: str
    role_name: str
    session_name: str
    source_identity: str
    """The ARN of who assumed the role."""
    create_date: datetime
    expires: datetime


@dataclass(frozen=True)
class AuditRecord:
    id: int
    time: datetime
    source: str
    """`api` (a request to Steward's API) or `sign-in` (a broker's IAM sign-in)."""
    principal: str
    action: str
    resource: str
    decision: str
    reason: str
    request_id: str | None = None


def _user(row: Any) -> UserRecord:
    return UserRecord(row.user_name, row.user_id, row.path, aware(row.create_date), row.tags or [])  # type: ignore[arg-type]


def _role(row: Any) -> RoleRecord:
    return RoleRecord(
        row.role_name,
        row.role_id,
        row.path,
        row.assume_role_policy,
        row.description,
        row.max_session_duration,
        aware(row.create_date),  # type: ignore[arg-type]
        row.tags or [],
    )


def _policy(row: Any) -> PolicyRecord:
    return PolicyRecord(
        row.arn,
        row.policy_name,
        row.policy_id,
        row.path,
        row.description,
        row.default_version_id,
        row.next_version,
        aware(row.create_date),  # type: ignore[arg-type]
        aware(row.update_date),  # type: ignore[arg-type]
    )


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        row.access_key_id,
        row.secret_access_key,
        row.session_token,
        row.role_name,
        row.session_name,
        row.source_identity,
        aware(row.create_date),  # type: ignore[arg-type]
        aware(row.expires),  # type: ignore[arg-type]
    )


class IamRecords:
    """Every IAM table but the access keys', over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, table: Any, **values: Any) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table).values(**values))
        except IntegrityError as error:
            raise DuplicateEntity(str(values)) from error

    # -- users ------------------------------------------------------------------------------------
    def add_user(self, user: UserRecord) -> None:
        self._insert(
            schema.iam_users,
            user_name=user.user_name,
            user_id=user.user_id,
            path=user.path,
            create_date=user.create_date,
            tags=user.tags,
        )

    def user(self, name: str) -> UserRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.iam_users).where(schema.iam_users.c.user_name == name)
            ).first()
        return None if row is None else _user(row)

    def users(self) -> list[UserRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.iam_users).order_by(schema.iam_users.c.user_name))
            return [_user(r) for r in rows]

    def set_user_tags(self, name: str, tags: list[dict[str, str]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.iam_users)
                .where(schema.iam_users.c.user_name == name)
                .values(tags=tags)
            )

    def remove_user(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(schema.iam_users).where(schema.iam_users.c.user_name == name))

    # -- roles ------------------------------------------------------------------------------------
    def add_role(self, role: RoleRecord) -> None:
        self._insert(
            schema.iam_roles,
            role_name=role.role_name,
            role_id=role.role_id,
            path=role.path,
            assume_role_policy=role.assume_role_policy,
            description=role.description,
            max_session_duration=role.max_session_duration,
            create_date=role.create_date,
            tags=role.tags,
        )

    def role(self, name: str) -> RoleRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.iam_roles).where(schema.iam_roles.c.role_name == name)
            ).first()
        return None if row is None else _role(row)

    def roles(self) -> list[RoleRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.iam_roles).order_by(schema.iam_roles.c.role_name))
            return [_role(r) for r in rows]

    def set_trust_policy(self, name: str, document: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.iam_roles)
                .where(schema.iam_roles.c.role_name == name)
                .values(assume_role_policy=document)
            )

    def remove_role(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(schema.iam_roles).where(schema.iam_roles.c.role_name == name))
            conn.execute(delete(schema.iam_sessions).where(schema.iam_sessions.c.role_name == name))

    # -- managed policies -------------------------------------------------------------------------
    def add_policy(self, policy: PolicyRecord, document: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.iam_policies).values(
                        arn=policy.arn,
                        policy_name=policy.policy_name,
                        policy_id=policy.policy_id,
                        path=policy.path,
                        description=policy.description,
                        default_version_id=policy.default_version_id,
                        next_version=policy.next_version,
                        create_date=policy.create_date,
                        update_date=policy.update_date,
                    )
                )
                conn.execute(
                    insert(schema.iam_policy_versions).values(
                        policy_arn=policy.arn,
                        version_id=policy.default_version_id,
                        document=document,
                        create_date=policy.create_date,
                    )
                )
        except IntegrityError as error:
            raise DuplicateEntity(policy.policy_name) from error

    def policy(self, arn: str) -> PolicyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.iam_policies).where(schema.iam_policies.c.arn == arn)
            ).first()
        return None if row is None else _policy(row)

    def policies(self) -> list[PolicyRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.iam_policies).order_by(schema.iam_policies.c.policy_name)
            )
            return [_policy(r) for r in rows]

    def versions(self, arn: str) -> list[PolicyVersion]:
        columns = schema.iam_policy_versions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.iam_policy_versions)
                .where(columns.policy_arn == arn)
                .order_by(columns.create_date)
            ).all()
        return [
            PolicyVersion(r.policy_arn, r.version_id, r.document, aware(r.create_date))  # type: ignore[arg-type]
            for r in rows
        ]

    def add_version(self, arn: str, document: str, when: datetime, make_default: bool) -> str:
        with self.engine.begin() as conn:
            number = conn.execute(
                select(schema.iam_policies.c.next_version).where(schema.iam_policies.c.arn == arn)
            ).scalar_one()
            version_id = f"v{number}"
            conn.execute(
                insert(schema.iam_policy_versions).values(
                    policy_arn=arn, version_id=version_id, document=document, create_date=when
                )
            )
            values: dict[str, Any] = {"next_version": number + 1, "update_date": when}
            if make_default:
                values["default_version_id"] = version_id
            conn.execute(
                update(schema.iam_policies).where(schema.iam_policies.c.arn == arn).values(**values)
            )
        return version_id

    def set_default_version(self, arn: str, version_id: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.iam_policies)
                .where(schema.iam_policies.c.arn == arn)
                .values(default_version_id=version_id, update_date=when)
            )

    def remove_version(self, arn: str, version_id: str) -> None:
        columns = schema.iam_policy_versions.c
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.iam_policy_versions).where(
                    and_(columns.policy_arn == arn, columns.version_id == version_id)
                )
            )

    def remove_policy(self, arn: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.iam_policy_versions).where(
                    schema.iam_policy_versions.c.policy_arn == arn
                )
            )
            conn.execute(delete(schema.iam_policies).where(schema.iam_policies.c.arn == arn))

    # -- attachments and inline policies ----------------------------------------------------------
    def attach(self, kind: str, name: str, policy_arn: str) -> None:
        with suppress(DuplicateEntity):  # attaching twice is what IAM allows: nothing changes
            self._insert(
                schema.iam_attachments,
                principal_kind=kind,
                principal_name=name,
                policy_arn=policy_arn,
            )

    def detach(self, kind: str, name: str, policy_arn: str) -> bool:
        columns = schema.iam_attachments.c
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(schema.iam_attachments).where(
                    and_(
                        columns.principal_kind == kind,
                        columns.principal_name == name,
                        columns.policy_arn == policy_arn,
                    )
                )
            )
        return bool(result.rowcount)

    def attached(self, kind: str, name: str) -> list[str]:
        columns = schema.iam_attachments.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(columns.policy_arn)
                .where(and_(columns.principal_kind == kind, columns.principal_name == name))
                .order_by(columns.policy_arn)
            ).all()
        return [r.policy_arn for r in rows]

    def attachment_count(self, policy_arn: str) -> int:
        columns = schema.iam_attachments.c
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(columns.policy_arn == policy_arn)
                ).scalar_one()
            )

    def put_inline(self, kind: str, name: str, policy_name: str, document: str) -> None:
        columns = schema.iam_inline_policies.c
        key = and_(
            columns.principal_kind == kind,
            columns.principal_name == name,
            columns.policy_name == policy_name,
        )
        with self.engine.begin() as conn:
            if conn.execute(select(columns.policy_name).where(key)).first():
                conn.execute(
                    update(schema.iam_inline_policies).where(key).values(document=document)
                )
            else:
                conn.execute(
                    insert(schema.iam_inline_policies).values(
                        principal_kind=kind,
                        principal_name=name,
                        policy_name=policy_name,
                        document=document,
                    )
                )

    def inline(self, kind: str, name: str) -> dict[str, str]:
        """Policy name -> document."""
        columns = schema.iam_inline_policies.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(columns.policy_name, columns.document)
                .where(and_(columns.principal_kind == kind, columns.principal_name == name))
                .order_by(columns.policy_name)
            ).all()
        return {r.policy_name: r.document for r in rows}

    def remove_inline(self, kind: str, name: str, policy_name: str) -> bool:
        columns = schema.iam_inline_policies.c
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(schema.iam_inline_policies).where(
                    and_(
                        columns.principal_kind == kind,
                        columns.principal_name == name,
                        columns.policy_name == policy_name,
                    )
                )
            )
        return bool(result.rowcount)

    # -- assumed-role sessions --------------------------------------------------------------------
    def add_session(self, session: SessionRecord) -> None:
        self._insert(
            schema.iam_sessions,
            access_key_id=session.access_key_id,
            secret_access_key=session.secret_access_key,
            session_token=session.session_token,
            role_name=session.role_name,
            session_name=session.session_name,
            source_identity=session.source_identity,
            create_date=session.create_date,
            expires=session.expires,
        )

    def session(self, access_key_id: str) -> SessionRecord | None:
        columns = schema.iam_sessions.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.iam_sessions).where(columns.access_key_id == access_key_id)
            ).first()
        return None if row is None else _session(row)

    def sessions(self, now: datetime) -> list[SessionRecord]:
        """Sessions that have not expired."""
        columns = schema.iam_sessions.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.iam_sessions).where(columns.expires > now)).all()
        return [_session(r) for r in rows]

    def remove_expired_sessions(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(schema.iam_sessions).where(schema.iam_sessions.c.expires <= now)
            )
        return int(result.rowcount or 0)

    # -- audit ------------------------------------------------------------------------------------
    def add_audit(
        self,
        when: datetime,
        source: str,
        principal: str,
        action: str,
        resource: str,
        decision: str,
        reason: str,
        request_id: str | None = None,
    ) -> bool:
        """Keep a record; False when one of `request_id` is there already."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.iam_audit).values(
                        time=when,
                        source=source,
                        principal=principal,
                        action=action,
                        resource=resource,
                        decision=decision,
                        reason=reason,
                        request_id=request_id,
                    )
                )
        except IntegrityError:
            return False
        return True

    def audit(
        self,
        principal: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Newest first."""
        columns = schema.iam_audit.c
        query = select(schema.iam_audit).order_by(columns.id.desc()).limit(limit)
        if principal:
            query = query.where(columns.principal == principal)
        if action:
            query = query.where(func.lower(columns.action) == action.lower())
        if since is not None:
            query = query.where(columns.time >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditRecord(
                r.id,
                aware(r.time),  # type: ignore[arg-type]
                r.source,
                r.principal,
                r.action,
                r.resource,
                r.decision,
                r.reason,
                r.request_id,
            )
            for r in rows
        ]
