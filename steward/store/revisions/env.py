"""How Alembic runs the store's revisions: always on the connection `steward.store.migrations`
hands it (in `config.attributes`), inside that connection's transaction, never from a URL of its
own. SQLite runs in batch mode, since it can alter a table only by copying it."""

from __future__ import annotations

from alembic import context

from steward.store import schema

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
