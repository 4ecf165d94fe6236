"""Alembic environment: runs migrations on the connection `outreach.migrate` hands over."""

from __future__ import annotations

from alembic import context

from outreach.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand without outreach.migrate
    raise RuntimeError("Run migrations with `outreach db upgrade`, which provides the connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
