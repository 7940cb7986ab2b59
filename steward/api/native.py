"""Steward's own routes, beside MSK's: what MSK shows elsewhere (CloudWatch metrics) or not at
all. Same conventions as the MSK routes: camelCase JSON, ARNs percent-encoded in the path, MSK's
error shapes."""

from __future__ import annotations

from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException

router = Router()


@router.add("GetClusterStorage", "GET", "/steward/v1/clusters/{clusterArn}/storage")
def get_cluster_storage(service: ClusterService, request: MskRequest) -> Body:
    """Per broker: its volume, the bytes its Kafka data logs take, and MSK's
    `KafkaDataLogsDiskUsed` (percent of the volume)."""
    usage = service.storage_usage(request.param("clusterArn"))
    return {
        "brokers": [
            {
                "brokerId": b.broker_id,
                "volumeSizeGB": b.volume_size_gb,
                "usedBytes": b.used_bytes,
                "kafkaDataLogsDiskUsed": (
                    None if b.used_percent is None else round(b.used_percent, 4)
                ),
            }
            for b in usage
        ]
    }


@router.add("GetClusterHealth", "GET", "/steward/v1/clusters/{clusterArn}/health")
def get_cluster_health(service: ClusterService, request: MskRequest) -> Body:
    """What the health monitor last saw: each node, Kafka's own view and the faults found.
    `status` is UNKNOWN while the monitor has not looked at the cluster."""
    arn = request.param("clusterArn")
    report = service.cluster_health(arn)
    if report is None:
        return {"clusterArn": arn, "status": "UNKNOWN"}
    return report.to_json()


@router.add("GetClusterStatus", "GET", "/steward/v1/clusters/{clusterArn}/status")
def get_cluster_status(service: ClusterService, request: MskRequest) -> Body:
    """Where the cluster stands against its spec: the generation asked for and the one it last
    converged on, its conditions, what the health monitor found, and why its nodes restarted."""
    cluster = service.describe_cluster(request.param("clusterArn"))
    status = cluster.status
    return {
        "clusterArn": cluster.arn,
        "generation": cluster.generation,
        "observedGeneration": status.observed_generation,
        "conditions": [
            {
                "type": c.type,
                "status": "True" if c.status else "False",
                "reason": c.reason,
                "message": c.message,
                "lastTransitionTime": c.since.isoformat() if c.since else None,
            }
            for c in status.conditions
        ],
        "findings": [f.to_json() for f in status.findings],
        "nodeSpecHashes": {str(k): v for k, v in sorted(status.node_spec_hashes.items())},
        "restarts": [
            {"nodeId": r.node_id, "reason": r.reason, "time": r.at.isoformat()}
            for r in status.restarts
        ],
    }


@router.add("GetClusterCaCertificate", "GET", "/steward/v1/clusters/{clusterArn}/ca-certificate")
def get_cluster_ca_certificate(service: ClusterService, request: MskRequest) -> Body:
    """The PEM certificate of the cluster's own CA, which signed its brokers' TLS certificates:
    what a client of `BootstrapBrokerStringTls` trusts (MSK's brokers use public CAs instead)."""
    arn = request.param("clusterArn")
    return {"clusterArn": arn, "certificatePem": service.ca_certificate(arn)}


@router.add("ListClusterMetrics", "GET", "/steward/v1/clusters/{clusterArn}/metrics")
def list_cluster_metrics(service: ClusterService, request: MskRequest) -> Body:
    """The metrics Steward keeps for the cluster, each with its dimensions (CloudWatch's
    ListMetrics)."""
    found = service.metrics.list_metrics(
        request.param("clusterArn"), request.query.get("metricName") or None
    )
    return {
        "metrics": [
            {
                "metricName": s.metric,
                "dimensions": [{"name": k, "value": v} for k, v in sorted(s.dimensions.items())],
            }
            for s in found
        ]
    }


@router.add(
    "GetClusterMetricStatistics", "GET", "/steward/v1/clusters/{clusterArn}/metrics/{metricName}"
)
def get_cluster_metric_statistics(service: ClusterService, request: MskRequest) -> Body:
    """A metric's datapoints over a time range (CloudWatch's GetMetricStatistics): query
    `startTime` and `endTime` (epoch seconds; default the last hour), `period` (seconds, default
    60), `statistic` (Average, Maximum, Minimum, Sum or SampleCount), `brokerId` and `topic` for
    per-broker and per-topic metrics, and `consumerGroup` with `topic` for a group's lag on a
    topic (SumOffsetLag, MaxOffsetLag, EstimatedMaxTimeLag)."""
    query = request.query
    metric = request.param("metricName")
    statistic = query.get("statistic") or "Average"
    points = service.metrics.query(
        request.param("clusterArn"),
        metric,
        start=_epoch(query.get("startTime"), "startTime"),
        end=_epoch(query.get("endTime"), "endTime"),
        period=query.integer("period", 1, 86400 * 31) or 60,
        statistic=statistic,
        broker_id=query.get("brokerId") or None,
        topic=query.get("topic") or None,
        consumer_group=query.get("consumerGroup") or None,
    )
    return {
        "label": metric,
        "statistic": statistic,
        "datapoints": [
            {"timestamp": p.timestamp, "value": p.value, "sampleCount": p.sample_count}
            for p in points
        ],
    }


def _epoch(raw: str | None, name: str) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise BadRequestException(f"{name} must be epoch seconds.", name) from None
