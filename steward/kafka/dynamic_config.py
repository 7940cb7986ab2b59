"""Applying broker configuration without restarts: Kafka's cluster-wide dynamic broker defaults.

A configuration update first asks which of its keys Kafka accepts as cluster-wide dynamic
defaults (`dynamic_cluster_keys`), applies those at once (`apply_cluster_defaults`), and rolls the
brokers only for the rest (rendered into server.properties). Kafka keeps the defaults in the
metadata log, and every broker, also one started later, applies them over its server.properties.

Which keys are dynamic is Kafka's answer, not a list of ours: a key is tried with its value as a
validate-only IncrementalAlterConfigs on the BROKER resource with the empty name (the cluster
default). Neither Python client can address that resource, so the writes go through
`java/ClusterDefaults.java` on Kafka's Admin API. Found with Kafka 4.3.1: `log.retention.ms`,
`message.max.bytes`, `min.insync.replicas`, `unclean.leader.election.enable`, `num.io.threads`
are dynamic; `auto.create.topics.enable`, `num.partitions`, `default.replication.factor`,
`log.retention.hours`, `offsets.topic.replication.factor`, `replica.lag.time.max.ms` are not;
`listeners` and `ssl.*` are dynamic per broker or per listener only, never cluster-wide.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType

from steward.kafka.admin import java_client_security, kafka_python_admin
from steward.kafka.errors import KafkaAdminError, client_errors
from steward.kafka.tools import newest_installed_version, run_program

HELPER = "ClusterDefaults.java"
DYNAMIC_DEFAULT = "DYNAMIC_DEFAULT_BROKER_CONFIG"

NOT_DYNAMIC_REASONS = (
    "Cannot update these configs dynamically",
    "Cannot update these configs at default cluster level",
    "can be dynamically updated only per-listener",
)
"""How Kafka says that a key cannot be changed cluster-wide without a restart (InvalidRequest);
any other refusal is about the value."""


class DynamicConfigError(KafkaAdminError):
    """The cluster defaults could not be read or changed, or Kafka rejected a value."""

    def __init__(self, message: str, rejected: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.rejected: dict[str, str] = dict(rejected or {})
        """Key -> Kafka's reason, for values Kafka refuses (a restart would not help either)."""


def dynamic_cluster_keys(
    bootstrap: str, properties: Mapping[str, str], timeout: float = 60.0
) -> set[str]:
    """The keys of `properties` Kafka would accept, with these values, as cluster-wide dynamic
    broker defaults. Keys the brokers do not know, or know as read-only, are not dynamic without
    asking. DynamicConfigError (with `.rejected`) when Kafka refuses a dynamic key's value."""
    described = _broker_configs(bootstrap, timeout)
    candidates = {
        key: value
        for key, value in properties.items()
        if key in described and not described[key]["read_only"]
    }
    if not candidates:
        return set()
    answer = _run_helper(
        bootstrap, {"mode": "validate-each", "set": candidates, "delete": []}, timeout
    )
    dynamic: set[str] = set()
    rejected: dict[str, str] = {}
    for key, failure in answer["results"].items():
        if failure is None:
            dynamic.add(key)
        elif failure["type"] == "InvalidRequestException" and any(
            reason in failure["message"] for reason in NOT_DYNAMIC_REASONS
        ):
            continue
        elif failure["type"] in ("InvalidRequestException", "InvalidConfigurationException"):
            rejected[key] = failure["message"]
        else:
            raise DynamicConfigError(f"validating {key}: {failure['type']}: {failure['message']}")
    if rejected:
        details = "; ".join(f"{key}: {reason}" for key, reason in sorted(rejected.items()))
        raise DynamicConfigError(f"Kafka rejects these values: {details}", rejected)
    return dynamic


def apply_cluster_defaults(
    bootstrap: str,
    set_: Mapping[str, str],
    delete: Iterable[str] = (),
    timeout: float = 60.0,
) -> None:
    """Set and delete cluster-wide dynamic broker defaults in one request (all or nothing).
    Deleting a key that is not set is not an error. Kafka 4.3.1 refuses to delete
    `min.insync.replicas` while eligible leader replicas (ELR) are enabled."""
    removed = sorted(set(delete) - set(set_))
    if not set_ and not removed:
        return
    answer = _run_helper(
        bootstrap, {"mode": "apply", "set": dict(set_), "delete": removed}, timeout
    )
    failure = answer["error"]
    if failure is not None:
        raise DynamicConfigError(
            f"changing the cluster's broker defaults: {failure['type']}: {failure['message']}"
        )


def cluster_defaults(bootstrap: str, timeout: float = 10.0) -> dict[str, str | None]:
    """The cluster-wide dynamic broker defaults (DYNAMIC_DEFAULT_BROKER_CONFIG), as a broker sees
    them; None for a sensitive value, which Kafka does not return. Includes what Kafka set itself:
    with ELR (the Kafka 4.x default) the controller writes its `min.insync.replicas` there."""
    defaults: dict[str, str | None] = {}
    for entry in _broker_configs(bootstrap, timeout).values():
        for synonym in entry.get("synonyms", []):
            if synonym["source"] == DYNAMIC_DEFAULT:
                defaults[synonym["name"]] = synonym["value"]
    return dict(sorted(defaults.items()))


def _broker_configs(bootstrap: str, timeout: float) -> dict[str, dict[str, Any]]:
    """Every configuration key of one serving broker, with source, read-only flag and synonyms."""
    with (
        client_errors(DynamicConfigError, "describing a broker's configuration"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        brokers = [b for b in client.describe_cluster()["brokers"] if not b.get("is_fenced")]
        if not brokers:
            raise DynamicConfigError("no broker is serving to describe its configuration")
        broker = str(min(b["broker_id"] for b in brokers))
        resource = ConfigResource(ConfigResourceType.BROKER, broker)
        described = client.describe_configs([resource], include_synonyms=True, config_filter="all")
    configs: dict[str, dict[str, Any]] = described["broker"][broker]
    return configs


def _run_helper(bootstrap: str, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    run = run_program(
        newest_installed_version(DynamicConfigError),
        HELPER,
        timeout=timeout + 30,  # the JVM's start and compile on top of the requests' own timeout
        stdin=json.dumps(
            {
                "bootstrap": bootstrap,
                "timeout_ms": int(timeout * 1000),
                "security": java_client_security(bootstrap),
                **request,
            }
        ),
        error_type=DynamicConfigError,
    )
    try:
        answer: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as error:
        raise DynamicConfigError(f"{HELPER} failed: {run.output}") from error
    return answer
