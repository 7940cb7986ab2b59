"""Monitoring without Kafka: the metric store (put, query, rollups, retention), what the exporters'
text becomes under MSK's metric names, the host metrics the agent serves, Steward's own metrics,
and UpdateMonitoring as a cluster operation."""

from __future__ import annotations

import dataclasses
import http.server
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from steward.agent.node_metrics import Endpoint, NodeMetricsServers, render_host_metrics
from steward.agent.spec import NodeSpec
from steward.api import native
from steward.api.msk.fields import Query
from steward.api.msk.routing import MskRequest
from steward.control.node_specs import build_node_spec
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException
from steward.domain.model import (
    ClusterState,
    EnhancedMonitoring,
    OpenMonitoring,
    OperationType,
)
from steward.kafka import jmx_exporter
from steward.monitor.exposition import parse_exposition
from steward.monitor.msk_metrics import USED_PREFIXES, Scrape, broker_samples, cluster_samples
from steward.monitor.scraper import MetricsScraper
from steward.monitor.store import MetricStore, Sample, Statistic
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster, desired_spec

ZONES = (Zone("az-a", "127.71.1"), Zone("az-b", "127.71.2"), Zone("az-c", "127.71.3"))
DIMS = {"Cluster Name": "orders", "Broker ID": "1"}


# --- the metric store ---------------------------------------------------------------------------
@pytest.fixture
def metric_store(tmp_path: Path) -> MetricStore:
    return MetricStore(tmp_path / "metrics.db")


def test_query_gives_each_statistic_per_period(metric_store: MetricStore) -> None:
    metric_store.put(
        Sample("BytesInPerSec", DIMS, t, v)
        for t, v in ((1000.0, 10.0), (1015.0, 20.0), (1030.0, 60.0), (1065.0, 5.0))
    )
    now = 1100.0

    def values(statistic: Statistic) -> list[tuple[float, float]]:
        points = metric_store.query("BytesInPerSec", DIMS, 960, 1080, 60, statistic, now=now)
        return [(p.timestamp, p.value) for p in points]

    assert values(Statistic.AVERAGE) == [(960.0, 15.0), (1020.0, 32.5)]
    assert values(Statistic.MAXIMUM) == [(960.0, 20.0), (1020.0, 60.0)]
    assert values(Statistic.MINIMUM) == [(960.0, 10.0), (1020.0, 5.0)]
    assert values(Statistic.SUM) == [(960.0, 30.0), (1020.0, 65.0)]
    assert values(Statistic.SAMPLE_COUNT) == [(960.0, 2.0), (1020.0, 2.0)]


def test_a_series_is_found_by_its_exact_dimensions(metric_store: MetricStore) -> None:
    metric_store.put(
        [
            Sample("BytesInPerSec", DIMS, 100.0, 1.0),
            Sample("BytesInPerSec", {**DIMS, "Topic": "t"}, 100.0, 2.0),
            Sample("BytesInPerSec", {"Broker ID": "1", "Cluster Name": "orders"}, 101.0, 3.0),
        ]
    )
    (point,) = metric_store.query("BytesInPerSec", DIMS, 0, 200, 200, "Sum", now=200)
    assert point.value == 4.0
    (topic,) = metric_store.query(
        "BytesInPerSec", {**DIMS, "Topic": "t"}, 0, 200, 200, "Sum", now=200
    )
    assert topic.value == 2.0
    assert metric_store.query("BytesInPerSec", {"Cluster Name": "x"}, 0, 200, 60, "Sum") == []
    names = {(s.metric, len(s.dimensions)) for s in metric_store.list_series()}
    assert names == {("BytesInPerSec", 2), ("BytesInPerSec", 3)}
    assert len(metric_store.list_series("BytesInPerSec", {"Topic": "t"})) == 1


def test_raw_samples_keep_their_exact_times(metric_store: MetricStore) -> None:
    metric_store.put([Sample("m", DIMS, 10.25, 1.0), Sample("m", DIMS, 12.5, 2.0)])
    assert metric_store.samples("m", DIMS, 10, 13) == [(10.25, 1.0), (12.5, 2.0)]
    assert metric_store.samples("m", DIMS, 11, 13) == [(12.5, 2.0)]
    assert metric_store.samples("other", DIMS, 0, 100) == []


