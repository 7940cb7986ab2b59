"""Hosts of other machines, driven through the host registry: two machines of one zone, each a
network namespace with its own address and its own agent (no loopback shared with the control
plane), registered with `steward host register`. A cluster's brokers spread over both; then one
machine is drained with `steward host drain`: its brokers move to the other, one at a time, while
an acks=all producer writes, and every acknowledged record is read back. The drained machine is
then removed; the one that runs the nodes is not.

Skipped where this process may not make network namespaces.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from steward.agent.launcher import ensure_agent
from steward.network.zones import ZoneNetwork, namespaces_supported, remove_octet
from tests.integration.harness import AGENT_PORT, Steward, eventually, next_octet, provisioned
from tests.integration.workload import Workload

pytestmark = pytest.mark.integration

MACHINES = ("m1", "m2")


@pytest.fixture(autouse=True)
def _needs_namespaces() -> None:
    if not namespaces_supported():
        pytest.skip("this process may not make network namespaces")


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Steward, ZoneNetwork]]:
    """A Steward of one zone (az-a) whose embedded host is removed, and two machines of az-a,
    each a namespace of the network `10.<octet>.<i>.0/24` with its agent on `.254`."""
    steward = Steward(tmp_path_factory.mktemp("steward-hosts"), extra_env={"STEWARD_ZONES": "az-a"})
    network = ZoneNetwork(next_octet(), list(MACHINES))
    try:
        network.ensure()
        steward.start(timeout=120)
        for machine in network.zones:
            ensure_agent(
                name=machine.name,
                host=machine.address,
                port=AGENT_PORT,
                state_dir=steward.home / "machines" / machine.name,
                token_file=steward.home / "agent-token",
                timeout=60.0,
                namespace=machine.namespace,
            )
        yield steward, network
    finally:
        steward.cleanup()
        remove_octet(network.octet)


def steward_cli(steward: Steward, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", "from steward.cli.main import main; main()", *args],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def hosts(steward: Steward) -> dict[str, dict[str, Any]]:
    listed = json.loads(steward_cli(steward, "host", "list", "-o", "json").stdout)
    return {h["hostName"]: h for h in listed["hosts"]}


def brokers_by_host(steward: Steward) -> dict[str, list[str]]:
    return {
        name: sorted(n for n in host["nodes"] if " broker " in n)
        for name, host in hosts(steward).items()
    }


def test_a_drained_machines_brokers_move_to_the_other_and_nothing_acknowledged_is_lost(
    machines: tuple[Steward, ZoneNetwork],
) -> None:
    steward, network = machines
    steward_cli(steward, "host", "remove", "az-a")  # this machine runs no node
    for machine in network.zones:
        steward_cli(
            steward, "host", "register", machine.name, "--zone", "az-a",
            "--agent-address", f"{machine.address}:{AGENT_PORT}",
            *[arg for i in range(1, 9) for arg in ("--node-address", f"{machine.prefix}.{i}")],
            "--cores", "2", "--memory-gib", "8", "--disk", f"/data/{machine.name}=100",
        )  # fmt: skip
    assert sorted(hosts(steward)) == ["m1", "m2"]

    client = steward.client()
    arn = client.create_cluster_v2(
        ClusterName="spread", Provisioned=provisioned(brokers=3, zones=("az-a",))
    )["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    placed = brokers_by_host(steward)
    assert all(placed[m] for m in MACHINES), placed  # the brokers spread over both machines
    nodes = client.list_nodes(ClusterArn=arn)["NodeInfoList"]
    endpoints = [
        e for n in nodes if "BrokerNodeInfo" in n for e in n["BrokerNodeInfo"]["Endpoints"]
    ]
    assert all(e.startswith("10.") for e in endpoints), endpoints

    # Drain the machine without the controller (controllers are not moved).
    with_controller = [
        m for m, h in hosts(steward).items() if any("controller" in n for n in h["nodes"])
    ]
    [drained] = [m for m in MACHINES if m not in with_controller]
    [kept] = [m for m in MACHINES if m != drained]
    moving = placed[drained]

    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    workload = Workload(bootstrap, partitions=4, rate=100).start()
    drained_host = json.loads(steward_cli(steward, "host", "drain", drained, "-o", "json").stdout)
    assert drained_host["state"] == "DRAINING"

    eventually(
        lambda: not brokers_by_host(steward)[drained], "the drained machine's brokers to move",
        timeout=900, interval=2.0,
    )  # fmt: skip
    info = steward.wait_for_state(arn, {"ACTIVE"}, timeout=600)
    result = workload.stop()
    workload.verify(result)
    assert result.acked > 0
    after = brokers_by_host(steward)
    assert set(moving) <= set(after[kept])
    operations = client.list_cluster_operations(ClusterArn=arn)["ClusterOperationInfoList"]
    heals = [o for o in operations if o["OperationType"] == "HEAL"]
    assert len(heals) >= len(moving)
    assert all(o["OperationState"] == "UPDATE_COMPLETE" for o in heals), heals

    refused = steward_cli(steward, "host", "remove", kept, check=False)
    assert refused.returncode != 0 and "still runs" in refused.stdout + refused.stderr
    steward_cli(steward, "host", "remove", drained)
    assert sorted(hosts(steward)) == [kept]
