"""Serving the console's static shell. The shell holds no data of Steward's: every cluster,
topic or metric the page shows it fetches from the API with a SigV4 signature of its own, so the
shell is served to anyone while each call behind it is authenticated and authorized as any
signed request is.

The files are read once, when the app is built, and answered from memory: they are few and
small, and no request reads the disk. Only the shell's own paths are open (`console_paths()`):
any other path under `/console` is not, so the API's authentication answers an unsigned request
for it with a 401 before this app sees it, and only a signed one gets as far as the 404 here."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""The page runs only its own scripts and talks only to its own origin, so a script injected
through a cluster or topic name could neither run nor send the key in sessionStorage anywhere."""


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _asset(body: bytes, suffix: str) -> Asset:
    return Asset(body, CONTENT_TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:20]}"')


def _shell_files() -> dict[str, Path]:
    """The shell's files by the path each is served at."""
    return {
        f"{PREFIX}/{path.relative_to(STATIC).as_posix()}": path
        for path in sorted(STATIC.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


def load_assets(region: str) -> dict[str, Asset]:
    """Every file of the shell by the path it is served at; `index.html` carries the region the
    page signs for, the one thing it must know before it can ask the API anything."""
    assets: dict[str, Asset] = {}
    for served, path in _shell_files().items():
        body = path.read_bytes()
        if path.name == "index.html":
            body = body.replace(b"{{region}}", html.escape(region).encode("utf-8"))
        assets[served] = _asset(body, path.suffix)
    return assets


def console_paths() -> tuple[str, ...]:
    """The exact paths the console answers without a signature: its shell, nothing else."""
    return (PREFIX, f"{PREFIX}/", *_shell_files())


def console_routes(region: str) -> list[BaseRoute]:
    """The console's routes for the API's app: `/console` itself, which sends a browser on to
    `/console/`, and the shell under it."""

    async def to_index(_: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    return [
        Route(PREFIX, to_index, methods=["GET", "HEAD"]),
        Mount(PREFIX, app=console_app(region)),
    ]


def console_app(region: str) -> Router:
    """The shell's files, to mount at `/console` (paths in requests keep the prefix)."""
    assets = load_assets(region)

    def answer(request: Request, asset: Asset) -> Response:
        headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.content_type, headers=headers)

    async def index(request: Request) -> Response:
        return answer(request, assets[f"{PREFIX}/index.html"])

    async def file(request: Request) -> Response:
        asset = assets.get(request.url.path)
        if asset is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return answer(request, asset)

    return Router(
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/{path:path}", file, methods=["GET", "HEAD"]),
        ]
    )
