"""CloudWatch's API as boto3's own `cloudwatch` client speaks it, in each of its three protocols
(RPC v2 CBOR, botocore's default; AWS JSON 1.0; AWS Query): users' metrics put and read back,
MSK's `AWS/Kafka` metrics read with metric math, percentiles and pagination, and alarms that are
the same alarms Steward's own routes show."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.session
import httpx
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.api.auth.keys import create_access_key
from steward.api.auth.verifier import SigV4Verifier
from steward.control.service import ClusterService
from steward.monitor.store import Sample
from steward.settings import Settings
from steward.store.store import Store
from tests.unit.serving import serving
from tests.unit.test_msk_topics import ZONES

PROTOCOLS = ("smithy-rpc-v2-cbor", "json", "query")
KAFKA = "AWS/Kafka"


def _model_dir(root: Path, protocol: str) -> Path:
    """A copy of botocore's CloudWatch model that offers only `protocol`, so that the client
    botocore builds from it speaks that one."""
    source = Path(botocore.__file__).parent / "data" / "cloudwatch" / "2010-08-01"
    model = json.loads(gzip.decompress((source / "service-2.json.gz").read_bytes()))
    model["metadata"]["protocols"] = [protocol]
    model["metadata"]["protocol"] = protocol
    target = root / protocol / "cloudwatch" / "2010-08-01"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    return root / protocol


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ClusterService]:
    settings = Settings(home=tmp_path, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    yield service
    service.metrics.close()
    service.store.close()


@pytest.fixture
def url(service: ClusterService) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


def client(
    url: str, protocol: str, models: Path, key_id: str = "test", secret: str = "test"
) -> Any:
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(_model_dir(models, protocol)))
    made = boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    seen: list[str] = []

    def record(request: Any, **_: Any) -> None:
        seen.append(
            request.headers.get("Content-Type", b"").decode()
            if isinstance(request.headers.get("Content-Type"), bytes)
            else str(request.headers.get("Content-Type"))
        )

    made.meta.events.register("before-send", record)
    made.content_types = seen
    return made


@pytest.fixture(params=PROTOCOLS)
def cloudwatch(request: Any, url: str, tmp_path: Path) -> Any:
    return client(url, request.param, tmp_path / "models")


def expected_content_type(protocol: str) -> str:
    return {
        "smithy-rpc-v2-cbor": "application/cbor",
        "json": "application/x-amz-json-1.0",
        "query": "application/x-www-form-urlencoded",
    }[protocol]


def test_the_default_client_is_answered(url: str) -> None:
    """botocore ranks JSON above CBOR: the model offers CBOR first, the client sends JSON 1.0."""
    made = boto3.client(
        "cloudwatch",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    assert made.meta.service_model.resolved_protocol == "json"
    assert made.list_metrics()["Metrics"] == []


def test_users_metrics_are_put_and_read_back(cloudwatch: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=10)
    dims = [{"Name": "Service", "Value": "checkout"}]
    cloudwatch.put_metric_data(
        Namespace="Shop/Orders",
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Timestamp": now - timedelta(minutes=2),
                "Value": v,
            }
            for v in (10.0, 20.0, 30.0, 40.0)
        ]
        + [
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Timestamp": now - timedelta(minutes=2),
                "StatisticValues": {
                    "SampleCount": 2,
                    "Sum": 100.0,
                    "Minimum": 50.0,
                    "Maximum": 50.0,
                },
            }
        ],
    )
    protocol = cloudwatch.meta.service_model.resolved_protocol
    assert cloudwatch.content_types[-1].startswith(expected_content_type(protocol))

    listed = cloudwatch.list_metrics(Namespace="Shop/Orders")["Metrics"]
    assert listed == [{"Namespace": "Shop/Orders", "MetricName": "Latency", "Dimensions": dims}]
    assert cloudwatch.list_metrics(Namespace=KAFKA)["Metrics"] == []

    stats = cloudwatch.get_metric_statistics(
        Namespace="Shop/Orders",
        MetricName="Latency",
        Dimensions=dims,
        StartTime=start,
        EndTime=now,
        Period=600,
        Statistics=["Sum", "SampleCount", "Maximum"],
        ExtendedStatistics=["p50"],
    )
    [point] = stats["Datapoints"]
    assert point["Sum"] == 200.0 and point["SampleCount"] == 6.0 and point["Maximum"] == 50.0
    assert point["ExtendedStatistics"] == {"p50": 30.0}
    assert isinstance(point["Timestamp"], datetime)

    data = cloudwatch.get_metric_data(
        StartTime=start,
        EndTime=now,
        MetricDataQueries=[
            {
                "Id": "total",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "Shop/Orders",
                        "MetricName": "Latency",
                        "Dimensions": dims,
                    },
                    "Period": 600,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {"Id": "doubled", "Expression": "total * 2 + 1", "Label": "Doubled"},
        ],
    )
    [result] = data["MetricDataResults"]
    assert result["Id"] == "doubled" and result["Label"] == "Doubled"
    assert result["Values"] == [401.0] and result["StatusCode"] == "Complete"


def test_cloudwatch_errors_read_the_same_in_every_protocol(cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_data(
            Namespace="AWS/Kafka", MetricData=[{"MetricName": "BytesInPerSec", "Value": 1.0}]
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(cloudwatch.exceptions.ResourceNotFound):
        cloudwatch.delete_alarms(AlarmNames=["nobody-made-this"])
    with pytest.raises(cloudwatch.exceptions.ResourceNotFound):
        cloudwatch.set_alarm_state(AlarmName="nobody", StateValue="OK", StateReason="test")
    with pytest.raises(ClientError) as refused:
        cloudwatch.describe_alarms(AlarmNames=["a"], AlarmNamePrefix="a")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as refused:
        cloudwatch.get_metric_data(
            StartTime=datetime.now(UTC) - timedelta(hours=1),
            EndTime=datetime.now(UTC),
            MetricDataQueries=[{"Id": "e1", "Expression": "m9 + 1"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "m9" in refused.value.response["Error"]["Message"]


def broker_load(service: ClusterService, now: float) -> None:
    """What the scraper would have stored of two brokers of cluster orders."""
    samples = []
    for minute in range(10):
        ts = now - 600 + minute * 60 + 5
        for broker, rate in (("1", 1000.0 + minute), ("2", 10.0)):
            dims = {"Cluster Name": "orders", "Broker ID": broker}
            samples.append(Sample("BytesInPerSec", dims, ts, rate))
            samples.append(Sample("UnderReplicatedPartitions", dims, ts, 0.0))
    service.metrics.store.put(samples)


def test_msk_metrics_are_read_with_math_pages_and_order(
    service: ClusterService, url: str, tmp_path: Path
) -> None:
    cloudwatch = client(url, "smithy-rpc-v2-cbor", tmp_path / "models")
    now = time.time() // 600 * 600  # one 600 s period holds the ten minutes
    broker_load(service, now)
    listed = cloudwatch.list_metrics(
        Namespace=KAFKA, MetricName="BytesInPerSec", Dimensions=[{"Name": "Broker ID"}]
    )["Metrics"]
    assert len(listed) == 2
    assert {"Name": "Cluster Name", "Value": "orders"} in listed[0]["Dimensions"]

    def stat(broker: str) -> dict[str, Any]:
        return {
            "Metric": {
                "Namespace": KAFKA,
                "MetricName": "BytesInPerSec",
                "Dimensions": [
                    {"Name": "Cluster Name", "Value": "orders"},
                    {"Name": "Broker ID", "Value": broker},
                ],
            },
            "Period": 60,
            "Stat": "Average",
        }

    queries = [
        {"Id": "b1", "MetricStat": stat("1")},
        {"Id": "b2", "MetricStat": stat("2"), "ReturnData": False},
        {"Id": "both", "Expression": "SUM([b1, b2])"},
        {"Id": "peak", "Expression": "MAX(b1)"},
    ]
    start, end = datetime.fromtimestamp(now - 600, UTC), datetime.fromtimestamp(now, UTC)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    results = {r["Id"]: r for r in answer["MetricDataResults"]}
    assert set(results) == {"b1", "both", "peak"}
    assert results["b1"]["Values"] == [1000.0 + m for m in range(10)]
    assert results["both"]["Values"] == [1010.0 + m for m in range(10)]
    assert set(results["peak"]["Values"]) == {1009.0}
    stamps = results["b1"]["Timestamps"]
    assert stamps == sorted(stamps)

    descending = cloudwatch.get_metric_data(
        MetricDataQueries=queries[:1], StartTime=start, EndTime=end
    )["MetricDataResults"][0]["Values"]
    assert descending == [1009.0 - m for m in range(10)]

    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = cloudwatch.get_metric_data(
            MetricDataQueries=queries[:1],
            StartTime=start,
            EndTime=end,
            MaxDatapoints=4,
            ScanBy="TimestampAscending",
            **kwargs,
        )
        pages.append(page["MetricDataResults"][0])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p["Values"]) for p in pages] == [4, 4, 2]
    assert [p["StatusCode"] for p in pages] == ["PartialData", "PartialData", "Complete"]
    assert [v for p in pages for v in p["Values"]] == [1000.0 + m for m in range(10)]

    p90 = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "p", "MetricStat": {**stat("1"), "Period": 600, "Stat": "p90"}}],
        StartTime=start,
        EndTime=end,
    )["MetricDataResults"][0]["Values"]
    assert p90 == [1008.0]
    paginator = cloudwatch.get_paginator("get_metric_data")
    values = [
        v
        for page in paginator.paginate(
            MetricDataQueries=queries[:1],
            StartTime=start,
            EndTime=end,
            PaginationConfig={"PageSize": 3},
        )
        for r in page["MetricDataResults"]
        for v in r["Values"]
    ]
    assert len(values) == 10


def test_an_alarm_lives_through_its_whole_api(cloudwatch: Any, url: str) -> None:
    dims = [{"Name": "Cluster Name", "Value": "orders"}, {"Name": "Broker ID", "Value": "1"}]
    cloudwatch.put_metric_alarm(
        AlarmName="orders-urp",
        Namespace=KAFKA,
        MetricName="UnderReplicatedPartitions",
        Dimensions=dims,
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=["http://127.0.0.1:9/alarm"],
        OKActions=["http://127.0.0.1:9/ok"],
        TreatMissingData="notBreaching",
        Tags=[{"Key": "team", "Value": "data"}],
    )
    cloudwatch.put_metric_alarm(
        AlarmName="shop-latency",
        Namespace="Shop/Orders",
        MetricName="Latency",
        ExtendedStatistic="p99",
        Period=300,
        EvaluationPeriods=1,
        Threshold=500,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["orders-urp"])["MetricAlarms"]
    assert alarm["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:orders-urp"
    assert alarm["StateValue"] == "INSUFFICIENT_DATA" and alarm["ActionsEnabled"] is True
    assert alarm["Dimensions"] == sorted(dims, key=lambda d: d["Name"])
    assert alarm["OKActions"] == ["http://127.0.0.1:9/ok"]
    [latency] = cloudwatch.describe_alarms(AlarmNamePrefix="shop-")["MetricAlarms"]
    assert latency["ExtendedStatistic"] == "p99" and "Statistic" not in latency

    # One model: Steward's own route shows the alarm CloudWatch made.
    steward = httpx.get(f"{url}/steward/v1/alarms/orders-urp").json()
    assert steward["okActions"] == ["http://127.0.0.1:9/ok"] and steward["period"] == 60

    cloudwatch.set_alarm_state(AlarmName="orders-urp", StateValue="ALARM", StateReason="drill")
    in_alarm = cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert [a["AlarmName"] for a in in_alarm] == ["orders-urp"]
    assert in_alarm[0]["StateReason"] == "drill"
    by_action = cloudwatch.describe_alarms(ActionPrefix="http://127.0.0.1:9/")["MetricAlarms"]
    assert [a["AlarmName"] for a in by_action] == ["orders-urp"]
    for_metric = cloudwatch.describe_alarms_for_metric(
        Namespace=KAFKA, MetricName="UnderReplicatedPartitions", Dimensions=dims
    )["MetricAlarms"]
    assert [a["AlarmName"] for a in for_metric] == ["orders-urp"]

    cloudwatch.disable_alarm_actions(AlarmNames=["orders-urp", "not-there"])
    assert (
        cloudwatch.describe_alarms(AlarmNames=["orders-urp"])["MetricAlarms"][0]["ActionsEnabled"]
        is False
    )
    cloudwatch.enable_alarm_actions(AlarmNames=["orders-urp"])

    history = cloudwatch.describe_alarm_history(AlarmName="orders-urp")["AlarmHistoryItems"]
    kinds = [h["HistoryItemType"] for h in history]
    assert "StateUpdate" in kinds and "ConfigurationUpdate" in kinds
    updates = cloudwatch.describe_alarm_history(
        AlarmName="orders-urp", HistoryItemType="StateUpdate"
    )["AlarmHistoryItems"]
    assert updates[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert json.loads(updates[0]["HistoryData"])["newState"] == "ALARM"

    arn = alarm["AlarmArn"]
    assert cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "data"}
    ]
    cloudwatch.tag_resource(ResourceARN=arn, Tags=[{"Key": "tier", "Value": "1"}])
    cloudwatch.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "tier", "Value": "1"}
    ]

    cloudwatch.delete_alarms(AlarmNames=["orders-urp", "shop-latency"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


def test_an_alarm_on_an_unconfigured_sns_topic_is_refused(cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_alarm(
            AlarmName="a",
            Namespace=KAFKA,
            MetricName="OfflinePartitionsCount",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=["arn:aws:sns:us-east-1:000000000000:ops"],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "STEWARD_ALARM_TOPICS" in refused.value.response["Error"]["Message"]


@pytest.fixture
def signed_url(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    settings = Settings(home=tmp_path, zones=ZONES)
    store = Store(settings.db_url)
    key = create_access_key(store.access_keys, "tests")
    service = ClusterService(settings, store)
    verifier = SigV4Verifier(settings.region, store.access_keys.secret_of)
    with serving(build_app(service, verifier)) as url:
        yield url, key
    service.metrics.close()
    store.close()


def test_signed_requests_pass_and_bad_signatures_get_cloudwatch_errors(
    signed_url: tuple[str, Any], tmp_path: Path
) -> None:
    url, key = signed_url
    for protocol in PROTOCOLS:
        good = client(
            url, protocol, tmp_path / "models" / "good", key.access_key_id, key.secret_access_key
        )
        assert good.describe_alarms()["MetricAlarms"] == []
        bad = client(url, protocol, tmp_path / "models" / "bad", key.access_key_id, "wrong")
        with pytest.raises(ClientError) as refused:
            bad.describe_alarms()
        assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch", protocol
        unknown = client(url, protocol, tmp_path / "models" / "unknown", "AKIANOBODY", "x")
        with pytest.raises(ClientError) as refused:
            unknown.list_metrics()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId", protocol


def test_a_metric_source_that_does_not_answer_is_an_internal_error_of_its_query(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, zones=ZONES, metrics_prometheus_url="http://127.0.0.1:9")
    service = ClusterService(settings, Store(settings.db_url))
    try:
        with serving(build_app(service, AcceptAnyRequest())) as url:
            cloudwatch = client(url, "json", tmp_path / "models")
            end = datetime.now(UTC)
            metric = {
                "Namespace": KAFKA,
                "MetricName": "BytesInPerSec",
                "Dimensions": [
                    {"Name": "Cluster Name", "Value": "orders"},
                    {"Name": "Broker ID", "Value": "1"},
                ],
            }
            answer = cloudwatch.get_metric_data(
                StartTime=end - timedelta(minutes=5),
                EndTime=end,
                MetricDataQueries=[
                    {"Id": "b", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}},
                    {"Id": "kib", "Expression": "b / 1024"},
                    {"Id": "lag", "MetricStat": {"Metric": {**metric, "MetricName": "SumOffsetLag"},
                                                 "Period": 60, "Stat": "Sum"}},
                ],
            )  # fmt: skip
            status = {r["Id"]: r["StatusCode"] for r in answer["MetricDataResults"]}
            # Prometheus answers BytesInPerSec; the embedded store still answers the rest.
            assert status == {"b": "InternalError", "kib": "InternalError", "lag": "Complete"}
            with pytest.raises(ClientError) as refused:
                cloudwatch.get_metric_statistics(
                    **metric, StartTime=end - timedelta(minutes=5), EndTime=end, Period=60,
                    Statistics=["Sum"],
                )  # fmt: skip
            assert refused.value.response["Error"]["Code"] == "InternalServiceError"
    finally:
        service.metrics.close()
        service.store.close()
