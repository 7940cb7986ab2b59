"""CPU weights through cgroups: which hierarchy a host offers, a node's group with its weight and
its process, and nothing at all (but one line of log) on a host that offers none.

Temporary directories laid out like cgroup v1 and v2 hierarchies stand in for /sys/fs/cgroup; one
test uses the real hierarchy, when this runs as root on a host that has a writable one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from steward.agent import cgroups
from steward.agent.cgroups import CpuGroups, CpuHierarchy, find_cpu_hierarchy
from steward.control.node_specs import CONTROLLER_CPU_WEIGHT, build_node_spec
from steward.control.placement import Placer
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    NodeRole,
    utcnow,
)
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.settings import Zone

HOST_ROOT = Path("/sys/fs/cgroup")


def v1_root(tmp_path: Path) -> Path:
    """/sys/fs/cgroup of a cgroup v1 host: one directory per controller."""
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.shares").write_text("1024\n")
    (tmp_path / "memory").mkdir()
    return tmp_path


def v2_root(tmp_path: Path, controllers: str = "cpuset cpu io memory hugetlb pids") -> Path:
    """/sys/fs/cgroup of a cgroup v2 host: one unified hierarchy."""
    (tmp_path / "cgroup.controllers").write_text(controllers + "\n")
    (tmp_path / "cgroup.subtree_control").write_text("memory pids\n")
    return tmp_path


def test_a_v2_host_with_the_cpu_controller_weights_with_cpu_weight(tmp_path: Path) -> None:
    assert find_cpu_hierarchy(v2_root(tmp_path)) == CpuHierarchy(tmp_path, 2)


def test_a_v2_host_without_the_cpu_controller_offers_nothing(tmp_path: Path) -> None:
    assert find_cpu_hierarchy(v2_root(tmp_path, controllers="memory pids")) is None


def test_a_v1_host_weights_in_its_cpu_hierarchy(tmp_path: Path) -> None:
    assert find_cpu_hierarchy(v1_root(tmp_path)) == CpuHierarchy(tmp_path / "cpu", 1)
    # a root that is the cpu hierarchy itself (STEWARD_CGROUP_ROOT=/sys/fs/cgroup/cpu)
    assert find_cpu_hierarchy(tmp_path / "cpu") == CpuHierarchy(tmp_path / "cpu", 1)


def test_no_hierarchy_or_a_read_only_one_offers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_cpu_hierarchy(tmp_path) is None
    assert find_cpu_hierarchy(tmp_path / "missing") is None
    v1_root(tmp_path)
    monkeypatch.setattr(cgroups.os, "access", lambda path, mode: False)  # ro mount, not root
    assert find_cpu_hierarchy(tmp_path) is None


def test_v1_shares_are_the_weight_scaled_to_1024_and_v2_takes_it_as_is() -> None:
    v1, v2 = CpuHierarchy(Path("/"), 1), CpuHierarchy(Path("/"), 2)
    assert [v1.weight_value(w) for w in (1, 50, 100, 400, 4800, 10000)] == [
        10,
        512,
        1024,
        4096,
        49152,
        102400,
    ]
    assert [v2.weight_value(w) for w in (1, 50, 100, 4800, 10000)] == [1, 50, 100, 4800, 10000]
    assert (v1.weight_file, v2.weight_file) == ("cpu.shares", "cpu.weight")


def test_v1_a_node_gets_its_own_group_with_its_shares_and_process(tmp_path: Path) -> None:
    groups = CpuGroups.for_host(v1_root(tmp_path))
    assert groups.place("orders-b1", 4242, 200)
    group = tmp_path / "cpu" / "steward" / "orders-b1"
    assert groups.group("orders-b1") == group
    assert (group / "cpu.shares").read_text() == "2048"
    assert (group / "cgroup.procs").read_text() == "4242"
    assert groups.place("orders-b1", 4242, 200)  # again: the same
    groups.release("orders-b1")
    assert not (tmp_path / "cpu" / "steward").exists()
    assert sorted(p.name for p in (tmp_path / "cpu").iterdir()) == ["cpu.shares"]


def test_v2_enables_the_cpu_controller_down_to_the_nodes_groups(tmp_path: Path) -> None:
    groups = CpuGroups.for_host(v2_root(tmp_path))
    assert groups.place("orders-b1", 4242, 50)
    assert groups.place("orders-c1001", 4343, 100)
    assert "+cpu" in (tmp_path / "cgroup.subtree_control").read_text()
    assert (tmp_path / "steward" / "cgroup.subtree_control").read_text() == "+cpu"
    assert (tmp_path / "steward" / "orders-b1" / "cpu.weight").read_text() == "50"
    assert (tmp_path / "steward" / "orders-c1001" / "cgroup.procs").read_text() == "4343"
    groups.release("orders-b1")
    assert not (tmp_path / "steward" / "orders-b1").exists()
    assert (tmp_path / "steward" / "orders-c1001").is_dir()  # the parent stays for the other
    groups.release("orders-c1001")
    assert not (tmp_path / "steward").exists()
    groups.release("orders-c1001")  # a group that is not there is fine


def test_cpu_already_enabled_below_the_root_is_left_as_it_is(tmp_path: Path) -> None:
    root = v2_root(tmp_path)
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    CpuGroups.for_host(root).place("orders-b1", 4242, 100)
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory pids\n"


def test_a_host_without_cgroups_says_so_once_and_does_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="steward.agent.cgroups"):
        groups = CpuGroups.for_host(tmp_path)
        assert not groups.enforced and groups.group("orders-b1") is None
        assert not groups.place("orders-b1", 4242, 100)
        groups.release("orders-b1")
    assert [r.getMessage() for r in caplog.records] == [
        f"CPU weights are not enforced: no writable cgroup cpu controller under {tmp_path}"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_node_without_a_weight_gets_no_group(tmp_path: Path) -> None:
    groups = CpuGroups.for_host(v1_root(tmp_path))
    assert not groups.place("orders-b1", 4242, None)
    assert not (tmp_path / "cpu" / "steward").exists()


def test_the_root_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cgroups.CGROUP_ROOT_ENV, str(v1_root(tmp_path)))
    assert CpuGroups.for_host().hierarchy == CpuHierarchy(tmp_path / "cpu", 1)


def test_empty_groups_are_swept_and_groups_with_a_process_stay(tmp_path: Path) -> None:
    groups = CpuGroups.for_host(v1_root(tmp_path))
    parent = tmp_path / "cpu" / "steward"
    groups.place("running-b1", 4242, 100)
    (parent / "killed-b2").mkdir()
    (parent / "killed-b2" / "cgroup.procs").write_text("")
    groups.remove_empty_groups()
    assert sorted(p.name for p in parent.iterdir() if p.is_dir()) == ["running-b1"]
    groups.release("running-b1")
    assert not parent.exists()
    groups.remove_empty_groups()  # nothing there: fine


def test_a_group_swept_by_another_agent_while_being_made_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = CpuGroups.for_host(v1_root(tmp_path))
    write = cgroups.write_file
    swept: list[Path] = []

    def write_after_a_sweep(path: Path, text: str) -> None:
        if not swept:  # the other agent's sweep comes between mkdir and the first write
            swept.append(path.parent)
            path.parent.rmdir()
        write(path, text)

    monkeypatch.setattr(cgroups, "write_file", write_after_a_sweep)
    assert groups.place("orders-b1", 4242, 100)
    assert swept == [tmp_path / "cpu" / "steward" / "orders-b1"]
    assert (swept[0] / "cgroup.procs").read_text() == "4242"


def test_a_group_that_cannot_be_made_is_a_warning_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    groups = CpuGroups.for_host(v1_root(tmp_path))
    (tmp_path / "cpu" / "steward").write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="steward.agent.cgroups"):
        assert not groups.place("orders-b1", 4242, 100)
        groups.release("orders-b1")
    assert "orders-b1 (pid 4242) runs without its CPU weight 100" in caplog.text


def test_brokers_weigh_what_their_instance_type_says_and_controllers_100() -> None:
    zones = (Zone("az-a", "127.68.1"), Zone("az-b", "127.68.2"), Zone("az-c", "127.68.3"))
    arn = "arn:aws:kafka:us-east-1:000000000000:cluster/cpu/0b0d1b4e-1c2a-4f7e-9a55-1e3f7a2c9d11-1"
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.t3.small", ("az-a", "az-b", "az-c")))
    cluster = Cluster(arn, "cpu", spec, ClusterState.ACTIVE, utcnow(), "K1", "A" * 22)
    nodes = Placer(zones, set()).place(
        arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1", "kafka.t3.small"
    )
    weights = {node.role: build_node_spec(cluster, node, nodes, {}).cpu_weight for node in nodes}
    assert weights == {
        NodeRole.BROKER: INSTANCE_TYPES["kafka.t3.small"].cpu_weight,
        NodeRole.CONTROLLER: CONTROLLER_CPU_WEIGHT,
    }
    assert weights[NodeRole.BROKER] == 50 and CONTROLLER_CPU_WEIGHT == 100


# --- the real hierarchy ---------------------------------------------------------------------------
def host_cpu_groups() -> CpuGroups:
    """The host's own groups, when this process may change them; else the test is skipped."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create cgroups")
    groups = CpuGroups.for_host(HOST_ROOT)
    if groups.hierarchy is None:
        pytest.skip(f"no writable cgroup cpu controller under {HOST_ROOT}")
    return groups


