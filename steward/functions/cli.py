"""`steward function ...` and `steward trigger ...`: functions (Steward's Lambda) and the
event-source mappings that trigger them from a cluster's topics, over the same API boto3's
`lambda` client uses.

`function create` zips a directory (or takes a ZIP) here and uploads it; `function invoke`
prints the payload and, with `--log`, the tail of the function's log."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import click

from steward.client.api import CliError, make_client
from steward.client.context import CliContext, pass_cli
from steward.client.output import response_data
from steward.functions.runtime import HTTP_URL_VARIABLE

DEFAULT_ROLE = "arn:aws:iam::000000000000:role/steward-function"
"""Lambda requires a Role; Steward records it and runs the code as its own user."""


def _lambda(cli: CliContext) -> Any:
    return make_client(cli.endpoint_url, cli.region, service="lambda")


def zip_code(path: Path) -> bytes:
    """A ZIP file as it is, or a directory zipped with paths relative to it."""
    if path.is_file():
        return path.read_bytes()
    if not path.is_dir():
        raise CliError(f"Error: {path} is neither a ZIP file nor a directory.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def _environment(pairs: tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CliError(f"Error: --env {pair!r}: give NAME=VALUE.")
        variables[name] = value
    return variables


def _show_function(cli: CliContext, config: dict[str, Any]) -> None:
    if cli.output.is_json:
        cli.output.json(response_data(config))
        return
    cli.output.fields(
        [
            ("FunctionName", config.get("FunctionName")),
            ("FunctionArn", config.get("FunctionArn")),
            ("Runtime", config.get("Runtime")),
            ("Handler", config.get("Handler")),
            ("State", config.get("State")),
            ("Timeout", config.get("Timeout")),
            ("MemorySize", config.get("MemorySize")),
            ("CodeSize", config.get("CodeSize")),
            ("LastModified", config.get("LastModified")),
        ]
    )


@click.group("function")
def function() -> None:
    """Functions: Python code (a ZIP) run on Steward's hosts, or a URL called."""


@function.command()
@click.argument("name")
@click.option(
    "--code",
    "code_path",
    type=click.Path(exists=True, path_type=Path),
    help="A ZIP, or a directory to zip.",
)
@click.option("--handler", default="lambda_function.lambda_handler", show_default=True)
@click.option("--runtime", default="python3.11", show_default=True)
@click.option("--url", default=None, help="Make an HTTP function: POST each event to this URL.")
@click.option("--timeout", type=int, default=3, show_default=True, help="Seconds.")
@click.option("--memory", type=int, default=128, show_default=True, help="MiB.")
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE")
@click.option("--role", default=DEFAULT_ROLE, show_default=True)
@pass_cli
def create(
    cli: CliContext,
    name: str,
    code_path: Path | None,
    handler: str,
    runtime: str,
    url: str | None,
    timeout: int,
    memory: int,
    env: tuple[str, ...],
    role: str,
) -> None:
    """Make a function from a ZIP or a directory of Python code, or (--url) an HTTP one."""
    variables = _environment(env)
    code: dict[str, Any] = {}
    if url is not None:
        runtime = "provided.al2023"
        variables[HTTP_URL_VARIABLE] = url
    elif code_path is None:
        raise CliError("Error: give --code (a ZIP or a directory), or --url.")
    if code_path is not None:
        code["ZipFile"] = zip_code(code_path)
    made = _lambda(cli).create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler=handler,
        Code=code,
        Timeout=timeout,
        MemorySize=memory,
        Environment={"Variables": variables},
    )
    _show_function(cli, made)


@function.command("list")
@pass_cli
def list_functions(cli: CliContext) -> None:
    """List the functions."""
    found: list[dict[str, Any]] = []
    for page in _lambda(cli).get_paginator("list_functions").paginate():
        found.extend(page.get("Functions", []))
    if cli.output.is_json:
        cli.output.json({"Functions": found})
        return
    cli.output.table(
        ["FunctionName", "Runtime", "Handler", "State", "LastModified"],
        [
            [
                f.get("FunctionName"),
                f.get("Runtime"),
                f.get("Handler"),
                f.get("State"),
                f.get("LastModified"),
            ]
            for f in found
        ],
    )


