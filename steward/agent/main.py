"""`python -m steward.agent`: run the host agent (HTTP API + node supervisor) in the foreground.

With `--tls-dir` (what the control plane and `steward agent join` give it) it serves HTTPS and
requires the control plane's client certificate (`steward.agent.mtls`); without, plain HTTP with
the bearer token of `--token-file`.

Exiting, by SIGTERM or SIGKILL alike, leaves every Kafka process running; the next agent on the
same state directory re-adopts them. Only one agent runs per state directory (a file lock).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import uvicorn

from steward import logs
from steward.agent.mtls import AgentTlsFiles, ServingTls
from steward.agent.server import build_app
from steward.agent.supervisor import NodeSupervisor
from steward.files import replace_file
from steward.settings import LOG_FORMAT_ENV, LOG_LEVEL_ENV

log = logging.getLogger("steward.agent")

PID_FILE = "agent.pid"
LOCK_FILE = "agent.lock"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m steward.agent", description=__doc__)
    parser.add_argument("--name", required=True, help="the agent's name, e.g. its zone: az-a")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9781)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--token-file", type=Path, help="a bearer token the control plane sends")
    parser.add_argument(
        "--tls-dir",
        type=Path,
        help="the agent's key, certificate and the agents CA (ca.pem, agent.pem, agent.key)",
    )
    parser.add_argument(
        "--san",
        action="append",
        default=[],
        help="a name the agent's certificate renewals ask for (repeatable; default: --host)",
    )
    parser.add_argument("--log-level", default=os.environ.get(LOG_LEVEL_ENV, "INFO"))
    parser.add_argument("--log-format", default=os.environ.get(LOG_FORMAT_ENV, "text"))
    args = parser.parse_args(argv)
    if args.token_file is None and args.tls_dir is None:
        parser.error("give --tls-dir, --token-file, or both")
    return args


def read_token(path: Path) -> str:
    token = path.read_text().strip()
    if not token:
        raise SystemExit(f"the token file {path} is empty")
    return token


def lock_state_dir(state_dir: Path) -> IO[str]:
    """Hold an exclusive lock on the state directory for the life of this process (the kernel
    drops it when the process dies, however it dies)."""
    handle = open(state_dir / LOCK_FILE, "a")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"another agent is running on {state_dir}") from None
    return handle


def write_pid_file(state_dir: Path) -> Path:
    path = state_dir / PID_FILE
    replace_file(path, f"{os.getpid()}\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logs.configure(
        args.log_level, args.log_format, [logging.StreamHandler()], f"agent[{args.name}]"
    )
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    token = read_token(args.token_file) if args.token_file is not None else None
    tls = ServingTls(AgentTlsFiles(args.tls_dir.resolve())) if args.tls_dir is not None else None
    lock = lock_state_dir(state_dir)
    pid_file = write_pid_file(state_dir)
    supervisor = NodeSupervisor(state_dir)
    supervisor.supervise_in_background()

    def shut_down() -> None:
        supervisor.shutdown()  # the Kafka processes keep running
        with contextlib.suppress(OSError):
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
        lock.close()
        log.info("agent %s stopped", args.name)

    app = build_app(
        supervisor,
        name=args.name,
        token=token,
        on_shutdown=shut_down,
        tls=tls,
        hosts=tuple(args.san or [args.host]),
    )
    scheme = "https" if tls is not None else "http"
    log.info(
        "agent %s on %s://%s:%d, state in %s", args.name, scheme, args.host, args.port, state_dir
    )
    # uvicorn handles SIGTERM/SIGINT: it stops serving, runs the app's shutdown, then exits.
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    config.load()
    if tls is not None:
        config.ssl = tls.context  # the one context served with: a renewal loads into it
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
