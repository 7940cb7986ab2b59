"""Capping a process's memory with a Linux cgroup of its own, as a function's MemorySize asks.

A capped process runs in `<own group>/steward-functions/<key>`, where `<own group>` is the group
of the memory hierarchy the calling process (Steward) is in, so that whatever memory Steward is
given (a systemd unit's MemoryMax, a container's limit) still bounds its functions together. The
group's limit is the memory the process may use, swap included (none beyond it), and the kernel
kills the process when it needs more, as Lambda kills an environment that outgrows MemorySize:

- cgroup v2: `memory.max`, `memory.swap.max` 0 and `memory.oom.group` 1 (a process and its
  children are killed together); `memory.events` counts the kills. The memory controller must be
  given to the group's parents, which v2 allows only where Steward's own group holds no
  processes or is the root (a container with a cgroup namespace of its own, say);
- cgroup v1: `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` (where swap is
  accounted); `memory.oom_control` counts the kills;
- neither, or not writable: `place` says no, and the caller falls back to an address-space limit
  (`reason` says why, for the function's log).

The hierarchy is found as `steward.agent.cgroups` finds the CPU one (`$STEWARD_CGROUP_ROOT`, else
/sys/fs/cgroup); a plain directory laid out like one stands in for it in tests. A group is
removed as soon as its process is gone (`release`, which kills what is still in it), and groups
left empty by a Steward that died are swept by the next one (`remove_empty_groups`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from steward.agent.cgroups import (
    CGROUP_ROOT_ENV,
    DEFAULT_CGROUP_ROOT,
    enable_controller_below,
    remove_group,
    write_file,
)

log = logging.getLogger("steward.agent.memory_groups")

MEMORY_PARENT = "steward-functions"
"""The group, under Steward's own, that holds one group per capped process."""
RELEASE_WAIT = 5.0
"""How long `release` waits for the kernel to empty a group it killed the processes of."""


@dataclass(frozen=True)
class MemoryHierarchy:
    """Where capped processes' groups go: `base` is Steward's own group in a writable memory
    hierarchy (or the hierarchy's root), `version` the cgroup version."""

    base: Path
    version: Literal[1, 2]

    @property
    def limit_file(self) -> str:
        return "memory.max" if self.version == 2 else "memory.limit_in_bytes"

    @property
    def parent(self) -> Path:
        return self.base / MEMORY_PARENT


def own_group(proc_cgroup: str, version: Literal[1, 2]) -> str:
    """The path of the memory group a process is in, from the text of its /proc/PID/cgroup:
    the `0::` line on v2, the line whose controllers include `memory` on v1; "/" if none."""
    for line in proc_cgroup.splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if version == 2 and number == "0" and controllers == "":
            return path or "/"
        if version == 1 and "memory" in controllers.split(","):
            return path or "/"
    return "/"


def find_memory_hierarchy(root: Path, own: str | None = None) -> tuple[MemoryHierarchy | None, str]:
    """The memory hierarchy under `root` Steward may make groups in, and a sentence saying how
    memory is capped there (or why it cannot be). `own`: Steward's group in it (default: read
    from /proc/self/cgroup); a group that is not under `root` (a stand-in) means the root."""
    controllers = root / "cgroup.controllers"
    version: Literal[1, 2]
    if controllers.is_file():
        try:
            available = controllers.read_text().split()
        except OSError as error:
            return None, f"cgroup v2 at {root} cannot be read: {error}"
        if "memory" not in available:
            return None, f"cgroup v2 at {root} has no memory controller"
        version, hierarchy = 2, root
    else:
        hierarchy = next(
            (c for c in (root / "memory", root) if (c / "memory.limit_in_bytes").is_file()), root
        )
        if not (hierarchy / "memory.limit_in_bytes").is_file():
            return None, f"no cgroup memory controller under {root}"
        version = 1
    if own is None:
        try:
            own = own_group(Path("/proc/self/cgroup").read_text(), version)
        except OSError:
            own = "/"
    base = hierarchy / own.strip("/")
    if not base.is_dir():
        base = hierarchy
    if not os.access(base, os.W_OK):
        return None, f"the cgroup memory controller at {base} is not writable"
    found = MemoryHierarchy(base, version)
    return found, f"cgroup v{version} {found.limit_file}"


