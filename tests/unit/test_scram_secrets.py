"""MSK's SCRAM secret routes with boto3 against the real API app (no reconciler, no Kafka): which
secrets a cluster takes and how the others are answered, and the sync that turns associations
into Kafka credentials, with Kafka's admin calls recorded instead of made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.control.service import ClusterService
from steward.domain.model import ClusterState
from steward.security import scram
from steward.security.scram import ScramSync
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.80.1"), Zone("az-b", "127.80.2"), Zone("az-c", "127.80.3"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("scram")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def endpoint(service: ClusterService) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


def aws(endpoint: str, name: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def kafka(endpoint: str) -> Any:
    return aws(endpoint, "kafka")


@pytest.fixture
def sm(endpoint: str) -> Any:
    return aws(endpoint, "secretsmanager")


def provisioned(scram_enabled: bool) -> dict[str, Any]:
    return {
        "KafkaVersion": "4.3.1",
        "NumberOfBrokerNodes": 3,
        "BrokerNodeGroupInfo": {
            "InstanceType": "kafka.m5.large",
            "ClientSubnets": ["az-a", "az-b", "az-c"],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
        },
        "EncryptionInfo": {
            "EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": False}
        },
        "ClientAuthentication": {
            "Sasl": {"Scram": {"Enabled": scram_enabled}},
            "Unauthenticated": {"Enabled": True},
        },
    }


def secret(sm: Any, name: str, value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return str(sm.create_secret(Name=name, SecretString=text)["ARN"])


def test_valid_secrets_are_associated_and_the_others_answered_one_by_one(
    kafka: Any, sm: Any
) -> None:
    cluster = kafka.create_cluster_v2(ClusterName="scram", Provisioned=provisioned(True))
    arn = cluster["ClusterArn"]
    described = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert described["ClientAuthentication"]["Sasl"]["Scram"]["Enabled"] is True

    good = secret(sm, "AmazonMSK_ann", {"username": "ann", "password": "pw-ann"})
    unprefixed = secret(sm, "plain_ann", {"username": "ann2", "password": "pw"})
    not_json = secret(sm, "AmazonMSK_notjson", "username=ann3")
    no_password = secret(sm, "AmazonMSK_nopw", {"username": "ann4"})
    same_user = secret(sm, "AmazonMSK_ann_again", {"username": "ann", "password": "other"})
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:AmazonMSK_ghost-abcdef"

    answer = kafka.batch_associate_scram_secret(
        ClusterArn=arn,
        SecretArnList=[good, unprefixed, not_json, no_password, same_user, missing, "not-an-arn"],
    )
    assert answer["ClusterArn"] == arn
    failed = {u["SecretArn"]: u for u in answer["UnprocessedScramSecrets"]}
    assert set(failed) == {unprefixed, not_json, no_password, same_user, missing, "not-an-arn"}
    assert {u["ErrorCode"] for u in failed.values()} == {"InvalidSecretArn"}
    assert "AmazonMSK_" in failed[unprefixed]["ErrorMessage"]
    assert "wasn't able to access" in failed[missing]["ErrorMessage"]
    assert "username and password" in failed[not_json]["ErrorMessage"]
    assert "ann" in failed[same_user]["ErrorMessage"]
    for failure in failed.values():
        assert "pw" not in failure["ErrorMessage"]
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == [good]

    again = kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[good])
    assert again["UnprocessedScramSecrets"] == []
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == [good]

    gone = kafka.batch_disassociate_scram_secret(ClusterArn=arn, SecretArnList=[good, not_json])
    assert [u["SecretArn"] for u in gone["UnprocessedScramSecrets"]] == [not_json]
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == []


def test_a_cluster_without_scram_takes_no_secrets(kafka: Any, sm: Any) -> None:
    arn = kafka.create_cluster_v2(ClusterName="open", Provisioned=provisioned(False))["ClusterArn"]
    good = secret(sm, "AmazonMSK_open", {"username": "o", "password": "p"})
    with pytest.raises(ClientError) as raised:
        kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[good])
    assert raised.value.response["Error"]["Code"] == "BadRequestException"
    assert "SASL/SCRAM" in raised.value.response["Error"]["Message"]


def test_scram_needs_tls_between_clients_and_brokers(kafka: Any) -> None:
    spec = provisioned(True)
    spec["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] = "PLAINTEXT"
    with pytest.raises(ClientError) as raised:
        kafka.create_cluster_v2(ClusterName="scram-in-clear", Provisioned=spec)
    assert raised.value.response["Error"]["Code"] == "BadRequestException"
    assert raised.value.response["InvalidParameter"] == (
        "encryptionInfo.encryptionInTransit.clientBroker"
    )


def test_at_most_ten_secrets_per_call_and_an_unknown_cluster_is_not_found(
    kafka: Any, sm: Any
) -> None:
    arn = kafka.create_cluster_v2(ClusterName="many", Provisioned=provisioned(True))["ClusterArn"]
    arns = [
        secret(sm, f"AmazonMSK_many{i}", {"username": f"u{i}", "password": "p"}) for i in range(11)
    ]
    with pytest.raises(ClientError) as raised:
        kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=arns)
    assert raised.value.response["Error"]["Code"] == "BadRequestException"
    assert (
        kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=arns[:10])[
            "UnprocessedScramSecrets"
        ]
        == []
    )
    first = kafka.list_scram_secrets(ClusterArn=arn, MaxResults=4)
    assert len(first["SecretArnList"]) == 4
    rest = kafka.list_scram_secrets(ClusterArn=arn, NextToken=first["NextToken"])
    assert first["SecretArnList"] + rest["SecretArnList"] == arns[:10]
    ghost = arn.replace("/many/", "/ghost/")
    with pytest.raises(ClientError) as raised:
        kafka.list_scram_secrets(ClusterArn=ghost)
    assert raised.value.response["Error"]["Code"] == "NotFoundException"


class FakeKafka:
    """Kafka's SCRAM credentials, as the sync would write them."""

    def __init__(self) -> None:
        self.credentials: dict[str, str] = {}
        self.writes = 0

    def upsert(self, bootstrap: str, user: str, password: str, timeout: float = 0) -> None:
        self.credentials[user] = password
        self.writes += 1

    def delete(self, bootstrap: str, user: str, timeout: float = 0) -> None:
        self.credentials.pop(user, None)

    def users(self, bootstrap: str, timeout: float = 0) -> dict[str, list[str]]:
        return {user: ["SCRAM-SHA-512"] for user in self.credentials}


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
    fake = FakeKafka()
    monkeypatch.setattr(scram.kafka_scram, "upsert_credential", fake.upsert)
    monkeypatch.setattr(scram.kafka_scram, "delete_credential", fake.delete)
    monkeypatch.setattr(scram.kafka_scram, "users_with_credentials", fake.users)
    monkeypatch.setattr(scram, "serving_bootstrap", lambda *_: "127.0.0.1:9092")
    return fake


