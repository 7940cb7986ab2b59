"""Starting and stopping local agents for the embedded default (one per zone on this machine).

An agent is started detached (its own session, output to `<state_dir>/agent.log`), so it outlives
whoever started it. Stopping an agent never stops its Kafka processes. The agent of a zone with a
network namespace is started inside it (`nsenter`, which execs the agent: its pid stays the one
Popen reports), and its Kafka processes inherit the namespace.

An agent given TLS files serves HTTPS with client certificates (`steward.agent.mtls`); its health
is then asked over the same mutual TLS, with the control plane's client context. An agent that
still serves plain HTTP where TLS is now wanted (one started by an earlier Steward) is restarted
with its files: its Kafka processes keep running and the new agent adopts them.
"""

from __future__ import annotations

import itertools
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

import steward
from steward.agent import processes
from steward.agent.main import PID_FILE
from steward.network.zones import namespace_command

LOG_FILE = "agent.log"
POWERED_OFF_FILE = "powered-off"
"""A file in an agent's state directory that says its host is powered off: the agent is not
started (fault tests use it to make a host of this machine stay dead, as a broken machine does)."""


class AgentStartError(Exception):
    pass


_children: dict[int, subprocess.Popen[bytes]] = {}
"""Agents this process spawned, kept so that they are reaped (no zombies) once they exit."""


def agent_health(
    host: str, port: int, timeout: float = 1.0, ssl_context: ssl.SSLContext | None = None
) -> dict[str, Any] | None:
    """What the agent at host:port says about itself, or None when nothing answers (over mutual
    TLS with `ssl_context`, else plain HTTP)."""
    scheme = "https" if ssl_context is not None else "http"
    try:
        response = httpx.get(
            f"{scheme}://{_url_host(host)}:{port}/v1/health",
            timeout=timeout,
            verify=ssl_context if ssl_context is not None else True,
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    data = response.json()
    return data if isinstance(data, dict) else None


def agent_pid(state_dir: Path) -> int | None:
    """The pid of the live agent process of `state_dir` (from its pid file), if there is one."""
    _reap_children()
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    cmdline = processes.read_cmdline(pid) or []
    is_agent = "steward.agent" in cmdline and str(state_dir.resolve()) in cmdline
    if is_agent and processes.is_same_process(pid, None):
        return pid
    return None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def agent_command(
    name: str,
    host: str,
    port: int,
    state_dir: Path,
    token_file: Path | None,
    tls_dir: Path | None = None,
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "steward.agent",
        "--name",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--state-dir",
        str(state_dir.resolve()),
    ]
    if token_file is not None:
        command += ["--token-file", str(token_file.resolve())]
    if tls_dir is not None:
        command += ["--tls-dir", str(tls_dir.resolve()), "--san", host, "--san", name]
    return command


def ensure_agent(
    name: str,
    host: str,
    port: int,
    state_dir: Path,
    token_file: Path | None,
    timeout: float = 15.0,
    namespace: str | None = None,
    tls_dir: Path | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> int:
    """The pid of the agent `name` at host:port, started first if it does not answer: inside the
    network namespace `namespace` when there is one; with the TLS files of `tls_dir` when given
    (its health then asked with the client context `ssl_context`)."""
    tls = tls_dir is not None and ssl_context is not None
    context = ssl_context if tls else None
    health = agent_health(host, port, ssl_context=context)
    if health is not None:
        return _check_identity(health, name, host, port)
    if tls and agent_health(host, port) is not None:
        stop_agent(state_dir)  # plain HTTP where TLS is wanted: start it again with its files
    if powered_off(state_dir):
        raise AgentStartError(f"host {name} is powered off ({state_dir / POWERED_OFF_FILE})")
    state_dir.mkdir(parents=True, exist_ok=True)
    process: subprocess.Popen[bytes] | None = None
    running = agent_pid(state_dir)
    if running is None:
        command = agent_command(name, host, port, state_dir, token_file, tls_dir if tls else None)
        process = _spawn(command, state_dir, namespace)
    elif _listen_address(running) != (host, port):
        where = "{}:{}".format(*_listen_address(running))
        raise AgentStartError(f"the agent of {state_dir} already runs (pid {running}) on {where}")
    # else it is still starting: wait for it
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = agent_health(host, port, timeout=0.5, ssl_context=context)
        if health is not None:
            return _check_identity(health, name, host, port)
        if process is not None and process.poll() is not None:
            raise AgentStartError(
                f"agent {name} exited with code {process.returncode}:\n{_log_tail(state_dir)}"
            )
        time.sleep(0.1)
    raise AgentStartError(
        f"agent {name} did not answer at {host}:{port} within {timeout:.0f} s:\n"
        f"{_log_tail(state_dir)}"
    )


def powered_off(state_dir: Path) -> bool:
    """Whether the host of the agent of `state_dir` is powered off (see POWERED_OFF_FILE)."""
    return (state_dir / POWERED_OFF_FILE).exists()


def set_powered_off(state_dir: Path, off: bool) -> None:
    """Power the host of `state_dir` off (its agent is no longer started) or on again."""
    marker = state_dir / POWERED_OFF_FILE
    if off:
        state_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text("powered off by a fault test\n")
    else:
        marker.unlink(missing_ok=True)


def stop_agent(state_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the agent of `state_dir` (SIGTERM, then SIGKILL). Its Kafka processes keep running.
    False when no agent was running."""
    pid = agent_pid(state_dir)
    if pid is None:
        return False
    stat = processes.read_stat(pid)
    ticks = stat.start_ticks if stat else None
    os.kill(pid, signal.SIGTERM)
    if not _wait_for_exit(pid, ticks, timeout):
        os.kill(pid, signal.SIGKILL)
        _wait_for_exit(pid, ticks, 5.0)
    return True


def _spawn(
    command: list[str], state_dir: Path, namespace: str | None = None
) -> subprocess.Popen[bytes]:
    # The agent runs the same Steward code as its starter, installed or not.
    if namespace is not None:
        command = [*namespace_command(namespace), *command]
    source_root = str(Path(steward.__file__).resolve().parent.parent)
    python_path = os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH")) if p)
    with open(state_dir / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=state_dir,
            env={**os.environ, "PYTHONPATH": python_path},
            start_new_session=True,
        )
    _children[process.pid] = process
    return process


def _check_identity(health: dict[str, Any], name: str, host: str, port: int) -> int:
    if health.get("name") != name:
        raise AgentStartError(
            f"{host}:{port} is taken by agent {health.get('name')!r}, not {name!r}"
        )
    return int(health["pid"])


def _listen_address(pid: int) -> tuple[str, int]:
    """Where the agent `pid` listens, from its command line (`--host H --port P`)."""
    args = processes.read_cmdline(pid) or []
    options = dict(itertools.pairwise(args))
    return options.get("--host", "127.0.0.1"), int(options.get("--port", "9781"))


def _wait_for_exit(pid: int, start_ticks: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap_children()
        if not processes.is_same_process(pid, start_ticks):
            return True
        time.sleep(0.05)
    return False


def _reap_children() -> None:
    for pid, process in list(_children.items()):
        if process.poll() is not None:
            del _children[pid]


def _log_tail(state_dir: Path, lines: int = 20) -> str:
    try:
        text = (state_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
