"""The reconciler itself, with a pipeline of stand-in steps: a waiting step runs again after its
delay, unexpected errors back off exponentially up to a cap and then fail the operation, a step
that outlives its timeout fails it with the step's code, a superseded operation is left alone,
a restarted control plane resumes the step with its progress, and a failed update leaves the
cluster converging on the spec it last converged on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from steward.control import pipeline
from steward.control.agents import AgentDirectory
from steward.control.context import ReconcileContext
from steward.control.operation_records import fail
from steward.control.pipeline import ROLLING_BACK, start_operation
from steward.control.reconciler import Reconciler
from steward.control.step import Backoff, NoProgress, Step, StepRun, step
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    Operation,
    OperationState,
    OperationType,
    StepStatus,
    utcnow,
)
from steward.settings import Settings
from steward.store.store import Store

ZONES = ("az-a", "az-b", "az-c")
SPEC = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ZONES, 10))


class FakePipeline:
    """Stand-in steps by name; FINALIZE and the failure policy are the real ones."""

    def __init__(self, steps: dict[str, Step[Any]]) -> None:
        self.steps = steps
        self.failed: list[str] = []

    def step(self, name: str) -> Step[Any]:
        return self.steps.get(name) or pipeline.STEPS[name]

    def on_failure(
        self, ctx: ReconcileContext, cluster: Cluster, op: Operation
    ) -> Operation | None:
        self.failed.append(op.arn)
        return pipeline.on_failure(ctx, cluster, op)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    ctx: ReconcileContext
    cluster: Cluster
    clock: Clock
    waits: list[float]

    def reconciler(self, steps: dict[str, Step[Any]], advance: float = 0.0) -> Reconciler:
        def wait(seconds: float) -> None:
            self.waits.append(seconds)
            self.clock.now += timedelta(seconds=advance)

        return Reconciler(self.ctx, pipeline=FakePipeline(steps), wait=wait, clock=self.clock)

    def begin(self, kind: OperationType, spec: ClusterSpec | None = None) -> Operation:
        cluster = self.stored()
        if spec is not None:
            cluster.accept(spec)
        op = start_operation(
            f"{cluster.arn}-op-{len(self.ctx.store.operations(cluster.arn))}",
            cluster.arn,
            kind,
            generation=cluster.generation,
        )
        cluster.state = ClusterState.UPDATING
        cluster.active_operation_arn = op.arn
        self.ctx.store.start_operation(cluster, op)
        return op

    def stored(self) -> Cluster:
        cluster = self.ctx.store.get_cluster(self.cluster.arn)
        assert cluster is not None
        return cluster

    def operation(self, op: Operation) -> Operation:
        found = self.ctx.store.get_operation(op.arn)
        assert found is not None
        return found


@pytest.fixture
def world(tmp_path: Path) -> World:
    settings = Settings(home=tmp_path)
    store = Store(settings.db_url)
    arn = (
        "arn:aws:kafka:us-east-1:000000000000:cluster/orders/0b0d1b4e-1c2a-4f7e-9a55-1e3f7a2c9d11-1"
    )
    cluster = Cluster(arn, "orders", SPEC, ClusterState.ACTIVE, utcnow(), "K1", "A" * 22)
    cluster.status.applied_spec = SPEC
    cluster.status.observed_generation = cluster.generation
    create = start_operation(f"{arn}-create", arn, OperationType.CREATE)
    create.state = OperationState.UPDATE_COMPLETE
    store.insert_cluster(cluster, create, {})
    ctx = ReconcileContext(settings, store, AgentDirectory(settings))
    return World(ctx, cluster, Clock(), [])


def scripted(*outcomes: BaseException | None) -> Callable[[StepRun[NoProgress]], None]:
    """A step that raises each of `outcomes` in turn (None: returns), returning after them."""
    left = list(outcomes)

    def run(_run: StepRun[NoProgress]) -> None:
        outcome = left.pop(0) if left else None
        if outcome is not None:
            raise outcome

    return run


def test_a_waiting_step_runs_again_after_its_delay_until_it_is_done(world: World) -> None:
    waiting = TemporaryError("2 of 3 brokers serving", 0.7)
    steps = {"REBOOT_BROKER": step("REBOOT_BROKER", scripted(waiting, waiting), NoProgress)}
    op = world.begin(OperationType.REBOOT_NODE)
    world.reconciler(steps).drive(op)
    done = world.operation(op)
    assert done.state is OperationState.UPDATE_COMPLETE
    assert [s.status for s in done.steps] == [StepStatus.SUCCEEDED, StepStatus.SUCCEEDED]
    assert world.waits == [0.7, 0.7]
    assert world.stored().state is ClusterState.ACTIVE


def test_unexpected_errors_back_off_exponentially_up_to_a_cap_then_fail_the_operation(
    world: World,
) -> None:
    def broken(_run: StepRun[NoProgress]) -> None:
        raise RuntimeError("agent answered garbage")

    backoff = Backoff(first=1.0, factor=2.0, cap=5.0, attempts=6)
    steps = {"REBOOT_BROKER": step("REBOOT_BROKER", broken, NoProgress, backoff=backoff)}
    op = world.begin(OperationType.REBOOT_NODE)
    world.reconciler(steps).drive(op)
    failed = world.operation(op)
    assert world.waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert failed.state is OperationState.UPDATE_FAILED
    assert failed.error_code == "InternalFailure"
    assert failed.error_message is not None and "agent answered garbage" in failed.error_message
    assert failed.steps[0].status is StepStatus.FAILED
    assert world.stored().state is ClusterState.ACTIVE


def test_a_step_that_outlives_its_timeout_fails_the_operation_with_its_code(
    world: World,
) -> None:
    waiting = scripted(*[TemporaryError("broker 2 cannot stop yet", 5.0)] * 100)
    steps = {
        "REBOOT_BROKER": step(
            "REBOOT_BROKER", waiting, NoProgress, timeout=30.0, timeout_code="RollTimeout"
        )
    }
    op = world.begin(OperationType.REBOOT_NODE)
    world.reconciler(steps, advance=10.0).drive(op)
    failed = world.operation(op)
    assert failed.error_code == "RollTimeout"
    assert failed.error_message == (
        "REBOOT_BROKER did not finish within 30 s: broker 2 cannot stop yet"
    )
    assert len(world.waits) == 4  # 0, 10, 20, 30 s: the run at 40 s is past the timeout


class Crash(BaseException):
    """The control plane dies in the middle of a step."""


@dataclass
class Restarts:
    sent: list[int] = field(default_factory=list)


def test_a_restarted_control_plane_resumes_the_step_with_its_progress(world: World) -> None:
    restarted: list[int] = []

    def roll(run: StepRun[Restarts]) -> None:
        for node in (1, 2, 3):
            if node in run.progress.sent:
                continue
            run.progress.sent.append(node)
            run.save()
            restarted.append(node)
            if node == 2 and len(restarted) == 2:
                raise Crash

    steps = {"REBOOT_BROKER": Step("REBOOT_BROKER", roll, Restarts)}
    op = world.begin(OperationType.REBOOT_NODE)
    with pytest.raises(Crash):
        world.reconciler(steps).drive(op)
    stuck = world.operation(op)
    assert stuck.steps[0].status is StepStatus.IN_PROGRESS
    world.clock.now += timedelta(hours=5)  # down for hours: the step's clock starts afresh
    after_restart = world.reconciler(steps)
    after_restart.restart_clocks()
    after_restart.drive(stuck)
    assert restarted == [1, 2, 3], "nothing restarted twice, nothing skipped"
    assert world.operation(op).state is OperationState.UPDATE_COMPLETE


def test_an_operation_superseded_while_its_step_runs_is_left_as_it_is(world: World) -> None:
    op = world.begin(OperationType.REBOOT_NODE)

    def deleted_meanwhile(_run: StepRun[NoProgress]) -> None:
        superseded = world.operation(op)
        fail(superseded, "Superseded", "The cluster is being deleted.")
        world.ctx.store.save_operation(superseded)

    steps = {"REBOOT_BROKER": step("REBOOT_BROKER", deleted_meanwhile, NoProgress)}
    world.reconciler(steps).drive(op)
    after = world.operation(op)
    assert (after.state, after.error_code) == (OperationState.UPDATE_FAILED, "Superseded")
    assert after.steps[1].status is StepStatus.PENDING, "FINALIZE never ran"


def test_an_operation_for_a_superseded_spec_ends_and_leaves_the_cluster_to_the_newer_one(
    world: World,
) -> None:
    ran: list[str] = []

    def roll(run: StepRun[NoProgress]) -> None:
        ran.append(run.op.arn)

    steps = {"ROLL_BROKERS": step("ROLL_BROKERS", roll, NoProgress)}
    op = world.begin(OperationType.UPDATE_BROKER_TYPE, SPEC.replace(kafka_version="4.2.1"))
    newer = world.stored()
    newer.accept(SPEC)  # a newer spec was accepted before the reconciler took the operation up
    world.ctx.store.save_cluster(newer)
    world.reconciler(steps).drive(op)
    ended = world.operation(op)
    assert (ended.state, ended.error_code) == (OperationState.UPDATE_FAILED, "Superseded")
    assert ran == [], "nothing done for the old spec"
    assert world.stored().active_operation_arn is None


def test_a_failed_update_rolls_the_cluster_back_to_the_spec_it_last_converged_on(
    world: World,
) -> None:
    bigger = SPEC.replace(broker_node_group=BrokerNodeGroup("kafka.m5.xlarge", ZONES, 10))
    first_roll = True

    def roll(_run: StepRun[NoProgress]) -> None:
        nonlocal first_roll
        if first_roll:
            first_roll = False
            raise PermanentError("broker 2 did not start again", "NodeRestartFailed")

    steps = {"ROLL_BROKERS": step("ROLL_BROKERS", roll, NoProgress)}
    op = world.begin(OperationType.UPDATE_BROKER_TYPE, bigger)
    accepted = world.stored().generation
    reconciler = world.reconciler(steps)
    reconciler.drive(op)

    assert world.operation(op).error_code == "NodeRestartFailed"
    rolling_back = world.stored()
    assert rolling_back.spec == SPEC, "the desired spec is the last converged one again"
    assert rolling_back.generation == accepted + 1
    assert rolling_back.state is ClusterState.UPDATING
    assert rolling_back.state_info is not None and rolling_back.state_info.code == ROLLING_BACK
    [rollback] = [o for o in world.ctx.store.unfinished_operations()]
    assert rollback.type is OperationType.UPDATE_BROKER_TYPE
    assert rollback.generation == rolling_back.generation
    assert rolling_back.active_operation_arn == rollback.arn

    reconciler.drive(rollback)
    settled = world.stored()
    assert settled.state is ClusterState.ACTIVE and settled.state_info is None
    assert settled.converged and settled.status.observed_generation == settled.generation
    assert settled.status.applied_spec == SPEC
    converged = settled.status.condition("Converged")
    assert converged is not None and converged.status


def test_a_failed_rollback_is_not_rolled_back_again(world: World) -> None:
    bigger = SPEC.replace(broker_node_group=BrokerNodeGroup("kafka.m5.xlarge", ZONES, 10))

    def roll(_run: StepRun[NoProgress]) -> None:
        raise PermanentError("broker 2 did not start again", "NodeRestartFailed")

    steps = {"ROLL_BROKERS": step("ROLL_BROKERS", roll, NoProgress)}
    reconciler = world.reconciler(steps)
    reconciler.drive(world.begin(OperationType.UPDATE_BROKER_TYPE, bigger))
    [rollback] = world.ctx.store.unfinished_operations()
    reconciler.drive(rollback)
    assert world.ctx.store.unfinished_operations() == []
    cluster = world.stored()
    assert cluster.state is ClusterState.ACTIVE
    assert cluster.spec == SPEC
    converged = cluster.status.condition("Converged")
    assert converged is not None and not converged.status
    assert converged.reason == "NodeRestartFailed"
