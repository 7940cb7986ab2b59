"""Encryption at rest of a node's data: the directory Kafka writes to is a gocryptfs view of a
sealed directory, so what reaches the disk (or the broker's volume) is ciphertext only.

    <node>/sealed/   what is on disk: file contents and names encrypted (AES-256-GCM, EME names),
                     with gocryptfs.conf, the filesystem's own key wrapped by the cluster's data key
    <node>/data/     the clear view Kafka uses, a FUSE mount served by a gocryptfs process

The cluster's data key comes from the control plane with the node's spec and lives only in the
agent's memory and, on its way to gocryptfs, in a pipe: never on a command line, in a file, or in
a log. gocryptfs runs as a daemon of its own, so the mount outlives the agent like its Kafka
processes do, and a new agent finds it mounted; after a host restart the view is mounted again
once the control plane has sent the key.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

from steward.agent.volumes import mounts

log = logging.getLogger(__name__)

CONFIG_FILE = "gocryptfs.conf"
FUSE_TYPE = "fuse.gocryptfs"


class EncryptionError(Exception):
    """The encrypted view cannot be made or mounted."""


def mounted_type(path: Path) -> str | None:
    """The filesystem type mounted at `path` (e.g. "fuse.gocryptfs", "xfs"), None when none is."""
    target = path.resolve()
    return next((kind for point, kind in mounts() if point == target), None)


class EncryptedDirectory:
    """The gocryptfs view at `clear` of the sealed directory `sealed`."""

    def __init__(self, sealed: Path, clear: Path) -> None:
        self.sealed = sealed
        self.clear = clear

    def is_initialized(self) -> bool:
        return (self.sealed / CONFIG_FILE).is_file()

    def is_mounted(self) -> bool:
        return mounted_type(self.clear) == FUSE_TYPE

    def ensure(self, key: str | None) -> None:
        """Made (on first use) and mounted. Idempotent. Without `key` only an existing mount
        passes."""
        if self.is_mounted():
            return
        if key is None:
            raise EncryptionError(
                "its data is encrypted and the key has not come from the control plane yet"
            )
        if not self.is_initialized():
            self._initialize(key)
        self.clear.mkdir(parents=True, exist_ok=True)
        if any(self.clear.iterdir()):
            raise EncryptionError(f"{self.clear} holds files in clear; it cannot be mounted over")
        # gocryptfs forks its daemon and returns once the mount serves.
        self._gocryptfs(["-nosyslog", str(self.sealed), str(self.clear)], key)
        log.info("mounted the encrypted view of %s at %s", self.sealed, self.clear)

    def release(self) -> None:
        """Unmounted (its gocryptfs process exits with it); the sealed data stays."""
        if not self.is_mounted():
            return
        done = _run(["fusermount3", "-u", str(self.clear)])
        if done.returncode != 0:  # busy: detach now, freed when the last user goes
            _run(["fusermount3", "-u", "-z", str(self.clear)])

    def _initialize(self, key: str) -> None:
        self.sealed.mkdir(parents=True, exist_ok=True)
        if any(self.sealed.iterdir()):
            raise EncryptionError(f"{self.sealed} holds files but no {CONFIG_FILE}")
        self._gocryptfs(["-init", str(self.sealed)], key)
        log.info("made an encrypted directory in %s", self.sealed)

    @staticmethod
    def _gocryptfs(arguments: list[str], key: str) -> None:
        # Its output goes to a file, not a pipe: the daemon would hold a pipe open for good.
        with tempfile.TemporaryFile("w+") as output:
            try:
                done = subprocess.run(
                    ["gocryptfs", "-q", *arguments],
                    input=key + "\n",  # read from stdin when stdin is no terminal
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=60,
                    start_new_session=True,  # the daemon must not die with the agent's session
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                raise EncryptionError(f"gocryptfs: {error}") from error
            output.seek(0)
            reason = output.read().strip().replace(key, "<key>")
        if done.returncode != 0:
            raise EncryptionError(f"gocryptfs {arguments[0]} failed ({done.returncode}): {reason}")


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EncryptionError(f"{command[0]}: {error}") from error
