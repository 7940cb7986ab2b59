"""Node specs: what the control plane sends an agent survives JSON, and bad specs are refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from steward.agent.spec import InvalidSpec, NodeSpec, NodeStatus

CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
DIRECTORY_ID = "rK8_u1GNRGeYM9hzj2zYMQ"


def controller_spec(**changes: object) -> NodeSpec:
    values: dict[str, object] = {
        "key": "orders-1a2b3c4d-c1001",
        "kafka_version": "4.3.1",
        "role": "controller",
        "node_id": 1001,
        "cluster_id": CLUSTER_ID,
        "directory_id": DIRECTORY_ID,
        "properties": {
            "listeners": "CONTROLLER://127.0.1.101:9093",
            "controller.listener.names": "CONTROLLER",
        },
        "initial_controllers": f"1001@127.0.1.101:9093:{DIRECTORY_ID}",
        "heap_mb": 512,
        "jvm_options": ["-XX:+AlwaysPreTouch"],
    }
    values.update(changes)
    return NodeSpec(**values)  # type: ignore[arg-type]


def test_spec_round_trips_through_json() -> None:
    for spec in (
        controller_spec(),
        controller_spec(cpu_weight=1),
        controller_spec(cpu_weight=10000),
    ):
        again = NodeSpec.from_json(spec.to_json())
        assert again == spec
        assert again.spec_hash == spec.spec_hash


def test_status_round_trips_and_ignores_fields_it_does_not_know() -> None:
    status = NodeStatus("b1", "crashed", pid=None, restarts=2, last_exit_code=1, message="boom")
    assert NodeStatus.from_dict({**status.to_dict(), "added_later": 1}) == status


def test_hash_changes_with_launch_settings_only() -> None:
    spec = controller_spec()
    assert controller_spec(desired="stopped").spec_hash == spec.spec_hash
    assert controller_spec(initial_controllers=None).spec_hash == spec.spec_hash
    assert controller_spec(heap_mb=1024).spec_hash != spec.spec_hash
    assert controller_spec(kafka_version="4.2.1").spec_hash != spec.spec_hash
    changed = {**spec.properties, "num.io.threads": "16"}
    assert controller_spec(properties=changed).spec_hash != spec.spec_hash
    assert controller_spec(cpu_weight=100).spec_hash != spec.spec_hash
    assert controller_spec(cpu_weight=200).spec_hash != controller_spec(cpu_weight=100).spec_hash


def test_a_bigger_volume_does_not_restart_a_node() -> None:
    spec = controller_spec()
    assert controller_spec(volume_gb=10).spec_hash == spec.spec_hash
    assert controller_spec(volume_gb=20).spec_hash == spec.spec_hash


def test_a_spec_without_a_cpu_weight_keeps_the_hash_it_had_before_the_field_existed() -> None:
    """Agents compare the hash of what runs with the stored spec's: an agent upgrade must not
    restart every node."""
    spec = controller_spec()
    launch = spec.to_dict()
    not_hashed = ("desired", "initial_controllers", "cpu_weight", "volume_gb")
    added_later = ("encrypted_storage", "storage_key", "log_delivery")
    added_later += ("tls_certificate_chain", "tls_key", "tls_trusted_certificates")
    for added_later_or_not_hashed in (*not_hashed, *added_later):
        del launch[added_later_or_not_hashed]
    del launch["node_exporter_port"], launch["aws_credentials"]  # added later too
    for field in ("client_certificate_authorities", "client_trusted_certificates"):
        del launch[field]
    del launch["revocation_lists"]
    canonical = json.dumps(launch, sort_keys=True, separators=(",", ":"))
    assert spec.spec_hash == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert NodeSpec.from_dict(launch).cpu_weight is None


def test_the_storage_key_travels_but_is_never_stored_nor_hashed() -> None:
    key = "k" * 44
    spec = replace(controller_spec(), encrypted_storage=True, storage_key=key)
    assert spec.to_dict()["storage_key"] == key  # what the control plane sends
    assert key not in spec.to_json() and key not in repr(spec)  # what the agent writes and logs
    assert NodeSpec.from_json(spec.to_json()).storage_key is None
    assert spec.spec_hash == replace(spec, storage_key=None).spec_hash
    assert spec.spec_hash != controller_spec().spec_hash  # encrypted or not: a different node
    with pytest.raises(InvalidSpec, match="storage_key"):
        replace(spec, storage_key="short")


def test_server_properties_add_identity_and_the_agents_log_dir() -> None:
    rendered = controller_spec().server_properties("/state/nodes/c1/data")
    assert rendered["log.dirs"] == "/state/nodes/c1/data"
    assert rendered["node.id"] == "1001"
    assert rendered["process.roles"] == "controller"
    assert rendered["listeners"] == "CONTROLLER://127.0.1.101:9093"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"key": "Has/Slash"}, "key"),
        ({"key": "../escape"}, "key"),
        ({"role": "zookeeper"}, "role"),
        ({"desired": "paused"}, "desired"),
        ({"cluster_id": "not-a-uuid"}, "cluster_id"),
        ({"directory_id": "x" * 23}, "directory_id"),
        ({"kafka_version": "latest"}, "kafka_version"),
        ({"heap_mb": 8}, "heap_mb"),
        ({"node_id": True}, "node_id"),
        ({"properties": {"log.dirs": "/elsewhere"}}, "log.dirs"),
        ({"properties": {"node.id": "7"}}, "node.id"),
        ({"properties": {"process.roles": "broker"}}, "process.roles"),
        ({"properties": {"a": "line\nbreak"}}, "single-line"),
        ({"properties": {"bad key": "1"}}, "property name"),
        ({"role": "broker"}, "initial_controllers"),
        ({"jvm_options": [""]}, "jvm_options"),
        ({"cpu_weight": 0}, "cpu_weight"),
        ({"cpu_weight": 10001}, "cpu_weight"),
        ({"cpu_weight": True}, "cpu_weight"),
        ({"cpu_weight": "100"}, "cpu_weight"),
    ],
)
def test_invalid_specs_are_refused(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(InvalidSpec, match=complaint):
        controller_spec(**changes)


def test_from_dict_refuses_unknown_and_missing_fields() -> None:
    data = controller_spec().to_dict()
    with pytest.raises(InvalidSpec, match="unknown fields: colour"):
        NodeSpec.from_dict({**data, "colour": "blue"})
    del data["cluster_id"]
    with pytest.raises(InvalidSpec, match="cluster_id"):
        NodeSpec.from_dict(data)
