"""Typed reading of MSK request members, with MSK's error for a member of the wrong shape.

botocore checks only required members, types and minimums on the client; the AWS CLI, other SDKs
and hand-written requests check nothing. Every member is therefore checked here, and a bad one is
a `BadRequestException` that names it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from steward.domain.errors import BadRequestException


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is an empty object."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequestException(f"The request body is not valid JSON: {error}.") from error
    if not isinstance(data, dict):
        raise BadRequestException("The request body must be a JSON object.")
    return data


def enum_spelling(value: str, allowed: Iterable[str]) -> str | None:
    """MSK's spelling of the enum value `value` names in any case (`All` -> `ALL`), or None."""
    return next((a for a in allowed if a.upper() == value.upper()), None)


class Fields:
    """The members of one JSON object of a request. `path` prefixes member names in errors
    (e.g. `brokerNodeGroupInfo.`), so the error says which member of which object is wrong."""

    def __init__(self, data: Mapping[str, Any], path: str = "") -> None:
        self._data = data
        self._path = path

    def name(self, member: str) -> str:
        return f"{self._path}{member}"

    def has(self, member: str) -> bool:
        return self._data.get(member) is not None

    def _get(self, member: str, required: bool) -> Any:
        value = self._data.get(member)
        if value is None and required:
            raise BadRequestException(
                f"The {self.name(member)} parameter is required.", self.name(member)
            )
        return value

    def _bad(self, member: str, what: str) -> BadRequestException:
        return BadRequestException(f"{self.name(member)} must be {what}.", self.name(member))

    def string(
        self,
        member: str,
        *,
        required: bool = False,
        min_length: int = 0,
        max_length: int | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(member, "a string")
        if len(value) < min_length or (max_length is not None and len(value) > max_length):
            upper = "" if max_length is None else f" and at most {max_length}"
            raise self._bad(member, f"at least {min_length}{upper} characters long")
        if choices is not None and value not in choices:
            raise self._bad(member, "one of " + ", ".join(choices))
        return value

    def choice(self, member: str, allowed: Iterable[str], *, required: bool = False) -> str | None:
        """A member that takes one of MSK's enum values, in MSK's spelling. MSK's service reads
        them without regard to case (`per_broker`, `All`), so this does too; anything else is
        refused naming the member and what it takes."""
        allowed = tuple(allowed)
        value = self.string(member, required=required)
        if value is None:
            return None
        spelling = enum_spelling(value, allowed)
        if spelling is None:
            raise self._bad(member, "one of " + ", ".join(allowed))
        return spelling

    def required_string(self, member: str, **limits: Any) -> str:
        value = self.string(member, required=True, **limits)
        assert value is not None
        return value

    def integer(
        self,
        member: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._get(member, required)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(member, "an integer")
        if minimum is not None and value < minimum:
            raise self._bad(member, f"at least {minimum}")
        if maximum is not None and value > maximum:
            raise self._bad(member, f"at most {maximum}")
        return value

    def required_integer(self, member: str, **limits: Any) -> int:
        value = self.integer(member, required=True, **limits)
        assert value is not None
        return value

    def number(self, member: str, *, required: bool = False) -> float | None:
        """A finite JSON number (an integer too)."""
        value = self._get(member, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(member, "a number")
        if not math.isfinite(value):
            raise self._bad(member, "a finite number")
        return float(value)

    def boolean(self, member: str, *, required: bool = False) -> bool | None:
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._bad(member, "true or false")
        return value

    def object(
        self, member: str, *, required: bool = False, prefix: str | None = None
    ) -> Fields | None:
        """A member that is an object; errors in it name `<member>.<inner>` unless `prefix`
        says otherwise."""
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._bad(member, "an object")
        return Fields(value, f"{self.name(member)}." if prefix is None else prefix)

    def raw_object(self, member: str) -> dict[str, Any] | None:
        fields = self.object(member)
        return None if fields is None else dict(fields._data)

    def objects(self, member: str, *, required: bool = False) -> list[Fields] | None:
        """A member that is a list of objects; errors name `<member>[i].<inner>`."""
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._bad(member, "a list of objects")
        return [Fields(item, f"{self.name(member)}[{i}].") for i, item in enumerate(value)]

    def strings(
        self, member: str, *, required: bool = False, min_items: int = 0
    ) -> list[str] | None:
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(member, "a list of strings")
        if len(value) < min_items:
            raise self._bad(member, f"a list of at least {min_items} item(s)")
        return list(value)

    def integers(
        self, member: str, *, required: bool = False, minimum: int | None = None
    ) -> list[int] | None:
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self._bad(member, "a list of integers")
        if minimum is not None and any(v < minimum for v in value):
            raise self._bad(member, f"a list of integers of at least {minimum}")
        return list(value)

    def string_map(self, member: str, *, required: bool = False) -> dict[str, str] | None:
        value = self._get(member, required)
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._bad(member, "an object of strings")
        return dict(value)

    def blob(self, member: str, *, required: bool = False) -> bytes | None:
        """A base64-encoded blob member (e.g. `serverProperties`)."""
        value = self.string(member, required=required)
        if value is None:
            return None
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise self._bad(member, "base64-encoded") from error


class Query:
    """The query string of a request (single values; repeated keys kept as lists)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def get(self, name: str) -> str | None:
        for key, value in self._items:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self._items if key == name]

    def integer(self, name: str, minimum: int, maximum: int) -> int | None:
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            raise BadRequestException(f"{name} must be an integer.", name) from None
        if not minimum <= value <= maximum:
            raise BadRequestException(f"{name} must be between {minimum} and {maximum}.", name)
        return value

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        """A query parameter that takes one of MSK's enum values, in any case (see
        `Fields.choice`); an empty one is left out."""
        allowed = tuple(allowed)
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        spelling = enum_spelling(raw, allowed)
        if spelling is None:
            raise BadRequestException(f"{name} must be one of {', '.join(allowed)}.", name)
        return spelling
