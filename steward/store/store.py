"""Repositories over the store: SQLite (WAL) by default, PostgreSQL for a control plane of
several hosts (STEWARD_DATABASE_URL, e.g. `postgresql+psycopg://steward@db/steward`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.crypto.master_key import MasterKey
from steward.domain.model import (
    Cluster,
    ClusterState,
    Configuration,
    ConfigurationRevision,
    ConfigurationState,
    Node,
    NodeRole,
    Operation,
    OperationState,
    OperationType,
    StateInfo,
)
from steward.store import schema
from steward.store.access_keys import AccessKeys, adopt_keys_without_user
from steward.store.alarms import Alarms
from steward.store.codec import (
    aware,
    spec_from_json,
    spec_to_json,
    status_from_json,
    status_to_json,
    steps_from_json,
    steps_to_json,
)
from steward.store.migrations import upgrade_store


class DuplicateError(Exception):
    """A unique name or key is already taken."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def postgresql_driver(url: str) -> str:
    """A PostgreSQL URL with the driver Steward installs (psycopg 3) when it names none:
    `postgresql://...` as PostgreSQL's own tools write it works as STEWARD_DATABASE_URL."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def open_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(postgresql_driver(url), pool_pre_ping=True)
    upgrade_store(engine)
    adopt_keys_without_user(engine)
    return engine


def _cluster(row: Any) -> Cluster:
    info = row.state_info
    return Cluster(
        arn=row.arn,
        name=row.name,
        spec=spec_from_json(row.spec),
        state=ClusterState(row.state),
        creation_time=aware(row.creation_time),  # type: ignore[arg-type]
        current_version=row.current_version,
        kafka_cluster_id=row.kafka_cluster_id,
        state_info=StateInfo(info["code"], info["message"]) if info else None,
        active_operation_arn=row.active_operation_arn,
        cluster_type=row.cluster_type,
        generation=row.generation,
        status=status_from_json(row.status),
    )


def _cluster_values(cluster: Cluster) -> dict[str, Any]:
    info = cluster.state_info
    return {
        "arn": cluster.arn,
        "name": cluster.name,
        "spec": spec_to_json(cluster.spec),
        "state": cluster.state.value,
        "state_info": {"code": info.code, "message": info.message} if info else None,
        "creation_time": cluster.creation_time,
        "current_version": cluster.current_version,
        "kafka_cluster_id": cluster.kafka_cluster_id,
        "active_operation_arn": cluster.active_operation_arn,
        "cluster_type": cluster.cluster_type,
        "generation": cluster.generation,
        "status": status_to_json(cluster.status),
    }


def _node(row: Any) -> Node:
    return Node(
        cluster_arn=row.cluster_arn,
        node_id=row.node_id,
        role=NodeRole(row.role),
        zone=row.zone,
        host=row.host,
        agent=row.agent,
        ports=dict(row.ports),
        directory_id=row.directory_id,
        added_time=aware(row.added_time),  # type: ignore[arg-type]
        kafka_version=row.kafka_version,
        instance_type=row.instance_type,
    )


def _node_values(node: Node) -> dict[str, Any]:
    return {
        "cluster_arn": node.cluster_arn,
        "node_id": node.node_id,
        "role": node.role.value,
        "zone": node.zone,
        "host": node.host,
        "agent": node.agent,
        "ports": node.ports,
        "directory_id": node.directory_id,
        "added_time": node.added_time,
        "kafka_version": node.kafka_version,
        "instance_type": node.instance_type,
    }


def _operation(row: Any) -> Operation:
    return Operation(
        arn=row.arn,
        cluster_arn=row.cluster_arn,
        type=OperationType(row.type),
        state=OperationState(row.state),
        steps=steps_from_json(row.steps),
        creation_time=aware(row.creation_time),  # type: ignore[arg-type]
        end_time=aware(row.end_time),
        source=row.source,
        target=row.target,
        error_code=row.error_code,
        error_message=row.error_message,
        progress=dict(row.progress),
        generation=row.generation,
    )


def _operation_values(op: Operation) -> dict[str, Any]:
    return {
        "arn": op.arn,
        "cluster_arn": op.cluster_arn,
        "type": op.type.value,
        "state": op.state.value,
        "steps": steps_to_json(op.steps),
        "creation_time": op.creation_time,
        "end_time": op.end_time,
        "source": op.source,
        "target": op.target,
        "error_code": op.error_code,
        "error_message": op.error_message,
        "progress": op.progress,
        "generation": op.generation,
    }


class Store:
    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        self.master_key: MasterKey | None = None
        """Opens what the store keeps sealed (keys, secrets); set by whoever holds the key."""
        self.access_keys = AccessKeys(self.engine)
        self.alarms = Alarms(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # --- clusters -------------------------------------------------------------------------------
    def insert_cluster(self, cluster: Cluster, operation: Operation, tags: dict[str, str]) -> None:
        try:
            with self.transaction() as conn:
                conn.execute(insert(schema.clusters).values(**_cluster_values(cluster)))
                conn.execute(insert(schema.operations).values(**_operation_values(operation)))
                self._put_tags(conn, cluster.arn, tags)
        except IntegrityError as error:
            raise DuplicateError(cluster.name) from error

    def get_cluster(self, arn: str) -> Cluster | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.clusters).where(schema.clusters.c.arn == arn)).first()
        return _cluster(row) if row else None

    def cluster_by_name(self, name: str) -> Cluster | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.clusters).where(schema.clusters.c.name == name)
            ).first()
        return _cluster(row) if row else None

    def list_clusters(self) -> list[Cluster]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.clusters).order_by(
                    schema.clusters.c.creation_time, schema.clusters.c.name
                )
            ).all()
        return [_cluster(r) for r in rows]

    def save_cluster(self, cluster: Cluster, conn: Connection | None = None) -> None:
        values = _cluster_values(cluster)
        statement = (
            update(schema.clusters).where(schema.clusters.c.arn == cluster.arn).values(**values)
        )
        if conn is not None:
            conn.execute(statement)
            return
        with self.transaction() as tx:
            tx.execute(statement)

    def start_operation(self, cluster: Cluster, operation: Operation) -> None:
        """Record a new operation and the cluster state it puts the cluster in, atomically."""
        with self.transaction() as conn:
            conn.execute(insert(schema.operations).values(**_operation_values(operation)))
            self.save_cluster(cluster, conn)

    def begin_update(self, cluster: Cluster, operation: Operation, expected_version: str) -> bool:
        """Record an update operation and the cluster's new state, only if the stored cluster is
        still ACTIVE at `expected_version` with no operation running (False otherwise, saving
        nothing): two racing updates cannot both start."""
        return self._begin(cluster, operation, expected_version)

    def begin_healing(self, cluster: Cluster, operation: Operation) -> bool:
        """Record a repair and the cluster's HEALING state, only if the stored cluster is still
        ACTIVE with no operation running (False otherwise, saving nothing)."""
        return self._begin(cluster, operation, None)

    def _begin(self, cluster: Cluster, operation: Operation, expected_version: str | None) -> bool:
        clusters = schema.clusters.c
        idle = (
            (clusters.arn == cluster.arn)
            & (clusters.state == ClusterState.ACTIVE.value)
            & clusters.active_operation_arn.is_(None)
        )
        if expected_version is not None:
            idle = idle & (clusters.current_version == expected_version)
        with self.transaction() as conn:
            result = conn.execute(
                update(schema.clusters).where(idle).values(**_cluster_values(cluster))
            )
            if result.rowcount == 0:
                return False
            conn.execute(insert(schema.operations).values(**_operation_values(operation)))
        return True

    def remove_cluster(self, arn: str) -> None:
        """Forget a deleted cluster and everything that belongs to it."""
        with self.transaction() as conn:
            conn.execute(delete(schema.nodes).where(schema.nodes.c.cluster_arn == arn))
            conn.execute(delete(schema.operations).where(schema.operations.c.cluster_arn == arn))
            conn.execute(delete(schema.tags).where(schema.tags.c.resource_arn == arn))
            conn.execute(
                delete(schema.resource_policies).where(
                    schema.resource_policies.c.cluster_arn == arn
                )
            )
            conn.execute(delete(schema.rebalancing).where(schema.rebalancing.c.cluster_arn == arn))
            conn.execute(delete(schema.clusters).where(schema.clusters.c.arn == arn))

    # --- nodes ----------------------------------------------------------------------------------
    def nodes(self, cluster_arn: str) -> list[Node]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.nodes)
                .where(schema.nodes.c.cluster_arn == cluster_arn)
                .order_by(schema.nodes.c.node_id)
            ).all()
        return [_node(r) for r in rows]

    def all_nodes(self) -> list[Node]:
        """Every node of every cluster."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.nodes).order_by(schema.nodes.c.cluster_arn, schema.nodes.c.node_id)
            ).all()
        return [_node(r) for r in rows]

    def used_hosts(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(schema.nodes.c.host)).scalars())

    def nodes_per_agent(self) -> dict[str, int]:
        """How many nodes (of every cluster) each agent runs, by agent name."""
        agent = schema.nodes.c.agent
        with self.engine.connect() as conn:
            rows = conn.execute(select(agent, func.count()).group_by(agent))
            return {str(name): int(count) for name, count in rows}

    def add_nodes(self, nodes: list[Node]) -> None:
        if not nodes:
            return
        try:
            with self.transaction() as conn:
                conn.execute(insert(schema.nodes), [_node_values(n) for n in nodes])
        except IntegrityError as error:
            raise DuplicateError("node address already in use") from error

    def update_nodes(self, cluster_arn: str, node_ids: Iterable[int], **values: str) -> None:
        """Set `values` (e.g. instance_type, kafka_version) on some of a cluster's nodes."""
        nodes = schema.nodes.c
        with self.transaction() as conn:
            conn.execute(
                update(schema.nodes)
                .where((nodes.cluster_arn == cluster_arn) & nodes.node_id.in_(list(node_ids)))
                .values(**values)
            )

    def remove_node(self, cluster_arn: str, node_id: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                delete(schema.nodes).where(
                    (schema.nodes.c.cluster_arn == cluster_arn)
                    & (schema.nodes.c.node_id == node_id)
                )
            )

    # --- operations -----------------------------------------------------------------------------
    def get_operation(self, arn: str) -> Operation | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.operations).where(schema.operations.c.arn == arn)
            ).first()
        return _operation(row) if row else None

    def operations(self, cluster_arn: str) -> list[Operation]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.operations)
                .where(schema.operations.c.cluster_arn == cluster_arn)
                .order_by(schema.operations.c.creation_time.desc())
            ).all()
        return [_operation(r) for r in rows]

    def unfinished_operations(self) -> list[Operation]:
        done = (OperationState.UPDATE_COMPLETE.value, OperationState.UPDATE_FAILED.value)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.operations)
                .where(schema.operations.c.state.not_in(done))
                .order_by(schema.operations.c.creation_time)
            ).all()
        return [_operation(r) for r in rows]

    def save_operation(self, op: Operation, cluster: Cluster | None = None) -> bool:
        """Save progress of an unfinished operation (and its cluster) atomically. Returns False,
        saving nothing, when the stored operation has finished meanwhile (it was superseded)."""
        done = (OperationState.UPDATE_COMPLETE.value, OperationState.UPDATE_FAILED.value)
        with self.transaction() as conn:
            result = conn.execute(
                update(schema.operations)
                .where((schema.operations.c.arn == op.arn) & schema.operations.c.state.not_in(done))
                .values(**_operation_values(op))
            )
            if result.rowcount == 0:
                return False
            if cluster is not None:
                self.save_cluster(cluster, conn)
        return True

    def replace_operation(self, failed: Operation, cluster: Cluster, follow_up: Operation) -> bool:
        """Save the end of `failed`, the cluster, and the operation that follows it (a rollback)
        atomically; False, saving nothing, when `failed` had finished meanwhile."""
        done = (OperationState.UPDATE_COMPLETE.value, OperationState.UPDATE_FAILED.value)
        ops = schema.operations
        with self.transaction() as conn:
            result = conn.execute(
                update(ops)
                .where((ops.c.arn == failed.arn) & ops.c.state.not_in(done))
                .values(**_operation_values(failed))
            )
            if result.rowcount == 0:
                return False
            conn.execute(insert(ops).values(**_operation_values(follow_up)))
            self.save_cluster(cluster, conn)
        return True

    # --- configurations -------------------------------------------------------------------------
    def insert_configuration(self, config: Configuration) -> None:
        try:
            with self.transaction() as conn:
                conn.execute(
                    insert(schema.configurations).values(
                        arn=config.arn,
                        name=config.name,
                        description=config.description,
                        kafka_versions=config.kafka_versions,
                        creation_time=config.creation_time,
                        state=config.state.value,
                    )
                )
                self._insert_revision(conn, config.arn, config.latest_revision)
        except IntegrityError as error:
            raise DuplicateError(config.name) from error

    @staticmethod
    def _insert_revision(conn: Connection, arn: str, revision: ConfigurationRevision) -> None:
        conn.execute(
            insert(schema.configuration_revisions).values(
                configuration_arn=arn,
                revision=revision.revision,
                creation_time=revision.creation_time,
                description=revision.description,
                server_properties=revision.server_properties,
            )
        )

    def add_revision(self, arn: str, revision: ConfigurationRevision) -> None:
        with self.transaction() as conn:
            self._insert_revision(conn, arn, revision)

    def _revisions(self, conn: Connection, arn: str) -> list[ConfigurationRevision]:
        rows = conn.execute(
            select(schema.configuration_revisions)
            .where(schema.configuration_revisions.c.configuration_arn == arn)
            .order_by(schema.configuration_revisions.c.revision)
        ).all()
        return [
            ConfigurationRevision(
                revision=r.revision,
                creation_time=aware(r.creation_time),  # type: ignore[arg-type]
                server_properties=r.server_properties,
                description=r.description,
            )
            for r in rows
        ]

    def revisions(self, arn: str) -> list[ConfigurationRevision]:
        with self.engine.connect() as conn:
            return self._revisions(conn, arn)

    def _configuration(self, conn: Connection, row: Any) -> Configuration:
        revisions = self._revisions(conn, row.arn)
        return Configuration(
            arn=row.arn,
            name=row.name,
            description=row.description,
            kafka_versions=list(row.kafka_versions),
            creation_time=aware(row.creation_time),  # type: ignore[arg-type]
            state=ConfigurationState(row.state),
            latest_revision=revisions[-1],
        )

    def get_configuration(self, arn: str) -> Configuration | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.configurations).where(schema.configurations.c.arn == arn)
            ).first()
            return self._configuration(conn, row) if row else None

    def list_configurations(self) -> list[Configuration]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.configurations).order_by(schema.configurations.c.creation_time)
            ).all()
            return [self._configuration(conn, r) for r in rows]

    def remove_configuration(self, arn: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                delete(schema.configuration_revisions).where(
                    schema.configuration_revisions.c.configuration_arn == arn
                )
            )
            conn.execute(delete(schema.tags).where(schema.tags.c.resource_arn == arn))
            conn.execute(delete(schema.configurations).where(schema.configurations.c.arn == arn))

    # --- tags -----------------------------------------------------------------------------------
    @staticmethod
    def _put_tags(conn: Connection, arn: str, values: dict[str, str]) -> None:
        for key, value in values.items():
            conn.execute(
                delete(schema.tags).where(
                    (schema.tags.c.resource_arn == arn) & (schema.tags.c.key == key)
                )
            )
            conn.execute(insert(schema.tags).values(resource_arn=arn, key=key, value=value))

    def put_tags(self, arn: str, values: dict[str, str]) -> None:
        with self.transaction() as conn:
            self._put_tags(conn, arn, values)

    def remove_tags(self, arn: str, keys: list[str]) -> None:
        with self.transaction() as conn:
            conn.execute(
                delete(schema.tags).where(
                    (schema.tags.c.resource_arn == arn) & (schema.tags.c.key.in_(keys))
                )
            )

    def tags(self, arn: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.tags.c.key, schema.tags.c.value)
                .where(schema.tags.c.resource_arn == arn)
                .order_by(schema.tags.c.key)
            ).all()
        return {r.key: r.value for r in rows}
