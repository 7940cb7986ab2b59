"""The Query protocol as boto3's own `iam` and `sts` clients speak it: nested lists and
structures in, XML with lists, timestamps and booleans out, and the service's errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.domain.errors import StewardError
from steward.wire.query_protocol import QueryEndpoint, with_query_endpoints
from tests.unit.serving import serving

log = logging.getLogger(__name__)


class NoSuchEntity(StewardError):
    status = 404
    code = "NoSuchEntity"


class Unknown(StewardError):
    status = 400
    code = "InvalidAction"


class Failure(StewardError):
    status = 500
    code = "ServiceFailure"


class Users:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}


def create_user(users: Users, members: dict[str, Any]) -> dict[str, Any]:
    user = {
        "Path": members.get("Path", "/"),
        "UserName": members["UserName"],
        "UserId": "AIDA" + members["UserName"].upper(),
        "Arn": f"arn:aws:iam::123456789012:user/{members['UserName']}",
        "CreateDate": datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
        "Tags": members.get("Tags", []),
    }
    users.users[user["UserName"]] = user
    return {"User": user}


def get_user(users: Users, members: dict[str, Any]) -> dict[str, Any]:
    name = members["UserName"]
    if name not in users.users:
        raise NoSuchEntity(f"The user with name {name} cannot be found.")
    return {"User": users.users[name]}


def list_users(users: Users, members: dict[str, Any]) -> dict[str, Any]:
    listed = list(users.users.values())[: members.get("MaxItems", 100)]
    return {"Users": listed, "IsTruncated": len(listed) < len(users.users)}


def get_caller_identity(_: object, members: dict[str, Any]) -> dict[str, Any]:
    return {"UserId": "AIDAX", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/x"}


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any]]:
    iam = QueryEndpoint(
        model_name="iam",
        operations={"CreateUser": create_user, "GetUser": get_user, "ListUsers": list_users},
        service=Users(),
        unknown_action=lambda action: Unknown(f"No action {action}."),
        internal=Failure,
        log=log,
    )
    sts = QueryEndpoint(
        model_name="sts",
        operations={"GetCallerIdentity": get_caller_identity},
        service=None,
        unknown_action=lambda action: Unknown(f"No action {action}."),
        internal=Failure,
        log=log,
    )

    async def other(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"other"})

    with serving(with_query_endpoints([iam, sts], other)) as url:
        options = dict(
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
        )
        yield boto3.client("iam", **options), boto3.client("sts", **options)


def test_nested_members_and_typed_answers_round_trip(clients: tuple[Any, Any]) -> None:
    iam, _ = clients
    made = iam.create_user(
        UserName="alice", Path="/apps/", Tags=[{"Key": "team", "Value": "data"}]
    )["User"]
    assert made["Tags"] == [{"Key": "team", "Value": "data"}]
    assert made["Path"] == "/apps/"
    assert made["CreateDate"] == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    iam.create_user(UserName="bob")
    listed = iam.list_users(MaxItems=1)
    assert [u["UserName"] for u in listed["Users"]] == ["alice"]
    assert listed["IsTruncated"] is True


def test_errors_have_the_services_code(clients: tuple[Any, Any]) -> None:
    iam, _ = clients
    with pytest.raises(ClientError) as raised:
        iam.get_user(UserName="nobody")
    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "nobody" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unknown:
        iam.delete_user(UserName="bob")
    assert unknown.value.response["Error"]["Code"] == "InvalidAction"


def test_the_signing_service_picks_the_endpoint(clients: tuple[Any, Any]) -> None:
    _, sts = clients
    assert sts.get_caller_identity()["Account"] == "123456789012"
