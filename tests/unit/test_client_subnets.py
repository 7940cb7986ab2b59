"""ClientSubnets as Terraform, CloudFormation and CDK pass them: subnet ids the operator mapped
to Steward's zones (STEWARD_ZONES), with security groups; zone names keep working."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from steward.control.agents import AgentDirectory
from steward.control.service import ClusterService
from steward.control.steps.nodes import place_nodes
from steward.domain.model import NodeRole
from steward.settings import Settings, Zone, default_zones, parse_zones
from steward.store.store import Store
from tests.unit.serving import serving_msk

ZONES = (
    Zone("az-a", "127.79.1", subnets=("subnet-0a1b", "subnet-0a1c")),
    Zone("az-b", "127.79.2", subnets=("subnet-0b1a",)),
    Zone("az-c", "127.79.3", subnets=("subnet-0c1a",)),
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("subnets")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def kafka(service: ClusterService) -> Iterator[Any]:
    with serving_msk(service) as client:
        yield client


def create(kafka: Any, name: str, subnets: list[str], brokers: int = 3, **group: Any) -> str:
    return str(
        kafka.create_cluster(
            ClusterName=name,
            KafkaVersion="4.3.1",
            NumberOfBrokerNodes=brokers,
            BrokerNodeGroupInfo={
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": subnets,
                "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
                **group,
            },
        )["ClusterArn"]
    )


def refusal(kafka: Any, name: str, subnets: list[str], brokers: int = 3) -> tuple[str, str, str]:
    with pytest.raises(ClientError) as raised:
        create(kafka, name, subnets, brokers)
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["InvalidParameter"]


def place(service: ClusterService, arn: str) -> None:
    """What the create operation's PLACE_NODES step does with the cluster."""
    agents = AgentDirectory(service.settings)
    ctx = SimpleNamespace(store=service.store, settings=service.settings, agents=agents)
    place_nodes(SimpleNamespace(ctx=ctx, cluster=service.describe_cluster(arn)))  # type: ignore[arg-type]


def test_subnet_ids_place_the_brokers_in_the_zones_they_belong_to(
    kafka: Any, service: ClusterService
) -> None:
    subnets = ["subnet-0b1a", "subnet-0a1c", "subnet-0c1a"]
    arn = create(kafka, "by-subnet", subnets, brokers=6, SecurityGroups=["sg-0123", "sg-4567"])

    group = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["BrokerNodeGroupInfo"]
    assert group["ClientSubnets"] == subnets
    assert group["ZoneIds"] == ["az-b", "az-a", "az-c"]
    assert group["SecurityGroups"] == ["sg-0123", "sg-4567"]
    v2 = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["Provisioned"]
    assert v2["BrokerNodeGroupInfo"]["ClientSubnets"] == subnets

    place(service, arn)
    brokers = [n for n in service.store.nodes(arn) if n.role is NodeRole.BROKER]
    assert sorted(n.zone for n in brokers) == ["az-a", "az-a", "az-b", "az-b", "az-c", "az-c"]
    listed = kafka.list_nodes(ClusterArn=arn)["NodeInfoList"]
    subnet_of = {"az-a": "subnet-0a1c", "az-b": "subnet-0b1a", "az-c": "subnet-0c1a"}
    by_id = {n.node_id: n.zone for n in brokers}
    for node in listed:
        if "BrokerNodeInfo" in node:
            info = node["BrokerNodeInfo"]
            assert info["ClientSubnet"] == subnet_of[by_id[int(info["BrokerId"])]]


def test_zone_names_keep_working_and_mix_with_subnet_ids(
    kafka: Any, service: ClusterService
) -> None:
    arn = create(kafka, "by-name", ["az-a", "subnet-0b1a"], brokers=2)
    group = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["BrokerNodeGroupInfo"]
    assert group["ClientSubnets"] == ["az-a", "subnet-0b1a"]
    assert group["ZoneIds"] == ["az-a", "az-b"]
    assert service.describe_cluster(arn).spec.broker_node_group.zones == ("az-a", "az-b")


def test_an_unknown_subnet_is_msks_bad_request(kafka: Any) -> None:
    code, message, invalid = refusal(kafka, "unknown", ["subnet-0a1b", "subnet-dead", "az-c"])
    assert (code, invalid) == ("BadRequestException", "brokerNodeGroupInfo.clientSubnets")
    assert message.startswith("The subnet subnet-dead does not exist")
    assert "az-a, az-b, az-c" in message
    assert "subnet-0a1b" in message


def test_two_subnets_of_one_zone_do_not_make_two_zones(kafka: Any) -> None:
    code, message, invalid = refusal(kafka, "one-zone", ["subnet-0a1b", "subnet-0a1c", "az-c"])
    assert (code, invalid) == ("BadRequestException", "brokerNodeGroupInfo.clientSubnets")
    assert message.startswith(
        "The number of Availability Zones in the BrokerAZDistribution parameter must be equal "
        "to the number of client subnets"
    )
    assert "subnet-0a1b and subnet-0a1c are both in az-a" in message


def test_the_broker_count_is_a_multiple_of_the_zones_the_subnets_cover(kafka: Any) -> None:
    code, message, invalid = refusal(kafka, "uneven", ["subnet-0a1b", "subnet-0b1a"], brokers=3)
    assert (code, invalid) == ("BadRequestException", "numberOfBrokerNodes")
    assert "multiple of the number of client subnets (2)" in message


# --- STEWARD_ZONES ------------------------------------------------------------------------------


def test_zone_names_alone_are_the_comma_separated_form() -> None:
    assert parse_zones("az-a,az-b, az-c") == [("az-a", ()), ("az-b", ()), ("az-c", ())]


def test_zones_with_subnets_are_separated_by_semicolons() -> None:
    assert parse_zones("az-a=subnet-0a1b, subnet-0a1c; az-b=subnet-0b1a;az-c;") == [
        ("az-a", ("subnet-0a1b", "subnet-0a1c")),
        ("az-b", ("subnet-0b1a",)),
        ("az-c", ()),
    ]
    assert parse_zones("az-a=subnet-0a1b") == [("az-a", ("subnet-0a1b",))]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("az-a=subnet-1,az-b", "'az-b' (under zone az-a) is not a subnet id"),
        ("az-a=subnet-1;az-b=subnet-1", "subnet subnet-1 is in both az-a and az-b"),
        ("az-a;az-a=subnet-1", "zone az-a is named twice"),
        ("az-a,,az-b", "a zone has no name"),
        ("=subnet-1;az-b", "a zone has no name"),
        ("az-a=subnet-;az-b", "is not a subnet id"),
    ],
)
def test_a_malformed_zones_setting_says_what_is_wrong(value: str, words: str) -> None:
    with pytest.raises(ValueError, match="STEWARD_ZONES") as raised:
        parse_zones(value)
    assert words in str(raised.value)


def test_the_settings_give_each_zone_its_subnets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEWARD_ZONE_NETWORK", raising=False)
    monkeypatch.setenv("STEWARD_ADDRESS_OCTET", "9")
    monkeypatch.setenv("STEWARD_ZONES", "east=subnet-0e1,subnet-0e2;west")
    assert default_zones() == (
        Zone("east", "127.9.1", subnets=("subnet-0e1", "subnet-0e2")),
        Zone("west", "127.9.2"),
    )
    monkeypatch.setenv("STEWARD_ZONE_NETWORK", "netns")
    assert default_zones() == (
        Zone("east", "10.9.1", "steward-9-east", ("subnet-0e1", "subnet-0e2")),
        Zone("west", "10.9.2", "steward-9-west"),
    )