def test_the_sync_follows_associations_and_secret_values(
    service: ClusterService, kafka: Any, sm: Any, fake_kafka: FakeKafka
) -> None:
    arn = kafka.create_cluster_v2(ClusterName="synced", Provisioned=provisioned(True))["ClusterArn"]
    dave = secret(sm, "AmazonMSK_dave", {"username": "dave", "password": "one"})
    erin = secret(sm, "AmazonMSK_erin", {"username": "erin", "password": "two"})
    kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[dave, erin])
    sync = ScramSync(service.store, service.secrets, verify_interval=0)

    sync.pass_once()
    assert fake_kafka.credentials == {}, "a CREATING cluster's brokers are not asked"

    cluster = service.store.get_cluster(arn)
    assert cluster is not None
    cluster.state = ClusterState.ACTIVE
    service.store.save_cluster(cluster)
    sync.pass_once()
    assert fake_kafka.credentials == {"dave": "one", "erin": "two"}
    writes = fake_kafka.writes
    sync.pass_once()
    assert fake_kafka.writes == writes, "credentials in step are not written again"

    # A new value of the secret (a new password, even a new user name) reaches Kafka.
    sm.put_secret_value(
        SecretId=dave, SecretString=json.dumps({"username": "dave2", "password": "3"})
    )
    sync.pass_once()
    assert fake_kafka.credentials == {"dave2": "3", "erin": "two"}

    # A new value that names another association's user takes nothing from it.
    sm.put_secret_value(
        SecretId=dave, SecretString=json.dumps({"username": "erin", "password": "x"})
    )
    sync.pass_once()
    assert fake_kafka.credentials == {"erin": "two"}
    (dave_association,) = [
        a for a in service.secrets.records.associations(arn) if a.secret_arn == dave
    ]
    assert dave_association.kafka_user is None and "erin" in (dave_association.detail or "")
    sm.put_secret_value(
        SecretId=dave, SecretString=json.dumps({"username": "dave2", "password": "3"})
    )
    sync.pass_once()
    assert fake_kafka.credentials == {"dave2": "3", "erin": "two"}

    # A credential lost from Kafka is written again when the sync checks.
    del fake_kafka.credentials["erin"]
    sync.pass_once()
    assert fake_kafka.credentials["erin"] == "two"

    # Disassociated: the credential goes, then the association.
    kafka.batch_disassociate_scram_secret(ClusterArn=arn, SecretArnList=[erin])
    assert [a.secret_arn for a in service.secrets.records.associations(arn)] == [dave, erin]
    sync.pass_once()
    assert fake_kafka.credentials == {"dave2": "3"}
    assert [a.secret_arn for a in service.secrets.records.associations(arn)] == [dave]

    # A deleted secret signs nobody in any more.
    sm.delete_secret(SecretId=dave, RecoveryWindowInDays=7)
    sync.pass_once()
    assert fake_kafka.credentials == {}
    sm.restore_secret(SecretId=dave)
    sync.pass_once()
    assert fake_kafka.credentials == {"dave2": "3"}


