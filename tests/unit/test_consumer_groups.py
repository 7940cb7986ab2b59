"""Steward's consumer group routes and `steward group` against the real API app, with an
in-memory Kafka standing in for steward.kafka.consumer_groups: the answers' shapes, lag
arithmetic, where a reset moves offsets, input validation and which MSK error each refusal
becomes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner, Result

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.domain.model import BrokerNodeGroup, ClusterSpec
from steward.kafka import consumer_groups as kafka_groups
from steward.kafka import topics as kafka_topics
from steward.kafka.consumer_groups import GroupMember, OffsetQuery, Partition
from steward.kafka.group_lag import ConsumerGroup, PartitionLag
from steward.kafka.health import PartitionState
from steward.settings import Settings
from steward.store.store import Store
from tests.unit.clusters import active_cluster
from tests.unit.serving import serving
from tests.unit.test_msk_topics import ZONES

MS_PER_OFFSET = 1000
"""The stand-in's message at offset n was written at n * 1000 ms."""


@dataclass
class FakeGroup:
    committed: dict[Partition, int] = field(default_factory=dict)
    members: list[GroupMember] = field(default_factory=list)
    simple: bool = False

    @property
    def state(self) -> str:
        return "STABLE" if self.members else "EMPTY"


def member(member_id: str, *assignment: Partition) -> GroupMember:
    return GroupMember(
        member_id,
        f"client-{member_id}",
        f"/10.0.0.{len(member_id)}",
        None,
        tuple(sorted(assignment)),
    )


