"""What Steward's cluster operations know about Kafka (steward/kafka: health, reassignment,
membership, features, dynamic_config), checked against a real 3-broker, 3-zone cluster that a boto3
user created.

One cluster serves the whole module. Tests that change it put it back (throttles and cluster
defaults are cleared, a stopped broker is started again) and use topics of their own. The test
that stops a broker runs last. Raising metadata.version needs a cluster formatted at an older
one, which Steward never makes, so that test starts a one-node Kafka of its own.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import ConfigResource, ConfigSource, NewTopic

from steward.control.agents import AgentDirectory
from steward.kafka import dynamic_config, features, health, membership, reassignment
from steward.kafka.admin import admin_client
from steward.kafka.distribution import require_distribution
from steward.kafka.ids import random_kafka_uuid
from steward.kafka.java import find_java
from steward.kafka.log4j import log4j_jvm_options, render_log4j2_properties
from steward.kafka.properties import render_properties
from steward.settings import Settings, Zone
from tests.integration.harness import Steward, free_port, provisioned

pytestmark = pytest.mark.integration

KAFKA_VERSION = "4.3.1"
QUIET = logging.getLogger("tests.kafka_admin.librdkafka")
QUIET.setLevel(logging.CRITICAL)
ZONES = ("az-a", "az-b", "az-c")
T = TypeVar("T")


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    """This module stops a broker on purpose and wants it to stay stopped: no health monitor."""
    instance = Steward(
        tmp_path_factory.mktemp("steward"), extra_env={"STEWARD_HEALTH_MONITOR": "off"}
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="Ledger", Provisioned=provisioned(zones=ZONES))[
        "ClusterArn"
    ]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"})
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return info


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, cluster: dict[str, Any]) -> str:
    response = steward.client().get_bootstrap_brokers(ClusterArn=cluster["ClusterArn"])
    return str(response["BootstrapBrokerString"])


@dataclass(frozen=True)
class BrokerProcesses:
    """Stops and starts a broker of the test cluster through its zone's agent."""

    agents: AgentDirectory
    zone_of: dict[int, str]
    key_prefix: str

    def stop(self, broker_id: int) -> None:
        self.agents.client(self.zone_of[broker_id]).stop(f"{self.key_prefix}-b{broker_id}")

    def start(self, broker_id: int) -> None:
        self.agents.client(self.zone_of[broker_id]).start(f"{self.key_prefix}-b{broker_id}")


@pytest.fixture(scope="module")
def broker_processes(steward: Steward, cluster: dict[str, Any]) -> BrokerProcesses:
    zones = tuple(Zone(name, f"127.{steward.octet}.{i}") for i, name in enumerate(ZONES, 1))
    agents = AgentDirectory(Settings(home=steward.home, zones=zones))
    nodes = steward.client().list_nodes(ClusterArn=cluster["ClusterArn"])["NodeInfoList"]
    zone_of = {
        int(node["BrokerNodeInfo"]["BrokerId"]): node["BrokerNodeInfo"]["ClientSubnet"]
        for node in nodes
        if "BrokerNodeInfo" in node
    }
    arn_id = cluster["ClusterArn"].rsplit("/", 1)[1][:8]
    return BrokerProcesses(agents, zone_of, f"{cluster['ClusterName'].lower()}-{arn_id}")


