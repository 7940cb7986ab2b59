"""How the health monitor names what is wrong with a cluster's nodes."""

from __future__ import annotations

import socket
import threading

from steward.agent.spec import NodeStatus
from steward.control.diagnosis import Diagnostician, NodeObservation
from steward.domain.health import Finding
from steward.domain.model import NodeRole
from steward.kafka import probe

BROKER = NodeRole.BROKER


def running(node_id: int = 1, started_at: float = 100.0, **kw: object) -> NodeObservation:
    status = NodeStatus(key=f"n{node_id}", state="running", pid=4242, started_at=started_at)
    return NodeObservation(node_id, BROKER, "az-a", True, status, **kw)  # type: ignore[arg-type]


def with_state(state: str, node_id: int = 1, **kw: object) -> NodeObservation:
    status = NodeStatus(key=f"n{node_id}", state=state, started_at=100.0, **kw)  # type: ignore[arg-type]
    return NodeObservation(node_id, BROKER, "az-a", True, status)


def test_a_healthy_cluster_has_no_findings() -> None:
    doctor = Diagnostician()
    for now in range(10):
        assert doctor.assess([running(1, answers=True), running(2, answers=True)], now) == []


def test_an_exited_process_is_a_crash_with_its_exit_code() -> None:
    doctor = Diagnostician()
    [finding] = doctor.assess([with_state("crashed", message="b1 exited", last_exit_code=137)], 0)
    assert (finding.kind, finding.node_id, finding.agent) == ("crashed", 1, "az-a")
    assert "exit code 137" in finding.reason


def test_a_node_its_agent_restarted_between_two_looks_counts_as_crashed_until_repaired() -> None:
    doctor = Diagnostician()
    assert doctor.assess([running(started_at=100.0, answers=True)], 0) == []
    [finding] = doctor.assess([running(started_at=150.0, answers=True)], 1)
    assert finding.kind == "crashed"
    assert "started it again" in finding.reason
    # remembered until a repair takes it, even though the node looks fine now
    assert doctor.assess([running(started_at=150.0, answers=True)], 2) == [finding]
    doctor.repairing([finding])
    assert doctor.assess([running(started_at=150.0, answers=True)], 3) == []


def test_the_first_look_at_a_node_sets_its_start_time_without_a_finding() -> None:
    assert Diagnostician().assess([running(started_at=12345.0, answers=True)], 0) == []


def test_a_running_node_that_stops_answering_is_hung_after_the_grace_time() -> None:
    doctor = Diagnostician(hung_after=3.0)
    assert doctor.assess([running(answers=False)], 10.0) == []
    assert doctor.assess([running(answers=False)], 12.0) == []
    [finding] = doctor.assess([running(answers=False)], 13.0)
    assert finding.kind == "hung"
    # one answer resets the clock
    assert doctor.assess([running(answers=True)], 14.0) == []
    assert doctor.assess([running(answers=False)], 15.0) == []


def test_a_starting_node_is_not_hung() -> None:
    doctor = Diagnostician(hung_after=1.0)
    for now in range(5):
        assert doctor.assess([with_state("starting")], float(now)) == []


def test_a_silent_agent_is_reported_once_for_its_zone_after_the_grace_time() -> None:
    doctor = Diagnostician(agent_lost_after=2.0)
    silent = [
        NodeObservation(1, BROKER, "az-b", False, None),
        NodeObservation(1001, NodeRole.CONTROLLER, "az-b", False, None),
    ]
    assert doctor.assess(silent, 0.0) == []
    [finding] = doctor.assess(silent, 2.5)
    assert (finding.kind, finding.agent, finding.node_id) == ("agent_unreachable", "az-b", None)


def test_stopped_failed_and_lost_nodes() -> None:
    doctor = Diagnostician()
    lost = NodeObservation(3, BROKER, "az-c", True, None)
    found = doctor.assess(
        [with_state("stopped", node_id=1), with_state("failed", node_id=2), lost], 0
    )
    assert [(f.kind, f.node_id) for f in found] == [("lost", 3), ("failed", 2), ("stopped", 1)]


