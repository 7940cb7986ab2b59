"""The node supervisor's process logic, with a small Python stand-in for Kafka (no JVM).

The stand-in is started exactly like Kafka (own session, output to stdout.log, the node's
server.properties as its last argument) and reads that file to decide what to do: serve a TCP
port (`fake.port`), or print a fatal error and exit (`fake.exit`).

Supervisors look for cgroups in a directory of the test's own (none there, unless a test lays out
a stand-in hierarchy), or in the host's real hierarchy for the tests that ask for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from steward.agent import processes
from steward.agent.cgroups import CpuGroups
from steward.agent.spec import NodeSpec, NodeStatus
from steward.agent.supervisor import NodePaths, NodeSupervisor, SupervisionPolicy

STAND_IN = """
import pathlib, socket, sys, time
props = dict(
    line.split("=", 1) for line in pathlib.Path(sys.argv[1]).read_text().splitlines()
    if "=" in line and not line.startswith("#")
)
if "fake.exit" in props:
    print("FATAL Exiting Kafka due to fatal exception: boom", flush=True)
    sys.exit(int(props["fake.exit"]))
if "fake.port" in props:
    server = socket.create_server(("127.0.0.1", int(props["fake.port"])))
time.sleep(3600)
"""

POLICY = SupervisionPolicy(
    interval=0.05,
    max_fast_crashes=3,
    stable_after=5.0,
    base_delay=0.05,
    max_delay=0.2,
    stop_timeout=5.0,
    running_without_listener_after=0.2,
)


def stand_in_command(spec: NodeSpec, paths: NodePaths) -> list[str]:
    return [sys.executable, "-c", STAND_IN, str(paths.properties)]


def spec(key: str = "b1", *, cpu_weight: int | None = None, **properties: str) -> NodeSpec:
    return NodeSpec(
        key=key,
        kafka_version="4.3.1",
        role="broker",
        node_id=1,
        cluster_id="MkU3OEVBNTcwNTJENDM2Qg",
        directory_id="rK8_u1GNRGeYM9hzj2zYMQ",
        properties=dict(properties),
        heap_mb=256,
        cpu_weight=cpu_weight,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alive(pid: int | None) -> bool:
    return pid is not None and processes.is_same_process(pid, None)


class Harness:
    """Supervisors on one state dir, each driven by explicit ticks; kills every stand-in at
    the end."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.cgroup_root = state_dir.parent / "no-cgroups"
        self.pids: set[int] = set()

    def supervisor(self) -> NodeSupervisor:
        return NodeSupervisor(
            self.state_dir, policy=POLICY, command=stand_in_command, cgroup_root=self.cgroup_root
        )

    def remember(self, status: NodeStatus | None) -> NodeStatus:
        assert status is not None
        if status.pid is not None:
            self.pids.add(status.pid)
        return status

    def tick_until(
        self,
        supervisor: NodeSupervisor,
        key: str,
        done: Callable[[NodeStatus], bool],
        timeout: float = 10.0,
    ) -> NodeStatus:
        deadline = time.monotonic() + timeout
        while True:
            supervisor.tick()
            status = self.remember(supervisor.status(key))
            if done(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"still {status}")
            time.sleep(0.02)

    def cleanup(self) -> None:
        for pid in self.pids:
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "agent")
    yield h
    h.cleanup()


def test_apply_formats_writes_files_and_starts_the_node(harness: Harness) -> None:
    sup = harness.supervisor()
    status = harness.remember(sup.apply(spec()))
    assert status.state == "starting" and alive(status.pid)
    paths = sup.paths("b1")
    assert "meta.properties" in os.listdir(paths.data)
    assert f"log.dirs={paths.data}" in paths.properties.read_text()
    assert "server.log" in paths.log4j.read_text()
    assert NodeSpec.from_json(paths.spec.read_text()) == spec()
    # its own session: it does not die with the agent's process group
    assert os.getpgid(status.pid) == status.pid != os.getpgid(0)
    running = harness.tick_until(sup, "b1", lambda s: s.state == "running")
    assert running.pid == status.pid and running.spec_hash == spec().spec_hash


def test_a_node_is_running_once_its_listener_accepts_connections(harness: Harness) -> None:
    sup = harness.supervisor()
    port = free_port()
    listening = spec(**{"listeners": f"CLIENT://127.0.0.1:{port}", "fake.port": str(port)})
    harness.remember(sup.apply(listening))
    status = harness.tick_until(sup, "b1", lambda s: s.state == "running")
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert status.restarts == 0