# --- helpers ------------------------------------------------------------------------------------
def eventually(
    probe: Callable[[], T], accept: Callable[[T], bool], what: str, timeout: float = 30.0
) -> T:
    """`probe()` once `accept` likes it. Kafka's metadata reaches each broker a little later than
    the controller commits it, so most checks after a change wait like this."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        time.sleep(0.2)


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    assignment: list[list[int]] | None = None,
    config: dict[str, str] | None = None,
) -> None:
    if assignment is not None:
        # confluent-kafka 2.16.1 wants the partition count here too, not the documented -1.
        topic = NewTopic(name, len(assignment), replica_assignment=assignment, config=config or {})
    else:
        topic = NewTopic(name, num_partitions=partitions, config=config or {})
    client = admin_client(bootstrap)  # alive until the future is done
    client.create_topics([topic])[name].result(30)
    eventually(
        lambda: {s.topic for s in health.partition_states(bootstrap)},
        lambda topics: name in topics,
        f"topic {name} in the metadata",
    )


def produce(bootstrap: str, topic: str, count: int, size: int = 1000) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20}, logger=QUIET
    )
    payload = b"x" * size
    for _ in range(count):
        producer.produce(topic, payload, partition=0)
        producer.poll(0)
    assert producer.flush(60) == 0


def topic_configs(bootstrap: str, topic: str) -> dict[str, Any]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    client = admin_client(bootstrap)
    return dict(client.describe_configs([resource])[resource].result(10))


def broker_configs(bootstrap: str, broker_id: int) -> dict[str, Any]:
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker_id))
    client = admin_client(bootstrap)
    return dict(client.describe_configs([resource])[resource].result(10))


def topic_states(bootstrap: str, topic: str) -> list[health.PartitionState]:
    return [s for s in health.partition_states(bootstrap) if s.topic == topic]


# --- health -------------------------------------------------------------------------------------
def test_every_partition_is_described_internal_topics_included(bootstrap: str) -> None:
    create_topic(bootstrap, "inventory", partitions=3)
    client = admin_client(bootstrap)
    # Looking up a group's coordinator makes Kafka create __consumer_offsets, whatever the answer.
    with contextlib.suppress(KafkaException, TimeoutError):
        client.describe_consumer_groups(["nobody"])["nobody"].result(5)
    states = eventually(
        lambda: health.partition_states(bootstrap),
        lambda found: any(s.topic == "__consumer_offsets" for s in found),
        "__consumer_offsets in the metadata",
    )
    inventory = [s for s in states if s.topic == "inventory"]
    assert [s.partition for s in inventory] == [0, 1, 2]
    for state in inventory:
        assert sorted(state.replicas) == [1, 2, 3]
        assert state.leader in state.replicas
        assert sorted(state.isr) == [1, 2, 3]
    eventually(
        lambda: health.under_replicated(health.partition_states(bootstrap)),
        lambda lagging: lagging == [],
        "under-replicated partitions of a healthy cluster",
    )


def test_min_insync_replicas_come_from_the_topic_else_the_cluster(bootstrap: str) -> None:
    create_topic(bootstrap, "relaxed", config={"min.insync.replicas": "1"})
    wanted = {"relaxed": 1, "inventory": 2, "never-created": 2}
    # A broker that has not seen the new topic yet answers with the cluster's value.
    eventually(
        lambda: health.min_insync_replicas(bootstrap, ["relaxed", "inventory", "never-created"]),
        lambda found: found == wanted,
        "min.insync.replicas of the topics",
    )
    assert health.min_insync_replicas(bootstrap, []) == {}


def test_on_a_healthy_cluster_any_broker_may_stop_and_every_broker_serves(
    bootstrap: str,
) -> None:
    states = health.partition_states(bootstrap)
    min_isr = health.min_insync_replicas(bootstrap, {s.topic for s in states})
    for broker_id in (1, 2, 3):
        assert health.unsafe_to_stop(states, broker_id, min_isr) == []
        assert health.broker_serving(bootstrap, broker_id)
    assert not health.broker_serving(bootstrap, 42)
    with pytest.raises(health.HealthError, match="describing partitions"):
        health.partition_states("127.0.0.1:1", timeout=2)


# --- reassignment -------------------------------------------------------------------------------
def test_a_throttled_reassignment_moves_replicas_and_its_throttle_is_cleared_afterwards(
    bootstrap: str,
) -> None:
    create_topic(bootstrap, "moving", assignment=[[1, 2]], config={"retention.ms": "3600000"})
    # 3 MB. A replication quota measures its rate over ten one-second windows from the start,
    # so the first 2 MB pass at once at the throttle below and the last MB takes five seconds:
    # long enough to see the move in progress.
    produce(bootstrap, "moving", 3000)
    assert reassignment.current_assignment(bootstrap)[("moving", 0)] == [1, 2]

    throttle = reassignment.start_reassignment(
        bootstrap, {("moving", 0): [3, 2]}, throttle_bytes_per_s=200_000
    )

    assert throttle == reassignment.ReplicationThrottle(frozenset({1, 2, 3}), frozenset({"moving"}))
    moving = reassignment.reassignments_in_progress(bootstrap)[("moving", 0)]
    assert (sorted(moving.original), moving.target) == ([1, 2], (3, 2))
    assert (moving.adding, moving.removing) == ((3,), (1,))
    configs = eventually(
        lambda: topic_configs(bootstrap, "moving"),
        lambda c: c["follower.replication.throttled.replicas"].value == "0:3",
        "the throttled follower replica",
    )
    assert configs["leader.replication.throttled.replicas"].value == "0:1,0:2"
    assert configs["retention.ms"].value == "3600000", "other topic settings stay"
    for broker_id in (1, 2, 3):
        rates = broker_configs(bootstrap, broker_id)
        assert rates["leader.replication.throttled.rate"].value == "200000"
        assert rates["follower.replication.throttled.rate"].value == "200000"

    eventually(
        lambda: reassignment.reassignments_in_progress(bootstrap),
        lambda in_progress: in_progress == {},
        "the reassignment",
        timeout=60,
    )
    assert reassignment.current_assignment(bootstrap)[("moving", 0)] == [3, 2]
    reassignment.clear_replication_throttle(
        bootstrap, throttle.brokers, throttle.topics | {"deleted-meanwhile"}
    )

    configs = eventually(
        lambda: topic_configs(bootstrap, "moving"),
        lambda c: c["leader.replication.throttled.replicas"].value == "",
        "the cleared throttle",
    )
    assert configs["follower.replication.throttled.replicas"].value == ""
    assert configs["retention.ms"].value == "3600000"
    for broker_id in (1, 2, 3):
        # The rates are not broker settings with a default: DescribeConfigs lists them only
        # while they are set.
        eventually(
            lambda b=broker_id: broker_configs(bootstrap, b),
            lambda c: (
                "leader.replication.throttled.rate" not in c
                and "follower.replication.throttled.rate" not in c
            ),
            f"broker {broker_id}'s cleared rates",
        )


def test_a_cancelled_reassignment_leaves_the_replicas_where_they_were(bootstrap: str) -> None:
    create_topic(bootstrap, "cancelled", assignment=[[1, 2]])
    produce(bootstrap, "cancelled", 2000)
    throttle = reassignment.start_reassignment(
        bootstrap, {("cancelled", 0): [3, 2]}, throttle_bytes_per_s=100_000
    )
    assert ("cancelled", 0) in reassignment.reassignments_in_progress(bootstrap)

    reassignment.cancel_reassignment(bootstrap, [("cancelled", 0), ("inventory", 0)])

    assert reassignment.reassignments_in_progress(bootstrap) == {}
    # Back on brokers 1 and 2, though not necessarily in their old preference order.
    assert sorted(reassignment.current_assignment(bootstrap)[("cancelled", 0)]) == [1, 2]
    reassignment.clear_replication_throttle(bootstrap, throttle.brokers, throttle.topics)


def test_a_refused_move_names_the_partitions(bootstrap: str) -> None:
    with pytest.raises(reassignment.ReassignmentError, match=r"inventory-0: InvalidReplica"):
        reassignment.start_reassignment(bootstrap, {("inventory", 0): [1, 2, 99]})
    with pytest.raises(reassignment.ReassignmentError, match="no-such-topic-0: UnknownTopic"):
        reassignment.start_reassignment(bootstrap, {("no-such-topic", 0): [1, 2]})
    reassignment.clear_replication_throttle(bootstrap, [], ["inventory"])


def test_preferred_leader_election_hands_leadership_to_the_first_replica(bootstrap: str) -> None:
    create_topic(bootstrap, "leaders", assignment=[[1, 2, 3]])
    # Reordering the replicas moves no data and keeps the leader, so broker 1 still leads
    # although broker 2 is now preferred.
    reassignment.start_reassignment(bootstrap, {("leaders", 0): [2, 1, 3]})
    (state,) = eventually(
        lambda: topic_states(bootstrap, "leaders"),
        lambda states: states[0].replicas == (2, 1, 3),
        "the reordered replicas",
    )
    assert state.leader == 1

    assert reassignment.elect_preferred_leaders(bootstrap, [("leaders", 0)]) == {}

    eventually(
        lambda: topic_states(bootstrap, "leaders")[0].leader,
        lambda leader: leader == 2,
        "the preferred leader",
    )
    assert reassignment.elect_preferred_leaders(bootstrap, [("leaders", 0)]) == {}, (
        "an election that is not needed is not a failure"
    )
    failed = reassignment.elect_preferred_leaders(bootstrap, [("no-such-topic", 0)])
    assert list(failed) == [("no-such-topic", 0)]
    assert "UNKNOWN_TOPIC_OR_PART" in failed[("no-such-topic", 0)]


def retried(call: Callable[[], T], attempts: int = 3) -> T:
    """A describe of the log directories, again when a broker starved of CPU by the rest of the
    suite did not answer within the client's request timeout."""
    for attempt in range(attempts):
        try:
            return call()
        except reassignment.ReassignmentError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def test_partition_sizes_and_disk_usage_come_from_the_brokers_log_dirs(bootstrap: str) -> None:
    create_topic(bootstrap, "sized")
    produce(bootstrap, "sized", 1000)  # 1 MB of values, on every broker (RF 3)

    sizes = retried(lambda: reassignment.partition_sizes(bootstrap))
    assert 1_000_000 <= sizes[("sized", 0)] < 1_200_000
    assert sizes[("moving", 0)] >= 3_000_000, "the moved partition, measured on its new leader"
    usage = eventually(
        lambda: retried(lambda: reassignment.broker_disk_usage(bootstrap)),
        lambda found: all(found[b] >= sizes[("sized", 0)] for b in (1, 2, 3)),
        "every broker holding a replica of sized-0",
    )
    assert sorted(usage) == [1, 2, 3]
    assert usage[3] >= sizes[("sized", 0)] + sizes[("moving", 0)], "broker 3 gained moving-0"


