"""Replacing a file whole: a reader sees the old content or the new, never a part of either."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def replace_file(
    path: Path, content: str | bytes, *, private: bool = False, sync: bool = False
) -> None:
    """Write `content` to a new file beside `path`, then rename it over `path`.

    `private`: readable and writable by the owner only (mode 0600) from the first byte, for
    secrets. `sync`: on disk before it replaces the old file, for what must survive a crash of
    the machine. The temporary file's name is unique to the process, the thread and the moment,
    so that writers of the same file never share one."""
    tmp = path.with_name(
        f".{path.name}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}.tmp"
    )
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            if sync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