def test_non_finite_values_are_dropped(metric_store: MetricStore) -> None:
    stored = metric_store.put(
        [Sample("m", DIMS, 1.0, float("nan")), Sample("m", DIMS, 2.0, float("inf"))]
    )
    assert stored == 0


def test_old_samples_roll_up_and_stay_queryable(tmp_path: Path) -> None:
    store = MetricStore(tmp_path / "m.db", raw_retention=600)
    base = 1_000_000 - 1_000_000 % 300
    store.put(Sample("CpuUser", DIMS, base + i * 15.0, float(i % 4)) for i in range(40))
    # 40 samples, 15 s apart: 10 full minutes from `base`.
    store.compact(now=base + 3600)
    # Raw samples are past their 600 s retention; the rollups answer instead.
    assert store._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0
    minutes = store.query("CpuUser", DIMS, base, base + 600, 60, "Average", now=base + 3600)
    assert [p.sample_count for p in minutes] == [4] * 10
    assert all(p.value == 1.5 for p in minutes)
    five = store.query("CpuUser", DIMS, base, base + 600, 300, "Maximum", now=base + 3600)
    assert [(p.value, p.sample_count) for p in five] == [(3.0, 20), (3.0, 20)]
    # Compacting again changes nothing.
    store.compact(now=base + 3600)
    again = store.query("CpuUser", DIMS, base, base + 600, 300, "Sum", now=base + 3600)
    assert [p.value for p in again] == [30.0, 30.0]


def test_rollups_expire_after_their_retention(tmp_path: Path) -> None:
    store = MetricStore(tmp_path / "m.db", raw_retention=60)
    store.put([Sample("m", DIMS, 600.0, 1.0)])
    store.compact(now=1000)
    store.compact(now=600 + 16 * 86400)
    count = store._db.execute("SELECT COUNT(*) FROM rollups WHERE resolution = 60").fetchone()
    assert count[0] == 0
    count = store._db.execute("SELECT COUNT(*) FROM rollups WHERE resolution = 300").fetchone()
    assert count[0] == 1


# --- from exporter text to MSK's metrics --------------------------------------------------------
JMX_TEXT = """\
# TYPE kafka_server_brokertopicmetrics_count untyped
kafka_server_brokertopicmetrics_count{{name="BytesInPerSec",}} {bytes_in}
kafka_server_brokertopicmetrics_count{{name="MessagesInPerSec",}} {messages}
kafka_server_brokertopicmetrics_count{{name="BytesOutPerSec",}} 0.0
kafka_server_brokertopicmetrics_count{{name="BytesInPerSec",topic="orders",}} {bytes_in}
kafka_server_replicamanager_value{{name="UnderReplicatedPartitions",}} 1.0
kafka_server_replicamanager_value{{name="PartitionCount",}} 7.0
kafka_server_replicamanager_value{{name="LeaderCount",}} 3.0
kafka_server_kafkarequesthandlerpool_oneminuterate{{name="RequestHandlerAvgIdlePercent",}} 0.97
kafka_network_requestmetrics_mean{{name="TotalTimeMs",request="Produce",}} 2.5
java_lang_memory_heapmemoryusage_used 2.5E8
java_lang_memory_heapmemoryusage_max 1.0E9
"""
NODE_TEXT = """\
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{{cpu="0",mode="user"}} {user}
node_cpu_seconds_total{{cpu="0",mode="system"}} {system}
node_cpu_seconds_total{{cpu="0",mode="idle"}} {idle}
node_memory_MemTotal_bytes 1000
node_memory_MemAvailable_bytes 400
node_filesystem_size_bytes{{mountpoint="/d",purpose="kafka-data"}} 200
node_filesystem_avail_bytes{{mountpoint="/d",purpose="kafka-data"}} 150
"""


def scrape(at: float, bytes_in: float, messages: float, user: float, system: float, idle: float):
    text = JMX_TEXT.format(bytes_in=bytes_in, messages=messages)
    text += NODE_TEXT.format(user=user, system=system, idle=idle)
    return Scrape(at, parse_exposition(text))