# --- dynamic configuration ----------------------------------------------------------------------
def test_kafka_decides_which_keys_apply_cluster_wide_without_a_restart(bootstrap: str) -> None:
    dynamic = dynamic_config.dynamic_cluster_keys(
        bootstrap,
        {
            "log.retention.ms": "3600000",
            "message.max.bytes": "2097152",
            "auto.create.topics.enable": "true",  # read-only
            "num.partitions": "3",  # read-only
            "log.retention.hours": "24",  # read-only, unlike log.retention.ms
            "listeners": "CLIENT://127.0.0.1:1",  # dynamic per broker only
            "no.such.setting": "1",  # unknown to Kafka
        },
    )
    assert dynamic == {"log.retention.ms", "message.max.bytes"}
    with pytest.raises(dynamic_config.DynamicConfigError) as refused:
        dynamic_config.dynamic_cluster_keys(
            bootstrap, {"log.segment.bytes": "1", "log.retention.ms": "soon"}
        )
    assert sorted(refused.value.rejected) == ["log.retention.ms", "log.segment.bytes"]
    assert "at least 1048576" in refused.value.rejected["log.segment.bytes"]


def test_cluster_defaults_apply_to_every_broker_without_a_restart(
    steward: Steward, bootstrap: str
) -> None:
    pids = sorted(steward.kafka_pids())
    assert dynamic_config.cluster_defaults(bootstrap) == {"min.insync.replicas": "2"}, (
        "with eligible leader replicas, the controller writes its min.insync.replicas there"
    )

    dynamic_config.apply_cluster_defaults(
        bootstrap, {"message.max.bytes": "2097152", "log.retention.ms": "3600000"}
    )

    for broker_id in (1, 2, 3):
        configs = eventually(
            lambda b=broker_id: broker_configs(bootstrap, b),
            lambda c: c["message.max.bytes"].value == "2097152",
            f"broker {broker_id}'s message.max.bytes",
        )
        assert configs["message.max.bytes"].source == (
            ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
        )
        assert configs["log.retention.ms"].value == "3600000"
    assert sorted(steward.kafka_pids()) == pids, "no process restarted"
    assert dynamic_config.cluster_defaults(bootstrap) == {
        "log.retention.ms": "3600000",
        "message.max.bytes": "2097152",
        "min.insync.replicas": "2",
    }

    dynamic_config.apply_cluster_defaults(
        bootstrap, {}, delete=["message.max.bytes", "log.retention.ms", "num.partitions"]
    )

    eventually(
        lambda: broker_configs(bootstrap, 1)["message.max.bytes"].value,
        lambda value: value == "1048588",
        "Kafka's default message.max.bytes again",
    )
    assert dynamic_config.cluster_defaults(bootstrap) == {"min.insync.replicas": "2"}
    with pytest.raises(dynamic_config.DynamicConfigError, match="ELR"):
        dynamic_config.apply_cluster_defaults(bootstrap, {}, delete=["min.insync.replicas"])


