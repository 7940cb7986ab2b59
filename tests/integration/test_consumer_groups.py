"""Consumer groups against real Kafka: a consumer of group `billing` reads part of a topic and
commits; Steward's routes show the group with the lag Kafka's offsets give, refuse to reset or
delete it while the consumer is in it, and once it has left reset its offsets (a dry run first,
then for real, to the earliest offset, to a time and to an offset, which the next consumer of
the group starts from) and delete it. `steward group describe` shows the same. A reset also
gives offsets to a group no consumer has joined yet.

One single-zone, one-broker cluster (two JVMs: the broker and its controller) serves the module.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from confluent_kafka import Consumer, Message, Producer

from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
TOPIC = "payments"
GROUP = "billing"
MESSAGES = 30
"""All in partition 0 of a two-partition topic, so the group's lag is exact: partition 1 stays
empty and the consumer commits nothing there."""
READ = 12
SPACING_MS = 1000
"""Message i was written at base + i * SPACING_MS."""


@pytest.fixture(scope="module")
def arn(steward: Steward) -> str:
    spec = provisioned(brokers=1, zones=("az-a",))
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    client = steward.client()
    created = client.create_cluster_v2(ClusterName="groups", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(created, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return str(created)


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, arn: str) -> str:
    return str(steward.client().get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


@pytest.fixture(scope="module")
def base_ms(steward: Steward, arn: str, bootstrap: str) -> int:
    """The topic, filled: its messages' time base."""
    steward.client().create_topic(
        ClusterArn=arn, TopicName=TOPIC, PartitionCount=2, ReplicationFactor=1
    )
    base = int(time.time() * 1000) - 10 * MESSAGES * SPACING_MS
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(MESSAGES):
        timestamp = base + i * SPACING_MS
        producer.produce(TOPIC, f"payment-{i}".encode(), partition=0, timestamp=timestamp)
    assert producer.flush(30) == 0
    return base


@pytest.fixture(scope="module")
def http(steward: Steward) -> Iterator[httpx.Client]:
    with steward.http() as client:
        yield client


@pytest.fixture(scope="module")
def groups(arn: str) -> str:
    return f"/steward/v1/clusters/{quote(arn, safe='')}/consumer-groups"


def consumer(bootstrap: str) -> Consumer:
    member = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "client.id": "billing-1",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    member.subscribe([TOPIC])
    return member


def read(member: Consumer, count: int, timeout: float = 60.0) -> list[Message]:
    messages: list[Message] = []
    deadline = time.time() + timeout
    while len(messages) < count and time.time() < deadline:
        message = member.poll(1.0)
        if message is not None and message.error() is None:
            messages.append(message)
    assert len(messages) == count, f"read {len(messages)} of {count} messages"
    return messages


