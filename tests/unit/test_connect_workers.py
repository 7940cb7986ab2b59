"""The pieces of MSK Connect's workers that need no JVM: a worker's properties (what Steward
owns wins over a worker configuration, TLS for every client, MSK Connect's topic names), the agent
spec of a worker, the plugin scan's output read, archives unpacked safely, and the CPU rule of
autoscaling."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from steward.agent.spec import NodeSpec
from steward.connect.autoscaling import COOL_DOWN, SAMPLE_WINDOW, CpuAutoscaler
from steward.connect.store import ConnectorRecord
from steward.connect.workers import (
    ClusterEndpoint,
    desired_worker_count,
    place_workers,
    worker_spec,
)
from steward.kafka.connect_plugins import (
    PLUGIN_DIRECTORY,
    PluginContentError,
    parse_plugin_list,
    unpack_plugin,
)
from steward.kafka.connect_worker import WorkerIdentity, worker_properties
from steward.settings import Settings, Zone

ZONES = (Zone("az-a", "127.84.1"), Zone("az-b", "127.84.2"), Zone("az-c", "127.84.3"))


def identity(**changes: object) -> WorkerIdentity:
    values: dict[str, object] = {
        "connector_name": "orders",
        "connector_id": "abc-2",
        "bootstrap_servers": "127.0.0.1:9092",
        "host": "127.84.1.1",
        "port": 8083,
        "plugin_path": "/plugins/p",
        "tls": False,
    }
    values.update(changes)
    return WorkerIdentity(**values)  # type: ignore[arg-type]


def connector(capacity: dict[str, object]) -> ConnectorRecord:
    return ConnectorRecord(
        arn="arn:aws:kafkaconnect:us-east-1:0:connector/orders/0123abcd-2",
        name="orders",
        description=None,
        state="CREATING",
        created_at=datetime.now(UTC),
        spec={
            "capacity": capacity,
            "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
        },
        current_version="V1",
    )


def test_steward_owns_where_the_worker_is_whatever_the_worker_configuration_says() -> None:
    properties = worker_properties(
        identity(),
        {
            "bootstrap.servers": "elsewhere:9092",
            "plugin.path": "/tmp",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        },
    )
    assert properties["bootstrap.servers"] == "127.0.0.1:9092"
    assert properties["plugin.path"] == "/plugins/p"
    assert properties["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert properties["key.converter"] == "org.apache.kafka.connect.storage.StringConverter"
    assert properties["listeners"] == "http://127.84.1.1:8083"
    assert properties["config.storage.topic"] == "__amazon_msk_connect_configs_orders_abc-2"
    assert properties["offset.storage.topic"] == "__amazon_msk_connect_offsets_orders_abc-2"
    assert properties["status.storage.topic"] == "__amazon_msk_connect_status_orders_abc-2"
    assert "security.protocol" not in properties


def test_a_tls_worker_speaks_tls_from_every_client_it_makes() -> None:
    properties = worker_properties(identity(tls=True, trust_cluster_ca=True), {})
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert properties[f"{prefix}security.protocol"] == "SSL"
        assert properties[f"{prefix}ssl.truststore.type"] == "PEM"
    public = worker_properties(identity(tls=True), {})
    assert public["consumer.security.protocol"] == "SSL"
    assert "consumer.ssl.truststore.type" not in public


def test_workers_go_over_the_zones_and_their_agent_spec_is_a_connect_node(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, zones=ZONES)
    record = connector({"provisionedCapacity": {"mcuCount": 2, "workerCount": 4}})
    workers = place_workers(record, desired_worker_count(record), settings, set(), {})
    assert [w.zone for w in workers] == ["az-a", "az-b", "az-c", "az-a"]
    assert len({w.address for w in workers}) == 4
    assert [w.key for w in workers] == [f"connect-0123abcd-{i}" for i in range(4)]
    spec = worker_spec(
        record,
        workers[0],
        0,
        ClusterEndpoint("127.0.0.1:9094", "4.3.1", "-----BEGIN CERTIFICATE-----\nx\n"),
        "/plugins/p",
        {},
        2,
    )
    assert spec.role == "connect"
    assert spec.heap_mb == 512
    assert spec.properties["security.protocol"] == "SSL"
    assert spec.tls_trusted_certificates is not None
    assert spec.server_properties("/data") == spec.properties  # no node id, no log dirs
    assert NodeSpec.from_dict(spec.to_dict()) == spec

    fewer = place_workers(record, 2, settings, set(), {})
    assert [w.key for w in fewer] == [w.key for w in workers[:2]]


def test_an_autoscaled_connector_runs_within_its_bounds() -> None:
    auto = {"autoScaling": {"mcuCount": 1, "minWorkerCount": 2, "maxWorkerCount": 3}}
    record = connector(auto)
    assert desired_worker_count(record) == 2
    record.worker_count = 9
    assert desired_worker_count(record) == 3


def test_the_cpu_rule_adds_a_worker_above_scale_out_and_removes_one_below_scale_in() -> None:
    now = [0.0]
    scaler = CpuAutoscaler(clock=lambda: now[0])
    auto = {
        "minWorkerCount": 1,
        "maxWorkerCount": 3,
        "scaleInPolicy": {"cpuUtilizationPercentage": 20},
        "scaleOutPolicy": {"cpuUtilizationPercentage": 80},
    }
    keys = ["w0", "w1"]
    for key in keys:
        scaler.sample(key, 10.0, 1)
    assert scaler.decide("c", keys, auto) == 2  # no utilisation yet
    now[0] = SAMPLE_WINDOW
    for key in keys:
        scaler.sample(key, 10.0 + 0.9 * SAMPLE_WINDOW, 1)  # 90 % of one vCPU
    assert scaler.decide("c", keys, auto) == 3
    assert scaler.decide("c", keys, auto) == 2  # cooling down: no new utilisation either
    now[0] = SAMPLE_WINDOW + COOL_DOWN
    for key in keys:
        scaler.sample(key, 10.0 + 0.9 * SAMPLE_WINDOW + 0.05 * COOL_DOWN, 1)
    assert scaler.decide("c", keys, auto) == 1


def test_the_plugin_scan_keeps_loadable_connectors_only() -> None:
    output = (
        "pluginName\tfirstAlias\tsecondAlias\tpluginVersion\tpluginType\tisLoadable\t"
        "hasManifest\tpluginLocation\n"
        "steward.connect.s3.S3SinkConnector\tS3SinkConnector\tS3Sink\t1.0.0\tsink\ttrue\ttrue\t/p\n"
        "org.example.Broken\tBroken\tnull\tundefined\tsource\tfalse\tfalse\t/p\n"
        "org.example.Upper\tUpper\tnull\t1\ttransformation\ttrue\ttrue\t/p\n"
    )
    found = parse_plugin_list(output)
    assert [(p.class_name, p.type) for p in found] == [
        ("steward.connect.s3.S3SinkConnector", "sink")
    ]


def test_a_zip_that_names_paths_outside_itself_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("../../escaped.txt", "x")
    with pytest.raises(PluginContentError, match="outside"):
        unpack_plugin(archive, "ZIP", tmp_path / "path")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "path" / PLUGIN_DIRECTORY).exists()


def test_a_zip_is_one_plugin_however_its_jars_are_laid_out(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("connector/lib/a.jar", "a")
        out.writestr("b.jar", "b")
    unpack_plugin(archive, "ZIP", tmp_path / "path")
    plugin = tmp_path / "path" / PLUGIN_DIRECTORY
    assert (plugin / "connector" / "lib" / "a.jar").is_file()
    assert (plugin / "b.jar").is_file()


def test_workers_run_in_the_zones_of_the_connectors_subnets(tmp_path: Path) -> None:
    zones = (Zone("az-a", "127.84.1", subnets=("subnet-aaa",)), *ZONES[1:])
    settings = Settings(home=tmp_path, zones=zones)
    record = connector({"provisionedCapacity": {"mcuCount": 1, "workerCount": 3}})
    record.spec["kafkaCluster"] = {
        "apacheKafkaCluster": {"vpc": {"subnets": ["az-c", "subnet-aaa", "az-c"]}}
    }
    workers = place_workers(record, 3, settings, set(), {})
    assert [w.zone for w in workers] == ["az-c", "az-a", "az-c"]
