"""A machine joins a Steward as a host: a network namespace stands for the other machine (its own
address, no shared loopback), `steward agent join` there exchanges a single-use token and a CSR
for a certificate of the Steward's agents CA, and its agent then serves only mutual TLS: the
control plane drives it, curl and httpx without the control plane's certificate are refused, the
token does not work twice, and the agent's certificate is renewed while it keeps running.

Skipped where this process may not make network namespaces."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from steward.agent.launcher import agent_health
from steward.agent.mtls import ClientTls, ControlPlaneTlsFiles
from steward.crypto.agent_certificates import fingerprint
from steward.network.zones import (
    ZoneNetwork,
    namespace_command,
    namespaces_supported,
    run_in_namespace,
)
from tests.integration.harness import ZONES, Steward

pytestmark = pytest.mark.integration

STEWARD_CLI = Path(sys.executable).parent / "steward"
MACHINE = "machine"
"""The joining machine's network namespace, laid out as a fourth zone of the Steward's network."""
AGENT_PORT = 9781
LIFETIME = 120
"""Seconds the agent certificates live here, so that one is renewed within the test."""


@pytest.fixture(autouse=True)
def _needs_namespaces() -> None:
    if not namespaces_supported():
        pytest.skip("this process may not make network namespaces")


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"),
        zone_network="netns",
        extra_env={
            "STEWARD_API_HOST": "0.0.0.0",  # reached from the machine's namespace too
            "STEWARD_AGENT_CERTIFICATE_LIFETIME": str(LIFETIME),
        },
    )
    instance.start(timeout=120)
    yield instance
    instance.cleanup()  # the namespaces of its octet too, the machine's among them


@pytest.fixture(scope="module")
def machine(steward: Steward) -> ZoneNetwork:
    """The machine's namespace, bridged to the Steward's network at an address of its own."""
    network = ZoneNetwork(steward.octet, [*ZONES, MACHINE])
    network.ensure()
    return network


def cli(
    steward: Steward, *args: str, namespace: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(STEWARD_CLI), *args]
    if namespace is not None:
        command = [*namespace_command(namespace), *command]
    return subprocess.run(command, env=steward.env, capture_output=True, text=True, timeout=300)


def new_token(steward: Steward) -> str:
    made = cli(steward, "--output", "json", "host", "join-token", "create", "--zone", "az-b")
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["token"])


def control_plane_context(steward: Steward) -> ssl.SSLContext:
    context = ClientTls(ControlPlaneTlsFiles.of_home(steward.home)).context()
    assert context is not None, "the server wrote no client certificate for the agents"
    return context


@pytest.fixture(scope="module")
def joined(steward: Steward, machine: ZoneNetwork) -> Iterator[dict[str, Any]]:
    """The machine joined as host `rack-1` of az-b: its agent runs in its namespace."""
    link = machine.zone(MACHINE)
    control_plane = f"http://{machine.bridge_address}:{steward.api_port}"
    state_dir = steward.home / "machine-agent"
    token = new_token(steward)
    log = (steward.home / "machine-agent.out").open("ab")
    agent = subprocess.Popen(
        [
            *namespace_command(link.namespace),
            str(STEWARD_CLI),
            "agent",
            "join",
            "--control-plane",
            control_plane,
            "--token",
            token,
            "--zone",
            "az-b",
            "--name",
            "rack-1",
            "--state-dir",
            str(state_dir),
            "--port",
            str(AGENT_PORT),
        ],
        env=steward.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        context = control_plane_context(steward)
        wait_for(
            lambda: agent_health(link.address, AGENT_PORT, 2.0, context),
            120,
            "the joined agent did not answer over mutual TLS",
        )
        yield {
            "address": link.address,
            "namespace": link.namespace,
            "token": token,
            "control_plane": control_plane,
            "state_dir": state_dir,
            "pid": agent.pid,
        }
    finally:
        with_group = os.getpgid(agent.pid) if agent.poll() is None else None
        if with_group is not None:
            os.killpg(with_group, signal.SIGTERM)
        try:
            agent.wait(15)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(5)


def test_the_joined_host_is_registered_with_its_own_address(
    steward: Steward, joined: dict[str, Any]
) -> None:
    with steward.http() as http:
        listed = http.get("/steward/v1/hosts")
    assert listed.status_code == 200, listed.text
    hosts = {h["hostName"]: h for h in listed.json()["hosts"]}
    rack = hosts["rack-1"]
    assert rack["zone"] == "az-b" and rack["origin"] == "joined"
    assert rack["agentAddress"] == f"https://{joined['address']}:{AGENT_PORT}"
    assert rack["capacity"]["cores"] >= 1 and rack["capacity"]["memoryBytes"] > 0
    files = joined["state_dir"] / "tls"
    assert {p.name for p in files.iterdir()} >= {"agent.key", "agent.pem", "ca.pem"}
    assert oct((files / "agent.key").stat().st_mode & 0o777) == "0o600"


def test_the_control_plane_drives_it_over_mutual_tls(
    steward: Steward, joined: dict[str, Any]
) -> None:
    context = control_plane_context(steward)
    url = f"https://{joined['address']}:{AGENT_PORT}"
    answer = httpx.get(f"{url}/v1/nodes", verify=context, timeout=30)
    assert answer.status_code == 200 and answer.json() == []
    assert httpx.get(f"{url}/v1/health", verify=context, timeout=30).json()["name"] == "rack-1"


def test_a_client_without_the_control_plane_certificate_is_refused(
    steward: Steward, joined: dict[str, Any]
) -> None:
    url = f"https://{joined['address']}:{AGENT_PORT}/v1/nodes"
    curl = subprocess.run(
        ["curl", "--silent", "--show-error", "--insecure", "--max-time", "20", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert curl.returncode != 0 and not curl.stdout
    ca = str(ControlPlaneTlsFiles.of_home(steward.home).ca)
    with pytest.raises(httpx.HTTPError):  # the agent's certificate checks out; ours is missing
        httpx.get(url, verify=ssl.create_default_context(cafile=ca), timeout=20)
    plain = f"http://{joined['address']}:{AGENT_PORT}/v1/nodes"
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain, timeout=20).raise_for_status()


def test_a_used_token_is_refused_and_registers_nothing(
    steward: Steward, joined: dict[str, Any]
) -> None:
    again = cli(
        steward,
        "agent", "join",
        "--control-plane", joined["control_plane"],
        "--token", joined["token"],
        "--zone", "az-b",
        "--name", "rack-2",
        "--state-dir", str(steward.home / "second-agent"),
        "--no-run",
        namespace=joined["namespace"],
    )  # fmt: skip
    assert again.returncode != 0
    assert "already used (by host rack-1" in again.stderr
    with steward.http() as http:
        listed = http.get("/steward/v1/hosts").json()["hosts"]
    assert "rack-2" not in {h["hostName"] for h in listed}


def test_the_agent_certificate_is_renewed_while_it_runs(
    steward: Steward, joined: dict[str, Any]
) -> None:
    address = joined["address"]
    context = control_plane_context(steward)
    before = agent_health(address, AGENT_PORT, 10.0, context)
    assert before is not None
    first = run_in_namespace(
        joined["namespace"], lambda: ssl.get_server_certificate((address, AGENT_PORT))
    )
    renewed = wait_for(
        lambda: (
            served
            if fingerprint(served := ssl.get_server_certificate((address, AGENT_PORT)))
            != fingerprint(first)
            else None
        ),
        LIFETIME * 2,
        "the joined agent's certificate was not renewed",
    )
    health = agent_health(address, AGENT_PORT, 10.0, control_plane_context(steward))
    assert health is not None and health["pid"] == before["pid"]  # no restart
    written = (joined["state_dir"] / "tls" / "agent.pem").read_text()
    assert fingerprint(written) == fingerprint(renewed)
