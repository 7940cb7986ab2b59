"""How results reach the user: Rich tables and key/value listings, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_WIDE = 1000
"""Console width when stdout is a pipe: long ARNs stay on one line instead of wrapping at 80."""


def _console(stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=_WIDE)
    return console


def response_data(response: Mapping[str, Any]) -> dict[str, Any]:
    """A boto3 response without its ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default)


def format_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # MSK models broker ids as doubles
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


class Output:
    """Prints to stdout in the chosen format; progress and errors go to `self.err` (stderr)."""

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.out = _console(stderr=False)
        self.err = _console(stderr=True)

    @property
    def is_json(self) -> bool:
        return self.format == "json"

    def json(self, data: Any) -> None:
        if isinstance(data, Mapping) and "ResponseMetadata" in data:
            data = response_data(data)
        self.out.print(to_json(data), markup=False, soft_wrap=True)

    def text(self, message: str) -> None:
        self.out.print(message, markup=False, soft_wrap=True)

    def note(self, message: str) -> None:
        """A line for people (stderr), so that stdout stays machine-readable."""
        self.err.print(message, markup=False, soft_wrap=True)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell(value)) for value in row))
        self._print(table)

    def fields(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """A two-column `name  value` listing of one resource; rows with no value are left out."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        for name, value in pairs:
            if value is None or value == "" or value == [] or value == {}:
                continue
            grid.add_row(name, escape(cell(value)))
        self._print(grid)

    def _print(self, renderable: Any) -> None:
        if self.out.is_terminal:
            self.out.print(renderable)
            return
        # Piped: no padding at line ends, so that grep, cut and awk see clean lines.
        with self.out.capture() as captured:
            self.out.print(renderable)
        lines = [line.rstrip() for line in captured.get().splitlines()]
        self.out.file.write("\n".join(lines) + "\n")
