"""Machines that join as hosts: single-use join tokens, and the exchange that turns a token, a
machine's description and its CSR into a registered host with a certificate.

A token is 32 random bytes behind a public id (`jt-…`); the store keeps only its SHA-256, so a
copy of the store lets nobody join. It expires (an hour by default) and is burnt by the first
join that presents it, atomically: the same token presented twice, even to two servers at once,
registers one host. Every refusal says why (unknown, already used, expired, for another zone)
and registers nothing.

The joining machine keeps its key: it sends a CSR, and the control plane signs it for the
address and name the join gives, whatever the CSR asks for (`steward.crypto.agent_certificates`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from steward.control.host_registry import HostRegistry
from steward.crypto.agent_certificates import fingerprint
from steward.crypto.client_ca import MalformedCsr, load_csr
from steward.domain.errors import (
    BadRequestException,
    ConflictException,
    ForbiddenException,
    UnauthorizedException,
)
from steward.domain.hosts import Capacity, HostOrigin, HostRecord, HostState
from steward.security.agent_authority import AgentAuthority
from steward.store.join_tokens import JoinTokenRecord, JoinTokenRecords

log = logging.getLogger(__name__)

DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)
MAX_TOKEN_LIFETIME = timedelta(days=7)
TOKEN_ID_PREFIX = "jt-"
HOST_NAME_MAX = 63


@dataclass(frozen=True)
class JoinRequest:
    token: str
    name: str
    zone: str
    address: str
    """Where the control plane reaches the host's agent (its certificate names it)."""
    agent_port: int
    capacity: Capacity
    csr_pem: str = field(repr=False)
    node_addresses: tuple[str, ...] = ()
    """The addresses the host's nodes may listen on, one node each (default: `address`)."""


@dataclass(frozen=True)
class JoinAnswer:
    host: HostRecord
    certificate_pem: str
    """The agent's serving certificate."""
    ca_certificate_pem: str
    """The agents CA: what the agent's client certificates must be signed by."""
    control_plane_fingerprint: str
    """The SHA-256 fingerprint of the control plane's client certificate now."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


class HostJoins:
    def __init__(
        self,
        tokens: JoinTokenRecords,
        authority: AgentAuthority,
        registry: HostRegistry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tokens = tokens
        self.authority = authority
        self.registry = registry
        self.clock = clock

    def create_token(
        self, zone: str | None = None, expires_in: timedelta = DEFAULT_TOKEN_LIFETIME
    ) -> tuple[str, JoinTokenRecord]:
        """A new token (shown once, never stored) and its record."""
        if zone is not None:
            self._check_zone(zone, "zone")
        if not timedelta(seconds=1) <= expires_in <= MAX_TOKEN_LIFETIME:
            raise BadRequestException(
                f"A join token expires within 1 second to {MAX_TOKEN_LIFETIME.days} days.",
                "expiresIn",
            )
        token_id = TOKEN_ID_PREFIX + secrets.token_hex(6)
        token = f"{token_id}.{secrets.token_urlsafe(32)}"
        now = self.clock()
        record = JoinTokenRecord(token_id, zone, now, now + expires_in, None, None)
        self.tokens.add(record, token_hash(token))
        return token, record

    def list_tokens(self) -> list[JoinTokenRecord]:
        return self.tokens.list()

    def join(self, request: JoinRequest) -> JoinAnswer:
        """Burn the token, register the host, sign its CSR."""
        hashed = token_hash(request.token)
        self._check_token(self.tokens.find(hashed), request.zone)
        self._check_request(request)
        if not self.tokens.burn(hashed, request.name, self.clock()):
            self._check_token(self.tokens.find(hashed), request.zone)  # says why
            raise ForbiddenException("The join token was used by another host just now.")
        try:
            certificate = self.authority.sign_agent(
                request.name,
                request.zone,
                request.address,
                request.agent_port,
                request.csr_pem,
                joined=True,
            )
            host = self.registry.register(
                request.name,
                request.zone,
                f"https://{_url_host(request.address)}:{request.agent_port}",
                request.capacity,
                node_addresses=request.node_addresses or (request.address,),
                origin=HostOrigin.JOINED,
            )
        except BaseException:
            self.tokens.restore(hashed, request.name)
            self.authority.forget(request.name)
            raise
        log.info(
            "host %s joined zone %s at %s:%d (%g cores, %d bytes of memory, %d disks)",
            host.name,
            host.zone,
            request.address,
            request.agent_port,
            host.capacity.cores,
            host.capacity.memory_bytes,
            len(host.capacity.disks),
        )
        identity = self.authority.control_plane_identity()
        return JoinAnswer(
            host,
            certificate,
            self.authority.ca_certificate(),
            fingerprint(identity.certificate_pem),
        )

    def _check_token(self, record: JoinTokenRecord | None, zone: str) -> None:
        if record is None:
            raise UnauthorizedException("The join token is not valid.", "token")
        if record.used_at is not None:
            raise ForbiddenException(
                f"The join token {record.token_id} was already used (by host {record.used_by} at "
                f"{record.used_at.isoformat()}); create another with "
                "`steward host join-token create`.",
                "token",
            )
        if record.expires_at <= self.clock():
            raise ForbiddenException(
                f"The join token {record.token_id} expired at {record.expires_at.isoformat()}; "
                "create another with `steward host join-token create`.",
                "token",
            )
        if record.zone is not None and record.zone != zone:
            raise ForbiddenException(
                f"The join token {record.token_id} is for zone {record.zone}, not {zone}.", "zone"
            )

    def _check_request(self, request: JoinRequest) -> None:
        self._check_zone(request.zone, "zone")
        name = request.name
        valid = name.replace("-", "").replace(".", "").isalnum() and name[:1].isalnum()
        if not valid or len(name) > HOST_NAME_MAX:
            raise BadRequestException(
                f"A host name is 1 to {HOST_NAME_MAX} letters, digits, '-' and '.', "
                f"starting with a letter or digit: {name!r}.",
                "name",
            )
        if not request.address:
            raise BadRequestException("The joining host needs an address.", "address")
        if not 1 <= request.agent_port <= 65535:
            raise BadRequestException("The agent port is 1 to 65535.", "agentPort")
        if request.capacity.cores <= 0 or request.capacity.memory_bytes < 1:
            raise BadRequestException("The host's capacity needs its cores and memory.", "capacity")
        existing = self.registry.records.get(name)
        embedded = {h.name for h in self.registry.settings.hosts}
        if name in embedded or (existing is not None and existing.state is not HostState.REMOVED):
            raise ConflictException(
                f"A host named {name} exists already; remove it first or join with another name.",
                "name",
            )
        try:
            load_csr(request.csr_pem.encode())
        except MalformedCsr as error:
            raise BadRequestException(str(error), "csr") from error

    def _check_zone(self, zone: str, parameter: str) -> None:
        zones = [z.name for z in self.registry.settings.zones]
        if zone not in zones:
            raise BadRequestException(
                f"There is no zone {zone!r}; the zones are {', '.join(sorted(zones))}.",
                parameter,
            )


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
