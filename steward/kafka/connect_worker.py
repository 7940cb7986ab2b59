"""A Kafka Connect worker in distributed mode: its properties and its command line
(`java ... org.apache.kafka.connect.cli.ConnectDistributed worker.properties`), from the same
Kafka distribution the brokers run (connect-runtime is among its jars).

Every worker of a connector is a member of one Connect group whose internal topics live in the
connector's target cluster, named as MSK Connect names them (`__amazon_msk_connect_*`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from steward.kafka.java import SERVER_JVM_OPTIONS, heap_options, operator_jvm_options
from steward.kafka.launch import TRUSTSTORE_LOCATION, JvmSettings
from steward.kafka.log4j import log4j_jvm_options

CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
CLIENT_PREFIXES = ("", "producer.", "consumer.", "admin.")
"""The worker's own clients, and those it makes for tasks, each configured apart."""
AWS_MSK_IAM = "AWS_MSK_IAM"
IAM_PROFILE = "steward-connector"
"""The AWS profile of the worker's credentials file that holds its role session (written by the
agent, `steward.agent.aws_profile`): aws-msk-iam-auth signs in with it."""
IAM_LOGIN = f'software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName="{IAM_PROFILE}";'
IAM_CALLBACK_HANDLER = "software.amazon.msk.auth.iam.IAMClientCallbackHandler"

DEFAULT_WORKER_PROPERTIES: dict[str, str] = {
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    "offset.flush.interval.ms": "10000",
    "config.storage.replication.factor": "-1",
    "offset.storage.replication.factor": "-1",
    "status.storage.replication.factor": "-1",
}
"""What a worker runs with when its worker configuration does not say (MSK Connect's default
worker configuration uses the string converters too); -1 is the cluster's default replication."""

OWNED_PROPERTIES = frozenset(
    {
        "bootstrap.servers",
        "group.id",
        "listeners",
        "rest.advertised.host.name",
        "rest.advertised.port",
        "rest.advertised.listener",
        "plugin.path",
        "config.storage.topic",
        "offset.storage.topic",
        "status.storage.topic",
    }
    | {f"{prefix}security.protocol" for prefix in CLIENT_PREFIXES}
    | {f"{prefix}sasl.mechanism" for prefix in CLIENT_PREFIXES}
    | {f"{prefix}sasl.jaas.config" for prefix in CLIENT_PREFIXES}
    | {f"{prefix}sasl.client.callback.handler.class" for prefix in CLIENT_PREFIXES}
    | {f"{prefix}ssl.truststore.type" for prefix in CLIENT_PREFIXES}
    | {f"{prefix}{TRUSTSTORE_LOCATION}" for prefix in CLIENT_PREFIXES}
)
"""Set by Steward from the connector; a worker configuration cannot change them."""


@dataclass(frozen=True)
class WorkerIdentity:
    connector_name: str
    connector_id: str
    bootstrap_servers: str
    host: str
    port: int
    plugin_path: str
    tls: bool
    trust_cluster_ca: bool = False
    """TLS with the cluster's own CA (a PEM trust store the agent writes); otherwise the JVM's
    default trust store."""
    iam: bool = False
    """Sign in with SASL `AWS_MSK_IAM` (over TLS) as the connector's service execution role,
    whose temporary credentials the agent keeps in the worker's AWS profile."""


def internal_topics(connector_name: str, connector_id: str) -> dict[str, str]:
    suffix = f"{connector_name}_{connector_id}"
    return {
        "config.storage.topic": f"__amazon_msk_connect_configs_{suffix}",
        "offset.storage.topic": f"__amazon_msk_connect_offsets_{suffix}",
        "status.storage.topic": f"__amazon_msk_connect_status_{suffix}",
    }


def worker_properties(
    identity: WorkerIdentity, worker_configuration: Mapping[str, str]
) -> dict[str, str]:
    """The worker's properties: Steward's defaults, the user's worker configuration over them,
    then what Steward owns (where the cluster is, the group, the REST listener, the plugins)."""
    properties = dict(DEFAULT_WORKER_PROPERTIES)
    properties.update({k: v for k, v in worker_configuration.items() if k not in OWNED_PROPERTIES})
    properties.update(
        {
            "bootstrap.servers": identity.bootstrap_servers,
            "group.id": f"__amazon_msk_connect_cluster_{identity.connector_id}",
            "listeners": f"http://{identity.host}:{identity.port}",
            "rest.advertised.host.name": identity.host,
            "rest.advertised.port": str(identity.port),
            "plugin.path": identity.plugin_path,
            **internal_topics(identity.connector_name, identity.connector_id),
        }
    )
    if identity.tls or identity.iam:
        for prefix in CLIENT_PREFIXES:
            properties[f"{prefix}security.protocol"] = "SASL_SSL" if identity.iam else "SSL"
            if identity.trust_cluster_ca:
                properties[f"{prefix}ssl.truststore.type"] = "PEM"
            if identity.iam:
                properties[f"{prefix}sasl.mechanism"] = AWS_MSK_IAM
                properties[f"{prefix}sasl.jaas.config"] = IAM_LOGIN
                properties[f"{prefix}sasl.client.callback.handler.class"] = IAM_CALLBACK_HANDLER
    return properties


def signs_in_with_iam(properties: Mapping[str, str]) -> bool:
    """The worker signs in with AWS_MSK_IAM: aws-msk-iam-auth goes on its class path."""
    return properties.get("sasl.mechanism") == AWS_MSK_IAM


def uses_trust_store(properties: Mapping[str, str]) -> bool:
    return properties.get("ssl.truststore.type") == "PEM"


def trust_store_locations(truststore: Path) -> dict[str, str]:
    """The properties that point each of the worker's clients at the cluster's CA."""
    return {f"{prefix}{TRUSTSTORE_LOCATION}": str(truststore) for prefix in CLIENT_PREFIXES}


def connect_worker_command(
    spec: JvmSettings,
    *,
    java: str,
    classpath: str,
    properties_file: Path,
    log4j_file: Path,
    logs_dir: Path,
    extra_options: Sequence[str] = (),
) -> list[str]:
    return [
        java,
        *heap_options(spec.heap_mb),
        *SERVER_JVM_OPTIONS,
        *extra_options,
        *operator_jvm_options(),
        *spec.jvm_options,
        *log4j_jvm_options(str(log4j_file), str(logs_dir)),
        "-cp",
        classpath,
        CONNECT_MAIN,
        str(properties_file),
    ]
