"""The control plane's side of the agent API: one synchronous call per method.

Each call opens its own connection, so a client needs no closing and can be made per use. With
an SSL context (`steward.agent.mtls.ClientTls`) the calls are HTTPS with the control plane's
client certificate, and the agent's certificate is checked against the agents CA; every call
keeps its timeout either way.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from steward.agent.spec import NodeSpec, NodeStatus


class AgentUnavailable(Exception):
    """The agent could not be reached (not running, wrong address, timed out): retry later."""


class AgentError(Exception):
    """The agent answered with an error (bad token, invalid spec, ...): retrying will not help."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"agent answered {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class AgentClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ssl_context = ssl_context

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/v1/health")
        return result

    def nodes(self) -> list[NodeStatus]:
        return [NodeStatus.from_dict(item) for item in self._call("GET", "/v1/nodes")]

    def node(self, key: str) -> NodeStatus | None:
        try:
            return NodeStatus.from_dict(self._call("GET", f"/v1/nodes/{key}"))
        except AgentError as error:
            if error.status_code == 404:
                return None
            raise

    def apply(self, spec: NodeSpec) -> NodeStatus:
        """Send the spec as it is (`steward.control.node_specs.NodeSpecRenderer` makes it
        whole: keys and certificates included)."""
        return NodeStatus.from_dict(self._call("PUT", f"/v1/nodes/{spec.key}", spec.to_dict()))

    def stop(self, key: str, timeout: float | None = None) -> NodeStatus:
        status = self._call("POST", f"/v1/nodes/{key}/stop", stop_timeout=timeout)
        return NodeStatus.from_dict(status)

    def start(self, key: str) -> NodeStatus:
        return NodeStatus.from_dict(self._call("POST", f"/v1/nodes/{key}/start"))

    def restart(self, key: str, timeout: float | None = None) -> NodeStatus:
        status = self._call("POST", f"/v1/nodes/{key}/restart", stop_timeout=timeout)
        return NodeStatus.from_dict(status)

    def remove(self, key: str, timeout: float | None = None) -> bool:
        """Stop the node and delete its data; False when the agent did not have it."""
        return bool(self._call("DELETE", f"/v1/nodes/{key}", stop_timeout=timeout)["removed"])

    def put_iam_credentials(self, key: str, text: str) -> bool:
        """Write a broker's IAM signing keys; True when they changed."""
        return bool(
            self._call("PUT", f"/v1/nodes/{key}/iam/credentials", {"text": text})["changed"]
        )

    def iam_refusals(self, key: str, offset: int = 0) -> tuple[list[str], int]:
        """A broker's refused IAM sign-ins (JSON lines) from `offset` on, and the next offset."""
        answer = self._call("GET", f"/v1/nodes/{key}/iam/refusals", params={"offset": offset})
        return [str(line) for line in answer["lines"]], int(answer["offset"])

    def certificate_request(self) -> str:
        """A CSR for a new key the agent makes and keeps (a renewal of its certificate)."""
        return str(self._call("POST", "/v1/tls/certificate-request")["csr"])

    def install_certificate(self, certificate_pem: str, ca_pem: str) -> str:
        """Give the agent its renewed certificate, which it serves with from now on; the
        certificate it now serves with (PEM)."""
        body = {"certificate": certificate_pem, "caCertificate": ca_pem}
        return str(self._call("PUT", "/v1/tls/certificate", body)["certificate"])

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        stop_timeout: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        query = params
        timeout = self.timeout
        if stop_timeout is not None:
            query = {"timeout": stop_timeout}
            timeout = max(timeout, stop_timeout + 15.0)  # the kill after it, and some slack
        try:
            response = httpx.request(
                method,
                self.base_url + path,
                json=body,
                params=query,
                headers={"Authorization": f"Bearer {self.token}"} if self.token else None,
                timeout=timeout,
                verify=self.ssl_context if self.ssl_context is not None else True,
            )
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise AgentUnavailable(f"agent at {self.base_url}: {reason}") from error
        if response.status_code >= 400:
            raise AgentError(response.status_code, _detail(response))
        return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    detail = data.get("detail") if isinstance(data, dict) else None
    return str(detail) if detail is not None else response.text[:500]
