"""A client of Kafka Connect's REST API on one worker, every call with a timeout."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

TIMEOUT = 10.0


class ConnectRestError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectRest:
    def __init__(self, address: str, port: int, timeout: float = TIMEOUT) -> None:
        self.base = f"http://{address}:{port}"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = httpx.request(method, self.base + path, json=body, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise ConnectRestError(None, f"{method} {path}: {error}") from error
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ConnectRestError(response.status_code, message)
        return response.json() if response.content else None

    def ready(self) -> bool:
        try:
            return isinstance(self._call("GET", "/"), dict)
        except ConnectRestError:
            return False

    def connector_config(self, name: str) -> dict[str, str] | None:
        return self._call("GET", f"/connectors/{quote(name)}/config")

    def put_connector_config(self, name: str, config: dict[str, str]) -> None:
        self._call("PUT", f"/connectors/{quote(name)}/config", config)

    def status(self, name: str) -> dict[str, Any] | None:
        return self._call("GET", f"/connectors/{quote(name)}/status")

    def restart(self, name: str, only_failed: bool) -> None:
        failed = "true" if only_failed else "false"
        self._call(
            "POST", f"/connectors/{quote(name)}/restart?includeTasks=true&onlyFailed={failed}"
        )

    def pause(self, name: str) -> None:
        self._call("PUT", f"/connectors/{quote(name)}/pause")

    def resume(self, name: str) -> None:
        self._call("PUT", f"/connectors/{quote(name)}/resume")
