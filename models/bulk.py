"""Multi-row INSERTs whose SQL text is the same for any number of rows, on PostgreSQL.

A worker's group inserts (or locks) its reporters, then inserts its
complaints, their audit events and their replies, one statement each.
Rendered by SQLAlchemy, each is a VALUES list with a placeholder a column
and a row: another SQL text for every group size, which psycopg converts
again (4.5 us a placeholder: a group of 40 texts is 5 ms of one worker's
CPU), prepares again and PostgreSQL plans again. Groups at 500 MO/s come in
every size from 1 to 100, more texts than psycopg's caches hold
(bench/NOTES.md). On PostgreSQL the rows go as one JSON parameter instead,
read back as the table's row type: one text, converted and prepared once.
SQLite runs SQLAlchemy's own statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Row, Select, Table, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert

from models.db import InsertOrLock, InsertSkippingDuplicates, driver_sql, on_postgresql

_QUOTE = postgresql.dialect().identifier_preparer.quote


class RowsInsert:
    """INSERT rows into `table` ... RETURNING `returning`; with `skip_duplicates_of`, a row
    whose value of those columns exists already is skipped (ON CONFLICT DO NOTHING).

    RETURNING gives the inserted rows in the order of the rows given (the skipped ones
    left out: return a key column to know which).
    """

    def __init__(
        self, table: Table, returning: Sequence[str], skip_duplicates_of: Sequence[str] = ()
    ) -> None:
        self.table = table
        self.returning = tuple(returning)
        self.conflict = tuple(skip_duplicates_of)
        self._texts: dict[tuple[str, ...], str] = {}  # by the columns given

    def __call__(self, session: Session, rows: Sequence[Mapping[str, object]]) -> list[Any]:
        """Insert `rows` (dicts with the same keys) in the session's transaction."""
        if not rows:
            return []
        if not on_postgresql(session):
            return self._lite(session, rows)
        defaults = {name: value() for name, value in self._defaults.items() if name not in rows[0]}
        if defaults:
            rows = [{**defaults, **row} for row in rows]
        columns = tuple(rows[0])
        sql = self._texts.get(columns) or self._texts.setdefault(columns, self._sql(columns))
        return self._run(session, sql, json.dumps(rows, default=_json_value, ensure_ascii=False))

    def _lite(self, session: Session, rows: Sequence[Mapping[str, object]]) -> list[Row[Any]]:
        """SQLAlchemy's own statement (SQLite)."""
        return list(session.execute(self._statement, list(rows)))

    def _run(self, session: Session, sql: str, rows: str) -> list[Row[Any]]:
        """The PostgreSQL statement, `rows` its JSON."""
        return list(driver_sql(session, sql, (rows,)))

    @cached_property
    def _statement(self) -> Insert:
        columns = [self.table.c[name] for name in self.returning]
        if self.conflict:  # skipped rows return nothing: the caller knows rows by key
            return InsertSkippingDuplicates(self.table, *self.conflict).returning(*columns)
        return insert(self.table).returning(*columns, sort_by_parameter_order=True)

    @cached_property
    def _defaults(self) -> dict[str, Callable[[], object]]:
        """The column defaults SQLAlchemy applies in Python (PostgreSQL knows none of them)."""
        found: dict[str, Callable[[], object]] = {}
        for column in self.table.columns:
            default = column.default
            if default is None or not (default.is_scalar or default.is_callable):
                continue
            if default.is_scalar:
                found[column.name] = lambda value=default.arg: value
            else:
                found[column.name] = lambda call=default.arg: call(None)
        return found

    def _sql(self, columns: tuple[str, ...]) -> str:
        table = _QUOTE(self.table.name)
        names = ", ".join(_QUOTE(name) for name in columns)
        read = ", ".join(f"r.{_QUOTE(name)}" for name in columns)
        return (
            f"INSERT INTO {table} ({names}) SELECT {read}"
            f" FROM json_populate_recordset(NULL::{table}, CAST(%s AS json))"
            " WITH ORDINALITY AS r ORDER BY r.ordinality"
            + self._on_conflict()
            + f" RETURNING {', '.join(_QUOTE(name) for name in self.returning)}"
        )

    def _on_conflict(self) -> str:
        conflict = ", ".join(_QUOTE(name) for name in self.conflict)
        return f" ON CONFLICT ({conflict}) DO NOTHING" if conflict else ""


class RowsInsertOrLock(RowsInsert):
    """INSERT rows of `entity`, and lock those whose `column` value exists already (ON
    CONFLICT DO UPDATE SET column = excluded.column, the value it has): RETURNING gives both,
    new and existing, as ORM objects, locked until the transaction ends, in the order given
    (lock in a fixed order, and two transactions wait for each other instead of deadlocking).
    """

    def __init__(self, entity: type[Any], column: str) -> None:
        table = entity.__table__
        super().__init__(table, [c.name for c in table.columns], (column,))
        self.entity = entity
        self._loads: dict[str, Select[Any]] = {}  # by SQL text

    def _lite(self, session: Session, rows: Sequence[Mapping[str, object]]) -> list[Any]:
        return list(session.scalars(self._statement, list(rows)))

    def _run(self, session: Session, sql: str, rows: str) -> list[Any]:
        load = self._loads.get(sql)
        if load is None:
            statement = text(sql.replace("%s", ":rows"))
            load = self._loads.setdefault(sql, select(self.entity).from_statement(statement))
        return list(session.scalars(load, {"rows": rows}))

    @cached_property
    def _statement(self) -> Insert:
        return InsertOrLock(self.entity, self.conflict[0]).returning(self.entity)

    def _on_conflict(self) -> str:
        column = _QUOTE(self.conflict[0])
        return f" ON CONFLICT ({column}) DO UPDATE SET {column} = excluded.{column}"


def _json_value(value: object) -> str:
    """What json.dumps cannot write itself: the timestamps, in ISO 8601 with their offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a row to insert")
