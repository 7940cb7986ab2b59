"""Dividing the host's CPU between its nodes by their CPU weight, with Linux cgroups.

Each node whose spec has a `cpu_weight` runs in its own group, `<hierarchy>/steward/<key>`, and
the group's weight decides its share of the CPU when nodes contend for it (an idle node's share
goes to the others). The hierarchy is what the host offers:

- cgroup v2 (one unified hierarchy, `cpu` in its `cgroup.controllers`): `cpu.weight` takes the
  weight as it is (1..10000, 100 is the kernel's default);
- cgroup v1 with a `cpu` hierarchy (`<root>/cpu`, or the root itself): `cpu.shares`, the weight
  scaled to v1's default of 1024 (weight 100 = 1024 shares);
- neither, or not writable (not root, a read-only mount in a container): weights are not
  enforced, which is said once at INFO, and nodes run wherever the agent runs.

The `steward` group that holds the nodes' groups weighs what they weigh together (`_weigh_parent`),
so that the nodes as a whole get the share of the host's CPU they would get each on its own.

The agent moves a node's process into its group right after spawning it (the JVM is that process;
its threads and any children follow it) and removes the group once the process is gone; a new
agent also sweeps the empty groups of nodes killed together with their agent. Nothing here ever
stops a node from running: a group that cannot be made or joined costs the node its
weight, with a warning, never its start.

The root is `/sys/fs/cgroup` unless `STEWARD_CGROUP_ROOT` (or the caller) says otherwise; a plain
directory laid out like a hierarchy stands in for one in tests.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger("steward.agent.cgroups")

CGROUP_ROOT_ENV = "STEWARD_CGROUP_ROOT"
DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP_PARENT = "steward"
"""The group under the hierarchy root that holds one group per node."""

MIN_WEIGHT, MAX_WEIGHT = 1, 10000
"""The range of cgroup v2's cpu.weight, and so of `NodeSpec.cpu_weight`."""
MAX_V1_SHARES = 262144
"""The largest cpu.shares cgroup v1 takes."""


