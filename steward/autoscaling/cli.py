"""`steward autoscaling ...`: storage autoscaling of a cluster, set up the way MSK users set it
up (a scalable target and a target tracking policy on KafkaBrokerStorageUtilization, through
Application Auto Scaling), and the scaling activities it recorded."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

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


BROKERS = "kafka:broker-count:BrokerCount"
BROKER_POLICIES = {
    "cpu": "KafkaBrokerCpuUtilization",
    "network_in": "KafkaBrokerNetworkInUtilization",
    "handler_idle": "KafkaBrokerRequestHandlerIdle",
}


@autoscaling.command("brokers", epilog=CLUSTER_HELP)
@CLUSTER
@click.option("--min", "min_brokers", type=click.IntRange(1), required=True)
@click.option("--max", "max_brokers", type=click.IntRange(1), required=True)
@click.option("--cpu", type=click.FloatRange(1, 99), help="Target CPU use, percent.")
@click.option(
    "--network-in", type=click.FloatRange(1, 99), help="Target network in, percent of capacity."
)
@click.option(
    "--handler-idle", type=click.FloatRange(1, 99), help="Request handler idle share to keep."
)
@click.option("--scale-out-cooldown", type=click.IntRange(0), help="Seconds.")
@click.option("--scale-in-cooldown", type=click.IntRange(0), help="Seconds.")
@click.option("--no-scale-in", is_flag=True, help="Only ever add brokers.")
@pass_cli
def brokers(
    cli: CliContext,
    cluster: str,
    min_brokers: int,
    max_brokers: int,
    cpu: float | None,
    network_in: float | None,
    handler_idle: float | None,
    scale_out_cooldown: int | None,
    scale_in_cooldown: int | None,
    no_scale_in: bool,
) -> None:
    """Turn broker autoscaling on (Steward's own): min and max brokers (multiples of the zone
    count) and one target tracking policy per target given."""
    arn = cli.api.cluster_arn(cluster)
    client = _client(cli)
    client.register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=arn,
        ScalableDimension=BROKERS,
        MinCapacity=min_brokers,
        MaxCapacity=max_brokers,
    )
    targets = {"cpu": cpu, "network_in": network_in, "handler_idle": handler_idle}
    for name, value in targets.items():
        if value is None:
            continue
        config: dict[str, Any] = {
            "TargetValue": value,
            "PredefinedMetricSpecification": {"PredefinedMetricType": BROKER_POLICIES[name]},
            "DisableScaleIn": no_scale_in,
        }
        if scale_out_cooldown is not None:
            config["ScaleOutCooldown"] = scale_out_cooldown
        if scale_in_cooldown is not None:
            config["ScaleInCooldown"] = scale_in_cooldown
        client.put_scaling_policy(
            PolicyName=f"brokers-{name.replace('_', '-')}",
            ServiceNamespace=NAMESPACE,
            ResourceId=arn,
            ScalableDimension=BROKERS,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=config,
        )
    cli.output.text(f"Broker autoscaling on: {min_brokers} to {max_brokers} brokers.")


@autoscaling.command("plan", epilog=CLUSTER_HELP)
@CLUSTER
@click.option("--brokers", type=click.IntRange(1), help="Preview this size instead.")
@pass_cli
def plan(cli: CliContext, cluster: str, brokers: int | None) -> None:
    """What broker autoscaling would do now: the size, the metric values behind it, and the
    bytes to move and the time it takes (nothing changes)."""
    arn = cli.api.cluster_arn(cluster)
    path = f"/steward/v1/clusters/{quote(arn, safe='')}/autoscaling/plan"
    params = {"brokers": brokers} if brokers is not None else None
    found = cli.api.steward_route("GET", path, params=params)
    if cli.output.is_json:
        cli.output.json(found)
        return
    moving = found["plan"]
    cli.output.text(
        f"{found['currentBrokers']} -> {moving['brokers']} brokers "
        f"(autoscaling wants {found['desiredBrokers']}): {moving['replicasToMove']} replicas, "
        f"{moving['bytesToMove'] / 1024**3:.2f} GiB to move, about "
        f"{moving['estimatedSeconds']:.0f} s"
    )
    cli.output.table(
        ["POLICY", "METRIC", "TARGET", "LATEST", "FORECAST"],
        [
            (r["policyName"], r["metric"], r["targetValue"], r["latest"], r["forecast"])
            for r in found["readings"]
        ],
    )
