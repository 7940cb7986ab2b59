"""The steward commands that change a cluster, against a stubbed MSK API: the update each sends
(with the CurrentVersion it read), how it follows the operation, and how a failed one ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from steward.cli import progress
from steward.client import api as cli_client
from tests.unit.test_cli_api import (
    CLUSTER_ARN,
    CONFIG_ARN,
    CREATED,
    OPERATION_ARN,
    cluster_info,
    configuration,
    listing,
    run,
)

STARTED = {"ClusterArn": CLUSTER_ARN, "ClusterOperationArn": OPERATION_ARN}
VERSIONED = {"ClusterArn": CLUSTER_ARN, "CurrentVersion": "K1"}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = cli_client.make_client("http://127.0.0.1:9", "us-east-1")
    monkeypatch.setattr(cli_client, "make_client", lambda *_: client)
    monkeypatch.setattr(progress, "POLL_INTERVAL", 0)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def mutable(brokers: int = 1, volume: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "NumberOfBrokerNodes": brokers,
        "KafkaVersion": "4.3.1",
        "InstanceType": "kafka.t3.small",
        "BrokerEBSVolumeInfo": [{"KafkaBrokerNodeId": "ALL", "VolumeSizeGB": volume}],
        **extra,
    }


def operation(
    kind: str,
    state: str,
    *steps: tuple[str, str],
    error: dict[str, str] | None = None,
    source: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "ClusterArn": CLUSTER_ARN,
        "ClusterType": "PROVISIONED",
        "OperationArn": OPERATION_ARN,
        "OperationType": kind,
        "OperationState": state,
        "StartTime": CREATED,
        "Provisioned": {
            "OperationSteps": [
                {"StepName": name, "StepInfo": {"StepStatus": status}} for name, status in steps
            ],
            "SourceClusterInfo": source or mutable(),
            "TargetClusterInfo": target or source or mutable(),
        },
    }
    if state in progress.OPERATION_FINISHED:
        info["EndTime"] = CREATED
    if error is not None:
        info["ErrorInfo"] = error
    return {"ClusterOperationInfo": info}


def current_version(stub: Stubber) -> None:
    stub.add_response(
        "describe_cluster_v2", {"ClusterInfo": cluster_info("ACTIVE")}, {"ClusterArn": CLUSTER_ARN}
    )


def follow(stub: Stubber, *responses: dict[str, Any]) -> None:
    for response in responses:
        stub.add_response(
            "describe_cluster_operation_v2", response, {"ClusterOperationArn": OPERATION_ARN}
        )


def test_scale_reads_the_current_version_and_waits_showing_the_steps(stub: Stubber) -> None:
    listing(stub, "orders")
    current_version(stub)
    stub.add_response("update_broker_count", STARTED, {**VERSIONED, "TargetNumberOfBrokerNodes": 3})
    kind = "INCREASE_BROKER_COUNT"
    done = operation(
        kind, "UPDATE_COMPLETE", ("START_BROKERS", "SUCCEEDED"), ("MOVE_REPLICAS", "SUCCEEDED"),
        source=mutable(1), target=mutable(3),
    )  # fmt: skip
    follow(
        stub,
        operation(kind, "PENDING", ("START_BROKERS", "PENDING"), ("MOVE_REPLICAS", "PENDING")),
        operation(
            kind, "UPDATE_IN_PROGRESS", ("START_BROKERS", "IN_PROGRESS"),
            ("MOVE_REPLICAS", "PENDING"),
        ),
        operation(
            kind, "UPDATE_IN_PROGRESS", ("START_BROKERS", "SUCCEEDED"),
            ("MOVE_REPLICAS", "IN_PROGRESS"),
        ),
        operation(
            kind, "UPDATE_IN_PROGRESS", ("START_BROKERS", "SUCCEEDED"),
            ("MOVE_REPLICAS", "IN_PROGRESS"),
        ),
        done,
    )  # fmt: skip
    result = run("-o", "json", "cluster", "scale", "orders", "--brokers", "3")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "PENDING: START_BROKERS",
        "UPDATE_IN_PROGRESS: START_BROKERS",
        "UPDATE_IN_PROGRESS: MOVE_REPLICAS",
        "UPDATE_COMPLETE",
    ]
    data = json.loads(result.stdout)
    assert data["ClusterOperationInfo"]["OperationState"] == "UPDATE_COMPLETE"
    assert data["ClusterOperationInfo"]["Provisioned"]["TargetClusterInfo"]["NumberOfBrokerNodes"]
    assert "ResponseMetadata" not in data


def test_reboot_names_one_broker_and_needs_no_current_version(stub: Stubber) -> None:
    stub.add_response("reboot_broker", STARTED, {"ClusterArn": CLUSTER_ARN, "BrokerIds": ["1"]})
    follow(
        stub,
        operation("REBOOT_NODE", "UPDATE_IN_PROGRESS", ("REBOOT_BROKER", "IN_PROGRESS")),
        operation("REBOOT_NODE", "UPDATE_COMPLETE", ("REBOOT_BROKER", "SUCCEEDED")),
    )
    result = run("cluster", "reboot", CLUSTER_ARN, "--broker", "1")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["UPDATE_IN_PROGRESS: REBOOT_BROKER", "UPDATE_COMPLETE"]
    assert result.stdout.startswith(f"Cluster {CLUSTER_ARN}: REBOOT_NODE complete after ")


def test_set_type_with_no_wait_prints_the_operation(stub: Stubber) -> None:
    current_version(stub)
    stub.add_response(
        "update_broker_type", STARTED, {**VERSIONED, "TargetInstanceType": "kafka.m5.xlarge"}
    )
    result = run("cluster", "set-type", CLUSTER_ARN, "--instance-type", "kafka.m5.xlarge",
                 "--no-wait")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Cluster {CLUSTER_ARN}: instance type kafka.m5.xlarge started: {OPERATION_ARN}\n"
    )
    assert result.stderr == ""


def test_set_security_sends_only_what_it_names(stub: Stubber) -> None:
    current_version(stub)
    ca = "arn:aws:acm-pca:us-east-1:000000000000:certificate-authority/1"
    auth = {
        "Unauthenticated": {"Enabled": False},
        "Tls": {"Enabled": True, "CertificateAuthorityArnList": [ca]},
    }
    stub.add_response("update_security", STARTED, {**VERSIONED, "ClientAuthentication": auth})
    result = run("cluster", "set-security", CLUSTER_ARN, "--no-unauthenticated",
                 "--certificate-authority", ca, "--no-wait")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Cluster {CLUSTER_ARN}: security started: {OPERATION_ARN}\n"
    nothing = run("cluster", "set-security", CLUSTER_ARN)
    assert nothing.exit_code != 0 and "Name something to change" in nothing.output


def test_no_wait_as_json_prints_the_update_response(stub: Stubber) -> None:
    current_version(stub)
    stub.add_response("update_broker_type", STARTED)
    result = run("cluster", "set-type", CLUSTER_ARN, "--instance-type", "kafka.m5.xlarge",
                 "--no-wait", "-o", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == STARTED


def test_set_storage_grows_all_brokers_and_shows_the_change(stub: Stubber) -> None:
    current_version(stub)
    stub.add_response(
        "update_broker_storage",
        STARTED,
        {
            **VERSIONED,
            "TargetBrokerEBSVolumeInfo": [{"KafkaBrokerNodeId": "ALL", "VolumeSizeGB": 20}],
        },
    )
    follow(
        stub,
        operation(
            "UPDATE_BROKER_STORAGE", "UPDATE_COMPLETE",
            ("GROW_VOLUMES", "SUCCEEDED"), ("FINALIZE", "SUCCEEDED"),
            source=mutable(volume=10), target=mutable(volume=20),
        ),
    )  # fmt: skip
    result = run("cluster", "set-storage", CLUSTER_ARN, "--volume-size", "20")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["UPDATE_COMPLETE"]
    first, change = result.stdout.splitlines()
    assert first.startswith(f"Cluster {CLUSTER_ARN}: UPDATE_BROKER_STORAGE complete after ")
    assert change.split() == ["Volume", "size", "10", "GiB", "->", "20", "GiB"]


def test_set_config_by_name_applies_its_latest_revision(stub: Stubber) -> None:
    stub.add_response("list_configurations", {"Configurations": [configuration(3)]})
    stub.add_response("describe_configuration", configuration(3), {"Arn": CONFIG_ARN})
    current_version(stub)
    stub.add_response(
        "update_cluster_configuration",
        STARTED,
        {**VERSIONED, "ConfigurationInfo": {"Arn": CONFIG_ARN, "Revision": 3}},
    )
    result = run("cluster", "set-config", CLUSTER_ARN, "--configuration", "dev", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "configuration dev revision 3 started" in result.stdout


def test_set_config_with_a_revision_sends_that_revision(stub: Stubber) -> None:
    current_version(stub)
    stub.add_response(
        "update_cluster_configuration",
        STARTED,
        {**VERSIONED, "ConfigurationInfo": {"Arn": CONFIG_ARN, "Revision": 2}},
    )
    result = run("cluster", "set-config", CLUSTER_ARN, "--configuration", CONFIG_ARN,
                 "--revision", "2", "--no-wait")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_failed_upgrade_exits_1_with_the_operations_error(stub: Stubber) -> None:
    current_version(stub)
    stub.add_response(
        "update_cluster_kafka_version", STARTED, {**VERSIONED, "TargetKafkaVersion": "4.4.0"}
    )
    kind = "UPDATE_CLUSTER_KAFKA_VERSION"
    failed = operation(
        kind, "UPDATE_FAILED", ("INSTALL_KAFKA", "SUCCEEDED"), ("ROLL_CONTROLLERS", "FAILED"),
        error={"ErrorCode": "NodeStartFailed", "ErrorString": "controller 1 did not start"},
    )  # fmt: skip
    follow(
        stub,
        operation(
            kind, "UPDATE_IN_PROGRESS", ("INSTALL_KAFKA", "SUCCEEDED"),
            ("ROLL_CONTROLLERS", "IN_PROGRESS"),
        ),
        failed,
    )  # fmt: skip
    result = run("-o", "json", "cluster", "upgrade", CLUSTER_ARN, "--kafka-version", "4.4.0")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "UPDATE_IN_PROGRESS: ROLL_CONTROLLERS",
        "UPDATE_FAILED: ROLL_CONTROLLERS",
        f"Error (NodeStartFailed): {kind} of cluster {CLUSTER_ARN} failed: "
        f"controller 1 did not start ({OPERATION_ARN})",
    ]
    data = json.loads(result.stdout)
    assert data["ClusterOperationInfo"]["ErrorInfo"]["ErrorCode"] == "NodeStartFailed"


def test_upgrade_can_apply_a_configuration_with_it(stub: Stubber) -> None:
    stub.add_response("describe_configuration", configuration(4), {"Arn": CONFIG_ARN})
    current_version(stub)
    stub.add_response(
        "update_cluster_kafka_version",
        STARTED,
        {
            **VERSIONED,
            "TargetKafkaVersion": "4.4.0",
            "ConfigurationInfo": {"Arn": CONFIG_ARN, "Revision": 4},
        },
    )
    result = run("cluster", "upgrade", CLUSTER_ARN, "--kafka-version", "4.4.0",
                 "--configuration", CONFIG_ARN, "--no-wait")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_refused_update_is_one_line(stub: Stubber) -> None:
    current_version(stub)
    stub.add_client_error(
        "update_broker_storage",
        service_error_code="BadRequestException",
        service_message="Storage can only grow: the brokers have 10 GiB; ask for more.",
        modeled_fields={"InvalidParameter": "targetBrokerEBSVolumeInfo"},
    )
    result = run("cluster", "set-storage", CLUSTER_ARN, "--volume-size", "5")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error (BadRequestException): Storage can only grow: the brokers have 10 GiB; ask for "
        "more. (parameter: targetBrokerEBSVolumeInfo)\n"
    )


def test_giving_up_waiting_names_the_operation(stub: Stubber) -> None:
    stub.add_response("reboot_broker", STARTED)
    follow(stub, operation("REBOOT_NODE", "UPDATE_IN_PROGRESS", ("REBOOT_BROKER", "IN_PROGRESS")))
    result = run("cluster", "reboot", CLUSTER_ARN, "--broker", "2", "--timeout", "0")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: gave up waiting after 0 s; the operation is UPDATE_IN_PROGRESS and Steward "
        f"carries on (see `steward cluster operation {OPERATION_ARN}`)."
    )


def test_compatible_versions_is_a_table_of_source_and_targets(stub: Stubber) -> None:
    listing(stub, "orders")
    stub.add_response(
        "get_compatible_kafka_versions",
        {"CompatibleKafkaVersions": [{"SourceVersion": "4.2.1", "TargetVersions": ["4.3.1"]}]},
        {"ClusterArn": CLUSTER_ARN},
    )
    result = run("cluster", "compatible-versions", "orders")
    assert result.exit_code == 0, result.output
    header, _rule, row = result.stdout.splitlines()
    assert header.split() == ["SOURCE", "TARGETS"]
    assert row.split() == ["4.2.1", "4.3.1"]


def test_compatible_versions_without_a_cluster_lists_every_source(stub: Stubber) -> None:
    versions = [
        {"SourceVersion": "4.2.1", "TargetVersions": ["4.3.1", "4.4.0"]},
        {"SourceVersion": "4.3.1", "TargetVersions": ["4.4.0"]},
    ]
    stub.add_response("get_compatible_kafka_versions", {"CompatibleKafkaVersions": versions}, {})
    result = run("-o", "json", "cluster", "compatible-versions")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"CompatibleKafkaVersions": versions}


def test_operation_shows_state_steps_source_target_and_error(stub: Stubber) -> None:
    follow(
        stub,
        operation(
            "UPDATE_BROKER_STORAGE", "UPDATE_FAILED",
            ("GROW_VOLUMES", "FAILED"), ("FINALIZE", "PENDING"),
            error={"ErrorCode": "AgentError", "ErrorString": "disk full"},
            source=mutable(volume=10), target=mutable(volume=20),
        ),
    )  # fmt: skip
    result = run("cluster", "operation", OPERATION_ARN)
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["Type", "UPDATE_BROKER_STORAGE"] in lines
    assert ["State", "UPDATE_FAILED"] in lines
    assert ["Error", "AgentError:", "disk", "full"] in lines
    assert ["GROW_VOLUMES", "FAILED"] in lines and ["FINALIZE", "PENDING"] in lines
    assert ["SETTING", "SOURCE", "TARGET"] in lines
    assert ["Volume", "size", "10", "GiB", "20", "GiB"] in lines
    assert ["Brokers", "1", "1"] in lines
