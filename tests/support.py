"""Helpers for tests: throwaway databases, free ports, app processes, polling."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T = TypeVar("T")


def create_pg_database(server_url: str = PG_SERVER_URL) -> str:
    """A new, empty PostgreSQL database on the server of `server_url`; returns its URL."""
    name = f"lapor_t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str, server_url: str = PG_SERVER_URL) -> None:
    name = make_url(url).database
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def migrated_pg_database() -> Iterator[Engine]:
    """A new PostgreSQL database at the newest schema (an engine on it), dropped afterwards."""
    from models.db import make_engine
    from models.migrate import upgrade

    url = create_pg_database()
    engine = make_engine(url)
    try:
        upgrade(engine=engine)
        yield engine
    finally:
        engine.dispose()
        drop_pg_database(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout_s: float = 5) -> int:
    """The status a GET of `url` answers, error statuses included; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def healthy(port: int) -> bool:
    """A gateway web process on `port` is up and its dependencies answer."""
    return http_status(f"http://127.0.0.1:{port}/healthz", timeout_s=2) == 200


def start_role(env: dict[str, str], *args: str, **popen: object) -> subprocess.Popen[bytes]:
    """`python app.py <args>` as a real process with the test environment."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), *args],
        env={**os.environ, **env},
        cwd=ROOT,
        **popen,  # type: ignore[arg-type]
    )


def stop_role(proc: subprocess.Popen[bytes], timeout_s: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_for(predicate: Callable[[], T], timeout_s: float = 20.0, interval_s: float = 0.1) -> T:
    """Poll until `predicate()` is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {predicate}")
        time.sleep(interval_s)


@contextmanager
def statements_sent() -> Iterator[list[tuple[str, bool]]]:
    """The statements sent meanwhile, each with whether the server runs it once per row."""
    statements: list[tuple[str, bool]] = []

    def count(conn, cursor, statement, parameters, context, many) -> None:  # type: ignore[no-untyped-def]
        # executemany of one-row statements: psycopg sends the server one statement a row
        statements.append((statement, many and not context.compiled.effective_returning))

    from models.db import get_engine

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
