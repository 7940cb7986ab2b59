"""The boto3 client the CLI talks to Steward with, its errors as one-line messages, and names
resolved to ARNs."""

from __future__ import annotations

import os
from typing import IO, Any

import boto3
import click
import httpx
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from steward.client.credentials import botocore_session, steward_credentials
from steward.client.signing import SigV4HttpxAuth
from steward.settings import Settings


class CliError(click.ClickException):
    """An error shown as exactly one line on stderr (exit code 1), never a traceback."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True, file=file)


def api_error(code: str, message: str, parameter: str | None = None) -> CliError:
    text = f"Error ({code}): {message}"
    if parameter:
        text += f" (parameter: {parameter})"
    return CliError(text)


def client_error(error: ClientError) -> CliError:
    response: dict[str, Any] = error.response
    details = response.get("Error", {})
    code = details.get("Code") or "Error"
    message = details.get("Message") or str(error)
    parameter = response.get("InvalidParameter") or details.get("InvalidParameter")
    return api_error(code, message, parameter)


def steward_route_error(response: httpx.Response) -> CliError:
    """An error answer of one of Steward's own routes, read the way boto3 reads MSK's."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = response.headers.get("x-amzn-ErrorType", f"HTTP {response.status_code}")
    message = body.get("message") if isinstance(body, dict) else None
    parameter = body.get("invalidParameter") if isinstance(body, dict) else None
    return api_error(code.split(":", 1)[0], message or response.text, parameter)


def unreachable(endpoint_url: str) -> CliError:
    return CliError(
        f"Error: Steward is not reachable at {endpoint_url}. Start it with `steward server` "
        "(or `make run`), or point --endpoint-url / STEWARD_ENDPOINT_URL at a running Steward."
    )


def translate(error: ClientError | BotoCoreError, endpoint_url: str) -> CliError:
    """What boto3 raised, as the one line the user sees."""
    if isinstance(error, ClientError):
        return client_error(error)
    if isinstance(error, EndpointConnectionError):
        return unreachable(endpoint_url)
    if isinstance(error, ConnectionClosedError | ReadTimeoutError):
        return CliError(f"Error: lost the connection to Steward at {endpoint_url}: {error}")
    return CliError(f"Error: {error}")


def default_endpoint_url() -> str:
    return os.environ.get("STEWARD_ENDPOINT_URL") or Settings().api_url


def default_region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or Settings().region


def make_client(endpoint_url: str, region: str, service: str = "kafka") -> Any:
    """A boto3 client of `service` (`kafka`, `secretsmanager`) for Steward, signing with
    `steward_credentials()`."""
    session = botocore_session()
    credentials = steward_credentials(session).get_frozen_credentials()
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=5,
        read_timeout=60,
    )
    return boto3.Session(botocore_session=session).client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        config=config,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )


class Api:
    """The MSK API of one Steward, plus the look-ups the commands share."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.endpoint_url, self.region)
        return self._client

    def steward_route(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """One request to Steward's own routes (`/steward/v1/...`), signed like boto3's; its JSON
        answer, or its error as one line."""
        auth = SigV4HttpxAuth(steward_credentials(), self.region)
        url = f"{self.endpoint_url.rstrip('/')}{path}"
        try:
            response = httpx.request(
                method, url, params=params, json=body, auth=auth, timeout=timeout
            )
        except httpx.ConnectError as error:
            raise unreachable(self.endpoint_url) from error
        except httpx.HTTPError as error:
            raise CliError(
                f"Error: cannot reach Steward at {self.endpoint_url}: {error}"
            ) from error
        if response.status_code != 200:
            raise steward_route_error(response)
        answer: dict[str, Any] = response.json()
        return answer

    def paginate(self, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list operation."""
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator(operation).paginate(**params):
            items.extend(page.get(key, []))
        return items

    def cluster_arn(self, cluster: str) -> str:
        """CLUSTER as given: an ARN, or the exact name of one cluster."""
        if cluster.startswith("arn:"):
            return cluster
        clusters = self.paginate("list_clusters_v2", "ClusterInfoList", ClusterNameFilter=cluster)
        return _single(
            cluster,
            "cluster",
            [c["ClusterArn"] for c in clusters if c.get("ClusterName") == cluster],
        )

    def configuration_arn(self, configuration: str) -> str:
        """CONFIG as given: an ARN, or the exact name of one configuration."""
        if configuration.startswith("arn:"):
            return configuration
        configurations = self.paginate("list_configurations", "Configurations")
        return _single(
            configuration,
            "configuration",
            [c["Arn"] for c in configurations if c.get("Name") == configuration],
        )

    def configuration_info(self, configuration: str, revision: int | None = None) -> dict[str, Any]:
        """MSK's ConfigurationInfo for CONFIG as given (an ARN or a name), at `revision`, else at
        its latest revision."""
        arn = self.configuration_arn(configuration)
        if revision is None:
            described = self.client.describe_configuration(Arn=arn)
            revision = int(described["LatestRevision"]["Revision"])
        return {"Arn": arn, "Revision": revision}

    def current_version(self, cluster_arn: str) -> str:
        """The cluster's CurrentVersion, which every update request must name."""
        info = self.client.describe_cluster_v2(ClusterArn=cluster_arn)["ClusterInfo"]
        return str(info["CurrentVersion"])


def _single(name: str, kind: str, arns: list[str]) -> str:
    if not arns:
        raise api_error("NotFoundException", f"There is no {kind} named {name!r}.")
    if len(arns) > 1:
        raise api_error(
            "ConflictException", f"{len(arns)} {kind}s are named {name!r}; give the ARN instead."
        )
    return arns[0]
