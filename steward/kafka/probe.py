"""Does a Kafka node answer at all? One ApiVersions request over a fresh TCP connection.

A port that accepts connections proves little: the kernel completes the handshake for a process
that is stopped (SIGSTOP) or stuck, as long as the listen backlog has room. An answer to a request
proves the node's network and request threads run. ApiVersions is the request every Kafka listener
(broker or controller) answers before anything else, without authentication on a plaintext
listener, and without touching the metadata log. A TLS listener is asked the same over TLS.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from contextlib import ExitStack

API_VERSIONS = 18
_CLIENT_ID = b"steward-probe"


def api_versions_request(correlation_id: int) -> bytes:
    """An ApiVersions v0 request with its length prefix (request header v1: api key, version,
    correlation id, client id; v0 has no body)."""
    header = struct.pack(">hhih", API_VERSIONS, 0, correlation_id, len(_CLIENT_ID)) + _CLIENT_ID
    return struct.pack(">i", len(header)) + header


def answers(host: str, port: int, timeout: float = 1.0, tls: ssl.SSLContext | None = None) -> bool:
    """True when the node at host:port answers an ApiVersions request within `timeout` seconds
    (connect, TLS handshake when `tls` is given, send and receive together)."""
    deadline = time.monotonic() + timeout
    correlation_id = int(time.monotonic_ns() & 0x7FFFFFFF)
    try:
        with ExitStack() as stack:
            conn = stack.enter_context(socket.create_connection((host, port), timeout=timeout))
            if tls is not None:
                conn = stack.enter_context(tls.wrap_socket(conn, server_hostname=host))
            conn.sendall(api_versions_request(correlation_id))
            head = _receive(conn, 8, deadline)
    except OSError:  # ssl.SSLError included
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
