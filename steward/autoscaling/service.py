"""Application Auto Scaling for Steward's clusters, the way MSK users set up storage autoscaling:
a scalable target (namespace `kafka`, the cluster's ARN as resource id, dimension
`kafka:broker-storage:VolumeSize`, min and max capacity in GiB), a TargetTrackingScaling policy on
`KafkaBrokerStorageUtilization`, and the scaling activities that record each decision.

`StorageAutoscaler.pass_once` is the level-triggered background pass: for every storage policy
whose target is not suspended, it reads how full the fullest broker's data volume is; above the
policy's target value, and past the scale-out cooldown since the last activity, it grows every
broker's volume (UpdateStorage, the cluster operation UPDATE_BROKER_STORAGE) to the size that
brings the fullest broker back to the target, within the target's max capacity. Storage never
shrinks, so policies on storage scale out only (DisableScaleIn, as MSK requires). Each decision
is an activity, InProgress until its operation ends, then Successful or Failed.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from steward.autoscaling.brokers import (
    BROKER_DIMENSION,
    BROKER_METRICS,
    DEFAULT_SCALE_IN_COOLDOWN,
    Decision,
    ForecastTiming,
    Reading,
    decide,
    linear_forecast,
)
from steward.autoscaling.brokers import (
    DEFAULT_SCALE_OUT_COOLDOWN as DEFAULT_SCALE_OUT_BROKERS,
)
from steward.autoscaling.store import (
    AutoscalingRecords,
    ScalableTarget,
    ScalingActivity,
    ScalingPolicy,
    TargetKey,
)
from steward.domain.errors import StewardError
from steward.domain.limits import MAX_VOLUME_SIZE_GB
from steward.domain.model import Cluster, ClusterState, Operation, OperationState, utcnow

log = logging.getLogger(__name__)

KAFKA = "kafka"
STORAGE_DIMENSION = "kafka:broker-storage:VolumeSize"
STORAGE_METRIC = "KafkaBrokerStorageUtilization"
TARGET_TRACKING = "TargetTrackingScaling"
DEFAULT_SCALE_OUT_COOLDOWN = 300
"""Seconds after a storage activity before the next one, when the policy names none."""
STORAGE_TARGET_RANGE = (10.0, 80.0)
"""Target utilizations MSK accepts for storage autoscaling, in percent."""
STORAGE_INTERVAL = 60.0
"""Seconds between two passes of the storage autoscaler."""
MAX_RESULTS = 50


class AutoScalingError(StewardError):
    status = 400


class ValidationException(AutoScalingError):
    pass


class ObjectNotFoundException(AutoScalingError):
    pass


class InvalidNextTokenException(AutoScalingError):
    pass


class ConcurrentUpdateException(AutoScalingError):
    pass


class InternalServiceException(AutoScalingError):
    status = 500


class Clusters(Protocol):
    """What autoscaling needs of the control plane."""

    def describe(self, arn: str) -> Cluster: ...

    def grow_storage(self, arn: str, size_gb: int) -> Operation: ...

    def operation(self, arn: str) -> Operation: ...

    def storage_utilization(self, arn: str) -> float | None:
        """How full the fullest broker's data volume is, in percent; None if unknown."""
        ...

    def broker_series(
        self, arn: str, metric: str, start: float, end: float
    ) -> list[tuple[float, float]]:
        """One of the broker metrics (`steward.autoscaling.brokers`), the mean over the
        cluster's brokers, as (time, value) points, oldest first."""
        ...

    def zone_count(self, arn: str) -> int: ...

    def resize(self, arn: str, brokers: int, cause: str) -> Operation:
        """Start the broker count change (the operation's StateInfo names `cause`)."""
        ...

    def preview_resize(self, arn: str, brokers: int) -> ResizePreview: ...


@dataclass(frozen=True)
class ResizePreview:
    """What changing the broker count would move: the balancer's plan onto the new brokers (or
    off the leaving ones), and how long it takes at the replication throttle."""

    brokers_from: int
    brokers_to: int
    replicas_to_move: int
    bytes_to_move: int
    seconds: float


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str | None