def test_applying_the_same_spec_again_changes_nothing(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    again = sup.apply(spec())
    assert again.pid == first.pid


def test_a_changed_spec_restarts_the_node(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    changed = spec(**{"num.io.threads": "16"})
    second = harness.remember(sup.apply(changed))
    assert second.pid != first.pid
    assert not alive(first.pid) and alive(second.pid)
    assert second.spec_hash == changed.spec_hash
    assert "num.io.threads=16" in sup.paths("b1").properties.read_text()


def test_stop_start_and_desired_stopped(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    stopped = sup.stop("b1")
    assert stopped.state == "stopped" and stopped.pid is None and not alive(first.pid)
    sup.tick()
    assert sup.status("b1") == stopped  # a stopped node is not restarted
    started = harness.remember(sup.start("b1"))
    assert started.state == "starting" and alive(started.pid)
    parked = spec()
    parked.desired = "stopped"
    assert sup.apply(parked).state == "stopped"
    assert not alive(started.pid)


def test_a_node_that_exits_is_restarted(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    os.killpg(first.pid, signal.SIGKILL)  # type: ignore[arg-type]
    status = harness.tick_until(sup, "b1", lambda s: s.pid not in (None, first.pid))
    assert status.restarts == 1
    assert status.last_exit_code == -signal.SIGKILL


def test_a_node_whose_data_volume_is_lost_reports_it_and_restarts_on_a_fresh_one(
    harness: Harness,
) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    data = sup.paths("b1").data
    (data / "orders-0").mkdir()
    shutil.rmtree(data)
    assert harness.remember(sup.status("b1")).data_missing
    # what a Kafka that noticed writes into a new directory before it stops
    data.mkdir()
    (data / "replication-offset-checkpoint.tmp").write_text("0\n")
    os.killpg(first.pid, signal.SIGKILL)  # type: ignore[arg-type]
    status = harness.tick_until(sup, "b1", lambda s: s.pid not in (None, first.pid))
    assert not status.data_missing
    assert "meta.properties" in os.listdir(data)
    [aside] = [p for p in data.parent.iterdir() if p.name.startswith("data.lost-")]
    assert os.listdir(aside) == ["replication-offset-checkpoint.tmp"]


def test_someone_elses_files_without_meta_properties_are_still_left_alone(
    harness: Harness,
) -> None:
    sup = harness.supervisor()
    data = sup.paths("b1").data
    data.mkdir(parents=True)
    (data / "precious").write_text("not ours")
    status = harness.remember(sup.apply(spec()))
    assert status.state == "failed"
    assert (data / "precious").exists()


def test_fast_crashes_back_off_then_fail_with_the_log_tail(harness: Harness) -> None:
    sup = harness.supervisor()
    began = time.monotonic()
    harness.remember(sup.apply(spec(**{"fake.exit": "3"})))
    status = harness.tick_until(sup, "b1", lambda s: s.state == "failed")
    # three crashes, two restarts in between: at once, then after 0.05 s
    assert status.restarts == 2
    assert time.monotonic() - began >= 0.05
    assert status.last_exit_code == 3
    assert status.message is not None
    assert "3 fast crashes" in status.message
    assert "Exiting Kafka due to fatal exception: boom" in status.message
    assert status.message.count("boom") == 1  # the latest start's output only
    time.sleep(0.3)
    sup.tick()
    assert sup.status("b1") == status  # a failed node is left alone...
    fixed = harness.remember(sup.apply(spec()))  # ...until it is applied again
    assert fixed.state == "starting" and alive(fixed.pid)


def test_backoff_delays_grow_and_are_capped() -> None:
    policy = SupervisionPolicy(base_delay=1.0, max_delay=10.0)
    assert [policy.restart_delay(n) for n in range(1, 8)] == [0, 1, 2, 4, 8, 10, 10]


def test_a_new_supervisor_re_adopts_running_processes(harness: Harness) -> None:
    first_sup = harness.supervisor()
    first = harness.remember(first_sup.apply(spec()))
    first_sup.shutdown()
    del first_sup  # the agent is gone; its process is not

    sup = harness.supervisor()
    adopted = sup.status("b1")
    assert adopted is not None and adopted.pid == first.pid
    status = harness.tick_until(sup, "b1", lambda s: s.state == "running")
    assert status.pid == first.pid
    # an adopted process is not our child: its exit is noticed through /proc
    os.killpg(first.pid, signal.SIGKILL)  # type: ignore[arg-type]
    restarted = harness.tick_until(sup, "b1", lambda s: s.pid not in (None, first.pid))
    assert restarted.restarts == 1
    stopped = sup.stop("b1")
    assert stopped.state == "stopped" and not alive(restarted.pid)


def test_a_reused_pid_is_not_adopted(harness: Harness) -> None:
    sup = harness.supervisor()
    harness.remember(sup.apply(spec()))
    sup.stop("b1")
    # the pid file names a live process that is not the node: this test process
    this = processes.read_stat(os.getpid())
    assert this is not None
    record = {"pid": os.getpid(), "start_ticks": this.start_ticks, "started_at": time.time()}
    paths = sup.paths("b1")
    paths.pid_file.write_text(json.dumps({**record, "spec_hash": spec().spec_hash}))
    fresh = harness.supervisor()
    status = fresh.status("b1")
    assert status is not None and status.pid is None and status.state == "stopped"
    assert not paths.pid_file.exists()


def test_process_identity_needs_the_same_start_time_and_argument() -> None:
    this = processes.read_stat(os.getpid())
    assert this is not None and this.state in "RS"
    assert processes.is_same_process(os.getpid(), this.start_ticks)
    assert not processes.is_same_process(os.getpid(), this.start_ticks + 1)
    assert not processes.is_same_process(os.getpid(), None, "/no/such/server.properties")
    assert not processes.is_same_process(2**22 + 1, None)


def test_a_process_whose_exec_is_in_progress_is_still_the_same_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    this = processes.read_stat(os.getpid())
    assert this is not None
    argument = "/tmp/agent/nodes/b1/server.properties"
    answers = [[], [], ["java", argument]]  # the kernel has not set up the new arguments yet
    monkeypatch.setattr(processes, "read_cmdline", lambda pid: answers.pop(0))
    assert processes.is_same_process(os.getpid(), this.start_ticks, argument)
    assert answers == []
    monkeypatch.setattr(processes, "read_cmdline", lambda pid: [])  # never finishes: a stranger
    began = time.monotonic()
    assert not processes.is_same_process(os.getpid(), this.start_ticks, argument, exec_grace=0.1)
    assert 0.1 <= time.monotonic() - began < 2


def test_a_process_is_recognised_right_after_it_was_started(tmp_path: Path) -> None:
    """Popen returns a moment before the child's new command line is readable."""
    argument = str(tmp_path / "server.properties")
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)", argument],
            start_new_session=True,
        )
        try:
            stat = processes.read_stat(child.pid)
            assert stat is not None
            assert processes.is_same_process(child.pid, stat.start_ticks, argument)
        finally:
            child.kill()
            child.wait()


def test_a_process_started_with_an_older_spec_is_restarted_by_the_next_agent(
    harness: Harness,
) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    sup.shutdown()
    # the agent died after writing the new spec but before restarting the node
    newer = spec(**{"num.io.threads": "16"})
    sup.paths("b1").spec.write_text(newer.to_json())
    fresh = harness.supervisor()
    status = harness.tick_until(fresh, "b1", lambda s: s.spec_hash == newer.spec_hash)
    assert status.pid != first.pid and not alive(first.pid)


def test_a_node_found_dead_at_agent_start_is_started(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    assert first.pid is not None
    sup.shutdown()
    del sup  # the agent is gone: nothing supervises the node any more
    os.killpg(first.pid, signal.SIGKILL)
    # Reap it ourselves, as init would reap an orphan. Ticking the old supervisor instead would
    # be a supervision pass: it restarts the node at once (no delay after a first crash).
    os.waitpid(first.pid, 0)
    fresh = harness.supervisor()
    found = fresh.status("b1")
    assert found is not None and found.state == "crashed" and found.pid is None
    assert not fresh.paths("b1").pid_file.exists()
    started = harness.tick_until(fresh, "b1", lambda s: s.pid is not None)
    assert started.state == "starting" and started.pid != first.pid and alive(started.pid)


def test_remove_stops_the_node_and_deletes_its_directory(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    assert sup.remove("b1")
    assert not alive(first.pid)
    assert not sup.paths("b1").root.exists()
    assert sup.status("b1") is None and sup.statuses() == []
    assert not sup.remove("b1")


def test_stop_kills_a_node_that_ignores_sigterm(harness: Harness, tmp_path: Path) -> None:
    def stubborn(spec: NodeSpec, paths: NodePaths) -> list[str]:
        script = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ignoring SIGTERM', flush=True); time.sleep(3600)"
        )
        return [sys.executable, "-c", script, str(paths.properties)]

    sup = NodeSupervisor(
        tmp_path / "stubborn", policy=POLICY, command=stubborn, cgroup_root=harness.cgroup_root
    )
    status = harness.remember(sup.apply(spec()))
    deadline = time.monotonic() + 10
    while "ignoring SIGTERM" not in sup.paths("b1").stdout.read_text():  # its handler is set
        assert time.monotonic() < deadline
        time.sleep(0.02)
    began = time.monotonic()
    stopped = sup.stop("b1", timeout=0.5)
    assert stopped.state == "stopped" and stopped.last_exit_code == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - began < 5
    assert not alive(status.pid)


def test_a_node_that_cannot_be_launched_fails_with_the_reason(tmp_path: Path) -> None:
    def missing(spec: NodeSpec, paths: NodePaths) -> list[str]:
        return ["/nonexistent/java", str(paths.properties)]

    sup = NodeSupervisor(
        tmp_path / "agent", policy=POLICY, command=missing, cgroup_root=tmp_path / "no-cgroups"
    )
    status = sup.apply(spec())
    assert status.state == "failed"
    assert status.message is not None and "/nonexistent/java" in status.message


def test_background_supervision_restarts_without_explicit_ticks(harness: Harness) -> None:
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec()))
    sup.supervise_in_background()
    try:
        os.killpg(first.pid, signal.SIGKILL)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while (status := harness.remember(sup.status("b1"))).pid in (None, first.pid):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status.restarts == 1
    finally:
        sup.shutdown()


# --- CPU weights ----------------------------------------------------------------------------------
@dataclass
class CgroupHost:
    """Where the supervisor finds cgroups, and a node key that is ours alone there."""

    root: Path
    key: str
    real: bool

    def group(self) -> Path:
        group = CpuGroups.for_host(self.root).group(self.key)
        assert group is not None
        return group

    def members(self) -> list[int]:
        return [int(pid) for pid in (self.group() / "cgroup.procs").read_text().split()]

    def weight(self) -> str:
        group = self.group()
        name = "cpu.weight" if (group / "cpu.weight").exists() else "cpu.shares"
        return (group / name).read_text().strip()


@pytest.fixture(params=["v1", "v2", "host"])
def cgroup_host(
    request: pytest.FixtureRequest, harness: Harness, tmp_path: Path
) -> Iterator[CgroupHost]:
    """A stand-in cgroup v1 or v2 hierarchy, or this host's real one (root only)."""
    if request.param == "host":
        if os.geteuid() != 0 or not CpuGroups.for_host(Path("/sys/fs/cgroup")).enforced:
            pytest.skip("needs root and a writable cgroup cpu controller")
        host = CgroupHost(Path("/sys/fs/cgroup"), f"b1-{uuid.uuid4().hex[:12]}", real=True)
    else:
        root = tmp_path / f"cgroup-{request.param}"
        root.mkdir()
        if request.param == "v1":
            (root / "cpu").mkdir()
            (root / "cpu" / "cpu.shares").write_text("1024\n")
        else:
            (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        host = CgroupHost(root, "b1", real=False)
    harness.cgroup_root = host.root
    yield host
    if host.real:  # leave the host as it was, whatever the test did
        harness.cleanup()
        group = host.group()
        deadline = time.monotonic() + 5
        while group.exists() and time.monotonic() < deadline:  # until the killed have left it
            with contextlib.suppress(FileNotFoundError):
                if not (group / "cgroup.procs").read_text().strip():
                    break
            time.sleep(0.05)
        for ours in group.parent.glob(f"{host.key}*"):  # the node's group, and a test's own
            with contextlib.suppress(FileNotFoundError):
                ours.rmdir()
        with contextlib.suppress(OSError):
            group.parent.rmdir()  # only when no other group (an agent's, a test's) is in it


def test_a_nodes_process_runs_in_its_cpu_group_which_goes_with_the_node(
    harness: Harness, cgroup_host: CgroupHost
) -> None:
    sup = harness.supervisor()
    key = cgroup_host.key
    started = harness.remember(sup.apply(spec(key, cpu_weight=200)))
    assert cgroup_host.members() == [started.pid]
    assert cgroup_host.weight() in ("200", "2048")  # cpu.weight (v2) or cpu.shares (v1)
    if cgroup_host.real:
        cgroup = Path(f"/proc/{started.pid}/cgroup").read_text()
        assert f":/steward/{key}\n" in cgroup

    # a process that dies takes its group along; its successor gets one again
    os.killpg(started.pid, signal.SIGKILL)  # type: ignore[arg-type]
    restarted = harness.tick_until(sup, key, lambda s: s.pid not in (None, started.pid))
    assert cgroup_host.members() == [restarted.pid]

    sup.stop(key)
    assert not cgroup_host.group().exists()
    again = harness.remember(sup.start(key))
    assert cgroup_host.members() == [again.pid]

    assert sup.remove(key)
    assert not alive(again.pid)
    assert not cgroup_host.group().exists()
    if not cgroup_host.real:
        assert not cgroup_host.group().parent.exists()


def test_a_re_adopted_process_is_put_back_in_its_group(
    harness: Harness, cgroup_host: CgroupHost
) -> None:
    if cgroup_host.real:
        pytest.skip("a stand-in hierarchy is enough: the group is made to disappear")
    sup = harness.supervisor()
    first = harness.remember(sup.apply(spec(cpu_weight=50)))
    sup.shutdown()
    group = cgroup_host.group()
    for name in ("cgroup.procs", "cpu.weight", "cpu.shares"):
        (group / name).unlink(missing_ok=True)  # as if the process had started unweighted

    fresh = harness.supervisor()
    adopted = fresh.status("b1")
    assert adopted is not None and adopted.pid == first.pid
    assert cgroup_host.members() == [first.pid]
    assert cgroup_host.weight() in ("50", "512")


def test_a_new_agent_sweeps_the_groups_of_nodes_killed_with_their_agent(
    harness: Harness, cgroup_host: CgroupHost
) -> None:
    """The processes and the agent were all killed, the node directories wiped (a test's
    teardown): their empty groups go when the next agent starts."""
    sup = harness.supervisor()
    status = harness.remember(sup.apply(spec(cgroup_host.key, cpu_weight=100)))
    sup.shutdown()
    left_over = cgroup_host.group().with_name(f"{cgroup_host.key}-gone")
    left_over.mkdir()
    if not cgroup_host.real:
        (left_over / "cgroup.procs").write_text("")
    harness.supervisor()
    assert not left_over.exists()
    assert cgroup_host.members() == [status.pid]  # a running node's group stays


def test_a_node_whose_group_cannot_be_made_runs_anyway(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "cgroup-v1"
    (root / "cpu").mkdir(parents=True)
    (root / "cpu" / "cpu.shares").write_text("1024\n")
    (root / "cpu" / "steward").write_text("in the way")
    harness.cgroup_root = root
    sup = harness.supervisor()
    with caplog.at_level(logging.WARNING, logger="steward.agent.cgroups"):
        status = harness.remember(sup.apply(spec(cpu_weight=100)))
        assert status.state == "starting" and alive(status.pid)
        assert harness.tick_until(sup, "b1", lambda s: s.state == "running").pid == status.pid
        sup.stop("b1")
    assert "b1 (pid" in caplog.text and "runs without its CPU weight 100" in caplog.text


def test_without_cgroups_a_weighted_node_runs_as_before(harness: Harness) -> None:
    sup = harness.supervisor()  # its cgroup root has no hierarchy
    assert not sup.cpu_groups.enforced
    status = harness.remember(sup.apply(spec(cpu_weight=400)))
    assert harness.tick_until(sup, "b1", lambda s: s.state == "running").pid == status.pid


def test_a_connect_worker_has_no_storage_and_trusts_its_clusters_ca(harness: Harness) -> None:
    sup = harness.supervisor()
    port = free_port()
    worker = NodeSpec(
        key="connect-0123abcd-0",
        kafka_version="4.3.1",
        role="connect",
        node_id=0,
        cluster_id="MkU3OEVBNTcwNTJENDM2Qg",
        directory_id="rK8_u1GNRGeYM9hzj2zYMQ",
        properties={
            "listeners": f"http://127.0.0.1:{port}",
            "fake.port": str(port),
            "security.protocol": "SSL",
            "ssl.truststore.type": "PEM",
            "consumer.ssl.truststore.type": "PEM",
        },
        heap_mb=256,
        tls_trusted_certificates="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    )
    harness.remember(sup.apply(worker))
    harness.tick_until(sup, worker.key, lambda s: s.state == "running")
    paths = sup.paths(worker.key)
    written = paths.properties.read_text()
    assert "log.dirs" not in written and "process.roles" not in written
    assert not paths.data.exists() or "meta.properties" not in os.listdir(paths.data)
    truststore = paths.tls / "truststore.pem"
    assert "BEGIN CERTIFICATE" in truststore.read_text()
    assert oct(truststore.stat().st_mode & 0o777) == "0o600"
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert f"{prefix}ssl.truststore.location={truststore}" in written
    assert "ssl.keystore.location" not in written
