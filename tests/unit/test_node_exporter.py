"""Prometheus's own node_exporter serves each broker's node metrics where it is installed (one
process per broker, on the broker's address), the built-in exporter where it is not; either way
Steward reads the broker's CPU, memory and data-volume use from it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from steward.agent.node_exporter import NodeExporters, node_exporter_binary
from steward.agent.node_metrics import Endpoint
from steward.domain.model import EnhancedMonitoring
from steward.monitor.exposition import parse_exposition
from steward.monitor.msk_metrics import Scrape, broker_samples


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.get(url, timeout=5)
            if answer.status_code == 200:
                return answer.text
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def samples_of(text: str, before: str) -> dict[str, float]:
    now = Scrape(time.time(), parse_exposition(text))
    earlier = Scrape(now.timestamp - 15, parse_exposition(before))
    found = broker_samples("orders", 1, EnhancedMonitoring.DEFAULT, now, earlier)
    return {s.metric: s.value for s in found}


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """A broker's data directory that is a filesystem of its own (a small tmpfs)."""
    data = tmp_path / "volume"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(data)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


@pytest.mark.skipif(node_exporter_binary() is None, reason="prometheus-node-exporter missing")
def test_node_exporter_serves_the_broker_host_and_stops_with_it(
    tmp_path: Path, volume: Path
) -> None:
    exporters = NodeExporters(tmp_path / "state")
    port = free_port()
    data = volume
    try:
        exporters.sync({"orders-b1": Endpoint("127.0.0.1", port, data)})
        url = f"http://127.0.0.1:{port}/metrics"
        first = read(url)
        assert "node_exporter_build_info" in first  # the real one, not the built-in
        assert "steward_kafka_data_filesystem_info" in first
        time.sleep(1.0)
        found = samples_of(read(url), first)
        assert found["KafkaDataLogsDiskUsed"] < 1  # the empty volume, not the host's disk
        assert found["MemoryFree"] > 0 and "CpuIdle" in found
        [process] = [r.process for r in exporters._running.values()]
        process.kill()  # a node_exporter that dies is started again on the next pass
        process.wait(10)
        exporters.sync({"orders-b1": Endpoint("127.0.0.1", port, data)})
        assert "node_exporter_build_info" in read(url)
        exporters.sync({})
        assert exporters.endpoints() == {}
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)
    finally:
        exporters.close()


def test_without_the_package_the_built_in_exporter_serves(tmp_path: Path, volume: Path) -> None:
    exporters = NodeExporters(tmp_path / "state", binary="")
    port = free_port()
    try:
        exporters.sync({"orders-b1": Endpoint("127.0.0.1", port, volume)})
        text = read(f"http://127.0.0.1:{port}/metrics")
        assert "node_exporter_build_info" not in text and "node_cpu_seconds_total" in text
        assert samples_of(text, text)["KafkaDataLogsDiskUsed"] < 1
    finally:
        exporters.close()


@pytest.mark.parametrize("binary", [None, ""], ids=["node_exporter", "built-in"])
def test_a_plain_data_directory_is_not_taken_for_a_volume(
    tmp_path: Path, binary: str | None
) -> None:
    """Data in a directory of the host's filesystem: the host's disk use is not the broker's, so
    the exporter gives no KafkaDataLogsDiskUsed (Kafka's count of the log directories does)."""
    if binary is None and node_exporter_binary() is None:
        pytest.skip("prometheus-node-exporter missing")
    exporters = NodeExporters(tmp_path / "state", binary=binary)
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    try:
        exporters.sync({"orders-b1": Endpoint("127.0.0.1", port, data)})
        text = read(f"http://127.0.0.1:{port}/metrics")
        assert "node_filesystem_size_bytes" in text
        assert "KafkaDataLogsDiskUsed" not in samples_of(text, text)
    finally:
        exporters.close()
