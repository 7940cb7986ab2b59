"""Mutual TLS between the control plane and the agents: certificates of the store's agents CA,
an agent that serves HTTPS and takes only the control plane's client certificate, and the
renewal of an agent's certificate while it keeps running.

A real agent process (no Kafka) answers; plain httpx is the client nobody here wrote."""

from __future__ import annotations

import os
import signal
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import select

from steward.agent import launcher, processes
from steward.agent.client import AgentClient, AgentUnavailable
from steward.agent.mtls import AgentTlsFiles, ClientTls, ControlPlaneTlsFiles
from steward.crypto.agent_certificates import (
    agent_csr,
    fingerprint,
    is_due_for_renewal,
    issue_control_plane_certificate,
    make_agents_authority,
    new_agent_key,
    sign_agent_certificate,
)
from steward.crypto.client_ca import MalformedCsr
from steward.crypto.master_key import MasterKey
from steward.security.agent_authority import AgentAuthority
from steward.store import schema
from steward.store.store import Store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _usages(pem: str) -> list[x509.ObjectIdentifier]:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _names(pem: str) -> list[str]:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(n.value) for n in sans]


def test_an_agent_certificate_names_what_the_control_plane_decided_and_only_serves() -> None:
    ca = make_agents_authority()
    csr = agent_csr(new_agent_key(), "intruder", ["10.9.9.9", "bank.example"])
    certificate = sign_agent_certificate(ca, csr, "host-1", ["10.0.0.7", "host-1"])
    issued = x509.load_pem_x509_certificate(certificate.encode())
    authority = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    issued.verify_directly_issued_by(authority)
    assert _names(certificate) == ["10.0.0.7", "host-1"]
    assert _usages(certificate) == [ExtendedKeyUsageOID.SERVER_AUTH]
    client = issue_control_plane_certificate(ca)
    assert _usages(client.certificate_pem) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert len(fingerprint(certificate).split(":")) == 32
    with pytest.raises(MalformedCsr):
        sign_agent_certificate(ca, "not a CSR", "host-1", ["10.0.0.7"])


def test_a_certificate_is_due_for_renewal_with_a_third_of_its_life_left() -> None:
    ca = make_agents_authority()
    now = datetime.now(UTC)
    csr = agent_csr(new_agent_key(), "h", ["h"])
    certificate = sign_agent_certificate(ca, csr, "h", ["h"], timedelta(hours=3), now)
    assert not is_due_for_renewal(certificate, now + timedelta(hours=1))
    assert is_due_for_renewal(certificate, now + timedelta(hours=2, minutes=5))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'steward.db'}")
    yield store
    store.close()


def test_the_agents_ca_is_made_once_per_store_and_its_key_is_sealed(
    store: Store, tmp_path: Path
) -> None:
    master_key = MasterKey.load_or_create(tmp_path)
    first = AgentAuthority(store.engine, master_key).authority()
    assert AgentAuthority(store.engine, master_key).authority() == first
    with store.engine.connect() as conn:
        sealed = conn.execute(select(schema.agent_credentials.c.sealed_key)).scalars().all()
    assert sealed and all(b"PRIVATE KEY" not in bytes(s) for s in sealed)


