"""The client workload the operation tests run (it lives in `steward.chaos.workload`, which
`steward chaos run` uses too)."""

from steward.chaos.workload import Workload, WorkloadResult

__all__ = ["Workload", "WorkloadResult"]
