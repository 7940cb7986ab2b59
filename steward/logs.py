"""How Steward's processes (the control plane and the host agents) log.

At INFO a log says what a person running Steward needs: operations as they start, step by step
and as they end, repairs, refusals of API requests, warnings. The chatter of the libraries Steward
talks through (every HTTP request to an agent, every Kafka client connection) is at DEBUG: it
shows only when the level is DEBUG. Two formats: `text`, one line a record, and `json`, one JSON
object a line (time, level, logger, message, and the exception when there is one) for log
collectors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")

CHATTY = ("httpx", "httpcore", "uvicorn.access", "urllib3", "botocore", "asyncio")
"""Libraries whose INFO records are per request or per connection."""


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str = "") -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.process:
            entry["process"] = self.process
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def check_level(level: str) -> str:
    upper = level.upper()
    if upper not in LEVELS:
        raise ValueError(f"log level {level!r}: give one of {', '.join(LEVELS)}")
    return upper


def check_format(fmt: str) -> str:
    lower = fmt.lower()
    if lower not in FORMATS:
        raise ValueError(f"log format {fmt!r}: give one of {', '.join(FORMATS)}")
    return lower


def configure(
    level: str,
    fmt: str,
    handlers: Sequence[logging.Handler],
    process: str = "",
) -> None:
    """Route the root logger to `handlers` at `level`, in `fmt` (`text` or `json`); `process`
    names the process in each record (e.g. `agent[az-a]`)."""
    level, fmt = check_level(level), check_format(fmt)
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter(process)
    else:
        who = f"{process} " if process else ""
        formatter = logging.Formatter(f"%(asctime)s %(levelname)s {who}%(name)s: %(message)s")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)
