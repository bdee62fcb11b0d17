"""Declarative base shared by every table, with naming rules Alembic can rely on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, DateTime, MetaData, literal
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def in_state(column: ColumnElement[str], state: str) -> ColumnElement[bool]:
    """`column = 'state'` with the state written into the SQL, not bound as a parameter.

    psycopg prepares a statement it runs often, and PostgreSQL then plans it
    once for every value: for `state = $1` that plan cannot know that
    `received` or `queued` are a handful of rows among millions, nor use the
    partial indexes kept for them, and it walked the primary key through the
    whole history on every claim (2-5 ms each with 10,000 messages in the
    bench, growing with the table). Only for the few fixed states of a claim.
    """
    return column == literal(str(state), literal_execute=True)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on PostgreSQL and SQLite alike.

    SQLite drops the zone; this puts it back so comparisons never mix naive
    and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use models.base.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it
