"""The fault-injection suite: each scenario runs an idempotent acks=all producer and a consumer
against one real 3-broker, 3-zone cluster, injects a fault, waits until Steward has healed the
cluster (ACTIVE, every replica in sync) and checks that the clients lost nothing: every
acknowledged message consumed exactly once, in order. The zones run in network namespaces of
their own where the machine allows it, so that a zone can be cut off, and brokers have volumes of
their own (loop-mounted filesystems) where it allows that, so that a disk can fill up. Each zone
has two hosts (agents), so that a dead host's brokers can move to the other one.

Scenarios run in the order below against the same cluster; each leaves it healed. How fast
Steward detects and heals is measured by bench/healing.py, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from steward.agent.client import AgentUnavailable
from steward.agent.volumes import loop_volumes_supported
from steward.chaos.faults import LocalCluster, power_on_host
from steward.chaos.scenarios import ScenarioResult, run_scenario
from steward.network.zones import namespaces_supported
from steward.settings import Settings
from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

NETNS = namespaces_supported()
VOLUMES = loop_volumes_supported()


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"),
        zone_network="netns" if NETNS else "loopback",
        extra_env={
            "STEWARD_BROKER_VOLUMES": "loop" if VOLUMES else "directory",
            "STEWARD_HOSTS_PER_ZONE": "2",
            "STEWARD_HOST_REPLACE_AFTER": "5",
        },
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> LocalCluster:
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="Resilient", Provisioned=provisioned())["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=240)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return LocalCluster.from_api(client, _settings(steward), arn)


def _settings(steward: Steward) -> Settings:
    from unittest import mock

    with mock.patch.dict("os.environ", steward.env):
        return Settings()


def steward_cli(steward: Steward, *args: str) -> Any:
    """Run the `steward` command with `--output json` against this Steward; its JSON."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("steward")), "--output", "json", *args],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def healed(result: ScenarioResult) -> None:
    assert result.detected_after is not None, f"no repair started: {result}"
    assert result.healed_after is not None, f"not healed: {result}"
    assert result.problems == [], result.problems
    assert result.lost == 0
    # a duplicate may only be one the producer wrote twice (librdkafka #4953), never a re-read
    assert result.duplicates == result.rewritten
    assert result.acked > 0


def run(steward: Steward, cluster: LocalCluster, name: str, **kw: Any) -> ScenarioResult:
    result = run_scenario(steward.client(), cluster, name, **kw)
    print(result)
    return result


def test_a_killed_broker_is_restarted_and_catches_up(
    steward: Steward, cluster: LocalCluster
) -> None:
    result = run(steward, cluster, "kill-broker")
    healed(result)
    assert any("REPAIR_NODES" in r for r in result.repairs)


def test_a_killed_active_controller_is_restarted_and_the_quorum_carries_on(
    steward: Steward, cluster: LocalCluster
) -> None:
    healed(run(steward, cluster, "kill-active-controller"))


def test_a_hung_broker_is_killed_and_started_again(steward: Steward, cluster: LocalCluster) -> None:
    hung = cluster.brokers[2]
    pid_before = cluster.pid(hung)
    healed(run(steward, cluster, "hang-broker"))
    assert cluster.pid(hung) != pid_before, "the hung process was replaced"


def test_a_broker_whose_data_is_gone_is_rebuilt_from_its_peers(
    steward: Steward, cluster: LocalCluster
) -> None:
    healed(run(steward, cluster, "delete-broker-data"))
    assert (cluster.data_dir(cluster.brokers[0]) / "meta.properties").exists()


@pytest.mark.skipif(not VOLUMES, reason="brokers cannot have volumes of their own here")
def test_a_broker_whose_disk_fills_up_gets_more_storage_and_serves_again(
    steward: Steward, cluster: LocalCluster
) -> None:
    client = steward.client()
    before = _volume_size(client, cluster.arn)
    full = cluster.brokers[1]
    result = run(steward, cluster, "fill-broker-disk")
    healed(result)
    after = _volume_size(client, cluster.arn)
    assert after > before
    status = cluster.status(full)
    assert status.volume_size_bytes is not None and status.volume_used_bytes is not None
    assert status.volume_size_bytes > before * 1024**3  # the filesystem itself grew
    assert status.volume_used_bytes < 0.9 * status.volume_size_bytes
    assert status.state == "running"


def _volume_size(client: Any, arn: str) -> int:
    info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["Provisioned"]
    return int(info["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"])


def test_a_killed_agent_is_started_again_and_its_brokers_keep_serving(
    steward: Steward, cluster: LocalCluster
) -> None:
    agent = cluster.brokers[1].agent
    pid_before = cluster.agent_pid(agent)
    healed(run(steward, cluster, "kill-agent"))
    assert cluster.agent_pid(agent) != pid_before


@pytest.mark.skipif(not NETNS, reason="zones are not in network namespaces on this machine")
def test_a_zone_cut_off_the_network_comes_back_in_sync(
    steward: Steward, cluster: LocalCluster
) -> None:
    healed(run(steward, cluster, "cut-zone", heal_timeout=300.0))


def test_two_faults_in_a_row_are_both_repaired(steward: Steward, cluster: LocalCluster) -> None:
    healed(run(steward, cluster, "two-faults"))


