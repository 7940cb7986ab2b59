"""A control plane of three servers on one PostgreSQL store: one leads, the others serve reads and
hand it the writes they are given. The leader is killed -9 in the middle of a scale-out; another
server takes the lead, finishes the operation from the store, and no acknowledged message is
lost while Kafka keeps serving."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.harness import Steward, free_port, provisioned
from tests.integration.workload import Workload
from tests.postgres import PostgresCluster, postgres_bin

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed"),
]

ZONES = ("az-a", "az-b")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


def peer_of(first: Steward) -> Steward:
    """Another server of the same control plane: same home (its agents, master key and agent
    token), same store, an API port and a log of its own."""
    peer = copy.copy(first)
    peer.api_port = free_port()
    peer.endpoint = f"http://127.0.0.1:{peer.api_port}"
    peer.process = None
    peer.log_file = first.home / f"server-{peer.api_port}.out"
    return peer


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster
) -> Iterator[list[Steward]]:
    first = Steward(
        tmp_path_factory.mktemp("steward"),
        extra_env={
            "STEWARD_DATABASE_URL": postgres.create_database("steward"),
            # Long enough that a leader starved of CPU by the rest of the suite still renews in
            # time (a server whose lease ran out exits), short enough to take over in seconds.
            "STEWARD_LEASE_SECONDS": "15",
            "STEWARD_ZONES": ",".join(ZONES),
        },
    )
    members = [first, peer_of(first), peer_of(first)]
    try:
        for member in members:
            member.start(timeout=120)
        yield members
    finally:
        for member in members[1:]:
            member.stop()
        first.cleanup()


def role(server: Steward) -> dict[str, Any]:
    try:
        return dict(httpx.get(f"{server.endpoint}/healthz", timeout=5).json())
    except httpx.HTTPError:
        return {}


def wait_for_leader(servers: list[Steward], timeout: float = 120.0) -> Steward:
    deadline = time.time() + timeout
    while time.time() < deadline:
        leading = [s for s in servers if role(s).get("role") == "leader"]
        if len(leading) == 1:
            return leading[0]
        time.sleep(0.2)
    raise AssertionError(f"no single leader among {[role(s) for s in servers]}")


def test_one_server_leads_and_the_others_follow(servers: list[Steward]) -> None:
    leader = wait_for_leader(servers)
    followers = [s for s in servers if s is not leader]
    for follower in followers:
        seen = role(follower)
        assert (seen["role"], seen["leader"]) == ("follower", leader.endpoint)


def test_the_leader_killed_during_a_scale_out_loses_nothing(servers: list[Steward]) -> None:
    leader = wait_for_leader(servers)
    follower = next(s for s in servers if s is not leader)
    client = follower.client()  # every write below goes through a follower
    arn = client.create_cluster_v2(
        ClusterName="ha", Provisioned=provisioned(brokers=2, zones=ZONES)
    )["ClusterArn"]
    info = follower.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    workload = Workload(bootstrap, partitions=4, rate=100).start()

    started = client.update_broker_count(
        ClusterArn=arn,
        CurrentVersion=follower.current_version(arn),
        TargetNumberOfBrokerNodes=4,
    )
    op_arn = started["ClusterOperationArn"]
    deadline = time.time() + 300
    while time.time() < deadline:
        steps = client.describe_cluster_operation(ClusterOperationArn=op_arn)[
            "ClusterOperationInfo"
        ].get("OperationSteps", [])
        if any(s["StepInfo"]["StepStatus"] == "SUCCEEDED" for s in steps):
            break
        time.sleep(0.1)
    leader.kill()

    survivors = [s for s in servers if s is not leader]
    successor = wait_for_leader(survivors)
    op = follower.wait_for_operation(op_arn, timeout=900)
    result = workload.stop()
    assert op["OperationType"] == "INCREASE_BROKER_COUNT"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    assert op["TargetClusterInfo"]["NumberOfBrokerNodes"] == 4
    workload.verify(result)
    assert role(successor)["term"] >= 2
    info = successor.client().describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert (info["State"], info["Provisioned"]["NumberOfBrokerNodes"]) == ("ACTIVE", 4)