def test_nodes_under_repair_are_watched_but_not_reported() -> None:
    doctor = Diagnostician()
    doctor.assess([running(started_at=100.0, answers=True)], 0)
    assert doctor.assess([with_state("crashed")], 1, excluded={1}) == []
    assert doctor.assess([running(started_at=200.0, answers=True)], 2, excluded={1}) == []
    assert doctor.assess([running(started_at=200.0, answers=True)], 3) == []


def test_findings_survive_a_round_trip_through_json() -> None:
    finding = Finding("hung", "az-a", "broker 2: silent", 2, BROKER)
    assert Finding.from_json(finding.to_json()) == finding
    agent = Finding("agent_unreachable", "az-b", "silent")
    assert Finding.from_json(agent.to_json()) == agent


def test_the_probe_tells_an_answering_listener_from_a_silent_one() -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers (like SIGSTOP)
    answering = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = answering.accept()
        with conn:
            request = conn.recv(1024)
            correlation_id = request[8:12]
            conn.sendall(b"\x00\x00\x00\x06" + correlation_id + b"\x00\x00")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        assert probe.answers("127.0.0.1", answering.getsockname()[1], timeout=2.0)
        assert not probe.answers("127.0.0.1", silent.getsockname()[1], timeout=0.3)
        closed = socket.create_server(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        assert not probe.answers("127.0.0.1", port, timeout=0.3)
    finally:
        thread.join(2)
        silent.close()
        answering.close()


def test_a_running_node_without_its_data_directory_has_lost_its_data() -> None:
    status = NodeStatus(key="n1", state="running", pid=7, started_at=1.0, data_missing=True)
    [finding] = Diagnostician().assess([NodeObservation(1, BROKER, "az-a", True, status)], 0)
    assert finding.kind == "data_lost"


def test_an_answering_broker_out_of_the_live_brokers_for_long_is_fenced() -> None:
    doctor = Diagnostician(fenced_after=20.0)
    others = frozenset({2, 3})
    assert doctor.assess([running(answers=True)], 0.0, serving=others) == []
    assert doctor.assess([running(answers=True)], 19.0, serving=others) == []
    [finding] = doctor.assess([running(answers=True)], 20.0, serving=others)
    assert finding.kind == "fenced"
    # back among the live brokers: the clock starts again
    assert doctor.assess([running(answers=True)], 21.0, serving=frozenset({1, 2, 3})) == []
    assert doctor.assess([running(answers=True)], 22.0, serving=others) == []
    # Kafka could not tell: no finding either way
    assert doctor.assess([running(answers=True)], 60.0, serving=None) == []


GIB = 1024**3


def with_volume(size: int, used: int) -> NodeObservation:
    status = NodeStatus(
        key="n1", state="running", pid=4242, started_at=100.0,
        volume_size_bytes=size, volume_used_bytes=used,
    )  # fmt: skip
    return NodeObservation(1, BROKER, "az-a", True, status, answers=True)


def test_a_broker_whose_volume_is_nearly_full_has_a_full_disk() -> None:
    doctor = Diagnostician(disk_full_at=90.0)
    assert doctor.assess([with_volume(10 * GIB, 8 * GIB)], 0) == []
    full = with_volume(10 * GIB, int(9.5 * GIB))
    [finding] = doctor.assess([full], 1)
    assert finding.kind == "disk_full"
    assert "95% full (9.50 of 10.00 GiB)" in finding.reason


def test_a_full_disk_is_named_rather_than_the_crashes_it_causes() -> None:
    stopped_by_kafka = with_state(
        "failed", message="gave up", volume_size_bytes=GIB, volume_used_bytes=GIB
    )
    [finding] = Diagnostician().assess([stopped_by_kafka], 0)
    assert finding.kind == "disk_full"


def test_a_broker_without_a_volume_of_its_own_never_has_a_full_disk() -> None:
    assert Diagnostician().assess([running(answers=True)], 0) == []
