"""Bringing a store written by an earlier Steward up to the current tables.

`create_all` makes missing tables but leaves existing ones as they are; a column added since
(every one of them has a server default or allows NULL) is added here, so a control plane
upgraded in place reads its old clusters and operations."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.schema import Column, MetaData


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add every column of `metadata` that a stored table lacks; the ones added, as
    `table.column`."""
    inspector = inspect(engine)
    added = []
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    conn.execute(text(_add_column(engine, table.name, column)))
                    added.append(f"{table.name}.{column.name}")
    return added


def _add_column(engine: Engine, table: str, column: Column[object]) -> str:
    kind = column.type.compile(dialect=engine.dialect)
    clause = f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"
    default = column.server_default
    if default is not None:
        clause += f" DEFAULT {default.arg}"  # type: ignore[attr-defined]
        if not column.nullable:
            clause += " NOT NULL"
    return clause
