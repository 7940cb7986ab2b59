"""`steward chaos ...`: break a cluster of this machine's Steward on purpose and watch it heal."""

from __future__ import annotations

import click

from steward.chaos.faults import FaultError, LocalCluster
from steward.chaos.scenarios import SCENARIOS, ScenarioResult, run_scenario
from steward.client.api import CliError
from steward.client.context import CliContext, pass_cli
from steward.settings import Settings


@click.group()
def chaos() -> None:
    """Fault injection against a cluster of the Steward on this machine (embedded default)."""


@chaos.command("scenarios")
@pass_cli
def list_scenarios(cli: CliContext) -> None:
    """List the fault scenarios."""
    names = sorted(SCENARIOS)
    if cli.output.is_json:
        cli.output.json({"Scenarios": names})
        return
    cli.output.table(["SCENARIO"], [(name,) for name in names])


@chaos.command()
@click.argument("scenario", type=click.Choice(sorted(SCENARIOS)))
@click.argument("cluster")
@click.option("--heal-timeout", type=float, default=300.0, show_default=True)
@pass_cli
def run(cli: CliContext, scenario: str, cluster: str, heal_timeout: float) -> None:
    """Run SCENARIO against CLUSTER (name or ARN) under a producer and a consumer, and report
    what the clients saw and how long healing took. Uses the Steward home of this shell
    (STEWARD_HOME) to find the cluster's processes."""
    api = cli.api
    arn = api.cluster_arn(cluster)
    try:
        local = LocalCluster.from_api(api.client, Settings(), arn)
        result = run_scenario(api.client, local, scenario, heal_timeout=heal_timeout)
    except FaultError as error:
        raise CliError(str(error)) from error
    _show(cli, result)
    if not result.ok:
        raise SystemExit(1)


def _show(cli: CliContext, result: ScenarioResult) -> None:
    if cli.output.is_json:
        cli.output.json(
            {
                "Scenario": result.name,
                "Injected": result.injected,
                "DetectedAfterSeconds": result.detected_after,
                "HealedAfterSeconds": result.healed_after,
                "Repairs": result.repairs,
                "Acknowledged": result.acked,
                "Lost": result.lost,
                "Duplicates": result.duplicates,
                "WrittenTwiceByTheProducer": result.rewritten,
                "LongestStallSeconds": result.longest_stall,
                "Problems": result.problems,
            }
        )
        return

    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    rows = [
        ("injected", "; ".join(result.injected)),
        ("detected after", seconds(result.detected_after)),
        ("healed after", seconds(result.healed_after)),
        ("repairs", "; ".join(result.repairs) or "none"),
        ("acknowledged", str(result.acked)),
        ("lost", str(result.lost)),
        ("duplicates", f"{result.duplicates} ({result.rewritten} written twice by the producer)"),
        ("longest stall", seconds(result.longest_stall)),
        ("problems", "; ".join(result.problems) or "none"),
    ]
    cli.output.table(["", result.name.upper()], rows)
