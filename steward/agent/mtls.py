"""Where the two ends of the agent API keep their TLS files, and how each end loads them.

An agent's files are in `<state dir>/tls/`: its key (made on its machine, never sent anywhere),
its certificate and the agents CA's certificate, which is also what client certificates must be
signed by. The control plane's are in `<home>/agent-tls/`: its client key and certificate and
the same CA. Every file is mode 0600 in a directory of mode 0700, replaced atomically, so a
reader never sees half a key.

A renewed agent certificate is installed while the agent serves (`ServingTls.install`): the new
files are written, then loaded into the very SSL context the server listens with, so new
connections get the new certificate and the nodes the agent supervises are not touched.
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from steward.crypto.agent_certificates import (
    agent_csr,
    client_context,
    matches_key,
    new_agent_key,
    server_context,
)
from steward.files import replace_file

AGENT_TLS_DIR = "tls"
CONTROL_PLANE_TLS_DIR = "agent-tls"
CA_FILE = "ca.pem"
AGENT_CERTIFICATE_FILE = "agent.pem"
AGENT_KEY_FILE = "agent.key"
PENDING_KEY_FILE = "agent.key.next"
"""The key a renewal is for, made with its CSR, until its certificate comes."""
CLIENT_CERTIFICATE_FILE = "client.pem"
CLIENT_KEY_FILE = "client.key"


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically, readable by its owner only from the first byte."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    replace_file(path, text.strip() + "\n", private=True)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class AgentTlsFiles:
    """An agent's TLS files, in `directory` (`<state dir>/tls`)."""

    directory: Path

    @classmethod
    def of_state_dir(cls, state_dir: Path) -> AgentTlsFiles:
        return cls(state_dir / AGENT_TLS_DIR)

    @property
    def ca(self) -> Path:
        return self.directory / CA_FILE

    @property
    def certificate(self) -> Path:
        return self.directory / AGENT_CERTIFICATE_FILE

    @property
    def key(self) -> Path:
        return self.directory / AGENT_KEY_FILE

    @property
    def pending_key(self) -> Path:
        return self.directory / PENDING_KEY_FILE

    def complete(self) -> bool:
        return all(p.exists() for p in (self.ca, self.certificate, self.key))

    def certificate_pem(self) -> str | None:
        return _read(self.certificate)

    def ensure_key(self) -> str:
        """The agent's key, made now when it has none yet."""
        found = _read(self.key)
        if found is None:
            found = new_agent_key()
            write_private(self.key, found)
        return found

    def request(self, name: str, hosts: list[str]) -> str:
        """A CSR for a new key, kept aside until its certificate is installed."""
        key = new_agent_key()
        write_private(self.pending_key, key)
        return agent_csr(key, name, hosts)

    def write(self, certificate_pem: str, ca_pem: str, key_pem: str | None = None) -> None:
        if key_pem is not None:
            write_private(self.key, key_pem)
        write_private(self.ca, ca_pem)
        write_private(self.certificate, certificate_pem)

    def install(self, certificate_pem: str, ca_pem: str) -> None:
        """Take a renewed certificate: for the pending key when it is that key's, else for the
        current one. ValueError when it is for neither."""
        pending = _read(self.pending_key)
        if pending is not None and matches_key(certificate_pem, pending):
            self.write(certificate_pem, ca_pem, pending)
            self.pending_key.unlink(missing_ok=True)
            return
        current = _read(self.key)
        if current is None or not matches_key(certificate_pem, current):
            raise ValueError("the certificate is not for this agent's key")
        self.write(certificate_pem, ca_pem)

    def server_context(self) -> ssl.SSLContext:
        return server_context(self.ca, self.certificate, self.key)


class ServingTls:
    """The SSL context an agent serves with, and the renewal of its certificate in place."""

    def __init__(self, files: AgentTlsFiles) -> None:
        self.files = files
        self.context = files.server_context()
        self._lock = threading.Lock()

    def install(self, certificate_pem: str, ca_pem: str) -> None:
        with self._lock:
            self.files.install(certificate_pem, ca_pem)
            self.context.load_cert_chain(self.files.certificate, self.files.key)
            self.context.load_verify_locations(cafile=self.files.ca)


@dataclass(frozen=True)
class ControlPlaneTlsFiles:
    """The control plane's client key and certificate and the agents CA, in `directory`
    (`<home>/agent-tls`): written by the server from the store, read by whatever drives agents
    from this home (the server, `steward chaos`, tests)."""

    directory: Path

    @classmethod
    def of_home(cls, home: Path) -> ControlPlaneTlsFiles:
        return cls(home / CONTROL_PLANE_TLS_DIR)

    @property
    def ca(self) -> Path:
        return self.directory / CA_FILE

    @property
    def certificate(self) -> Path:
        return self.directory / CLIENT_CERTIFICATE_FILE

    @property
    def key(self) -> Path:
        return self.directory / CLIENT_KEY_FILE

    def complete(self) -> bool:
        return all(p.exists() for p in (self.ca, self.certificate, self.key))

    def write(self, certificate_pem: str, key_pem: str, ca_pem: str) -> bool:
        """Write what differs (key before certificate, so the pair matches for a reader that
        comes after the certificate changed); whether anything did."""
        changed = False
        for path, text in (
            (self.ca, ca_pem),
            (self.key, key_pem),
            (self.certificate, certificate_pem),
        ):
            if _read(path) != text.strip() + "\n":
                write_private(path, text)
                changed = True
        return changed

    def stamp(self) -> tuple[int, ...] | None:
        """What changes when the files do (their modification times), or None without them."""
        try:
            return tuple(p.stat().st_mtime_ns for p in (self.ca, self.certificate, self.key))
        except FileNotFoundError:
            return None

    def client_context(self) -> ssl.SSLContext:
        return client_context(self.ca.read_text(), self.certificate, self.key)


class ClientTls:
    """The control plane's SSL context for agents, loaded from its files once and again after
    they change (a renewal), or None while there are none (agents then speak plain HTTP)."""

    def __init__(self, files: ControlPlaneTlsFiles) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext | None:
        stamp = self.files.stamp()
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._context = None if stamp is None else self.files.client_context()
                except (ssl.SSLError, OSError):
                    return self._context  # caught between the key and its certificate: next time
                self._stamp = stamp
            return self._context