def by_name(samples: list[Sample]) -> dict[tuple[str, str | None], float]:
    return {(s.metric, s.dimensions.get("Topic")): s.value for s in samples}


def test_meters_become_rates_between_two_scrapes() -> None:
    first = scrape(100.0, 1000, 10, 10, 5, 85)
    second = scrape(110.0, 51000, 510, 13, 6, 91)
    alone = broker_samples("orders", 1, EnhancedMonitoring.DEFAULT, first, None)
    assert "BytesInPerSec" not in {s.metric for s in alone}
    values = by_name(broker_samples("orders", 1, EnhancedMonitoring.DEFAULT, second, first))
    assert values[("BytesInPerSec", None)] == 5000.0
    assert values[("MessagesInPerSec", None)] == 50.0
    assert values[("BytesOutPerSec", None)] == 0.0
    assert values[("UnderReplicatedPartitions", None)] == 1.0
    assert values[("PartitionCount", None)] == 7.0
    assert values[("CpuUser", None)] == 30.0
    assert values[("CpuSystem", None)] == 10.0
    assert values[("CpuIdle", None)] == 60.0
    assert values[("MemoryUsed", None)] == 600.0
    assert values[("KafkaDataLogsDiskUsed", None)] == 25.0
    # DEFAULT has neither per-broker extras nor per-topic metrics.
    assert ("LeaderCount", None) not in values
    assert ("BytesInPerSec", "orders") not in values


def test_higher_levels_add_metrics() -> None:
    first = scrape(100.0, 1000, 10, 10, 5, 85)
    second = scrape(110.0, 2000, 20, 13, 6, 91)
    per_broker = by_name(broker_samples("orders", 1, EnhancedMonitoring.PER_BROKER, second, first))
    assert per_broker[("LeaderCount", None)] == 3.0
    assert per_broker[("RequestHandlerAvgIdlePercent", None)] == 0.97
    assert per_broker[("ProduceTotalTimeMsMean", None)] == 2.5
    assert per_broker[("HeapMemoryAfterGC", None)] == 25.0
    assert ("BytesInPerSec", "orders") not in per_broker
    per_topic = by_name(
        broker_samples("orders", 1, EnhancedMonitoring.PER_TOPIC_PER_BROKER, second, first)
    )
    assert per_topic[("BytesInPerSec", "orders")] == 100.0


def test_a_restarted_broker_gives_no_rate_until_its_next_scrape() -> None:
    before = scrape(100.0, 5000, 50, 10, 5, 85)
    after_restart = scrape(110.0, 100, 1, 13, 6, 91)
    values = by_name(broker_samples("orders", 1, EnhancedMonitoring.DEFAULT, after_restart, before))
    assert ("BytesInPerSec", None) not in values


def test_a_topic_meter_that_appears_counts_from_zero() -> None:
    before = Scrape(100.0, parse_exposition(JMX_TEXT.format(bytes_in=0, messages=0)))
    text = JMX_TEXT.format(bytes_in=500, messages=5)
    text += 'kafka_server_brokertopicmetrics_count{name="BytesInPerSec",topic="new",} 500.0\n'
    now = Scrape(110.0, parse_exposition(text))
    level = EnhancedMonitoring.PER_TOPIC_PER_BROKER
    assert by_name(broker_samples("orders", 1, level, now, before))[("BytesInPerSec", "new")] == 50


def test_cluster_metrics_come_from_the_controllers() -> None:
    def controller(active: float, partitions: float):
        return parse_exposition(
            f'kafka_controller_kafkacontroller_value{{name="ActiveControllerCount",}} {active}\n'
            f'kafka_controller_kafkacontroller_value{{name="GlobalPartitionCount",}} {partitions}\n'
            'kafka_controller_kafkacontroller_value{name="OfflinePartitionsCount",} 0.0\n'
        )

    samples = cluster_samples(
        "orders", 5.0, [controller(0, 0), controller(1, 12), controller(0, 0)]
    )
    values = {s.metric: s.value for s in samples}
    assert values == {
        "ActiveControllerCount": 1.0,
        "GlobalPartitionCount": 12.0,
        "OfflinePartitionsCount": 0.0,
    }
    assert all(s.dimensions == {"Cluster Name": "orders"} for s in samples)


