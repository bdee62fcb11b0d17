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
HISTORY_DAYS = 100  # their complaints, one each, spread over this many days up to now


def seed_history(database_url: str, reporters: int = HISTORY_REPORTERS) -> None:
    """Give the fresh database the reporters, complaints and messages a deployment already has.

    The benchmarks analyze their database after a warm-up, as autovacuum
    does a deployment's, and on tables that hold only the warm-up
    PostgreSQL plans the statements every process prepares as if they stayed
    that small: a worker's foreign-key check on reporters scanned the whole
    table for every complaint filed (1.6 million rows read a second at 500
    MO/s), a cost no deployment pays (a deployment's stale statistics on
    complaints are handled in models.actions.RECENT). Each
    reporter (+62899..., numbers no benchmark sends from) filed one complaint;
    the newest are from the last day, with the MO it came in and its
    delivered acknowledgement (on link `history`): the link's statements,
    prepared once and run with one SQL text for any batch, are planned on
    tables of a deployment's size (on the warm-up alone their generic plans
    scanned the tables, growing through the run). Tracking numbers stay
    below the sequence's first.
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
                    " now() - interval '1 day' * (CAST(:days AS float) * n / :count)"
                    " FROM generate_series(1, :count) AS n"
                ),
                {"count": reporters, "days": HISTORY_DAYS},
            )
            conn.execute(
                text(
                    "INSERT INTO complaints (tracking_number, reporter_id, reply_address, text,"
                    " text_hash, channel, link, sector, status, anonymous, confidential,"
                    " complaint_type, routing_confidence, routing_explanation, created_at,"
                    " updated_at) SELECT id, id, msisdn, 'jalan rusak di desa kami',"
                    " md5(id::text), 'smpp', 'history', 'infrastruktur', 'closed', false, false,"
                    " 'normal', 0.9, '', created_at, created_at FROM reporters"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO inbound_messages (channel, link, external_id, sender, recipient,"
                    " text, parts, incomplete, received_at, state, processed_at, complaint_id)"
                    " SELECT 'smpp', 'history', 'history:' || id, reply_address, '1708', text, 1,"
                    " false, created_at, 'processed', created_at, id FROM complaints"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO outbound_messages (recipient, sender, text, template, channel,"
                    " link, status, attempts, next_attempt_at, external_ids, dlr_state, dlr_at,"
                    " idempotency_key, complaint_id, created_at, sent_at)"
                    " SELECT reply_address, '1708', 'LAPOR! Laporan Anda diterima.', 'ack_new',"
                    " 'smpp', 'history', 'delivered', 1, created_at, '[\"h' || id || '\"]',"
                    " 'delivered', created_at, 'history:' || id, id, created_at, created_at"
                    " FROM complaints"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO outbound_segments (outbound_id, channel, link, external_id,"
                    " dlr_state, created_at) SELECT id, channel, link, 'h' || complaint_id,"
                    " dlr_state, created_at FROM outbound_messages"
                )
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # long vacuumed in a deployment: autovacuum would otherwise do it during a run
            conn.execute(
                text(
                    "VACUUM ANALYZE reporters, complaints, inbound_messages, outbound_messages,"
                    " outbound_segments"
                )
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
