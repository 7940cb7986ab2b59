"""Connectors that sign in with IAM, without a JVM: the workers' SASL settings for every client
they make, the role session a worker's spec carries (and the agent keeps in a profile, renewed
without a restart), and what CreateConnector and the reconciler refuse."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from steward.agent.aws_profile import (
    CREDENTIALS_FILE,
    SESSION_FILE,
    aws_profile_jvm_options,
    write_aws_profile,
)
from steward.agent.spec import InvalidSpec, NodeSpec
from steward.connect.reconciler import ConnectReconciler
from steward.connect.service import MskConnect
from steward.connect.store import ConnectorRecord, ConnectRecords
from steward.connect.workers import (
    ClusterEndpoint,
    ConnectorFailed,
    desired_worker_count,
    place_workers,
    worker_spec,
)
from steward.domain.errors import BadRequestException
from steward.functions.iam_token import RoleCredentials
from steward.functions.role_sessions import RoleNotAssumable
from steward.kafka.connect_worker import (
    CLIENT_PREFIXES,
    IAM_PROFILE,
    WorkerIdentity,
    signs_in_with_iam,
    worker_properties,
)
from steward.settings import Settings, Zone
from steward.store.store import Store

ZONES = (Zone("az-a", "127.86.1"),)
ROLE = "arn:aws:iam::000000000000:role/connect"
CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"


def credentials(key: str = "ASIAFIRST", expiration: float = 2_000_000_000.0) -> RoleCredentials:
    return RoleCredentials(key, "secret-" + key, "token-" + key, expiration)


def iam_connector() -> ConnectorRecord:
    return ConnectorRecord(
        arn="arn:aws:kafkaconnect:us-east-1:0:connector/signed/0123abcd-2",
        name="signed",
        description=None,
        state="CREATING",
        created_at=datetime.now(UTC),
        spec={
            "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
            "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
            "kafkaClusterClientAuthentication": {"authenticationType": "IAM"},
            "serviceExecutionRoleArn": ROLE,
        },
        current_version="V1",
    )


def test_every_client_of_an_iam_worker_signs_in_with_aws_msk_iam_as_its_profile() -> None:
    identity = WorkerIdentity("signed", "abc-2", "127.0.0.1:9098", "127.86.1.1", 8083, "/p", True)
    properties = worker_properties(
        WorkerIdentity(**{**identity.__dict__, "iam": True, "trust_cluster_ca": True}),
        {"sasl.mechanism": "PLAIN", "consumer.sasl.jaas.config": "x required;"},
    )
    for prefix in CLIENT_PREFIXES:
        assert properties[f"{prefix}security.protocol"] == "SASL_SSL"
        assert properties[f"{prefix}sasl.mechanism"] == "AWS_MSK_IAM"
        assert f'awsProfileName="{IAM_PROFILE}"' in properties[f"{prefix}sasl.jaas.config"]
        assert properties[f"{prefix}sasl.client.callback.handler.class"].endswith(
            "IAMClientCallbackHandler"
        )
        assert properties[f"{prefix}ssl.truststore.type"] == "PEM"
    assert signs_in_with_iam(properties)
    assert not signs_in_with_iam(worker_properties(identity, {}))


def test_an_iam_workers_spec_carries_its_role_session_which_is_neither_stored_nor_hashed(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, zones=ZONES)
    record = iam_connector()
    worker = place_workers(record, desired_worker_count(record), settings, set(), {})[0]
    endpoint = ClusterEndpoint("127.0.0.1:9098", "4.3.1", CA)

    def spec(session: RoleCredentials) -> NodeSpec:
        return worker_spec(
            record, worker, 0, endpoint, "/p", {}, 1, role_credentials=session, region="eu-west-1"
        )

    first, renewed = spec(credentials()), spec(credentials("ASIASECOND"))
    assert first.aws_credentials is not None
    assert first.aws_credentials["AccessKeyId"] == "ASIAFIRST"
    assert "-Daws.region=eu-west-1" in first.jvm_options
    assert first.properties["sasl.mechanism"] == "AWS_MSK_IAM"
    assert first.spec_hash == renewed.spec_hash  # a renewed session restarts no worker
    assert "secret-ASIAFIRST" not in first.to_json()
    assert "secret-ASIAFIRST" not in repr(first)
    assert NodeSpec.from_dict(first.to_dict()) == first
    with pytest.raises(ValueError):
        worker_spec(record, worker, 0, endpoint, "/p", {}, 1)


def test_the_agent_refuses_credentials_that_are_not_a_session() -> None:
    record = iam_connector()
    good = worker_spec(
        record,
        place_workers(record, 1, Settings(zones=ZONES), set(), {})[0],
        0,
        ClusterEndpoint("127.0.0.1:9098", "4.3.1", CA),
        "/p",
        {},
        1,
        role_credentials=credentials(),
        region="us-east-1",
    ).to_dict()
    with pytest.raises(InvalidSpec):
        NodeSpec.from_dict({**good, "aws_credentials": {"AccessKeyId": "x"}})
    with pytest.raises(InvalidSpec):
        NodeSpec.from_dict({**good, "role": "broker", "properties": {}})


def test_the_profile_names_a_credential_process_that_prints_the_current_session(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "aws"
    assert write_aws_profile(credentials().to_json(), directory)
    assert not write_aws_profile(credentials().to_json(), directory)  # unchanged: not rewritten
    session = json.loads((directory / SESSION_FILE).read_text())
    assert session == {
        "Version": 1,
        "AccessKeyId": "ASIAFIRST",
        "SecretAccessKey": "secret-ASIAFIRST",
        "SessionToken": "token-ASIAFIRST",
        "Expiration": "2033-05-18T03:33:20Z",
    }
    profile = (directory / CREDENTIALS_FILE).read_text()
    assert profile.startswith(f"[{IAM_PROFILE}]\ncredential_process = cat ")
    assert str((directory / SESSION_FILE).resolve()) in profile
    for name in (SESSION_FILE, CREDENTIALS_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    assert write_aws_profile(credentials("ASIASECOND").to_json(), directory)
    assert json.loads((directory / SESSION_FILE).read_text())["AccessKeyId"] == "ASIASECOND"
    options = aws_profile_jvm_options(directory)
    assert f"-Daws.sharedCredentialsFile={(directory / CREDENTIALS_FILE).resolve()}" in options


@pytest.fixture
def records(tmp_path: Path) -> Iterator[ConnectRecords]:
    store = Store(Settings(home=tmp_path).db_url)
    yield ConnectRecords(store.engine)
    store.close()


def request(plugin_arn: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "connectorName": "signed",
        "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
        "connectorConfiguration": {"connector.class": "steward.connect.s3.S3SinkConnector"},
        "kafkaCluster": {
            "apacheKafkaCluster": {"bootstrapServers": "b:9098", "vpc": {"subnets": ["az-a"]}}
        },
        "kafkaClusterClientAuthentication": {"authenticationType": "IAM"},
        "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
        "kafkaConnectVersion": "3.7.x",
        "plugins": [{"customPlugin": {"customPluginArn": plugin_arn, "revision": 1}}],
        "serviceExecutionRoleArn": ROLE,
    }
    body.update(changes)
    return body


def test_create_connector_takes_iam_over_tls_with_a_role_msk_connect_may_assume(
    records: ConnectRecords,
) -> None:
    assumable: set[str] = {ROLE}
    connect = MskConnect(records, "us-east-1", "0", may_assume_role=assumable.__contains__)
    plugin = connect.create_custom_plugin(
        {
            "name": "p",
            "contentType": "ZIP",
            "location": {"s3Location": {"bucketArn": "arn:aws:s3:::b", "fileKey": "p.zip"}},
        }
    )
    with pytest.raises(BadRequestException, match="TLS"):
        connect.create_connector(
            request(plugin.arn, kafkaClusterEncryptionInTransit={"encryptionType": "PLAINTEXT"})
        )
    with pytest.raises(BadRequestException, match=r"kafkaconnect\.amazonaws\.com"):
        connect.create_connector(
            request(plugin.arn, serviceExecutionRoleArn="arn:aws:iam::0:role/other")
        )
    created = connect.create_connector(request(plugin.arn))
    assert created.spec["kafkaClusterClientAuthentication"] == {"authenticationType": "IAM"}


class RefusingSessions:
    def credentials_for(self, _key: str, _role: str | None) -> RoleCredentials:
        raise RoleNotAssumable("MSK Connect cannot assume the role.")


def test_a_connector_whose_role_cannot_be_assumed_fails_saying_so(tmp_path: Path) -> None:
    reconciler = ConnectReconciler(
        records=None,  # type: ignore[arg-type]
        settings=Settings(home=tmp_path, zones=ZONES),
        agents=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        endpoint=lambda _c: ClusterEndpoint("b:9098", "4.3.1"),
        s3=None,  # type: ignore[arg-type]
        sessions=RefusingSessions(),  # type: ignore[arg-type]
    )
    with pytest.raises(ConnectorFailed) as failed:
        reconciler._role_credentials(iam_connector())
    assert failed.value.code == "ROLE_NOT_ASSUMABLE"
    assert "cannot assume" in failed.value.message
    plain = iam_connector()
    plain.spec["kafkaClusterClientAuthentication"] = {"authenticationType": "NONE"}
    assert reconciler._role_credentials(plain) is None
