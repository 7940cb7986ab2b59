"""Machines that join with a single-use token: `steward host join-token create` over the signed
route, `steward agent join` over the open one, and every refusal a user can meet (a used token,
an expired one, one for another zone, an unknown one), none of which registers a host."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from sqlalchemy import select

from steward.api.app import build_app
from steward.api.auth.keys import NewAccessKey, create_access_key
from steward.api.auth.verifier import SigV4Verifier
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store import schema
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.91.1"), Zone("az-b", "127.91.2"), Zone("az-c", "127.91.3"))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ClusterService]:
    settings = Settings(home=tmp_path / "home", zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    yield service
    service.store.close()


@pytest.fixture
def key(service: ClusterService) -> NewAccessKey:
    return create_access_key(service.store.access_keys, "operator")


@pytest.fixture
def endpoint(service: ClusterService) -> Iterator[str]:
    verifier = SigV4Verifier(service.settings.region, service.store.access_keys.secret_of)
    with serving(build_app(service, verifier)) as url:
        yield url


def steward(endpoint: str, key: NewAccessKey, *args: str) -> Any:
    env = {
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return CliRunner().invoke(cli, ["--endpoint-url", endpoint, *args], env=env)


def new_token(endpoint: str, key: NewAccessKey, *args: str) -> dict[str, Any]:
    result = steward(endpoint, key, "host", "join-token", "create", "-o", "json", *args)
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def agent_join(endpoint: str, state_dir: Path, token: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "agent",
            "join",
            "--control-plane",
            endpoint,
            "--token",
            token,
            "--state-dir",
            str(state_dir),
            "--address",
            "127.91.9.1",
            "--no-run",
            *args,
        ],
    )


def test_a_machine_joins_once_with_its_token(
    service: ClusterService, endpoint: str, key: NewAccessKey, tmp_path: Path
) -> None:
    token = new_token(endpoint, key, "--zone", "az-b", "--expires-in", "30m")
    assert token["zone"] == "az-b" and token["tokenId"].startswith("jt-")

    state_dir = tmp_path / "machine"
    joined = agent_join(endpoint, state_dir, token["token"], "--zone", "az-b", "--name", "rack7")
    assert joined.exit_code == 0, joined.output
    assert "--tls-dir" in joined.stdout and "Joined as host rack7 of zone az-b" in joined.output

    tls = state_dir / "tls"
    certificate = x509.load_pem_x509_certificate((tls / "agent.pem").read_bytes())
    authority = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
    certificate.verify_directly_issued_by(authority)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["127.91.9.1", "rack7"]
    assert oct((tls / "agent.key").stat().st_mode & 0o777) == "0o600"
    recorded = service.agent_authority.certificate_of("rack7")
    assert recorded is not None and recorded.joined and recorded.zone == "az-b"
    host = service.hosts.get("rack7")
    assert host.zone == "az-b" and host.agent_url == "https://127.91.9.1:9781"
    assert host.node_addresses == ("127.91.9.1",) and host.capacity.cores >= 1
    record = json.loads((state_dir / "join.json").read_text())
    assert record["control_plane_fingerprint"].count(":") == 31

    again = agent_join(
        endpoint, tmp_path / "other", token["token"], "--zone", "az-b", "--name", "r8"
    )
    assert again.exit_code != 0
    assert "ForbiddenException" in again.output and "already used (by host rack7" in again.output
    assert service.agent_authority.certificate_of("r8") is None
    assert [h.name for h in service.hosts.list()] == ["rack7"]

    listed = steward(endpoint, key, "host", "join-token", "list", "-o", "json")
    [only] = json.loads(listed.stdout)["joinTokens"]
    assert only["usedBy"] == "rack7" and "token" not in only


def test_only_the_hash_of_a_token_is_stored(
    service: ClusterService, endpoint: str, key: NewAccessKey
) -> None:
    token = new_token(endpoint, key)["token"]
    with service.store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(schema.join_tokens))]
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    secret = token.split(".", 1)[1]
    assert all(secret not in str(value) for value in rows[0].values())


def test_an_expired_token_is_refused_and_registers_nothing(
    service: ClusterService, endpoint: str, key: NewAccessKey, tmp_path: Path
) -> None:
    token = new_token(endpoint, key, "--expires-in", "10m")["token"]
    service.host_joins.clock = lambda: datetime.now(UTC) + timedelta(minutes=11)
    refused = agent_join(endpoint, tmp_path / "m", token, "--zone", "az-a", "--name", "late")
    assert refused.exit_code != 0 and "expired at" in refused.output
    assert service.agent_authority.certificate_of("late") is None
    assert service.hosts.list() == []
    assert not (tmp_path / "m" / "tls" / "agent.pem").exists()


def test_a_token_for_another_zone_or_an_unknown_one_is_refused(
    service: ClusterService, endpoint: str, key: NewAccessKey, tmp_path: Path
) -> None:
    token = new_token(endpoint, key, "--zone", "az-a")["token"]
    other_zone = agent_join(endpoint, tmp_path / "m", token, "--zone", "az-c", "--name", "h1")
    assert other_zone.exit_code != 0 and "is for zone az-a, not az-c" in other_zone.output
    unknown = agent_join(endpoint, tmp_path / "m", "jt-0.nope", "--zone", "az-a", "--name", "h1")
    assert unknown.exit_code != 0 and "UnauthorizedException" in unknown.output
    # the token was not burnt by the refusal: it still joins its own zone
    fine = agent_join(endpoint, tmp_path / "m", token, "--zone", "az-a", "--name", "h1")
    assert fine.exit_code == 0, fine.output


def test_a_host_name_taken_is_refused_and_the_token_kept(
    service: ClusterService, endpoint: str, key: NewAccessKey, tmp_path: Path
) -> None:
    token = new_token(endpoint, key)["token"]
    taken = agent_join(endpoint, tmp_path / "m", token, "--zone", "az-a", "--name", "az-b")
    assert taken.exit_code != 0 and "ConflictException" in taken.output
    assert (
        agent_join(endpoint, tmp_path / "m", token, "--zone", "az-a", "--name", "h2").exit_code == 0
    )


def test_join_tokens_need_a_signed_request_and_the_join_does_not(
    service: ClusterService, endpoint: str
) -> None:
    unsigned = httpx.post(f"{endpoint}/steward/v1/host-join-tokens", json={}, timeout=10)
    assert unsigned.status_code in (401, 403)
    join = httpx.post(f"{endpoint}/steward/v1/host-joins", json={"token": "x"}, timeout=10)
    assert join.status_code == 400  # reached the route: the body is incomplete
    assert join.headers["x-amzn-ErrorType"] == "BadRequestException"


def test_a_token_lives_at_most_a_week(endpoint: str, key: NewAccessKey) -> None:
    result = steward(endpoint, key, "host", "join-token", "create", "--expires-in", "8d")
    assert result.exit_code != 0 and "7 days" in result.output
