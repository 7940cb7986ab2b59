"""The execution role's temporary credentials for the pollers that sign in with IAM, as Lambda
has its service principal assume a function's role.

`RoleSessions` keeps one role session per mapping: it asks IAM for one (`assume_role_for_service`
for `lambda.amazonaws.com`, which honours the role's trust policy and needs no user key) when the
mapping has none, when its function's role changed, or when the session it has ends within
`RENEW_BEFORE` seconds, so a running poller always finds credentials with time left in its file.
Each new session is handed to `on_new_session` (the brokers' key sync, run at once) before the
supervisor starts or keeps the poller, so its key is on the brokers when the poller signs in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from steward.functions.iam_token import RoleCredentials
from steward.iam.errors import IamError
from steward.iam.service import IdentityAccess

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
SESSION_SECONDS = 3600
RENEW_BEFORE = 900.0
"""Seconds before a session ends that a new one is made: longer than a poller's token lives
(900 s), so no token outlives its credentials."""
NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."


class RoleNotAssumable(Exception):
    """The function's role does not exist, or its trust policy does not name Lambda."""


@dataclass(frozen=True)
class _Held:
    role_arn: str
    credentials: RoleCredentials


class RoleSessions:
    def __init__(
        self,
        identity: IdentityAccess,
        on_new_session: Callable[[], object] = lambda: None,
        clock: Callable[[], float] = time.time,
        session_seconds: int = SESSION_SECONDS,
        renew_before: float = RENEW_BEFORE,
        principal: str = LAMBDA_PRINCIPAL,
        refusal: str = NOT_ASSUMABLE,
    ) -> None:
        self.identity = identity
        self.principal = principal
        """The service that assumes the roles (MSK Connect's connectors use these sessions too,
        as `kafkaconnect.amazonaws.com`)."""
        self.refusal = refusal
        self.on_new_session = on_new_session
        self.clock = clock
        self.session_seconds = session_seconds
        self.renew_before = renew_before
        self._held: dict[str, _Held] = {}

    def exists(self, role_arn: str) -> bool:
        return self.identity.role_by_arn(role_arn) is not None

    def may_assume(self, role_arn: str | None) -> bool:
        return bool(role_arn) and self.identity.service_may_assume(str(role_arn), self.principal)

    def credentials_for(self, mapping_uuid: str, role_arn: str | None) -> RoleCredentials:
        """Credentials of `role_arn` for the mapping's poller (or the connector's workers), with
        more than `renew_before` seconds left; RoleNotAssumable when the service may not assume
        the role."""
        held = self._held.get(mapping_uuid)
        if (
            held is not None
            and held.role_arn == role_arn
            and held.credentials.expiration - self.clock() > self.renew_before
        ):
            return held.credentials
        if not role_arn:
            raise RoleNotAssumable(self.refusal)
        try:
            made = self.identity.assume_role_for_service(
                role_arn, self.principal, mapping_uuid, self.session_seconds
            )
        except IamError as error:
            self._held.pop(mapping_uuid, None)
            raise RoleNotAssumable(f"{self.refusal} {error.message}") from error
        credentials = RoleCredentials(
            made.access_key_id,
            made.secret_access_key,
            made.session_token,
            made.expiration.timestamp(),
        )
        self._held[mapping_uuid] = _Held(role_arn, credentials)
        self.on_new_session()
        return credentials

    def forget(self, mapping_uuid: str) -> None:
        self._held.pop(mapping_uuid, None)

    def retain(self, mapping_uuids: set[str]) -> None:
        """Forget the sessions of mappings whose pollers no longer run (their sessions end on
        their own; IAM clears expired ones out)."""
        for gone in set(self._held) - mapping_uuids:
            del self._held[gone]
