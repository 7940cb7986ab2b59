"""APPLY_DYNAMIC_SETTINGS: a configuration revision's settings that Kafka can change at run time,
applied as cluster-wide dynamic defaults, with no restart.

Kafka itself says which settings are dynamic. Any other setting that changed (or one that was
removed) is left to the roll that follows (`restart_for`): the brokers roll with the new
properties, and the controllers too when a topic default they apply changed. A change of dynamic
settings only restarts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from steward.control.node_specs import revision_properties, user_properties
from steward.control.step import StepRun
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import ConfigurationRef, NodeRole
from steward.kafka.dynamic_config import (
    DynamicConfigError,
    apply_cluster_defaults,
    dynamic_cluster_keys,
)
from steward.kafka.node_config import replication_defaults


@dataclass
class DynamicSettings:
    applied: bool = False
    dynamic: list[str] = field(default_factory=list)
    """The settings applied at run time."""
    restart_for: list[str] = field(default_factory=list)
    """The settings that only a restart applies (changed or removed)."""


def changes(old: dict[str, str], new: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(settings added or changed with their new values, settings removed)."""
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    removed = sorted(k for k in old if k not in new)
    return changed, removed


def previous_configuration(run: StepRun[Any]) -> ConfigurationRef | None:
    """The configuration the change starts from: the one the cluster converged on, or for a
    rollback, the failed operation's target (whose dynamic settings may have been applied)."""
    if run.op.progress.get("rollback_of"):
        source = (run.op.source or {}).get("configurationInfo")
        if isinstance(source, dict):
            return ConfigurationRef(str(source["arn"]), int(source["revision"]))
        return None
    return run.cluster.observed_spec.configuration


def apply_dynamic_settings(run: StepRun[DynamicSettings]) -> None:
    ctx, cluster = run.ctx, run.cluster
    old = revision_properties(ctx.store, previous_configuration(run))
    changed, removed = changes(old, user_properties(ctx.store, cluster))
    # A removed setting goes back to Steward's default where it has one (Kafka refuses to drop
    # some cluster defaults, e.g. min.insync.replicas while eligible leader replicas are on).
    brokers = [n for n in ctx.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
    defaults = replication_defaults(len(brokers))
    restored = {k: defaults[k] for k in removed if k in defaults}
    bootstrap = ctx.bootstrap(cluster)
    try:
        dynamic = dynamic_cluster_keys(bootstrap, changed)
        apply_cluster_defaults(
            bootstrap,
            {**{k: changed[k] for k in dynamic}, **restored},
            delete=[k for k in removed if k not in restored],
        )
    except DynamicConfigError as error:
        if error.rejected:
            raise PermanentError(str(error), "InvalidConfiguration") from error
        raise TemporaryError(str(error), 2.0) from error
    run.progress = DynamicSettings(
        applied=True,
        dynamic=sorted(dynamic),
        restart_for=sorted(set(changed) - dynamic) + removed,
    )