def _page(items: Sequence[Any], max_results: int | None, token: str | None) -> Page:
    size = max_results or MAX_RESULTS
    if not 1 <= size <= 100:
        raise ValidationException("MaxResults must be between 1 and 100.")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise InvalidNextTokenException("The NextToken is not valid.") from None
    if start < 0 or start > len(items):
        raise InvalidNextTokenException("The NextToken is not valid.")
    end = start + size
    return Page(list(items[start:end]), str(end) if end < len(items) else None)


class ApplicationAutoScaling:
    def __init__(
        self,
        records: AutoscalingRecords,
        clusters: Clusters,
        region: str,
        account: str,
        now: Callable[[], datetime] = utcnow,
        timing: ForecastTiming | None = None,
    ) -> None:
        self.records = records
        self.clusters = clusters
        self.region = region
        self.account = account
        self.now = now
        self.timing = timing or ForecastTiming()
        self.wake: Callable[[], None] = lambda: None
        """Wakes the autoscaler's background pass (set by the server)."""

    # --- scalable targets -----------------------------------------------------------------------
    def register_scalable_target(
        self,
        namespace: str,
        resource_id: str,
        dimension: str,
        min_capacity: int | None,
        max_capacity: int | None,
        role_arn: str | None = None,
        suspended: dict[str, bool] | None = None,
    ) -> ScalableTarget:
        key = self._check_key(namespace, resource_id, dimension)
        cluster = self._cluster(resource_id, storage=dimension == STORAGE_DIMENSION)
        existing = self.records.target(key)
        if existing is None and (min_capacity is None or max_capacity is None):
            raise ValidationException(
                "MinCapacity and MaxCapacity are required to register a new scalable target."
            )
        low = min_capacity if min_capacity is not None else existing.min_capacity  # type: ignore[union-attr]
        high = max_capacity if max_capacity is not None else existing.max_capacity  # type: ignore[union-attr]
        if low < 0 or high < low:
            raise ValidationException(
                f"MinCapacity ({low}) must be at least 0 and no more than MaxCapacity ({high})."
            )
        if dimension == STORAGE_DIMENSION:
            self._check_storage_bounds(cluster, high)
        else:
            self._check_broker_bounds(cluster, low, high)
        target = ScalableTarget(
            namespace,
            resource_id,
            dimension,
            existing.arn if existing else self._target_arn(),
            low,
            high,
            role_arn or (existing.role_arn if existing else self._service_role()),
            existing.creation_time if existing else self.now(),
            {**(existing.suspended if existing else {}), **(suspended or {})},
        )
        self.records.put_target(target)
        self.wake()
        return target

    def describe_scalable_targets(
        self,
        namespace: str,
        resource_ids: Sequence[str] | None = None,
        dimension: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        self._check_namespace(namespace)
        found = [
            t
            for t in self.records.targets(namespace)
            if (not resource_ids or t.resource_id in resource_ids)
            and (dimension is None or t.scalable_dimension == dimension)
        ]
        return _page(found, max_results, next_token)

    def deregister_scalable_target(self, namespace: str, resource_id: str, dimension: str) -> None:
        key = self._check_key(namespace, resource_id, dimension)
        if not self.records.delete_target(key):
            raise ObjectNotFoundException(
                f"No scalable target registered for service namespace: {namespace}, resource ID: "
                f"{resource_id}, scalable dimension: {dimension}"
            )

    # --- policies -------------------------------------------------------------------------------
    def put_scaling_policy(
        self,
        name: str,
        namespace: str,
        resource_id: str,
        dimension: str,
        policy_type: str | None,
        configuration: dict[str, Any] | None,
    ) -> ScalingPolicy:
        key = self._check_key(namespace, resource_id, dimension)
        if not name or len(name) > 256:
            raise ValidationException("PolicyName must be 1 to 256 characters.")
        if self.records.target(key) is None:
            raise ObjectNotFoundException(
                f"No scalable target registered for service namespace: {namespace}, resource ID: "
                f"{resource_id}, scalable dimension: {dimension}"
            )
        kind = policy_type or "StepScaling"
        if kind != TARGET_TRACKING:
            raise ValidationException(
                f"Unsupported policy type {kind} for {dimension}: use {TARGET_TRACKING}."
            )
        config = self._check_target_tracking(configuration, dimension)
        existing = {p.name: p for p in self.records.policies(namespace) if p.key == key}
        old = existing.get(name)
        policy = ScalingPolicy(
            old.arn if old else self._policy_arn(resource_id, name),
            name,
            namespace,
            resource_id,
            dimension,
            kind,
            config,
            old.creation_time if old else self.now(),
        )
        self.records.put_policy(policy)
        self.wake()
        return policy

    def describe_scaling_policies(
        self,
        namespace: str,
        policy_names: Sequence[str] | None = None,
        resource_id: str | None = None,
        dimension: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        self._check_namespace(namespace)
        found = [
            p
            for p in self.records.policies(namespace)
            if (not policy_names or p.name in policy_names)
            and (resource_id is None or p.resource_id == resource_id)
            and (dimension is None or p.scalable_dimension == dimension)
        ]
        return _page(found, max_results, next_token)

    def delete_scaling_policy(
        self, name: str, namespace: str, resource_id: str, dimension: str
    ) -> None:
        key = self._check_key(namespace, resource_id, dimension)
        if not self.records.delete_policy(key, name):
            raise ObjectNotFoundException(
                f"No scaling policy found for service namespace: {namespace}, resource ID: "
                f"{resource_id}, scalable dimension: {dimension}, policy name: {name}"
            )

    def describe_scaling_activities(
        self,
        namespace: str,
        resource_id: str | None = None,
        dimension: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        self._check_namespace(namespace)
        found = [
            a
            for a in self.records.activities(namespace)
            if (resource_id is None or a.resource_id == resource_id)
            and (dimension is None or a.scalable_dimension == dimension)
        ]
        return _page(found, max_results, next_token)

    # --- broker autoscaling ---------------------------------------------------------------------
    def broker_decision(self, arn: str) -> Decision:
        """What broker autoscaling would decide for the cluster now (nothing changes)."""
        key = (KAFKA, arn, BROKER_DIMENSION)
        target = self.records.target(key)
        if target is None:
            raise ObjectNotFoundException(
                f"No scalable target registered for service namespace: {KAFKA}, resource ID: "
                f"{arn}, scalable dimension: {BROKER_DIMENSION}"
            )
        cluster = self.clusters.describe(arn)
        now = self.now().timestamp()
        readings = []
        for policy in self.records.policies(KAFKA):
            if policy.key != key:
                continue
            config = policy.configuration
            metric = str(config["PredefinedMetricSpecification"]["PredefinedMetricType"])
            points = self.clusters.broker_series(arn, metric, now - self.timing.window, now)
            if not points:
                continue
            forecast = linear_forecast(points, now + self.timing.lead_time)
            readings.append(
                Reading(
                    policy.name,
                    metric,
                    float(config["TargetValue"]),
                    points[-1][1],
                    forecast if forecast is not None else points[-1][1],
                    bool(config.get("DisableScaleIn")),
                    self.timing.lead_time,
                )
            )
        return decide(
            cluster.spec.number_of_broker_nodes,
            self.clusters.zone_count(arn),
            target.min_capacity,
            target.max_capacity,
            readings,
        )

    def plan_brokers(self, arn: str, brokers: int | None = None) -> tuple[Decision, ResizePreview]:
        """The decision, and what moving to its size (or to `brokers`) would move and take."""
        decision = self.broker_decision(arn)
        size = brokers if brokers is not None else decision.desired
        return decision, self.clusters.preview_resize(arn, size)

    # --- checks ---------------------------------------------------------------------------------
    def _check_namespace(self, namespace: str) -> None:
        if namespace != KAFKA:
            raise ValidationException(
                f"Unsupported service namespace {namespace!r}: Steward scales {KAFKA!r} resources."
            )

    def _check_key(self, namespace: str, resource_id: str, dimension: str) -> TargetKey:
        self._check_namespace(namespace)
        if dimension not in (STORAGE_DIMENSION, BROKER_DIMENSION):
            raise ValidationException(
                f"Unsupported scalable dimension {dimension!r} for {KAFKA}: use "
                f"{STORAGE_DIMENSION} (or Steward's {BROKER_DIMENSION})."
            )
        if not resource_id:
            raise ValidationException("ResourceId must be the cluster's ARN.")
        return (namespace, resource_id, dimension)

    @staticmethod
    def _check_storage_bounds(cluster: Cluster, high: int) -> None:
        if high > MAX_VOLUME_SIZE_GB:
            raise ValidationException(
                f"MaxCapacity must be at most {MAX_VOLUME_SIZE_GB} GiB for broker storage."
            )
        current = cluster.spec.broker_node_group.volume_size_gb
        if high < current:
            raise ValidationException(
                f"MaxCapacity ({high}) is below the brokers' current volume size ({current} GiB)."
            )

    @staticmethod
    def _check_broker_bounds(cluster: Cluster, low: int, high: int) -> None:
        zones = len(cluster.spec.broker_node_group.zones)
        for name, value in (("MinCapacity", low), ("MaxCapacity", high)):
            if value < zones or value % zones:
                raise ValidationException(
                    f"{name} ({value}) must be a multiple of the cluster's {zones} zones."
                )

    def _cluster(self, arn: str, storage: bool = True) -> Cluster:
        try:
            cluster = self.clusters.describe(arn)
        except StewardError:
            raise ValidationException(f"Unable to find a cluster with ARN {arn}.") from None
        if storage and cluster.spec.broker_node_group.instance_type.startswith("express."):
            raise ValidationException(
                "The cluster's brokers are Express brokers: their storage is managed."
            )
        return cluster

    def _check_target_tracking(
        self, config: dict[str, Any] | None, dimension: str
    ) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ValidationException(
                "TargetTrackingScalingPolicyConfiguration is required for TargetTrackingScaling."
            )
        value = config.get("TargetValue")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationException("TargetValue is required and must be a number.")
        predefined = config.get("PredefinedMetricSpecification")
        metric = predefined.get("PredefinedMetricType") if isinstance(predefined, dict) else None
        allowed = (STORAGE_METRIC,) if dimension == STORAGE_DIMENSION else BROKER_METRICS
        if metric not in allowed:
            raise ValidationException(
                f"The predefined metric for {dimension} must be one of {', '.join(allowed)}."
            )
        low, high = STORAGE_TARGET_RANGE if dimension == STORAGE_DIMENSION else (1.0, 99.0)
        if not low <= float(value) <= high:
            raise ValidationException(
                f"TargetValue for {metric} must be between {low:.0f} and {high:.0f}."
            )
        if config.get("CustomizedMetricSpecification") is not None:
            raise ValidationException("Customized metrics are not supported for broker storage.")
        for member in ("ScaleOutCooldown", "ScaleInCooldown"):
            cooldown = config.get(member)
            if cooldown is not None and (
                isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0
            ):
                raise ValidationException(f"{member} must be a whole number of seconds >= 0.")
        if dimension != STORAGE_DIMENSION:
            return dict(config)
        # Storage only grows: MSK's storage policies never scale in.
        return {**config, "DisableScaleIn": True}

    # --- ARNs -----------------------------------------------------------------------------------
    def _target_arn(self) -> str:
        return (
            f"arn:aws:application-autoscaling:{self.region}:{self.account}:"
            f"scalable-target/{uuid.uuid4().hex}"
        )

    def _policy_arn(self, resource_id: str, name: str) -> str:
        return (
            f"arn:aws:autoscaling:{self.region}:{self.account}:scalingPolicy:{uuid.uuid4()}:"
            f"resource/{KAFKA}/{resource_id}:policyName/{name}"
        )

    def _service_role(self) -> str:
        return (
            f"arn:aws:iam::{self.account}:role/aws-service-role/kafka.application-autoscaling"
            ".amazonaws.com/AWSServiceRoleForApplicationAutoScaling_KafkaCluster"
        )


class StorageAutoscaler:
    """The background pass that grows volumes before they fill."""

    def __init__(
        self, autoscaling: ApplicationAutoScaling, interval: float = STORAGE_INTERVAL
    ) -> None:
        self.autoscaling = autoscaling
        self.interval = interval

    def pass_once(self) -> list[ScalingActivity]:
        """Settle the activities under way, then scale what needs it; the activities begun."""
        self.settle_activities()
        begun = []
        for policy in self.autoscaling.records.policies(KAFKA):
            if policy.scalable_dimension != STORAGE_DIMENSION:
                continue
            try:
                activity = self.check(policy)
            except Exception:
                log.exception("storage autoscaling of %s failed", policy.resource_id)
                continue
            if activity is not None:
                begun.append(activity)
        return begun

    def settle_activities(self) -> None:
        records, clusters = self.autoscaling.records, self.autoscaling.clusters
        for activity in records.activities(KAFKA):
            if activity.status_code != "InProgress" or activity.operation_arn is None:
                continue
            try:
                op = clusters.operation(activity.operation_arn)
            except StewardError:
                op = None
            if op is not None and not op.state.finished:
                continue
            ok = op is not None and op.state is OperationState.UPDATE_COMPLETE
            activity.status_code = "Successful" if ok else "Failed"
            activity.end_time = self.autoscaling.now()
            what = (
                "volume size"
                if activity.scalable_dimension == STORAGE_DIMENSION
                else "broker count"
            )
            activity.status_message = (
                f"Successfully set {what}."
                if ok
                else f"Failed to set {what}: {op.error_message if op else 'no operation'}"
            )
            records.update_activity(activity)

    def check(self, policy: ScalingPolicy) -> ScalingActivity | None:
        autoscaling = self.autoscaling
        target = autoscaling.records.target(policy.key)
        if target is None or target.suspended.get("DynamicScalingOutSuspended"):
            return None
        cluster = autoscaling.clusters.describe(policy.resource_id)
        if cluster.state is not ClusterState.ACTIVE or cluster.active_operation_arn:
            return None
        if self._cooling_down(policy):
            return None
        used = autoscaling.clusters.storage_utilization(policy.resource_id)
        wanted = float(policy.configuration["TargetValue"])
        if used is None or used <= wanted:
            return None
        current = cluster.spec.broker_node_group.volume_size_gb
        size = min(target.max_capacity, next_size(current, used, wanted))
        if size <= current:
            log.info(
                "%s: storage %.1f%% full, above the target of %.0f%%, but at max capacity",
                cluster.name,
                used,
                wanted,
            )
            return None
        operation = autoscaling.clusters.grow_storage(cluster.arn, size)
        activity = ScalingActivity(
            activity_id=str(uuid.uuid4()),
            service_namespace=KAFKA,
            resource_id=cluster.arn,
            scalable_dimension=STORAGE_DIMENSION,
            description=f"Setting volume size to {size}.",
            cause=(
                f"monitor alarm TargetTracking-{cluster.arn}-AlarmHigh in state ALARM triggered "
                f"policy {policy.name}: {STORAGE_METRIC} {used:.1f} above the target "
                f"{wanted:g} (volume {current} GiB)"
            ),
            start_time=autoscaling.now(),
            status_code="InProgress",
            status_message=f"Cluster operation {operation.arn}",
            operation_arn=operation.arn,
        )
        autoscaling.records.add_activity(activity)
        log.info("%s: %s (%s)", cluster.name, activity.description, activity.cause)
        return activity

    def _cooling_down(self, policy: ScalingPolicy) -> bool:
        cooldown = policy.configuration.get("ScaleOutCooldown")
        seconds = DEFAULT_SCALE_OUT_COOLDOWN if cooldown is None else int(cooldown)
        now = self.autoscaling.now()
        for activity in self.autoscaling.records.activities(KAFKA):
            if activity.resource_id != policy.resource_id:
                continue
            if activity.scalable_dimension != STORAGE_DIMENSION:
                continue
            if activity.status_code == "InProgress":
                return True
            ended = activity.end_time or activity.start_time
            return now - ended < timedelta(seconds=seconds)
        return False


def next_size(current_gb: int, used_percent: float, target_percent: float) -> int:
    """The volume size that brings a volume `used_percent` full back to `target_percent`, and at
    least 10 % (and 1 GiB) more than now, so a slowly filling disk does not grow by a sliver
    every cooldown."""
    proportional = math.ceil(current_gb * used_percent / target_percent)
    return max(proportional, current_gb + max(1, math.ceil(current_gb * 0.1)))


class BrokerAutoscaler:
    """The background pass of broker autoscaling: adds brokers and balances onto them, or
    drains and removes brokers, as `broker_decision` says, with cooldowns."""

    def __init__(
        self, autoscaling: ApplicationAutoScaling, interval: float = STORAGE_INTERVAL
    ) -> None:
        self.autoscaling = autoscaling
        self.interval = interval

    def pass_once(self) -> list[ScalingActivity]:
        """Settle the activities under way, then scale what needs it; the activities begun."""
        StorageAutoscaler(self.autoscaling).settle_activities()
        begun = []
        for target in self.autoscaling.records.targets(KAFKA):
            if target.scalable_dimension != BROKER_DIMENSION:
                continue
            try:
                activity = self.check(target)
            except Exception:
                log.exception("broker autoscaling of %s failed", target.resource_id)
                continue
            if activity is not None:
                begun.append(activity)
        return begun

    def check(self, target: ScalableTarget) -> ScalingActivity | None:
        autoscaling = self.autoscaling
        cluster = autoscaling.clusters.describe(target.resource_id)
        if cluster.state is not ClusterState.ACTIVE or cluster.active_operation_arn:
            return None
        decision = autoscaling.broker_decision(cluster.arn)
        if decision.direction == "none":
            return None
        suspended = (
            "DynamicScalingOutSuspended"
            if decision.direction == "out"
            else "DynamicScalingInSuspended"
        )
        if target.suspended.get(suspended) or self._cooling_down(target, decision.direction):
            return None
        cause = f"{decision.current} -> {decision.desired} brokers: {decision.cause}"
        operation = autoscaling.clusters.resize(cluster.arn, decision.desired, cause)
        activity = ScalingActivity(
            activity_id=str(uuid.uuid4()),
            service_namespace=KAFKA,
            resource_id=cluster.arn,
            scalable_dimension=BROKER_DIMENSION,
            description=f"Setting broker count to {decision.desired}.",
            cause=cause,
            start_time=autoscaling.now(),
            status_code="InProgress",
            status_message=f"Cluster operation {operation.arn}",
            operation_arn=operation.arn,
        )
        autoscaling.records.add_activity(activity)
        log.info("%s: %s (%s)", cluster.name, activity.description, cause)
        return activity

    def _cooling_down(self, target: ScalableTarget, direction: str) -> bool:
        policies = [p for p in self.autoscaling.records.policies(KAFKA) if p.key == target.key]
        member, default = (
            ("ScaleOutCooldown", DEFAULT_SCALE_OUT_BROKERS)
            if direction == "out"
            else ("ScaleInCooldown", DEFAULT_SCALE_IN_COOLDOWN)
        )
        given = [int(p.configuration[member]) for p in policies if member in p.configuration]
        seconds = max(given) if given else default
        now = self.autoscaling.now()
        for activity in self.autoscaling.records.activities(KAFKA):
            if activity.resource_id != target.resource_id:
                continue
            if activity.scalable_dimension != BROKER_DIMENSION:
                continue
            if activity.status_code == "InProgress":
                return True
            ended = activity.end_time or activity.start_time
            return now - ended < timedelta(seconds=seconds)
        return False
