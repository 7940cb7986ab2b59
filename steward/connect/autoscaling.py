"""MSK Connect's autoscaling rule on the workers' CPU: above the scale-out utilisation one worker
more (up to the maximum), below the scale-in one one worker fewer (down to the minimum).

Utilisation is the CPU time the workers' processes used between two samples (the agents report
it) over the wall time and their MCUs (one MCU is one vCPU, as in MSK Connect), averaged over the
workers. Samples live in memory: after a restart of the control plane the rule waits for two
fresh ones, which is the level-triggered way (nothing to resume).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

SAMPLE_WINDOW = 60.0
"""Seconds between the samples that a utilisation is computed from."""
COOL_DOWN = 120.0
"""Seconds after a change of the worker count before the rule looks again."""


@dataclass
class _Sample:
    at: float
    cpu_seconds: float


@dataclass
class CpuAutoscaler:
    clock: Any = time.monotonic
    _samples: dict[str, _Sample] = field(default_factory=dict)
    _utilisation: dict[str, float] = field(default_factory=dict)
    _changed_at: dict[str, float] = field(default_factory=dict)

    def sample(self, worker_key: str, cpu_seconds: float | None, mcu_count: int) -> None:
        if cpu_seconds is None:
            return
        now = self.clock()
        last = self._samples.get(worker_key)
        if last is None or cpu_seconds < last.cpu_seconds:  # new, or a restarted process
            self._samples[worker_key] = _Sample(now, cpu_seconds)
            return
        if now - last.at >= SAMPLE_WINDOW:
            used = (cpu_seconds - last.cpu_seconds) / (now - last.at)
            self._utilisation[worker_key] = 100.0 * used / max(mcu_count, 1)
            self._samples[worker_key] = _Sample(now, cpu_seconds)

    def utilisation(self, worker_keys: list[str]) -> float | None:
        """The workers' average CPU utilisation in percent, once each has one."""
        values = [self._utilisation.get(k) for k in worker_keys]
        if not values or any(v is None for v in values):
            return None
        return sum(v for v in values if v is not None) / len(values)

    def decide(self, connector_arn: str, worker_keys: list[str], auto: dict[str, Any]) -> int:
        """The worker count the rule asks for: the current one, or one more or fewer."""
        current = len(worker_keys)
        now = self.clock()
        if now - self._changed_at.get(connector_arn, -COOL_DOWN) < COOL_DOWN:
            return current
        used = self.utilisation(worker_keys)
        if used is None:
            return current
        wanted = current
        if used > auto["scaleOutPolicy"]["cpuUtilizationPercentage"]:
            wanted = min(current + 1, int(auto["maxWorkerCount"]))
        elif used < auto["scaleInPolicy"]["cpuUtilizationPercentage"]:
            wanted = max(current - 1, int(auto["minWorkerCount"]))
        if wanted != current:
            self._changed_at[connector_arn] = now
            for key in worker_keys:
                self._utilisation.pop(key, None)
        return wanted
