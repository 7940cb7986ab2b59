"""`steward autoscaling ...`: storage autoscaling of a cluster, set up the way MSK users set it
up (a scalable target and a target tracking policy on KafkaBrokerStorageUtilization, through
Application Auto Scaling), and the scaling activities it recorded."""

from __future__ import annotations

from typing import Any

import click

from steward.client.api import make_client
from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP
from steward.client.output import response_data

NAMESPACE = "kafka"
STORAGE = "kafka:broker-storage:VolumeSize"
POLICY_NAME = "storage-autoscaling"


def _client(cli: CliContext) -> Any:
    return make_client(cli.endpoint_url, cli.region, service="application-autoscaling")


@click.group()
def autoscaling() -> None:
    """Grow a cluster's broker storage before it fills (Application Auto Scaling)."""


@autoscaling.command("enable", epilog=CLUSTER_HELP)
@CLUSTER
@click.option("--max", "max_gb", type=click.IntRange(1), required=True, help="Largest GiB.")
@click.option(
    "--target",
    type=click.FloatRange(10, 80),
    default=60.0,
    show_default=True,
    help="Disk use (percent of the volume) the autoscaler keeps the fullest broker at.",
)
@click.option("--cooldown", type=click.IntRange(0), help="Seconds between two scale-outs.")
@pass_cli
def enable(cli: CliContext, cluster: str, max_gb: int, target: float, cooldown: int | None) -> None:
    """Turn storage autoscaling on: register the cluster's storage, put the policy."""
    arn = cli.api.cluster_arn(cluster)
    info = cli.api.client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    group = info["Provisioned"]["BrokerNodeGroupInfo"]
    current = group["StorageInfo"]["EbsStorageInfo"]["VolumeSize"]
    client = _client(cli)
    client.register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=arn,
        ScalableDimension=STORAGE,
        MinCapacity=current,
        MaxCapacity=max_gb,
    )
    config: dict[str, Any] = {
        "TargetValue": target,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "KafkaBrokerStorageUtilization"},
        "DisableScaleIn": True,
    }
    if cooldown is not None:
        config["ScaleOutCooldown"] = cooldown
    answer = client.put_scaling_policy(
        PolicyName=POLICY_NAME,
        ServiceNamespace=NAMESPACE,
        ResourceId=arn,
        ScalableDimension=STORAGE,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=config,
    )
    if cli.output.is_json:
        cli.output.json(response_data(answer))
        return
    cli.output.text(
        f"Storage autoscaling on: {current} GiB now, up to {max_gb} GiB, keeping disk use at "
        f"{target:g} %."
    )


@autoscaling.command("disable", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def disable(cli: CliContext, cluster: str) -> None:
    """Turn storage autoscaling off (the volumes keep their size)."""
    arn = cli.api.cluster_arn(cluster)
    _client(cli).deregister_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=arn, ScalableDimension=STORAGE
    )
    cli.output.text("Storage autoscaling off.")


@autoscaling.command("show", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def show(cli: CliContext, cluster: str) -> None:
    """The cluster's scalable storage and policy."""
    arn = cli.api.cluster_arn(cluster)
    client = _client(cli)
    targets = client.describe_scalable_targets(ServiceNamespace=NAMESPACE, ResourceIds=[arn])
    policies = client.describe_scaling_policies(ServiceNamespace=NAMESPACE, ResourceId=arn)
    if cli.output.is_json:
        cli.output.json(
            {
                "ScalableTargets": response_data(targets)["ScalableTargets"],
                "ScalingPolicies": response_data(policies)["ScalingPolicies"],
            }
        )
        return
    cli.output.table(
        ["DIMENSION", "MIN", "MAX", "POLICY", "TARGET"],
        [
            (
                t["ScalableDimension"],
                t["MinCapacity"],
                t["MaxCapacity"],
                p["PolicyName"],
                p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
            )
            for t in targets["ScalableTargets"]
            for p in policies["ScalingPolicies"]
            if p["ScalableDimension"] == t["ScalableDimension"]
        ],
    )


@autoscaling.command("activities", epilog=CLUSTER_HELP)
@CLUSTER
@pass_cli
def activities(cli: CliContext, cluster: str) -> None:
    """What the autoscaler did, newest first."""
    arn = cli.api.cluster_arn(cluster)
    found = _client(cli).describe_scaling_activities(ServiceNamespace=NAMESPACE, ResourceId=arn)
    if cli.output.is_json:
        cli.output.json(response_data(found))
        return
    cli.output.table(
        ["START", "STATUS", "DESCRIPTION", "CAUSE"],
        [
            (a["StartTime"], a["StatusCode"], a["Description"], a["Cause"])
            for a in found["ScalingActivities"]
        ],
    )
