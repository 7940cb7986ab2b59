"""How fast Steward heals a cluster after each fault of the chaos suite, side by side with the
same Kafka supervised by its agents alone (the health monitor off).

Two Stewards run one after the other on this machine, each with a 3-broker, 3-zone cluster of
Kafka 4.3.1 (zones in network namespaces and brokers on volumes of their own where the machine
allows it), and each goes through every
scenario of `steward.chaos.scenarios` in the same order, under an idempotent acks=all producer
and a consumer (6 partitions, 200 messages/s):

- **steward**: the health monitor on. "detected" is the start of the first HEAL operation,
  "healed" the moment the cluster is ACTIVE with every replica in sync.
- **agents only**: `STEWARD_HEALTH_MONITOR=off`. The agents still restart a process that exits,
  but nobody kills a hung broker or starts a dead agent. "detected" is when Kafka itself shows
  the fault (a broker gone from the cluster, a replica out of sync), "healed" when it no longer
  does; a fault Kafka never shows within 30 s counts as healed at 0 s.

For each: time to detect, time to heal, the longest gap between two acknowledgements of one
partition (the stall), messages acknowledged, lost (acknowledged but never consumed) and consumed
twice. Prints a table and the ratios steward / agents only.

    make install && .venv/bin/python bench/healing.py [--scenarios kill-broker,hang-broker]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from steward.agent.volumes import loop_volumes_supported  # noqa: E402
from steward.chaos.faults import LocalCluster  # noqa: E402
from steward.chaos.scenarios import SCENARIOS, ScenarioResult, run_scenario  # noqa: E402
from steward.kafka.distribution import require_distribution  # noqa: E402
from steward.network.zones import namespaces_supported  # noqa: E402
from steward.settings import Settings  # noqa: E402
from tests.integration.harness import Steward, provisioned  # noqa: E402

ORDER = (
    "kill-broker",
    "kill-active-controller",
    "hang-broker",
    "delete-broker-data",
    "fill-broker-disk",
    "kill-agent",
    "cut-zone",
    "two-faults",
)


def run_mode(
    monitor: bool, scenarios: list[str], netns: bool, volumes: bool
) -> dict[str, ScenarioResult]:
    label = "steward" if monitor else "agents only"
    with tempfile.TemporaryDirectory(prefix="steward-bench-healing-") as home:
        steward = Steward(
            Path(home),
            zone_network="netns" if netns else "loopback",
            extra_env={
                "STEWARD_HEALTH_MONITOR": "on" if monitor else "off",
                "STEWARD_BROKER_VOLUMES": "loop" if volumes else "directory",
            },
        )
        steward.start()
        try:
            client = steward.client()
            arn = client.create_cluster_v2(ClusterName="Bench", Provisioned=provisioned())[
                "ClusterArn"
            ]
            info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=300)
            if info["State"] != "ACTIVE":
                raise SystemExit(f"the cluster did not become ACTIVE: {info.get('StateInfo')}")
            with mock.patch.dict("os.environ", steward.env):
                settings = Settings()
            cluster = LocalCluster.from_api(client, settings, arn)
            results = {}
            for name in scenarios:
                print(f"[{label}] {name} ...", flush=True)
                try:
                    result = run_scenario(client, cluster, name, expect_repair=monitor)
                except Exception as error:  # reported with the rest; the next one still runs
                    result = ScenarioResult(name, [], None, None, problems=[f"{error!r}"])
                print(f"[{label}]   {result}", flush=True)
                results[name] = result
            return results
        finally:
            steward.cleanup()


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(ORDER), help="comma-separated names")
    parser.add_argument("--steward-only", action="store_true", help="skip the agents-only baseline")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(unknown)}")
    netns = namespaces_supported()
    if not netns and "cut-zone" in scenarios:
        print("network namespaces are not available: cut-zone left out")
        scenarios.remove("cut-zone")
    volumes = loop_volumes_supported()
    if not volumes and "fill-broker-disk" in scenarios:
        print("brokers cannot have volumes of their own here: fill-broker-disk left out")
        scenarios.remove("fill-broker-disk")
    require_distribution("4.3.1")
    steward = run_mode(True, scenarios, netns, volumes)
    baseline = (
        {name: ScenarioResult(name, [], None, None) for name in scenarios}
        if args.steward_only
        else run_mode(False, scenarios, netns, volumes)
    )

    print()
    print(
        "| scenario | detected S / A | healed S / A | healed S/A | longest stall S / A "
        "| acked S / A | lost S / A | duplicates S / A |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in scenarios:
        s, a = steward[name], baseline[name]
        print(
            f"| {name} | {seconds(s.detected_after)} / {seconds(a.detected_after)} "
            f"| {seconds(s.healed_after)} / {seconds(a.healed_after)} "
            f"| {ratio(s.healed_after, a.healed_after)} "
            f"| {seconds(s.longest_stall)} / {seconds(a.longest_stall)} "
            f"| {s.acked:,} / {a.acked:,} | {s.lost} / {a.lost} "
            f"| {s.duplicates} / {a.duplicates} |"
        )
    print()
    for name in scenarios:
        for label, result in (("steward", steward[name]), ("agents only", baseline[name])):
            if result.problems:
                print(f"{name} ({label}): {'; '.join(result.problems)}")
        print(f"{name}: repairs {'; '.join(steward[name].repairs) or 'none'}")


if __name__ == "__main__":
    main()
