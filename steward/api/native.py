"""Steward's own routes, beside MSK's: what MSK shows elsewhere (CloudWatch metrics) or not at
all. Same conventions as the MSK routes: camelCase JSON, ARNs percent-encoded in the path, MSK's
error shapes."""

from __future__ import annotations

from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService

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
