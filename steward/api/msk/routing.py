"""Routes of the MSK REST API, matched on the raw (still percent-encoded) path.

MSK puts ARNs into paths percent-encoded, `/` included (`arn%3Aaws%3Akafka...%3Acluster%2F..`).
A router that decodes the path first would see extra segments, so the raw path is split on `/`
and each segment is decoded afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from steward.api.msk.fields import Fields, Query
from steward.control.service import ClusterService

Body = dict[str, Any] | None
"""What a handler answers: a JSON object (200), or None for MSK's empty 204."""


@dataclass
class MskRequest:
    params: dict[str, str]
    query: Query
    body: Fields = field(default_factory=lambda: Fields({}))

    def param(self, name: str) -> str:
        return self.params[name]


Handler = Callable[[ClusterService, MskRequest], Body]


@dataclass(frozen=True)
class Route:
    operation: str
    """The MSK operation name, e.g. `DescribeClusterV2` (for logs and errors)."""
    method: str
    template: str
    handler: Handler

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))

    def match(self, method: str, raw_segments: list[str]) -> dict[str, str] | None:
        if method != self.method or len(raw_segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, raw in zip(self.segments, raw_segments, strict=True):
            value = unquote(raw)
            if pattern.startswith("{") and pattern.endswith("}"):
                if not value:
                    return None
                params[pattern[1:-1]] = value
            elif value != pattern:
                return None
        return params


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, operation: str, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(operation, method, template, handler))
            return handler

        return register

    def include(self, other: Router) -> None:
        self.routes.extend(other.routes)

    def resolve(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        segments = raw_path.strip("/").split("/")
        for route in self.routes:
            params = route.match(method, segments)
            if params is not None:
                return route, params
        return None
