"""Serving an ASGI app on a free loopback port for the length of a test, and the fixtures of
modules that test Steward's API app signed with an access key of its store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
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


def signed_client(service_name: str, url: str, key: Any, region: str = "us-east-1") -> Any:
    """A boto3 client of `service_name` at `url` that signs with Steward access key `key`."""
    import boto3

    return boto3.client(
        service_name,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )


AppExtras = Callable[[Path, Any], AbstractContextManager[dict[str, Any]]]
"""What a module serves besides the MSK API: from the home and the store, `build_app`'s keyword
arguments (say `functions=`), made on entering and closed on leaving."""


@contextmanager
def _no_extras(home: Path, store: Any) -> Iterator[dict[str, Any]]:
    yield {}


def signed_endpoint_fixtures(
    home_name: str,
    zones: tuple[Any, ...],
    *,
    extras: AppExtras = _no_extras,
    key_name: str = "tests",
) -> tuple[Any, Any, Any, Any]:
    """The module-scoped fixtures of a module that talks to the real API app with SigV4 on:
    `home` (a temporary directory named after `home_name`), `store` (the home's store), `key`
    (an access key named `key_name` in it) and `endpoint` (the app's URL, serving the MSK API
    and what `extras` adds, checking signatures against the store's keys). A module takes them as

        home, store, key, endpoint = signed_endpoint_fixtures("lambda", ZONES)

    and asks for whichever it needs by name."""
    import pytest

    from steward.api.app import build_app
    from steward.api.auth.keys import create_access_key
    from steward.api.auth.verifier import SigV4Verifier
    from steward.control.service import ClusterService
    from steward.settings import Settings
    from steward.store.store import Store

    @pytest.fixture(scope="module")
    def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return tmp_path_factory.mktemp(home_name)

    @pytest.fixture(scope="module")
    def store(home: Path) -> Iterator[Store]:
        opened = Store(Settings(home=home, zones=zones).db_url)
        yield opened
        opened.close()

    @pytest.fixture(scope="module")
    def key(store: Store) -> Any:
        return create_access_key(store.access_keys, key_name)

    @pytest.fixture(scope="module")
    def endpoint(home: Path, store: Store) -> Iterator[str]:
        settings = Settings(home=home, zones=zones)
        service = ClusterService(settings, store)
        verifier = SigV4Verifier(settings.region, store.access_keys.secret_of)
        with extras(home, store) as more, serving(build_app(service, verifier, **more)) as url:
            yield url

    return home, store, key, endpoint
