"""Machines that join as hosts, over Steward's own routes: the join tokens (signed requests,
authorized as `kafka:CreateHostJoinToken` and `kafka:ListHostJoinTokens`), and the join itself,
`POST /steward/v1/host-joins`, which a joining machine sends with its token and no signature (it
has no access key: the token is its one credential), so its path is one of the open paths.
MSK's conventions: camelCase JSON, MSK's error shapes."""

from __future__ import annotations

from datetime import timedelta

from steward.agent.join import DEFAULT_AGENT_PORT, JOIN_PATH
from steward.api.msk.fields import Fields
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.host_joins import DEFAULT_TOKEN_LIFETIME, JoinRequest
from steward.control.service import ClusterService
from steward.domain.hosts import Capacity, Disk
from steward.store.join_tokens import JoinTokenRecord

router = Router()
"""The signed routes, beside MSK's."""

join_router = Router()
"""The open join route, served on its own (`JOIN_PATH`)."""


def _token_json(record: JoinTokenRecord) -> dict[str, object]:
    return {
        "tokenId": record.token_id,
        "zone": record.zone,
        "creationTime": record.creation_time.isoformat(),
        "expiresAt": record.expires_at.isoformat(),
        "usedAt": record.used_at.isoformat() if record.used_at else None,
        "usedBy": record.used_by,
    }


@router.add("CreateHostJoinToken", "POST", "/steward/v1/host-join-tokens")
def create_host_join_token(service: ClusterService, request: MskRequest) -> Body:
    """A single-use token a machine joins with (`steward agent join`); shown this once."""
    zone = request.body.string("zone", min_length=1)
    seconds = request.body.integer("expiresInSeconds", minimum=1)
    expires_in = DEFAULT_TOKEN_LIFETIME if seconds is None else timedelta(seconds=seconds)
    token, record = service.host_joins.create_token(zone, expires_in)
    return {"token": token, **_token_json(record)}


@router.add("ListHostJoinTokens", "GET", "/steward/v1/host-join-tokens")
def list_host_join_tokens(service: ClusterService, request: MskRequest) -> Body:
    """Every join token, used or not (never the token itself: only its hash is kept)."""
    return {"joinTokens": [_token_json(r) for r in service.host_joins.list_tokens()]}


def _capacity(fields: Fields) -> Capacity:
    disks = fields.objects("disks") or []
    cores = fields.number("cores", required=True)
    assert cores is not None
    return Capacity(
        cores=cores,
        memory_bytes=fields.required_integer("memoryBytes", minimum=1),
        disks=tuple(
            Disk(
                d.required_string("path", min_length=1), d.required_integer("sizeBytes", minimum=0)
            )
            for d in disks
        ),
    )


@join_router.add("JoinHost", "POST", JOIN_PATH)
def join_host(service: ClusterService, request: MskRequest) -> Body:
    """A machine joins: its token, name, zone, address, capacity and CSR; its certificate, the
    agents CA and the control plane's client certificate fingerprint back."""
    body = request.body
    capacity = body.object("capacity", required=True)
    assert capacity is not None
    answer = service.host_joins.join(
        JoinRequest(
            token=body.required_string("token", min_length=1),
            name=body.required_string("name", min_length=1),
            zone=body.required_string("zone", min_length=1),
            address=body.required_string("address", min_length=1),
            agent_port=body.integer("agentPort", minimum=1, maximum=65535) or DEFAULT_AGENT_PORT,
            capacity=_capacity(capacity),
            csr_pem=body.required_string("csr", min_length=1),
            node_addresses=tuple(body.strings("nodeAddresses") or ()),
        )
    )
    host = answer.host
    return {
        "host": {
            "name": host.name,
            "zone": host.zone,
            "agentAddress": host.agent_address,
            "nodeAddresses": list(host.node_addresses),
            "state": host.state.value,
            "capacity": {
                "cores": host.capacity.cores,
                "memoryBytes": host.capacity.memory_bytes,
                "disks": [{"path": d.path, "sizeBytes": d.bytes} for d in host.capacity.disks],
            },
        },
        "certificate": answer.certificate_pem,
        "caCertificate": answer.ca_certificate_pem,
        "clientCertificateAuthority": answer.ca_certificate_pem,
        "controlPlaneFingerprint": answer.control_plane_fingerprint,
    }