# --- the host metrics of port 11002 ------------------------------------------------------------
def test_host_metrics_parse_as_prometheus_text(tmp_path: Path) -> None:
    text = render_host_metrics(tmp_path)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["node_cpu_seconds"].type == "counter"
    assert {"node_memory_MemTotal_bytes", "node_filesystem_size_bytes"} <= set(families)
    (size,) = families["node_filesystem_size_bytes"].samples
    # a plain directory of the host's filesystem: not marked as the broker's data volume
    assert size.labels == {"mountpoint": str(tmp_path)}
    assert size.value > 0


def test_node_metrics_servers_follow_the_specs(tmp_path: Path) -> None:
    servers = NodeMetricsServers()
    try:
        servers.sync({"b1": Endpoint("127.0.0.1", 0, tmp_path)})
        # port 0 binds a free port; read it back from the server
        (_, server) = servers._servers["b1"]
        port = server.server_address[1]
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert answer.status_code == 200
        assert "node_cpu_seconds_total" in answer.text
        servers.sync({})
        assert servers.endpoints() == {}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    finally:
        servers.close()


def test_node_exporter_port_restarts_nothing() -> None:
    base = dict(
        key="orders-b1",
        kafka_version="4.3.1",
        role="broker",
        node_id=1,
        cluster_id="A" * 22,
        directory_id="B" * 22,
        properties={},
    )
    assert NodeSpec(**base).spec_hash == NodeSpec(**base, node_exporter_port=11002).spec_hash
    with pytest.raises(ValueError):
        NodeSpec(**base, node_exporter_port=70000)


# --- open monitoring and UpdateMonitoring -------------------------------------------------------
@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


def test_update_monitoring_is_an_operation_with_the_new_settings(
    service: ClusterService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jmx_exporter, "is_installed", lambda cache=None: True)
    cluster = active_cluster(service)
    operation = service.updates.update_monitoring(
        cluster.arn,
        cluster.current_version,
        enhanced_monitoring=EnhancedMonitoring.PER_BROKER,
        open_monitoring=OpenMonitoring(jmx_exporter=True, node_exporter=True),
    )
    assert operation.type is OperationType.UPDATE_MONITORING
    target = desired_spec(service, operation)
    assert target.enhanced_monitoring is EnhancedMonitoring.PER_BROKER
    assert target.open_monitoring == OpenMonitoring(jmx_exporter=True, node_exporter=True)
    assert service.describe_cluster(cluster.arn).state is ClusterState.UPDATING


def test_the_jmx_exporter_needs_its_install(
    service: ClusterService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jmx_exporter, "is_installed", lambda cache=None: False)
    cluster = active_cluster(service)
    with pytest.raises(BadRequestException) as error:
        service.updates.update_monitoring(
            cluster.arn, cluster.current_version, open_monitoring=OpenMonitoring(jmx_exporter=True)
        )
    assert error.value.invalid_parameter == "openMonitoring"


def test_open_monitoring_shapes_the_node_specs(
    service: ClusterService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STEWARD_KAFKA_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "jmx-exporter").mkdir(parents=True)
    jmx_exporter.exporter_jar().write_bytes(b"jar")
    jmx_exporter.exporter_config().write_text("rules: []\n")
    cluster = active_cluster(
        service, open_monitoring=OpenMonitoring(jmx_exporter=True, node_exporter=True)
    )
    nodes = service.store.nodes(cluster.arn)
    broker = next(n for n in nodes if n.node_id == 1)
    spec = build_node_spec(cluster, broker, nodes, {})
    (option,) = spec.jvm_options
    assert option.startswith("-javaagent:") and option.split("=", 1)[1].startswith(
        f"{broker.host}:11001:"
    )
    assert spec.node_exporter_port == 11002
    closed = dataclasses.replace(
        cluster, spec=cluster.spec.replace(open_monitoring=OpenMonitoring())
    )
    plain = build_node_spec(closed, broker, nodes, {})
    assert plain.jvm_options == [] and plain.node_exporter_port is None
    assert plain.spec_hash != spec.spec_hash


