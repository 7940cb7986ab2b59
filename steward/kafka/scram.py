"""SCRAM-SHA-512 credentials in a Kafka cluster, through the Admin API (AlterUserScramCredentials,
DescribeUserScramCredentials). KRaft keeps them in the cluster's metadata, so every broker knows
a credential as soon as the controllers have written it."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from steward.kafka.admin import admin_client
from steward.kafka.errors import KafkaAdminError, describe_client_error

MECHANISM = ScramMechanism.SCRAM_SHA_512
ITERATIONS = 8192
"""PBKDF2 iterations of a credential Steward writes (Kafka accepts 4096 to 16384)."""


class ScramError(KafkaAdminError):
    """Kafka did not write, remove or describe a SCRAM credential."""


def _failure(error: KafkaException | TimeoutError, action: str) -> ScramError:
    """Kafka's refusal, without anything of the request (which holds a password)."""
    return ScramError(f"{action} failed: {describe_client_error(error)}")


def upsert_credential(bootstrap: str, user: str, password: str, timeout: float = 15.0) -> None:
    """Make or replace `user`'s SCRAM-SHA-512 credential (a fresh salt each time)."""
    alteration = UserScramCredentialUpsertion(
        user, ScramCredentialInfo(MECHANISM, ITERATIONS), password.encode("utf-8")
    )
    client = admin_client(bootstrap)  # held until the answer: a dropped client aborts it
    futures = client.alter_user_scram_credentials([alteration], request_timeout=timeout)
    try:
        futures[user].result(timeout=timeout + 5)
    except (KafkaException, TimeoutError) as error:
        raise _failure(error, f"writing the SCRAM credential of {user}") from None


def delete_credential(bootstrap: str, user: str, timeout: float = 15.0) -> None:
    """Remove `user`'s SCRAM-SHA-512 credential; nothing to do when it has none."""
    client = admin_client(bootstrap)
    futures = client.alter_user_scram_credentials(
        [UserScramCredentialDeletion(user, MECHANISM)], request_timeout=timeout
    )
    try:
        futures[user].result(timeout=timeout + 5)
    except KafkaException as error:
        cause = error.args[0] if error.args else None
        if isinstance(cause, KafkaError) and cause.code() == KafkaError.RESOURCE_NOT_FOUND:
            return
        raise _failure(error, f"removing the SCRAM credential of {user}") from None
    except TimeoutError as error:
        raise _failure(error, f"removing the SCRAM credential of {user}") from None


def users_with_credentials(bootstrap: str, timeout: float = 10.0) -> dict[str, list[str]]:
    """Every user with a SCRAM credential, and its mechanisms (e.g. SCRAM-SHA-512)."""
    client = admin_client(bootstrap)
    future = client.describe_user_scram_credentials(request_timeout=timeout)
    try:
        described = future.result(timeout=timeout + 5)
    except (KafkaException, TimeoutError) as error:
        raise _failure(error, "describing SCRAM credentials") from None
    return {
        user: [info.mechanism.name.replace("_", "-") for info in description.scram_credential_infos]
        for user, description in described.items()
    }
