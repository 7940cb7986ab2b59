"""CloudWatch's metric math, the part GetMetricData's `Expression` needs most: the ids of other
queries, numbers, `+ - * /`, parentheses, arrays `[m1, m2]`, `METRICS()` (every metric query),
and the functions SUM, AVG, MIN and MAX.

As in CloudWatch, a function of an array of series gives one series (at each timestamp, over the
series that have a value there); a function of one series gives a scalar (over all its values).
Arithmetic between two series keeps the timestamps both have; with a scalar, every timestamp.
A division by zero leaves that timestamp out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Series = dict[float, float]
Value = float | Series | list[Series]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<symbol>[-+*/()\[\],]))"
)
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
    "MIN": min,
    "MAX": max,
}


class ExpressionError(ValueError):
    """An expression that cannot be read or computed; the message says why."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"Unexpected character at {position + 1}: {text[position:]!r}")
        kind = match.lastgroup or ""
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
    return found


def referenced_ids(text: str) -> set[str]:
    """The query ids an expression reads (names that are not functions)."""
    return {
        t.text
        for t in tokens(text)
        if t.kind == "name" and t.text.upper() not in (*_AGGREGATES, "METRICS")
    }


class _Parser:
    def __init__(self, text: str, values: Mapping[str, Series], metric_ids: list[str]) -> None:
        self.tokens = tokens(text)
        self.position = 0
        self.values = values
        self.metric_ids = metric_ids

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, symbol: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (symbol is not None and token.text != symbol):
            raise ExpressionError(f"Expected {symbol or 'more'} in the expression.")
        self.position += 1
        return token

    def parse(self) -> Value:
        value = self.sum()
        if self.peek() is not None:
            raise ExpressionError(f"Unexpected {self.peek().text!r} in the expression.")  # type: ignore[union-attr]
        return value

    def sum(self) -> Value:
        value = self.product()
        while (token := self.peek()) is not None and token.text in "+-":
            self.take()
            value = _combine(value, self.product(), token.text)
        return value

    def product(self) -> Value:
        value = self.unary()
        while (token := self.peek()) is not None and token.text in ("*", "/"):
            self.take()
            value = _combine(value, self.unary(), token.text)
        return value

    def unary(self) -> Value:
        token = self.peek()
        if token is not None and token.text == "-":
            self.take()
            return _combine(-1.0, self.unary(), "*")
        return self.atom()

    def atom(self) -> Value:
        token = self.take()
        if token.kind == "number":
            return float(token.text)
        if token.text == "(":
            value = self.sum()
            self.take(")")
            return value
        if token.text == "[":
            items: list[Series] = []
            while True:
                item = self.sum()
                items.extend(_as_list(item))
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.take()
                    continue
                self.take("]")
                return items
        if token.kind == "name":
            upper = token.text.upper()
            following = self.peek()
            if following is not None and following.text == "(":
                self.take("(")
                if upper == "METRICS":
                    self.take(")")
                    return [dict(self.values[i]) for i in self.metric_ids]
                if upper not in _AGGREGATES:
                    raise ExpressionError(f"Unknown function {token.text}.")
                argument = self.sum()
                self.take(")")
                return _aggregate(upper, argument)
            if token.text not in self.values:
                raise ExpressionError(f"Unknown id {token.text} in the expression.")
            return dict(self.values[token.text])
        raise ExpressionError(f"Unexpected {token.text!r} in the expression.")


def _as_list(value: Value) -> list[Series]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise ExpressionError("An array holds series, not numbers.")


def _aggregate(name: str, argument: Value) -> Value:
    function = _AGGREGATES[name]
    if isinstance(argument, list):
        by_time: dict[float, list[float]] = {}
        for series in argument:
            for ts, value in series.items():
                by_time.setdefault(ts, []).append(value)
        return {ts: function(values) for ts, values in sorted(by_time.items())}
    if isinstance(argument, dict):
        return function(list(argument.values())) if argument else float("nan")
    return argument


def _apply(left: float, right: float, op: str) -> float | None:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return None if right == 0 else left / right


def _combine(left: Value, right: Value, op: str) -> Value:
    if isinstance(left, list) or isinstance(right, list):
        if isinstance(left, list) and isinstance(right, list):
            raise ExpressionError("Arithmetic between two arrays is not supported.")
        if isinstance(left, list):
            return [_as_series(_combine(item, right, op)) for item in left]
        assert isinstance(right, list)
        return [_as_series(_combine(left, item, op)) for item in right]
    if isinstance(left, dict) and isinstance(right, dict):
        out: Series = {}
        for ts in sorted(set(left) & set(right)):
            found = _apply(left[ts], right[ts], op)
            if found is not None:
                out[ts] = found
        return out
    if isinstance(left, dict):
        assert isinstance(right, float)
        return _dropping_none({ts: _apply(v, right, op) for ts, v in left.items()})
    if isinstance(right, dict):
        return _dropping_none({ts: _apply(left, v, op) for ts, v in right.items()})
    found = _apply(left, right, op)
    return float("nan") if found is None else found


def _as_series(value: Value) -> Series:
    if not isinstance(value, dict):
        raise ExpressionError("Expected a series.")
    return value


def _dropping_none(values: Mapping[float, float | None]) -> Series:
    return {ts: v for ts, v in values.items() if v is not None}


def evaluate(
    text: str, values: Mapping[str, Series], metric_ids: list[str], timestamps: list[float]
) -> list[Series]:
    """The series an expression gives (several for an array); a scalar is given at every one
    of `timestamps` (those of the series it was computed from)."""
    result = _Parser(text, values, metric_ids).parse()
    if isinstance(result, list):
        return result
    if isinstance(result, dict):
        return [result]
    if result != result:  # NaN: nothing to show
        return [{}]
    return [{ts: result for ts in timestamps}]
