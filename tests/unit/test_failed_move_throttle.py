"""A rebalance or a broker count change that fails after it throttled replication leaves no
throttle behind: the failure clears the rate on every broker and the throttled replica lists on
the topics its plan moves; when Kafka cannot be reached then, the cluster notes it and the next
pass of continuous balancing clears it once the cluster is idle. Kafka's config calls are
stand-ins here (the real calls are tested against Kafka in tests/integration/test_kafka_admin)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from steward.control import pipeline
from steward.control.agents import AgentDirectory
from steward.control.context import ReconcileContext
from steward.control.pipeline import start_operation
from steward.control.rebalancing import ContinuousBalancer
from steward.control.reconciler import Reconciler
from steward.control.step import NoProgress, Step, StepRun, step
from steward.control.steps.balancing import BalancePlanProgress
from steward.control.steps.replicas import ReassignmentPlan
from steward.control.throttles import THROTTLE_LEFT
from steward.domain.errors import PermanentError
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    Node,
    NodeRole,
    Operation,
    OperationState,
    OperationType,
    utcnow,
)
from steward.kafka import reassignment
from steward.settings import Settings
from steward.store.store import Store

ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/moving/5d7c0e2a-8b1f-4c3d-a9e6-2f4b8c1d0e7a-1"
SPEC = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))


@dataclass
class FakeThrottles:
    """Records what is cleared; fails while `down`."""

    cleared: list[tuple[list[int], list[str]]] = field(default_factory=list)
    down: bool = False

    def clear(self, bootstrap: str, brokers: Any, topics: Any, timeout: float = 30.0) -> None:
        if self.down:
            raise reassignment.ReassignmentError("broker 1: timed out")
        self.cleared.append((sorted(brokers), sorted(topics)))

    def assignment(self, bootstrap: str, timeout: float = 10.0) -> dict[Any, list[int]]:
        if self.down:
            raise reassignment.ReassignmentError("describing partitions: timed out")
        return {("orders", 0): [1, 2, 3], ("audit", 0): [2, 3, 1]}


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> FakeThrottles:
    fake = FakeThrottles()
    monkeypatch.setattr(reassignment, "clear_replication_throttle", fake.clear)
    monkeypatch.setattr(reassignment, "current_assignment", fake.assignment)
    return fake


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ReconcileContext]:
    settings = Settings(home=tmp_path)
    store = Store(settings.db_url)
    cluster = Cluster(ARN, "moving", SPEC, ClusterState.ACTIVE, utcnow(), "K1", "A" * 22)
    cluster.status.applied_spec = SPEC
    cluster.status.observed_generation = cluster.generation
    create = start_operation(f"{ARN}-create", ARN, OperationType.CREATE)
    create.state = OperationState.UPDATE_COMPLETE
    store.insert_cluster(cluster, create, {})
    store.add_nodes(
        [
            Node(
                ARN,
                b,
                NodeRole.BROKER,
                f"az-{'abc'[b - 1]}",
                f"127.71.{b}.1",
                f"az-{'abc'[b - 1]}",
                {"CLIENT": 9092, "CLIENT_TLS": 9094, "REPLICATION": 9091},
                "d",
                utcnow(),
                "4.3.1",
                "kafka.m5.large",
            )
            for b in (1, 2, 3)
        ]
    )
    yield ReconcileContext(settings, store, AgentDirectory(settings))
    store.close()


class FailingMoves:
    """The real failure policy around stand-in steps: the steps before the plan pass, the plan
    is made, and the step after it fails."""

    def __init__(self, kind: OperationType, plan_step: str, plan: Any) -> None:
        self.order = pipeline.steps_of(kind)
        self.plan_step = plan_step
        self.plan = plan

    def step(self, name: str) -> Step[Any]:
        def passes(_run: StepRun[NoProgress]) -> None:
            pass

        def planned(run: StepRun[Any]) -> None:
            run.progress = self.plan

        def fails(_run: StepRun[NoProgress]) -> None:
            raise PermanentError("the controller refused to move orders-0", "ReassignmentFailed")

        if name == self.plan_step:
            return step(name, planned, type(self.plan))
        before = self.order.index(name) < self.order.index(self.plan_step)
        return step(name, passes if before else fails, NoProgress)

    def on_failure(
        self, ctx: ReconcileContext, cluster: Cluster, op: Operation
    ) -> Operation | None:
        return pipeline.on_failure(ctx, cluster, op)


def fail_operation(ctx: ReconcileContext, kind: OperationType, plan_step: str, plan: Any) -> None:
    cluster = ctx.store.get_cluster(ARN)
    assert cluster is not None
    op = start_operation(f"{ARN}-op", ARN, kind, generation=cluster.generation)
    cluster.state = ClusterState.UPDATING
    cluster.active_operation_arn = op.arn
    ctx.store.start_operation(cluster, op)
    Reconciler(ctx, pipeline=FailingMoves(kind, plan_step, plan), wait=lambda _s: None).drive(op)
    failed = ctx.store.get_operation(op.arn)
    assert failed is not None and failed.state is OperationState.UPDATE_FAILED


def rebalance_plan() -> BalancePlanProgress:
    return BalancePlanProgress(
        planned=True,
        target=[["orders", 0, [3, 1, 2]], ["orders", 1, [2, 3, 1]], ["audit", 4, [1, 3, 2]]],
        moves=3,
    )


def test_a_failed_rebalance_clears_the_throttle_it_set(
    ctx: ReconcileContext, kafka: FakeThrottles
) -> None:
    fail_operation(ctx, OperationType.REBALANCE, "PLAN_BALANCE", rebalance_plan())
    assert kafka.cleared == [([1, 2, 3], ["audit", "orders"])]
    cluster = ctx.store.get_cluster(ARN)
    assert cluster is not None and cluster.state is ClusterState.ACTIVE
    assert cluster.status.condition(THROTTLE_LEFT) is None


def test_a_failed_scale_in_clears_the_throttle_of_its_moves(
    ctx: ReconcileContext, kafka: FakeThrottles
) -> None:
    plan = ReassignmentPlan(planned=True, target=[["orders", 2, [1, 2, 3]]], moves=1)
    fail_operation(ctx, OperationType.DECREASE_BROKER_COUNT, "REASSIGN_PARTITIONS", plan)
    assert kafka.cleared == [([1, 2, 3], ["orders"])]


def test_a_failure_before_anything_was_planned_has_nothing_to_clear(
    ctx: ReconcileContext, kafka: FakeThrottles
) -> None:
    fail_operation(ctx, OperationType.REBALANCE, "PLAN_BALANCE", BalancePlanProgress())
    assert kafka.cleared == []


def test_a_throttle_kafka_would_not_clear_is_cleared_by_the_next_pass_once_idle(
    ctx: ReconcileContext, kafka: FakeThrottles
) -> None:
    kafka.down = True
    fail_operation(ctx, OperationType.REBALANCE, "PLAN_BALANCE", rebalance_plan())
    cluster = ctx.store.get_cluster(ARN)
    assert cluster is not None
    left = cluster.status.condition(THROTTLE_LEFT)
    assert left is not None and left.status and "timed out" in left.message

    no_settings = SimpleNamespace(records=SimpleNamespace(active=list))  # balancing on nowhere
    balancer = ContinuousBalancer(ctx.store, no_settings)  # type: ignore[arg-type]
    balancer.pass_once()  # Kafka still down: the condition stays
    cluster = ctx.store.get_cluster(ARN)
    assert cluster is not None
    condition = cluster.status.condition(THROTTLE_LEFT)
    assert condition is not None and condition.status

    kafka.down = False
    balancer.pass_once()
    assert kafka.cleared == [([1, 2, 3], ["audit", "orders"])]  # every topic, every broker
    cluster = ctx.store.get_cluster(ARN)
    assert cluster is not None
    condition = cluster.status.condition(THROTTLE_LEFT)
    assert condition is not None and not condition.status
    balancer.pass_once()
    assert len(kafka.cleared) == 1  # once cleared, left alone