def test_service_discovery_lists_every_exporter_of_every_broker(
    service: ClusterService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jmx_exporter, "is_installed", lambda cache=None: True)
    cluster = active_cluster(
        service, open_monitoring=OpenMonitoring(jmx_exporter=True, node_exporter=True)
    )
    groups = service.metrics.prometheus_targets()
    assert len(groups) == 6
    ports = sorted(g["targets"][0].rsplit(":", 1)[1] for g in groups)
    assert ports == ["11001"] * 3 + ["11002"] * 3
    assert {g["labels"]["cluster_name"] for g in groups} == {cluster.name}
    assert {g["labels"]["broker_id"] for g in groups} == {"1", "2", "3"}


def test_control_plane_metrics_parse(service: ClusterService) -> None:
    active_cluster(service)
    text = service.metrics.control_plane.exposition().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    active = [s for s in families["steward_clusters"].samples if s.labels["state"] == "ACTIVE"]
    assert active[0].value == 1.0
    brokers = [s for s in families["steward_nodes"].samples if s.labels["role"] == "broker"]
    assert brokers[0].value == 3.0


def test_metric_queries_check_their_arguments(service: ClusterService) -> None:
    cluster = active_cluster(service)
    minute = (time.time() // 60 - 2) * 60
    service.metrics.store.put([Sample("BytesInPerSec", DIMS, minute + 30, 5.0)])
    (point,) = service.metrics.query(
        cluster.arn, "BytesInPerSec", start=minute, end=minute + 60, period=60, broker_id="1"
    )
    assert point.timestamp == minute
    assert point.value == 5.0
    with pytest.raises(BadRequestException):
        service.metrics.query(cluster.arn, "BytesInPerSec", start=0, end=10**6, period=1)
    with pytest.raises(BadRequestException):
        service.metrics.query(cluster.arn, "BytesInPerSec", statistic="p99")
    with pytest.raises(BadRequestException):
        service.metrics.query(cluster.arn, "BytesInPerSec", topic="t")


def test_the_metric_route_selects_a_consumer_group_s_lag_per_topic(
    service: ClusterService,
) -> None:
    cluster = active_cluster(service)
    minute = (time.time() // 60 - 2) * 60
    lag = {
        ("billing", "payments"): 40.0,
        ("billing", "audit"): 3.0,
        ("search", "payments"): 7.0,
    }
    service.metrics.store.put(
        Sample(
            "SumOffsetLag",
            {"Cluster Name": cluster.name, "Consumer Group": group, "Topic": topic},
            minute + 30,
            value,
        )
        for (group, topic), value in lag.items()
    )

    def route(**query: str) -> Any:
        request = MskRequest(
            {"clusterArn": cluster.arn, "metricName": "SumOffsetLag"},
            Query([("startTime", str(minute)), ("endTime", str(minute + 60)), *query.items()]),
        )
        return native.get_cluster_metric_statistics(service, request)

    for (group, topic), value in lag.items():
        answer = route(consumerGroup=group, topic=topic)
        assert answer["datapoints"] == [{"timestamp": minute, "value": value, "sampleCount": 1}]
    assert route(consumerGroup="nobody", topic="payments")["datapoints"] == []
    with pytest.raises(BadRequestException) as no_topic:
        route(consumerGroup="billing")
    assert no_topic.value.invalid_parameter == "topic"
    with pytest.raises(BadRequestException) as with_broker:
        route(consumerGroup="billing", topic="payments", brokerId="1")
    assert with_broker.value.invalid_parameter == "brokerId"


def test_the_scraper_parses_only_what_it_uses() -> None:
    first = scrape(100.0, 1000, 10, 10, 5, 85)
    text = JMX_TEXT.format(bytes_in=2000, messages=20) + NODE_TEXT.format(
        user=13, system=6, idle=91
    )
    noise = "# HELP jvm_threads_current Current threads.\n# TYPE jvm_threads_current gauge\n"
    noise += "jvm_threads_current 42.0\n"
    filtered = parse_exposition(noise + text, USED_PREFIXES)
    assert "jvm_threads_current" not in filtered.values
    second = Scrape(110.0, filtered)
    full = Scrape(110.0, parse_exposition(noise + text))
    level = EnhancedMonitoring.PER_TOPIC_PER_BROKER
    assert by_name(broker_samples("orders", 1, level, second, first)) == by_name(
        broker_samples("orders", 1, level, full, first)
    )


class _Exporter:
    """A stand-in for a node's JMX exporter: serves whatever `text` is, on host:11001."""

    def __init__(self, host: str) -> None:
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.text.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.text = ""
        self.server = http.server.ThreadingHTTPServer((host, 11001), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_scraper_stores_msk_metrics_of_every_node(service: ClusterService) -> None:
    cluster = active_cluster(service, open_monitoring=OpenMonitoring(jmx_exporter=True))
    brokers = [n for n in service.store.nodes(cluster.arn) if n.node_id in (1, 2, 3)]
    exporters = {n.node_id: _Exporter(n.host) for n in brokers}
    controller = next(n for n in service.store.nodes(cluster.arn) if n.node_id == 1001)
    exporters[1001] = _Exporter(controller.host)
    exporters[
        1001
    ].text = 'kafka_controller_kafkacontroller_value{name="ActiveControllerCount",} 1.0\n'
    try:
        scraper = MetricsScraper(service.store, service.metrics.store)
        for node_id in (1, 2, 3):
            exporters[node_id].text = JMX_TEXT.format(bytes_in=1000, messages=10)
        assert scraper.scrape_once() > 0
        time.sleep(1.0)
        for node_id in (1, 2, 3):
            exporters[node_id].text = JMX_TEXT.format(bytes_in=1000 + 1000 * node_id, messages=20)
        scraper.scrape_once()
        scraper.close()
        now = time.time() + 1
        for node_id in (1, 2, 3):
            dims = {"Cluster Name": "orders", "Broker ID": str(node_id)}
            under = service.metrics.store.samples("UnderReplicatedPartitions", dims, 0, now)
            assert [v for _, v in under] == [1.0, 1.0]
            ((_, rate),) = service.metrics.store.samples("BytesInPerSec", dims, 0, now)
            assert 1000 * node_id / 1.5 < rate < 1000 * node_id / 0.9
        (active,) = service.metrics.store.samples(
            "ActiveControllerCount", {"Cluster Name": "orders"}, time.time() - 5, time.time() + 1
        )[-1:]
        assert active[1] == 1.0
    finally:
        for exporter in exporters.values():
            exporter.close()


class _DrippingExporter:
    """A broker's exporter that hangs: it answers with headers, then a byte now and then, never
    finishing (a process that is stopped or swapping behaves much the same)."""

    def __init__(self, host: str) -> None:
        stopping = self.stopping = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while not stopping.wait(0.2):
                    try:
                        self.wfile.write(b"#")
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer((host, 11001), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_hung_broker_does_not_keep_the_others_metrics_from_a_pass(
    service: ClusterService,
) -> None:
    cluster = active_cluster(service, open_monitoring=OpenMonitoring(jmx_exporter=True))
    brokers = {n.node_id: n for n in service.store.nodes(cluster.arn) if n.node_id in (1, 2, 3)}
    hung = _DrippingExporter(brokers[1].host)
    healthy = [_Exporter(brokers[i].host) for i in (2, 3)]
    for exporter in healthy:
        exporter.text = JMX_TEXT.format(bytes_in=1000, messages=10)
    stats = service.metrics.control_plane.scrape_stats
    scraper = MetricsScraper(service.store, service.metrics.store, stats, timeout=1.0)
    try:
        scraper.scrape_once()
        now = time.time() + 1
        for node_id in (2, 3):
            dims = {"Cluster Name": "orders", "Broker ID": str(node_id)}
            assert service.metrics.store.samples("UnderReplicatedPartitions", dims, 0, now)
        dims = {"Cluster Name": "orders", "Broker ID": "1"}
        assert service.metrics.store.samples("UnderReplicatedPartitions", dims, 0, now) == []
    finally:
        scraper.close()
        hung.close()
        for exporter in healthy:
            exporter.close()
