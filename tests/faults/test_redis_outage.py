"""Redis gone for a while under `python app.py cron`, then back: the sweeps run again.

The cron role runs as a real process whose Redis connection goes through a
relay that the test cuts, as a Redis host going away looks to it. While it is
down a reply's send job is lost; once Redis is back the message sweep, which
cron enqueues, finds the reply and the citizen gets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.connection import parse_url

from app import create_app
from handlers.jobs import process_inbound
from models.queues import get_redis
from tests.gateway.test_redis_loss import CITIZEN, _inbound_id

from channels import partner_get
from recorder import Recorder
from support import start_role, stop_role, wait_for
from tcp_relay import TcpRelay


@pytest.fixture()
def relay(db: dict[str, str]) -> Iterator[tuple[TcpRelay, str]]:
    """A relay to the test's Redis (TCP or the embedded one's Unix socket), and its URL."""
    server = parse_url(db["REDIS_URL"])
    target = (server["path"],) if "path" in server else (server["host"], server.get("port", 6379))
    with TcpRelay(*target) as running:
        yield running, f"redis://127.0.0.1:{running.port}/{server.get('db', 0)}"


def test_the_cron_role_outlives_a_redis_outage_and_sweeps_again(
    db: dict[str, str], sent: Recorder, relay: tuple[TcpRelay, str], tmp_path: Path
) -> None:
    cut, via_relay = relay
    log = tmp_path / "cron.log"
    cron = start_role({**db, "REDIS_URL": via_relay}, "cron", stderr=log.open("wb"))
    worker = None
    try:
        wait_for(lambda: "registering birth" in log.read_text(), timeout_s=30)
        cut.cut()
        wait_for(lambda: cron.poll() is not None or "Redis unreachable" in log.read_text(), 30)
        assert cron.poll() is None, log.read_text()[-2000:]

        partner_get(create_app().test_client(), "Banjir di Kota Bekasi", CITIZEN)
        get_redis().flushdb()
        process_inbound([_inbound_id()])
        get_redis().flushdb()  # the reply's send job is lost while cron cannot sweep

        cut.restore()
        worker = start_role(db, "worker")
        wait_for(lambda: sent.to("/cgi-bin/sendsms"), timeout_s=90)  # the citizen gets it
        assert cron.poll() is None
    finally:
        if worker:
            stop_role(worker)
        assert stop_role(cron) == 0, log.read_text()[-2000:]
    assert "starting the scheduler again" in log.read_text()
    assert len(sent.to("/cgi-bin/sendsms")) == 1
