"""How fast Steward heals a cluster after each fault of the chaos suite, side by side with the
same Kafka supervised by its agents alone (the health monitor off).

Two Stewards run one after the other on this machine, each with a 3-broker, 3-zone cluster of
Kafka 4.3.1 (zones in network namespaces and brokers on volumes of their own where the machine
allows it, two hosts per zone, a host counted dead after 10 s of silence), and each goes through
every scenario of `steward.chaos.scenarios` in the same order, under an idempotent acks=all
producer and a consumer (6 partitions, 200 messages/s):

- **steward**: the health monitor on. "detected" is the start of the first HEAL operation,
  "healed" the moment the cluster is ACTIVE with every replica in sync.
- **agents only**: `STEWARD_HEALTH_MONITOR=off`. The agents still restart a process that exits,
  but nobody kills a hung broker or starts a dead agent. "detected" is when Kafka itself shows
  the fault (a broker gone from the cluster, a replica out of sync), "healed" when it no longer
  does; a fault Kafka never shows within 30 s counts as healed at 0 s.

`hang-after-repair` (a broker killed and repaired, then another hung with SIGSTOP ten seconds
later) runs on a second cluster made with MSK's defaults, TLS only, under Kafka's own Java
producer, as a new user met it.

`kill-host` powers a host off for the rest of the run (it comes last in the default order); the
scenarios after it, if any, act on the brokers where they are then. Steward moves the host's
brokers to the other host of the zone once its agent has been silent for
`STEWARD_HOST_REPLACE_AFTER` = 10 s (60 s by default, as MSK's replacement of a failed host takes
a while: a longer wait only adds a constant). With the agents alone nothing moves them, and the
scenario ends unhealed after 300 s.

For each: time to detect, time to heal, the longest gap between two acknowledgements of one
partition (the stall), messages acknowledged, lost (acknowledged but never consumed) and consumed
twice. Prints a table and the ratios steward / agents only.

    make install && .venv/bin/python bench/healing.py [--scenarios kill-broker,hang-broker]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
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
    "hang-after-repair",
    "kill-host",
)

AS_A_USER_MEETS_IT = {"hang-after-repair"}
"""Scenarios run on a second cluster made with MSK's defaults (TLS only from clients, TLS
between brokers) under Kafka's own Java producer (VerifiableProducer), as a new user met them."""

HOSTS_PER_ZONE = 2
"""Hosts per zone: a dead host's brokers have somewhere to go (`kill-host`)."""
HOST_REPLACE_AFTER = 10.0
"""Seconds of silence after which Steward takes a host for dead (STEWARD_HOST_REPLACE_AFTER)."""
HEAL_TIMEOUT = 300.0
"""Seconds a scenario waits for healing before it counts as never healed."""


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def run_mode(
    monitor: bool, scenarios: list[str], netns: bool, volumes: bool, loads: dict[str, str]
) -> dict[str, ScenarioResult]:
    """Run `scenarios` against a new Steward; `loads` gets the load average (1, 5, 15 min) at
    the start of each."""
    label = "steward" if monitor else "agents only"
    with tempfile.TemporaryDirectory(prefix="steward-bench-healing-") as home:
        steward = Steward(
            Path(home),
            zone_network="netns" if netns else "loopback",
            extra_env={
                "STEWARD_HEALTH_MONITOR": "on" if monitor else "off",
                "STEWARD_BROKER_VOLUMES": "loop" if volumes else "directory",
                "STEWARD_HOSTS_PER_ZONE": str(HOSTS_PER_ZONE),
                "STEWARD_HOST_REPLACE_AFTER": f"{HOST_REPLACE_AFTER:g}",
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
            defaults: LocalCluster | None = None
            results = {}
            for name in scenarios:
                loads[name] = load_average()
                print(f"[{label}] {name} ... (load average {loads[name]})", flush=True)
                target, producer = cluster, "confluent"
                if name in AS_A_USER_MEETS_IT:
                    defaults = defaults or default_cluster(steward, client, settings)
                    target, producer = defaults, "java"
                try:
                    result = run_scenario(
                        client,
                        target,
                        name,
                        heal_timeout=HEAL_TIMEOUT,
                        expect_repair=monitor,
                        producer=producer,
                    )
                except Exception as error:  # reported with the rest; the next one still runs
                    result = ScenarioResult(name, [], None, None, problems=[f"{error!r}"])
                print(f"[{label}]   {result}", flush=True)
                results[name] = result
                if name == "kill-host":  # its brokers may have moved: where are they now
                    cluster = LocalCluster.from_api(client, settings, arn)
            return results
        finally:
            steward.cleanup()


def default_cluster(steward: Steward, client: Any, settings: Settings) -> LocalCluster:
    """A cluster made with MSK's defaults (TLS), reached trusting its CA as
    `steward cluster ca-certificate` prints it."""
    defaults = {k: v for k, v in provisioned().items() if k != "EncryptionInfo"}
    arn = client.create_cluster_v2(ClusterName="Defaults", Provisioned=defaults)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=300)
    if info["State"] != "ACTIVE":
        raise SystemExit(f"the default cluster did not become ACTIVE: {info.get('StateInfo')}")
    ca = subprocess.run(
        [str(Path(sys.executable).with_name("steward")), "cluster", "ca-certificate", "Defaults"],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return LocalCluster.from_api(client, settings, arn, ca_pem=ca)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def healed(result: ScenarioResult) -> str:
    """`result.healed_after`, or that a fault injected never healed within HEAL_TIMEOUT."""
    if result.healed_after is None and result.injected:
        return f"never ({HEAL_TIMEOUT:.0f} s)"
    return seconds(result.healed_after)


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
    print(
        f"{HOSTS_PER_ZONE} hosts per zone, STEWARD_HOST_REPLACE_AFTER={HOST_REPLACE_AFTER:g} s, "
        f"{HEAL_TIMEOUT:.0f} s at most per scenario, {os.cpu_count()} cores, "
        f"load average {load_average()}",
        flush=True,
    )
    steward_loads: dict[str, str] = {}
    baseline_loads: dict[str, str] = {}
    steward = run_mode(True, scenarios, netns, volumes, steward_loads)
    baseline = (
        {name: ScenarioResult(name, [], None, None) for name in scenarios}
        if args.steward_only
        else run_mode(False, scenarios, netns, volumes, baseline_loads)
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
            f"| {healed(s)} / {healed(a)} "
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
    print()
    for name in scenarios:
        print(
            f"{name}: load average (1 / 5 / 15 min) at the start: steward "
            f"{steward_loads.get(name, '-')}, agents only {baseline_loads.get(name, '-')}"
        )
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
