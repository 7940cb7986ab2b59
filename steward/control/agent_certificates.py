"""The renewal of the certificates of the agent API, a background task of the leader.

Each pass reads what is recorded and acts on what is due, nothing else: the control plane's
client certificate is renewed in the store once a third of its life is left and written to the
home (every server sharing the store renews or reads the same one, and every agent trusts it
through the CA); each registered host's agent whose certificate is due is asked, over the mutual
TLS it serves now, for a CSR of a new key it makes, and given the certificate signed for it,
which it serves from its next connection on without a restart (its nodes keep running). What the
agent answers it now serves is what gets recorded, so an agent that did not take its new
certificate is still due at the next pass. An agent that does not answer is tried again then.
"""

from __future__ import annotations

import logging
from pathlib import Path

from steward.agent.client import AgentError, AgentUnavailable
from steward.control.agents import AgentDirectory
from steward.crypto.client_ca import MalformedCsr
from steward.security.agent_authority import AgentAuthority, AgentCertificate

log = logging.getLogger(__name__)

AGENT_TIMEOUT = 15.0
"""Seconds each call to an agent about its certificate may take."""
LONGEST_INTERVAL = 3600.0


class AgentCertificateRenewal:
    def __init__(self, authority: AgentAuthority, agents: AgentDirectory, home: Path) -> None:
        self.authority = authority
        self.agents = agents
        self.home = home

    @property
    def interval(self) -> float:
        """Often enough to renew well within the third of a lifetime left when due."""
        return max(1.0, min(LONGEST_INTERVAL, self.authority.lifetime.total_seconds() / 12))

    def pass_once(self) -> None:
        if self.authority.write_control_plane_files(self.home):
            log.info("the control plane's client certificate for the agents is renewed")
        registered = {entry.name for entry in self.agents.hosts}
        for due in self.authority.due_for_renewal():
            if due.host not in registered:
                continue  # removed, or not registered yet
            try:
                self.renew(due)
            except (AgentUnavailable, AgentError, MalformedCsr) as error:
                log.warning(
                    "the certificate of host %s's agent is not renewed yet: %s", due.host, error
                )

    def renew(self, due: AgentCertificate) -> None:
        """Give the agent of `due.host` a new certificate for a new key of its own."""
        client = self.agents.client(due.host, timeout=AGENT_TIMEOUT)
        csr = client.certificate_request()
        certificate = self.authority.sign_agent(
            due.host, due.zone, due.address, due.port, csr, due.joined, record=False
        )
        served = client.install_certificate(certificate, self.authority.ca_certificate())
        self.authority.record(due.host, due.zone, due.address, due.port, served, due.joined)
        log.info("the certificate of host %s's agent is renewed", due.host)
