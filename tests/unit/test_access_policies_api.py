"""Steward's access policy routes over HTTP against the real app (no reconciler, no Kafka), and
`steward policy` against them: a principal's policy put, listed, shown with its ACLs, compiled
and deleted, a certificate subject in the path, and refusals in MSK's error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.domain.model import ClientAuthentication, ClientBroker, EncryptionInTransit
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.82.1"), Zone("az-b", "127.82.2"), Zone("az-c", "127.82.3"))
SUBJECT = "User:CN=alice,O=Example"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ClusterService]:
    settings = Settings(home=tmp_path, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    yield service
    service.store.close()


@pytest.fixture
def cluster_arn(service: ClusterService) -> str:
    return active_cluster(
        service,
        "orders",
        encryption_in_transit=EncryptionInTransit(ClientBroker.TLS),
        client_authentication=ClientAuthentication(unauthenticated=False, sasl_scram=True),
    ).arn


@pytest.fixture
def endpoint(service: ClusterService) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


def policies_url(endpoint: str, cluster_arn: str, principal: str | None = None) -> str:
    url = f"{endpoint}/steward/v1/clusters/{quote(cluster_arn, safe='')}/policies"
    return url if principal is None else f"{url}/{quote(principal, safe='')}"


def producer_of(cluster_arn: str) -> dict[str, Any]:
    topics = cluster_arn.replace(":cluster/", ":topic/")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently"],
                "Resource": cluster_arn,
            },
            {
                "Effect": "Allow",
                "Action": ["kafka-cluster:WriteData", "kafka-cluster:DescribeTopic"],
                "Resource": f"{topics}/orders-*",
            },
        ],
    }


def test_a_policy_is_put_listed_shown_and_deleted(endpoint: str, cluster_arn: str) -> None:
    url = policies_url(endpoint, cluster_arn)
    put = httpx.put(url, json={"principal": SUBJECT, "policy": producer_of(cluster_arn)})
    assert put.status_code == 200, put.text
    stored = put.json()
    assert stored["status"] == "PENDING" and stored["version"] == 1
    assert stored["aclCount"] == 3 and stored["policy"] == producer_of(cluster_arn)
    assert {(a["resourceName"], a["patternType"], a["operation"]) for a in stored["acls"]} == {
        ("kafka-cluster", "LITERAL", "IDEMPOTENT_WRITE"),
        ("orders-", "PREFIXED", "WRITE"),
        ("orders-", "PREFIXED", "DESCRIBE"),
    }
    as_text = json.dumps(producer_of(cluster_arn), indent=2)
    again = httpx.put(url, json={"principal": "User:bob", "policy": as_text})
    assert again.status_code == 200, again.text
    listed = httpx.get(url).json()["policies"]
    assert [(p["principal"], p["aclCount"]) for p in listed] == [("User:CN=alice,O=Example", 3),
                                                                 ("User:bob", 3)]  # fmt: skip
    assert "acls" not in listed[0]
    one = httpx.get(policies_url(endpoint, cluster_arn, SUBJECT))
    assert one.status_code == 200 and one.json()["principal"] == SUBJECT
    paged = httpx.get(url, params={"maxResults": 1}).json()
    assert len(paged["policies"]) == 1 and paged["nextToken"]
    deleted = httpx.delete(policies_url(endpoint, cluster_arn, SUBJECT))
    assert deleted.status_code == 200 and deleted.json()["principal"] == SUBJECT
    gone = httpx.get(policies_url(endpoint, cluster_arn, SUBJECT))
    assert gone.status_code == 404
    assert gone.headers["x-amzn-ErrorType"].startswith("NotFoundException")


def test_compile_is_a_dry_run(endpoint: str, cluster_arn: str) -> None:
    url = policies_url(endpoint, cluster_arn)
    compiled = httpx.post(
        f"{url}/compile", json={"principal": "User:alice", "policy": producer_of(cluster_arn)}
    )
    assert compiled.status_code == 200, compiled.text
    assert len(compiled.json()["acls"]) == 3
    assert httpx.get(url).json()["policies"] == []


@pytest.mark.parametrize(
    ("body", "member", "says"),
    [
        ({"policy": {}}, "principal", "principal parameter is required"),
        ({"principal": "User:alice"}, "policy", "policy parameter is required"),
        ({"principal": "User:alice", "policy": [1]}, "policy", "JSON object, or a string"),
        ({"principal": "User:alice", "policy": "{"}, "policy", "not valid JSON"),
        ({"principal": "User:steward-internal"}, "principal", "reserved"),
        (
            {"principal": "User:alice", "policy": {"Statement": {"Effect": "Allow"}}},
            "policy",
            "Statement 0",
        ),
    ],
)
def test_a_bad_request_names_the_member(
    endpoint: str, cluster_arn: str, body: dict[str, Any], member: str, says: str
) -> None:
    if body.get("principal") == "User:steward-internal":
        body["policy"] = producer_of(cluster_arn)
    refused = httpx.put(policies_url(endpoint, cluster_arn), json=body)
    assert refused.status_code == 400, refused.text
    assert refused.headers["x-amzn-ErrorType"].startswith("BadRequestException")
    assert refused.json()["invalidParameter"] == member
    assert says in refused.json()["message"]


def test_an_unknown_cluster_is_not_found(endpoint: str) -> None:
    arn = "arn:aws:kafka:us-east-1:000000000000:cluster/none/0000-1"
    for answer in (
        httpx.get(policies_url(endpoint, arn)),
        httpx.put(policies_url(endpoint, arn), json={"principal": "User:a", "policy": {}}),
        httpx.delete(policies_url(endpoint, arn, "User:a")),
    ):
        assert answer.status_code == 404
        assert answer.headers["x-amzn-ErrorType"].startswith("NotFoundException")


def test_the_cli_puts_lists_shows_compiles_and_deletes(
    endpoint: str, cluster_arn: str, tmp_path: Path
) -> None:
    env = {"STEWARD_ENDPOINT_URL": endpoint, "STEWARD_AUTH": "off"}
    document = tmp_path / "producer.json"
    document.write_text(json.dumps(producer_of(cluster_arn), indent=2))
    runner = CliRunner()

    def steward(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    put = steward("policy", "put", "orders", "--principal", SUBJECT, "--file", str(document))
    assert "PENDING" in put and SUBJECT in put
    assert SUBJECT in steward("policy", "list", "orders")
    shown = steward("policy", "get", "orders", SUBJECT)
    assert "kafka-cluster:WriteData" in shown and "IDEMPOTENT_WRITE" in shown
    assert "orders-" in shown and "PREFIXED" in shown
    as_json = json.loads(steward("policy", "get", cluster_arn, SUBJECT, "-o", "json"))
    assert as_json["aclCount"] == 3
    compiled = steward(
        "policy", "compile", "orders", "--principal", "User:bob", "--file", str(document)
    )
    assert "IDEMPOTENT_WRITE" in compiled
    assert "deleted" in steward("policy", "delete", "orders", SUBJECT)
    missing = runner.invoke(cli, ["policy", "get", "orders", SUBJECT], env=env)
    assert missing.exit_code == 1 and "NotFoundException" in missing.output
    bad = runner.invoke(
        cli,
        ["policy", "put", "orders", "--principal", "alice", "--file", str(document)],
        env=env,
    )
    assert bad.exit_code == 1 and "User:<name>" in bad.output
