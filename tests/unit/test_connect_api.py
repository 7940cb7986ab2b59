"""MSK Connect's API over HTTP with boto3's `kafkaconnect` client, against the real app (no
workers, no Kafka): custom plugins, worker configurations and connectors created, described,
listed, tagged, updated and deleted, and refusals in MSK Connect's error shapes; a corrupt plugin
fails in the background pass with a stateDescription and leaves everything else alone."""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.connect.api import is_kafka_connect_request
from steward.connect.endpoints import ClusterEndpoints
from steward.connect.plugin_files import S3Access
from steward.connect.reconciler import ConnectReconciler
from steward.connect.service import LOCAL_FILES_BUCKET_ARN, MskConnect
from steward.connect.store import ConnectRecords
from steward.control.agents import AgentDirectory
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.83.1"), Zone("az-b", "127.83.2"), Zone("az-c", "127.83.3"))
ROLE = "arn:aws:iam::000000000000:role/connect"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, zones=ZONES)


@pytest.fixture
def service(settings: Settings) -> Iterator[ClusterService]:
    service = ClusterService(settings, Store(settings.db_url))
    yield service
    service.store.close()


@pytest.fixture
def connect(service: ClusterService, settings: Settings) -> MskConnect:
    return MskConnect(
        ConnectRecords(service.store.engine),
        settings.region,
        settings.account_id,
        is_steward_cluster=ClusterEndpoints(service).exists,
        zones=settings.zones,
    )


