"""A broker's IAM sign-in files: the signing keys its verifier checks sign-ins with, and the
refusals it records, in the node's `iam/` directory (mode 0700).

The control plane sends the keys (`steward.security.iam_signin.IamCredentialSync`); the agent
writes them atomically, mode 0600, and only when they changed, so that the broker, which reads the
file again when it changes, never sees half of one. Until the first keys come the file lists none:
nobody can sign in yet, which is what an empty credentials file means. The refusals file is the
broker's own (one JSON line per refused sign-in); the control plane reads it from an offset on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from steward.agent.spec import NodeSpec
from steward.files import replace_file
from steward.kafka.iam_signin import (
    CREDENTIALS_FILE_VERSION,
    has_iam_listener,
    iam_file_locations,
    iam_listener_host,
    render_credentials,
)

CREDENTIALS_FILE = "credentials.json"
REFUSALS_FILE = "refusals.jsonl"
MAX_REFUSALS_READ = 1000
"""The most refusal lines one read returns; the next read goes on from where it stopped."""


class NotIamNode(Exception):
    """The node has no IAM listener: there is nothing to write or read."""


def write_iam_files(spec: NodeSpec, directory: Path) -> dict[str, str]:
    """Lay out the node's IAM files (when its properties open the IAM listener) and return the
    properties that point the broker at them."""
    if not has_iam_listener(spec.properties):
        return {}
    _ensure_directory(directory)
    credentials = directory / CREDENTIALS_FILE
    if not credentials.exists():
        empty = {"version": CREDENTIALS_FILE_VERSION, "region": None, "keys": []}
        _write_private(credentials, render_credentials(empty))
    host = iam_listener_host(spec.properties)
    return iam_file_locations(
        str(credentials), str(directory / REFUSALS_FILE), [host] if host else []
    )


def write_credentials(spec: NodeSpec, directory: Path, text: str) -> bool:
    """Replace the node's credentials file with `text`; False when it held that already."""
    if not has_iam_listener(spec.properties):
        raise NotIamNode(spec.key)
    _ensure_directory(directory)
    path = directory / CREDENTIALS_FILE
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    _write_private(path, text)
    return True


def read_refusals(directory: Path, offset: int = 0) -> dict[str, Any]:
    """The refusal lines from byte `offset` on (from the start when the file is shorter than
    that: it was replaced), and the offset to read from next time."""
    path = directory / REFUSALS_FILE
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return {"offset": 0, "lines": []}
    if offset > size:
        offset = 0
    lines: list[str] = []
    with path.open("rb") as source:
        source.seek(offset)
        while len(lines) < MAX_REFUSALS_READ:
            line = source.readline()
            if not line.endswith(b"\n"):  # none, or one the broker is still writing
                break
            offset += len(line)
            lines.append(line.decode("utf-8", "replace").rstrip("\n"))
    return {"offset": offset, "lines": lines}


def _ensure_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def _write_private(path: Path, text: str) -> None:
    replace_file(path, text, private=True)
