"""Writes given to a follower go to the leader: an ASGI layer in front of everything else.

A control plane that does not hold the lease (`steward.control.leadership`) serves GET and HEAD
itself, from the shared store, and sends every other request, as it came (method, path, query,
headers with the caller's Host and signature, body), to the leader's address, then answers with
the leader's answer. The leader checks the signature and authorizes the caller as if asked
directly. Forwarding rather than redirecting: AWS SDKs do not follow a 307 for a POST reliably.

While no server leads (an election under way) a request waits a little for one; after that, and
when the leader cannot be reached, the answer is a 503, which AWS SDKs retry. A request that was
already forwarded once is never forwarded again."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Protocol

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

FORWARDED_HEADER = "x-steward-forwarded-by"
READ_METHODS = ("GET", "HEAD", "OPTIONS")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
}
OWN_HEADERS = {"content-encoding", "date", "server"}
"""Answer headers of the leader's that this server's own HTTP server writes (or, for
content-encoding, that no longer hold: the body is relayed decoded)."""


class LeaderAddress(Protocol):
    @property
    def address(self) -> str: ...


class LeaderView(Protocol):
    """What forwarding needs of `steward.control.leadership.Leadership`."""

    address: str

    def is_leader(self) -> bool: ...

    def leader(self, max_age: float = 1.0) -> LeaderAddress | None: ...


class ForwardWritesToLeader:
    def __init__(
        self,
        app: ASGIApp,
        leadership: LeaderView,
        *,
        timeout: float = 120.0,
        wait_for_leader: float = 20.0,
    ) -> None:
        self.app = app
        self.leadership = leadership
        self.timeout = timeout
        self.wait_for_leader = wait_for_leader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in READ_METHODS
            or self.leadership.is_leader()
        ):
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        if any(name.lower() == FORWARDED_HEADER for name, _ in headers):
            await _unavailable(send, "This control plane server does not lead; try again.")
            return
        body = await _read_body(receive)
        deadline = time.monotonic() + self.wait_for_leader
        while True:
            leader = await run_in_threadpool(self.leadership.leader)
            if self.leadership.is_leader():
                await self.app(scope, _replay(body), send)
                return
            if leader is not None and leader.address != self.leadership.address:
                try:
                    await self._forward(scope, headers, body, leader.address, send)
                    return
                except httpx.TransportError as error:
                    if not isinstance(error, httpx.ConnectError):
                        log.warning("forwarding to the leader %s failed: %s", leader.address, error)
                        await _unavailable(send, "The leading control plane did not answer.")
                        return
            if time.monotonic() > deadline:
                await _unavailable(send, "No control plane server leads at the moment.")
                return
            await asyncio.sleep(0.5)

    async def _forward(
        self,
        scope: Scope,
        headers: list[tuple[str, str]],
        body: bytes,
        leader: str,
        send: Send,
    ) -> None:
        path = scope.get("raw_path") or scope["path"].encode()
        url = leader.rstrip("/") + path.decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        sent = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        sent.append((FORWARDED_HEADER, self.leadership.address))
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            answer = await client.request(scope["method"], url, headers=sent, content=body)
        kept = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in OWN_HEADERS
        ]
        kept.append((b"content-length", str(len(answer.content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": kept})
        await send({"type": "http.response.body", "body": answer.content})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _unavailable(send: Send, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-amzn-errortype", b"ServiceUnavailableException"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
