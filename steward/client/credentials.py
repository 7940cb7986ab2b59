"""The credentials the steward command signs its requests with: whatever boto3 finds (the
AWS_* environment, AWS_PROFILE, the shared credentials and config files), else the key the
first start of Steward wrote to $STEWARD_HOME/credentials, else placeholder credentials (which
only a Steward with STEWARD_AUTH=off accepts)."""

from __future__ import annotations

import botocore.session
from botocore.credentials import Credentials

from steward.client.credentials_file import credentials_path, read_credentials
from steward.settings import default_home

PLACEHOLDER = "steward"


def botocore_session() -> botocore.session.Session:
    session = botocore.session.get_session()
    # Off EC2, asking the instance metadata service for a role only costs seconds.
    session.get_component("credential_provider").remove("iam-role")
    return session


def steward_credentials(session: botocore.session.Session | None = None) -> Credentials:
    found = (session or botocore_session()).get_credentials()
    if found is not None:
        return found
    from_home = read_credentials(credentials_path(default_home()))
    if from_home is not None:
        return Credentials(*from_home)
    return Credentials(PLACEHOLDER, PLACEHOLDER)
