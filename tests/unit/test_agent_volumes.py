"""A broker's volume of its own: a real XFS filesystem in a sparse image, loop-mounted at the
data directory, that holds only its size, grows while in use and keeps what it holds across a
remount. Needs root and loop devices; skipped elsewhere."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from steward.agent.supervisor import NodeSupervisor
from steward.agent.volumes import GIB, LoopVolume, loop_volumes_supported, release_volumes_under

pytestmark = pytest.mark.skipif(not loop_volumes_supported(), reason="needs root and loop devices")


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[LoopVolume]:
    made = LoopVolume(tmp_path / "volume.img", tmp_path / "data")
    yield made
    made.release()


def test_a_volume_holds_its_size_and_no_more(volume: LoopVolume) -> None:
    volume.ensure(1)
    assert os.path.ismount(volume.mount_point)
    assert list(volume.mount_point.iterdir()) == []  # nothing for Kafka to take for a partition
    assert volume.image.stat().st_blocks * 512 < 200 * 1024**2  # sparse
    found = volume.usage()
    assert found is not None and 0.9 * GIB < found.size_bytes <= GIB
    full = subprocess.run(
        ["fallocate", "-l", str(2 * GIB), str(volume.mount_point / "ballast")],
        capture_output=True,
        text=True,
    )
    assert full.returncode != 0 and "No space left" in full.stderr


def test_a_volume_grows_under_an_open_file_and_keeps_its_data(volume: LoopVolume) -> None:
    volume.ensure(1)
    marker = volume.mount_point / "segment.log"
    with open(marker, "w") as handle:
        handle.write("kept")
        handle.flush()
        volume.ensure(3)  # grown while a file is open on it
        handle.write(" and more")
    found = volume.usage()
    assert found is not None and 2.7 * GIB < found.size_bytes <= 3 * GIB
    volume.ensure(2)  # never shrinks
    assert volume.usage() == found or volume.usage().size_bytes == found.size_bytes  # type: ignore[union-attr]
    volume.release()
    assert not os.path.ismount(volume.mount_point)
    volume.ensure(3)  # mounted again, same filesystem
    assert marker.read_text() == "kept and more"


def test_a_data_directory_with_files_stays_a_plain_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.properties").write_text("node.id=1\n")
    LoopVolume(tmp_path / "volume.img", data).ensure(1)
    assert not os.path.ismount(data)
    assert (data / "meta.properties").exists()


def test_a_lost_volume_is_set_aside_whole(volume: LoopVolume) -> None:
    volume.ensure(1)
    (volume.mount_point / "old").write_text("x")
    aside = volume.set_aside()
    assert aside is not None and aside.exists() and not volume.image.exists()
    volume.ensure(1)
    assert list(volume.mount_point.iterdir()) == []


def test_a_broker_runs_on_its_volume_which_grows_under_it_and_goes_with_it(
    tmp_path: Path,
) -> None:
    from tests.unit.test_agent_supervisor import POLICY, Harness, spec, stand_in_command

    harness = Harness(tmp_path / "agent")
    try:
        agent = NodeSupervisor(
            harness.state_dir,
            policy=POLICY,
            command=stand_in_command,
            cgroup_root=harness.cgroup_root,
            volumes="loop",
        )
        small = replace(spec(), volume_gb=1)
        status = harness.remember(agent.apply(small))
        paths = agent.paths(small.key)
        assert os.path.ismount(paths.data)
        assert (paths.data / "meta.properties").exists()  # formatted on the volume
        assert status.volume_size_bytes is not None and status.volume_size_bytes <= GIB
        grown = harness.remember(agent.apply(replace(small, volume_gb=2)))
        assert grown.pid == status.pid  # no restart
        assert grown.volume_size_bytes is not None and grown.volume_size_bytes > 1.9 * GIB
        assert agent.remove(small.key)
        assert not os.path.ismount(paths.data) and not paths.root.exists()
    finally:
        harness.cleanup()
        release_volumes_under(tmp_path)
