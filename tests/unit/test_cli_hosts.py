"""`steward host` over Steward's host routes: list, register, drain, activate and remove."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.model import BrokerNodeGroup, ClusterSpec
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.72.1"), Zone("az-b", "127.72.2"), Zone("az-c", "127.72.3"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ClusterService, str]]:
    settings = Settings(home=tmp_path, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    service.hosts.register_embedded()
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield service, url
    service.store.close()


def run(url: str, *args: str) -> tuple[int, str]:
    env = {"STEWARD_ENDPOINT_URL": url, "STEWARD_AUTH": "off"}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def test_hosts_are_listed_with_zone_address_state_and_capacity(served: tuple) -> None:
    _, url = served
    code, output = run(url, "host", "list")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split()[:4] == ["HOST", "ZONE", "AGENT", "STATE"]
    [row] = [line for line in lines if line.startswith("az-a ")]
    assert row.split()[:4] == ["az-a", "az-a", "127.72.1.254:9781", "ACTIVE"]
    code, output = run(url, "host", "list", "-o", "json")
    [first, *_] = json.loads(output)["hosts"]
    assert first["capacity"]["cores"] >= 1 and first["reserved"]["cores"] == 0


def test_a_host_registers_and_is_drained_activated_and_removed(served: tuple) -> None:
    _, url = served
    code, output = run(
        url, "host", "register", "m1", "--zone", "az-b", "--agent-address", "10.9.0.5:9781",
        "--node-address", "10.9.0.6", "--node-address", "10.9.0.7", "--cores", "4",
        "--memory-gib", "16", "--disk", "/data=500", "-o", "json",
    )  # fmt: skip
    assert code == 0, output
    host = json.loads(output)
    assert (host["zone"], host["state"], host["origin"]) == ("az-b", "ACTIVE", "joined")
    assert host["nodeAddresses"] == ["10.9.0.6", "10.9.0.7"]
    code, output = run(url, "host", "drain", "m1")
    assert code == 0 and "DRAINING" in output, output
    code, output = run(url, "host", "activate", "m1")
    assert code == 0 and "ACTIVE" in output, output
    code, output = run(url, "host", "remove", "m1")
    assert code == 0 and "host m1 removed" in output, output
    assert "m1" not in run(url, "host", "list")[1]
    code, output = run(url, "host", "drain", "m1")
    assert code != 0 and "NotFoundException" in output


def test_a_host_with_nodes_is_not_removed_and_shows_what_they_reserve(served: tuple) -> None:
    service, url = served
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    cluster = service.create_cluster("orders", spec, {})
    service.store.add_nodes(
        Placer(ZONES, set()).place(
            cluster.arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1",
            "kafka.m5.large",
        )
    )  # fmt: skip
    code, output = run(url, "host", "remove", "az-a")
    assert code != 0 and "ConflictException" in output and "still runs 2 node" in output
    described = httpx.get(f"{url}/steward/v1/hosts/az-a").json()
    assert sorted(described["nodes"]) == ["orders broker 1", "orders controller 1001"]
    assert described["reserved"]["cores"] == pytest.approx(0.25 + 0.125)
    assert described["volumeBytes"] == 10 * 1024**3


def test_a_bad_registration_names_what_is_wrong(served: tuple) -> None:
    _, url = served
    refused = httpx.post(
        f"{url}/steward/v1/hosts",
        json={"hostName": "m1", "zone": "az-q", "agentAddress": "10.0.0.1:9781",
              "nodeAddresses": ["10.0.0.2"], "capacity": {"cores": 2, "memoryBytes": 2**31}},
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.headers["x-amzn-ErrorType"].startswith("BadRequestException")
    assert "az-q" in refused.json()["message"]
    missing = httpx.post(f"{url}/steward/v1/hosts", json={"hostName": "m1"})
    assert missing.status_code == 400 and missing.json()["invalidParameter"] == "capacity"
