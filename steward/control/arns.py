"""MSK-shaped ARNs for Steward's resources."""

from __future__ import annotations

import re
import secrets
import string
import uuid
from dataclasses import dataclass

_CLUSTER = re.compile(r"^arn:aws:kafka:([^:]+):([^:]+):cluster/([^/]+)/([0-9a-f-]+)$")


@dataclass(frozen=True)
class ArnFactory:
    region: str
    account_id: str

    @property
    def prefix(self) -> str:
        return f"arn:aws:kafka:{self.region}:{self.account_id}"

    def cluster(self, name: str) -> str:
        return f"{self.prefix}:cluster/{name}/{uuid.uuid4()}-1"

    def operation(self, cluster_arn: str) -> str:
        name, cluster_id = cluster_parts(cluster_arn)
        return f"{self.prefix}:cluster-operation/{name}/{cluster_id}/{uuid.uuid4()}"

    def topic(self, cluster_arn: str, topic_name: str) -> str:
        """`...:topic/<cluster name>/<cluster uuid>/<topic name>`, the uuid as in the cluster's
        ARN (MSK's IAM policies name topics this way)."""
        name, cluster_id = cluster_parts(cluster_arn)
        return f"{self.prefix}:topic/{name}/{cluster_id}/{topic_name}"

    def configuration(self, name: str) -> str:
        return f"{self.prefix}:configuration/{name}/{uuid.uuid4()}-1"


def cluster_parts(cluster_arn: str) -> tuple[str, str]:
    """(cluster name, cluster uuid with its suffix) of a cluster ARN."""
    match = _CLUSTER.match(cluster_arn)
    if match is None:
        raise ValueError(f"not a cluster ARN: {cluster_arn}")
    return match.group(3), match.group(4)


def new_current_version() -> str:
    """An opaque cluster version like MSK's `K3AEGXETSR30VB`; changes on every update."""
    alphabet = string.ascii_uppercase + string.digits
    return "K" + "".join(secrets.choice(alphabet) for _ in range(13))