def described(http: httpx.Client, groups: str) -> dict[str, Any]:
    response = http.get(f"{groups}/{GROUP}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def partition_lags(group: dict[str, Any]) -> list[tuple[int, int | None, int | None, int | None]]:
    return [
        (p["partition"], p["committedOffset"], p["logEndOffset"], p["lag"])
        for p in group["partitions"]
        if p["topic"] == TOPIC
    ]


def reset(http: httpx.Client, groups: str, **body: Any) -> httpx.Response:
    return http.post(f"{groups}/{GROUP}/reset-offsets", json={"topic": TOPIC, **body})


def test_a_groups_lag_resets_and_deletion(
    steward: Steward, arn: str, bootstrap: str, base_ms: int, http: httpx.Client, groups: str
) -> None:
    # A consumer in the group reads part of the topic and commits.
    member = consumer(bootstrap)
    try:
        first = read(member, READ)
        assert [m.offset() for m in first] == list(range(READ))
        member.commit(asynchronous=False)

        listed = http.get(groups, params={"prefix": GROUP[:4]}).json()["consumerGroups"]
        summaries = [
            (g["groupId"], g["state"], g["protocolType"], g["members"], g["totalLag"])
            for g in listed
        ]
        assert summaries == [(GROUP, "STABLE", "consumer", 1, MESSAGES - READ)]
        group = described(http, groups)
        assert partition_lags(group) == [(0, READ, MESSAGES, MESSAGES - READ), (1, None, 0, None)]
        (joined,) = group["members"]
        assert joined["clientId"] == "billing-1"
        assert joined["assignedPartitions"] == [
            {"topic": TOPIC, "partition": 0},
            {"topic": TOPIC, "partition": 1},
        ]
        assert group["topics"] == [
            {"topic": TOPIC, "sumOffsetLag": MESSAGES - READ, "maxOffsetLag": MESSAGES - READ}
        ]
        assert isinstance(group["coordinator"], int)

        # While it is in the group, Kafka's rule holds: no reset, no deletion.
        for response in (reset(http, groups, to="earliest"), http.delete(f"{groups}/{GROUP}")):
            assert response.status_code == 409, response.text
            assert response.headers["x-amzn-ErrorType"] == "ConflictException"
            assert response.json()["invalidParameter"] == "groupId"
        assert partition_lags(described(http, groups))[0] == (0, READ, MESSAGES, MESSAGES - READ)
    finally:
        member.close()  # leaves the group

    deadline = time.time() + 30
    while (group := described(http, groups))["state"] != "EMPTY" and time.time() < deadline:
        time.sleep(0.5)
    assert (group["state"], group["members"]) == ("EMPTY", [])

    # Reset to the earliest offset: a dry run changes nothing, then for real.
    planned = reset(http, groups, to="earliest", dryRun=True).json()
    assert planned["dryRun"] is True
    moves = [(p["partition"], p["previousOffset"], p["newOffset"]) for p in planned["partitions"]]
    assert moves == [(0, READ, 0), (1, None, 0)]
    assert described(http, groups)["totalLag"] == MESSAGES - READ
    applied = reset(http, groups, to="earliest").json()
    assert applied["dryRun"] is False
    assert partition_lags(described(http, groups)) == [(0, 0, MESSAGES, MESSAGES), (1, 0, 0, 0)]
    listed = http.get(groups).json()["consumerGroups"]
    assert [(g["groupId"], g["totalLag"]) for g in listed] == [(GROUP, MESSAGES)]

    # To a time: the first message written at or after it.
    seventh = base_ms + 7 * SPACING_MS
    response = reset(http, groups, to="timestamp", timestamp=seventh, partitions=[0])
    assert response.status_code == 200, response.text
    assert [p["newOffset"] for p in response.json()["partitions"]] == [7]

    # To an offset, which the group's next consumer starts from.
    response = reset(http, groups, to="offset", offset=20, partitions=[0])
    assert response.status_code == 200, response.text
    assert partition_lags(described(http, groups))[0] == (0, 20, MESSAGES, MESSAGES - 20)
    member = consumer(bootstrap)
    try:
        assert read(member, 1)[0].offset() == 20
    finally:
        member.close()

    # steward group describe, by the cluster's name.
    result = subprocess.run(
        [str(BIN / "steward"), "group", "describe", "groups", GROUP],
        capture_output=True, text=True, env=steward.env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ["Total", "lag", str(MESSAGES - 20)] in [line.split() for line in lines]
    table = lines[lines.index("") + 1 :]
    assert [row.split()[:5] for row in table[2:]] == [
        [TOPIC, "0", "20", str(MESSAGES), str(MESSAGES - 20)],
        [TOPIC, "1", "0", "0", "0"],
    ]

    # An empty group is deleted, and is gone.
    deadline = time.time() + 30
    while (response := http.delete(f"{groups}/{GROUP}")).status_code == 409:
        assert time.time() < deadline, response.text  # the last consumer is still leaving
        time.sleep(0.5)
    assert response.status_code == 200, response.text
    missing = http.get(f"{groups}/{GROUP}")
    assert (missing.status_code, missing.headers["x-amzn-ErrorType"]) == (404, "NotFoundException")
    again = http.delete(f"{groups}/{GROUP}")
    assert (again.status_code, again.headers["x-amzn-ErrorType"]) == (404, "NotFoundException")
    assert http.get(groups).json()["consumerGroups"] == []


def test_a_reset_gives_a_new_group_its_offsets(
    base_ms: int, http: httpx.Client, groups: str
) -> None:
    """As with kafka-consumer-groups: offsets for a group no consumer has joined yet."""
    response = http.post(
        f"{groups}/audit/reset-offsets", json={"topic": TOPIC, "to": "offset", "offset": 25}
    )
    assert response.status_code == 200, response.text
    moves = [
        (p["partition"], p["previousOffset"], p["newOffset"]) for p in response.json()["partitions"]
    ]
    assert moves == [(0, None, 25), (1, None, 0)]  # kept within each partition's offsets
    listed = http.get(groups, params={"prefix": "audit"}).json()["consumerGroups"]
    assert listed == [
        {"groupId": "audit", "state": "EMPTY", "protocolType": "", "groupType": "CLASSIC",
         "members": 0, "totalLag": MESSAGES - 25}
    ]  # fmt: skip
    assert http.delete(f"{groups}/audit").status_code == 200
