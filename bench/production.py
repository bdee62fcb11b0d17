"""The production set-up on loopback, shared by the benchmarks: PostgreSQL, Redis, gunicorn.

A throwaway database on the local PostgreSQL server (migrated and seeded by
`python app.py migrate`), a Redis db of the benchmarks' own, gunicorn serving
`app:create_app()` with the routing index built before the workers fork.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support import PG_SERVER_URL, create_pg_database, drop_pg_database, free_port  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


@contextlib.contextmanager
def production_env(**extra: str) -> Iterator[dict[str, str]]:
    """The environment of every role: a fresh migrated database and an emptied Redis db."""
    import redis

    database = create_pg_database(PG_SERVER_URL)
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    client = redis.Redis.from_url(REDIS_URL)
    try:
        subprocess.run([sys.executable, "app.py", "migrate"], cwd=REPO, env=env, check=True)
        seed_history(database)
        client.flushdb()
        yield env
    finally:
        client.flushdb()
        drop_pg_database(database, PG_SERVER_URL)


HISTORY_REPORTERS = 100_000  # citizens who texted before the run (a national line has millions)


def seed_history(database_url: str, reporters: int = HISTORY_REPORTERS) -> None:
    """Give the fresh database the reporters a deployment has already met.

    Each benchmark MO comes from a new number, and a reporters table that
    grows from empty during a run is one PostgreSQL plans as tiny: a worker
    backend whose plan for the complaints' foreign-key check on reporters was
    made then kept scanning the whole table for every complaint it filed
    (1.6 million rows read a second at 500 MO/s, pg_stat_user_tables), a
    cost no deployment pays. The numbers (+62899...) are none the benchmarks
    send from.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO reporters (msisdn, masked, blocked, created_at)"
                    " SELECT '+62899' || lpad(n::text, 7, '0'),"
                    " '62899' || lpad((n / 10000)::text, 3, '0') || 'xxxx', false,"
                    " now() - interval '1 day' * (n % 365)"
                    " FROM generate_series(1, :count) AS n"
                ),
                {"count": reporters},
            )
    finally:
        engine.dispose()


def percentile(values: list[float], q: float) -> float:
    """The value below which a share `q` of `values` lies (nearest rank); 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} never became healthy")


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int = 8) -> Iterator[str]:
    """gunicorn `app:create_app()` on a free port until the block ends; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--preload",  # the routing index is built once, before the workers fork
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=REPO,
        env={**env, "PUBLIC_URL": f"http://127.0.0.1:{port}"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz")
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
