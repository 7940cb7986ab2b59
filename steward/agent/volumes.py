"""A broker's data volume: a filesystem of its own, as large as the cluster's `VolumeSize`.

With volumes on (`STEWARD_BROKER_VOLUMES=loop`, or `auto` where the host allows it), each broker's
data directory is the mount point of an XFS filesystem in a sparse image file beside it
(`volume.img`), attached to a loop device. Kafka then meets the size for real: a full volume
fails its log directory and the broker stops, as on an EBS volume. The image takes only the disk
its data takes. Without volumes the data directory is a plain directory on the host's disk and the
size is only what Steward reports usage against.

A volume only grows: a bigger size grows the image, the loop device and the filesystem while
Kafka runs. XFS is the filesystem Kafka's documentation recommends, it grows online with
CAP_SYS_ADMIN alone (ext4's online resize also needs CAP_SYS_RESOURCE, which sandboxes drop), and
it has no `lost+found`, which Kafka would take for a partition directory and refuse to start on.

Mounts live in the host's mount namespace (agents enter only their zone's network namespace), so
they outlive the agent like its Kafka processes, and a new agent finds them mounted. An image is
attached to at most one loop device: two devices over one file would be two writers of one
filesystem.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

VolumeMode = Literal["directory", "loop", "auto"]
VOLUMES_ENV = "STEWARD_BROKER_VOLUMES"
GIB = 1024**3
_TOOLS = ("mkfs.xfs", "xfs_growfs", "losetup", "mount", "umount")


class VolumeError(Exception):
    """The volume cannot be made, mounted or grown."""


@dataclass(frozen=True)
class VolumeUsage:
    size_bytes: int
    """What the filesystem holds in all."""
    used_bytes: int

    @property
    def free_bytes(self) -> int:
        return max(0, self.size_bytes - self.used_bytes)

    @property
    def used_percent(self) -> float:
        return 100.0 * self.used_bytes / self.size_bytes if self.size_bytes else 0.0


def volume_mode() -> VolumeMode:
    """STEWARD_BROKER_VOLUMES: "directory" (the default), "loop" or "auto"."""
    value = os.environ.get(VOLUMES_ENV, "directory").strip().lower()
    if value not in ("directory", "loop", "auto"):
        raise VolumeError(f"{VOLUMES_ENV}={value!r}: use directory, loop or auto")
    return value  # type: ignore[return-value]


def loop_volumes_supported() -> bool:
    """Root, the filesystem tools, and a loop device to be had."""
    if os.geteuid() != 0 or any(shutil.which(tool) is None for tool in _TOOLS):
        return False
    return Path("/dev/loop-control").exists()


def usage(mount_point: Path) -> VolumeUsage | None:
    """Size and use of the filesystem mounted at `mount_point`, None when nothing is."""
    if not os.path.ismount(mount_point):
        return None
    stat = os.statvfs(mount_point)
    size = stat.f_blocks * stat.f_frsize
    return VolumeUsage(size_bytes=size, used_bytes=size - stat.f_bfree * stat.f_frsize)


class LoopVolume:
    """The volume in `image`, mounted at `mount_point`."""

    def __init__(self, image: Path, mount_point: Path) -> None:
        self.image = image
        self.mount_point = mount_point

    def exists(self) -> bool:
        return self.image.exists()

    def ensure(self, size_gb: int) -> None:
        """Made, at least `size_gb` GiB, and mounted. Idempotent. A data directory that already
        holds files (a node from before volumes were on) is left a plain directory: mounting over
        it would hide its data."""
        wanted = size_gb * GIB
        mounted = os.path.ismount(self.mount_point)
        grown = False
        if not self.image.exists():
            if mounted:
                raise VolumeError(f"{self.mount_point} is a mount point, but not of {self.image}")
            if self.mount_point.is_dir() and any(self.mount_point.iterdir()):
                log.warning("%s holds data already; it stays a plain directory", self.mount_point)
                return
            self._make(wanted)
        elif self.image.stat().st_size < wanted:
            self._grow_image(wanted)
            grown = True
        if not mounted:
            self._mount()
        if grown or not mounted:  # the image may have grown while it was not mounted
            _run(["xfs_growfs", str(self.mount_point)])

    def release(self) -> None:
        """Unmounted and detached; the image stays."""
        if os.path.ismount(self.mount_point):
            done = _run(["umount", str(self.mount_point)], check=False)
            if done.returncode != 0:  # still busy: detach now, freed when the last user goes
                _run(["umount", "-l", str(self.mount_point)])
        for device in self._devices():
            _run(["losetup", "-d", device], check=False)

    def set_aside(self) -> Path | None:
        """Unmount the volume and keep its image under another name (never deleted), so that a
        fresh one takes its place. The moved image's path, None when there was none."""
        if not self.image.exists():
            return None
        self.release()
        aside = self.image.with_name(f"{self.image.name}.lost-{int(time.time())}")
        self.image.rename(aside)
        return aside

    def usage(self) -> VolumeUsage | None:
        return usage(self.mount_point)

    # --- the steps ------------------------------------------------------------------------------
    def _make(self, size: int) -> None:
        self.mount_point.mkdir(parents=True, exist_ok=True)
        partial = self.image.with_name(f".{self.image.name}.making")
        with open(partial, "wb") as handle:
            handle.truncate(size)  # sparse: takes no disk until written
        _run(["mkfs.xfs", "-q", "-f", "-L", "steward-data", str(partial)])
        partial.replace(self.image)
        log.info("made a %d GiB volume in %s", size // GIB, self.image)

    def _grow_image(self, size: int) -> None:
        with open(self.image, "r+b") as handle:
            handle.truncate(size)
        for device in self._devices():
            _run(["losetup", "-c", device])  # the device takes the file's new size
        log.info("grew %s to %d GiB", self.image, size // GIB)

    def _mount(self) -> None:
        self.mount_point.mkdir(parents=True, exist_ok=True)
        devices = self._devices()
        if devices:  # attached already (mounted elsewhere, or left over): never a second device
            _run(["mount", devices[0], str(self.mount_point)])
        else:
            _run(["mount", "-o", "loop", str(self.image), str(self.mount_point)])

    def _devices(self) -> list[str]:
        done = _run(["losetup", "-n", "-O", "NAME", "-j", str(self.image)], check=False)
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def _run(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise VolumeError(f"{command[0]}: {error}") from error
    if check and done.returncode != 0:
        raise VolumeError(f"{' '.join(command)}: {(done.stderr or done.stdout).strip()}")
    return done


def release_volumes_under(root: Path) -> list[Path]:
    """Unmount every volume mounted below `root` and detach the loop devices of the images
    below it (the end of a test's or a benchmark's Steward, whose agents are gone); the mount
    points released."""
    root = root.resolve()
    released = []
    for mount_point, kind in mounts():
        if mount_point == root or root in mount_point.parents:
            if kind.startswith("fuse"):  # an encrypted view, over a volume's mount maybe
                if _run(["umount", str(mount_point)], check=False).returncode != 0:
                    _run(["umount", "-l", str(mount_point)], check=False)
            else:
                LoopVolume(mount_point.parent / "volume.img", mount_point).release()
            released.append(mount_point)
    if shutil.which("losetup") is None:
        return released
    done = _run(["losetup", "-n", "-O", "NAME,BACK-FILE", "-l"], check=False)
    for line in done.stdout.splitlines():
        device, _, backing = line.strip().partition(" ")
        backing = backing.strip().removesuffix(" (deleted)")
        if backing and root in Path(backing).parents:
            _run(["losetup", "-d", device], check=False)
    return released


def mounts() -> list[tuple[Path, str]]:
    """Every mount point of this mount namespace with its filesystem type: FUSE ones first (they
    may sit on others at the same depth), then deepest first."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        before, _, after = line.partition(" - ")
        fields = before.split()
        if len(fields) > 4 and after:
            found.append((Path(fields[4].replace("\\040", " ")), after.split()[0]))
    return sorted(found, key=lambda m: (not m[1].startswith("fuse"), -len(m[0].parts)))
