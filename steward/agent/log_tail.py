"""Following a log file that Log4j rolls over (`server.log` -> `server.log.1` -> `server.log.2`
...), line by line, from a position that survives a restart of the reader.

A position is the file's inode and a byte offset in it: it stays valid while the file is renamed
by a rollover, so a reader that starts again finds where it stopped in whichever rolled file now
holds it, and reads on through the newer files to the current one. Reading never writes, locks or
waits for the file: the process that logs is never slowed by it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_LINE_BYTES = 16 * 1024
"""A longer line is cut into lines of this size."""


@dataclass(frozen=True)
class Position:
    inode: int
    offset: int

    def to_dict(self) -> dict[str, int]:
        return {"inode": self.inode, "offset": self.offset}

    @classmethod
    def from_dict(cls, data: object) -> Position | None:
        if not isinstance(data, dict):
            return None
        inode, offset = data.get("inode"), data.get("offset")
        if not isinstance(inode, int) or not isinstance(offset, int) or offset < 0:
            return None
        return cls(inode, offset)


@dataclass(frozen=True)
class TailedLine:
    text: str
    start: Position
    """Where the line begins: reading again from here reads this line first."""


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


class LogTailer:
    def __init__(self, path: Path, start: Position | None = None) -> None:
        """Follow `path` from `start`; without one, from the end of the file as it is now (or from
        the beginning of the file once it appears, when there is none yet)."""
        self.path = path
        if start is None:
            with contextlib.suppress(OSError):
                stat = path.stat()
                start = Position(stat.st_ino, stat.st_size)
        self._start = start
        self._file: BinaryIO | None = None
        self._inode = 0
        self._offset = 0

    @property
    def position(self) -> Position | None:
        """Where the next line will be read from (None before the file was first opened)."""
        if self._file is None:
            return self._start
        return Position(self._inode, self._offset)

    def close(self) -> None:
        if self._file is not None:
            self._start = self.position
            self._file.close()
            self._file = None

    def rolled_files(self) -> list[Path]:
        """The file and its rolled-over copies, oldest first (`server.log.5` ... `.1`, `.log`)."""
        rolled: list[tuple[int, Path]] = []
        with contextlib.suppress(OSError):
            for entry in self.path.parent.iterdir():
                suffix = entry.name.removeprefix(self.path.name + ".")
                if entry.name != suffix and suffix.isdigit():
                    rolled.append((int(suffix), entry))
        return [path for _, path in sorted(rolled, reverse=True)] + [self.path]

    def read(self, limit: int = 1000) -> list[TailedLine]:
        """The complete lines written since the last call (at most `limit`)."""
        lines: list[TailedLine] = []
        if self._file is None and not self._open_first():
            return lines
        assert self._file is not None
        while len(lines) < limit:
            start = self._offset
            raw = self._file.readline(MAX_LINE_BYTES)
            complete = raw.endswith(b"\n") or len(raw) >= MAX_LINE_BYTES
            if raw and not complete and self._is_rolled() and self._at_end(start + len(raw)):
                complete = True  # the last line of a rolled file stays as it is
            if raw and complete:
                self._offset = start + len(raw)
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                lines.append(TailedLine(text, Position(self._inode, start)))
                continue
            self._file.seek(start)  # an incomplete line: read it again once it is whole
            if not self._advance():
                break
        return lines

    # --- files ----------------------------------------------------------------------------------
    def _open(self, path: Path, offset: int) -> bool:
        try:
            file = open(path, "rb")  # noqa: SIM115 - kept open while the file is followed
        except OSError:
            return False
        stat = os.fstat(file.fileno())
        if offset > stat.st_size:
            offset = 0  # not the file the position was in after all
        file.seek(offset)
        if self._file is not None:
            self._file.close()
        self._file, self._inode, self._offset = file, stat.st_ino, offset
        return True

    def _open_first(self) -> bool:
        start = self._start
        if start is None:
            return self._open(self.path, 0)
        files = self.rolled_files()
        for path in files:
            if _inode(path) == start.inode:
                return self._open(path, start.offset)
        # The file of the position is gone (rolled past the kept copies): the oldest one left.
        return any(self._open(path, 0) for path in files)

    def _is_rolled(self) -> bool:
        """Whether the file being read is no longer the current one."""
        current = _inode(self.path)
        return current is not None and current != self._inode

    def _at_end(self, offset: int) -> bool:
        assert self._file is not None
        return os.fstat(self._file.fileno()).st_size <= offset

    def _advance(self) -> bool:
        """At the end of what the file has: move to the next file when it was rolled over, or back
        to its beginning when it was truncated. True when there may be more to read now."""
        assert self._file is not None
        size = os.fstat(self._file.fileno()).st_size
        if not self._is_rolled():
            if size < self._offset:  # truncated in place
                self._file.seek(0)
                self._offset = 0
                return True
            return False
        if size > self._offset:
            return True  # written just before it was rolled: read that first
        files = self.rolled_files()
        inodes = [_inode(path) for path in files]
        following = files[inodes.index(self._inode) + 1 :] if self._inode in inodes else files[-1:]
        return any(self._open(path, 0) for path in following)