def test_update_secret_and_a_moved_current_label_reach_kafka(
    service: ClusterService,
    kafka: Any,
    sm: Any,
    fake_kafka: FakeKafka,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Terraform changes a secret with UpdateSecret (and can move AWSCURRENT back with
    UpdateSecretVersionStage): the sync is woken and Kafka gets the credential AWSCURRENT holds."""
    made = kafka.create_cluster_v2(ClusterName="updated", Provisioned=provisioned(True))
    arn = made["ClusterArn"]
    cluster = service.store.get_cluster(arn)
    assert cluster is not None
    cluster.state = ClusterState.ACTIVE
    service.store.save_cluster(cluster)
    frank = sm.create_secret(
        Name="AmazonMSK_frank", SecretString=json.dumps({"username": "frank", "password": "one"})
    )
    kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[frank["ARN"]])
    sync = ScramSync(service.store, service.secrets, verify_interval=0)
    sync.pass_once()
    assert fake_kafka.credentials["frank"] == "one"

    woken: list[str] = []
    monkeypatch.setattr(service.secrets, "on_change", lambda: woken.append("sync"))
    sm.update_secret(SecretId=frank["ARN"], Description="described, not changed")
    assert woken == [], "a new description changes no credential"
    updated = sm.update_secret(
        SecretId=frank["ARN"], SecretString=json.dumps({"username": "frank", "password": "two"})
    )
    assert woken == ["sync"]
    sync.pass_once()
    assert fake_kafka.credentials["frank"] == "two"

    sm.update_secret_version_stage(
        SecretId=frank["ARN"],
        VersionStage="AWSCURRENT",
        MoveToVersionId=frank["VersionId"],
        RemoveFromVersionId=updated["VersionId"],
    )
    assert woken == ["sync", "sync"]
    sync.pass_once()
    assert fake_kafka.credentials["frank"] == "one"