def test_a_repair_survives_a_control_plane_crash(steward: Steward, cluster: LocalCluster) -> None:
    def crash_control_plane() -> None:
        steward.kill()
        steward.start()

    healed(run(steward, cluster, "kill-broker", during_repair=crash_control_plane))


def test_steward_chaos_run_reports_a_healed_fault(steward: Steward, cluster: LocalCluster) -> None:
    report = steward_cli(steward, "chaos", "run", "kill-agent", "Resilient")
    assert report["Scenario"] == "kill-agent"
    assert report["HealedAfterSeconds"] is not None
    assert (report["Lost"], report["Problems"]) == (0, [])


def test_steward_cluster_health_shows_every_node_and_kafkas_view(
    steward: Steward, cluster: LocalCluster
) -> None:
    report = steward_cli(steward, "cluster", "health", "Resilient")
    assert report["status"] == "HEALTHY", report
    assert sorted(n["nodeId"] for n in report["nodes"]) == [1, 2, 3, 1001, 1002, 1003]
    assert all(n["state"] == "running" and n["answers"] for n in report["nodes"])
    kafka = report["kafka"]
    assert kafka["servingBrokers"] == [1, 2, 3]
    assert kafka["underReplicatedPartitions"] == kafka["offlinePartitions"] == 0
    assert kafka["quorumLeader"] in (1001, 1002, 1003)
    assert report["findings"] == []


@pytest.fixture(scope="module")
def tls_cluster(steward: Steward, cluster: LocalCluster) -> LocalCluster:
    """A second cluster, made as a new user makes one: MSK's defaults, so clients reach it over
    TLS only (and the brokers talk TLS among themselves), trusting its CA as
    `steward cluster ca-certificate` prints it."""
    client = steward.client()
    defaults = {k: v for k, v in provisioned().items() if k != "EncryptionInfo"}
    arn = client.create_cluster_v2(ClusterName="Defaults", Provisioned=defaults)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=240)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    ca = subprocess.run(
        [str(Path(sys.executable).with_name("steward")), "cluster", "ca-certificate", "Defaults"],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return LocalCluster.from_api(client, cluster.settings, arn, ca_pem=ca)


class HealthLooks:
    """Watches, in a thread, how old the health monitor's last look at a cluster is (what
    `steward cluster health` shows as checkedAt): a monitor held up by another cluster's hung
    broker lets it grow."""

    def __init__(self, steward: Steward, arn: str) -> None:
        self.http = steward.http()
        self.path = f"/steward/v1/clusters/{quote(arn, safe='')}/health"
        self.oldest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> HealthLooks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.http.close()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            try:
                checked = self.http.get(self.path).json().get("checkedAt")
            except httpx.HTTPError:
                continue
            if checked is not None:
                self.oldest = max(self.oldest, time.time() - float(checked))


def test_a_broker_hung_after_another_was_repaired_is_repaired_without_holding_up_others(
    steward: Steward, cluster: LocalCluster, tls_cluster: LocalCluster
) -> None:
    # As a user met it: the default TLS cluster under Kafka's own Java producer, a broker
    # killed and repaired, and ten seconds later another broker stopped with SIGSTOP.
    hung = tls_cluster.brokers[1]
    pid_before = tls_cluster.pid(hung)
    with HealthLooks(steward, cluster.arn) as looks:
        result = run(steward, tls_cluster, "hang-after-repair", producer="java")
    healed(result)
    assert result.injected[1] == "healed", result.injected
    assert tls_cluster.pid(hung) != pid_before, f"the hung process {pid_before} was not replaced"
    assert looks.oldest < 15.0, f"the other cluster went {looks.oldest:.0f} s without a look"


def test_a_dead_hosts_brokers_move_to_another_host_of_their_zone(
    steward: Steward, cluster: LocalCluster
) -> None:
    client = steward.client()
    dead = cluster.host_with_brokers_only()
    moved = [b for b in cluster.brokers if b.agent == dead]
    result = run(steward, cluster, "kill-host")
    healed(result)
    now = LocalCluster.from_api(client, cluster.settings, cluster.arn)
    for broker in moved:
        placed = now.node(broker.node_id)
        assert placed.agent != dead and placed.zone == broker.zone
        assert placed.host != broker.host
    bootstrap = client.get_bootstrap_brokers(ClusterArn=cluster.arn)["BootstrapBrokerString"]
    assert {f"{now.node(b.node_id).host}:9092" for b in moved} <= set(bootstrap.split(","))
    assert not any(b.host in bootstrap for b in moved)

    # the host comes back: Steward starts its agent, which gets rid of the brokers that moved
    power_on_host(cluster, dead)
    stale = {b.key for b in moved}
    deadline = time.monotonic() + 60.0
    left: set[str] | None = None
    while time.monotonic() < deadline:
        try:
            left = stale & {s.key for s in cluster.agents.client(dead, timeout=2.0).nodes()}
        except AgentUnavailable:
            left = None
        if left == set():
            break
        time.sleep(0.5)
    assert left == set(), f"host {dead} still has {left} (None: its agent never answered)"
    assert not (cluster.settings.agents_dir / dead / "nodes" / moved[0].key).exists()
    assert steward.wait_for_state(cluster.arn, {"ACTIVE"}, timeout=30)["State"] == "ACTIVE"
