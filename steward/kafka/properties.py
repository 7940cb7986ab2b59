"""Kafka `server.properties`: parsing, rendering, and validating what users may set."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Settings Steward owns for every node: a user configuration may not set them, because they
# decide identity, networking, storage and security, which Steward manages.
RESERVED_PREFIXES: tuple[str, ...] = (
    "node.id",
    "broker.id",
    "process.roles",
    "listeners",
    "advertised.listeners",
    "listener.",
    "inter.broker.listener.name",
    "controller.",
    "log.dir",
    "log.dirs",
    "metadata.log.dir",
    "broker.rack",
    "ssl.",
    "sasl.",
    "security.inter.broker.protocol",
    "authorizer.class.name",
    "super.users",
    "early.start.listeners",
)


class PropertiesError(ValueError):
    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java properties text: `key=value`, `key: value` or `key value`, `#`/`!` comments,
    backslash line continuations. Raises PropertiesError on a line that has no key."""
    result: dict[str, str] = {}
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.lstrip() if pending else raw.strip()
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending = line[:-1]
            continue
        pending = ""
        logical.append(line)
    if pending:
        logical.append(pending)
    for number, line in enumerate(logical, start=1):
        match = re.match(r"^((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)$", line)
        if match is None:
            if re.match(r"^(?:[^=:\s\\]|\\.)+$", line):
                raise PropertiesError(f"line {number}: {line!r} has no value", line)
            raise PropertiesError(f"line {number}: {line!r} is not a key=value pair")
        key = match.group(1).replace("\\", "")
        result[key] = match.group(2).strip()
    return result


def render_properties(properties: dict[str, str]) -> str:
    lines = [f"{key}={_escape(value)}" for key, value in sorted(properties.items())]
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


@cache
def broker_config_types() -> dict[str, str]:
    """Broker config name -> ConfigDef type (BOOLEAN, INT, LONG, ...), as Kafka defines them."""
    text = resources.files("steward.kafka").joinpath("broker_configs.tsv").read_text()
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, kind = line.split("\t")
            types[name] = kind
    return types


def _check_value(key: str, kind: str, value: str) -> None:
    ok = True
    if kind == "BOOLEAN":
        ok = value.lower() in ("true", "false")
    elif kind in ("INT", "LONG", "SHORT"):
        ok = re.fullmatch(r"-?\d+", value) is not None
    elif kind == "DOUBLE":
        try:
            float(value)
        except ValueError:
            ok = False
    if not ok:
        raise PropertiesError(f"{key} must be a {kind.lower()}, got {value!r}", key)


def validate_server_properties(text: str) -> dict[str, str]:
    """Parse a configuration's server properties and check every key is a Kafka broker setting that
    users may change, with a value of the right type. Returns the parsed properties."""
    properties = parse_properties(text)
    types = broker_config_types()
    for key, value in properties.items():
        if not _KEY.match(key):
            raise PropertiesError(f"{key!r} is not a valid property name", key)
        if any(key == p or (p.endswith(".") and key.startswith(p)) for p in RESERVED_PREFIXES):
            raise PropertiesError(f"{key} is managed by Steward and cannot be configured", key)
        if key not in types:
            raise PropertiesError(f"{key} is not a Kafka broker configuration property", key)
        _check_value(key, types[key], value)
    return properties
