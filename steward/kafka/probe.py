"""Does a Kafka node answer at all? One ApiVersions request over a fresh TCP connection.

A port that accepts connections proves little: the kernel completes the handshake for a process
that is stopped (SIGSTOP) or stuck, as long as the listen backlog has room. An answer to a request
proves the node's network and request threads run. ApiVersions is the request every Kafka listener
(broker or controller) answers before anything else, without authentication on a plaintext
listener, and without touching the metadata log.
"""

from __future__ import annotations

import socket
import struct
import time

API_VERSIONS = 18
_CLIENT_ID = b"steward-probe"


def api_versions_request(correlation_id: int) -> bytes:
    """An ApiVersions v0 request with its length prefix (request header v1: api key, version,
    correlation id, client id; v0 has no body)."""
    header = struct.pack(">hhih", API_VERSIONS, 0, correlation_id, len(_CLIENT_ID)) + _CLIENT_ID
    return struct.pack(">i", len(header)) + header


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when the node at host:port answers an ApiVersions request within `timeout` seconds
    (connect, send and receive together)."""
    deadline = time.monotonic() + timeout
    correlation_id = int(time.monotonic_ns() & 0x7FFFFFFF)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(api_versions_request(correlation_id))
            head = _receive(conn, 8, deadline)
    except OSError:
        return False
    if head is None:
        return False
    size, answered_id = struct.unpack(">ii", head)
    return size >= 4 and answered_id == correlation_id


def _receive(conn: socket.socket, count: int, deadline: float) -> bytes | None:
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        conn.settimeout(left)
        chunk = conn.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
