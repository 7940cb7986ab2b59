"""Telling whether a process the agent once started is still that process, from /proc (Linux).

A PID alone is not an identity: after a reboot or a long time the kernel hands it to another
process. A process is ours when its start time (field 22 of /proc/<pid>/stat, clock ticks since
boot) matches what was recorded at spawn and its command line still names the node's files.

A process that is in the middle of execve() has an empty command line: `subprocess.Popen` returns
as soon as the exec has closed the child's close-on-exec pipe, a moment before the kernel sets up
the new program's arguments. `is_same_process` waits that moment out instead of taking such a
process for a stranger (which would make a new agent start a second Kafka on the same node).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")

EXEC_GRACE = 1.0
"""Seconds a live process may show an empty command line (an exec in progress) before
`is_same_process` gives up on it."""


@dataclass(frozen=True)
class ProcStat:
    state: str
    """R, S, D, Z, ... (field 3)."""
    start_ticks: int
    """Start time in clock ticks after boot (field 22)."""
    cpu_ticks: int = 0
    """CPU time used so far, user and system, all threads (fields 14 and 15), in clock ticks."""

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_ticks / CLOCK_TICKS

    @property
    def is_zombie(self) -> bool:
        return self.state in ("Z", "X", "x")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def read_stat(pid: int) -> ProcStat | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # Field 2 (the command name) is in parentheses and may hold spaces or ')'.
    rest = text.rsplit(")", 1)[1].split()
    return ProcStat(
        state=rest[0], start_ticks=int(rest[19]), cpu_ticks=int(rest[11]) + int(rest[12])
    )


def read_cmdline(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_same_process(
    pid: int,
    start_ticks: int | None,
    argument: str | None = None,
    *,
    exec_grace: float = EXEC_GRACE,
) -> bool:
    """The process `pid` is alive (not a zombie), started at `start_ticks` and, when `argument`
    is given, has it as one of its command-line arguments. A command line that is still empty
    (an exec in progress) is read again for up to `exec_grace` seconds."""
    stat = read_stat(pid)
    if stat is None or stat.is_zombie:
        return False
    if start_ticks is not None and stat.start_ticks != start_ticks:
        return False
    if argument is not None:
        cmdline = _settled_cmdline(pid, stat.start_ticks, exec_grace)
        if cmdline is None or argument not in cmdline:
            return False
    return True


def _settled_cmdline(pid: int, start_ticks: int, grace: float) -> list[str] | None:
    """The command line of `pid` once its exec (if any) has finished; None when the process is
    gone, is a zombie (whose command line is empty too) or is no longer the one that started at
    `start_ticks`."""
    deadline = time.monotonic() + grace
    while True:
        cmdline = read_cmdline(pid)
        if cmdline != [] or time.monotonic() >= deadline:
            return cmdline
        time.sleep(0.001)
        stat = read_stat(pid)
        if stat is None or stat.is_zombie or stat.start_ticks != start_ticks:
            return None


def signal_process_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group `pid` leads (processes started with start_new_session=True), or
    just `pid` when it leads none. A process that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def pids_with_argument_containing(text: str) -> list[int]:
    """Live processes with a command-line argument that contains `text`, lowest pid first."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmdline = read_cmdline(int(entry.name))
        if cmdline and any(text in argument for argument in cmdline):
            found.append(int(entry.name))
    return sorted(found)
