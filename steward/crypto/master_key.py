"""Steward's master key: the one key that wraps every other secret Steward keeps (secret values,
per-cluster data keys, CA private keys), so that the store on disk holds none of them in clear.

The key is 32 random bytes, AES-256-GCM. It comes from `STEWARD_MASTER_KEY` (base64) when set,
else from `<home>/master.key` (mode 0600), made at first start. Losing it loses every wrapped
secret: back it up with the store, but not next to it.

A sealed value is `version byte || 12-byte nonce || ciphertext+tag`. Each seal binds a
`context` (e.g. the secret's ARN) as associated data, so a sealed value copied onto another
record does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_ENV = "STEWARD_MASTER_KEY"
KEY_FILE = "master.key"
_VERSION = b"\x01"
_NONCE_BYTES = 12


class SealedValueError(Exception):
    """A sealed value that does not open with this master key and context."""


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a master key is 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never the key itself
        return "MasterKey(<hidden>)"

    @classmethod
    def load_or_create(cls, home: Path, environ: dict[str, str] | None = None) -> MasterKey:
        environ = dict(os.environ) if environ is None else environ
        given = environ.get(MASTER_KEY_ENV, "").strip()
        if given:
            try:
                return cls(base64.b64decode(given, validate=True))
            except (binascii.Error, ValueError) as error:
                raise ValueError(
                    f"{MASTER_KEY_ENV} must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)"
                ) from error
        path = home / KEY_FILE
        if not path.exists():
            home.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            try:
                os.link(tmp, path)  # first writer wins when two processes start at once
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return cls(base64.b64decode(path.read_text().strip()))

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise SealedValueError("not a value sealed by Steward")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], context.encode())
        except InvalidTag as error:
            raise SealedValueError(
                "the value does not open with this master key (wrong key or wrong record)"
            ) from error
