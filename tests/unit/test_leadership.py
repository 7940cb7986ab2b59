"""Control planes sharing one store agree on one leader by the store's lease, on SQLite and on
PostgreSQL: one takes it, the others see who has it; a clean stop hands it over at once, a dead
leader's lease runs out and another takes over; a leader that finds its lease taken steps down.
Writes given to a follower reach the leader, with the caller's signature headers unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.api.forwarding import ForwardWritesToLeader
from steward.control.leadership import CONTROL_PLANE_LEASE, Leadership
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.leases import Leases
from steward.store.store import Store
from tests.unit.serving import kafka_client, serving

ZONES = (Zone("az-a", "127.66.1"), Zone("az-b", "127.66.2"), Zone("az-c", "127.66.3"))


@pytest.fixture
def leases(store_url: str) -> Iterator[Leases]:
    store = Store(store_url)
    try:
        yield Leases(store.engine)
    finally:
        store.close()


def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_one_server_leads_and_the_others_know_where(leases: Leases) -> None:
    first = Leadership(leases, "first", "http://10.0.0.1:9780")
    second = Leadership(leases, "second", "http://10.0.0.2:9780")
    assert first.try_once()
    assert not second.try_once()
    assert first.is_leader() and not second.is_leader()
    role = second.role()
    assert (role.leader, role.leader_address, role.term) == (False, "http://10.0.0.1:9780", 1)
    assert first.try_once()  # a renewal keeps the term
    assert leases.current(CONTROL_PLANE_LEASE).term == 1  # type: ignore[union-attr]


def test_a_clean_stop_hands_the_lead_over_at_once(leases: Leases) -> None:
    elected: list[str] = []
    first = Leadership(leases, "first", "http://a", on_elected=lambda: elected.append("first"))
    second = Leadership(leases, "second", "http://b", on_elected=lambda: elected.append("second"))
    assert first.try_once()
    first.stop()
    assert second.try_once()
    assert elected == ["first", "second"]
    assert second.role().term == 2


def test_a_dead_leaders_lease_runs_out_and_it_steps_down_if_it_comes_back(
    leases: Leases,
) -> None:
    lost: list[str] = []
    first = Leadership(leases, "first", "http://a", seconds=0.5, on_lost=lambda: lost.append("x"))
    second = Leadership(leases, "second", "http://b", seconds=0.5)
    assert first.try_once()
    until(second.try_once)  # the first renews no more, as if killed
    assert not first.try_once()
    assert lost == ["x"]
    assert not first.is_leader() and second.is_leader()


def test_a_leader_that_cannot_renew_in_time_steps_down_by_itself(leases: Leases) -> None:
    lost: list[str] = []
    leader = Leadership(leases, "first", "http://a", seconds=0.6, on_lost=lambda: lost.append("x"))
    assert leader.try_once()
    leases.engine.dispose()

    def failing(*_: Any) -> None:
        raise OSError("the database is unreachable")

    leader.leases = type("Unreachable", (), {"acquire": failing, "current": failing})()  # type: ignore[assignment]
    leader.start()
    try:
        until(lambda: lost == ["x"])
        assert not leader.is_leader()
    finally:
        leader._stopping.set()


@pytest.fixture
def two_servers(store_url: str, tmp_path: Path) -> Iterator[tuple[str, str, list[Any]]]:
    """A leading and a following MSK API on one store; the URLs, and the forwarded-by header of
    every request the leader was given."""
    settings = Settings(home=tmp_path, zones=ZONES, database_url=store_url)
    leader_store, follower_store = Store(store_url), Store(store_url)
    leases = Leases(leader_store.engine)
    leading = Leadership(leases, "leader", "")
    following = Leadership(Leases(follower_store.engine), "follower", "")
    seen: list[Any] = []
    leader_app = build_app(
        ClusterService(settings, leader_store), AcceptAnyRequest(), leadership=leading
    )

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(dict(scope["headers"]).get(b"x-steward-forwarded-by"))
        await leader_app(scope, receive, send)

    follower_app = build_app(
        ClusterService(settings, follower_store), AcceptAnyRequest(), leadership=following
    )
    try:
        with serving(recorded) as leader_url, serving(follower_app) as follower_url:
            leading.address, following.address = leader_url, follower_url
            assert leading.try_once() and not following.try_once()
            yield leader_url, follower_url, seen
    finally:
        leader_store.close()
        follower_store.close()


def test_a_write_given_to_a_follower_is_done_by_the_leader(
    two_servers: tuple[str, str, list[Any]],
) -> None:
    leader_url, follower_url, seen = two_servers
    follower = kafka_client(follower_url)
    created = follower.create_cluster_v2(
        ClusterName="orders",
        Provisioned={
            "KafkaVersion": "4.3.1",
            "NumberOfBrokerNodes": 3,
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": ["az-a", "az-b", "az-c"],
            },
        },
    )
    assert seen == [follower_url.encode()]
    listed = follower.list_clusters_v2()["ClusterInfoList"]  # a read: the follower answers
    assert [c["ClusterArn"] for c in listed] == [created["ClusterArn"]]
    assert len(seen) == 1
    health = httpx.get(f"{follower_url}/healthz").json()
    assert (health["role"], health["leader"]) == ("follower", leader_url)
    assert httpx.get(f"{leader_url}/healthz").json()["role"] == "leader"


class NoLeader:
    address = "http://me"

    def is_leader(self) -> bool:
        return False

    def leader(self, max_age: float = 1.0) -> None:
        return None


def test_without_a_leader_a_write_is_answered_503_which_sdks_retry() -> None:
    async def ok(_: Request) -> JSONResponse:
        return JSONResponse({"done": True})

    app = Starlette(routes=[Route("/", ok, methods=["GET", "POST"])])
    wrapped = ForwardWritesToLeader(app, NoLeader(), wait_for_leader=0.2)
    with serving(wrapped) as url:
        assert httpx.get(url).json() == {"done": True}
        answer = httpx.post(url, content=b"{}")
        assert answer.status_code == 503
        assert answer.headers["x-amzn-errortype"] == "ServiceUnavailableException"
        again = httpx.post(url, headers={"x-steward-forwarded-by": "http://other"})
        assert again.status_code == 503


def test_servers_elect_a_leader_where_the_store_may_be_shared(tmp_path: Path) -> None:
    embedded = Settings(home=tmp_path, database_url=None)
    assert not embedded.elects_leader()  # the embedded SQLite: one server
    assert Settings(home=tmp_path, database_url="postgresql://s@db/s").elects_leader()
    assert Settings(home=tmp_path, database_url=None, leader_election="on").elects_leader()
    assert not Settings(
        home=tmp_path, database_url="postgresql://s@db/s", leader_election="off"
    ).elects_leader()
    with pytest.raises(ValueError, match="STEWARD_LEADER_ELECTION"):
        Settings(home=tmp_path, leader_election="maybe").elects_leader()
    local = Settings(home=tmp_path, api_host="127.0.0.1", api_port=9999)
    assert local.api_address == "http://127.0.0.1:9999"
    given = Settings(home=tmp_path, advertise_url="http://cp1:9780")
    assert given.api_address == "http://cp1:9780"
