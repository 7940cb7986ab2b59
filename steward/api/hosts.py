"""Steward's routes of the host registry (`steward host`): list, describe, register, drain,
activate and remove the hosts nodes are placed on. Same conventions as the MSK routes:
camelCase JSON, MSK's error shapes; each is the IAM action `kafka:<Operation>` on `*`."""

from __future__ import annotations

from typing import Any

from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.host_registry import HostUsage, host_usage
from steward.control.placement import reservation
from steward.control.service import ClusterService
from steward.domain.hosts import Capacity, Disk, HostRecord, Resources

router = Router()


def _resources(amount: Resources) -> dict[str, Any]:
    return {
        "cores": round(amount.cores, 4),
        "memoryBytes": amount.memory_bytes,
        "diskBytes": amount.disk_bytes,
    }


def host_json(record: HostRecord, usage: HostUsage | None) -> dict[str, Any]:
    capacity = record.capacity
    used = usage or HostUsage((), Resources(), 0)
    return {
        "hostName": record.name,
        "zone": record.zone,
        "agentAddress": record.agent_address,
        "nodeAddresses": list(record.node_addresses),
        "state": record.state.value,
        "origin": record.origin.value,
        "labels": dict(record.labels),
        "capacity": {
            "cores": capacity.cores,
            "memoryBytes": capacity.memory_bytes,
            "disks": [{"path": d.path, "bytes": d.bytes} for d in capacity.disks],
        },
        "reserved": _resources(used.reserved),
        "free": _resources(capacity.resources - used.reserved),
        "volumeBytes": used.volume_bytes,
        "nodes": list(used.nodes),
        "registeredAt": record.registered_at.isoformat() if record.registered_at else None,
        "lastSeen": record.last_seen.isoformat() if record.last_seen else None,
    }


def _described(service: ClusterService, record: HostRecord) -> Body:
    return host_json(record, host_usage(service.store, reservation).get(record.name))


@router.add("ListHosts", "GET", "/steward/v1/hosts")
def list_hosts(service: ClusterService, request: MskRequest) -> Body:
    usage = host_usage(service.store, reservation)
    return {"hosts": [host_json(r, usage.get(r.name)) for r in service.hosts.list()]}


@router.add("DescribeHost", "GET", "/steward/v1/hosts/{hostName}")
def describe_host(service: ClusterService, request: MskRequest) -> Body:
    return _described(service, service.hosts.get(request.param("hostName")))


@router.add("RegisterHost", "POST", "/steward/v1/hosts")
def register_host(service: ClusterService, request: MskRequest) -> Body:
    """A host whose agent runs on another machine (what `steward agent join` does once its
    token is checked), or a new registration of one: its address and capacity are updated."""
    body = request.body
    capacity = body.object("capacity", required=True)
    assert capacity is not None
    disks = capacity.objects("disks") or []
    cores = capacity.number("cores", required=True)
    record = service.hosts.register(
        body.required_string("hostName"),
        body.required_string("zone"),
        body.required_string("agentAddress"),
        Capacity(
            float(cores or 0),
            capacity.required_integer("memoryBytes"),
            tuple(Disk(d.required_string("path"), d.required_integer("bytes")) for d in disks),
        ),
        body.strings("nodeAddresses") or [],
        body.string_map("labels") or {},
    )
    return _described(service, record)


@router.add("DrainHost", "POST", "/steward/v1/hosts/{hostName}/drain")
def drain_host(service: ClusterService, request: MskRequest) -> Body:
    """The host takes no new node; its brokers move to other hosts of its zone, one at a time
    (a HEAL operation each)."""
    record = service.hosts.drain(request.param("hostName"))
    return _described(service, record)


@router.add("ActivateHost", "POST", "/steward/v1/hosts/{hostName}/activate")
def activate_host(service: ClusterService, request: MskRequest) -> Body:
    """A drained host takes new nodes again (brokers that moved away stay where they are)."""
    return _described(service, service.hosts.activate(request.param("hostName")))


@router.add("RemoveHost", "DELETE", "/steward/v1/hosts/{hostName}")
def remove_host(service: ClusterService, request: MskRequest) -> Body:
    """Forget the host; refused (ConflictException) while nodes are placed on it."""
    record = service.hosts.remove(request.param("hostName"))
    return {"hostName": record.name, "state": record.state.value}