# --- features -----------------------------------------------------------------------------------
def test_a_new_cluster_is_at_its_releases_metadata_version(bootstrap: str) -> None:
    assert features.release_features(KAFKA_VERSION)["metadata.version"] == 30
    assert features.release_features("4.2.1")["metadata.version"] == 29
    assert features.finalized_metadata_version(bootstrap) == 30
    release = features.release_features(KAFKA_VERSION)
    del release[features.KRAFT_VERSION]  # a static quorum stays at kraft.version 0
    assert features.finalized_features(bootstrap) == release

    assert features.upgrade_metadata_version(bootstrap, KAFKA_VERSION) is False
    with pytest.raises(features.FeatureError, match="refusing to downgrade"):
        features.upgrade_metadata_version(bootstrap, "4.2.1")
    with pytest.raises(features.FeatureError, match=r"cannot map release 9\.9"):
        features.release_features("9.9.0")


@pytest.fixture
def cluster_at_kafka_4_2_metadata(tmp_path: Path) -> Iterator[str]:
    """A one-node KRaft cluster (broker and controller in one process) running Kafka 4.3.1 but
    formatted at Kafka 4.2's feature levels: a cluster whose upgrade is not finished yet."""
    dist = require_distribution(KAFKA_VERSION)
    java = find_java()
    client_port, controller_port = free_port(), free_port()
    properties_file = tmp_path / "server.properties"
    properties_file.write_text(
        render_properties(
            {
                "process.roles": "broker,controller",
                "node.id": "1",
                "listeners": (
                    f"PLAINTEXT://127.0.0.1:{client_port},CONTROLLER://127.0.0.1:{controller_port}"
                ),
                "advertised.listeners": (
                    f"PLAINTEXT://127.0.0.1:{client_port},CONTROLLER://127.0.0.1:{controller_port}"
                ),
                "controller.listener.names": "CONTROLLER",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
                "log.dirs": str(tmp_path / "data"),
                "offsets.topic.replication.factor": "1",
                "transaction.state.log.replication.factor": "1",
                "transaction.state.log.min.isr": "1",
                "share.coordinator.state.topic.replication.factor": "1",
                "share.coordinator.state.topic.min.isr": "1",
            }
        )
    )
    cluster_id = random_kafka_uuid()
    format_storage = ["format", "-t", cluster_id, "-c", str(properties_file)]
    release_4_2 = ["--release-version", "4.2"]
    subprocess.run(
        [java, "-cp", dist.classpath, "kafka.tools.StorageTool", *format_storage, *release_4_2],
        check=True,
        capture_output=True,
        timeout=60,
    )
    log4j_file = tmp_path / "log4j2.properties"
    log4j_file.write_text(render_log4j2_properties())
    log4j = log4j_jvm_options(str(log4j_file), str(tmp_path / "logs"))
    with (tmp_path / "stdout.log").open("ab") as out:
        process = subprocess.Popen(
            [
                java,
                "-Xmx256m",
                *log4j,
                "-cp",
                dist.classpath,
                "kafka.Kafka",
                str(properties_file),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    bootstrap = f"127.0.0.1:{client_port}"
    try:
        eventually(
            lambda: _serving_or_not(bootstrap), lambda up: up, "the one-node Kafka", timeout=120
        )
        yield bootstrap
    finally:
        process.kill()
        process.wait(15)


def _serving_or_not(bootstrap: str) -> bool:
    try:
        return health.broker_serving(bootstrap, 1, timeout=2)
    except health.HealthError:
        return False


def test_finishing_an_upgrade_raises_metadata_version_to_the_new_release(
    cluster_at_kafka_4_2_metadata: str,
) -> None:
    bootstrap = cluster_at_kafka_4_2_metadata
    assert features.finalized_metadata_version(bootstrap) == 29

    assert features.upgrade_metadata_version(bootstrap, KAFKA_VERSION) is True

    assert features.finalized_metadata_version(bootstrap) == 30
    release = features.release_features(KAFKA_VERSION)
    del release[features.KRAFT_VERSION]  # a static quorum stays at kraft.version 0
    assert features.finalized_features(bootstrap) == release
    assert features.upgrade_metadata_version(bootstrap, KAFKA_VERSION) is False


# --- brokers and the quorum ---------------------------------------------------------------------
def test_the_quorum_has_the_three_controllers_as_voters_and_the_brokers_observe(
    steward: Steward, cluster: dict[str, Any], bootstrap: str
) -> None:
    nodes = steward.client().list_nodes(ClusterArn=cluster["ClusterArn"])["NodeInfoList"]
    controllers = [n for n in nodes if "ControllerNodeInfo" in n]

    quorum = membership.quorum(bootstrap)

    assert len(quorum.voter_ids) == len(controllers) == 3
    assert not set(quorum.voter_ids) & {1, 2, 3}, "dedicated controllers, not brokers"
    assert quorum.leader_id in quorum.voter_ids
    assert quorum.observer_ids == [1, 2, 3]
    assert quorum.high_watermark > 0
    for replica in (*quorum.voters, *quorum.observers):
        assert replica.last_caught_up_ms is not None
        assert quorum.high_watermark - replica.log_end_offset < 100, "everyone follows closely"


def test_a_stopped_broker_blocks_rolling_its_peers_and_can_be_unregistered(
    bootstrap: str, broker_processes: BrokerProcesses
) -> None:
    create_topic(bootstrap, "guarded", partitions=3)
    with pytest.raises(membership.MembershipError, match="stop it before"):
        membership.unregister_broker(bootstrap, 3, KAFKA_VERSION)

    broker_processes.stop(3)

    eventually(lambda: health.broker_serving(bootstrap, 3), lambda up: not up, "broker 3 down")
    assert membership.registered_brokers(bootstrap)[3].fenced
    guarded = eventually(
        lambda: topic_states(bootstrap, "guarded"),
        lambda states: all(sorted(s.isr) == [1, 2] for s in states),
        "ISRs without broker 3",
    )
    states = health.partition_states(bootstrap)
    min_isr = health.min_insync_replicas(bootstrap, {s.topic for s in states})
    assert set(guarded) <= set(health.under_replicated(states))
    for peer in (1, 2):
        unsafe = health.unsafe_to_stop(states, peer, min_isr)
        assert set(guarded) <= set(unsafe), "RF 3, ISR 2, min ISR 2: stopping a peer goes under"
        assert all(s.topic != "relaxed" for s in unsafe), "min ISR 1 tolerates it"
    assert health.unsafe_to_stop(states, 3, min_isr) == [], "broker 3 is in no ISR"

    assert membership.unregister_broker(bootstrap, 3, KAFKA_VERSION) is True

    eventually(
        lambda: sorted(membership.registered_brokers(bootstrap)),
        lambda registered: registered == [1, 2],
        "broker 3 no longer listed, not even fenced",
    )
    assert membership.unregister_broker(bootstrap, 3, KAFKA_VERSION) is False

    broker_processes.start(3)  # it registers itself again

    eventually(lambda: health.broker_serving(bootstrap, 3), bool, "broker 3 serving", timeout=60)
    assert not membership.registered_brokers(bootstrap)[3].fenced
    eventually(
        lambda: health.under_replicated(health.partition_states(bootstrap)),
        lambda lagging: lagging == [],
        "full ISRs again",
        timeout=60,
    )
    assert reassignment.elect_preferred_leaders(bootstrap) == {}
    eventually(
        lambda: topic_states(bootstrap, "guarded"),
        lambda states: all(s.leader == s.replicas[0] for s in states),
        "preferred leaders of guarded",
    )
