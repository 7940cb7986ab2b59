"""A new cluster's `ClientSubnets` placed in Steward's zones. A client subnet is a zone's name
(`az-a`) or a subnet id the operator gave the zone in STEWARD_ZONES (`subnet-0a1b...`), as a
Terraform, CloudFormation or CDK user passes them. The brokers are spread over the zones the
subnets are in, one zone per subnet, as MSK spreads them over the subnets' Availability Zones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from steward.domain.errors import BadRequestException
from steward.domain.model import BrokerNodeGroup
from steward.settings import Zone

CLIENT_SUBNETS = "brokerNodeGroupInfo.clientSubnets"


def place_client_subnets(group: BrokerNodeGroup, zones: Sequence[Zone]) -> BrokerNodeGroup:
    """`group` with the zone of each of its client subnets, the subnets kept as given. An
    unknown subnet, or two subnets in one zone, is MSK's BadRequestException."""
    given = group.client_subnets or group.zones
    if not given:
        raise BadRequestException("Specify at least one client subnet.", CLIENT_SUBNETS)
    zone_of = {zone.name: zone.name for zone in zones}
    zone_of |= {subnet: zone.name for zone in zones for subnet in zone.subnets}
    placed: list[str] = []
    for subnet in given:
        zone = zone_of.get(subnet)
        if zone is None:
            raise BadRequestException(_unknown(subnet, zones), CLIENT_SUBNETS)
        if zone in placed:
            other = given[placed.index(zone)]
            raise BadRequestException(
                "The number of Availability Zones in the BrokerAZDistribution parameter must be "
                f"equal to the number of client subnets: {other} and {subnet} are both in "
                f"{zone}.",
                CLIENT_SUBNETS,
            )
        placed.append(zone)
    return replace(group, zones=tuple(placed), client_subnets=tuple(given))


def _unknown(subnet: str, zones: Sequence[Zone]) -> str:
    names = ", ".join(zone.name for zone in zones)
    subnets = ", ".join(s for zone in zones for s in zone.subnets)
    known = f"a zone ({names})" + (f" or a subnet of one ({subnets})" if subnets else "")
    return f"The subnet {subnet} does not exist; specify {known}."
