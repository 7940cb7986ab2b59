"""The control plane's use cases. Every front end (MSK API, CLI through the API, console) calls
these and nothing else.

Methods are synchronous and quick: they validate, record desired state and operations in the store,
and wake the reconciler. The reconciler does the slow work (starting Kafka) in the background.
Errors are `steward.domain.errors.StewardError` subclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from steward.cloudwatch.service import CloudWatch
from steward.control.arns import ArnFactory, new_current_version
from steward.control.client_subnets import place_client_subnets
from steward.control.cluster_health import ClusterHealth
from steward.control.consumer_groups import ClusterConsumerGroups
from steward.control.host_joins import HostJoins
from steward.control.host_registry import HostRegistry
from steward.control.operation_records import fail, mutable_info
from steward.control.pipeline import start_operation
from steward.control.rebalancing import ClusterRebalancing
from steward.control.resource_policies import ClusterResourcePolicies
from steward.control.topics import ClusterTopics
from steward.control.updates import ClusterUpdates
from steward.crypto.master_key import MasterKey
from steward.domain.errors import BadRequestException, ConflictException, NotFoundException
from steward.domain.model import (
    BootstrapBrokers,
    Cluster,
    ClusterSpec,
    ClusterState,
    Configuration,
    ConfigurationRevision,
    ConfigurationState,
    KafkaVersionInfo,
    Node,
    NodeRole,
    Operation,
    OperationType,
    utcnow,
)
from steward.domain.sign_in_refusals import SignInRefusal
from steward.domain.versions import (
    line_name,
    line_names,
    line_of,
    release_for,
    unsupported_version_reason,
    version_key,
)
from steward.iam.service import IdentityAccess
from steward.iam.store import IamRecords
from steward.kafka import distribution, jmx_exporter
from steward.kafka.errors import KafkaAdminError
from steward.kafka.ids import random_kafka_uuid
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.kafka.node_config import (
    CLIENT,
    CLIENT_SASL_IAM,
    CLIENT_SASL_SCRAM,
    CLIENT_TLS,
    TLS_ALLOWED,
    client_bootstrap,
    client_protocols,
    sasl_iam_bootstrap,
    sasl_scram_bootstrap,
    tls_bootstrap,
    uses_tls,
)
from steward.kafka.properties import PropertiesError, validate_server_properties
from steward.kafka.reassignment import broker_disk_usage
from steward.monitor.alarm_actions import AlarmActions
from steward.monitor.alarm_book import AlarmBook
from steward.monitor.queries import ClusterMetrics
from steward.pca.service import PrivateCertificateAuthorities
from steward.pca.store import CertificateAuthorityRecords
from steward.secrets.service import Secrets
from steward.secrets.store import SecretRecords
from steward.security.agent_authority import AgentAuthority
from steward.security.certificates import ca_certificate, steward_bootstrap
from steward.security.cluster_policies import ClusterPolicies
from steward.security.iam_signin import SignInRefusals
from steward.security.policy_store import PolicyRecords
from steward.security.scram import ClusterScramSecrets
from steward.settings import Settings
from steward.store.join_tokens import JoinTokenRecords
from steward.store.resource_policies import ResourcePolicyRecords
from steward.store.store import DuplicateError, Store


@dataclass(frozen=True)
class BrokerStorage:
    broker_id: int
    volume_size_gb: int
    used_bytes: int | None

    @property
    def used_percent(self) -> float | None:
        if self.used_bytes is None:
            return None
        return 100.0 * self.used_bytes / (self.volume_size_gb * 1024**3)


class ClusterService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        wake_reconciler: Callable[[], None] = lambda: None,
        health_reports: Callable[[str], ClusterHealth | None] | None = None,
        master_key: MasterKey | None = None,
        agent_authority: AgentAuthority | None = None,
        hosts: HostRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.hosts = hosts or HostRegistry(settings, store)
        """The hosts nodes are placed on (`steward host`)."""
        self._health_reports = health_reports
        self.store = store
        self.arns = ArnFactory(settings.region, settings.account_id)
        self._wake = wake_reconciler
        self.updates = ClusterUpdates(
            store,
            self.arns,
            describe=self.describe_cluster,
            check_spec=self._validate_spec,
            known_versions=lambda: [v.version for v in self.list_kafka_versions()],
            pin_release=self.pin_release,
            wake=wake_reconciler,
        )
        self.topics = ClusterTopics(store, self.arns, describe=self.describe_cluster)
        self.consumer_groups = ClusterConsumerGroups(store, describe=self.describe_cluster)
        self.metrics = ClusterMetrics(
            store,
            settings.home / "metrics.db",
            describe=self.describe_cluster,
            prometheus_url=settings.metrics_prometheus_url,
        )
        self.alarms = AlarmBook(
            store,
            AlarmActions(
                store,
                region=settings.region,
                account=settings.account_id,
                topics=settings.alarm_topics,
            ),
        )
        self.cloudwatch = CloudWatch(
            lambda: self.metrics.source, self.alarms, settings.region, settings.account_id
        )
        self.rebalancing = ClusterRebalancing(
            store,
            self.describe_cluster,
            self.updates,
            lambda: self.metrics.store if settings.metrics_interval > 0 else None,
            settings.reassignment_throttle,
        )
        self.secrets = Secrets(
            SecretRecords(store.engine),
            settings.region,
            settings.account_id,
            master_key=lambda: master_key or MasterKey.load_or_create(settings.home),
        )
        self.scram = ClusterScramSecrets(store, self.secrets, describe=self.describe_cluster)
        self.policies = ClusterPolicies(PolicyRecords(store.engine), self.describe_cluster)
        self.sign_in_refusals: SignInRefusals | None = None
        """Reads the brokers' refused IAM sign-ins through their agents; set by the server."""
        self.agent_authority = agent_authority or AgentAuthority(
            store.engine,
            master_key or MasterKey.load_or_create(settings.home),
            timedelta(seconds=settings.agent_certificate_lifetime),
        )
        self.host_joins = HostJoins(
            JoinTokenRecords(store.engine), self.agent_authority, self.hosts
        )
        self.resource_policies = ClusterResourcePolicies(
            ResourcePolicyRecords(store.engine), self.describe_cluster
        )
        self.iam = IdentityAccess(
            IamRecords(store.engine), store.access_keys, settings.account_id, settings.region
        )
        self.private_cas = PrivateCertificateAuthorities(
            CertificateAuthorityRecords(store.engine),
            settings.region,
            settings.account_id,
            master_key=lambda: master_key or MasterKey.load_or_create(settings.home),
        )

    # --- clusters -------------------------------------------------------------------------------
    def create_cluster(self, name: str, spec: ClusterSpec, tags: dict[str, str]) -> Cluster:
        """Validate and record a new cluster in CREATING with a CREATE operation."""
        group = place_client_subnets(spec.broker_node_group, self.settings.zones)
        spec = spec.replace(broker_node_group=group)
        spec = self.pin_release(spec)
        self._validate_spec(spec)
        if self.store.cluster_by_name(name) is not None:
            raise ConflictException(f"A cluster named {name} already exists.", "clusterName")
        encrypted = self.settings.encrypts_at_rest()
        if spec.data_volume_kms_key_id and not encrypted:
            raise BadRequestException(
                "This Steward does not encrypt data at rest (STEWARD_ENCRYPTION_AT_REST is off, "
                "or its hosts lack gocryptfs and FUSE); leave out encryptionAtRest.",
                "encryptionInfo",
            )
        arn = self.arns.cluster(name)
        cluster = Cluster(
            arn=arn,
            name=name,
            spec=spec.replace(encrypted_at_rest=encrypted),
            state=ClusterState.CREATING,
            creation_time=utcnow(),
            current_version=new_current_version(),
            kafka_cluster_id=_kafka_cluster_id(),
            tags=dict(tags),
        )
        operation = start_operation(
            self.arns.operation(arn),
            arn,
            OperationType.CREATE,
            target=mutable_info(spec),
            generation=cluster.generation,
        )
        cluster.active_operation_arn = operation.arn
        try:
            self.store.insert_cluster(cluster, operation, tags)
        except DuplicateError as error:
            raise ConflictException(
                f"A cluster named {name} already exists.", "clusterName"
            ) from error
        self._wake()
        return cluster

    def _validate_spec(self, spec: ClusterSpec) -> None:
        zones = spec.broker_node_group.zones
        known = [z.name for z in self.settings.zones]
        param = "brokerNodeGroupInfo.clientSubnets"
        if not zones:
            raise BadRequestException("Specify at least one client subnet.", param)
        if len(set(zones)) != len(zones):
            raise BadRequestException("Client subnets must be in different zones.", param)
        for zone in zones:
            if zone not in known:
                raise BadRequestException(
                    f"Client subnet {zone} is not a known availability zone; "
                    f"known zones: {', '.join(known)}.",
                    param,
                )
        count = spec.number_of_broker_nodes
        limit = self.settings.max_broker_nodes
        if not 1 <= count <= limit:
            raise BadRequestException(
                f"The number of broker nodes must be between 1 and {limit}.", "numberOfBrokerNodes"
            )
        if count % len(zones) != 0:
            raise BadRequestException(
                f"The number of broker nodes ({count}) must be a multiple of the number of "
                f"client subnets ({len(zones)}).",
                "numberOfBrokerNodes",
            )
        if spec.broker_node_group.instance_type not in INSTANCE_TYPES:
            raise BadRequestException(
                f"Instance type {spec.broker_node_group.instance_type} is not supported; "
                f"supported types: {', '.join(INSTANCE_TYPES)}.",
                "brokerNodeGroupInfo.instanceType",
            )
        self._validate_kafka_version(spec.kafka_version, "kafkaVersion")
        if spec.configuration is not None:
            config = self.store.get_configuration(spec.configuration.arn)
            if config is None:
                raise BadRequestException(
                    f"Configuration {spec.configuration.arn} does not exist.",
                    "configurationInfo.arn",
                )
            revisions = [r.revision for r in self.store.revisions(config.arn)]
            if spec.configuration.revision not in revisions:
                raise BadRequestException(
                    f"Configuration {config.name} has no revision {spec.configuration.revision}.",
                    "configurationInfo.revision",
                )
            if config.kafka_versions and not {
                spec.kafka_version,
                spec.release,
                line_name(line_of(spec.release)),
            } & set(config.kafka_versions):
                raise BadRequestException(
                    f"Configuration {config.name} is not for Kafka {spec.kafka_version}.",
                    "configurationInfo.arn",
                )
        if spec.open_monitoring.jmx_exporter and not jmx_exporter.is_installed():
            raise BadRequestException(
                "The Prometheus JMX exporter is not installed on this Steward; run "
                "`steward kafka install` first, or leave the JMX exporter disabled.",
                "openMonitoring",
            )
        self._validate_client_authentication(spec)

    def _validate_client_authentication(self, spec: ClusterSpec) -> None:
        auth = spec.client_authentication
        if not (auth.unauthenticated or auth.sasl_scram or auth.sasl_iam or auth.tls):
            raise BadRequestException(
                "A cluster needs at least one way in: enable unauthenticated access, SASL/SCRAM, "
                "IAM or TLS client authentication.",
                "clientAuthentication",
            )
        if auth.sasl_iam and spec.encryption_in_transit.client_broker not in TLS_ALLOWED:
            raise BadRequestException(
                "IAM client authentication needs TLS between clients and brokers: use "
                "clientBroker TLS or TLS_PLAINTEXT.",
                "encryptionInfo.encryptionInTransit.clientBroker",
            )
        if auth.sasl_scram and spec.encryption_in_transit.client_broker not in TLS_ALLOWED:
            raise BadRequestException(
                "SASL/SCRAM needs TLS between clients and brokers: use clientBroker TLS or "
                "TLS_PLAINTEXT.",
                "encryptionInfo.encryptionInTransit.clientBroker",
            )
        if auth.tls:
            if spec.encryption_in_transit.client_broker not in TLS_ALLOWED:
                raise BadRequestException(
                    "TLS client authentication needs TLS between clients and brokers: use "
                    "clientBroker TLS or TLS_PLAINTEXT.",
                    "encryptionInfo.encryptionInTransit.clientBroker",
                )
            if not auth.tls_certificate_authority_arns:
                raise BadRequestException(
                    "TLS client authentication needs at least one private certificate authority "
                    "in certificateAuthorityArnList.",
                    "clientAuthentication.tls.certificateAuthorityArnList",
                )
            self.private_cas.check_usable(auth.tls_certificate_authority_arns)

    def _validate_kafka_version(self, version: str, param: str) -> None:
        self.kafka_release(version, param)

    def describe_cluster(self, arn: str) -> Cluster:
        cluster = self.store.get_cluster(arn)
        if cluster is None:
            raise NotFoundException(f"Cluster {arn} does not exist.", "clusterArn")
        cluster.tags = self.store.tags(arn)
        return cluster

    def list_clusters(self, name_prefix: str | None = None) -> list[Cluster]:
        """Clusters ordered by creation time, filtered by name prefix."""
        clusters = [
            c
            for c in self.store.list_clusters()
            if not name_prefix or c.name.startswith(name_prefix)
        ]
        for cluster in clusters:
            cluster.tags = self.store.tags(cluster.arn)
        return clusters

    def delete_cluster(self, arn: str, current_version: str | None = None) -> Cluster:
        """Start deleting: state DELETING; once every node is stopped and purged it is gone."""
        cluster = self.describe_cluster(arn)
        if current_version is not None and current_version != cluster.current_version:
            raise BadRequestException(
                "The current version does not match the cluster's version.", "currentVersion"
            )
        if cluster.state is ClusterState.DELETING:
            return cluster
        for operation in self.store.operations(arn):
            if not operation.state.finished:
                fail(operation, "Superseded", "The cluster is being deleted.")
                self.store.save_operation(operation)
        delete = start_operation(
            self.arns.operation(arn), arn, OperationType.DELETE, generation=cluster.generation
        )
        cluster.state = ClusterState.DELETING
        cluster.state_info = None
        cluster.active_operation_arn = delete.arn
        cluster.current_version = new_current_version()
        self.store.start_operation(cluster, delete)
        self._wake()
        return cluster

    def bootstrap_brokers(self, arn: str) -> BootstrapBrokers:
        """Every broker's plaintext, TLS, SASL/SCRAM and IAM listeners, each where the cluster
        has it."""
        spec = self.describe_cluster(arn).spec
        protocols = client_protocols(spec.encryption_in_transit, spec.client_authentication)
        brokers = [n for n in self.store.nodes(arn) if n.role is NodeRole.BROKER]
        if not brokers:
            return BootstrapBrokers()
        return BootstrapBrokers(
            plaintext=client_bootstrap(brokers) if CLIENT in protocols else None,
            tls=tls_bootstrap(brokers) if CLIENT_TLS in protocols else None,
            sasl_scram=sasl_scram_bootstrap(brokers) if CLIENT_SASL_SCRAM in protocols else None,
            sasl_iam=sasl_iam_bootstrap(brokers) if CLIENT_SASL_IAM in protocols else None,
        )

    def iam_sign_in_refusals(self, arn: str) -> list[SignInRefusal]:
        """The IAM sign-ins the cluster's brokers refused, oldest first, each with its reason."""
        cluster = self.describe_cluster(arn)
        if not cluster.spec.client_authentication.sasl_iam:
            raise BadRequestException(
                f"Cluster {cluster.name} does not have IAM client authentication enabled.",
                "clusterArn",
            )
        if self.sign_in_refusals is None:
            return []
        return self.sign_in_refusals.read(arn)

    def ca_certificate(self, arn: str) -> str:
        """The cluster's CA certificate (PEM), which clients of its TLS listeners trust."""
        cluster = self.describe_cluster(arn)
        if not uses_tls(
            NodeRole.BROKER, cluster.spec.encryption_in_transit, cluster.spec.client_authentication
        ):
            raise BadRequestException(
                f"Cluster {cluster.name} has no TLS listeners (encryption in transit is off).",
                "clusterArn",
            )
        certificate = ca_certificate(self.store.engine, cluster.kafka_cluster_id)
        if certificate is None:
            raise BadRequestException(
                f"Cluster {cluster.name} has no CA certificate yet; it is made as its first "
                "nodes start.",
                "clusterArn",
            )
        return certificate

    def list_nodes(self, arn: str) -> list[Node]:
        """Brokers first (by node id), then controllers."""
        self.describe_cluster(arn)
        nodes = self.store.nodes(arn)
        return sorted(nodes, key=lambda n: (n.role is not NodeRole.BROKER, n.node_id))

    def storage_usage(self, arn: str) -> list[BrokerStorage]:
        """Each broker's volume and the bytes its log directories take (None for a broker Kafka
        cannot tell about right now): MSK's KafkaDataLogsDiskUsed, against the volume size."""
        cluster = self.describe_cluster(arn)
        brokers = [n for n in self.store.nodes(arn) if n.role is NodeRole.BROKER]
        bootstrap = steward_bootstrap(self.store, cluster, brokers)
        try:
            used = broker_disk_usage(bootstrap, timeout=10.0) if brokers else {}
        except KafkaAdminError:
            used = {}
        size = cluster.spec.broker_node_group.volume_size_gb
        return [BrokerStorage(b.node_id, size, used.get(b.node_id)) for b in brokers]

    def cluster_health(self, arn: str) -> ClusterHealth | None:
        """What the health monitor last saw of the cluster; None when it has not looked (it is
        off, or the cluster is not ACTIVE or HEALING)."""
        self.describe_cluster(arn)
        return self._health_reports(arn) if self._health_reports is not None else None

    # --- operations -----------------------------------------------------------------------------
    def list_operations(self, cluster_arn: str) -> list[Operation]:
        """Newest first."""
        self.describe_cluster(cluster_arn)
        return self.store.operations(cluster_arn)

    def describe_operation(self, operation_arn: str) -> Operation:
        operation = self.store.get_operation(operation_arn)
        if operation is None:
            raise NotFoundException(
                f"Cluster operation {operation_arn} does not exist.", "clusterOperationArn"
            )
        return operation

    # --- Kafka versions -------------------------------------------------------------------------
    def list_kafka_versions(self) -> list[KafkaVersionInfo]:
        """The releases Steward can install and MSK's names of their lines (`4.1.x.kraft`, the
        newest release of 4.1), ordered by version; a line name after its releases."""
        installed = {d.version for d in distribution.installed_distributions()}
        releases = sorted(set(distribution.RELEASED_KAFKA_VERSIONS) | installed, key=version_key)
        versions = sorted([*releases, *line_names(releases)], key=version_key)
        return [
            KafkaVersionInfo(
                v, distribution.version_status(v), release_for(v, releases) in installed
            )
            for v in versions
        ]

    def kafka_release(self, version: str, param: str = "kafkaVersion") -> str:
        """The release a cluster of `version` runs (MSK's line names map to the newest release
        of their line); MSK's BadRequestException, naming what Steward runs, for any other."""
        known = [v.version for v in self.list_kafka_versions()]
        release = release_for(version, known)
        if release is None:
            raise BadRequestException(
                f"{unsupported_version_reason(version)} Supported versions: {', '.join(known)}.",
                param,
            )
        return release

    def pin_release(self, spec: ClusterSpec, param: str = "kafkaVersion") -> ClusterSpec:
        """`spec` with the release its `kafka_version` maps to, pinned."""
        release = self.kafka_release(spec.kafka_version, param)
        return spec.replace(kafka_release=None if release == spec.kafka_version else release)

    # --- configurations -------------------------------------------------------------------------
    def _check_properties(self, server_properties: bytes) -> None:
        try:
            validate_server_properties(server_properties.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise BadRequestException(
                "Server properties must be UTF-8 text.", "serverProperties"
            ) from error
        except PropertiesError as error:
            raise BadRequestException(
                f"Invalid server properties: {error}", "serverProperties"
            ) from error

    def create_configuration(
        self,
        name: str,
        description: str | None,
        kafka_versions: list[str],
        server_properties: bytes,
    ) -> Configuration:
        for version in kafka_versions:
            self._validate_kafka_version(version, "kafkaVersions")
        self._check_properties(server_properties)
        now = utcnow()
        config = Configuration(
            arn=self.arns.configuration(name),
            name=name,
            description=description or "",
            kafka_versions=list(kafka_versions),
            creation_time=now,
            state=ConfigurationState.ACTIVE,
            latest_revision=ConfigurationRevision(1, now, server_properties, description),
        )
        try:
            self.store.insert_configuration(config)
        except DuplicateError as error:
            raise ConflictException(
                f"A configuration named {name} already exists.", "name"
            ) from error
        return config

    def _configuration(self, arn: str) -> Configuration:
        config = self.store.get_configuration(arn)
        if config is None:
            raise NotFoundException(f"Configuration {arn} does not exist.", "arn")
        return config

    def describe_configuration(self, arn: str) -> Configuration:
        return self._configuration(arn)

    def describe_configuration_revision(
        self, arn: str, revision: int
    ) -> tuple[Configuration, ConfigurationRevision]:
        config = self._configuration(arn)
        for candidate in self.store.revisions(arn):
            if candidate.revision == revision:
                return config, candidate
        raise NotFoundException(f"Configuration {arn} has no revision {revision}.", "revision")

    def list_configurations(self) -> list[Configuration]:
        return self.store.list_configurations()

    def list_configuration_revisions(self, arn: str) -> list[ConfigurationRevision]:
        self._configuration(arn)
        return self.store.revisions(arn)

    def update_configuration(
        self, arn: str, description: str | None, server_properties: bytes
    ) -> Configuration:
        config = self._configuration(arn)
        self._check_properties(server_properties)
        revision = ConfigurationRevision(
            config.latest_revision.revision + 1, utcnow(), server_properties, description
        )
        self.store.add_revision(arn, revision)
        return self._configuration(arn)

    def delete_configuration(self, arn: str) -> Configuration:
        config = self._configuration(arn)
        for cluster in self.store.list_clusters():
            ref = cluster.spec.configuration
            if ref is not None and ref.arn == arn:
                raise BadRequestException(
                    f"Configuration {config.name} is in use by cluster {cluster.name}.", "arn"
                )
        self.store.remove_configuration(arn)
        config.state = ConfigurationState.DELETING
        return config

    # --- tags -----------------------------------------------------------------------------------
    def _require_resource(self, arn: str) -> None:
        if self.store.get_cluster(arn) is None and self.store.get_configuration(arn) is None:
            raise NotFoundException(f"Resource {arn} does not exist.", "resourceArn")

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self._require_resource(arn)
        self.store.put_tags(arn, tags)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        self._require_resource(arn)
        self.store.remove_tags(arn, keys)

    def list_tags(self, arn: str) -> dict[str, str]:
        self._require_resource(arn)
        return self.store.tags(arn)


def _kafka_cluster_id() -> str:
    return random_kafka_uuid()
