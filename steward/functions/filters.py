"""Lambda's event filtering (FilterCriteria) for Kafka records: a record goes to the function
when any filter's pattern matches it. A pattern is a JSON object whose keys name the record's
fields (`value` is the record's value decoded as JSON; `key`, `topic`, `partition`, `offset`,
`timestamp`, `headers` are the record's own) and whose leaves are lists of what may match: plain
values (strings, numbers, null), or operators: `prefix`, `suffix`, `equals-ignore-case`,
`anything-but`, `numeric`, `exists`, `cidr` is not taken. Every key of a pattern must match;
any entry of a list may.

A value that is not JSON matches no pattern that looks into `value`, as on Lambda."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any

from steward.functions.errors import InvalidParameterValueException

MAX_FILTERS = 5
"""Lambda's default quota of filters per event-source mapping."""
_MISSING = object()
NUMERIC_OPERATORS = ("<", "<=", "=", ">=", ">")


def parse_patterns(filter_criteria: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of FilterCriteria, checked; InvalidParameterValueException for one Lambda
    would refuse."""
    if not filter_criteria:
        return []
    filters = filter_criteria.get("Filters") or []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        raise InvalidParameterValueException(
            f"FilterCriteria.Filters must be a list of at most {MAX_FILTERS} filters."
        )
    patterns = []
    for entry in filters:
        text = entry.get("Pattern") if isinstance(entry, dict) else None
        if not isinstance(text, str):
            raise InvalidParameterValueException("Each filter needs a Pattern (a JSON string).")
        try:
            pattern = json.loads(text)
        except json.JSONDecodeError:
            raise InvalidParameterValueException(
                f"Invalid filter pattern definition: {text}"
            ) from None
        if not isinstance(pattern, dict):
            raise InvalidParameterValueException(f"Invalid filter pattern definition: {text}")
        _check(pattern, text)
        patterns.append(pattern)
    return patterns


def _check(pattern: dict[str, Any], text: str) -> None:
    for value in pattern.values():
        if isinstance(value, dict):
            _check(value, text)
        elif isinstance(value, list):
            for rule in value:
                if isinstance(rule, dict) and not _known_operator(rule):
                    raise InvalidParameterValueException(
                        f"Invalid filter pattern definition: {text}"
                    )
        else:
            raise InvalidParameterValueException(
                f"Invalid filter pattern definition: {text} (a leaf must be a list)"
            )


def _known_operator(rule: dict[str, Any]) -> bool:
    if len(rule) != 1:
        return False
    name, argument = next(iter(rule.items()))
    if name in ("prefix", "suffix", "equals-ignore-case"):
        return isinstance(argument, str)
    if name == "exists":
        return isinstance(argument, bool)
    if name == "anything-but":
        return True
    if name == "numeric":
        return _numeric_rule(argument) is not None
    return False


def _numeric_rule(argument: Any) -> list[tuple[str, float]] | None:
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        return None
    pairs = []
    for operator, bound in zip(argument[::2], argument[1::2], strict=True):
        if operator not in NUMERIC_OPERATORS or isinstance(bound, bool):
            return None
        if not isinstance(bound, int | float):
            return None
        pairs.append((operator, float(bound)))
    return pairs


def record_fields(record: dict[str, Any], value: bytes | None) -> dict[str, Any]:
    """What a pattern is matched against: the record's metadata and its value as JSON."""
    fields = {k: v for k, v in record.items() if k != "value"}
    if value is not None:
        with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
            fields["value"] = json.loads(value)
    return fields


def matches_any(patterns: Sequence[dict[str, Any]], fields: dict[str, Any]) -> bool:
    return not patterns or any(matches(pattern, fields) for pattern in patterns)


def matches(pattern: dict[str, Any], data: Any) -> bool:
    if not isinstance(data, dict):
        data = {}
    for key, expected in pattern.items():
        present = data.get(key, _MISSING)
        if isinstance(expected, dict):
            if present is _MISSING or not matches(expected, present):
                return False
        elif not _leaf_matches(expected, present):
            return False
    return True


def _leaf_matches(rules: list[Any], present: Any) -> bool:
    values = present if isinstance(present, list) else [present]
    return any(_rule_matches(rule, value) for rule in rules for value in values)


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        if value is _MISSING:
            return False
        if isinstance(rule, int | float) and not isinstance(rule, bool):
            return _is_number(value) and float(value) == float(rule)
        return bool(rule == value)
    name, argument = next(iter(rule.items()))
    if name == "exists":
        return (value is not _MISSING) == argument
    if value is _MISSING:
        return False
    if name == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == argument.lower()
    if name == "anything-but":
        return _anything_but(argument, value)
    if name == "numeric":
        return _is_number(value) and all(
            _compare(float(value), operator, bound)
            for operator, bound in _numeric_rule(argument) or []
        )
    return False


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, dict):
        if "prefix" in argument:
            return not (isinstance(value, str) and value.startswith(argument["prefix"]))
        if "suffix" in argument:
            return not (isinstance(value, str) and value.endswith(argument["suffix"]))
        return True
    excluded = argument if isinstance(argument, list) else [argument]
    return all(not _rule_matches(item, value) for item in excluded)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(value: float, operator: str, bound: float) -> bool:
    return {
        "<": value < bound,
        "<=": value <= bound,
        "=": value == bound,
        ">=": value >= bound,
        ">": value > bound,
    }[operator]
