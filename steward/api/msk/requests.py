"""MSK request shapes read into domain objects (the create-cluster body, v1 and v2)."""

from __future__ import annotations

from typing import Any

from steward.api.msk.fields import Fields
from steward.api.msk.logging_info import logging_info as checked_logging_info
from steward.domain.errors import BadRequestException
from steward.domain.model import (
    BrokerNodeGroup,
    ClientAuthentication,
    ClientBroker,
    ClusterSpec,
    ConfigurationRef,
    EncryptionInTransit,
    EnhancedMonitoring,
    OpenMonitoring,
)
from steward.kafka.instance_types import is_express

DEFAULT_VOLUME_SIZE_GB = 1000
"""MSK's default EBS volume per broker when `storageInfo` is left out."""

STORAGE_MODES = ("LOCAL", "TIERED")
BROKER_AZ_DISTRIBUTIONS = ("DEFAULT",)
PUBLIC_ACCESS_TYPES = ("DISABLED", "SERVICE_PROVIDED_EIPS")
NETWORK_TYPES = ("IPV4", "DUAL")
REBALANCING_STATUSES = ("PAUSED", "ACTIVE")


def cluster_spec(body: Fields) -> ClusterSpec:
    """A provisioned cluster's desired state from MSK's `CreateCluster` body, or the `provisioned`
    member of `CreateClusterV2` (which has the same members)."""
    kafka_version = body.required_string("kafkaVersion", min_length=1, max_length=128)
    brokers = body.required_integer("numberOfBrokerNodes")
    group = body.object("brokerNodeGroupInfo", required=True)
    assert group is not None
    storage_mode = local_storage_mode(body) or "LOCAL"
    monitoring = body.choice("enhancedMonitoring", EnhancedMonitoring)
    rebalancing = body.object("rebalancing")
    if rebalancing is not None:
        rebalancing.choice("status", REBALANCING_STATUSES)
    logging_info = checked_logging_info(body.object("loggingInfo"))
    return ClusterSpec(
        kafka_version=kafka_version,
        number_of_broker_nodes=brokers,
        broker_node_group=broker_node_group(group),
        configuration=configuration_ref(body.object("configurationInfo")),
        encryption_in_transit=encryption_in_transit(body.object("encryptionInfo")),
        data_volume_kms_key_id=data_volume_key(body.object("encryptionInfo")),
        client_authentication=client_authentication(body.object("clientAuthentication")),
        enhanced_monitoring=EnhancedMonitoring(monitoring or EnhancedMonitoring.DEFAULT),
        open_monitoring=open_monitoring(body.object("openMonitoring")),
        logging_info=logging_info,
        storage_mode=storage_mode,
    )


def local_storage_mode(body: Fields) -> str | None:
    """`storageMode` as given (LOCAL), or None; TIERED is refused."""
    storage_mode = body.choice("storageMode", STORAGE_MODES)
    if storage_mode not in (None, "LOCAL"):
        raise BadRequestException(
            "Tiered storage is not available; use storageMode LOCAL.", body.name("storageMode")
        )
    return storage_mode


def broker_node_group(group: Fields) -> BrokerNodeGroup:
    """The broker group as asked for: its `clientSubnets` as given (zone names or subnet ids);
    the use case places them in zones (`steward.control.client_subnets`)."""
    instance_type = group.required_string("instanceType", min_length=5, max_length=64)
    subnets = group.strings("clientSubnets", required=True)
    assert subnets is not None
    group.choice("brokerAZDistribution", BROKER_AZ_DISTRIBUTIONS)
    volume = DEFAULT_VOLUME_SIZE_GB
    storage = group.object("storageInfo")
    if storage is not None and is_express(instance_type):
        raise BadRequestException(
            "Express brokers have no EBS storage to set: leave storageInfo out. Their storage "
            "is managed (Steward grows each broker's volume as it fills).",
            group.name("storageInfo"),
        )
    ebs = storage.object("ebsStorageInfo") if storage is not None else None
    if ebs is not None:
        volume = ebs.integer("volumeSize", minimum=1, maximum=16384) or volume
    connectivity = group.object("connectivityInfo")
    if connectivity is not None:
        check_connectivity(connectivity)
    return BrokerNodeGroup(
        instance_type=instance_type,
        zones=(),
        volume_size_gb=volume,
        security_groups=tuple(group.strings("securityGroups") or ()),
        client_subnets=tuple(subnets),
    )


