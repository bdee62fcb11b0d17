"""Engine and sessions: one engine per process, short transactions, after-commit hooks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Select,
    Table,
    and_,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement, Insert
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from config.settings import get_settings

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine tuned for the dialect: SQLite gets WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql+psycopg"):
        cache_bulk_statements()
    engine = create_engine(url, pool_size=10, max_overflow=20)
    ping_when_idle(engine)
    if engine.dialect.name == "postgresql":
        end_idle_transactions(engine)
    return engine


IDLE_IN_TRANSACTION_S = 300


def end_idle_transactions(engine: Engine) -> None:
    """PostgreSQL ends a transaction of ours left idle for IDLE_IN_TRANSACTION_S.

    Nothing of ours waits that long inside a transaction. A process that does
    (stopped, or hung outside Python where RQ's job timeout cannot reach it)
    holds its rows: a worker's claimed group, which no other worker can take
    and the sweep cannot requeue, and the filing turn. Ended by the server,
    its messages are waiting again and another worker files them.
    """

    @event.listens_for(engine, "connect")
    def _limit_idle(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            dbapi_conn.execute(
                f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_S}s'"
            )
        finally:
            dbapi_conn.autocommit = autocommit


PING_AFTER_IDLE_S = 1.0


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat in the pool a while.

    A busy link or worker takes its connection back many times a second, and
    pool_pre_ping's SELECT 1 on every checkout was a round trip a transaction
    (bench/bench_batches.py). A connection idle long enough for the server to
    have restarted or dropped it is pinged; one that fails is replaced, and
    so is every connection pooled before it, as pool_pre_ping does.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        idle_from = record.info.pop("idle_from", None)  # none: a new connection
        if idle_from is None or time.monotonic() - idle_from < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"pooled connection failed its ping: {exc}") from exc


BULK_PARAMS_CACHED = 3000  # a 256-row batch of inbound messages has 2,560 parameters
BULK_STATEMENTS_CACHED = 256  # about 200 bytes a parameter each: tens of MB at most


def cache_bulk_statements() -> None:
    """Let psycopg cache the conversion of our bulk statements too.

    psycopg caches how it rewrites a statement's %(name)s placeholders only
    for statements under 50 parameters (psycopg discussion 628), and every
    multi-row INSERT, IN list and CASE of a group commit has hundreds: it
    re-parsed each with a regular expression on every execution, a third of
    a worker's CPU (bench/bench_smpp.py). The texts recur (one per batch
    size), so a larger bounded cache answers them. psycopg is pinned; the
    test of this function fails if an upgrade renames what it sets.
    """
    import psycopg._queries as queries

    if queries.MAX_CACHED_STATEMENT_PARAMS >= BULK_PARAMS_CACHED:
        return
    queries.MAX_CACHED_STATEMENT_PARAMS = BULK_PARAMS_CACHED
    queries.MAX_CACHED_STATEMENT_LENGTH = 64 * BULK_PARAMS_CACHED
    queries._query2pg = lru_cache(maxsize=BULK_STATEMENTS_CACHED)(queries._query2pg_nocache)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    import models.all  # noqa: F401 - every table, so relationships and FKs resolve

    return sessionmaker(bind=get_engine(), expire_on_commit=False)


class _OnConflict(ClauseElement):
    """`ON CONFLICT (columns) DO NOTHING`, or `DO UPDATE SET touch = excluded.touch`: the same
    words on PostgreSQL and SQLite."""

    __visit_name__ = "on_conflict"
    _traverse_internals = [  # noqa: RUF012 - its cache key
        ("columns", InternalTraversal.dp_string_list),
        ("touch", InternalTraversal.dp_string),
    ]

    def __init__(self, columns: tuple[str, ...], touch: str | None = None) -> None:
        self.columns = columns
        self.touch = touch


@compiles(_OnConflict)
def _render_on_conflict(element: _OnConflict, compiler: SQLCompiler, **kw: object) -> str:
    columns = ", ".join(compiler.preparer.quote(column) for column in element.columns)
    if element.touch is None:
        return f"ON CONFLICT ({columns}) DO NOTHING"
    touch = compiler.preparer.quote(element.touch)
    return f"ON CONFLICT ({columns}) DO UPDATE SET {touch} = excluded.{touch}"


class InsertSkippingDuplicates(Insert):
    """INSERT ... ON CONFLICT (columns) DO NOTHING that SQLAlchemy compiles once.

    The dialects' own `insert(...).on_conflict_do_nothing()` has no cache key
    in SQLAlchemy 2.0 (sqlalchemy issue 10445), so every execution compiled
    the statement again: a tenth of a busy link's database thread, for the
    inbound insert of every batch, and milliseconds of every worker group.
    """

    inherit_cache = True

    def __init__(self, table: Table | type[object], *conflict_columns: str) -> None:
        """`table` a Table, or a mapped class: RETURNING it then gives ORM objects."""
        super().__init__(table)
        self._post_values_clause = _OnConflict(conflict_columns)


class InsertOrLock(Insert):
    """INSERT ... ON CONFLICT (column) DO UPDATE SET column = excluded.column, compiled once:
    RETURNING then gives the existing rows too, locked until the transaction ends (the
    "update" writes the value the row has). One statement where a locking SELECT and an
    INSERT of the rows it did not find were two; rows are locked in the order given."""

    inherit_cache = True

    def __init__(self, table: Table | type[object], column: str) -> None:
        """`table` a Table, or a mapped class: RETURNING it then gives ORM objects."""
        super().__init__(table)
        self._post_values_clause = _OnConflict((column,), column)


def picked_once(
    postgresql: bool,
    id_column: ColumnElement[int],
    pick: Select[tuple[int]],
    still: ColumnElement[bool],
) -> ColumnElement[bool]:
    """The WHERE of a claim's UPDATE: the rows `pick` (SELECT id ... LIMIT ... FOR UPDATE SKIP
    LOCKED) chooses, if `still` (the state it picks) holds: one statement, not a read and a write.

    On PostgreSQL the ids come from a MATERIALIZED CTE, run once: as a plain
    IN (SELECT ... LIMIT) subquery it may run more than once and claim more
    than its limit. `still` is not checked again there: the picked rows are
    locked, and PostgreSQL checks a locked row's WHERE again when it locks it;
    checked in the UPDATE too, it had the planner join the picked ids to every
    row in that state, so each claim read the whole backlog. SQLite keeps the
    subquery (Python's sqlite3 opens no transaction for a statement that
    starts with WITH) and checks `still`: it has no row locks, only one writer.
    """
    if not postgresql:
        return and_(id_column.in_(pick), still)
    return id_column.in_(select(pick.cte("picked").prefix_with("MATERIALIZED").c.id))


def on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def driver_sql(
    session: Session, sql: str, params: tuple[object, ...] | dict[str, object]
) -> CursorResult[Any]:
    """Run SQL written for psycopg (`%s` or `%(name)s` placeholders) in the session's transaction.

    For the statements a busy SMPP link runs in every batch on PostgreSQL:
    one SQL text whatever the batch size (arrays, not IN lists), so nothing
    is compiled or cached per call and psycopg prepares it once. SQLAlchemy
    still runs it, so a lost connection is an OperationalError and is
    dropped from the pool as for any other statement. A fifth to a half less
    Python for a small batch of MOs and send outcomes (README, 2026-12-03).
    """
    return session.connection().exec_driver_sql(sql, params)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's transaction has committed.

    Used to wake RQ workers only for rows that are really in the database;
    a failing callback is logged, never raised: the sweep recovers.
    """
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.warning("after-commit callback failed; the sweep will recover", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    with _scope(_session_factory()) as session:
        yield session


class HeldConnection:
    """A connection that one busy thread keeps from one transaction to the next: a link's
    database thread and its outbox feeder run hundreds a second.

    A transaction from a pooled session cost 510 us of Python and 1.0 ms wall
    for one statement, a session on a connection held 230-260 us
    (bench/NOTES.md). With `autocommit` each statement commits as it
    completes, without BEGIN and COMMIT round trips: for work of one
    statement. After it sat idle PING_AFTER_IDLE_S the connection goes back to
    the pool and the next one comes from there, pinged, so a restart of the
    server costs no failed batch; after any error too. Off PostgreSQL, pooled
    sessions in a transaction as everywhere else.
    """

    def __init__(self, autocommit: bool = False) -> None:
        self.autocommit = autocommit
        self._conn: Connection | None = None
        self._used = 0.0

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the held connection: committed on success, rolled back on error."""
        if get_engine().dialect.name != "postgresql":
            with session_scope() as session:
                yield session
            return
        try:
            with _scope(partial(Session, self._connection(), expire_on_commit=False)) as session:
                yield session
        except BaseException:
            self.close()
            raise
        self._used = time.monotonic()

    def close(self) -> None:
        """Give the connection back to the pool (which drops it if it is broken)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> Connection:
        if self._conn is not None and time.monotonic() - self._used >= PING_AFTER_IDLE_S:
            self.close()
        if self._conn is None:
            _session_factory()  # every table mapped
            conn = get_engine().connect()
            if self.autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn


@contextmanager
def _scope(factory: Callable[[], Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping() -> None:
    """Raise if the database does not answer."""
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def reconfigure() -> None:
    """Forget the cached settings, engine and sessions (after the environment changed)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()
    get_settings.cache_clear()
