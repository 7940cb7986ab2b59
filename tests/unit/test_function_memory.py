"""A function's MemorySize as a memory cgroup of its worker: which hierarchy a host offers and
where the groups go (under Steward's own group), a group capped with no swap, removed with its
worker; and, on this host's real hierarchy when it is writable, a function that allocates past
its limit killed by the kernel and answered as Lambda answers it (`Runtime.OutOfMemory`), the
next invocation served by a fresh worker, and no group left behind. Where there is no cgroup the
worker caps its address space instead, and the function's log says which limit applies.

Temporary directories laid out like cgroup v1 and v2 hierarchies stand in for /sys/fs/cgroup."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from steward.agent import cgroups, memory_groups
from steward.agent.memory_groups import (
    MEMORY_PARENT,
    MemoryGroups,
    MemoryHierarchy,
    find_memory_hierarchy,
    own_group,
)
from steward.functions.runtime import MIB, WORKER, FunctionSpec, ProcessInvoker

V1_PROC = "9:name=systemd:/\n4:memory:/services/steward\n1:cpu,cpuacct:/\n0::/\n"
V2_PROC = "0::/system.slice/steward.service\n"

ALLOCATE = """
def handler(event, context):
    block = bytearray(event["mib"] * 1024 * 1024)
    return {"mib": len(block) // (1024 * 1024), "limit": context.memory_limit_in_mb}
"""


def v1_root(tmp_path: Path, own: str = "") -> Path:
    memory = tmp_path / "memory"
    (memory / own).mkdir(parents=True)
    (memory / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    return tmp_path


def v2_root(tmp_path: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "cgroup.controllers").write_text(controllers + "\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    return tmp_path


def test_stewards_own_group_is_read_from_proc_self_cgroup() -> None:
    assert own_group(V1_PROC, 1) == "/services/steward"
    assert own_group(V2_PROC, 2) == "/system.slice/steward.service"
    assert own_group("1:cpu:/\n", 1) == "/"


def test_groups_go_under_stewards_own_group_of_the_hierarchy(tmp_path: Path) -> None:
    root = v1_root(tmp_path, "services/steward")
    hierarchy, reason = find_memory_hierarchy(root, "/services/steward")
    assert hierarchy == MemoryHierarchy(root / "memory" / "services" / "steward", 1)
    assert hierarchy.parent == root / "memory" / "services" / "steward" / MEMORY_PARENT
    assert reason == "cgroup v1 memory.limit_in_bytes"
    # a group that is not in this hierarchy (a stand-in): its root
    assert find_memory_hierarchy(root, "/elsewhere")[0] == MemoryHierarchy(root / "memory", 1)


def test_a_v2_host_needs_the_memory_controller(tmp_path: Path) -> None:
    hierarchy, reason = find_memory_hierarchy(v2_root(tmp_path), "/")
    assert hierarchy == MemoryHierarchy(tmp_path, 2) and reason == "cgroup v2 memory.max"
    other = tmp_path / "other"
    hierarchy, reason = find_memory_hierarchy(v2_root(other, "cpu pids"), "/")
    assert hierarchy is None and reason == f"cgroup v2 at {other} has no memory controller"


def test_a_host_without_a_writable_memory_hierarchy_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert find_memory_hierarchy(tmp_path, "/") == (
        None,
        f"no cgroup memory controller under {tmp_path}",
    )
    v1_root(tmp_path)
    monkeypatch.setattr("steward.agent.memory_groups.os.access", lambda path, mode: False)
    with caplog.at_level(logging.INFO, logger="steward.agent.memory_groups"):
        groups = MemoryGroups.for_host(tmp_path, "/")
    assert not groups.enforced and not groups.place("f-1", 4242, 128 * MIB)
    reason = f"the cgroup memory controller at {tmp_path / 'memory'} is not writable"
    assert groups.reason == reason
    assert [r.getMessage() for r in caplog.records] == [
        f"function memory is capped by address space only: {reason}"
    ]


def test_v2_a_worker_gets_a_group_at_its_memory_with_no_swap(tmp_path: Path) -> None:
    groups = MemoryGroups.for_host(v2_root(tmp_path), "/")
    assert groups.place("orders-1", 4242, 128 * MIB)
    group = tmp_path / MEMORY_PARENT / "orders-1"
    assert groups.group("orders-1") == group
    assert (group / "memory.max").read_text() == str(128 * MIB)
    assert (group / "cgroup.procs").read_text() == "4242"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory"
    assert (tmp_path / MEMORY_PARENT / "cgroup.subtree_control").read_text() == "+memory"
    (group / "cgroup.procs").write_text("")  # the worker is gone
    groups.release("orders-1")
    assert not (tmp_path / MEMORY_PARENT).exists()
    groups.release("orders-1")  # a group that is not there is fine


def test_a_parent_that_cannot_give_the_controller_stops_the_tries_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cgroup v2 refuses to enable a controller below a (non-root) group that holds processes,
    as Steward's own does when it runs in it: EBUSY."""
    groups = MemoryGroups.for_host(v2_root(tmp_path), "/")
    tries: list[Path] = []

    def busy(path: Path, text: str) -> None:
        tries.append(path)
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(memory_groups, "write_file", busy)
    monkeypatch.setattr(cgroups, "write_file", busy)  # where the controller is handed down
    assert not groups.place("orders-1", 4242, 128 * MIB)
    assert not groups.place("orders-2", 4343, 128 * MIB)
    assert tries == [tmp_path / "cgroup.subtree_control"]  # once
    assert not groups.enforced
    assert groups.reason.startswith(f"cgroup {tmp_path / MEMORY_PARENT / 'orders-1'} cannot be")
    assert "Device or resource busy" in groups.reason


def test_the_kernels_oom_kills_and_peak_are_read_from_the_group(tmp_path: Path) -> None:
    v1 = MemoryGroups.for_host(v1_root(tmp_path / "v1"), "/")
    assert v1.place("hog-1", 4242, 128 * MIB)
    group = v1.group("hog-1")
    assert group is not None
    assert (group / "memory.limit_in_bytes").read_text() == str(128 * MIB)
    (group / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not v1.out_of_memory("hog-1")
    (group / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    (group / "memory.max_usage_in_bytes").write_text(str(130 * MIB))
    assert v1.out_of_memory("hog-1") and v1.peak_bytes("hog-1") == 130 * MIB
    v2 = MemoryGroups.for_host(v2_root(tmp_path / "v2"), "/")
    assert v2.place("hog-1", 4242, 128 * MIB)
    group = v2.group("hog-1")
    assert group is not None
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert v2.out_of_memory("hog-1") and v2.peak_bytes("hog-1") is None


def test_empty_groups_are_swept_and_groups_with_a_process_stay(tmp_path: Path) -> None:
    groups = MemoryGroups.for_host(v2_root(tmp_path), "/")
    groups.place("running-1", 4242, 128 * MIB)
    (tmp_path / MEMORY_PARENT / "left-2").mkdir()
    (tmp_path / MEMORY_PARENT / "left-2" / "cgroup.procs").write_text("")
    groups.remove_empty_groups()
    assert [p.name for p in (tmp_path / MEMORY_PARENT).iterdir() if p.is_dir()] == ["running-1"]


# --- the worker -------------------------------------------------------------------------------


def spec_of(tmp_path: Path, code: str, memory_mib: int = 128) -> FunctionSpec:
    code_dir = tmp_path / "code"
    code_dir.mkdir(exist_ok=True)
    (code_dir / "app.py").write_text(code)
    name = f"memory-{uuid.uuid4().hex[:8]}"
    return FunctionSpec(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        revision="r1",
        handler="app.handler",
        timeout=60,
        memory_mib=memory_mib,
        environment={},
        code_dir=str(code_dir),
        log_path=str(tmp_path / "function.log"),
        python=sys.executable,
    )


def host_memory_groups() -> MemoryGroups:
    groups = MemoryGroups.for_host()
    if not groups.enforced:
        pytest.skip(f"no writable cgroup memory controller: {groups.reason}")
    return groups


def members(groups: MemoryGroups, name: str) -> list[Path]:
    assert groups.hierarchy is not None
    parent = groups.hierarchy.parent
    return sorted(parent.glob(f"{name}-*")) if parent.is_dir() else []


@pytest.fixture
def invokers() -> Iterator[list[ProcessInvoker]]:
    made: list[ProcessInvoker] = []
    yield made
    for invoker in made:
        invoker.close()


def test_a_worker_that_outgrows_its_cgroup_is_killed_and_answered_as_lambda_does(
    tmp_path: Path, invokers: list[ProcessInvoker]
) -> None:
    groups = host_memory_groups()
    spec = spec_of(tmp_path, ALLOCATE)
    invoker = ProcessInvoker(spec, groups)
    invokers.append(invoker)
    fits = invoker.invoke({"mib": 32})
    assert not fits.failed and json.loads(fits.payload) == {"mib": 32, "limit": "128"}
    [group] = members(groups, spec.name)
    assert groups.hierarchy is not None
    assert (group / groups.hierarchy.limit_file).read_text().strip() == str(128 * MIB)
    worker = int((group / "cgroup.procs").read_text().split()[0])

    hog = invoker.invoke({"mib": 512})
    assert hog.function_error == "Unhandled"
    error = json.loads(hog.payload)
    assert error == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {hog.request_id} Error: Runtime exited with error: "
        "signal: killed",
        "requestId": hog.request_id,
    }
    assert "Status: error\tError Type: Runtime.OutOfMemory" in hog.log_tail
    assert members(groups, spec.name) == []  # the killed worker's group went with it
    assert not Path(f"/proc/{worker}").exists()

    again = invoker.invoke({"mib": 16})  # a fresh worker, in a fresh group
    assert not again.failed and json.loads(again.payload)["mib"] == 16
    [fresh] = members(groups, spec.name)
    assert fresh != group
    invoker.close()
    assert members(groups, spec.name) == []
    log = Path(spec.log_path).read_text()
    assert log.count("INIT_START Memory Size: 128 MB, capped by cgroup v") == 2


def test_a_worker_leaving_a_child_behind_leaves_no_group(
    tmp_path: Path, invokers: list[ProcessInvoker]
) -> None:
    groups = host_memory_groups()
    spawn = (
        "import subprocess, sys\n\n"
        "def handler(event, context):\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],\n"
        "                             start_new_session=True)\n"
        "    return child.pid\n"
    )
    invoker = ProcessInvoker(spec_of(tmp_path, spawn), groups)
    invokers.append(invoker)
    outcome = invoker.invoke({})
    child = int(outcome.payload)
    assert Path(f"/proc/{child}").exists()
    invoker.close()
    assert members(groups, invoker.spec.name) == []
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_without_cgroups_the_worker_caps_its_address_space_and_the_log_says_so(
    tmp_path: Path, invokers: list[ProcessInvoker]
) -> None:
    groups = MemoryGroups(None, "no cgroup memory controller under /nowhere")
    invoker = ProcessInvoker(spec_of(tmp_path, ALLOCATE), groups)
    invokers.append(invoker)
    assert not invoker.invoke({"mib": 32}).failed
    hog = invoker.invoke({"mib": 2048})  # past MemorySize + the interpreter's allowance
    assert hog.function_error == "Unhandled"
    assert json.loads(hog.payload)["errorType"] == "Runtime.OutOfMemory"
    assert not invoker.invoke({"mib": 16}).failed  # the worker lives on: it raised, not died
    log = Path(invoker.spec.log_path).read_text()
    assert (
        "INIT_START Memory Size: 128 MB, capped by address space only (RLIMIT_AS 640 MiB): "
        "no cgroup memory controller under /nowhere"
    ) in log
    assert log.count("INIT_START") == 1


def test_the_worker_loads_the_code_only_once_it_is_in_its_group(tmp_path: Path) -> None:
    """Module-level code of the function runs after the runtime placed the worker: a worker
    whose first line has not come yet has not imported it."""
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').close()\n\ndef handler(event, context):\n    return 1\n"
    spec = spec_of(tmp_path, code)
    read_end, write_end = os.pipe()
    argv = [spec.code_dir, spec.handler, str(write_end), "128", spec.name, "$LATEST", spec.arn]
    worker = subprocess.Popen(
        [sys.executable, "-I", str(WORKER), *argv, "group", "stream"],
        stdin=subprocess.PIPE,
        pass_fds=(write_end,),
        cwd=spec.code_dir,
    )
    os.close(write_end)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(1)  # waiting for its first line
        assert not marker.exists()
        assert worker.stdin is not None
        worker.stdin.write(b'{"address_space_mib": 0}\n')
        worker.stdin.close()
        assert worker.wait(30) == 0
        assert marker.exists()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)
        os.close(read_end)
