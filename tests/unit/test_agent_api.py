"""The agent's HTTP API and its client: bearer-token auth, node routes, clear errors.

A real agent process (no Kafka) answers the client; its nodes are a Python stand-in, so nothing
here needs a JVM.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from steward.agent import launcher, processes
from steward.agent.client import AgentClient, AgentError, AgentUnavailable
from steward.agent.server import build_app
from steward.agent.spec import NodeSpec
from steward.agent.supervisor import NodePaths, NodeSupervisor, SupervisionPolicy

TOKEN = "s3cret-token"


def stand_in(spec: NodeSpec, paths: NodePaths) -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(3600)", str(paths.properties)]


def spec_body(key: str = "b1") -> dict[str, object]:
    return NodeSpec(
        key=key,
        kafka_version="4.3.1",
        role="broker",
        node_id=1,
        cluster_id="MkU3OEVBNTcwNTJENDM2Qg",
        directory_id="rK8_u1GNRGeYM9hzj2zYMQ",
        properties={},
        heap_mb=256,
    ).to_dict()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    supervisor = NodeSupervisor(
        tmp_path, policy=SupervisionPolicy(stop_timeout=5), command=stand_in
    )
    with TestClient(build_app(supervisor, name="az-a", token=TOKEN)) as client:
        yield client
    for status in supervisor.statuses():
        supervisor.remove(status.key)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_health_needs_no_token(api: TestClient) -> None:
    health = api.get("/v1/health").json()
    assert health["name"] == "az-a" and health["pid"] == os.getpid() and health["version"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nodes"),
        ("GET", "/v1/nodes/b1"),
        ("PUT", "/v1/nodes/b1"),
        ("POST", "/v1/nodes/b1/stop"),
        ("POST", "/v1/nodes/b1/restart"),
        ("DELETE", "/v1/nodes/b1"),
    ],
)
def test_every_node_route_needs_the_token(
    api: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = api.request(method, path, headers=headers, json=spec_body())
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def without_cpu(status: dict[str, object]) -> dict[str, object]:
    """A node's status minus its CPU time, which grows between two reads."""
    return {key: value for key, value in status.items() if key != "cpu_seconds"}


def test_put_runs_the_node_and_the_routes_report_it(api: TestClient) -> None:
    applied = api.put("/v1/nodes/b1", json=spec_body(), headers=AUTH)
    assert applied.status_code == 200, applied.text
    status = applied.json()
    assert status["state"] == "starting" and status["pid"]
    assert [without_cpu(n) for n in api.get("/v1/nodes", headers=AUTH).json()] == [
        without_cpu(status)
    ]
    assert without_cpu(api.get("/v1/nodes/b1", headers=AUTH).json()) == without_cpu(status)
    stopped = api.post("/v1/nodes/b1/stop", params={"timeout": 5}, headers=AUTH).json()
    assert stopped["state"] == "stopped" and stopped["pid"] is None
    started = api.post("/v1/nodes/b1/start", headers=AUTH).json()
    restarted = api.post("/v1/nodes/b1/restart", headers=AUTH).json()
    assert restarted["pid"] not in (None, started["pid"])
    assert api.delete("/v1/nodes/b1", headers=AUTH).json() == {"key": "b1", "removed": True}
    assert api.delete("/v1/nodes/b1", headers=AUTH).json() == {"key": "b1", "removed": False}


def test_unknown_nodes_are_404(api: TestClient) -> None:
    assert api.get("/v1/nodes/nope", headers=AUTH).status_code == 404
    assert api.post("/v1/nodes/nope/stop", headers=AUTH).status_code == 404


def test_invalid_specs_are_422_with_the_reason(api: TestClient) -> None:
    bad = {**spec_body(), "cluster_id": "short"}
    response = api.put("/v1/nodes/b1", json=bad, headers=AUTH)
    assert response.status_code == 422 and "cluster_id" in response.json()["detail"]
    other_key = api.put("/v1/nodes/b2", json=spec_body("b1"), headers=AUTH)
    assert other_key.status_code == 422
    assert api.put("/v1/nodes/b1", json=[1], headers=AUTH).status_code == 422


# --- a real agent process, through the launcher and the client ---------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "agent-token"
    path.write_text(TOKEN + "\n")
    return path


def test_client_says_clearly_when_no_agent_answers() -> None:
    client = AgentClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2)
    with pytest.raises(AgentUnavailable, match=re.escape("agent at http://127.0.0.1")):
        client.nodes()


def test_launcher_starts_one_detached_agent_and_stops_it(tmp_path: Path, token_file: Path) -> None:
    state_dir, port = tmp_path / "az-a", free_port()
    pid = launcher.ensure_agent("az-a", "127.0.0.1", port, state_dir, token_file)
    try:
        assert os.getpgid(pid) == pid  # its own session: it outlives whoever started it
        assert (state_dir / "agent.pid").read_text().strip() == str(pid)
        assert launcher.ensure_agent("az-a", "127.0.0.1", port, state_dir, token_file) == pid
        with pytest.raises(launcher.AgentStartError, match="taken by agent 'az-a'"):
            launcher.ensure_agent("az-b", "127.0.0.1", port, tmp_path / "az-b", token_file)

        client = AgentClient(f"http://127.0.0.1:{port}", TOKEN)
        assert client.health()["pid"] == pid
        assert client.nodes() == [] and client.node("b1") is None
        with pytest.raises(AgentError) as error:
            AgentClient(f"http://127.0.0.1:{port}", "wrong").nodes()
        assert error.value.status_code == 401
        assert client.remove("b1") is False

        assert launcher.stop_agent(state_dir)
        assert not processes.is_same_process(pid, None)
        assert not (state_dir / "agent.pid").exists()
        assert not launcher.stop_agent(state_dir)
    finally:
        if processes.is_same_process(pid, None):
            os.kill(pid, signal.SIGKILL)


def test_a_second_agent_on_the_same_state_dir_refuses_to_run(
    tmp_path: Path, token_file: Path
) -> None:
    state_dir, port = tmp_path / "az-a", free_port()
    pid = launcher.ensure_agent("az-a", "127.0.0.1", port, state_dir, token_file)
    try:
        running_elsewhere = re.escape(f"already runs (pid {pid}) on 127.0.0.1:{port}")
        with pytest.raises(launcher.AgentStartError, match=running_elsewhere):
            launcher.ensure_agent("az-a", "127.0.0.1", free_port(), state_dir, token_file)
    finally:
        launcher.stop_agent(state_dir)
        deadline = time.monotonic() + 5
        while processes.is_same_process(pid, None) and time.monotonic() < deadline:
            time.sleep(0.05)