@function.command()
@click.argument("name")
@pass_cli
def describe(cli: CliContext, name: str) -> None:
    """Show a function's configuration."""
    _show_function(cli, _lambda(cli).get_function_configuration(FunctionName=name))


@function.command("update-code")
@click.argument("name")
@click.option("--code", "code_path", type=click.Path(exists=True, path_type=Path), required=True)
@pass_cli
def update_code(cli: CliContext, name: str, code_path: Path) -> None:
    """Replace a function's code."""
    _show_function(
        cli, _lambda(cli).update_function_code(FunctionName=name, ZipFile=zip_code(code_path))
    )


@function.command("update")
@click.argument("name")
@click.option("--handler", default=None)
@click.option("--timeout", type=int, default=None)
@click.option("--memory", type=int, default=None)
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE", help="Replaces them all.")
@pass_cli
def update(
    cli: CliContext,
    name: str,
    handler: str | None,
    timeout: int | None,
    memory: int | None,
    env: tuple[str, ...],
) -> None:
    """Change a function's configuration."""
    changes: dict[str, Any] = {"FunctionName": name}
    if handler is not None:
        changes["Handler"] = handler
    if timeout is not None:
        changes["Timeout"] = timeout
    if memory is not None:
        changes["MemorySize"] = memory
    if env:
        changes["Environment"] = {"Variables": _environment(env)}
    _show_function(cli, _lambda(cli).update_function_configuration(**changes))


@function.command()
@click.argument("name")
@click.option("--payload", default="{}", show_default=True, help="The event, as JSON.")
@click.option("--async", "asynchronous", is_flag=True, help="An Event invocation: no answer.")
@click.option("--log", "show_log", is_flag=True, help="Show the end of the function's log.")
@pass_cli
def invoke(cli: CliContext, name: str, payload: str, asynchronous: bool, show_log: bool) -> None:
    """Invoke a function and print what it returned (or raised)."""
    answer = _lambda(cli).invoke(
        FunctionName=name,
        Payload=payload.encode(),
        InvocationType="Event" if asynchronous else "RequestResponse",
        LogType="Tail" if show_log else "None",
    )
    body = answer["Payload"].read().decode()
    if cli.output.is_json:
        cli.output.json(
            {
                "StatusCode": answer["StatusCode"],
                "FunctionError": answer.get("FunctionError"),
                "Payload": json.loads(body) if body else None,
            }
        )
        return
    if answer.get("FunctionError"):
        cli.output.note(f"The function failed ({answer['FunctionError']}):")
    cli.output.text(body or f"(accepted: {answer['StatusCode']})")
    if show_log and answer.get("LogResult"):
        cli.output.text(base64.b64decode(answer["LogResult"]).decode(errors="replace"))


@function.command()
@click.argument("name")
@pass_cli
def delete(cli: CliContext, name: str) -> None:
    """Delete a function (its triggers stay, with nothing to call)."""
    _lambda(cli).delete_function(FunctionName=name)
    cli.output.note(f"Deleted {name}.")


# --- triggers -----------------------------------------------------------------------------------
def _show_mapping(cli: CliContext, mapping: dict[str, Any]) -> None:
    if cli.output.is_json:
        cli.output.json(response_data(mapping))
        return
    cli.output.fields(
        [
            ("UUID", mapping.get("UUID")),
            ("FunctionArn", mapping.get("FunctionArn")),
            ("EventSourceArn", mapping.get("EventSourceArn")),
            ("Topics", ", ".join(mapping.get("Topics", []))),
            ("State", mapping.get("State")),
            ("LastProcessingResult", mapping.get("LastProcessingResult")),
            ("BatchSize", mapping.get("BatchSize")),
            (
                "ConsumerGroupId",
                mapping.get("AmazonManagedKafkaEventSourceConfig", {}).get("ConsumerGroupId"),
            ),
        ]
    )


@click.group("trigger")
def trigger() -> None:
    """Triggers: event-source mappings from a cluster's topic to a function."""


