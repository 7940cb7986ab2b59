"""A real Prometheus (Debian's `prometheus`) as Steward's metric source: it scrapes an exporter
that serves what a broker's JMX exporter would, under the labels Steward's service discovery
gives, and Steward reads MSK's metrics back through its query API, alarms included."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from steward.domain.alarms import AlarmRule, AlarmState, Comparison
from steward.monitor.alarm_monitor import AlarmMonitor, StoredMetrics
from steward.monitor.metric_source import LayeredSource, StoredSource
from steward.monitor.prometheus_source import PrometheusSource
from steward.monitor.store import MetricStore
from steward.store.store import Store

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="no prometheus")

STARTED = time.time()
BROKER = {"Cluster Name": "orders", "Broker ID": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeBroker(http.server.BaseHTTPRequestHandler):
    """1000 bytes a second in, 2 partitions under-replicated."""

    def do_GET(self) -> None:
        count = 1000.0 * (time.time() - STARTED)
        body = (
            f'kafka_server_brokertopicmetrics_count{{name="BytesInPerSec",}} {count}\n'
            'kafka_server_replicamanager_value{name="UnderReplicatedPartitions",} 2.0\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def _start_prometheus(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus on a free port, once it has scraped its target (another process may take the
    port between the probe and the bind: then it is started again on another)."""
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=(home / "prometheus.out").open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # the machine may be busy
        while process.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=5)
                if answer.json()["data"]["result"]:
                    return process, url
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        process.terminate()
        process.wait(15)
    raise AssertionError(f"Prometheus did not start: {(home / 'prometheus.out').read_text()}")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeBroker)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    home = tmp_path_factory.mktemp("prometheus")
    (home / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: jmx-exporter\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.server_address[1]}']\n"
        "        labels: {cluster_name: orders, broker_id: '1'}\n"
    )
    try:
        process, url = _start_prometheus(home)
        try:
            time.sleep(10)  # enough scrapes to fill a rate's window
            yield url
        finally:
            process.terminate()
            process.wait(15)
    finally:
        exporter.shutdown()
        exporter.server_close()


def test_msk_metrics_are_read_from_prometheus(prometheus: str) -> None:
    source = PrometheusSource(prometheus, rate_window=8)  # Prometheus scrapes every second
    try:
        now = time.time()
        points = source.query("BytesInPerSec", BROKER, now - 60, now, 5, "Average")
        assert points and all(p.timestamp % 5 == 0 for p in points)
        # Prometheus extrapolates a rate from the scrapes in its window: near 1000 a second
        assert max(p.value for p in points) == pytest.approx(1000.0, rel=0.5)
        gauge = source.query("UnderReplicatedPartitions", BROKER, now - 60, now, 5, "Maximum")
        assert gauge and gauge[-1].value == 2.0
        assert source.query("SumOffsetLag", BROKER, now - 60, now, 5, "Maximum") == []
    finally:
        source.close()


def test_an_alarm_reads_its_metric_from_prometheus(prometheus: str, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'steward.db'}")
    metrics = MetricStore(":memory:")
    source = PrometheusSource(prometheus)
    sent: list[tuple[str, dict[str, Any]]] = []
    try:
        layered = LayeredSource(source, set(source.knows), StoredSource(metrics))
        monitor = AlarmMonitor(
            store,
            StoredMetrics(layered),
            region="us-east-1",
            account="000000000000",
            notify=lambda url, payload: sent.append((url, payload)),
        )
        store.alarms.put(
            AlarmRule(
                name="urp",
                metric_name="UnderReplicatedPartitions",
                dimensions=tuple(sorted(BROKER.items())),
                statistic="Maximum",
                period=10,
                evaluation_periods=1,
                threshold=0,
                comparison=Comparison.GREATER,
                alarm_actions=("http://127.0.0.1:9/hook",),
            )
        )
        deadline = time.monotonic() + 30
        while store.alarms.get("urp")[1].state is not AlarmState.ALARM:  # type: ignore[index]
            assert time.monotonic() < deadline, store.alarms.get("urp")
            monitor.evaluate_all()
            time.sleep(1)
        monitor.close()
        assert [p["NewStateValue"] for _, p in sent] == ["ALARM"]
    finally:
        source.close()
        metrics.close()
        store.close()


def test_an_unreachable_prometheus_holds_up_no_other_alarm(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'steward.db'}")
    metrics = MetricStore(":memory:")
    source = PrometheusSource(f"http://127.0.0.1:{free_port()}")  # nobody listens
    try:
        layered = LayeredSource(source, set(source.knows), StoredSource(metrics))
        monitor = AlarmMonitor(
            store, StoredMetrics(layered), region="us-east-1", account="000000000000"
        )
        common = dict(
            dimensions=tuple(sorted(BROKER.items())),
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison=Comparison.GREATER,
        )
        for name in ("a-urp", "b-urp"):
            store.alarms.put(
                AlarmRule(name=name, metric_name="UnderReplicatedPartitions", **common)
            )  # type: ignore[arg-type]
        store.alarms.put(AlarmRule(name="c-lag", metric_name="MaxOffsetLag", **common))  # type: ignore[arg-type]
        monitor.evaluate_all()
        monitor.close()
        states = {rule.name: status for rule, status in store.alarms.all()}
        assert states["a-urp"].evaluated_at is None and states["b-urp"].evaluated_at is None
        assert states["c-lag"].evaluated_at is not None  # the embedded store's alarm ran
    finally:
        source.close()
        metrics.close()
        store.close()
