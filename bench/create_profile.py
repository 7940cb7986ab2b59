"""Where the seconds of a cluster's creation go: a timeline from the logs a create leaves.

Read from Steward's own log (the reconciler's steps), its agents' logs (formatting and starting
each node) and every node's server.log (the JVM up and logging, the quorum's leader elected, each
broker caught up with the metadata, unfenced, started), as seconds from the create call. The same
server.log events of the hand-started cluster make the baseline. `bench/create_cluster.py
--profile` prints both for every run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_STEWARD_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
_KAFKA_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] ")

NODE_EVENTS: tuple[tuple[str, str], ...] = (
    ("Kafka Server starting", "Registered signal handlers"),
    ("quorum leader elected", "Completed transition to Leader"),
    ("caught up with the metadata", "Transitioning from STARTING to RECOVERY"),
    ("unfenced", "The broker has been unfenced"),
    ("Kafka Server started", "Kafka Server started"),
)
"""(event, what its line in a node's server.log says)."""


@dataclass(frozen=True)
class Event:
    seconds: float
    """From the create call."""
    what: str
    node: str


def _stamp(match: re.Match[str]) -> float:
    return (
        time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")) + int(match.group(2)) / 1000
    )


def _lines(path: Path, pattern: re.Pattern[str], since: float) -> Iterable[tuple[float, str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        match = pattern.match(line)
        if match is not None and (stamp := _stamp(match)) >= since - 1:
            yield stamp, line


def node_events(node_dir: Path, node: str, started: float) -> list[Event]:
    """A node's milestones from its server.log: the first line (the JVM up, logging) and the
    first line of each of NODE_EVENTS."""
    events: list[Event] = []
    seen: set[str] = set()
    for stamp, line in _lines(node_dir / "logs" / "server.log", _KAFKA_LINE, started):
        if "JVM up, logging" not in seen:
            seen.add("JVM up, logging")
            events.append(Event(stamp - started, "JVM up, logging", node))
        for what, marker in NODE_EVENTS:
            if what not in seen and marker in line:
                seen.add(what)
                events.append(Event(stamp - started, what, node))
    return events


def steward_events(home: Path, cluster_key: str, started: float) -> list[Event]:
    """The reconciler's steps and the agents' work for the cluster whose node keys begin with
    `cluster_key`, and its nodes' milestones."""
    events: list[Event] = []
    for stamp, line in _lines(home / "server.out", _STEWARD_LINE, started):
        step = re.search(r": CREATE (\w+) done after", line)
        if step is not None:
            events.append(Event(stamp - started, f"step {step.group(1)} done", "control plane"))
    for agent_log in sorted(home.glob("agents/*/agent.log")):
        for stamp, line in _lines(agent_log, _STEWARD_LINE, started):
            found = re.search(rf"(formatted|started) ({re.escape(cluster_key)}-\S+)", line)
            if found is not None:
                what = "storage formatted" if found.group(1) == "formatted" else "JVM spawned"
                events.append(Event(stamp - started, what, found.group(2)))
    for node_dir in sorted(home.glob(f"agents/*/nodes/{cluster_key}-*")):
        events.extend(node_events(node_dir, node_dir.name, started))
    return sorted(events, key=lambda e: e.seconds)


def by_hand_events(work: Path, started: float) -> list[Event]:
    events: list[Event] = []
    for node_dir in sorted(p for p in work.iterdir() if (p / "logs").is_dir()):
        events.extend(node_events(node_dir, node_dir.name, started))
    return sorted(events, key=lambda e: e.seconds)


def summary(events: list[Event]) -> list[str]:
    """One line per kind of event, in the order they first happen: when the first and the last
    node got there, e.g. `JVM up, logging  6.1-8.9 s (controllers 6.1-7.0, brokers 7.5-8.9)`."""
    kinds: dict[str, list[Event]] = {}
    for event in events:
        kinds.setdefault(event.what, []).append(event)
    lines = []
    for what, found in kinds.items():
        if len(found) == 1:
            lines.append(f"  {found[0].seconds:6.2f} s  {what} ({found[0].node})")
            continue
        roles = []
        for role, marker in (("controllers", "-c"), ("brokers", "-b")):
            mine = [e.seconds for e in found if marker in e.node]
            if mine:
                roles.append(f"{role} {min(mine):.2f}-{max(mine):.2f}")
        first, last = found[0].seconds, found[-1].seconds
        lines.append(f"  {first:6.2f} - {last:6.2f} s  {what} ({', '.join(roles)})")
    return lines