@pytest.fixture
def client(service: ClusterService, connect: MskConnect) -> Iterator[Any]:
    with serving(build_app(service, AcceptAnyRequest(), connect=connect)) as url:
        yield boto3.client(
            "kafkaconnect",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


def reconciler(service: ClusterService, connect: MskConnect, settings: Settings) -> Any:
    return ConnectReconciler(
        connect.records,
        settings,
        AgentDirectory(settings),
        service.store,
        ClusterEndpoints(service),
        S3Access(None, "us-east-1"),
    )


def local_plugin(client: Any, name: str, path: Path, content_type: str = "ZIP") -> str:
    answer = client.create_custom_plugin(
        name=name,
        contentType=content_type,
        location={"s3Location": {"bucketArn": LOCAL_FILES_BUCKET_ARN, "fileKey": str(path)}},
        tags={"team": "data"},
    )
    return answer["customPluginArn"]


def connector_request(plugin_arn: str, **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "connectorName": "orders-to-s3",
        "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 2}},
        "connectorConfiguration": {"connector.class": "S3SinkConnector", "topics": "orders"},
        "kafkaCluster": {
            "apacheKafkaCluster": {
                "bootstrapServers": "127.0.0.1:9092",
                "vpc": {"subnets": ["az-a", "az-b"], "securityGroups": ["sg-1"]},
            }
        },
        "kafkaClusterClientAuthentication": {"authenticationType": "NONE"},
        "kafkaClusterEncryptionInTransit": {"encryptionType": "PLAINTEXT"},
        "kafkaConnectVersion": "3.7.x",
        "plugins": [{"customPlugin": {"customPluginArn": plugin_arn, "revision": 1}}],
        "serviceExecutionRoleArn": ROLE,
    }
    request.update(changes)
    return request


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_worker_configuration_is_kept_with_its_properties(client: Any) -> None:
    content = base64.b64encode(b"key.converter=org.apache.kafka.connect.json.JsonConverter\n")
    created = client.create_worker_configuration(
        name="json", propertiesFileContent=content.decode(), description="JSON keys"
    )
    assert created["workerConfigurationState"] == "ACTIVE"
    assert created["latestRevision"]["revision"] == 1
    described = client.describe_worker_configuration(
        workerConfigurationArn=created["workerConfigurationArn"]
    )
    assert described["latestRevision"]["propertiesFileContent"] == content.decode()
    listed = client.list_worker_configurations()["workerConfigurations"]
    assert [w["name"] for w in listed] == ["json"]
    with pytest.raises(ClientError) as duplicate:
        client.create_worker_configuration(name="json", propertiesFileContent=content.decode())
    assert error_code(duplicate) == "ConflictException"
    with pytest.raises(ClientError) as bad:
        client.create_worker_configuration(name="bad", propertiesFileContent="not base64!")
    assert error_code(bad) == "BadRequestException"
    client.delete_worker_configuration(workerConfigurationArn=created["workerConfigurationArn"])
    assert client.list_worker_configurations()["workerConfigurations"] == []


def test_a_connector_is_created_described_updated_and_deleted(client: Any, tmp_path: Path) -> None:
    archive = tmp_path / "plugin.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("lib/readme.txt", "no classes")
    plugin_arn = local_plugin(client, "s3-sink", archive)
    plugin = client.describe_custom_plugin(customPluginArn=plugin_arn)
    assert plugin["customPluginState"] == "CREATING"
    assert plugin["latestRevision"]["contentType"] == "ZIP"

    arn = client.create_connector(**connector_request(plugin_arn))["connectorArn"]
    assert ":kafkaconnect:us-east-1:000000000000:connector/orders-to-s3/" in arn
    described = client.describe_connector(connectorArn=arn)
    assert described["connectorState"] == "CREATING"
    assert described["capacity"]["provisionedCapacity"] == {"mcuCount": 1, "workerCount": 2}
    assert described["kafkaCluster"]["apacheKafkaCluster"]["vpc"]["subnets"] == ["az-a", "az-b"]
    assert described["connectorConfiguration"]["topics"] == "orders"
    assert [c["connectorName"] for c in client.list_connectors()["connectors"]] == ["orders-to-s3"]
    assert client.list_connectors(connectorNamePrefix="nope")["connectors"] == []

    with pytest.raises(ClientError) as busy:
        client.update_connector(
            connectorArn=arn,
            currentVersion=described["currentVersion"],
            capacity={"provisionedCapacity": {"mcuCount": 1, "workerCount": 3}},
        )
    assert error_code(busy) == "ConflictException"

    for refused in (
        lambda: client.pause_connector(connectorArn=arn),
        lambda: client.resume_connector(connectorArn=arn),
        lambda: client.restart_connector(connectorArn=arn),
    ):
        with pytest.raises(ClientError) as not_running:
            refused()
        assert error_code(not_running) == "ConflictException"

    client.tag_resource(resourceArn=arn, tags={"env": "test"})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}
    client.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    assert client.list_tags_for_resource(resourceArn=plugin_arn)["tags"] == {"team": "data"}

    with pytest.raises(ClientError) as in_use:
        client.delete_custom_plugin(customPluginArn=plugin_arn)
    assert error_code(in_use) == "ConflictException"
    assert client.delete_connector(connectorArn=arn)["connectorState"] == "DELETING"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"capacity": {}}, "BadRequestException"),
        (
            {"capacity": {"provisionedCapacity": {"mcuCount": 3, "workerCount": 1}}},
            "BadRequestException",
        ),
        (
            {
                "capacity": {
                    "autoScaling": {
                        "mcuCount": 1,
                        "minWorkerCount": 3,
                        "maxWorkerCount": 2,
                        "scaleInPolicy": {"cpuUtilizationPercentage": 20},
                        "scaleOutPolicy": {"cpuUtilizationPercentage": 80},
                    }
                }
            },
            "BadRequestException",
        ),
        ({"connectorConfiguration": {"topics": "orders"}}, "BadRequestException"),
        (
            {"kafkaClusterEncryptionInTransit": {"encryptionType": "SASL"}},
            "BadRequestException",
        ),
        (
            {
                "kafkaCluster": {
                    "apacheKafkaCluster": {
                        "bootstrapServers": "127.0.0.1:9092",
                        "vpc": {"subnets": ["subnet-nowhere"]},
                    }
                }
            },
            "BadRequestException",
        ),
        (
            {
                "plugins": [
                    {
                        "customPlugin": {
                            "customPluginArn": "arn:aws:kafkaconnect:us-east-1:0:custom-plugin/x/y",
                            "revision": 1,
                        }
                    }
                ]
            },
            "NotFoundException",
        ),
        (
            {
                "kafkaCluster": {
                    "apacheKafkaCluster": {
                        "bootstrapServers": "arn:aws:kafka:us-east-1:0:cluster/none/x-1",
                        "vpc": {"subnets": ["az-a"]},
                    }
                }
            },
            "NotFoundException",
        ),
    ],
)
def test_a_bad_connector_request_is_refused(
    client: Any, tmp_path: Path, changes: dict[str, Any], code: str
) -> None:
    archive = tmp_path / "plugin.jar"
    archive.write_bytes(b"PK")
    plugin_arn = local_plugin(client, "p", archive, "JAR")
    with pytest.raises(ClientError) as refused:
        client.create_connector(**connector_request(plugin_arn, **changes))
    assert error_code(refused) == code
    assert refused.value.response["Error"]["Message"]
    assert client.list_connectors()["connectors"] == []


def test_an_autoscaled_connector_describes_its_rule(client: Any, tmp_path: Path) -> None:
    archive = tmp_path / "plugin.jar"
    archive.write_bytes(b"PK")
    plugin_arn = local_plugin(client, "p", archive, "JAR")
    auto = {
        "mcuCount": 2,
        "minWorkerCount": 1,
        "maxWorkerCount": 4,
        "scaleInPolicy": {"cpuUtilizationPercentage": 25},
        "scaleOutPolicy": {"cpuUtilizationPercentage": 75},
    }
    arn = client.create_connector(**connector_request(plugin_arn, capacity={"autoScaling": auto}))[
        "connectorArn"
    ]
    assert client.describe_connector(connectorArn=arn)["capacity"]["autoScaling"] == auto


