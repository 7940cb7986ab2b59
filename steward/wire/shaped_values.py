"""Members of a request or an answer read and written by their botocore shapes, for the protocols
whose bodies carry no types of their own for timestamps and blobs (AWS JSON sends a timestamp as
epoch seconds and a blob as base64; CBOR may send a timestamp as a bare number).

A service's operations take and return plain nested dicts with `datetime` and `bytes` values,
whatever protocol carried them: `typed_input` makes those from a decoded body, `wire_output`
turns an operation's result back into what the protocol writes, dropping members that are None.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


class ShapeValueError(ValueError):
    """A member whose value its shape cannot take; the message names the member."""


def _timestamp(value: Any, member: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ShapeValueError(f"{member} must be a timestamp.")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ShapeValueError(f"{member} must be a timestamp.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ShapeValueError(f"{member} must be a timestamp.")


def typed_input(shape: Shape | None, value: Any, member: str = "") -> Any:
    """`value` with its timestamps as aware datetimes and its blobs as bytes."""
    if shape is None or value is None:
        return value
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise ShapeValueError(f"{member or 'The request'} must be a structure.")
        return {
            name: typed_input(shape.members[name], item, name) if name in shape.members else item
            for name, item in value.items()
        }
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise ShapeValueError(f"{member} must be a list.")
        return [typed_input(shape.member, item, member) for item in value]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise ShapeValueError(f"{member} must be a map.")
        return {key: typed_input(shape.value, item, member) for key, item in value.items()}
    if shape.type_name == "timestamp":
        return _timestamp(value, member)
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ShapeValueError(f"{member} must be base64.") from None
    return value


def wire_output(
    shape: Shape | None, value: Any, timestamp: Callable[[datetime], Any] = lambda t: t
) -> Any:
    """`value` as a protocol writes it: members that are None left out, each timestamp passed
    through `timestamp` (epoch seconds for JSON)."""
    if value is None or shape is None:
        return value
    if isinstance(shape, StructureShape):
        return {
            name: wire_output(shape.members[name], item, timestamp)
            for name, item in value.items()
            if item is not None and name in shape.members
        }
    if isinstance(shape, ListShape):
        return [wire_output(shape.member, item, timestamp) for item in value]
    if isinstance(shape, MapShape):
        return {key: wire_output(shape.value, item, timestamp) for key, item in value.items()}
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return timestamp(aware)
    if shape.type_name == "blob" and isinstance(value, bytes):
        return value
    return value


def epoch_seconds(value: datetime) -> float:
    return value.timestamp()
