"""What is wrong with a cluster's nodes, from what their agents report and whether they answer.

Pure bookkeeping, no I/O: the health monitor gathers `NodeObservation`s once a second and a
`Diagnostician` (one per cluster) turns them into `Finding`s, remembering what it needs between
two passes (when a node was last started, since when it has not answered, since when an agent has
been silent).

The faults it names:
- `crashed`: the node's process exited. The agent restarts a crashed node by itself within a second,
  so the diagnostician also counts a node whose start time changed since the last pass as crashed:
  nothing else restarts a node of a cluster that is not in an operation.
- `failed`: the agent gave up restarting it (it crashed again and again right after starting).
- `stopped`: the node is stopped although the cluster needs it (someone stopped it by hand).
- `lost`: the agent does not know the node at all (its host was wiped or replaced).
- `hung`: the process runs but has not answered a request for `hung_after` seconds.
- `data_lost`: the process runs but its data directory is gone (the agent checks it is there).
- `fenced`: a broker's process runs and answers, but Kafka has not counted it as a live broker
  (registered and unfenced) for `fenced_after` seconds: it cannot reach the controllers, or its
  registration is stuck.
- `disk_full`: a broker's volume of its own is `disk_full_at` percent used or more. Kafka stops a
  broker whose only log directory cannot be written, so this comes before the crashes it causes.
- `agent_unreachable`: a host's agent has not answered for `agent_lost_after` seconds; its nodes
  may still run (an agent that stops never stops its Kafka processes), its zone may be cut off, or
  its host may be dead (`steward.control.host_replacement`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from steward.agent.spec import NodeStatus
from steward.domain.health import FaultKind, Finding
from steward.domain.model import NodeRole


@dataclass(frozen=True)
class NodeObservation:
    node_id: int
    role: NodeRole
    agent: str
    agent_reachable: bool
    status: NodeStatus | None
    """What the agent reports; None when the agent is unreachable or does not know the node."""
    answers: bool | None = None
    """Whether the node answered a request; None when it was not asked (no running process)."""


@dataclass
class Diagnostician:
    hung_after: float = 2.5
    """Seconds a running node may go without answering before it counts as hung."""
    agent_lost_after: float = 1.5
    """Seconds an agent may go without answering before it counts as unreachable."""
    fenced_after: float = 20.0
    """Seconds an answering broker may stay out of the cluster's live brokers. Longer than a
    broker's start (it answers before it registers) and than its session timeout (9 s)."""
    disk_full_at: float = 90.0
    """Percent of a broker's volume in use from which it counts as full: the volume is grown
    before Kafka runs out of room (MSK recommends an alarm at 85%)."""
    _fenced_since: dict[int, float] = field(default_factory=dict)
    _started_at: dict[int, float | None] = field(default_factory=dict)
    _silent_since: dict[int, float] = field(default_factory=dict)
    _agent_silent_since: dict[str, float] = field(default_factory=dict)
    _restarted: dict[int, Finding] = field(default_factory=dict)
    """Restarts seen since the last repair began: kept until `repairing` takes them."""

    def assess(
        self,
        observations: list[NodeObservation],
        now: float,
        excluded: set[int] | None = None,
        serving: frozenset[int] | None = None,
    ) -> list[Finding]:
        """The faults of this pass. `excluded` names nodes a running repair already handles:
        they are observed (so their restarts are not reported later) but not reported.
        `serving`: the brokers Kafka counts as live, when it could tell."""
        excluded = excluded or set()
        findings: list[Finding] = []
        silent_agents: set[str] = set()
        for obs in observations:
            if not obs.agent_reachable:
                silent_agents.add(obs.agent)
                continue
            finding = self._assess_node(obs, now) or self._assess_membership(obs, now, serving)
            if finding is not None and obs.node_id not in excluded:
                findings.append(finding)
        for agent in sorted({o.agent for o in observations}):
            if agent not in silent_agents:
                self._agent_silent_since.pop(agent, None)
                continue
            since = self._agent_silent_since.setdefault(agent, now)
            if now - since >= self.agent_lost_after:
                findings.append(
                    Finding(
                        "agent_unreachable",
                        agent,
                        f"agent {agent} has not answered for {now - since:.1f} s",
                    )
                )
        for node_id in excluded:
            self._restarted.pop(node_id, None)
        reported = {f.node_id for f in findings if f.node_id is not None}
        findings.extend(f for node, f in self._restarted.items() if node not in reported)
        return sorted(findings, key=_severity)

    def repairing(self, findings: list[Finding]) -> None:
        """A repair of `findings` has begun: forget the restarts it covers."""
        for finding in findings:
            if finding.node_id is not None:
                self._restarted.pop(finding.node_id, None)

    def _assess_node(self, obs: NodeObservation, now: float) -> Finding | None:
        status = obs.status
        if status is None:
            self._silent_since.pop(obs.node_id, None)
            return self._finding(obs, "lost", "its agent does not know it")
        previous = self._started_at.get(obs.node_id)
        known = obs.node_id in self._started_at
        self._started_at[obs.node_id] = status.started_at
        full = _volume_use(status)
        if full is not None and full[0] >= self.disk_full_at:
            percent, used, size = full
            why = f"its volume is {percent:.0f}% full ({used / GIB:.2f} of {size / GIB:.2f} GiB)"
            return self._finding(obs, "disk_full", why)
        if status.state == "failed":
            return self._finding(
                obs, "failed", f"its agent gave up restarting it: {_first(status)}"
            )
        if status.state == "crashed":
            return self._finding(obs, "crashed", f"its process exited: {_first(status)}")
        if status.state == "stopped":
            return self._finding(obs, "stopped", "it is stopped although the cluster needs it")
        if status.data_missing and status.state in ("starting", "running"):
            return self._finding(obs, "data_lost", "its data directory is gone")
        if known and previous is not None and status.started_at != previous:
            self._silent_since.pop(obs.node_id, None)
            exit_code = status.last_exit_code
            how = f" (exit code {exit_code})" if exit_code is not None else ""
            self._restarted[obs.node_id] = self._finding(
                obs, "crashed", f"its process exited{how} and its agent started it again"
            )
            return None
        if status.state != "running" or obs.answers is None or obs.answers:
            self._silent_since.pop(obs.node_id, None)
            return None
        since = self._silent_since.setdefault(obs.node_id, now)
        if now - since >= self.hung_after:
            return self._finding(
                obs, "hung", f"its process runs but has not answered for {now - since:.1f} s"
            )
        return None

    def _assess_membership(
        self, obs: NodeObservation, now: float, serving: frozenset[int] | None
    ) -> Finding | None:
        answering = obs.status is not None and obs.status.state == "running" and obs.answers
        if obs.role is not NodeRole.BROKER or serving is None or not answering:
            self._fenced_since.pop(obs.node_id, None)
            return None
        if obs.node_id in serving:
            self._fenced_since.pop(obs.node_id, None)
            return None
        since = self._fenced_since.setdefault(obs.node_id, now)
        if now - since < self.fenced_after:
            return None
        why = f"it answers, but the cluster has not had it as a live broker for {now - since:.0f} s"
        return self._finding(obs, "fenced", why)

    @staticmethod
    def _finding(obs: NodeObservation, kind: FaultKind, why: str) -> Finding:
        subject = f"{obs.role.value.lower()} {obs.node_id}"
        return Finding(kind, obs.agent, f"{subject}: {why}", obs.node_id, obs.role)


GIB = 1024**3


def _volume_use(status: NodeStatus) -> tuple[float, int, int] | None:
    """(percent used, bytes used, bytes in all) of the node's own volume, if it has one."""
    size, used = status.volume_size_bytes, status.volume_used_bytes
    if not size or used is None:
        return None
    return 100.0 * used / size, used, size


def _first(status: NodeStatus) -> str:
    message = (status.message or "").strip().splitlines()
    code = status.last_exit_code
    head = message[0] if message else ""
    if code is not None and f"exit code {code}" not in head:
        head = f"{head} (exit code {code})".strip()
    return head or "no reason given"


_ORDER: dict[str, int] = {
    "agent_unreachable": 0,
    "lost": 1,
    "failed": 2,
    "disk_full": 2,
    "data_lost": 3,
    "hung": 3,
    "fenced": 3,
    "crashed": 4,
    "stopped": 5,
}


def _severity(finding: Finding) -> tuple[int, int]:
    return (_ORDER[finding.kind], finding.node_id or 0)
