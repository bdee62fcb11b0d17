"""The engines: bulk statements compiled once, and psycopg's conversion of their placeholders reused."""

from __future__ import annotations

import itertools
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
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

import models.db
from models.base import utcnow
from models.db import (
    BULK_PARAMS_CACHED,
    HeldConnection,
    InsertSkippingDuplicates,
    get_engine,
    make_engine,
    session_scope,
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


_OURS = text("SELECT count(*) FROM reporters WHERE msisdn LIKE '+62811%'")


def _reporters_seen_elsewhere() -> int:
    with session_scope() as session:
        return session.scalar(_OURS)


def _reporter(session: Session, n: int) -> None:
    session.execute(
        text(
            "INSERT INTO reporters (msisdn, masked, blocked, created_at) VALUES (:m, :m, false, :t)"
        ),
        {"m": f"+62811000{n:03d}", "t": utcnow()},
    )


def test_a_held_connections_statement_is_committed_when_it_returns_on_postgresql(
    db: dict[str, str],
) -> None:
    """A busy link's stored MOs and its outbox claims pay no BEGIN and COMMIT round trips on
    PostgreSQL: another connection sees the row before the session ends. Off PostgreSQL
    it is a transaction, as session_scope is."""
    held = HeldConnection(autocommit=True)
    try:
        with held.session() as session:
            _reporter(session, 1)
            seen_before_the_end = _reporters_seen_elsewhere()
    finally:
        held.close()
    assert seen_before_the_end == (1 if get_engine().dialect.name == "postgresql" else 0)
    assert _reporters_seen_elsewhere() == 1


@pytest.mark.same_in_both_passes
@pytest.mark.parametrize("autocommit", [False, True])
def test_a_held_connection_outlives_the_server_dropping_it(
    monkeypatch: pytest.MonkeyPatch, autocommit: bool
) -> None:
    """Kept from one transaction to the next while they come quickly; one the server dropped
    fails the transaction then in use, and the next one has a new connection. One that sat
    idle is taken from the pool again, pinged: the server's restart fails nothing."""
    with migrated_pg_database() as engine:
        monkeypatch.setattr(models.db, "get_engine", lambda: engine)
        held = HeldConnection(autocommit=autocommit)
        pids: list[int] = []
        numbers = itertools.count()

        def backend() -> int:
            with held.session() as session:
                _reporter(session, next(numbers))
                return int(session.scalar(text("SELECT pg_backend_pid()")))

        def drop(pid: int) -> None:
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        try:
            pids += [backend(), backend()]
            assert pids[0] == pids[1]
            drop(pids[1])
            with pytest.raises(OperationalError):
                backend()
            pids.append(backend())
            assert pids[2] != pids[1]
            monkeypatch.setattr(models.db, "PING_AFTER_IDLE_S", 0.0)  # as if idle for a while
            drop(pids[2])
            pids.append(backend())
            assert pids[3] != pids[2]
        finally:
            held.close()
        with engine.connect() as conn:
            rows = conn.scalar(_OURS)
        assert rows == 4  # not the failed transaction's