def test_the_control_plane_certificate_is_renewed_when_due(store: Store, tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    authority = AgentAuthority(
        store.engine, MasterKey.load_or_create(tmp_path), timedelta(hours=3), lambda: now[0]
    )
    first = authority.control_plane_identity()
    assert authority.control_plane_identity() == first
    assert authority.write_control_plane_files(tmp_path)
    assert not authority.write_control_plane_files(tmp_path)
    now[0] += timedelta(hours=2, minutes=10)
    renewed = authority.control_plane_identity()
    assert renewed.certificate_pem != first.certificate_pem
    assert authority.write_control_plane_files(tmp_path)
    files = ControlPlaneTlsFiles.of_home(tmp_path)
    assert files.certificate.read_text().strip() == renewed.certificate_pem.strip()
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"


def _served_certificate(port: int) -> str:
    """The certificate the agent serves (no client certificate: the handshake is cut after)."""
    return ssl.get_server_certificate(("127.0.0.1", port))


@pytest.fixture
def tls_agent(store: Store, tmp_path: Path) -> Iterator[tuple[AgentAuthority, Path, int, int]]:
    """A real agent with TLS files from the store's CA, the way the control plane starts one."""
    authority = AgentAuthority(store.engine, MasterKey.load_or_create(tmp_path / "home"))
    home = tmp_path / "home"
    authority.write_control_plane_files(home)
    state_dir, port = tmp_path / "az-a", free_port()
    authority.ensure_local_agent("az-a", "az-a", "127.0.0.1", port, state_dir)
    context = ClientTls(ControlPlaneTlsFiles.of_home(home)).context()
    pid = launcher.ensure_agent(
        "az-a",
        "127.0.0.1",
        port,
        state_dir,
        None,
        tls_dir=AgentTlsFiles.of_state_dir(state_dir).directory,
        ssl_context=context,
    )
    try:
        yield authority, home, port, pid
    finally:
        launcher.stop_agent(state_dir)
        if processes.is_same_process(pid, None):
            os.kill(pid, signal.SIGKILL)


def test_the_agent_takes_only_the_control_plane_certificate(
    tls_agent: tuple[AgentAuthority, Path, int, int], tmp_path: Path
) -> None:
    _, home, port, pid = tls_agent
    context = ClientTls(ControlPlaneTlsFiles.of_home(home)).context()
    client = AgentClient(f"https://127.0.0.1:{port}", None, timeout=10, ssl_context=context)
    assert client.health()["pid"] == pid
    assert client.nodes() == []
    assert oct((tmp_path / "az-a" / "tls" / "agent.key").stat().st_mode & 0o777) == "0o600"

    with pytest.raises(httpx.HTTPError):  # no client certificate: refused in the handshake
        httpx.get(f"https://127.0.0.1:{port}/v1/nodes", verify=False, timeout=10).raise_for_status()
    with pytest.raises(httpx.HTTPError):  # plain HTTP: no answer
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=10).raise_for_status()

    # An agent's own certificate is for serving only: it cannot drive another agent.
    agent_files = AgentTlsFiles.of_state_dir(tmp_path / "az-a")
    as_agent = ssl.create_default_context(cafile=agent_files.ca)
    as_agent.load_cert_chain(agent_files.certificate, agent_files.key)
    with pytest.raises(AgentUnavailable):
        AgentClient(f"https://127.0.0.1:{port}", None, 10, as_agent).nodes()

    # A certificate of another CA is refused too.
    stranger = tmp_path / "stranger"
    AgentAuthority(
        Store(f"sqlite:///{tmp_path / 'other.db'}").engine, MasterKey.load_or_create(stranger)
    ).write_control_plane_files(stranger)
    own_ca = ControlPlaneTlsFiles.of_home(home).ca.read_text()
    foreign = ssl.create_default_context(cadata=own_ca)
    foreign_files = ControlPlaneTlsFiles.of_home(stranger)
    foreign.load_cert_chain(foreign_files.certificate, foreign_files.key)
    with pytest.raises(AgentUnavailable):
        AgentClient(f"https://127.0.0.1:{port}", None, 10, foreign).nodes()


def test_a_renewed_certificate_is_served_without_restarting_the_agent(
    tls_agent: tuple[AgentAuthority, Path, int, int],
) -> None:
    authority, home, port, pid = tls_agent
    context = ClientTls(ControlPlaneTlsFiles.of_home(home)).context()
    client = AgentClient(f"https://127.0.0.1:{port}", None, timeout=10, ssl_context=context)
    before = _served_certificate(port)
    csr = client.certificate_request()
    certificate = authority.sign_agent("az-a", "az-a", "127.0.0.1", port, csr, joined=False)
    installed = client.install_certificate(certificate, authority.ca_certificate())
    assert installed.strip() == certificate.strip()
    after = _served_certificate(port)
    assert fingerprint(after) == fingerprint(certificate) != fingerprint(before)
    assert client.health()["pid"] == pid
    with pytest.raises(Exception, match="not for this agent's key"):
        other = sign_agent_certificate(
            authority.authority(), agent_csr(new_agent_key(), "x", ["x"]), "x", ["127.0.0.1"]
        )
        client.install_certificate(other, authority.ca_certificate())


