"""How a poller reaches a mapping's cluster, as Lambda does for MSK: with the SCRAM secret or the
client certificate its SourceAccessConfigurations name, through the listener that takes it; with
none named, as Steward itself reaches the cluster (its own certificate where an authorizer runs,
`steward_bootstrap`), which passes any cluster's authentication.

The brokers take IAM sign-in, but a trigger that signs in with IAM needs an access key to sign
as its function's role, which Steward does not have yet (its functions' Role is only recorded):
`_iam` is where that goes; until then a mapping that asks for IAM_AUTH is refused, and one with
no SourceAccessConfigurations reads an IAM cluster as Steward itself does."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from steward.domain.errors import StewardError
from steward.domain.model import ClientBroker, Cluster, NodeRole
from steward.functions.errors import InvalidParameterValueException
from steward.kafka.admin import librdkafka_security
from steward.kafka.node_config import client_bootstrap, sasl_scram_bootstrap, tls_bootstrap
from steward.security.certificates import ca_certificate, serving_bootstrap
from steward.store.store import Store

SCRAM = "SASL_SCRAM_512_AUTH"
CLIENT_CERTIFICATE = "CLIENT_CERTIFICATE_TLS_AUTH"
IAM = "IAM_AUTH"
TAKEN_ACCESS_TYPES = (SCRAM, CLIENT_CERTIFICATE, IAM)

SecretReader = Callable[[str], str]
"""A Secrets Manager secret's string, by ARN or name."""


@dataclass(frozen=True)
class KafkaConnection:
    servers: str
    settings: dict[str, str]
    """confluent-kafka settings: security protocol, trust, credentials."""
    shown_servers: str
    """The bootstrap string the event's `bootstrapServers` shows: the cluster's client one."""


class ClusterUnavailable(Exception):
    """The cluster does not serve (yet, or any more): the poller waits for it."""


def check_source_access(configurations: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    checked = []
    for entry in configurations or []:
        kind, uri = entry.get("Type"), entry.get("URI")
        if kind not in TAKEN_ACCESS_TYPES:
            raise InvalidParameterValueException(
                f"SourceAccessConfigurations Type {kind!r}: for an MSK cluster Steward takes "
                f"{', '.join(TAKEN_ACCESS_TYPES)}."
            )
        if kind == IAM:
            raise InvalidParameterValueException(
                "IAM_AUTH: triggers do not sign in with IAM yet (a function's Role has no key "
                "to sign with); leave SourceAccessConfigurations out to read as Steward does."
            )
        if not isinstance(uri, str) or not uri:
            raise InvalidParameterValueException(f"{kind} needs the URI of a secret.")
        checked.append({"Type": kind, "URI": uri})
    if len(checked) > 1:
        raise InvalidParameterValueException("Give one way to authenticate, not several.")
    return checked


class ClusterConnections:
    def __init__(self, store: Store, read_secret: SecretReader | None = None) -> None:
        self.store = store
        self.read_secret = read_secret

    def cluster(self, arn: str) -> Cluster | None:
        return self.store.get_cluster(arn)

    def for_mapping(self, cluster_arn: str, source_access: list[dict[str, str]]) -> KafkaConnection:
        cluster = self.store.get_cluster(cluster_arn)
        if cluster is None:
            raise ClusterUnavailable(f"Cluster {cluster_arn} does not exist.")
        try:
            own = serving_bootstrap(self.store, cluster, "its triggers")
        except StewardError as error:
            raise ClusterUnavailable(error.message) from error
        brokers = [n for n in self.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
        plaintext = cluster.spec.encryption_in_transit.client_broker is not ClientBroker.TLS
        shown = client_bootstrap(brokers) if plaintext else tls_bootstrap(brokers)
        access = source_access[0] if source_access else None
        if access is None:
            return KafkaConnection(str(own), librdkafka_security(own), shown)
        secret = self._secret(access["URI"])
        ca = ca_certificate(self.store.engine, cluster.kafka_cluster_id) or ""
        if access["Type"] == SCRAM:
            servers = sasl_scram_bootstrap(brokers)
            settings = {
                "security.protocol": "SASL_SSL",
                "sasl.mechanisms": "SCRAM-SHA-512",
                "sasl.username": str(secret.get("username", "")),
                "sasl.password": str(secret.get("password", "")),
            }
            if ca:
                settings["ssl.ca.pem"] = ca
            return KafkaConnection(servers, settings, servers)
        if access["Type"] == CLIENT_CERTIFICATE:
            servers = tls_bootstrap(brokers)
            settings = {
                "security.protocol": "SSL",
                "ssl.certificate.pem": str(secret.get("certificate", "")),
                "ssl.key.pem": str(secret.get("privateKey", "")),
            }
            if secret.get("privateKeyPassword"):
                settings["ssl.key.password"] = str(secret["privateKeyPassword"])
            if ca:
                settings["ssl.ca.pem"] = ca
            return KafkaConnection(servers, settings, servers)
        return self._iam(cluster, brokers)

    def _iam(self, cluster: Cluster, brokers: list[Any]) -> KafkaConnection:
        """Where IAM sign-in goes: the IAM listener (`BootstrapBrokerStringSaslIam`, SASL_SSL
        with OAUTHBEARER, a token signed for the function's role in librdkafka's `oauth_cb`).
        Not built yet; `check_source_access` refuses IAM_AUTH before this."""
        raise ClusterUnavailable(f"IAM sign-in to {cluster.name} is not available yet.")

    def _secret(self, uri: str) -> dict[str, Any]:
        if self.read_secret is None:
            raise ClusterUnavailable("Steward has no Secrets Manager to read credentials from.")
        try:
            value = json.loads(self.read_secret(uri))
        except StewardError as error:
            raise ClusterUnavailable(f"The secret {uri} cannot be read: {error.message}") from error
        except (json.JSONDecodeError, TypeError):
            raise ClusterUnavailable(f"The secret {uri} is not a JSON object.") from None
        if not isinstance(value, dict):
            raise ClusterUnavailable(f"The secret {uri} is not a JSON object.")
        return value