def cgroup_of(pid: int, hierarchy: CpuHierarchy) -> str:
    """The process's group in the cpu hierarchy, from /proc/<pid>/cgroup."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if hierarchy.version == 2 and number == "0" and controllers == "":
            return path
        if hierarchy.version == 1 and "cpu" in controllers.split(","):
            return path
    raise AssertionError(f"pid {pid} is in no cpu cgroup")


@pytest.fixture
def host_groups() -> Iterator[tuple[CpuGroups, str]]:
    """The host's groups and a node key no one else uses; its group is gone afterwards."""
    groups = host_cpu_groups()
    key = f"test-{uuid.uuid4().hex[:12]}"
    yield groups, key
    group = groups.group(key)
    assert group is not None
    with contextlib.suppress(FileNotFoundError):
        group.rmdir()
    with contextlib.suppress(OSError):
        group.parent.rmdir()  # only when no other group (of an agent, of a test) is in it


def test_a_real_process_is_moved_into_its_group_and_the_group_is_removed(
    host_groups: tuple[CpuGroups, str],
) -> None:
    groups, key = host_groups
    assert groups.hierarchy is not None
    before = cgroup_of(os.getpid(), groups.hierarchy)
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert groups.place(key, sleeper.pid, 250)
        assert cgroup_of(sleeper.pid, groups.hierarchy) == f"/steward/{key}"
        assert cgroup_of(os.getpid(), groups.hierarchy) == before  # only the child moved
        group = groups.group(key)
        assert group is not None
        weight = (group / groups.hierarchy.weight_file).read_text().strip()
        assert weight == str(groups.hierarchy.weight_value(250))
        assert (group / "cgroup.procs").read_text().split() == [str(sleeper.pid)]
        groups.release(key)  # refused while the process is in it: a warning, nothing more
        groups.remove_empty_groups()  # not empty: stays
        assert group.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    groups.release(key)
    assert not group.exists()


def test_v1_the_steward_group_weighs_what_its_nodes_weigh_together(tmp_path: Path) -> None:
    groups = CpuGroups.for_host(v1_root(tmp_path))
    parent = tmp_path / "cpu" / "steward"
    assert groups.place("orders-b1", 4242, 200)
    assert (parent / "cpu.shares").read_text() == "2048"
    assert groups.place("orders-c1001", 4343, 100)
    assert (parent / "cpu.shares").read_text() == "3072"
    groups.release("orders-b1")
    assert (parent / "cpu.shares").read_text() == "1024"
    groups.release("orders-c1001")
    assert not parent.exists()


def test_v2_the_steward_group_weighs_at_most_what_cpu_weight_takes(tmp_path: Path) -> None:
    groups = CpuGroups.for_host(v2_root(tmp_path))
    for node in range(3):
        assert groups.place(f"big-b{node}", 5000 + node, 4800)
    assert (tmp_path / "steward" / "cpu.weight").read_text() == "10000"
    groups.release("big-b0")
    groups.release("big-b1")
    assert (tmp_path / "steward" / "cpu.weight").read_text() == "4800"
