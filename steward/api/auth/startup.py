"""How the API's authentication is set up when the control plane starts:

- STEWARD_AUTH=off: nothing is checked (development only; a warning says so at every start);
- STEWARD_ACCESS_KEY_ID + STEWARD_SECRET_ACCESS_KEY: a known key (tests, CI) is put into the
  store if it is not there;
- a store with no access key at all (the first start): one is made, written to
  $STEWARD_HOME/credentials (profile `steward`, mode 0600) and announced once on the console.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import TextIO

from steward.api.auth.guard import AcceptAnyRequest, Authenticator
from steward.api.auth.keys import NewAccessKey, check_access_key_id, create_access_key
from steward.api.auth.verifier import SigV4Verifier, TemporarySecret
from steward.client.credentials_file import PROFILE, credentials_path, write_credentials
from steward.settings import AUTH_ENV, Settings
from steward.store.access_keys import AccessKey, AccessKeys

log = logging.getLogger(__name__)

AUTH_MODES = ("sigv4", "off")
SEED_ID_ENV = "STEWARD_ACCESS_KEY_ID"
SEED_SECRET_ENV = "STEWARD_SECRET_ACCESS_KEY"
SEEDED_KEY_NAME = "from the environment"
FIRST_KEY_NAME = "first start"


def prepare_authentication(
    settings: Settings,
    keys: AccessKeys,
    console: TextIO,
    environ: MutableMapping[str, str] | None = None,
    secret_of: Callable[[str], str | TemporarySecret | None] | None = None,
) -> Authenticator:
    """The authenticator for the API, with the store's keys ready for it. `secret_of` finds the
    secret of a key (IAM's `signing_secret`, which knows assumed roles' temporary keys too); by
    default the store's access keys."""
    environ = os.environ if environ is None else environ
    if settings.auth not in AUTH_MODES:
        raise ValueError(f"{AUTH_ENV}={settings.auth!r}: expected one of {AUTH_MODES}")
    seed_from_environment(keys, environ)
    if settings.auth == "off":
        log.warning(
            "%s=off: the API accepts every request, signed or not. Use it for development only.",
            AUTH_ENV,
        )
        return AcceptAnyRequest()
    if not keys.all_keys():
        announce_first_key(settings, create_first_key(settings, keys), console)
    return SigV4Verifier(settings.region, secret_of or keys.secret_of)


def seed_from_environment(keys: AccessKeys, environ: MutableMapping[str, str]) -> None:
    """Put the key named by STEWARD_ACCESS_KEY_ID / STEWARD_SECRET_ACCESS_KEY into the store
    (with that secret, should the stored one differ). The secret is then dropped from this
    process's environment, so that the agents and Kafka processes started later do not inherit
    it."""
    access_key_id = environ.get(SEED_ID_ENV, "").strip()
    secret = environ.pop(SEED_SECRET_ENV, "")
    if not access_key_id and not secret:
        return
    if not access_key_id or not secret:
        raise ValueError(f"set both {SEED_ID_ENV} and {SEED_SECRET_ENV}, or neither")
    check_access_key_id(access_key_id)
    stored = keys.secret_of(access_key_id)
    if stored is None:
        keys.add(AccessKey(access_key_id, SEEDED_KEY_NAME, datetime.now(UTC)), secret)
        log.info("access key %s (from %s) added to the store", access_key_id, SEED_ID_ENV)
    elif stored != secret:
        keys.replace_secret(access_key_id, secret)
        log.info("access key %s: secret replaced by %s's", access_key_id, SEED_SECRET_ENV)


def create_first_key(settings: Settings, keys: AccessKeys) -> NewAccessKey:
    made = create_access_key(keys, FIRST_KEY_NAME)
    write_credentials(credentials_path(settings.home), made.access_key_id, made.secret_access_key)
    log.info(
        "made access key %s and wrote it to %s (profile %s)",
        made.access_key_id,
        credentials_path(settings.home),
        PROFILE,
    )
    return made


def announce_first_key(settings: Settings, made: NewAccessKey, console: TextIO) -> None:
    """Tell the person who started Steward how to sign requests. The secret itself is shown
    only on a terminal: when the console is a file or a pipe (a service manager's log), it
    stays in the credentials file."""
    path = credentials_path(settings.home)
    if console.isatty():
        secret_line = f"  SecretAccessKey: {made.secret_access_key}\n"
    else:
        secret_line = f"  SecretAccessKey: (in {path}; not printed, this console is no terminal)\n"
    console.write(
        "\nSteward made an access key for its API:\n"
        f"  AccessKeyId:     {made.access_key_id}\n"
        f"{secret_line}"
        f"It is also in {path} (profile {PROFILE}, readable by you only). Use it with\n"
        f"  export AWS_SHARED_CREDENTIALS_FILE={path} AWS_PROFILE={PROFILE}\n"
        f"  aws kafka list-clusters-v2 --endpoint-url {settings.api_url} "
        f"--region {settings.region}\n"
        "or boto3 with these keys. The steward command uses that file when no other AWS\n"
        "credentials are set. More keys: `steward access-key create`.\n\n"
    )
    console.flush()