def test_a_corrupt_plugin_fails_its_connector_and_nothing_else(
    client: Any,
    service: ClusterService,
    connect: MskConnect,
    settings: Settings,
    tmp_path: Path,
) -> None:
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not a whole zip")
    bad_arn = local_plugin(client, "corrupt", corrupt)
    arn = client.create_connector(**connector_request(bad_arn))["connectorArn"]

    reconciler(service, connect, settings).pass_once()

    plugin = client.describe_custom_plugin(customPluginArn=bad_arn)
    assert plugin["customPluginState"] == "CREATE_FAILED"
    assert "not a valid ZIP" in plugin["stateDescription"]["message"]
    connector = client.describe_connector(connectorArn=arn)
    assert connector["connectorState"] == "FAILED"
    assert "corrupt" in connector["stateDescription"]["message"]
    assert "not a valid ZIP" in connector["stateDescription"]["message"]
    assert not (
        settings.home / "connect" / "plugins" / bad_arn.rsplit("/", 1)[-1] / "path"
    ).exists()


def test_unknown_resources_answer_not_found_in_msk_connects_shape(client: Any) -> None:
    with pytest.raises(ClientError) as missing:
        client.describe_connector(
            connectorArn="arn:aws:kafkaconnect:us-east-1:000000000000:connector/x/y"
        )
    assert error_code(missing) == "NotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_connect_paths_are_told_apart_from_msks() -> None:
    def scope(path: str) -> dict[str, Any]:
        return {"type": "http", "path": path}

    assert is_kafka_connect_request(scope("/v1/connectors"))
    assert is_kafka_connect_request(scope("/v1/custom-plugins/arn:aws:kafkaconnect:x"))
    assert is_kafka_connect_request(scope("/v1/tags/arn%3Aaws%3Akafkaconnect%3Aus-east-1"))
    assert not is_kafka_connect_request(scope("/v1/tags/arn%3Aaws%3Akafka%3Aus-east-1"))
    assert not is_kafka_connect_request(scope("/v1/clusters"))
    assert not is_kafka_connect_request(scope("/api/v2/clusters"))


def test_the_cli_registers_a_plugin_a_worker_configuration_and_a_connector(
    service: ClusterService, connect: MskConnect, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from steward.cli.main import cli

    archive = tmp_path / "plugin.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("lib/readme.txt", "x")
    properties = tmp_path / "worker.properties"
    properties.write_text("offset.flush.interval.ms=5000\n")
    runner = CliRunner()
    with serving(build_app(service, AcceptAnyRequest(), connect=connect)) as url:
        env = {"STEWARD_ENDPOINT_URL": url, "STEWARD_AUTH": "off"}

        def steward(*args: str) -> str:
            result = runner.invoke(cli, list(args), env=env)
            assert result.exit_code == 0, result.output
            return result.output

        made = json.loads(
            steward(
                "connect", "plugin", "create", "--name", "p", "--file", str(archive), "-o", "json"
            )
        )
        assert made["customPluginState"] == "CREATING"
        assert "CREATING" in steward("connect", "plugin", "list")
        listed = json.loads(steward("connect", "plugin", "list", "-o", "json"))
        assert [p["name"] for p in listed["customPlugins"]] == ["p"]
        configuration = json.loads(
            steward(
                "connect",
                "worker-config",
                "create",
                "--name",
                "w",
                "--properties",
                str(properties),
                "-o",
                "json",
            )
        )
        assert "offset.flush.interval.ms=5000" in steward(
            "connect", "worker-config", "describe", configuration["workerConfigurationArn"]
        )
        created = json.loads(
            steward(
                "connect",
                "connector",
                "create",
                "--name",
                "c",
                "--plugin",
                made["customPluginArn"],
                "--bootstrap",
                "127.0.0.1:9092",
                "--config",
                "connector.class=S3SinkConnector",
                "--workers",
                "2",
                "--worker-config",
                configuration["workerConfigurationArn"],
                "-o",
                "json",
            )
        )
        assert created["connectorState"] == "CREATING"
        assert "CREATING" in steward("connect", "connector", "describe", created["connectorArn"])
        listed = json.loads(steward("connect", "connector", "list", "-o", "json"))
        assert [c["connectorName"] for c in listed["connectors"]] == ["c"]
        listed = json.loads(steward("connect", "worker-config", "list", "-o", "json"))
        assert [w["name"] for w in listed["workerConfigurations"]] == ["w"]
        assert "DELETING" in steward("connect", "connector", "delete", created["connectorArn"])
        signed = json.loads(
            steward(
                "connect",
                "connector",
                "create",
                "--name",
                "signed",
                "--plugin",
                made["customPluginArn"],
                "--bootstrap",
                "127.0.0.1:9098",
                "--config",
                "connector.class=S3SinkConnector",
                "--iam",
                "--log-bucket",
                "worker-logs",
                "--log-prefix",
                "connect",
                "-o",
                "json",
            )
        )
        described = connect.describe_connector(signed["connectorArn"]).spec
        assert described["kafkaClusterClientAuthentication"] == {"authenticationType": "IAM"}
        assert described["kafkaClusterEncryptionInTransit"] == {"encryptionType": "TLS"}
        assert described["logDelivery"]["workerLogDelivery"]["s3"] == {
            "enabled": True,
            "bucket": "worker-logs",
            "prefix": "connect",
        }
