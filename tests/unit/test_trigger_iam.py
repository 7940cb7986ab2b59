"""Triggers that sign in with IAM as their function's execution role, without a cluster: the
role a function names must be one Lambda may assume; the poller's OAUTHBEARER token is the one
Amazon's aws-msk-iam-sasl-signer-python makes; the supervisor hands the poller the role's
temporary credentials in a 0600 file it rereads, renews them before they end without restarting
the poller, and says why when the role cannot be assumed."""

from __future__ import annotations

import base64
import json
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest

from steward.functions.connection import KafkaConnection
from steward.functions.errors import InvalidParameterValueException
from steward.functions.iam_token import (
    RoleCredentials,
    auth_token,
    oauth_callback,
    write_credentials,
)
from steward.functions.pollers import Pollers
from steward.functions.role_sessions import NOT_ASSUMABLE, RoleSessions
from steward.functions.service import Functions
from steward.iam.errors import AccessDenied
from steward.iam.service import IdentityAccess
from steward.iam.store import IamRecords
from steward.settings import Settings
from steward.store.store import Store
from tests.iam_signing import oauth_token
from tests.unit.zips import zip_of

ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/orders/0b1c-2d3e"
CODE = {"app.py": "def handler(event, context):\n    return None\n"}
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ACCOUNT_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def decoded(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


class IamCluster:
    """A cluster that requires IAM, at an address where nothing listens."""

    def __init__(self) -> None:
        self.requires_iam = True

    def cluster(self, arn: str) -> object:
        authentication = SimpleNamespace(sasl_iam=True, unauthenticated=not self.requires_iam)
        return SimpleNamespace(spec=SimpleNamespace(client_authentication=authentication))

    def for_mapping(self, arn: str, access: list[dict[str, str]]) -> KafkaConnection:
        settings = {"security.protocol": "SASL_SSL", "sasl.mechanisms": "OAUTHBEARER"}
        return KafkaConnection("127.0.0.1:9", settings, "127.0.0.1:9", signs_with_role=True)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(Settings(home=tmp_path).db_url)
    yield store
    store.close()


@pytest.fixture
def iam(store: Store) -> IdentityAccess:
    identity = IdentityAccess(IamRecords(store.engine), store.access_keys, ACCOUNT, "us-east-1")
    identity.create_role("consumer", LAMBDA_TRUST)
    identity.create_role("people-only", ACCOUNT_TRUST)
    return identity


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(iam: IdentityAccess, clock: Clock) -> tuple[RoleSessions, list[int]]:
    woken: list[int] = []
    return RoleSessions(iam, on_new_session=lambda: woken.append(1), clock=clock), woken


@pytest.fixture
def functions(
    store: Store, tmp_path: Path, sessions: tuple[RoleSessions, list[int]]
) -> Iterator[Functions]:
    made = Functions(
        store.engine,
        tmp_path / "functions",
        region="us-east-1",
        account_id=ACCOUNT,
        connections=IamCluster(),  # type: ignore[arg-type]
        role_sessions=sessions[0],
    )
    yield made
    made.close()


def create(functions: Functions, role: str, name: str = "reader") -> None:
    functions.create_function(
        name, {"Runtime": "python3.11", "Handler": "app.handler", "Role": role}, zip_of(CODE)
    )


def mapping_request(name: str = "reader") -> dict[str, Any]:
    return {
        "FunctionName": name,
        "EventSourceArn": CLUSTER,
        "Topics": ["orders"],
        "StartingPosition": "TRIM_HORIZON",
    }


# --- the token ----------------------------------------------------------------------------------
def test_the_token_is_the_signer_librarys_but_for_its_user_agent() -> None:
    when = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    credentials = RoleCredentials("STSEXAMPLE", "secret", "session-token", when.timestamp() + 3600)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        ours, expires = auth_token("eu-west-1", credentials)
    theirs, their_expiry_ms = oauth_token(
        "eu-west-1", "STSEXAMPLE", "secret", "session-token", when
    )
    ours_query = parse_qs(urlsplit(decoded(ours)).query)
    theirs_query = parse_qs(urlsplit(decoded(theirs)).query)
    assert ours_query.pop("User-Agent") != theirs_query.pop("User-Agent")
    assert ours_query == theirs_query
    assert urlsplit(decoded(ours)).netloc == "kafka.eu-west-1.amazonaws.com"
    assert expires * 1000 == their_expiry_ms


def test_a_token_ends_no_later_than_its_credentials() -> None:
    credentials = RoleCredentials("STSEXAMPLE", "secret", "token", time.time() + 60)
    _, expires = auth_token("us-east-1", credentials)
    assert expires == credentials.expiration


def test_the_callback_rereads_the_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    write_credentials(path, RoleCredentials("STSFIRST", "a", "t1", time.time() + 3600))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    callback = oauth_callback("us-east-1", path)
    first, _, principal, extensions = callback(None)
    assert "STSFIRST" in decoded(first) and principal and extensions == {}
    write_credentials(path, RoleCredentials("STSSECOND", "b", "t2", time.time() + 3600))
    second, _, _, _ = callback(None)
    assert "STSSECOND" in decoded(second)


# --- assuming the role as Lambda ----------------------------------------------------------------
def test_lambda_assumes_a_role_whose_trust_policy_names_it(iam: IdentityAccess) -> None:
    made = iam.assume_role_for_service(role_arn("consumer"), "lambda.amazonaws.com", "m-1")
    assert made.assumed_role_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/consumer/m-1"
    signing = {i.access_key_id: i for i in iam.signing_identities()}
    assert signing[made.access_key_id].session_token == made.session_token
    with pytest.raises(AccessDenied):
        iam.assume_role_for_service(role_arn("people-only"), "lambda.amazonaws.com", "m-1")
    with pytest.raises(AccessDenied):
        iam.assume_role_for_service(role_arn("missing"), "lambda.amazonaws.com", "m-1")
    assert iam.service_may_assume(role_arn("consumer"), "lambda.amazonaws.com")
    assert not iam.service_may_assume(role_arn("consumer"), "ec2.amazonaws.com")


def test_sessions_are_kept_and_renewed_before_they_end(
    sessions: tuple[RoleSessions, list[int]], clock: Clock
) -> None:
    held, woken = sessions
    first = held.credentials_for("m-1", role_arn("consumer"))
    assert held.credentials_for("m-1", role_arn("consumer")) == first
    assert woken == [1], "the brokers' key sync runs for each new session"
    clock.now = first.expiration - 60  # within RENEW_BEFORE of its end
    second = held.credentials_for("m-1", role_arn("consumer"))
    assert second.access_key_id != first.access_key_id
    assert second.expiration > first.expiration
    assert woken == [1, 1]


# --- validation ---------------------------------------------------------------------------------
def test_a_function_role_is_a_role_arn_lambda_may_assume(functions: Functions) -> None:
    with pytest.raises(InvalidParameterValueException, match="regular expression"):
        create(functions, "not-an-arn")
    with pytest.raises(InvalidParameterValueException, match="cannot be assumed by Lambda"):
        create(functions, role_arn("people-only"))
    create(functions, role_arn("consumer"))
    with pytest.raises(InvalidParameterValueException, match="cannot be assumed by Lambda"):
        functions.update_configuration("reader", {"Role": role_arn("people-only")})


def test_a_trigger_on_a_cluster_that_requires_iam_needs_an_assumable_role(
    functions: Functions,
) -> None:
    create(functions, role_arn("not-in-steward"), "elsewhere")
    with pytest.raises(InvalidParameterValueException, match=NOT_ASSUMABLE):
        functions.create_mapping(mapping_request("elsewhere"))
    create(functions, role_arn("consumer"))
    assert functions.create_mapping(mapping_request()).state == "Creating"


def test_without_iam_required_a_role_steward_lacks_is_taken(functions: Functions) -> None:
    functions.connections.requires_iam = False  # type: ignore[union-attr]
    create(functions, role_arn("not-in-steward"))
    assert functions.create_mapping(mapping_request()).state == "Creating"


# --- the supervisor's handoff -------------------------------------------------------------------
def test_the_poller_gets_the_roles_credentials_and_their_renewal_without_a_restart(
    functions: Functions,
    sessions: tuple[RoleSessions, list[int]],
    clock: Clock,
    tmp_path: Path,
) -> None:
    create(functions, role_arn("consumer"))
    uuid = functions.create_mapping(mapping_request()).uuid
    pollers = Pollers(
        functions,
        functions.connections,  # type: ignore[arg-type]
        tmp_path / "triggers",
        role_sessions=sessions[0],
        region="us-east-1",
    )
    try:
        pollers.pass_once()
        pid = pollers.pid(uuid)
        assert pid is not None
        path = tmp_path / "triggers" / uuid / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        first = json.loads(path.read_text())
        config = json.loads((tmp_path / "triggers" / uuid / "config.json").read_text())
        assert config["credentials_path"] == str(path)
        assert first["SecretAccessKey"] not in json.dumps(config)

        pollers.pass_once()
        assert json.loads(path.read_text()) == first, "nothing renewed while time is left"

        clock.now = first["Expiration"] - 60
        pollers.pass_once()
        renewed = json.loads(path.read_text())
        assert renewed["AccessKeyId"] != first["AccessKeyId"]
        assert pollers.pid(uuid) == pid, "a renewal restarts no poller"
    finally:
        pollers.stop_all()


def test_a_role_lambda_may_no_longer_assume_is_the_mappings_problem(
    functions: Functions,
    iam: IdentityAccess,
    sessions: tuple[RoleSessions, list[int]],
    tmp_path: Path,
) -> None:
    create(functions, role_arn("consumer"))
    uuid = functions.create_mapping(mapping_request()).uuid
    iam.update_trust_policy("consumer", ACCOUNT_TRUST)
    pollers = Pollers(
        functions,
        functions.connections,  # type: ignore[arg-type]
        tmp_path / "triggers",
        role_sessions=sessions[0],
    )
    try:
        pollers.pass_once()
        assert pollers.pid(uuid) is None
        result = functions.get_mapping(uuid).last_processing_result
        assert result.startswith(f"PROBLEM: {NOT_ASSUMABLE}")
    finally:
        pollers.stop_all()
