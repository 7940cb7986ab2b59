"""Waiting for a cluster to become ACTIVE (or to be gone), or for a cluster operation to finish,
while showing the operation's steps.

On a terminal the steps are a live display on stderr; otherwise one plain line is printed each
time the state or the current step changes ("CREATING: START_BROKERS",
"UPDATE_IN_PROGRESS: ROLL_BROKERS").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from steward.client.api import Api, CliError

POLL_INTERVAL = 0.5
DELETED = "DELETED"
UNREACHABLE = "UNREACHABLE"
UPDATE_COMPLETE = "UPDATE_COMPLETE"
UPDATE_FAILED = "UPDATE_FAILED"
OPERATION_FINISHED = (UPDATE_COMPLETE, UPDATE_FAILED)
_GOOD_STATES = ("ACTIVE", DELETED, UPDATE_COMPLETE)
_BAD_STATES = ("FAILED", UPDATE_FAILED, UNREACHABLE)

Goal = Literal["ACTIVE", "DELETED"]
Result = TypeVar("Result")


@dataclass
class Snapshot:
    state: str
    steps: list[tuple[str, str]] = field(default_factory=list)
    """(StepName, StepStatus) of the cluster's current (or last seen) operation."""

    @property
    def current_step(self) -> str | None:
        for name, status in self.steps:
            if status != "SUCCEEDED":
                return name
        return None


class Display(Protocol):
    def update(self, snapshot: Snapshot) -> None: ...

    def close(self) -> None: ...


class LineDisplay:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.last: tuple[str, str | None] | None = None

    def update(self, snapshot: Snapshot) -> None:
        key = (snapshot.state, snapshot.current_step)
        if key == self.last:
            return
        self.last = key
        line = snapshot.state if key[1] is None else f"{snapshot.state}: {key[1]}"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        pass


_STEP_ICONS = {"SUCCEEDED": "[green]✓[/]", "FAILED": "[red]✗[/]", "PENDING": "[dim]·[/]"}


