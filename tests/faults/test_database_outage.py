"""PostgreSQL gone for 30 s under the gateway's feet, then back: temporary errors, then no loss.

Every role (`web`, `smpp`, `worker`, `cron`) runs as a real process whose
database connection goes through a relay that the test cuts, as a database
host going away looks to them. Meanwhile a citizen texts over SMPP and over
an HTTP partner. While it is down the SMSC gets ESME_RX_T_APPN and the
partner HTTP 503, so both retry; once it is back each text is one complaint
with one reply. Always on PostgreSQL (its own database on the local server):
an outage of a database server is the point; so CI runs it once, in the
services pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from gateway.smpp.outage import REPORT_EVERY_S
from gateway.smpp.simulator import SimulatorThread
from models.complaints import Complaint
from models.outbox import OutboundMessage
from tests.gateway.smpp.conftest import link_config, wait_bound

from channels import PARTNER_TOKEN
from recorder import Recorder
from support import (
    ROOT,
    create_pg_database,
    drop_pg_database,
    free_port,
    healthy,
    http_status,
    start_role,
    stop_role,
    wait_for,
)
from tcp_relay import TcpRelay

ESME_RX_T_APPN = 0x64
OUTAGE_S = 30.0
SMPP_CITIZEN, HTTP_CITIZEN = "6281234500008", "6281234500018"
SMPP_TEXT = "Pupuk bersubsidi langka di Kecamatan Lubuk Alung Padang Pariaman"
HTTP_TEXT = "Lampu penerangan jalan mati di Kecamatan Koto Tangah Kota Padang"


@pytest.fixture(scope="module")
def own_database(app_env: dict[str, str]) -> Iterator[str]:
    """A migrated, seeded PostgreSQL database of this module's own."""
    url = create_pg_database()
    subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "migrate"],
        env={**app_env, "DATABASE_URL": url},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    yield url
    drop_pg_database(url)


@pytest.fixture()
def relay(own_database: str) -> Iterator[TcpRelay]:
    url = make_url(own_database)
    with TcpRelay(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


@pytest.fixture()
def direct(own_database: str) -> Iterator[Engine]:
    """The test's own view of the database, around the relay."""
    engine = create_engine(own_database)
    yield engine
    engine.dispose()


def _partner_delivery(port: int) -> int:
    """Kannel's get-url, as a partner retries it: the HTTP status the gateway answered."""
    query = urllib.parse.urlencode(
        {"from": HTTP_CITIZEN, "to": "1708", "text": HTTP_TEXT, "id": "outage-1"}
    )
    return http_status(f"http://127.0.0.1:{port}/sms/http?{query}&token={PARTNER_TOKEN}", 30)


@pytest.mark.same_in_both_passes
def test_thirty_seconds_without_postgresql_lose_nothing(
    db: dict[str, str],
    sent: Recorder,
    relay: TcpRelay,
    direct: Engine,
    sim: SimulatorThread,
    tmp_path: Path,
) -> None:
    via_relay = (
        make_url(direct.url)
        .set(host="127.0.0.1", port=relay.port)
        .render_as_string(hide_password=False)
    )
    env = {**db, "DATABASE_URL": via_relay}
    web_port = free_port()
    link = link_config(sim)
    roles = [
        start_role({**env, "HTTP_PORT": str(web_port)}, "web"),
        start_role(env, "worker"),
        start_role(env, "cron"),
        start_role(
            {**env, "SMPP_LINKS": json.dumps([asdict(link)])},
            "smpp",
            stderr=(tmp_path / "smpp.log").open("wb"),
        ),
    ]
    try:
        wait_bound(link.name)
        wait_for(lambda: healthy(web_port), timeout_s=30)

        relay.cut()
        mo = sim.push(SMPP_CITIZEN, SMPP_TEXT.encode())
        wait_for(lambda: mo.statuses.count(ESME_RX_T_APPN) >= 2, timeout_s=20)
        assert _partner_delivery(web_port) == 503
        assert not healthy(web_port)
        time.sleep(max(0.0, OUTAGE_S - 5))
        assert not mo.acked.is_set()
        assert _partner_delivery(web_port) == 503  # the partner retries: still down
        with direct.connect() as conn:
            assert conn.execute(select(Complaint.id)).first() is None

        relay.restore()
        wait_for(mo.acked.is_set, timeout_s=30)
        wait_for(lambda: _partner_delivery(web_port) == 200, timeout_s=30)
        assert _partner_delivery(web_port) == 200  # once more: a duplicate, not a second one

        def filed() -> dict[str, int]:
            with direct.connect() as conn:
                rows = conn.execute(select(Complaint.text, Complaint.tracking_number)).all()
            return dict(rows) if len(rows) >= 2 else {}

        tracking = wait_for(filed, timeout_s=40)
        assert set(tracking) == {SMPP_TEXT, HTTP_TEXT}

        def replies() -> list[str]:
            with direct.connect() as conn:
                rows = conn.execute(select(OutboundMessage.recipient, OutboundMessage.status))
                done = [r.lstrip("+") for r, status in rows if status in ("sent", "delivered")]
            return sorted(done) if len(done) >= 2 else []

        assert wait_for(replies, timeout_s=40) == sorted([SMPP_CITIZEN, HTTP_CITIZEN])
        sms = "".join(s.text() for s in sim.sim.submitted if s.destination_addr == SMPP_CITIZEN)
        assert f"#{tracking[SMPP_TEXT]}" in sms
        partner_sends = [r.params.get("text", "") for r in sent.to("/cgi-bin/sendsms")]
        assert len(partner_sends) == 1 and f"#{tracking[HTTP_TEXT]}" in partner_sends[0]
    finally:
        for proc in roles:
            stop_role(proc)
    # The operator's log: a few lines for the outage, not one for every re-delivered batch.
    log = (tmp_path / "smpp.log").read_text()
    assert log.count("database unavailable (") == 1
    assert log.count("database still unavailable after") <= OUTAGE_S / REPORT_EVERY_S + 1
    assert log.count("database available again after") == 1