class FakeKafka:
    """What steward.kafka.consumer_groups (and describe_topic) do, on dicts. A topic's partition
    holds the offsets [earliest, end)."""

    def __init__(self) -> None:
        self.topics: dict[str, list[tuple[int, int]]] = {}
        """Per topic, (earliest, end) of each partition."""
        self.groups: dict[str, FakeGroup] = {}
        self.unreachable = False
        self.bootstraps: set[str] = set()

    def _ask(self, bootstrap: str) -> None:
        self.bootstraps.add(bootstrap)
        if self.unreachable:
            raise kafka_groups.GroupError("listing consumer groups: timed out")

    def list_groups(self, bootstrap: str, timeout: float = 10.0) -> list[Any]:
        self._ask(bootstrap)
        return [
            kafka_groups.GroupListing(g, self.groups[g].state, self.groups[g].simple, "CLASSIC")
            for g in sorted(self.groups)
        ]

    def describe_groups(self, bootstrap: str, group_ids: Any, timeout: float = 10.0) -> Any:
        self._ask(bootstrap)
        return {
            g: kafka_groups.GroupDescription(
                g,
                self.groups[g].state,
                self.groups[g].simple,
                "CLASSIC",
                2,
                "range",
                tuple(self.groups[g].members),
            )
            for g in group_ids
            if g in self.groups
        }

    def committed_offsets(self, bootstrap: str, group_ids: Any, timeout: float = 10.0) -> Any:
        self._ask(bootstrap)
        return {g: dict(self.groups[g].committed) if g in self.groups else {} for g in group_ids}

    def partition_offsets(
        self,
        bootstrap: str,
        partitions: Any,
        query: OffsetQuery = kafka_groups.LATEST,
        timeout: float = 10.0,
        strict: bool = False,
    ) -> dict[Partition, int | None]:
        self._ask(bootstrap)
        found: dict[Partition, int | None] = {}
        for topic, partition in partitions:
            if topic not in self.topics or partition >= len(self.topics[topic]):
                if strict:
                    raise kafka_groups.UnknownPartitionError(f"no {topic}/{partition}")
                found[(topic, partition)] = None
                continue
            earliest, end = self.topics[topic][partition]
            if query.kind == "earliest":
                found[(topic, partition)] = earliest
            elif query.kind == "latest":
                found[(topic, partition)] = end
            else:
                assert query.timestamp is not None
                first = max(earliest, -(-query.timestamp // MS_PER_OFFSET))
                found[(topic, partition)] = first if first < end else None
        return found

    def alter_group_offsets(
        self, bootstrap: str, group_id: str, offsets: Any, timeout: float = 30.0
    ) -> None:
        self._ask(bootstrap)
        group = self.groups.setdefault(group_id, FakeGroup(simple=True))
        if group.members:
            raise kafka_groups.GroupNotEmptyError(f"Consumer group {group_id} has members.")
        group.committed.update(offsets)

    def delete_group(self, bootstrap: str, group_id: str, timeout: float = 30.0) -> None:
        self._ask(bootstrap)
        if group_id not in self.groups:
            raise kafka_groups.UnknownGroupError(f"Consumer group {group_id} does not exist.")
        if self.groups[group_id].members:
            raise kafka_groups.GroupNotEmptyError(f"Consumer group {group_id} has members.")
        del self.groups[group_id]

    def describe_topic(self, bootstrap: str, name: str, timeout: float = 10.0) -> Any:
        self._ask(bootstrap)
        if name not in self.topics:
            raise kafka_topics.UnknownTopicError(f"Topic {name} does not exist.")
        partitions = [PartitionState(name, p, 1, (1,), (1,)) for p in range(len(self.topics[name]))]
        return kafka_topics.TopicDescription(name, tuple(partitions))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeKafka]:
    kafka = FakeKafka()
    patch = pytest.MonkeyPatch()
    for name in (
        "list_groups",
        "describe_groups",
        "committed_offsets",
        "partition_offsets",
        "alter_group_offsets",
        "delete_group",
    ):
        patch.setattr(kafka_groups, name, getattr(kafka, name))
    patch.setattr(kafka_topics, "describe_topic", kafka.describe_topic)
    yield kafka
    patch.undo()


@pytest.fixture(autouse=True)
def world(fake: FakeKafka) -> None:
    """orders: 3 partitions; audit: 1. Group `billing` has two members and lag 5 + 7 on
    orders, 2 on audit, plus an offset of a topic since deleted; `idle` is empty."""
    fake.unreachable = False
    fake.bootstraps.clear()
    fake.topics = {"orders": [(0, 10), (5, 20), (0, 0)], "audit": [(0, 4)]}
    fake.groups = {
        "billing": FakeGroup(
            committed={("orders", 0): 5, ("orders", 1): 13, ("audit", 0): 2, ("gone", 0): 9},
            members=[member("m-1", ("orders", 0), ("orders", 2)), member("m-22", ("orders", 1))],
        ),
        "idle": FakeGroup(committed={("orders", 0): 10, ("orders", 1): 6}),
        "other": FakeGroup(),
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("groups-api")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def endpoint(service: ClusterService, fake: FakeKafka) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


@pytest.fixture(scope="module")
def cluster_arn(service: ClusterService) -> str:
    return active_cluster(service, "orders").arn


@pytest.fixture
def groups_url(endpoint: str, cluster_arn: str) -> str:
    return f"{endpoint}/steward/v1/clusters/{quote(cluster_arn, safe='')}/consumer-groups"


def refusal(response: httpx.Response) -> tuple[int, str, str | None]:
    return (
        response.status_code,
        response.headers["x-amzn-ErrorType"],
        response.json().get("invalidParameter"),
    )


def reset(groups_url: str, group: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{groups_url}/{quote(group, safe='')}/reset-offsets", json=body)


# --- reading --------------------------------------------------------------------------------------
def test_list_shows_state_members_and_total_lag(groups_url: str) -> None:
    answer = httpx.get(groups_url).json()
    assert answer == {
        "consumerGroups": [
            {
                "groupId": "billing",
                "state": "STABLE",
                "protocolType": "consumer",
                "groupType": "CLASSIC",
                "members": 2,
                "totalLag": 5 + 7 + 2,
            },
            {
                "groupId": "idle",
                "state": "EMPTY",
                "protocolType": "consumer",
                "groupType": "CLASSIC",
                "members": 0,
                "totalLag": 0 + 14,
            },
            {
                "groupId": "other",
                "state": "EMPTY",
                "protocolType": "consumer",
                "groupType": "CLASSIC",
                "members": 0,
                "totalLag": 0,
            },
        ]
    }


def test_list_filters_by_prefix_and_pages(groups_url: str, fake: FakeKafka) -> None:
    for i in range(5):
        fake.groups[f"paged-{i}"] = FakeGroup()
    first = httpx.get(groups_url, params={"prefix": "paged-", "maxResults": 2}).json()
    assert [g["groupId"] for g in first["consumerGroups"]] == ["paged-0", "paged-1"]
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"prefix": "paged-", "maxResults": 2}
        if token:
            params["nextToken"] = token
        page = httpx.get(groups_url, params=params).json()
        seen += [g["groupId"] for g in page["consumerGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [f"paged-{i}" for i in range(5)]
    assert "nextToken" not in httpx.get(groups_url).json()
    assert httpx.get(groups_url, params={"prefix": "none-"}).json() == {"consumerGroups": []}
    for params, member_name in (
        ({"nextToken": "nope"}, "nextToken"),
        ({"maxResults": 0}, "maxResults"),
    ):
        assert refusal(httpx.get(groups_url, params=params)) == (
            400,
            "BadRequestException",
            member_name,
        )


def test_describe_shows_members_partitions_and_per_topic_lag(groups_url: str) -> None:
    answer = httpx.get(f"{groups_url}/billing").json()
    assert answer["members"] == [
        {
            "memberId": "m-1",
            "clientId": "client-m-1",
            "host": "/10.0.0.3",
            "groupInstanceId": None,
            "assignedPartitions": [
                {"topic": "orders", "partition": 0},
                {"topic": "orders", "partition": 2},
            ],
        },
        {
            "memberId": "m-22",
            "clientId": "client-m-22",
            "host": "/10.0.0.4",
            "groupInstanceId": None,
            "assignedPartitions": [{"topic": "orders", "partition": 1}],
        },
    ]
    assert answer["partitions"] == [
        {
            "topic": "audit",
            "partition": 0,
            "committedOffset": 2,
            "logEndOffset": 4,
            "lag": 2,
            "memberId": None,
        },
        {
            "topic": "gone",
            "partition": 0,
            "committedOffset": 9,
            "logEndOffset": None,
            "lag": None,
            "memberId": None,
        },
        {
            "topic": "orders",
            "partition": 0,
            "committedOffset": 5,
            "logEndOffset": 10,
            "lag": 5,
            "memberId": "m-1",
        },
        {
            "topic": "orders",
            "partition": 1,
            "committedOffset": 13,
            "logEndOffset": 20,
            "lag": 7,
            "memberId": "m-22",
        },
        {
            "topic": "orders",
            "partition": 2,
            "committedOffset": None,
            "logEndOffset": 0,
            "lag": None,
            "memberId": "m-1",
        },
    ]
    assert answer["topics"] == [
        {"topic": "audit", "sumOffsetLag": 2, "maxOffsetLag": 2},
        {"topic": "orders", "sumOffsetLag": 12, "maxOffsetLag": 7},
    ]
    rest = {k: v for k, v in answer.items() if k not in ("members", "partitions", "topics")}
    assert rest == {
        "groupId": "billing",
        "state": "STABLE",
        "protocolType": "consumer",
        "groupType": "CLASSIC",
        "coordinator": 2,
        "partitionAssignor": "range",
        "totalLag": 14,
    }


def test_an_unknown_group_is_not_found(groups_url: str) -> None:
    response = httpx.get(f"{groups_url}/ghost")
    assert refusal(response) == (404, "NotFoundException", "groupId")
    assert response.json()["message"] == "Consumer group ghost does not exist."


def test_group_ids_travel_percent_encoded(groups_url: str, fake: FakeKafka) -> None:
    fake.groups["team/a b%"] = FakeGroup(committed={("audit", 0): 1})
    answer = httpx.get(f"{groups_url}/{quote('team/a b%', safe='')}").json()
    assert (answer["groupId"], answer["totalLag"]) == ("team/a b%", 3)


def test_lag_is_log_end_minus_committed_over_committed_partitions() -> None:
    partitions = (
        PartitionLag("t", 0, 5, 10),
        PartitionLag("t", 1, None, 10),
        PartitionLag("t", 2, 7, None),
        PartitionLag("u", 0, 3, 3),
    )
    assert [p.lag for p in partitions] == [5, None, None, 0]
    group = ConsumerGroup("g", "EMPTY", "consumer", "CLASSIC", 1, "", (), partitions)
    assert group.total_lag == 5
    assert [(t.topic, t.sum_offset_lag, t.max_offset_lag) for t in group.topics] == [
        ("t", 5, 5),
        ("u", 0, 0),
    ]


# --- resetting offsets ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "offsets"),
    [
        ({"to": "earliest"}, [0, 5, 0]),
        ({"to": "latest"}, [10, 20, 0]),
        ({"to": "offset", "offset": 7}, [7, 7, 0]),  # kept within [earliest, log end]
        ({"to": "offset", "offset": 2}, [2, 5, 0]),
        ({"to": "timestamp", "timestamp": 6500}, [7, 7, 0]),  # no message after: the log end
        ({"to": "timestamp", "timestamp": 0}, [0, 5, 0]),
    ],
)
def test_a_reset_moves_every_partition_of_the_topic(
    groups_url: str, fake: FakeKafka, body: dict[str, Any], offsets: list[int]
) -> None:
    answer = reset(groups_url, "idle", topic="orders", **body).json()
    assert answer == {
        "groupId": "idle",
        "topic": "orders",
        "dryRun": False,
        "partitions": [
            {"topic": "orders", "partition": 0, "previousOffset": 10, "newOffset": offsets[0]},
            {"topic": "orders", "partition": 1, "previousOffset": 6, "newOffset": offsets[1]},
            {"topic": "orders", "partition": 2, "previousOffset": None, "newOffset": offsets[2]},
        ],
    }
    assert fake.groups["idle"].committed == {("orders", p): o for p, o in enumerate(offsets)}


def test_a_dry_run_changes_nothing_and_partitions_narrow_a_reset(
    groups_url: str, fake: FakeKafka
) -> None:
    planned = reset(groups_url, "idle", topic="orders", to="earliest", dryRun=True).json()
    assert planned["dryRun"] is True
    assert [p["newOffset"] for p in planned["partitions"]] == [0, 5, 0]
    assert fake.groups["idle"].committed == {("orders", 0): 10, ("orders", 1): 6}
    answer = reset(groups_url, "idle", topic="orders", to="earliest", partitions=[1]).json()
    assert answer["partitions"] == [
        {"topic": "orders", "partition": 1, "previousOffset": 6, "newOffset": 5}
    ]
    assert fake.groups["idle"].committed == {("orders", 0): 10, ("orders", 1): 5}
    assert httpx.get(f"{groups_url}/idle").json()["totalLag"] == 0 + 15


def test_a_reset_of_a_group_with_members_is_a_conflict(groups_url: str, fake: FakeKafka) -> None:
    response = reset(groups_url, "billing", topic="orders", to="earliest", dryRun=True)
    assert refusal(response) == (409, "ConflictException", "groupId")
    assert "2 active member(s)" in response.json()["message"]
    assert fake.groups["billing"].committed[("orders", 0)] == 5


def test_kafkas_own_refusal_of_a_busy_group_is_a_conflict_too(
    groups_url: str, fake: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consumer that joins between the check and the commit."""

    def busy(*_: Any, **__: Any) -> None:
        raise kafka_groups.GroupNotEmptyError("Consumer group idle has members.")

    monkeypatch.setattr(kafka_groups, "alter_group_offsets", busy)
    response = reset(groups_url, "idle", topic="orders", to="latest")
    assert refusal(response) == (409, "ConflictException", "groupId")


def test_a_reset_of_an_unknown_group_gives_it_offsets(groups_url: str, fake: FakeKafka) -> None:
    answer = reset(groups_url, "fresh", topic="audit", to="latest").json()
    assert answer["partitions"] == [
        {"topic": "audit", "partition": 0, "previousOffset": None, "newOffset": 4}
    ]
    assert fake.groups["fresh"].committed == {("audit", 0): 4}
    listed = httpx.get(groups_url, params={"prefix": "fresh"}).json()["consumerGroups"]
    assert [(g["groupId"], g["protocolType"], g["totalLag"]) for g in listed] == [("fresh", "", 0)]


@pytest.mark.parametrize(
    ("body", "member_name"),
    [
        ({"to": "earliest"}, "topic"),
        ({"topic": "", "to": "earliest"}, "topic"),
        ({"topic": "orders"}, "to"),
        ({"topic": "orders", "to": "start"}, "to"),
        ({"topic": "orders", "to": 1}, "to"),
        ({"topic": "orders", "to": "timestamp"}, "timestamp"),
        ({"topic": "orders", "to": "timestamp", "timestamp": "noon"}, "timestamp"),
        ({"topic": "orders", "to": "timestamp", "timestamp": -1}, "timestamp"),
        ({"topic": "orders", "to": "earliest", "timestamp": 5}, "timestamp"),
        ({"topic": "orders", "to": "offset"}, "offset"),
        ({"topic": "orders", "to": "offset", "offset": -3}, "offset"),
        ({"topic": "orders", "to": "offset", "offset": 1.5}, "offset"),
        ({"topic": "orders", "to": "latest", "offset": 5}, "offset"),
        ({"topic": "orders", "to": "earliest", "partitions": 0}, "partitions"),
        ({"topic": "orders", "to": "earliest", "partitions": ["0"]}, "partitions"),
        ({"topic": "orders", "to": "earliest", "partitions": [True]}, "partitions"),
        ({"topic": "orders", "to": "earliest", "partitions": [-1]}, "partitions"),
        ({"topic": "orders", "to": "earliest", "partitions": []}, "partitions"),
        ({"topic": "orders", "to": "earliest", "partitions": [1, 1]}, "partitions"),
        ({"topic": "orders", "to": "earliest", "partitions": [0, 3, 9]}, "partitions"),
        ({"topic": "orders", "to": "earliest", "dryRun": "yes"}, "dryRun"),
    ],
)
def test_bad_reset_requests_name_the_member(
    groups_url: str, fake: FakeKafka, body: dict[str, Any], member_name: str
) -> None:
    response = reset(groups_url, "idle", **body)
    assert refusal(response) == (400, "BadRequestException", member_name)
    assert fake.groups["idle"].committed == {("orders", 0): 10, ("orders", 1): 6}


def test_a_reset_of_an_unknown_topic_is_unknown_topic(groups_url: str) -> None:
    for topic in ("ghost", "no spaces"):
        response = reset(groups_url, "idle", topic=topic, to="earliest")
        assert refusal(response) == (404, "UnknownTopicOrPartitionException", "topic")
    response = httpx.post(f"{groups_url}/idle/reset-offsets", content=b"{")
    assert refusal(response)[:2] == (400, "BadRequestException")


# --- deleting -------------------------------------------------------------------------------------
def test_an_empty_group_is_deleted_and_one_with_members_is_not(
    groups_url: str, fake: FakeKafka
) -> None:
    response = httpx.delete(f"{groups_url}/idle")
    assert (response.status_code, response.json()) == (200, {"groupId": "idle", "state": "DELETED"})
    assert "idle" not in fake.groups
    assert refusal(httpx.delete(f"{groups_url}/idle")) == (404, "NotFoundException", "groupId")
    response = httpx.delete(f"{groups_url}/billing")
    assert refusal(response) == (409, "ConflictException", "groupId")
    assert "billing" in fake.groups


# --- the cluster ----------------------------------------------------------------------------------
def test_a_cluster_that_does_not_serve_yet_is_refused(
    endpoint: str, service: ClusterService, fake: FakeKafka
) -> None:
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    creating = service.create_cluster("young", spec, {}).arn
    url = f"{endpoint}/steward/v1/clusters/{quote(creating, safe='')}/consumer-groups"
    response = httpx.get(url)
    assert refusal(response) == (400, "BadRequestException", "clusterArn")
    assert "its consumer groups can be managed once it is ACTIVE" in response.json()["message"]
    missing = url.replace("young", "ghost")
    assert refusal(httpx.get(missing)) == (404, "NotFoundException", "clusterArn")
    assert fake.bootstraps == set()


def test_kafka_not_answering_is_a_cluster_connectivity_error(
    groups_url: str, fake: FakeKafka
) -> None:
    fake.unreachable = True
    for response in (
        httpx.get(groups_url),
        httpx.get(f"{groups_url}/idle"),
        reset(groups_url, "idle", topic="orders", to="latest"),
    ):
        assert refusal(response) == (409, "ClusterConnectivityException", "clusterArn")
        assert "timed out" in response.json()["message"]


# --- steward group --------------------------------------------------------------------------------
@pytest.fixture
def run(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--endpoint-url", endpoint, "group", *args])

    return invoke


def test_steward_group_list_and_describe_by_cluster_name(run: Any) -> None:
    result = run("list", "orders")
    assert result.exit_code == 0, result.output
    header, _rule, *rows = result.stdout.splitlines()
    assert header.split() == ["GROUP", "STATE", "PROTOCOL", "MEMBERS", "LAG"]
    assert [r.split() for r in rows] == [
        ["billing", "STABLE", "consumer", "2", "14"],
        ["idle", "EMPTY", "consumer", "0", "14"],
        ["other", "EMPTY", "consumer", "0", "0"],
    ]
    result = run("describe", "orders", "billing")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Group", "billing"]
    assert ["Total", "lag", "14"] in [line.split() for line in lines]
    table = lines[lines.index("") + 1 :]
    assert table[0].split() == [
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "LOG",
        "END",
        "LAG",
        "CLIENT",
        "HOST",
    ]
    assert [r.split() for r in table[2:]] == [
        ["audit", "0", "2", "4", "2", "-", "-"],
        ["gone", "0", "9", "-", "-", "-", "-"],
        ["orders", "0", "5", "10", "5", "client-m-1", "/10.0.0.3"],
        ["orders", "1", "13", "20", "7", "client-m-22", "/10.0.0.4"],
        ["orders", "2", "-", "0", "-", "client-m-1", "/10.0.0.3"],
    ]
    described = json.loads(run("describe", "orders", "billing", "-o", "json").stdout)
    assert described["totalLag"] == 14


def test_steward_group_reset_offsets_and_delete(run: Any, fake: FakeKafka) -> None:
    result = run(
        "reset-offsets",
        "orders",
        "idle",
        "--topic",
        "orders",
        "--to-offset",
        "6",
        "--partitions",
        "0,1",
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    assert [r.split() for r in result.stdout.splitlines()[2:]] == [
        ["orders", "0", "10", "6"],
        ["orders", "1", "6", "6"],
    ]
    assert "Dry run" in result.stderr
    assert fake.groups["idle"].committed == {("orders", 0): 10, ("orders", 1): 6}
    result = run(
        "reset-offsets",
        "orders",
        "idle",
        "--topic",
        "orders",
        "--to-timestamp",
        "1970-01-01T00:00:03+00:00",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert [p["newOffset"] for p in json.loads(result.stdout)["partitions"]] == [3, 5, 0]
    result = run("reset-offsets", "orders", "billing", "--topic", "orders", "--to-latest")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error (ConflictException): Consumer group billing has 2")
    assert result.stderr.rstrip().endswith("(parameter: groupId)")
    result = run(
        "reset-offsets", "orders", "idle", "--topic", "orders", "--to-latest", "--to-earliest"
    )
    assert result.exit_code == 2 and "exactly one of" in result.stderr
    result = run("delete", "orders", "idle")
    assert (result.exit_code, result.stdout) == (0, "Consumer group idle deleted.\n")
    assert "idle" not in fake.groups
