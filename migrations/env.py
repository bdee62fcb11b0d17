"""Alembic environment: the database comes from DATABASE_URL (or the embedded default)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from models.all import metadata
from models.db import get_engine

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as connection:
        _run(connection)


def _run(connection: Connection) -> None:
    """Each migration in a transaction of its own: one that builds an index CONCURRENTLY
    runs outside any (an autocommit block), which commits the ones before it anyway."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()  # what the version check began (SQLAlchemy begins on first use)


run_migrations()
