"""Kannel's own SMSC test driver against `python app.py smpp` + a worker: N MO in, N replies out.

drive_smpp binds only bind_transmitter + bind_receiver (so the link is `txrx`),
sends the texts "1".."N" from 456, answers submit_sm_resp without a message_id,
and prints its counters when the ESME unbinds.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import func, select

from gateway.smpp.config import LinkConfig
from tests.gateway.kannel.conftest import DRIVE_SMPP

from support import free_port, start_role, stop_role, wait_for

N = 300


def _count(*where: object) -> int:
    from models.db import session_scope
    from models.outbox import OutboundMessage

    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(OutboundMessage).where(*where)) or 0


def test_drive_smpp_n_mo_in_n_replies_out(
    db: dict[str, str], drive_smpp_smsbox_port: int, tmp_path: Path
) -> None:
    from models.inbound import InboundMessage
    from models.outbox import OutboundMessage

    port = free_port()
    log_path = tmp_path / "drive_smpp.log"
    with log_path.open("wb") as log_file:
        driver = subprocess.Popen(
            [str(DRIVE_SMPP), "-p", str(port), "-m", str(N), "-v", "1"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    link = LinkConfig(
        name="kannel-drive",
        host="127.0.0.1",
        port=port,
        system_id="foo",
        password="bar",
        bind="txrx",
        tps=5000,
        window=50,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
    )
    # One reporter (456) sends all N: lift the per-number complaint limit for this run.
    env = {**db, "COMPLAINTS_PER_HOUR": str(10 * N)}
    worker = start_role(env, "worker")
    smpp = start_role({**env, "SMPP_LINKS": json.dumps([asdict(link)])}, "smpp")
    try:
        wait_for(lambda: _count(OutboundMessage.status == "sent") >= N, timeout_s=90)
        assert stop_role(smpp) == 0  # unbinding ends drive_smpp's run
        driver.wait(30)
    finally:
        for proc in (smpp, worker):
            stop_role(proc)
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    report = log_path.read_text(errors="replace")
    counters = dict(re.findall(r"Number of messages sent to (ESME|SMSC): (\d+)", report))
    assert counters == {"ESME": str(N), "SMSC": str(N)}, report[-2000:]
    assert _count() == N  # one reply per MO, none twice
    from models.db import session_scope

    with session_scope() as session:
        texts = set(session.scalars(select(InboundMessage.text)))
    assert texts == {str(i) for i in range(1, N + 1)}
