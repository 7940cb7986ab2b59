"""A cluster's status as Steward's own route shows it: the generation asked for against the one
the cluster converged on, and why its nodes restarted; DescribeCluster shows what runs until an
update completes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import boto3
import httpx
import pytest

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.control.service import ClusterService
from steward.settings import Settings
from steward.store.store import Store
from tests.unit.clusters import active_cluster
from tests.unit.serving import serving


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture
def endpoint(service: ClusterService) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


def test_an_update_moves_the_generation_ahead_of_what_the_cluster_converged_on(
    service: ClusterService, endpoint: str
) -> None:
    cluster = active_cluster(service)
    stored = service.describe_cluster(cluster.arn)
    stored.status.record_restart(2, "RebootBroker")
    stored.status.set_condition("Converged", True, "Reconciled")
    service.store.save_cluster(stored)
    service.updates.update_broker_type(cluster.arn, cluster.current_version, "kafka.m5.xlarge")

    url = f"{endpoint}/steward/v1/clusters/{quote(cluster.arn, safe='')}/status"
    status = httpx.get(url).json()
    assert status["generation"] == status["observedGeneration"] + 1
    assert [(r["nodeId"], r["reason"]) for r in status["restarts"]] == [(2, "RebootBroker")]
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [("Converged", "True")]

    kafka = boto3.client(
        "kafka",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    info = kafka.describe_cluster_v2(ClusterArn=cluster.arn)["ClusterInfo"]
    assert info["State"] == "UPDATING"
    group = info["Provisioned"]["BrokerNodeGroupInfo"]
    assert group["InstanceType"] == "kafka.m5.large", "what runs, until the update completes"
