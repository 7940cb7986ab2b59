"""An AWS shared-credentials file (what `~/.aws/credentials` is) holding a Steward access key,
so that `AWS_SHARED_CREDENTIALS_FILE=~/.steward/credentials AWS_PROFILE=steward aws kafka ...`
and boto3 sign with it. Only its owner may read it (mode 0600)."""

from __future__ import annotations

import configparser
import io
from pathlib import Path

from steward.files import replace_file

PROFILE = "steward"
FILE_NAME = "credentials"


def credentials_path(home: Path) -> Path:
    return home / FILE_NAME


def write_credentials(
    path: Path, access_key_id: str, secret_access_key: str, profile: str = PROFILE
) -> None:
    """Set `profile` in the file, keeping its other profiles; the file is replaced atomically
    by one that was never readable by others."""
    parser = configparser.ConfigParser(interpolation=None)
    if path.exists():
        parser.read(path)
    parser[profile] = {
        "aws_access_key_id": access_key_id,
        "aws_secret_access_key": secret_access_key,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    parser.write(text)
    replace_file(path, text.getvalue(), private=True)


def read_credentials(path: Path, profile: str = PROFILE) -> tuple[str, str] | None:
    """(access key id, secret) of `profile`, or None when the file or the profile is missing."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if not parser.read(path):
            return None
    except configparser.Error:
        return None
    if not parser.has_section(profile):
        return None
    section = parser[profile]
    access_key_id = section.get("aws_access_key_id")
    secret = section.get("aws_secret_access_key")
    if not access_key_id or not secret:
        return None
    return access_key_id, secret