def test_an_agent_serving_plain_http_is_restarted_with_tls(store: Store, tmp_path: Path) -> None:
    token_file = tmp_path / "agent-token"
    token_file.write_text("t0ken\n")
    state_dir, port = tmp_path / "az-a", free_port()
    plain = launcher.ensure_agent("az-a", "127.0.0.1", port, state_dir, token_file)
    try:
        authority = AgentAuthority(store.engine, MasterKey.load_or_create(tmp_path / "home"))
        authority.write_control_plane_files(tmp_path / "home")
        authority.ensure_local_agent("az-a", "az-a", "127.0.0.1", port, state_dir)
        context = ClientTls(ControlPlaneTlsFiles.of_home(tmp_path / "home")).context()
        pid = launcher.ensure_agent(
            "az-a",
            "127.0.0.1",
            port,
            state_dir,
            None,
            tls_dir=state_dir / "tls",
            ssl_context=context,
        )
        assert pid != plain
        assert launcher.agent_health("127.0.0.1", port, ssl_context=context) is not None
    finally:
        launcher.stop_agent(state_dir)


def test_the_renewal_task_renews_what_is_due_and_the_agent_keeps_running(
    tls_agent: tuple[AgentAuthority, Path, int, int], tmp_path: Path
) -> None:
    from steward.control.agent_certificates import AgentCertificateRenewal
    from steward.control.agents import AgentDirectory
    from steward.settings import Settings, Zone

    authority, home, port, pid = tls_agent
    settings = Settings(home=home, zones=(Zone("az-a", "127.0.0"),), agent_port=port)
    agents = AgentDirectory(settings)
    renewal = AgentCertificateRenewal(authority, agents, home)
    before = _served_certificate(port)
    renewal.pass_once()  # nothing is due: nothing changes
    assert fingerprint(_served_certificate(port)) == fingerprint(before)

    # what is recorded for the agent: a certificate issued 70 of its 90 days ago, now due
    issued_long_ago = sign_agent_certificate(
        authority.authority(),
        agent_csr(new_agent_key(), "az-a", ["127.0.0.1"]),
        "az-a",
        ["127.0.0.1", "az-a"],
        timedelta(days=90),
        datetime.now(UTC) - timedelta(days=70),
    )
    authority.record("az-a", "az-a", "127.0.0.1", port, issued_long_ago, joined=False)
    # the embedded host of these settings listens on 127.0.0.254; this agent on 127.0.0.1
    agents.url = lambda agent: f"https://127.0.0.1:{port}"  # type: ignore[method-assign]
    renewal.pass_once()
    after = _served_certificate(port)
    assert fingerprint(after) != fingerprint(before)
    recorded = authority.certificate_of("az-a")
    assert recorded is not None and fingerprint(recorded.certificate_pem) == fingerprint(after)
    context = ClientTls(ControlPlaneTlsFiles.of_home(home)).context()
    client = AgentClient(f"https://127.0.0.1:{port}", None, timeout=10, ssl_context=context)
    assert client.health()["pid"] == pid  # the same agent, serving its new certificate
    renewal.pass_once()  # nothing is due any more
    assert fingerprint(_served_certificate(port)) == fingerprint(after)


def test_the_directory_speaks_https_once_the_home_has_the_control_plane_certificate(
    store: Store, tmp_path: Path
) -> None:
    from steward.control.agents import AgentDirectory
    from steward.settings import Settings, Zone

    home = tmp_path / "home"
    agents = AgentDirectory(Settings(home=home, zones=(Zone("az-a", "127.93.1"),)))
    assert agents.url("az-a") == "http://127.93.1.254:9781"
    assert agents.client("az-a").token == agents.token
    AgentAuthority(store.engine, MasterKey.load_or_create(home)).write_control_plane_files(home)
    assert agents.url("az-a") == "https://127.93.1.254:9781"
    client = agents.client("az-a")
    assert client.token is None and client.ssl_context is not None


def test_a_short_lived_certificate_is_not_due_at_once() -> None:
    ca = make_agents_authority()
    now = datetime.now(UTC)
    csr = agent_csr(new_agent_key(), "h", ["h"])
    certificate = sign_agent_certificate(ca, csr, "h", ["h"], timedelta(seconds=120), now)
    assert not is_due_for_renewal(certificate, now + timedelta(seconds=60))
    assert is_due_for_renewal(certificate, now + timedelta(seconds=90))
