"""The engines: bulk statements compiled once, and psycopg's conversion of their placeholders reused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import psycopg._queries as queries
import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    column,
    select,
    text,
    values,
)
from sqlalchemy.exc import IntegrityError

import models.db
from models.base import utcnow
from models.db import (
    BULK_PARAMS_CACHED,
    InsertSkippingDuplicates,
    get_engine,
    make_engine,
    session_scope,
    statement_scope,
)

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


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_the_server_dropped_while_it_was_idle_is_replaced_before_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PostgreSQL restart or an idle timeout kills pooled connections: the next
    transaction gets a live one instead of an error."""
    monkeypatch.setattr(models.db, "PING_AFTER_IDLE_S", 0.0)
    engine = make_engine(PG_SERVER_URL)
    try:
        dropped = _backend_pid(engine)
        with psycopg.connect(PG_SERVER_URL.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
        assert _backend_pid(engine) != dropped
    finally:
        engine.dispose()


def test_a_connection_back_in_use_at_once_is_not_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ping is a round trip: a busy link's transactions follow each other without one."""
    engine = make_engine(PG_SERVER_URL)
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", pings.append)
    try:
        first = _backend_pid(engine)
        assert [_backend_pid(engine) for _ in range(5)] == [first] * 5
        assert pings == []
        monkeypatch.setattr(models.db, "PING_AFTER_IDLE_S", 0.0)  # as if idle for a while
        assert _backend_pid(engine) == first
        assert len(pings) == 1
    finally:
        engine.dispose()


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


def _reporters_seen_elsewhere() -> int:
    with session_scope() as session:
        return session.scalar(text("SELECT count(*) FROM reporters WHERE msisdn = '+62811000111'"))


def test_a_statement_standing_alone_is_committed_when_it_returns_on_postgresql(
    db: dict[str, str],
) -> None:
    """A busy link's stored MOs and its outbox claims pay no BEGIN and COMMIT round trips on
    PostgreSQL: another connection sees the row before the scope ends. Off PostgreSQL the
    scope is a transaction, as session_scope is."""
    insert = text(
        "INSERT INTO reporters (msisdn, masked, blocked, created_at) VALUES (:m, :m, false, :t)"
    )
    with statement_scope() as session:
        session.execute(insert, {"m": "+62811000111", "t": utcnow()})
        seen_before_the_end = _reporters_seen_elsewhere()
    assert seen_before_the_end == (1 if get_engine().dialect.name == "postgresql" else 0)
    assert _reporters_seen_elsewhere() == 1
