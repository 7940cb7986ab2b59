"""Serving an ASGI app on a free loopback port for the length of a test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by uvicorn in a thread; its base URL. The server stops on leaving."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def kafka_client(url: str) -> Any:
    """A boto3 `kafka` client of the Steward API at `url` (any credentials pass the tests' app)."""
    import boto3

    return boto3.client(
        "kafka",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@contextmanager
def serving_msk(service: Any) -> Iterator[Any]:
    """The MSK API of `service` served, with no authentication; a boto3 `kafka` client of it."""
    from steward.api.app import build_app
    from steward.api.auth.guard import AcceptAnyRequest

    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield kafka_client(url)
