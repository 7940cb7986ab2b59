"""`steward function ...` and `steward trigger ...` against the real API app: a function made
from a directory of code, invoked with its log shown, listed, failing in Lambda's way, and
deleted; an HTTP function made with --url calls its URL; a trigger on a cluster this Steward does
not have is refused with Lambda's error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.functions.connection import ClusterConnections
from steward.functions.service import Functions
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.85.1"), Zone("az-b", "127.85.2"), Zone("az-c", "127.85.3"))


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("cli-functions")
    settings = Settings(home=home, zones=ZONES)
    store = Store(settings.db_url)
    service = ClusterService(settings, store)
    functions = Functions(
        store.engine,
        home / "functions",
        region="us-east-1",
        account_id="123456789012",
        connections=ClusterConnections(store),
    )
    with serving(build_app(service, AcceptAnyRequest(), functions=functions)) as url:
        yield url
    functions.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def run(endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--endpoint-url", endpoint, *args])


def test_a_function_from_a_directory_is_made_invoked_and_deleted(
    endpoint: str, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(
        "def handler(event, context):\n"
        "    print('hello from', context.function_name)\n"
        "    if event.get('fail'):\n"
        "        raise KeyError('nope')\n"
        "    return {'doubled': event['n'] * 2}\n"
    )
    made = run(
        endpoint,
        "function",
        "create",
        "doubler",
        "--code",
        str(tmp_path),
        "--handler",
        "app.handler",
    )
    assert made.exit_code == 0, made.output
    assert "Active" in made.output

    invoked = run(endpoint, "function", "invoke", "doubler", "--payload", '{"n": 21}', "--log")
    assert invoked.exit_code == 0, invoked.output
    assert '{"doubled": 42}' in invoked.output
    assert "hello from doubler" in invoked.output

    failed = run(
        endpoint, "-o", "json", "function", "invoke", "doubler", "--payload", '{"fail": true}'
    )
    answer = json.loads(failed.output)
    assert answer["FunctionError"] == "Unhandled"
    assert answer["Payload"]["errorType"] == "KeyError"

    listed = run(endpoint, "function", "list")
    assert "doubler" in listed.output
    assert run(endpoint, "function", "delete", "doubler").exit_code == 0
    gone = run(endpoint, "function", "describe", "doubler")
    assert gone.exit_code != 0 and "ResourceNotFoundException" in gone.output


def test_an_http_function_posts_its_event_to_its_url(endpoint: str) -> None:
    received: list[object] = []

    async def receive(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"seen": True})

    remote = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    with serving(remote) as url:
        made = run(endpoint, "function", "create", "remote", "--url", f"{url}/hook")
        assert made.exit_code == 0, made.output
        invoked = run(endpoint, "function", "invoke", "remote", "--payload", '{"k": "v"}')
    assert invoked.exit_code == 0, invoked.output
    assert json.loads(invoked.output) == {"seen": True}
    assert received == [{"k": "v"}]


def test_a_trigger_needs_a_cluster_of_this_steward(endpoint: str, tmp_path: Path) -> None:
    (tmp_path / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 1\n")
    assert run(endpoint, "function", "create", "noop", "--code", str(tmp_path)).exit_code == 0
    refused = run(
        endpoint,
        "trigger",
        "create",
        "noop",
        "--cluster",
        "arn:aws:kafka:us-east-1:123456789012:cluster/none/0000",
        "--topic",
        "orders",
    )
    assert refused.exit_code != 0
    assert "InvalidParameterValueException" in refused.output
    assert run(endpoint, "trigger", "list").exit_code == 0
