"""Application Auto Scaling behind Steward's authentication: boto3's signed requests, scoped
to the `application-autoscaling` service, are accepted; one scoped to another service is not,
and an unknown operation is refused in the service's own error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.keys import NewAccessKey, create_access_key
from steward.api.auth.verifier import SigV4Verifier
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.88.1"), Zone("az-b", "127.88.2"), Zone("az-c", "127.88.3"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("autoscaling-signed")


@pytest.fixture(scope="module")
def store(home: Path) -> Iterator[Store]:
    store = Store(Settings(home=home, zones=ZONES).db_url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def key(store: Store) -> NewAccessKey:
    return create_access_key(store.access_keys, "tests")


@pytest.fixture(scope="module")
def endpoint(home: Path, store: Store) -> Iterator[str]:
    settings = Settings(home=home, zones=ZONES)
    service = ClusterService(settings, store)
    verifier = SigV4Verifier(settings.region, store.access_keys.secret_of)
    with serving(build_app(service, verifier)) as url:
        yield url


def client(endpoint: str, key: NewAccessKey, service: str = "application-autoscaling") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )


def test_signed_requests_are_served(endpoint: str, key: NewAccessKey) -> None:
    found = client(endpoint, key).describe_scalable_targets(ServiceNamespace="kafka")
    assert found["ScalableTargets"] == []
    assert (
        client(endpoint, key).describe_scaling_activities(ServiceNamespace="kafka")[
            "ScalingActivities"
        ]
        == []
    )


def test_other_namespaces_are_refused(endpoint: str, key: NewAccessKey) -> None:
    with pytest.raises(ClientError) as raised:
        client(endpoint, key).describe_scalable_targets(ServiceNamespace="ecs")
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_a_request_signed_for_another_service_is_refused(endpoint: str, key: NewAccessKey) -> None:
    scaling = client(endpoint, key)
    scaling._request_signer._signing_name = "kafka"  # signs for MSK, sends to autoscaling
    with pytest.raises(ClientError) as raised:
        scaling.describe_scalable_targets(ServiceNamespace="kafka")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] in (401, 403)