class MemoryGroups:
    """One memory-capped group per process, `<base>/steward-functions/<key>`. Every method is
    a no-op (and `place` answers False) when the host offers no writable memory hierarchy."""

    def __init__(self, hierarchy: MemoryHierarchy | None, reason: str = "") -> None:
        self.hierarchy = hierarchy
        self.reason = reason or ("cgroups" if hierarchy else "no cgroup memory controller")
        """How memory is capped, or why cgroups cannot cap it, in a few words for a log."""
        self._refused = False
        """Whether making a group failed for a reason that will not pass (then `place` stops
        trying, and `reason` says why); groups made before are still released."""

    @classmethod
    def for_host(cls, root: Path | None = None, own: str | None = None) -> MemoryGroups:
        """The groups of this host: under `root`, else `$STEWARD_CGROUP_ROOT`, else
        /sys/fs/cgroup. Says once, at INFO, whether memory is capped with cgroups."""
        if root is None:
            root = Path(os.environ.get(CGROUP_ROOT_ENV) or DEFAULT_CGROUP_ROOT)
        hierarchy, reason = find_memory_hierarchy(root, own)
        if hierarchy is None:
            log.info("function memory is capped by address space only: %s", reason)
        else:
            log.info("function memory is capped with %s under %s", reason, hierarchy.parent)
        return cls(hierarchy, reason)

    @property
    def enforced(self) -> bool:
        return self.hierarchy is not None and not self._refused

    def group(self, key: str) -> Path | None:
        """The directory of the process's group (which may not exist), or None when not
        enforced."""
        return None if self.hierarchy is None else self.hierarchy.parent / key

    def place(self, key: str, pid: int, limit_bytes: int) -> bool:
        """Put process `pid` in a group of its own capped at `limit_bytes`, swap included. False,
        with a warning and the cause in `reason`, when that failed (the process is not capped by
        a cgroup then); False too when cgroups are not available."""
        if self.hierarchy is None or self._refused:
            return False
        group = self.hierarchy.parent / key
        problem: OSError | None = None
        joining = False
        for _ in range(3):
            try:
                joining = False
                self._make_group(group)
                self._cap(group, limit_bytes)
                joining = True
                write_file(group / "cgroup.procs", str(pid))
                return True
            except FileNotFoundError as error:
                problem = error  # another process swept the group while it was still empty
            except OSError as error:
                problem = error
                break
        reason = f"cgroup {group} cannot be used: {problem}"
        log.warning("pid %d runs without a memory cgroup: %s", pid, reason)
        with contextlib.suppress(OSError):
            remove_group(group)
        if not joining:  # groups cannot be made or capped here (v2 with processes in the
            # parent, a read-only mount): say so once, and stop trying
            self._refused, self.reason = True, reason
        return False

    def out_of_memory(self, key: str) -> bool:
        """Whether the kernel killed a process of the group for want of memory."""
        group = self.group(key)
        if group is None or self.hierarchy is None:
            return False
        events = "memory.events" if self.hierarchy.version == 2 else "memory.oom_control"
        try:
            lines = (group / events).read_text().splitlines()
        except OSError:
            return False
        for line in lines:
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def peak_bytes(self, key: str) -> int | None:
        """The most memory the group has used, where the kernel says (None elsewhere)."""
        group = self.group(key)
        if group is None or self.hierarchy is None:
            return None
        name = "memory.peak" if self.hierarchy.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((group / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def release(self, key: str) -> None:
        """Kill whatever is still in the group (a child the process left behind), then remove
        the group, and the `steward-functions` group once it is empty. A group that is not
        there is fine; one that cannot be removed is a warning (the next sweep takes it)."""
        group = self.group(key)
        if group is None or not group.is_dir():
            return
        deadline = time.monotonic() + RELEASE_WAIT
        while True:
            _kill_members(group)
            try:
                remove_group(group)
                break
            except FileNotFoundError:
                break
            except OSError as error:
                if error.errno != errno.EBUSY or time.monotonic() > deadline:
                    log.warning("cannot remove cgroup %s: %s", group, error)
                    return
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            remove_group(group.parent)

    def remove_empty_groups(self) -> None:
        """Remove every group under `steward-functions` that holds no process: what is left of
        processes that ended together with the Steward that capped them. A group another process
        is just filling may go too; its `place` makes it again."""
        if self.hierarchy is None:
            return
        try:
            groups = [entry for entry in self.hierarchy.parent.iterdir() if entry.is_dir()]
        except OSError:
            return
        for group in groups:
            try:
                if (group / "cgroup.procs").read_text().strip():
                    continue
                remove_group(group)
            except OSError:
                continue
            log.info("removed the empty cgroup %s", group)
        with contextlib.suppress(OSError):
            remove_group(self.hierarchy.parent)

    def _make_group(self, group: Path) -> None:
        assert self.hierarchy is not None
        if self.hierarchy.version == 2:
            enable_controller_below(self.hierarchy.base, "memory")
        group.parent.mkdir(exist_ok=True)
        if self.hierarchy.version == 2:
            enable_controller_below(group.parent, "memory")
        group.mkdir(exist_ok=True)

    def _cap(self, group: Path, limit_bytes: int) -> None:
        assert self.hierarchy is not None
        write_file(group / self.hierarchy.limit_file, str(limit_bytes))
        if self.hierarchy.version == 2:
            _write_if_present(group / "memory.swap.max", "0")
            _write_if_present(group / "memory.oom.group", "1")
        else:  # memsw counts memory and swap together: at the same limit, no swap
            _write_if_present(group / "memory.memsw.limit_in_bytes", str(limit_bytes))


def _write_if_present(path: Path, text: str) -> None:
    """Write a file the kernel may not offer (swap accounting off, an older kernel)."""
    if path.exists():
        write_file(path, text)


def _kill_members(group: Path) -> None:
    """SIGKILL every process of the group: with `cgroup.kill` where the kernel has it (v2, 5.14
    on), else one by one from `cgroup.procs`."""
    kill = group / "cgroup.kill"
    if kill.exists():
        with contextlib.suppress(OSError):
            write_file(kill, "1")
            return
    try:
        members = (group / "cgroup.procs").read_text().split()
    except OSError:
        return
    for member in members:
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(member), signal.SIGKILL)
