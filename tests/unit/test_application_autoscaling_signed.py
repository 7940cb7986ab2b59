"""Application Auto Scaling behind Steward's authentication: boto3's signed requests, scoped
to the `application-autoscaling` service, are accepted; one scoped to another service is not,
and an unknown operation is refused in the service's own error shape."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from steward.api.auth.keys import NewAccessKey
from steward.settings import Zone
from tests.unit.serving import signed_client, signed_endpoint_fixtures

ZONES = (Zone("az-a", "127.88.1"), Zone("az-b", "127.88.2"), Zone("az-c", "127.88.3"))


home, store, key, endpoint = signed_endpoint_fixtures("autoscaling-signed", ZONES)


def client(endpoint: str, key: NewAccessKey, service: str = "application-autoscaling") -> Any:
    return signed_client(service, endpoint, key)


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
