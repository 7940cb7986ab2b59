"""MSK operations for features Steward does not build: each answers MSK's BadRequestException
saying what is not available and what to use instead (as CreateCluster refuses serverless
clusters or tiered storage), never "no operation". The lists among them answer what is true,
that there is nothing: no VPC connection, replicator, reassignment, assessment or channel can
exist in Steward. An operation on a cluster answers NotFoundException for an unknown cluster
first, as MSK does. docs/msk-compatibility.md lists them."""

from __future__ import annotations

from dataclasses import dataclass

from steward.api.msk.routing import Body, Handler, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException

router = Router()

_VPC = (
    "Multi-VPC private connectivity (VPC connections) is not available in Steward: clients "
    "reach the brokers at the addresses of Steward's zones (GetBootstrapBrokers)."
)
_REPLICATOR = (
    "MSK Replicator is not available in Steward; run Kafka's MirrorMaker 2 against the "
    "clusters' bootstrap brokers to copy topics between them."
)
_REASSIGNMENT = (
    "Topic reassignments move partitions between the Standard and Express brokers of a cluster "
    "that has both (MSK's in-place move to Express); Steward does not run clusters with both "
    "kinds of broker. Steward moves partitions itself when brokers are added or removed "
    "(UpdateBrokerCount)."
)
_ASSESSMENT = (
    "Readiness assessments are not available in Steward; GetClusterHealth tells what the "
    "health monitor finds, and DescribeTopic what each topic holds."
)
_CHANNEL = (
    "Channels (delivery of Express topics to Amazon S3 or Apache Iceberg) are not available "
    "in Steward."
)
_CONNECTIVITY = (
    "Public access and multi-VPC connectivity are not available in Steward, and its KRaft "
    "clusters have no ZooKeeper to open: clients reach the brokers at the addresses of "
    "Steward's zones (GetBootstrapBrokers)."
)


@dataclass(frozen=True)
class Unbuilt:
    operation: str
    method: str
    template: str
    reason: str
    empty_list: str | None = None
    """For a list: the member of its answer, an empty list."""


UNBUILT: tuple[Unbuilt, ...] = (
    Unbuilt("UpdateConnectivity", "PUT", "/v1/clusters/{clusterArn}/connectivity", _CONNECTIVITY),
    Unbuilt("CreateVpcConnection", "POST", "/v1/vpc-connection", _VPC),
    Unbuilt("DescribeVpcConnection", "GET", "/v1/vpc-connection/{arn}", _VPC),
    Unbuilt("DeleteVpcConnection", "DELETE", "/v1/vpc-connection/{arn}", _VPC),
    Unbuilt("ListVpcConnections", "GET", "/v1/vpc-connections", _VPC, "vpcConnections"),
    Unbuilt(
        "ListClientVpcConnections",
        "GET",
        "/v1/clusters/{clusterArn}/client-vpc-connections",
        _VPC,
        "clientVpcConnections",
    ),
    Unbuilt(
        "RejectClientVpcConnection", "PUT", "/v1/clusters/{clusterArn}/client-vpc-connection", _VPC
    ),
    Unbuilt("CreateReplicator", "POST", "/replication/v1/replicators", _REPLICATOR),
    Unbuilt("ListReplicators", "GET", "/replication/v1/replicators", _REPLICATOR, "replicators"),
    Unbuilt(
        "DescribeReplicator", "GET", "/replication/v1/replicators/{replicatorArn}", _REPLICATOR
    ),
    Unbuilt(
        "DeleteReplicator", "DELETE", "/replication/v1/replicators/{replicatorArn}", _REPLICATOR
    ),
    Unbuilt(
        "UpdateReplicationInfo",
        "PUT",
        "/replication/v1/replicators/{replicatorArn}/replication-info",
        _REPLICATOR,
    ),
    Unbuilt(
        "StartTopicReassignment",
        "POST",
        "/v1/clusters/{clusterArn}/topic-reassignments",
        _REASSIGNMENT,
    ),
    Unbuilt(
        "ListTopicReassignments",
        "GET",
        "/v1/clusters/{clusterArn}/topic-reassignments",
        _REASSIGNMENT,
        "reassignments",
    ),
    Unbuilt(
        "DescribeTopicReassignment",
        "GET",
        "/v1/clusters/{clusterArn}/topic-reassignments/{topicReassignmentOperationArn}",
        _REASSIGNMENT,
    ),
    Unbuilt(
        "StopTopicReassignment",
        "POST",
        "/v1/clusters/{clusterArn}/topic-reassignments/{topicReassignmentOperationArn}/stop",
        _REASSIGNMENT,
    ),
    Unbuilt("CreateAssessment", "POST", "/v1/clusters/{clusterArn}/assessments", _ASSESSMENT),
    Unbuilt(
        "ListAssessments",
        "GET",
        "/v1/clusters/{clusterArn}/assessments",
        _ASSESSMENT,
        "assessments",
    ),
    Unbuilt(
        "DescribeAssessment",
        "GET",
        "/v1/clusters/{clusterArn}/assessments/{assessmentArn}",
        _ASSESSMENT,
    ),
    Unbuilt(
        "DeleteAssessment",
        "DELETE",
        "/v1/clusters/{clusterArn}/assessments/{assessmentArn}",
        _ASSESSMENT,
    ),
    Unbuilt(
        "ListAssessmentFindings",
        "GET",
        "/v1/clusters/{clusterArn}/assessments/{assessmentArn}/findings",
        _ASSESSMENT,
    ),
    Unbuilt("CreateChannel", "POST", "/v1/clusters/{clusterArn}/channels", _CHANNEL),
    Unbuilt("ListChannels", "GET", "/v1/clusters/{clusterArn}/channels", _CHANNEL, "channels"),
    Unbuilt("DescribeChannel", "GET", "/v1/clusters/{clusterArn}/channels/{channelArn}", _CHANNEL),
    Unbuilt("UpdateChannel", "PUT", "/v1/clusters/{clusterArn}/channels/{channelArn}", _CHANNEL),
    Unbuilt("DeleteChannel", "DELETE", "/v1/clusters/{clusterArn}/channels/{channelArn}", _CHANNEL),
)


def _handler(unbuilt: Unbuilt) -> Handler:
    def handle(service: ClusterService, request: MskRequest) -> Body:
        if "clusterArn" in request.params:
            service.describe_cluster(request.param("clusterArn"))
        if unbuilt.empty_list is not None:
            return {unbuilt.empty_list: []}
        raise BadRequestException(unbuilt.reason)

    return handle


for _unbuilt in UNBUILT:
    router.add(_unbuilt.operation, _unbuilt.method, _unbuilt.template)(_handler(_unbuilt))