@dataclass(frozen=True)
class CpuHierarchy:
    """A writable cgroup hierarchy with the cpu controller."""

    path: Path
    version: Literal[1, 2]

    @property
    def weight_file(self) -> str:
        return "cpu.weight" if self.version == 2 else "cpu.shares"

    def weight_value(self, weight: int) -> int:
        """What to write to `weight_file` for a CPU weight (100 = the kernel's default share)."""
        if self.version == 2:
            return weight
        return max(2, weight * 1024 // 100)  # cpu.shares is at least 2


def find_cpu_hierarchy(root: Path) -> CpuHierarchy | None:
    """The hierarchy under `root` where Steward can set CPU weights, or None when there is none
    it may write to."""
    controllers = root / "cgroup.controllers"
    if controllers.is_file():
        try:
            available = controllers.read_text().split()
        except OSError:
            return None
        usable = "cpu" in available and os.access(root, os.W_OK)
        return CpuHierarchy(root, 2) if usable else None
    for candidate in (root, root / "cpu"):
        if (candidate / "cpu.shares").is_file() and os.access(candidate, os.W_OK):
            return CpuHierarchy(candidate, 1)
    return None


class CpuGroups:
    """One cgroup per node, `<hierarchy>/steward/<key>`, holding the node's process at its CPU
    weight. Every method is a no-op when the host offers no writable hierarchy."""

    def __init__(self, hierarchy: CpuHierarchy | None) -> None:
        self.hierarchy = hierarchy

    @classmethod
    def for_host(cls, root: Path | None = None) -> CpuGroups:
        """The groups of this host: under `root`, else `$STEWARD_CGROUP_ROOT`, else
        /sys/fs/cgroup. Says once, at INFO, whether CPU weights are enforced."""
        if root is None:
            root = Path(os.environ.get(CGROUP_ROOT_ENV) or DEFAULT_CGROUP_ROOT)
        hierarchy = find_cpu_hierarchy(root)
        if hierarchy is None:
            log.info(
                "CPU weights are not enforced: no writable cgroup cpu controller under %s", root
            )
        else:
            log.info(
                "CPU weights are enforced with cgroup v%d (%s under %s)",
                hierarchy.version,
                hierarchy.weight_file,
                hierarchy.path / GROUP_PARENT,
            )
        return cls(hierarchy)

    @property
    def enforced(self) -> bool:
        return self.hierarchy is not None

    def group(self, key: str) -> Path | None:
        """The directory of the node's group (which may not exist), or None when not enforced."""
        if self.hierarchy is None:
            return None
        return self.hierarchy.path / GROUP_PARENT / key

    def place(self, key: str, pid: int, weight: int | None) -> bool:
        """Put process `pid` in the node's group at `weight`, making the group as needed; safe to
        repeat. False, with a warning, when that failed (the process runs on, unweighted); False
        too when weights are not enforced or the node has no weight."""
        if self.hierarchy is None or weight is None:
            return False
        group = self.group(key)
        assert group is not None
        value = str(self.hierarchy.weight_value(weight))
        for _ in range(3):
            try:
                self._make_group(group)
                write_file(group / self.hierarchy.weight_file, value)
                write_file(group / "cgroup.procs", str(pid))
                self._weigh_parent(group.parent)
                return True
            except FileNotFoundError as error:
                problem = error  # another agent swept the group (or its parent) while still empty
            except OSError as error:
                problem = error
                break
        log.warning(
            "%s (pid %d) runs without its CPU weight %d: cannot use cgroup %s: %s",
            key,
            pid,
            weight,
            group,
            problem,
        )
        return False

    def release(self, key: str) -> None:
        """Remove the node's group (its process must be gone), and the `steward` group once it
        is empty. A group that is not there is fine; one that cannot be removed is a warning."""
        group = self.group(key)
        if group is None:
            return
        try:
            remove_group(group)
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("cannot remove cgroup %s: %s", group, error)
            return
        try:
            remove_group(group.parent)
        except OSError:  # refused while another node (any agent's) has one: it weighs less now
            self._weigh_parent(group.parent)

    def remove_empty_groups(self) -> None:
        """Remove every node group that holds no process: what is left of nodes whose processes
        were killed together with their agent and whose directories are gone. Groups of other
        agents' running nodes hold their process and stay; so does a group another agent is
        just filling (its `place` makes it again should it go)."""
        if self.hierarchy is None:
            return
        parent = self.hierarchy.path / GROUP_PARENT
        try:
            groups = [entry for entry in parent.iterdir() if entry.is_dir()]
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
        try:
            remove_group(parent)
        except OSError:
            self._weigh_parent(parent)

    def _weigh_parent(self, parent: Path) -> None:
        """Give the `steward` group the sum of its nodes' weights. The kernel divides the CPU
        between siblings: a group of its own at the default weight would make all of the host's
        nodes together weigh what one process at its default weight does (and on cgroup v1 one
        busy thread of a process outside any group), so that under contention a node got a
        fraction of the CPU the same Kafka started by hand gets. Weighing what they weigh
        together, the nodes compete with the host's other work as they would each alone, and
        still share by their weights among themselves. Best effort: a weight that cannot be
        read or written leaves the group as it is."""
        assert self.hierarchy is not None
        weight_file = self.hierarchy.weight_file
        total = 0
        with contextlib.suppress(OSError):
            for child in parent.iterdir():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if child.is_dir():
                        total += int((child / weight_file).read_text().split()[0])
        if total <= 0:
            return
        limit = MAX_WEIGHT if self.hierarchy.version == 2 else MAX_V1_SHARES
        with contextlib.suppress(OSError):
            write_file(parent / weight_file, str(min(total, limit)))

    def _make_group(self, group: Path) -> None:
        assert self.hierarchy is not None
        if self.hierarchy.version == 2:
            enable_controller_below(self.hierarchy.path, "cpu")
        group.parent.mkdir(exist_ok=True)
        if self.hierarchy.version == 2:
            enable_controller_below(group.parent, "cpu")
        group.mkdir(exist_ok=True)


def enable_controller_below(group: Path, controller: str) -> None:
    """cgroup v2: give the group's children `controller` (cpu: their cpu.weight; memory: their
    memory.max)."""
    control = group / "cgroup.subtree_control"
    try:
        if controller in control.read_text().split():
            return
    except FileNotFoundError:
        pass
    write_file(control, f"+{controller}")


def write_file(path: Path, text: str) -> None:
    """One write(2) of `text`, so that the kernel's answer (ESRCH, EINVAL, ...) is raised here."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def remove_group(group: Path) -> None:
    """rmdir the group. The kernel removes a real group with its interface files (EBUSY while it
    holds a process or a child group); a stand-in directory needs its plain files removed first."""
    try:
        group.rmdir()
    except OSError as error:
        if error.errno != errno.ENOTEMPTY or any(entry.is_dir() for entry in group.iterdir()):
            raise
        for entry in group.iterdir():  # a real group never answers ENOTEMPTY: a stand-in
            entry.unlink()
        group.rmdir()
