"""The Lambda-compatible API through boto3's `lambda` client against the real API app (SigV4 on,
the `lambda` signing name): a function is made from a ZIP, shown, listed, invoked (a result, a
raised error in Lambda's shape, a timeout, an Event invocation), changed and deleted; a ZIP
without its handler, an unknown function and a duplicate get Lambda's errors; an unsigned request
on a Lambda path is refused in Lambda's shape."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from steward.api.auth.keys import NewAccessKey
from steward.functions.connection import ClusterConnections
from steward.functions.service import Functions
from steward.settings import Zone
from steward.store.store import Store
from tests.unit.serving import signed_client, signed_endpoint_fixtures
from tests.unit.zips import zip_of

ZONES = (Zone("az-a", "127.84.1"), Zone("az-b", "127.84.2"), Zone("az-c", "127.84.3"))
ROLE = "arn:aws:iam::123456789012:role/steward-function"

ECHO = """
import os
calls = 0

def handler(event, context):
    global calls
    calls += 1
    print("got", event)
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("append"):
        with open(event["append"], "a") as out:
            out.write(context.aws_request_id + "\\n")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "calls": calls,
    }
"""


@contextmanager
def with_functions(home: Path, store: Store) -> Iterator[dict[str, Any]]:
    """The Lambda-compatible service beside the MSK API, its warm workers ended afterwards."""
    functions = Functions(
        store.engine,
        home / "functions",
        region="us-east-1",
        account_id="123456789012",
        connections=ClusterConnections(store),
    )
    try:
        yield {"functions": functions}
    finally:
        functions.close()


home, store, key, endpoint = signed_endpoint_fixtures("lambda", ZONES, extras=with_functions)


@pytest.fixture
def client(endpoint: str, key: NewAccessKey) -> Any:
    return signed_client("lambda", endpoint, key)


def error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return {
        **raised.value.response["Error"],
        "Status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def create(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.11",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": zip_of({"app.py": ECHO})},
        **extra,
    }
    return dict(client.create_function(**settings))


def invoke(client: Any, name: str, event: Any, **extra: Any) -> tuple[dict[str, Any], Any]:
    answer = client.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **extra)
    return answer, json.loads(answer["Payload"].read())


def test_a_function_from_a_zip_runs_with_lambdas_handler_contract(client: Any) -> None:
    made = create(client, "echo", Environment={"Variables": {"GREETING": "hello"}}, Timeout=5)
    assert made["State"] == "Active"
    assert made["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert made["Runtime"] == "python3.11" and made["Handler"] == "app.handler"
    assert made["CodeSize"] > 0 and made["CodeSha256"]

    answer, payload = invoke(client, "echo", {"n": 1}, LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert payload["event"] == {"n": 1}
    assert payload["function_name"] == "echo" and payload["greeting"] == "hello"
    assert 0 < payload["remaining"] <= 5000
    assert "got {'n': 1}" in base64.b64decode(answer["LogResult"]).decode()

    _, again = invoke(client, "echo", {"n": 2})
    assert again["calls"] == 2, "the worker stays warm between invocations"
    assert again["request_id"] != payload["request_id"]

    shown = client.get_function(FunctionName="echo")
    assert shown["Configuration"]["Environment"]["Variables"] == {"GREETING": "hello"}
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert "echo" in names
    config = client.get_function_configuration(
        FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo"
    )
    assert config["Timeout"] == 5


def test_a_raised_error_is_answered_as_lambda_answers_it(client: Any) -> None:
    create(client, "raiser")
    answer, payload = invoke(client, "raiser", {"fail": True})
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "asked to fail"
    assert payload["stackTrace"]


def test_a_function_that_overruns_its_timeout_is_stopped(client: Any) -> None:
    create(client, "sleeper", Timeout=1)
    answer, payload = invoke(client, "sleeper", {"sleep": 30})
    assert answer["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    _, fine = invoke(client, "sleeper", {"n": 3})
    assert fine["event"] == {"n": 3} and fine["calls"] == 1, "a fresh worker took over"


def test_an_event_invocation_is_accepted_and_runs_later(client: Any, tmp_path: Path) -> None:
    create(client, "later")
    target = tmp_path / "calls.txt"
    answer = client.invoke(
        FunctionName="later",
        InvocationType="Event",
        Payload=json.dumps({"append": str(target)}).encode(),
    )
    assert answer["StatusCode"] == 202
    deadline = time.time() + 30
    while not target.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert target.read_text().strip()


def test_a_zip_without_the_handler_is_refused(client: Any) -> None:
    refused = error(
        client.create_function,
        FunctionName="broken",
        Runtime="python3.12",
        Role=ROLE,
        Handler="missing.handler",
        Code={"ZipFile": zip_of({"app.py": ECHO})},
    )
    assert refused["Code"] == "InvalidParameterValueException" and refused["Status"] == 400
    wrong_function = error(
        client.create_function,
        FunctionName="broken",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.nothing_here",
        Code={"ZipFile": zip_of({"app.py": ECHO})},
    )
    assert wrong_function["Code"] == "InvalidParameterValueException"
    not_a_zip = error(
        client.create_function,
        FunctionName="broken",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": b"not a zip"},
    )
    assert not_a_zip["Code"] == "InvalidParameterValueException"
    assert error(client.get_function, FunctionName="broken")["Code"] == (
        "ResourceNotFoundException"
    )


def test_lambdas_errors_for_unknown_and_duplicate_functions(client: Any) -> None:
    missing = error(client.invoke, FunctionName="nobody", Payload=b"{}")
    assert missing["Code"] == "ResourceNotFoundException" and missing["Status"] == 404
    create(client, "twice")
    again = error(create, client, "twice")
    assert again["Code"] == "ResourceConflictException" and again["Status"] == 409
    runtime = error(create, client, "old", Runtime="python2.7")
    assert runtime["Code"] == "InvalidParameterValueException"


def test_code_and_configuration_change_and_the_function_goes(client: Any) -> None:
    create(client, "changing")
    new_code = "def handler(event, context):\n    return 'v2'\n"
    updated = client.update_function_code(
        FunctionName="changing", ZipFile=zip_of({"app.py": new_code})
    )
    assert updated["State"] == "Active"
    assert invoke(client, "changing", {})[1] == "v2"
    changed = client.update_function_configuration(
        FunctionName="changing", Timeout=9, MemorySize=256, Environment={"Variables": {"A": "b"}}
    )
    assert changed["Timeout"] == 9 and changed["MemorySize"] == 256
    assert changed["RevisionId"] != updated["RevisionId"]
    stale = error(
        client.update_function_configuration,
        FunctionName="changing",
        Timeout=4,
        RevisionId=updated["RevisionId"],
    )
    assert stale["Code"] == "ResourceConflictException"
    client.delete_function(FunctionName="changing")
    assert error(client.get_function, FunctionName="changing")["Code"] == (
        "ResourceNotFoundException"
    )


def test_an_unsigned_request_on_a_lambda_path_gets_lambdas_error_shape(endpoint: str) -> None:
    answer = httpx.get(f"{endpoint}/2015-03-31/functions/")
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "UnrecognizedClientException"
    assert answer.json()["Type"] == "User"


def test_a_mapping_needs_a_steward_cluster(client: Any) -> None:
    create(client, "consumer")
    refused = error(
        client.create_event_source_mapping,
        FunctionName="consumer",
        EventSourceArn="arn:aws:sqs:us-east-1:123456789012:queue",
        Topics=["orders"],
        StartingPosition="LATEST",
    )
    assert refused["Code"] == "InvalidParameterValueException"
    missing = error(client.get_event_source_mapping, UUID="6d9bd8e5-2d4b-4a3e-9d3c-1b2f0c1d2e3f")
    assert missing["Code"] == "ResourceNotFoundException"


def test_a_function_that_takes_more_memory_than_its_limit_fails(client: Any) -> None:
    hog = (
        "def handler(event, context):\n"
        "    block = bytearray(2 * 1024 ** 3)\n"
        "    return len(block)\n"
    )
    create(client, "hog", Code={"ZipFile": zip_of({"app.py": hog})}, MemorySize=128)
    answer, payload = invoke(client, "hog", {})
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory"


def test_a_zip_with_requirements_gets_a_virtualenv_of_its_own(
    client: Any, home: Path, store: Store
) -> None:
    where = "import sys\n\ndef handler(event, context):\n    return sys.prefix\n"
    made = create(
        client,
        "packaged",
        Code={"ZipFile": zip_of({"app.py": where, "requirements.txt": "# nothing needed\n"})},
    )
    assert made["State"] == "Pending"
    refused = error(client.invoke, FunctionName="packaged", Payload=b"{}")
    assert refused["Code"] == "ResourceConflictException"
    builder = Functions(
        store.engine, home / "functions", region="us-east-1", account_id="123456789012"
    )
    builder.build_pending()  # what the control plane's function-builder task runs
    assert client.get_function(FunctionName="packaged")["Configuration"]["State"] == "Active"
    _, prefix = invoke(client, "packaged", {})
    assert prefix.startswith(str(home / "functions" / "packaged")) and prefix.endswith("venv")


def test_a_callers_policies_decide_each_lambda_operation(endpoint: str, key: NewAccessKey) -> None:
    options = dict(endpoint_url=endpoint, region_name="us-east-1")
    iam = boto3.client(
        "iam",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        **options,
    )
    iam.create_user(UserName="lister")
    account = boto3.client(
        "sts",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        **options,
    ).get_caller_identity()["Account"]
    allowed = f"arn:aws:lambda:us-east-1:{account}:function:open-*"
    iam.put_user_policy(
        UserName="lister",
        PolicyName="main",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "lambda:List*", "Resource": "*"},
                    {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": allowed},
                ],
            }
        ),
    )
    made = iam.create_access_key(UserName="lister")["AccessKey"]
    lister = boto3.client(
        "lambda",
        aws_access_key_id=made["AccessKeyId"],
        aws_secret_access_key=made["SecretAccessKey"],
        **options,
    )
    assert "Functions" in lister.list_functions()
    with pytest.raises(ClientError) as refused:
        lister.get_function(FunctionName="closed-one")
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert "lambda:GetFunction" in error["Error"]["Message"]
    assert "function:closed-one" in error["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        lister.get_function(FunctionName="open-one")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