def check_connectivity(connectivity: Fields) -> None:
    """`connectivityInfo` of a new cluster: brokers are reached on the zones' own addresses, over
    IPv4 (no public access, no dual stack)."""
    public = connectivity.object("publicAccess")
    if public is not None and public.choice("type", PUBLIC_ACCESS_TYPES) not in (None, "DISABLED"):
        raise BadRequestException(
            "Public access is not available; use publicAccess type DISABLED.",
            public.name("type"),
        )
    if connectivity.choice("networkType", NETWORK_TYPES) not in (None, "IPV4"):
        raise BadRequestException(
            "Dual-stack (IPv6) networking is not available; use networkType IPV4.",
            connectivity.name("networkType"),
        )


def configuration_ref(info: Fields | None) -> ConfigurationRef | None:
    if info is None:
        return None
    arn = info.required_string("arn", min_length=1)
    revision = info.required_integer("revision", minimum=1)
    return ConfigurationRef(arn, revision)


def encryption_in_transit(info: Fields | None) -> EncryptionInTransit:
    """MSK's defaults for what is left out: TLS only between clients and brokers, and TLS
    between the brokers (and, in Steward, to the KRaft controllers)."""
    transit = info.object("encryptionInTransit") if info is not None else None
    if transit is None:
        return EncryptionInTransit(ClientBroker.TLS, in_cluster=True)
    client_broker = transit.choice("clientBroker", ClientBroker)
    in_cluster = transit.boolean("inCluster")
    return EncryptionInTransit(
        client_broker=ClientBroker(client_broker or ClientBroker.TLS),
        in_cluster=True if in_cluster is None else in_cluster,
    )


def data_volume_key(info: Fields | None) -> str | None:
    at_rest = info.object("encryptionAtRest") if info is not None else None
    if at_rest is None:
        return None
    return at_rest.required_string("dataVolumeKMSKeyId", min_length=1)


def _enabled(parent: Fields | None, member: str) -> bool | None:
    flag = parent.object(member) if parent is not None else None
    return flag.boolean("enabled") if flag is not None else None


def client_authentication(info: Fields | None) -> ClientAuthentication:
    if info is None:
        return ClientAuthentication()
    sasl = info.object("sasl")
    scram = bool(_enabled(sasl, "scram"))
    iam = bool(_enabled(sasl, "iam"))
    tls_info = info.object("tls")
    tls = bool(tls_info.boolean("enabled")) if tls_info is not None else False
    authorities = tls_info.strings("certificateAuthorityArnList") if tls_info else None
    if authorities and tls_info is not None and not tls_info.has("enabled"):
        tls = True
    unauthenticated = _enabled(info, "unauthenticated")
    if unauthenticated is None:
        # MSK: naming any other mechanism without `unauthenticated` turns anonymous access off.
        unauthenticated = not (scram or iam or tls)
    return ClientAuthentication(
        unauthenticated=unauthenticated,
        sasl_scram=scram,
        sasl_iam=iam,
        tls=tls,
        tls_certificate_authority_arns=tuple(authorities or ()),
    )


def client_authentication_changes(info: Fields | None) -> dict[str, Any]:
    """UpdateSecurity's `clientAuthentication`: the members it names, as `ClientAuthentication`
    fields; what it leaves out stays as it is."""
    if info is None:
        return {}
    changes: dict[str, Any] = {}
    sasl = info.object("sasl")
    for member, name in (("scram", "sasl_scram"), ("iam", "sasl_iam")):
        enabled = _enabled(sasl, member)
        if enabled is not None:
            changes[name] = enabled
    tls_info = info.object("tls")
    if tls_info is not None:
        authorities = tls_info.strings("certificateAuthorityArnList")
        enabled = tls_info.boolean("enabled")
        if authorities is not None:
            changes["tls_certificate_authority_arns"] = tuple(authorities)
        if enabled is not None or authorities:
            changes["tls"] = bool(authorities) if enabled is None else enabled
    unauthenticated = _enabled(info, "unauthenticated")
    if unauthenticated is not None:
        changes["unauthenticated"] = unauthenticated
    return changes


def open_monitoring(info: Fields | None) -> OpenMonitoring:
    prometheus = info.object("prometheus", required=True) if info is not None else None
    if prometheus is None:
        return OpenMonitoring()

    def exporter(member: str) -> bool:
        found = prometheus.object(member)
        return bool(found.boolean("enabledInBroker", required=True)) if found else False

    return OpenMonitoring(
        jmx_exporter=exporter("jmxExporter"), node_exporter=exporter("nodeExporter")
    )
