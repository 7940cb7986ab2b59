"""Access keys: made the way AWS's look (an id of 20 upper-case letters and digits, a secret of
40 base64 characters), from the `secrets` module."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime

from steward.store.access_keys import ADMINISTRATOR_USER, AccessKey, AccessKeys

ACCESS_KEY_ID_PREFIX = "STW"
"""Where AWS's ids start with AKIA, Steward's start with STW."""
_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
_VALID_ID = re.compile(r"[A-Za-z0-9_]{3,128}")


def new_access_key_id() -> str:
    return ACCESS_KEY_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def new_secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def check_access_key_id(access_key_id: str) -> None:
    """An id must fit in a SigV4 credential scope: letters, digits and `_`, 3 to 128 of them."""
    if not _VALID_ID.fullmatch(access_key_id):
        raise ValueError(f"access key id {access_key_id!r}: use 3 to 128 letters, digits or '_'")


@dataclass(frozen=True)
class NewAccessKey:
    """A key just made: the only moment its secret is shown."""

    key: AccessKey
    secret_access_key: str = field(repr=False)

    @property
    def access_key_id(self) -> str:
        return self.key.access_key_id


def create_access_key(
    keys: AccessKeys, name: str, user_name: str = ADMINISTRATOR_USER
) -> NewAccessKey:
    """A new key of IAM user `user_name` (by default the administrator, whose keys may do
    everything, as every key could before Steward had IAM users)."""
    key = AccessKey(new_access_key_id(), name, datetime.now(UTC), user_name)
    secret = new_secret_access_key()
    keys.add(key, secret)
    return NewAccessKey(key, secret)
