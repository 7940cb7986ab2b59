"""Each cluster's data key for encryption at rest: 32 random bytes made with the cluster's first
encrypted node, kept in the store sealed by the master key, and handed to agents with the specs of
the cluster's nodes (never shown by the API, never logged). One key per cluster, so one cluster's
key opens nothing of another's."""

from __future__ import annotations

import base64
import secrets
import threading

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.crypto.master_key import MasterKey
from steward.domain.model import utcnow
from steward.store import schema


class DataKeys:
    def __init__(self, engine: Engine, master_key: MasterKey) -> None:
        self.engine = engine
        self.master_key = master_key
        self._lock = threading.Lock()

    def key_for(self, kafka_cluster_id: str) -> str:
        """The cluster's data key (made on first use), as gocryptfs takes it: base64 text."""
        context = f"data-key/{kafka_cluster_id}"
        with self._lock:
            sealed = self._sealed(kafka_cluster_id)
            if sealed is None:
                made = self.master_key.seal(secrets.token_bytes(32), context)
                try:
                    with self.engine.begin() as conn:
                        conn.execute(
                            insert(schema.data_keys).values(
                                kafka_cluster_id=kafka_cluster_id,
                                sealed_key=made,
                                creation_time=utcnow(),
                            )
                        )
                except IntegrityError:  # another process made it first: theirs is the key
                    pass
                sealed = self._sealed(kafka_cluster_id)
                assert sealed is not None
        return base64.b64encode(self.master_key.open(sealed, context)).decode()

    def _sealed(self, kafka_cluster_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.data_keys.c.sealed_key).where(
                    schema.data_keys.c.kafka_cluster_id == kafka_cluster_id
                )
            ).first()
        return None if row is None else bytes(row[0])
