"""The agents CA of a Steward store and the certificates it signs for the agent API.

The CA is made once per store, by whichever server first needs it, its key sealed by the master
key like every other key Steward keeps; every server sharing the store signs with the same CA, so
an agent trusts any of them. The control plane's client certificate is kept the same way (every
server presents the same one) and is renewed before it runs out; each server writes it to its
home (`steward.agent.mtls.ControlPlaneTlsFiles`) for whatever drives agents from there.

The certificate each agent was given is recorded with where the agent listens: the renewal task
(`steward.control.agent_certificates`) works from that table. An embedded agent's key is made
here, on the machine it runs on, and written straight into its state directory; a joined agent's
key never leaves its machine: only its CSR is signed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.agent.mtls import AgentTlsFiles, ControlPlaneTlsFiles
from steward.crypto.agent_certificates import (
    DEFAULT_LIFETIME,
    agent_csr,
    is_due_for_renewal,
    issue_control_plane_certificate,
    make_agents_authority,
    not_after,
    sign_agent_certificate,
)
from steward.crypto.certificates import KeyAndCertificate
from steward.crypto.master_key import MasterKey
from steward.store import schema
from steward.store.codec import aware

CA = "ca"
CONTROL_PLANE = "control-plane"
_credentials = schema.agent_credentials.c
_certificates = schema.agent_certificates.c


@dataclass(frozen=True)
class AgentCertificate:
    """The certificate an agent was last given, and where it listens."""

    host: str
    zone: str
    address: str
    port: int
    certificate_pem: str
    not_after: datetime
    joined: bool

    @property
    def hosts(self) -> list[str]:
        """The names its certificate is for: its address and its host name."""
        return list(dict.fromkeys([self.address, self.host]))


class AgentAuthority:
    def __init__(
        self,
        engine: Engine,
        master_key: MasterKey,
        lifetime: timedelta = DEFAULT_LIFETIME,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.master_key = master_key
        self.lifetime = lifetime
        """How long the agents' and the control plane's certificates are valid."""
        self.clock = clock
        self._lock = threading.Lock()

    def authority(self) -> KeyAndCertificate:
        """The agents CA, made on first use."""
        with self._lock:
            found = self._read(CA)
            if found is None:
                found = self._insert(CA, make_agents_authority(self.clock()))
            return found

    def ca_certificate(self) -> str:
        return self.authority().certificate_pem

    def control_plane_identity(self) -> KeyAndCertificate:
        """The control plane's client key and certificate, made on first use and renewed once a
        third of its lifetime is left."""
        ca = self.authority()
        with self._lock:
            found = self._read(CONTROL_PLANE)
            if found is None:
                return self._insert(CONTROL_PLANE, self._new_identity(ca))
            if not is_due_for_renewal(found.certificate_pem, self.clock()):
                return found
            renewed = self._new_identity(ca)
            with self.engine.begin() as conn:
                result = conn.execute(
                    update(schema.agent_credentials)
                    .where(
                        _credentials.name == CONTROL_PLANE,
                        _credentials.certificate_pem == found.certificate_pem,
                    )
                    .values(
                        certificate_pem=renewed.certificate_pem,
                        sealed_key=self._seal(CONTROL_PLANE, renewed.key_pem),
                        creation_time=self.clock(),
                    )
                )
            if result.rowcount == 1:
                return renewed
            again = self._read(CONTROL_PLANE)  # another server renewed it first
            assert again is not None
            return again

    def write_control_plane_files(self, home: Path) -> bool:
        """The control plane's credentials into `<home>/agent-tls`; whether they changed."""
        identity = self.control_plane_identity()
        files = ControlPlaneTlsFiles.of_home(home)
        return files.write(identity.certificate_pem, identity.key_pem, self.ca_certificate())

    def sign_agent(
        self,
        host: str,
        zone: str,
        address: str,
        port: int,
        csr_pem: str,
        joined: bool,
        record: bool = True,
    ) -> str:
        """Sign the agent's CSR for its address and host name, and record the certificate
        (unless `record` is False: a renewal records it once the agent has it). MalformedCsr
        when the CSR is not a valid one."""
        names = list(dict.fromkeys([address, host]))
        ca = self.authority()
        certificate = sign_agent_certificate(ca, csr_pem, host, names, self.lifetime, self.clock())
        if record:
            self.record(host, zone, address, port, certificate, joined)
        return certificate

    def record(
        self, host: str, zone: str, address: str, port: int, certificate_pem: str, joined: bool
    ) -> None:
        """Record the certificate agent `host` serves with."""
        self._record(
            AgentCertificate(
                host, zone, address, port, certificate_pem, not_after(certificate_pem), joined
            )
        )

    def ensure_local_agent(
        self, host: str, zone: str, address: str, port: int, state_dir: Path
    ) -> None:
        """An embedded agent's key, certificate and CA in its state directory, made or renewed
        here (on its machine) when missing, for another address, or due for renewal."""
        files = AgentTlsFiles.of_state_dir(state_dir)
        ca_pem = self.ca_certificate()
        current = files.certificate_pem()
        recorded = self.certificate_of(host)
        fresh = (
            files.complete()
            and current is not None
            and recorded is not None
            and recorded.certificate_pem == current
            and recorded.address == address
            and recorded.port == port
            and files.ca.read_text().strip() == ca_pem.strip()
            and not is_due_for_renewal(current, self.clock())
        )
        if fresh:
            return
        key = files.ensure_key()
        certificate = self.sign_agent(
            host, zone, address, port, agent_csr(key, host, [address, host]), joined=False
        )
        files.write(certificate, ca_pem)

    def certificate_of(self, host: str) -> AgentCertificate | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.agent_certificates).where(_certificates.host == host)
            ).first()
        return None if row is None else _agent_certificate(row._mapping)

    def agent_certificates(self) -> list[AgentCertificate]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.agent_certificates).order_by(_certificates.host))
            return [_agent_certificate(row._mapping) for row in rows]

    def due_for_renewal(self) -> list[AgentCertificate]:
        now = self.clock()
        return [c for c in self.agent_certificates() if is_due_for_renewal(c.certificate_pem, now)]

    def forget(self, host: str) -> None:
        """A host removed: its certificate is no longer renewed."""
        with self.engine.begin() as conn:
            conn.execute(delete(schema.agent_certificates).where(_certificates.host == host))

    def _record(self, certificate: AgentCertificate) -> None:
        values = {
            "zone": certificate.zone,
            "address": certificate.address,
            "port": certificate.port,
            "certificate_pem": certificate.certificate_pem,
            "not_after": certificate.not_after,
            "issue_time": self.clock(),
            "joined": certificate.joined,
        }
        with self.engine.begin() as conn:
            updated = conn.execute(
                update(schema.agent_certificates)
                .where(_certificates.host == certificate.host)
                .values(**values)
            )
            if updated.rowcount == 0:
                conn.execute(
                    insert(schema.agent_certificates).values(host=certificate.host, **values)
                )

    def _new_identity(self, ca: KeyAndCertificate) -> KeyAndCertificate:
        return issue_control_plane_certificate(ca, self.lifetime, self.clock())

    def _seal(self, name: str, key_pem: str) -> bytes:
        return self.master_key.seal(key_pem.encode(), f"agent-credential/{name}")

    def _insert(self, name: str, made: KeyAndCertificate) -> KeyAndCertificate:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.agent_credentials).values(
                        name=name,
                        certificate_pem=made.certificate_pem,
                        sealed_key=self._seal(name, made.key_pem),
                        creation_time=self.clock(),
                    )
                )
        except IntegrityError:  # another server made it first: theirs counts
            pass
        found = self._read(name)
        assert found is not None
        return found

    def _read(self, name: str) -> KeyAndCertificate | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_credentials.certificate_pem, _credentials.sealed_key).where(
                    _credentials.name == name
                )
            ).first()
        if row is None:
            return None
        key = self.master_key.open(bytes(row[1]), f"agent-credential/{name}").decode()
        return KeyAndCertificate(str(row[0]), key)


def _agent_certificate(row: object) -> AgentCertificate:
    values = dict(row)  # type: ignore[call-overload]
    moment = aware(values["not_after"])
    assert moment is not None
    return AgentCertificate(
        host=values["host"],
        zone=values["zone"],
        address=values["address"],
        port=int(values["port"]),
        certificate_pem=values["certificate_pem"],
        not_after=moment,
        joined=bool(values["joined"]),
    )