class _View:
    """The live renderable; Rich re-renders it several times a second, so spinners turn."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.snapshot = Snapshot("...")
        self.done = False
        self.spinner = Spinner("dots", style="cyan")
        self.step_spinner = Spinner("dots", style="cyan")

    def __rich__(self) -> RenderableType:
        state = self.snapshot.state
        header = Table.grid(padding=(0, 1))
        header.add_row(
            self._state_icon(),
            Text(self.label, style="bold"),
            Text(state, style=_state_style(state)),
            Text(_elapsed(time.monotonic() - self.started), style="dim"),
        )
        steps = Table.grid(padding=(0, 1))
        for name, status in self.snapshot.steps:
            icon: RenderableType = (
                self.step_spinner
                if status == "IN_PROGRESS" and not self.done
                else Text.from_markup(_STEP_ICONS.get(status, "·"))
            )
            steps.add_row(Text("  "), icon, Text(name, style="dim" if status == "PENDING" else ""))
        return Group(header, steps)

    def _state_icon(self) -> RenderableType:
        if not self.done:
            return self.spinner
        ok = self.snapshot.state in _GOOD_STATES
        return Text.from_markup("[green]✓[/]" if ok else "[red]✗[/]")


def _state_style(state: str) -> str:
    if state in _GOOD_STATES:
        return "green"
    if state in _BAD_STATES:
        return "red"
    return "yellow"


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class LiveDisplay:
    def __init__(self, console: Console, label: str) -> None:
        self.view = _View(label)
        self.live = Live(self.view, console=console, refresh_per_second=8, transient=False)
        self.live.start()

    def update(self, snapshot: Snapshot) -> None:
        self.view.snapshot = snapshot
        self.live.refresh()

    def close(self) -> None:
        self.view.done = True
        self.live.refresh()
        self.live.stop()


def operation_steps(operation: dict[str, Any]) -> list[tuple[str, str]]:
    """(StepName, StepStatus) of a ClusterOperationV2."""
    provisioned = operation.get("Provisioned") or {}
    return [
        (step.get("StepName", "?"), (step.get("StepInfo") or {}).get("StepStatus", "PENDING"))
        for step in provisioned.get("OperationSteps") or []
    ]


def _operation_steps(api: Api, operation_arn: str) -> list[tuple[str, str]] | None:
    try:
        response = api.client.describe_cluster_operation_v2(ClusterOperationArn=operation_arn)
    except ClientError:
        return None
    return operation_steps(response.get("ClusterOperationInfo") or {})


def _is_not_found(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "NotFoundException")


class _Waiter:
    """Polls until done, showing each snapshot; gives up after a timeout or on Ctrl-C, leaving
    Steward to carry on."""

    subject = "the cluster"
    hint = "see `steward cluster describe`"

    def __init__(self, display: Display) -> None:
        self.display = display
        self.snapshot = Snapshot("...")

    def _until_done(self, poll: Callable[[], tuple[bool, Result]], timeout: float) -> Result:
        deadline = time.monotonic() + timeout
        try:
            while True:
                done, result = poll()
                if done:
                    return result
                if time.monotonic() > deadline:
                    raise CliError(
                        f"Error: gave up waiting after {timeout:.0f} s; {self.subject} is "
                        f"{self.snapshot.state} and Steward carries on ({self.hint})."
                    )
                time.sleep(POLL_INTERVAL)
        except KeyboardInterrupt:
            stopped = CliError(
                f"Stopped waiting; {self.subject} is {self.snapshot.state} and Steward carries on."
            )
            stopped.exit_code = 130
            raise stopped from None
        finally:
            self.display.close()


class ClusterWaiter(_Waiter):
    """Polls one cluster until it reaches `goal`, FAILED, or the timeout."""

    def __init__(self, api: Api, arn: str, display: Display) -> None:
        super().__init__(display)
        self.api = api
        self.arn = arn
        self.operation_arn: str | None = None

    def wait(self, goal: Goal, timeout: float) -> dict[str, Any] | None:
        """The final ClusterInfo (ACTIVE or FAILED), or None once the cluster is gone."""

        def poll() -> tuple[bool, dict[str, Any] | None]:
            info = self._poll(goal)
            if info is None:
                return self.snapshot.state == DELETED, None
            return goal == "ACTIVE" and info["State"] in ("ACTIVE", "FAILED"), info

        return self._until_done(poll, timeout)

    def _poll(self, goal: Goal) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self.api.client.describe_cluster_v2(ClusterArn=self.arn)[
                "ClusterInfo"
            ]
        except ClientError as error:
            if goal == "DELETED" and _is_not_found(error):
                self._show(DELETED)
                return None
            raise
        except EndpointConnectionError:
            # The control plane may be restarting; the operation resumes when it is back.
            self._show(UNREACHABLE)
            return None
        self.operation_arn = info.get("ActiveOperationArn") or self.operation_arn
        self._show(info["State"])
        return info

    def _show(self, state: str) -> None:
        steps = self.snapshot.steps
        if self.operation_arn and state != UNREACHABLE:
            fetched = _operation_steps(self.api, self.operation_arn)
            if fetched is not None:
                steps = fetched
            elif state == DELETED:
                steps = []  # the operation went with the cluster; its last view would be stale
        self.snapshot = Snapshot(state, steps)
        self.display.update(self.snapshot)


def wait_for_cluster(
    api: Api, arn: str, goal: Goal, label: str, console: Console, timeout: float
) -> dict[str, Any] | None:
    return ClusterWaiter(api, arn, _display(console, label)).wait(goal, timeout)


class OperationWaiter(_Waiter):
    """Polls one cluster operation until it is UPDATE_COMPLETE or UPDATE_FAILED, or the
    timeout."""

    subject = "the operation"

    def __init__(self, api: Api, operation_arn: str, display: Display) -> None:
        super().__init__(display)
        self.api = api
        self.operation_arn = operation_arn
        self.hint = f"see `steward cluster operation {operation_arn}`"

    def wait(self, timeout: float) -> dict[str, Any]:
        """The final DescribeClusterOperationV2 response."""

        def poll() -> tuple[bool, dict[str, Any]]:
            response = self._poll()
            info = (response or {}).get("ClusterOperationInfo") or {}
            return info.get("OperationState") in OPERATION_FINISHED, response or {}

        return self._until_done(poll, timeout)

    def _poll(self) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self.api.client.describe_cluster_operation_v2(
                ClusterOperationArn=self.operation_arn
            )
        except EndpointConnectionError:
            # The control plane may be restarting; the operation resumes when it is back.
            self.snapshot = Snapshot(UNREACHABLE, self.snapshot.steps)
            self.display.update(self.snapshot)
            return None
        info = response.get("ClusterOperationInfo") or {}
        self.snapshot = Snapshot(info.get("OperationState") or "PENDING", operation_steps(info))
        self.display.update(self.snapshot)
        return response


def _display(console: Console, label: str) -> Display:
    return LiveDisplay(console, label) if console.is_terminal else LineDisplay(console)


def wait_for_operation(
    api: Api, operation_arn: str, label: str, console: Console, timeout: float
) -> dict[str, Any]:
    """The final DescribeClusterOperationV2 response (UPDATE_COMPLETE or UPDATE_FAILED)."""
    return OperationWaiter(api, operation_arn, _display(console, label)).wait(timeout)
