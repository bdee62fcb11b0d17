"""The engines: bulk statements compiled once, and psycopg's conversion of their placeholders reused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg._queries as queries
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, column, select, values
from sqlalchemy.exc import IntegrityError

from models.db import BULK_PARAMS_CACHED, InsertSkippingDuplicates, make_engine

from support import PG_SERVER_URL, migrated_pg_database


def test_a_repeated_bulk_statement_is_converted_once_and_answers_correctly() -> None:
    engine = make_engine(PG_SERVER_URL)
    rows = [(n, f"row {n}") for n in range(400)]  # 800 parameters, 16 times psycopg's 50
    numbers = values(column("n"), column("label"), name="v").data(rows)
    stmt = select(numbers.c.n, numbers.c.label)
    try:
        with engine.connect() as conn:
            first = conn.execute(stmt).all()
            before = queries._query2pg.cache_info()
            again = conn.execute(stmt).all()
            after = queries._query2pg.cache_info()
    finally:
        engine.dispose()
    assert first == again == rows
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert queries.MAX_CACHED_STATEMENT_PARAMS == BULK_PARAMS_CACHED


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        with migrated_pg_database() as engine:
            yield engine
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
        yield engine
        engine.dispose()


def test_an_insert_skipping_duplicates_is_compiled_once_and_skips_only_its_own(
    engine: Engine,
) -> None:
    table = Table(
        "pairs",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("key", String(8), unique=True),
        Column("other", String(8), unique=True),
    )
    table.create(engine)

    def insert(conflict: str, rows: list[dict[str, str]]) -> tuple[list[str], bool]:
        stmt = InsertSkippingDuplicates(table, conflict).returning(table.c.key)
        with engine.begin() as conn:
            result = conn.execute(stmt, rows)
            cached = result.context.cache_hit is engine.dialect.CACHE_HIT
            return sorted(result.scalars()), cached

    assert insert("key", [{"key": "a", "other": "1"}, {"key": "a", "other": "2"}]) == (
        ["a"],
        False,
    )
    assert insert("key", [{"key": "a", "other": "3"}, {"key": "b", "other": "4"}]) == (
        ["b"],
        True,
    )
    # Another conflict target is another statement, not the cached one: a clash on `other`
    # is skipped, and one on `key` still refused.
    assert insert("other", [{"key": "c", "other": "4"}, {"key": "d", "other": "5"}]) == (
        ["d"],
        False,
    )
    with pytest.raises(IntegrityError):
        insert("other", [{"key": "a", "other": "6"}])
