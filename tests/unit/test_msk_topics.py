"""MSK's Topics API on the wire, checked with boto3 and raw HTTP against the real API app, with an
in-memory Kafka standing in for steward.kafka.topics: request members, `configs` both ways,
pagination, and which MSK error each refusal becomes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from confluent_kafka import KafkaError, KafkaException

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.control.service import ClusterService
from steward.control.topics import parse_topic_configs
from steward.domain.errors import BadRequestException
from steward.domain.model import (
    BrokerNodeGroup,
    ClusterSpec,
    NodeRole,
)
from steward.kafka import topics as kafka_topics
from steward.kafka.health import PartitionState
from steward.kafka.node_config import client_bootstrap
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.78.1"), Zone("az-b", "127.78.2"), Zone("az-c", "127.78.3"))
DEFAULTS = {"cleanup.policy": "delete", "retention.ms": "604800000", "segment.bytes": "1073741824"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class FakeTopic:
    partitions: int
    replication_factor: int
    configs: dict[str, str]
    lagging: set[int] = field(default_factory=set)
    """Partitions whose last replica is out of the ISR."""
    leaderless: set[int] = field(default_factory=set)


class FakeKafka:
    """What steward.kafka.topics does, on a dict: the brokers are 1..3."""

    def __init__(self) -> None:
        self.topics: dict[str, FakeTopic] = {}
        self.bootstraps: set[str] = set()
        self.unreachable = False

    def _ask(self, bootstrap: str) -> None:
        self.bootstraps.add(bootstrap)
        if self.unreachable:
            raise kafka_topics.TopicError("describing topics: timed out")

    def _get(self, name: str) -> FakeTopic:
        if name not in self.topics:
            raise kafka_topics.UnknownTopicError(f"Topic {name} does not exist.")
        return self.topics[name]

    def _description(self, name: str) -> kafka_topics.TopicDescription:
        topic = self.topics[name]
        states = []
        for p in range(topic.partitions):
            replicas = tuple((p + i) % 3 + 1 for i in range(topic.replication_factor))
            isr = replicas[:-1] if p in topic.lagging else replicas
            leader = None if p in topic.leaderless else replicas[0]
            states.append(PartitionState(name, p, leader, replicas, isr))
        return kafka_topics.TopicDescription(name, tuple(states))

    def list_topics(self, bootstrap: str, timeout: float = 10.0) -> list[Any]:
        self._ask(bootstrap)
        return [self._description(name) for name in sorted(self.topics)]

    def describe_topic(self, bootstrap: str, name: str, timeout: float = 10.0) -> Any:
        self._ask(bootstrap)
        self._get(name)
        return self._description(name)

    def topic_configs(self, bootstrap: str, name: str, timeout: float = 10.0) -> dict[str, Any]:
        self._ask(bootstrap)
        own = self._get(name).configs
        merged = {**DEFAULTS, **own}
        return {k: kafka_topics.TopicConfig(v, k in own) for k, v in sorted(merged.items())}

    def _check_configs(self, configs: dict[str, str]) -> None:
        for key in configs:
            if key not in DEFAULTS and key != "min.insync.replicas":
                raise kafka_topics.InvalidTopicRequestError(
                    f"Unknown topic config name: {key}", "config"
                )

    def create_topic(
        self,
        bootstrap: str,
        name: str,
        partitions: int,
        replication_factor: int,
        configs: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._ask(bootstrap)
        if name in self.topics:
            raise kafka_topics.TopicExistsError(f"Topic {name} already exists.")
        self._check_configs(configs or {})
        self.topics[name] = FakeTopic(partitions, replication_factor, dict(configs or {}))

    def add_partitions(self, bootstrap: str, name: str, total: int, timeout: float = 30.0) -> None:
        self._ask(bootstrap)
        self._get(name).partitions = total

    def replace_topic_configs(
        self, bootstrap: str, name: str, configs: dict[str, str], **_: Any
    ) -> None:
        self._ask(bootstrap)
        topic = self._get(name)
        self._check_configs(configs)
        topic.configs = dict(configs)

    def delete_topic(self, bootstrap: str, name: str, timeout: float = 30.0) -> None:
        self._ask(bootstrap)
        self._get(name)
        del self.topics[name]

    def wait_until_led(self, bootstrap: str, name: str, partitions: int, timeout: float) -> Any:
        described = self.describe_topic(bootstrap, name)
        if any(p.leader is None for p in described.partitions):
            return None
        return described


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeKafka]:
    kafka = FakeKafka()
    patch = pytest.MonkeyPatch()
    for name in (
        "list_topics",
        "describe_topic",
        "topic_configs",
        "create_topic",
        "add_partitions",
        "replace_topic_configs",
        "delete_topic",
        "wait_until_led",
    ):
        patch.setattr(kafka_topics, name, getattr(kafka, name))
    yield kafka
    patch.undo()


@pytest.fixture(autouse=True)
def clean(fake: FakeKafka) -> None:
    fake.topics.clear()
    fake.bootstraps.clear()
    fake.unreachable = False


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("topics-api")
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
def kafka(endpoint: str) -> Any:
    return boto3.client(
        "kafka",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response


def code_and_member(response: dict[str, Any]) -> tuple[str, str | None]:
    return response["Error"]["Code"], response.get("InvalidParameter")


# --- round trips ---------------------------------------------------------------------------------
def test_a_created_topic_answers_with_its_arn_and_kafka_gets_the_properties(
    kafka: Any, fake: FakeKafka, cluster_arn: str, service: ClusterService
) -> None:
    created = kafka.create_topic(
        ClusterArn=cluster_arn,
        TopicName="events",
        PartitionCount=3,
        ReplicationFactor=2,
        Configs=b64("retention.ms=60000\ncleanup.policy = delete\n"),
    )
    _, cluster_id = cluster_arn.rsplit("/", 1)
    assert created["TopicArn"] == (
        f"arn:aws:kafka:us-east-1:000000000000:topic/orders/{cluster_id}/events"
    )
    assert (created["TopicName"], created["Status"]) == ("events", "ACTIVE")
    topic = fake.topics["events"]
    assert (topic.partitions, topic.replication_factor) == (3, 2)
    assert topic.configs == {"retention.ms": "60000", "cleanup.policy": "delete"}
    brokers = [n for n in service.list_nodes(cluster_arn) if n.role is NodeRole.BROKER]
    assert fake.bootstraps == {client_bootstrap(brokers)}


def test_configs_may_be_a_json_object_as_terraform_sends_them(
    kafka: Any, fake: FakeKafka, cluster_arn: str
) -> None:
    configs = json.dumps({"retention.ms": 86400000, "min.insync.replicas": "1"})
    kafka.create_topic(
        ClusterArn=cluster_arn,
        TopicName="audit",
        PartitionCount=1,
        ReplicationFactor=1,
        Configs=b64(configs),
    )
    assert fake.topics["audit"].configs == {"retention.ms": "86400000", "min.insync.replicas": "1"}


def test_describe_answers_every_config_as_base64_json(kafka: Any, cluster_arn: str) -> None:
    kafka.create_topic(
        ClusterArn=cluster_arn,
        TopicName="described",
        PartitionCount=4,
        ReplicationFactor=3,
        Configs=b64("retention.ms=1000"),
    )
    described = kafka.describe_topic(ClusterArn=cluster_arn, TopicName="described")
    assert described["TopicName"] == "described"
    assert described["TopicArn"].endswith(
        ":topic/orders/" + cluster_arn.rsplit("/", 1)[1] + "/described"
    )
    assert (described["PartitionCount"], described["ReplicationFactor"]) == (4, 3)
    assert described["ReplicaIds"] == [1, 2, 3]
    assert described["Status"] == "ACTIVE"
    configs = json.loads(base64.b64decode(described["Configs"]))
    assert configs == {**DEFAULTS, "retention.ms": "1000"}


def test_listing_filters_by_prefix_and_pages(kafka: Any, fake: FakeKafka, cluster_arn: str) -> None:
    for i in range(7):
        kafka.create_topic(
            ClusterArn=cluster_arn, TopicName=f"paged-{i}", PartitionCount=2, ReplicationFactor=3
        )
    kafka.create_topic(
        ClusterArn=cluster_arn, TopicName="other", PartitionCount=1, ReplicationFactor=1
    )
    fake.topics["paged-0"].lagging = {0, 1}
    first = kafka.list_topics(ClusterArn=cluster_arn, TopicNameFilter="paged-", MaxResults=3)
    assert len(first["Topics"]) == 3 and first["NextToken"]
    pages = kafka.get_paginator("list_topics").paginate(
        ClusterArn=cluster_arn, TopicNameFilter="paged-", PaginationConfig={"PageSize": 3}
    )
    topics = [t for p in pages for t in p["Topics"]]
    assert [t["TopicName"] for t in topics] == [f"paged-{i}" for i in range(7)]
    assert topics[0] == {
        "TopicArn": topics[0]["TopicArn"],
        "TopicName": "paged-0",
        "ReplicationFactor": 3,
        "PartitionCount": 2,
        "OutOfSyncReplicaCount": 2,
        "ReplicaIds": [1, 2, 3],
    }
    assert topics[1]["OutOfSyncReplicaCount"] == 0
    everything = kafka.list_topics(ClusterArn=cluster_arn)["Topics"]
    assert len(everything) == 8 and "NextToken" not in kafka.list_topics(ClusterArn=cluster_arn)
    response = error(kafka.list_topics, ClusterArn=cluster_arn, NextToken="nope")
    assert code_and_member(response) == ("BadRequestException", "nextToken")


def test_partitions_page_with_leader_replicas_and_isr(
    kafka: Any, fake: FakeKafka, cluster_arn: str
) -> None:
    kafka.create_topic(
        ClusterArn=cluster_arn, TopicName="spread", PartitionCount=5, ReplicationFactor=2
    )
    fake.topics["spread"].lagging = {1}
    fake.topics["spread"].leaderless = {4}
    first = kafka.describe_topic_partitions(
        ClusterArn=cluster_arn, TopicName="spread", MaxResults=2
    )
    assert first["Partitions"] == [
        {"Partition": 0, "Leader": 1, "Replicas": [1, 2], "Isr": [1, 2]},
        {"Partition": 1, "Leader": 2, "Replicas": [2, 3], "Isr": [2]},
    ]
    pages = kafka.get_paginator("describe_topic_partitions").paginate(
        ClusterArn=cluster_arn, TopicName="spread", PaginationConfig={"PageSize": 2}
    )
    partitions = [p for page in pages for p in page["Partitions"]]
    assert [p["Partition"] for p in partitions] == [0, 1, 2, 3, 4]
    assert partitions[4]["Leader"] == -1


def test_update_replaces_configs_and_grows_partitions(
    kafka: Any, fake: FakeKafka, cluster_arn: str
) -> None:
    kafka.create_topic(
        ClusterArn=cluster_arn,
        TopicName="grown",
        PartitionCount=2,
        ReplicationFactor=3,
        Configs=b64("retention.ms=1000\ncleanup.policy=compact"),
    )
    updated = kafka.update_topic(
        ClusterArn=cluster_arn, TopicName="grown", Configs=b64('{"retention.ms": "2000"}')
    )
    assert (updated["TopicName"], updated["Status"]) == ("grown", "ACTIVE")
    assert fake.topics["grown"].configs == {"retention.ms": "2000"}
    kafka.update_topic(ClusterArn=cluster_arn, TopicName="grown", PartitionCount=6)
    assert fake.topics["grown"].partitions == 6
    kafka.update_topic(
        ClusterArn=cluster_arn, TopicName="grown", PartitionCount=8, Configs=b64("{}")
    )
    assert (fake.topics["grown"].partitions, fake.topics["grown"].configs) == (8, {})
    for smaller in (8, 3):
        response = error(
            kafka.update_topic, ClusterArn=cluster_arn, TopicName="grown", PartitionCount=smaller
        )
        assert code_and_member(response) == ("BadRequestException", "partitionCount")
        assert "only grow" in response["Error"]["Message"]
    response = error(kafka.update_topic, ClusterArn=cluster_arn, TopicName="grown")
    assert code_and_member(response) == ("BadRequestException", "configs")
    assert fake.topics["grown"].partitions == 8


def test_a_deleted_topic_is_gone(kafka: Any, fake: FakeKafka, cluster_arn: str) -> None:
    kafka.create_topic(
        ClusterArn=cluster_arn, TopicName="brief", PartitionCount=1, ReplicationFactor=1
    )
    deleted = kafka.delete_topic(ClusterArn=cluster_arn, TopicName="brief")
    assert (deleted["TopicName"], deleted["Status"]) == ("brief", "DELETING")
    assert deleted["TopicArn"].endswith("/brief")
    assert "brief" not in fake.topics


# --- errors ---------------------------------------------------------------------------------------
def test_an_unknown_topic_is_not_found_when_read_and_unknown_to_kafka_when_changed(
    kafka: Any, cluster_arn: str
) -> None:
    for call in (kafka.describe_topic, kafka.describe_topic_partitions):
        response = error(call, ClusterArn=cluster_arn, TopicName="ghost")
        assert code_and_member(response) == ("NotFoundException", "topicName")
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    for call, extra in ((kafka.update_topic, {"PartitionCount": 3}), (kafka.delete_topic, {})):
        response = error(call, ClusterArn=cluster_arn, TopicName="ghost", **extra)
        assert code_and_member(response) == ("UnknownTopicOrPartitionException", "topicName")
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    response = error(kafka.describe_topic, ClusterArn=cluster_arn, TopicName="no spaces here")
    assert code_and_member(response) == ("NotFoundException", "topicName")


def test_a_taken_name_is_a_topic_exists_conflict(kafka: Any, cluster_arn: str) -> None:
    kafka.create_topic(
        ClusterArn=cluster_arn, TopicName="twice", PartitionCount=1, ReplicationFactor=1
    )
    with pytest.raises(kafka.exceptions.TopicExistsException) as raised:
        kafka.create_topic(
            ClusterArn=cluster_arn, TopicName="twice", PartitionCount=1, ReplicationFactor=1
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert raised.value.response["InvalidParameter"] == "topicName"


@pytest.mark.parametrize(
    ("members", "member"),
    [
        ({"TopicName": "a b", "PartitionCount": 1, "ReplicationFactor": 1}, "topicName"),
        ({"TopicName": "x" * 250, "PartitionCount": 1, "ReplicationFactor": 1}, "topicName"),
        ({"TopicName": "..", "PartitionCount": 1, "ReplicationFactor": 1}, "topicName"),
        ({"TopicName": "big", "PartitionCount": 1, "ReplicationFactor": 4}, "replicationFactor"),
        (
            {"TopicName": "t", "PartitionCount": 1, "ReplicationFactor": 1, "Configs": "%%%"},
            "configs",
        ),
        (
            {"TopicName": "t", "PartitionCount": 1, "ReplicationFactor": 1, "Configs": b64("{")},
            "configs",
        ),
        (
            {
                "TopicName": "t",
                "PartitionCount": 1,
                "ReplicationFactor": 1,
                "Configs": b64("novalue"),
            },
            "configs",
        ),
        (
            {
                "TopicName": "t",
                "PartitionCount": 1,
                "ReplicationFactor": 1,
                "Configs": b64("bogus.key=1"),
            },
            "configs",
        ),
    ],
)
def test_bad_create_requests_name_the_member(
    kafka: Any, fake: FakeKafka, cluster_arn: str, members: dict[str, Any], member: str
) -> None:
    response = error(kafka.create_topic, ClusterArn=cluster_arn, **members)
    assert code_and_member(response) == ("BadRequestException", member)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fake.topics == {}


def test_members_of_the_wrong_type_name_the_member(endpoint: str, cluster_arn: str) -> None:
    url = f"{endpoint}/v1/clusters/{quote(cluster_arn, safe='')}/topics"
    body: dict[str, Any] = {"topicName": "typed", "partitionCount": "three", "replicationFactor": 1}
    response = httpx.post(url, json=body)
    assert (response.status_code, response.headers["x-amzn-ErrorType"]) == (
        400,
        "BadRequestException",
    )
    assert response.json()["invalidParameter"] == "partitionCount"
    del body["partitionCount"]
    assert httpx.post(url, json=body).json()["invalidParameter"] == "partitionCount"
    body.update(partitionCount=0)
    assert httpx.post(url, json=body).json()["invalidParameter"] == "partitionCount"
    response = httpx.put(f"{url}/typed", json={"configs": 7})
    assert response.json()["invalidParameter"] == "configs"


def test_a_cluster_that_does_not_serve_yet_is_refused(
    kafka: Any, service: ClusterService, fake: FakeKafka
) -> None:
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    creating = service.create_cluster("young", spec, {}).arn
    response = error(kafka.list_topics, ClusterArn=creating)
    assert code_and_member(response) == ("BadRequestException", "clusterArn")
    assert "CREATING" in response["Error"]["Message"]
    missing = creating.replace("young", "ghost")
    response = error(kafka.list_topics, ClusterArn=missing)
    assert code_and_member(response) == ("NotFoundException", "clusterArn")
    assert fake.bootstraps == set()


def test_kafka_not_answering_is_a_cluster_connectivity_error(
    kafka: Any, fake: FakeKafka, cluster_arn: str
) -> None:
    fake.unreachable = True
    response = error(kafka.list_topics, ClusterArn=cluster_arn)
    assert code_and_member(response) == ("ClusterConnectivityException", "clusterArn")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert "timed out" in response["Error"]["Message"]


# --- pieces -------------------------------------------------------------------------------------
def test_configs_parse_from_properties_or_a_json_object() -> None:
    assert parse_topic_configs(b"# comment\nretention.ms=1\ncleanup.policy: compact\n") == {
        "retention.ms": "1",
        "cleanup.policy": "compact",
    }
    assert parse_topic_configs(b' {"a": 1, "b": true, "c": "x", "d": 0.5}') == {
        "a": "1",
        "b": "true",
        "c": "x",
        "d": "0.5",
    }
    assert parse_topic_configs(b"") == {}
    assert parse_topic_configs(b"{}") == {}
    for bad in (b'{"a": null}', b'{"a": [1]}', b"[1]", b"\xff", b'{"": "1"}', b"{"):
        with pytest.raises(BadRequestException) as raised:
            parse_topic_configs(bad)
        assert raised.value.invalid_parameter == "configs"


@pytest.mark.parametrize(
    ("name", "ok"),
    [("orders", True), ("a.b_c-D9", True), ("x" * 249, True), ("", False), (".", False),
     ("..", False), ("x" * 250, False), ("a/b", False), ("ünïcode", False)],
)  # fmt: skip
def test_topic_names_follow_kafka(name: str, ok: bool) -> None:
    assert (kafka_topics.topic_name_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("code", "kind", "subject"),
    [
        (KafkaError.UNKNOWN_TOPIC_OR_PART, kafka_topics.UnknownTopicError, None),
        (KafkaError.TOPIC_ALREADY_EXISTS, kafka_topics.TopicExistsError, None),
        (KafkaError.REASSIGNMENT_IN_PROGRESS, kafka_topics.ReassignmentInProgressError, None),
        (
            KafkaError.INVALID_REPLICATION_FACTOR,
            kafka_topics.InvalidTopicRequestError,
            "replication_factor",
        ),
        (KafkaError.INVALID_PARTITIONS, kafka_topics.InvalidTopicRequestError, "partitions"),
        (KafkaError.INVALID_CONFIG, kafka_topics.InvalidTopicRequestError, "config"),
        (KafkaError.TOPIC_EXCEPTION, kafka_topics.InvalidTopicRequestError, "name"),
        (KafkaError.POLICY_VIOLATION, kafka_topics.InvalidTopicRequestError, "request"),
        (KafkaError._TRANSPORT, kafka_topics.TopicError, None),
    ],
)
def test_kafka_refusals_become_errors_a_caller_can_tell_apart(
    code: int, kind: type[Exception], subject: str | None
) -> None:
    refusal = kafka_topics._refusal(KafkaException(KafkaError(code, "because")), "t", "doing")
    assert type(refusal) is kind
    if subject is not None:
        assert isinstance(refusal, kafka_topics.InvalidTopicRequestError)
        assert refusal.subject == subject
