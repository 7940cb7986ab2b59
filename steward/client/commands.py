"""The shape most commands of a service's CLI group share: make the service's boto3 client with
the command line's endpoint and region, call it, and show the answer, as JSON (the response
data) with `-o json` or for people otherwise: one resource's fields, a table of many, or a line
saying what was done. boto3's errors are not caught here: the `steward` group turns every one
into a one-line error of the service's code and message.

It lives in `steward.client`, beside `CliContext` and `Output`, so that the CLI modules of the
services below `steward.cli` (IAM, MSK Connect, ...) can use it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from steward.client.api import make_client
from steward.client.context import CliContext
from steward.client.output import response_data


def service_client(cli: CliContext, service: str) -> Any:
    """boto3's client of `service` (`iam`, `kafkaconnect`, ...) at the command line's endpoint,
    signed with the command line's credentials."""
    return make_client(cli.endpoint_url, cli.region, service=service)


def show(cli: CliContext, data: Mapping[str, Any], pairs: Iterable[tuple[str, Any]]) -> None:
    """One resource: `data` as JSON, else the `name  value` pairs."""
    if cli.output.is_json:
        cli.output.json(data)
    else:
        cli.output.fields(pairs)


def show_answer(cli: CliContext, answer: Mapping[str, Any], names: Iterable[str]) -> None:
    """One resource as the service answered it: the answer's data as JSON, else the answer's
    members `names`, each under its own name."""
    show(cli, response_data(answer), [(name, answer.get(name)) for name in names])


def done(cli: CliContext, data: Mapping[str, Any], message: str) -> None:
    """A change made: `data` as JSON, else `message`."""
    if cli.output.is_json:
        cli.output.json(data)
    else:
        cli.output.text(message)


def listing(
    cli: CliContext,
    key: str,
    items: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    row: Callable[[Mapping[str, Any]], Sequence[Any]],
) -> None:
    """Many resources: `{key: items}` as JSON, else a table of `columns`, a `row` per item."""
    if cli.output.is_json:
        cli.output.json({key: list(items)})
    else:
        cli.output.table(columns, [row(item) for item in items])


def all_pages(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing that pages with `nextToken` (the REST services' way)."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = getattr(client, operation)(**params, **({"nextToken": token} if token else {}))
        found += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return found
