"""A node's TLS key store and trust store: PEM files in the node's directory, which Kafka reads
with `ssl.keystore.type=PEM` and `ssl.truststore.type=PEM` from the locations that
`steward.kafka.launch` names.

The private key reaches the agent inside the node's spec and lands only in the key store file
(mode 0600, in a directory of mode 0700): never on a command line, in `server.properties`, in
the stored spec or in a log.
"""

from __future__ import annotations

import os
from pathlib import Path

from steward.agent.spec import NodeSpec
from steward.files import replace_file
from steward.kafka.connect_worker import trust_store_locations, uses_trust_store
from steward.kafka.launch import client_trust_locations, store_locations, uses_pem_stores

KEYSTORE_FILE = "keystore.pem"
TRUSTSTORE_FILE = "truststore.pem"
CLIENT_TRUSTSTORE_FILE = "client-truststore.pem"
REVOCATION_LISTS_FILE = "revocation-lists.pem"


def uses_tls(spec: NodeSpec) -> bool:
    """The node has a listener (or talks to one) that needs its key store and trust store."""
    return uses_pem_stores(spec.properties)


def write_tls_files(spec: NodeSpec, directory: Path) -> dict[str, str]:
    """Write the spec's key and certificates into `directory` (when the spec carries them; a spec
    read back from disk does not, and the files written earlier stay), and return the properties
    that point Kafka at them. Nothing for a node without TLS."""
    if not uses_tls(spec):
        return {}
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    keystore, truststore = directory / KEYSTORE_FILE, directory / TRUSTSTORE_FILE
    if spec.tls_key is not None and spec.tls_certificate_chain is not None:
        _write_private(keystore, spec.tls_key.strip() + "\n" + spec.tls_certificate_chain.strip())
    if spec.tls_trusted_certificates is not None:
        _write_private(truststore, spec.tls_trusted_certificates.strip())
    locations = store_locations(keystore, truststore)
    if spec.client_certificate_authorities:
        locations.update(_write_client_trust(spec, directory))
    return locations


def write_worker_trust(spec: NodeSpec, directory: Path) -> dict[str, str]:
    """A Connect worker that reaches its cluster over TLS: the cluster's CA as the trust store
    of each of the worker's clients (it has no key store: it authenticates as no one)."""
    if not uses_trust_store(spec.properties):
        return {}
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    truststore = directory / TRUSTSTORE_FILE
    if spec.tls_trusted_certificates is not None:
        _write_private(truststore, spec.tls_trusted_certificates.strip())
    return trust_store_locations(truststore)


def _write_client_trust(spec: NodeSpec, directory: Path) -> dict[str, str]:
    """The CLIENT_TLS listener's trust store (the clients' CAs) and their revocation lists. An
    empty list file until the control plane sends the lists: nothing revoked yet is known."""
    truststore = directory / CLIENT_TRUSTSTORE_FILE
    lists = directory / REVOCATION_LISTS_FILE
    if spec.client_trusted_certificates is not None:
        _write_private(truststore, spec.client_trusted_certificates.strip())
    if spec.revocation_lists is not None:
        if not lists.exists() or lists.read_text() != spec.revocation_lists.strip() + "\n":
            _write_private(lists, spec.revocation_lists.strip())
    elif not lists.exists():
        _write_private(lists, "")
    return client_trust_locations(truststore, lists)


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically; readable by the agent's user only, from the first
    byte on."""
    replace_file(path, text + "\n", private=True)
