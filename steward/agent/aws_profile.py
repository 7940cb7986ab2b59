"""A Connect worker's AWS profile: the temporary credentials of its connector's service execution
role, where the AWS SDK in the worker (aws-msk-iam-auth's `AWS_MSK_IAM` sign-in) finds them, in
the node's `aws/` directory (mode 0700).

The profile (`credentials`, named `steward.kafka.connect_worker.IAM_PROFILE`) names a
`credential_process` that prints `session.json`, the session in the JSON the SDK's process
provider reads. That provider holds the credentials until shortly before their `Expiration` and
then runs the process again; the control plane sends a renewed session well before then
(`steward.functions.role_sessions.RENEW_BEFORE`), which the agent writes over `session.json`
atomically, so the worker signs in with fresh credentials and is never restarted for them. An
empty `config` file keeps the host user's own `~/.aws/config` out of the worker.
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steward.files import replace_file
from steward.kafka.connect_worker import IAM_PROFILE

SESSION_FILE = "session.json"
CREDENTIALS_FILE = "credentials"
CONFIG_FILE = "config"


def process_output(credentials: dict[str, Any]) -> str:
    """The session as a credential process prints it: version 1, `Expiration` in ISO 8601."""
    expiration = datetime.fromtimestamp(float(credentials["Expiration"]), UTC)
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "SessionToken": credentials["SessionToken"],
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def write_aws_profile(credentials: dict[str, Any], directory: Path) -> bool:
    """Lay out the profile and write the session; False when the files held it already."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    session = directory / SESSION_FILE
    profile = f"[{IAM_PROFILE}]\ncredential_process = cat {shlex.quote(str(session.resolve()))}\n"
    _write_private(directory / CREDENTIALS_FILE, profile)
    _write_private(directory / CONFIG_FILE, "")
    return _write_private(session, process_output(credentials) + "\n")


def aws_profile_jvm_options(directory: Path) -> list[str]:
    """The system properties that point the worker's AWS SDK at the profile's files."""
    return [
        f"-Daws.sharedCredentialsFile={(directory / CREDENTIALS_FILE).resolve()}",
        f"-Daws.configFile={(directory / CONFIG_FILE).resolve()}",
    ]


def _write_private(path: Path, text: str) -> bool:
    """Replace `path` whole with `text`, mode 0600; False when it held `text` already."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    replace_file(path, text, private=True)
    return True
