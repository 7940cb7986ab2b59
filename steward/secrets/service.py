"""Secrets: the use cases of Steward's Secrets-Manager-compatible API (create, read, add a value,
update, describe, list, list versions, move staging labels, tag, resource policies, delete,
restore, random passwords), as much of AWS Secrets Manager as MSK's users and the tools that
manage their secrets (Terraform's aws_secretsmanager_* resources) need.

Every value is sealed by the master key (AES-256-GCM) with `<secret ARN>/<version id>` as
context before it reaches the store, and opened only for GetSecretValue and for writing a
SCRAM credential into Kafka. Values never enter logs, errors or any other answer.

Deletion is Secrets Manager's: a recovery window of 7 to 30 days (30 by default) during which the
secret can be restored and its values cannot be read, or ForceDeleteWithoutRecovery at once. A
secret whose window has ended is removed the next time anything reads secrets.

Versions are Secrets Manager's too (`steward.secrets.stages`): a new value becomes AWSCURRENT
and leaves AWSPREVIOUS on the version it replaced; a version with no staging label is deprecated
and kept until the secret has more than 100 versions. Whatever changes which value is current
calls `on_change`, so that the SCRAM credentials in Kafka follow.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from steward.crypto.master_key import MasterKey, SealedValueError
from steward.domain.model import utcnow
from steward.secrets import passwords, policies, tags
from steward.secrets import stages as staging
from steward.secrets.errors import (
    MARKED_FOR_DELETION,
    NOT_FOUND,
    DecryptionFailure,
    InvalidParameterException,
    InvalidRequestException,
    PublicPolicyException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from steward.secrets.store import (
    DuplicateSecretError,
    SealedVersion,
    SecretRecord,
    SecretRecords,
)

CURRENT = staging.CURRENT
DEFAULT_RECOVERY_DAYS = 30
MIN_RECOVERY_DAYS = 7
MAX_RECOVERY_DAYS = 30
MAX_VALUE_BYTES = 65536
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SUFFIX_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SecretValue:
    """One version of a secret, opened: only GetSecretValue and the SCRAM sync see these."""

    arn: str
    name: str
    version_id: str
    stages: list[str]
    creation_time: datetime
    string: str | None = field(default=None, repr=False)
    binary: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SecretDescription:
    """A secret without its values."""

    record: SecretRecord
    versions_to_stages: dict[str, list[str]]


class Secrets:
    def __init__(
        self,
        records: SecretRecords,
        region: str,
        account_id: str,
        master_key: Callable[[], MasterKey],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        """`master_key` gives the key when first needed (made at first use where there is
        none); `on_change` is called after a secret's value changes or it is deleted, so that
        what uses the secret (SCRAM credentials in Kafka) catches up."""
        self.records = records
        self.region = region
        self.account_id = account_id
        self._master_key_source = master_key
        self._master_key: MasterKey | None = None
        self._key_lock = threading.Lock()
        self.on_change = on_change

    # --- helpers --------------------------------------------------------------------------------
    @property
    def master_key(self) -> MasterKey:
        with self._key_lock:
            if self._master_key is None:
                self._master_key = self._master_key_source()
            return self._master_key

    def new_arn(self, name: str) -> str:
        suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(6))
        return f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:{name}-{suffix}"

    def _seal(self, arn: str, version_id: str, value: bytes) -> bytes:
        return self.master_key.seal(value, f"secret/{arn}/{version_id}")

    def _open(self, version: SealedVersion) -> bytes:
        try:
            return self.master_key.open(
                version.sealed_value, f"secret/{version.secret_arn}/{version.version_id}"
            )
        except SealedValueError as error:
            raise DecryptionFailure(
                "Secrets Manager can't decrypt the protected secret text: it was sealed with "
                "another master key."
            ) from error

    def find(self, secret_id: str) -> SecretRecord:
        """The secret named by `secret_id`: its ARN, its ARN without the random suffix, or its
        name."""
        self.records.purge_deleted(utcnow())
        found: SecretRecord | None
        if secret_id.startswith("arn:"):
            found = self.records.by_arn(secret_id)
            prefix = f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:"
            if found is None and secret_id.startswith(prefix):
                found = self.records.by_name(secret_id.removeprefix(prefix))
        else:
            found = self.records.by_name(secret_id)
        if found is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return found

    @staticmethod
    def _value(string_value: str | None, binary_value: bytes | None) -> tuple[bytes, bool]:
        if string_value is not None and binary_value is not None:
            raise InvalidParameterException(
                "You can't specify both a binary secret value and a string secret value in the "
                "same secret."
            )
        value, binary = (
            (binary_value, True)
            if binary_value is not None
            else ((string_value or "").encode(), False)
        )
        if string_value is not None and not string_value:
            raise InvalidParameterException("SecretString must not be empty.")
        if binary_value is not None and not binary_value:
            raise InvalidParameterException("SecretBinary must not be empty.")
        if len(value) > MAX_VALUE_BYTES:
            raise InvalidParameterException(f"A secret value is at most {MAX_VALUE_BYTES} bytes.")
        return value, binary

    @staticmethod
    def _version_id(token: str | None) -> str:
        if token is None:
            return str(uuid.uuid4())
        if not 32 <= len(token) <= 64:
            raise InvalidParameterException("ClientRequestToken must be 32 to 64 characters long.")
        return token

    # --- use cases ------------------------------------------------------------------------------
    def create(
        self,
        name: str,
        *,
        string_value: str | None = None,
        binary_value: bytes | None = None,
        description: str | None = None,
        kms_key_id: str | None = None,
        tag_list: tags.Tags | None = None,
        client_request_token: str | None = None,
    ) -> tuple[SecretRecord, str | None]:
        """The new secret and the id of its first version (None when made without a value)."""
        if not SECRET_NAME.match(name):
            raise InvalidParameterException(
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
                "the following: -/_+=.@!"
            )
        now = utcnow()
        self.records.purge_deleted(now)
        existing = self.records.by_name(name)
        version_id = self._version_id(client_request_token)
        has_value = string_value is not None or binary_value is not None
        if existing is not None:
            if existing.deletion_time is not None:
                raise InvalidRequestException(
                    "You can't create this secret because a secret with this name is already "
                    "scheduled for deletion."
                )
            if client_request_token is not None and self._same_version(
                existing.arn, version_id, string_value, binary_value
            ):
                return existing, version_id if has_value else None  # a retried request
            raise ResourceExistsException(
                f"The operation failed because the secret {name} already exists."
            )
        arn = self.new_arn(name)
        record = SecretRecord(
            arn=arn,
            name=name,
            creation_time=now,
            last_changed_time=now,
            description=description,
            kms_key_id=kms_key_id,
            tags=tags.checked(list(tag_list or [])),
        )
        version = None
        if has_value:
            value, binary = self._value(string_value, binary_value)
            version = SealedVersion(
                arn, version_id, self._seal(arn, version_id, value), binary, [CURRENT], now
            )
        try:
            self.records.add(record, version)
        except DuplicateSecretError:
            raise ResourceExistsException(
                f"The operation failed because the secret {name} already exists."
            ) from None
        return record, version_id if has_value else None

    def _same_version(
        self, arn: str, version_id: str, string_value: str | None, binary_value: bytes | None
    ) -> bool:
        for version in self.records.versions(arn):
            if version.version_id == version_id:
                value, binary = self._value(string_value, binary_value)
                if self._open(version) == value and version.binary == binary:
                    return True
                raise ResourceExistsException(
                    "You can't modify an existing version, you can only create a new version."
                )
        return False

    def _live(self, secret_id: str) -> SecretRecord:
        """The secret, which must not be scheduled for deletion."""
        record = self.find(secret_id)
        if record.deletion_time is not None:
            raise InvalidRequestException(MARKED_FOR_DELETION)
        return record

    def put_value(
        self,
        secret_id: str,
        *,
        string_value: str | None = None,
        binary_value: bytes | None = None,
        stages: list[str] | None = None,
        client_request_token: str | None = None,
    ) -> tuple[SecretRecord, str, list[str]]:
        """A new version of the secret; AWSCURRENT (unless `stages` say otherwise) moves to it."""
        record = self._live(secret_id)
        if string_value is None and binary_value is None:
            raise InvalidParameterException("You must provide either SecretString or SecretBinary.")
        version_id = self._version_id(client_request_token)
        wanted = staging.check_labels(stages or [CURRENT])
        if self._same_version(record.arn, version_id, string_value, binary_value):
            current = {v.version_id: v.stages for v in self.records.versions(record.arn)}
            return record, version_id, current.get(version_id, wanted)
        value, binary = self._value(string_value, binary_value)
        now = utcnow()
        self.records.add_version(
            SealedVersion(
                record.arn,
                version_id,
                self._seal(record.arn, version_id, value),
                binary,
                wanted,
                now,
            ),
            now,
        )
        self.on_change()
        return record, version_id, wanted

    def get_value(
        self,
        secret_id: str,
        version_id: str | None = None,
        stage: str | None = None,
        record_access: bool = True,
    ) -> SecretValue:
        record = self.find(secret_id)
        if record.deletion_time is not None:
            raise InvalidRequestException(MARKED_FOR_DELETION)
        versions = self.records.versions(record.arn)
        if version_id is not None:
            chosen = [v for v in versions if v.version_id == version_id]
            if stage is not None:
                chosen = [v for v in chosen if stage in v.stages]
        else:
            wanted = stage or CURRENT
            chosen = [v for v in versions if wanted in v.stages]
        if not chosen:
            raise ResourceNotFoundException(
                "Secrets Manager can't find the specified secret value for "
                + (
                    f"VersionId: {version_id}"
                    if version_id
                    else f"staging label: {stage or CURRENT}"
                )
            )
        version = chosen[-1]
        value = self._open(version)
        if record_access:
            self.records.touch_accessed(
                record.arn,
                version.version_id,
                utcnow().replace(hour=0, minute=0, second=0, microsecond=0),
            )
        return SecretValue(
            arn=record.arn,
            name=record.name,
            version_id=version.version_id,
            stages=version.stages,
            creation_time=version.creation_time,
            string=None if version.binary else value.decode("utf-8", errors="replace"),
            binary=value if version.binary else None,
        )

    def describe(self, secret_id: str) -> SecretDescription:
        record = self.find(secret_id)
        return self._description(record)

    def _description(self, record: SecretRecord) -> SecretDescription:
        """Deprecated versions (no staging label) are not described, as in Secrets Manager."""
        return SecretDescription(
            record,
            {v.version_id: v.stages for v in self.records.versions(record.arn) if v.stages},
        )

    def list(self, include_planned_deletion: bool = False) -> list[SecretDescription]:
        self.records.purge_deleted(utcnow())
        return [
            self._description(r)
            for r in self.records.all()
            if include_planned_deletion or r.deletion_time is None
        ]

    def delete(
        self,
        secret_id: str,
        recovery_window_days: int | None = None,
        force: bool = False,
    ) -> tuple[str | None, str, datetime]:
        """(ARN, name, deletion date) of the secret deleted or scheduled for deletion."""
        if force and recovery_window_days is not None:
            raise InvalidParameterException(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
            )
        days = DEFAULT_RECOVERY_DAYS if recovery_window_days is None else recovery_window_days
        if not MIN_RECOVERY_DAYS <= days <= MAX_RECOVERY_DAYS:
            raise InvalidParameterException(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
            )
        now = utcnow()
        try:
            record = self.find(secret_id)
        except ResourceNotFoundException:
            if force:  # Secrets Manager: forcing the deletion of a missing secret succeeds
                return None, secret_id, now
            raise
        if force:
            self.records.remove(record.arn)
            self.on_change()
            return record.arn, record.name, now
        if record.deletion_time is not None:
            raise InvalidRequestException(MARKED_FOR_DELETION)
        when = now + timedelta(days=days)
        self.records.set_deletion_time(record.arn, when)
        self.on_change()
        return record.arn, record.name, when

    def restore(self, secret_id: str) -> SecretRecord:
        record = self.find(secret_id)
        if record.deletion_time is not None:
            self.records.set_deletion_time(record.arn, None)
            self.on_change()
        return record

    def update(
        self,
        secret_id: str,
        *,
        description: str | None = None,
        kms_key_id: str | None = None,
        string_value: str | None = None,
        binary_value: bytes | None = None,
        client_request_token: str | None = None,
    ) -> tuple[SecretRecord, str | None]:
        """UpdateSecret: new details (what is None stays) and, with a value, a new version that
        becomes AWSCURRENT; the secret and the id of that version."""
        record = self._live(secret_id)
        version_id = None
        if string_value is not None or binary_value is not None:
            _, version_id, _ = self.put_value(
                record.arn,
                string_value=string_value,
                binary_value=binary_value,
                client_request_token=client_request_token,
            )
        if description is not None or kms_key_id is not None:
            self.records.change(
                record.arn, utcnow(), description=description, kms_key_id=kms_key_id
            )
        return self.find(record.arn), version_id

    # --- versions -------------------------------------------------------------------------------
    def list_versions(
        self, secret_id: str, include_deprecated: bool = False
    ) -> tuple[SecretRecord, list[SealedVersion]]:
        """The secret's versions, oldest first; the deprecated ones (no staging label) only
        when asked for."""
        record = self.find(secret_id)
        versions = self.records.versions(record.arn)
        return record, [v for v in versions if include_deprecated or v.stages]

    def move_stage(
        self,
        secret_id: str,
        label: str,
        move_to: str | None = None,
        remove_from: str | None = None,
    ) -> SecretRecord:
        """UpdateSecretVersionStage (`steward.secrets.stages.move` says the rules)."""
        record = self._live(secret_id)
        self.records.restage(
            record.arn, lambda before: staging.move(before, label, move_to, remove_from), utcnow()
        )
        if label == CURRENT:
            self.on_change()
        return record

    # --- tags -----------------------------------------------------------------------------------
    def tag(self, secret_id: str, added: tags.Tags) -> None:
        record = self._live(secret_id)
        self.records.retag(record.arn, lambda before: tags.merged(before, added), utcnow())

    def untag(self, secret_id: str, keys: list[str]) -> None:
        record = self._live(secret_id)
        self.records.retag(record.arn, lambda before: tags.without(before, keys), utcnow())

    # --- resource policies ----------------------------------------------------------------------
    def resource_policy(self, secret_id: str, policy_name: str | None = None) -> SecretRecord:
        """The secret, with the policy it has (`resource_policy`, None without one)."""
        record = self._live(secret_id)
        if policy_name not in (None, policies.DEFAULT_POLICY_NAME):
            raise ResourceNotFoundException(
                f"The secret has no resource policy named {policy_name}."
            )
        return record

    def put_resource_policy(
        self,
        secret_id: str,
        policy: str,
        policy_name: str | None = None,
        block_public_policy: bool = False,
    ) -> SecretRecord:
        record = self._live(secret_id)
        policies.check_policy_name(policy_name)
        document = policies.parse_policy(policy)
        if block_public_policy and policies.broad_access(document):
            raise PublicPolicyException(
                "BlockPublicPolicy is set and the resource policy grants broad access to the "
                "secret (an Allow to every principal without a Condition)."
            )
        self.records.set_resource_policy(record.arn, policy, utcnow())
        return record

    def delete_resource_policy(
        self, secret_id: str, policy_name: str | None = None
    ) -> SecretRecord:
        record = self._live(secret_id)
        policies.check_policy_name(policy_name)
        if record.resource_policy is not None:
            self.records.set_resource_policy(record.arn, None, utcnow())
        return record

    def validate_resource_policy(
        self, policy: str, secret_id: str | None = None
    ) -> list[policies.ValidationError]:
        """What keeps `policy` from passing Secrets Manager's checks (nothing: it passes);
        MalformedPolicyDocumentException when it is not a policy at all."""
        if secret_id is not None:
            self.find(secret_id)
        return policies.broad_access(policies.parse_policy(policy))

    # --- passwords ------------------------------------------------------------------------------
    @staticmethod
    def random_password(rules: passwords.PasswordRules) -> str:
        return passwords.random_password(rules)
