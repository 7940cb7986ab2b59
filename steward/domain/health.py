"""What the health monitor finds wrong with a cluster's nodes: the faults, as the cluster's status
keeps them and a HEAL operation repairs them (`steward.control.diagnosis` names each kind)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from steward.domain.model import NodeRole

FaultKind = Literal[
    "crashed",
    "failed",
    "stopped",
    "lost",
    "hung",
    "data_lost",
    "fenced",
    "disk_full",
    "agent_unreachable",
    "host_draining",
]


@dataclass(frozen=True)
class Finding:
    kind: FaultKind
    agent: str
    reason: str
    node_id: int | None = None
    """None for a fault of the agent itself."""
    role: NodeRole | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "agent": self.agent,
            "reason": self.reason,
            "node_id": self.node_id,
            "role": self.role.value if self.role else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Finding:
        node_id = data.get("node_id")
        role = data.get("role")
        return cls(
            kind=data["kind"],  # type: ignore[arg-type]
            agent=str(data["agent"]),
            reason=str(data["reason"]),
            node_id=int(node_id) if isinstance(node_id, int) else None,
            role=NodeRole(role) if isinstance(role, str) else None,
        )

    @property
    def subject(self) -> str:
        if self.node_id is None:
            return f"agent {self.agent}"
        role = self.role.value.lower() if self.role else "node"
        return f"{role} {self.node_id}"
