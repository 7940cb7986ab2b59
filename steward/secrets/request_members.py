"""Reading the members of a Secrets Manager request (AWS JSON 1.1) as its model types them, and
the NextToken of its paged answers; a member of the wrong type is InvalidParameterException."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, TypeVar

from steward.secrets.errors import InvalidNextTokenException, InvalidParameterException
from steward.wire.json_protocol import Body

MAX_RESULTS = 100
Item = TypeVar("Item")


def member(body: Body, name: str, kind: type, required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidParameterException(f"You must provide a value for the {name} parameter.")
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidParameterException(f"{name} must be an integer.")
    if kind is not int and not isinstance(value, kind):
        raise InvalidParameterException(f"{name} must be a {kind.__name__}.")
    return value


def flag(body: Body, name: str, default: bool = False) -> bool:
    value = member(body, name, bool)
    return default if value is None else bool(value)


def text(body: Body, name: str, required: bool = False, max_length: int = 2048) -> Any:
    value = member(body, name, str, required)
    if value is not None and len(value) > max_length:
        raise InvalidParameterException(f"{name} is longer than {max_length} characters.")
    return value


def strings(body: Body, name: str, required: bool = False) -> list[str] | None:
    values = member(body, name, list, required)
    if values is not None and not all(isinstance(v, str) for v in values):
        raise InvalidParameterException(f"{name} must be a list of strings.")
    return values


def binary(body: Body, name: str) -> bytes | None:
    value = member(body, name, str)
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidParameterException(f"{name} must be base64.") from None


def tags(body: Body, required: bool = False) -> list[dict[str, str]]:
    given = member(body, "Tags", list, required) or []
    result = []
    for tag in given:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
            raise InvalidParameterException("Each tag needs a Key (and a Value).")
        value = tag.get("Value", "")
        if not isinstance(value, str):
            raise InvalidParameterException("A tag's Value must be a string.")
        result.append({"Key": tag["Key"], "Value": value})
    return result


def timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def without_none(body: Body) -> Body:
    return {k: v for k, v in body.items() if v is not None and v != []}


def page(items: list[Item], body: Body) -> tuple[list[Item], str | None]:
    """The part of `items` that MaxResults and NextToken ask for, and the token of the rest."""
    size = member(body, "MaxResults", int) or MAX_RESULTS
    if not 1 <= size <= MAX_RESULTS:
        raise InvalidParameterException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    token = text(body, "NextToken", max_length=4096)
    start = _offset(token) if token else 0
    end = start + size
    following = None
    if end < len(items):
        following = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], following


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidNextTokenException("The NextToken value is invalid.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidNextTokenException("The NextToken value is invalid.")
    return offset
