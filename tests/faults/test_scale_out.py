"""Scale-out: two gateway processes and two workers on one database and Redis.

Every message is delivered twice, once to each gateway, at the same time:
no duplicate complaints, unique tracking numbers, one reply per citizen.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from models.complaints import Complaint
from models.db import session_scope
from models.outbox import OutboxStatus

from channels import PARTNER_TOKEN, count, outbox_rows
from recorder import Recorder
from support import free_port, healthy, start_role, stop_role, wait_for

MESSAGES = 60


def _deliver(port: int, i: int) -> int:
    query = urllib.parse.urlencode(
        {
            "from": f"0812{i:08d}",
            "to": "1708",
            "text": f"Jalan rusak nomor {i} di Kota Bogor",
            "id": f"scale-{i}",
            "token": PARTNER_TOKEN,
        }
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sms/http?{query}", timeout=30) as resp:
        return resp.status


def test_two_gateways_and_two_workers_lose_nothing_and_double_nothing(
    db: dict[str, str], sent: Recorder
) -> None:
    ports = [free_port(), free_port()]
    roles = [start_role({**db, "HTTP_PORT": str(port)}, "web") for port in ports]
    roles += [start_role(db, "worker"), start_role(db, "worker")]
    try:
        for port in ports:
            wait_for(lambda port=port: healthy(port), timeout_s=60)
        jobs = [(port, i) for i in range(MESSAGES) for port in ports]
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda job: _deliver(*job), jobs))
        assert statuses == [200] * len(jobs)
        wait_for(lambda: count(Complaint) == MESSAGES, timeout_s=90)
        wait_for(
            lambda: (
                all(r.status == OutboxStatus.SENT for r in outbox_rows())
                and len(outbox_rows()) == MESSAGES
            ),
            timeout_s=90,
        )
    finally:
        for role in roles:
            stop_role(role)
    with session_scope() as session:
        numbers = list(session.scalars(select(Complaint.tracking_number)))
    assert len(set(numbers)) == MESSAGES
    replies = Counter(r.params["to"] for r in sent.to("/cgi-bin/sendsms"))
    assert len(replies) == MESSAGES and set(replies.values()) == {1}