@trigger.command("create")
@click.argument("function_name", metavar="FUNCTION")
@click.option("--cluster", "cluster_arn", required=True, help="The cluster's ARN.")
@click.option("--topic", required=True)
@click.option(
    "--starting-position",
    type=click.Choice(["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"]),
    default="LATEST",
    show_default=True,
)
@click.option("--timestamp", type=float, default=None, help="Epoch seconds, for AT_TIMESTAMP.")
@click.option("--batch-size", type=int, default=100, show_default=True)
@click.option("--window", type=int, default=None, help="MaximumBatchingWindowInSeconds.")
@click.option("--group", default=None, help="The consumer group [default: the mapping's UUID].")
@click.option("--filter", "filters", multiple=True, metavar="PATTERN", help="A filter pattern.")
@click.option("--on-failure", default=None, help="A topic for batches that keep failing.")
@click.option("--retries", type=int, default=None, help="MaximumRetryAttempts (-1: forever).")
@pass_cli
def create_trigger(
    cli: CliContext,
    function_name: str,
    cluster_arn: str,
    topic: str,
    starting_position: str,
    timestamp: float | None,
    batch_size: int,
    window: int | None,
    group: str | None,
    filters: tuple[str, ...],
    on_failure: str | None,
    retries: int | None,
) -> None:
    """Run FUNCTION on the records of a cluster's topic."""
    request: dict[str, Any] = {
        "FunctionName": function_name,
        "EventSourceArn": cluster_arn,
        "Topics": [topic],
        "StartingPosition": starting_position,
        "BatchSize": batch_size,
    }
    if timestamp is not None:
        request["StartingPositionTimestamp"] = timestamp
    if window is not None:
        request["MaximumBatchingWindowInSeconds"] = window
    if group is not None:
        request["AmazonManagedKafkaEventSourceConfig"] = {"ConsumerGroupId": group}
    if filters:
        request["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in filters]}
    if on_failure is not None:
        destination = (
            on_failure
            if "://" in on_failure or on_failure.startswith("arn:")
            else (f"kafka://{on_failure}")
        )
        request["DestinationConfig"] = {"OnFailure": {"Destination": destination}}
    if retries is not None:
        request["MaximumRetryAttempts"] = retries
    _show_mapping(cli, _lambda(cli).create_event_source_mapping(**request))


@trigger.command("list")
@click.option("--function", "function_name", default=None)
@click.option("--cluster", "cluster_arn", default=None)
@pass_cli
def list_triggers(cli: CliContext, function_name: str | None, cluster_arn: str | None) -> None:
    """List the triggers, of one function or cluster if given."""
    arguments = {
        k: v
        for k, v in (("FunctionName", function_name), ("EventSourceArn", cluster_arn))
        if v is not None
    }
    found: list[dict[str, Any]] = []
    for page in _lambda(cli).get_paginator("list_event_source_mappings").paginate(**arguments):
        found.extend(page.get("EventSourceMappings", []))
    if cli.output.is_json:
        cli.output.json({"EventSourceMappings": found})
        return
    cli.output.table(
        ["UUID", "Function", "Topics", "State", "LastProcessingResult"],
        [
            [
                m.get("UUID"),
                str(m.get("FunctionArn", "")).rsplit(":", 1)[-1],
                ", ".join(m.get("Topics", [])),
                m.get("State"),
                m.get("LastProcessingResult"),
            ]
            for m in found
        ],
    )


@trigger.command("describe")
@click.argument("mapping_uuid", metavar="UUID")
@pass_cli
def describe_trigger(cli: CliContext, mapping_uuid: str) -> None:
    """Show a trigger."""
    _show_mapping(cli, _lambda(cli).get_event_source_mapping(UUID=mapping_uuid))


@trigger.command("enable")
@click.argument("mapping_uuid", metavar="UUID")
@pass_cli
def enable(cli: CliContext, mapping_uuid: str) -> None:
    """Start polling again."""
    _show_mapping(cli, _lambda(cli).update_event_source_mapping(UUID=mapping_uuid, Enabled=True))


@trigger.command("disable")
@click.argument("mapping_uuid", metavar="UUID")
@pass_cli
def disable(cli: CliContext, mapping_uuid: str) -> None:
    """Stop polling; the group's offsets stay, and enabling carries on from them."""
    _show_mapping(cli, _lambda(cli).update_event_source_mapping(UUID=mapping_uuid, Enabled=False))


@trigger.command("delete")
@click.argument("mapping_uuid", metavar="UUID")
@pass_cli
def delete_trigger(cli: CliContext, mapping_uuid: str) -> None:
    """Delete a trigger."""
    _show_mapping(cli, _lambda(cli).delete_event_source_mapping(UUID=mapping_uuid))
