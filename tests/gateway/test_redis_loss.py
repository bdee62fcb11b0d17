"""Redis forgets a job: the database remembers, the sweep recovers, nothing is sent twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from app import create_app
from handlers.jobs import process_inbound
from models.base import utcnow
from models.inbound import InboundMessage
from models.outbox import OutboundMessage, OutboxStatus
from models.queues import get_redis
from models.sweep import sweep_messages

from channels import complaint_by_text, count, outbox_rows, partner_get
from recorder import Recorder
from support import start_role, stop_role, wait_for

CITIZEN = "081234567820"


def _later() -> datetime:
    return utcnow() + timedelta(minutes=1)


def test_flush_between_inbound_commit_and_job(db: dict[str, str], sent: Recorder) -> None:
    client = create_app().test_client()
    assert partner_get(client, "Jalan rusak di Kota Bogor", CITIZEN).status_code == 200
    get_redis().flushdb()  # the handler job is gone
    worker = start_role(db, "worker")
    try:
        report = sweep_messages(now=_later())
        assert report.requeued_inbound == 1
        complaint_by_text("Jalan rusak di Kota Bogor")
        wait_for(lambda: outbox_rows() and outbox_rows()[0].status == OutboxStatus.SENT)
        assert sweep_messages(now=_later()).requeued_inbound == 0
    finally:
        stop_role(worker)
    assert len(sent.to("/cgi-bin/sendsms")) == 1


def test_flush_between_outbox_commit_and_send_job(db: dict[str, str], sent: Recorder) -> None:
    client = create_app().test_client()
    partner_get(client, "Sampah menumpuk di Kota Depok", CITIZEN)
    get_redis().flushdb()
    assert count(InboundMessage) == 1
    process_inbound([_inbound_id()])  # commits the reply row and wakes Redis...
    get_redis().flushdb()  # ...and the send job is lost too
    assert outbox_rows()[0].status == OutboxStatus.QUEUED
    worker = start_role(db, "worker")
    try:
        for _ in range(3):  # however often the sweep runs, one SMS
            sweep_messages(now=_later())
        wait_for(lambda: outbox_rows()[0].status == OutboxStatus.SENT)
        sweep_messages(now=_later())
        wait_for(lambda: sent.to("/cgi-bin/sendsms"))
    finally:
        stop_role(worker)
    assert len(sent.to("/cgi-bin/sendsms")) == 1
    assert count(OutboundMessage) == 1


def test_a_send_interrupted_mid_flight_fails_visibly(db: dict[str, str]) -> None:
    client = create_app().test_client()
    partner_get(client, "Pungli di Kota Depok", CITIZEN)
    process_inbound([_inbound_id()])
    from models import outbox
    from models.db import session_scope

    with session_scope() as session:
        (claim,) = outbox.claim_ids(session, [outbox_rows()[0].id])  # a worker took it, then died
    report = sweep_messages(now=utcnow() + timedelta(minutes=5))
    assert report.expired_leases == 1
    row = outbox_rows()[0]
    assert row.status == OutboxStatus.FAILED
    assert "interrupted while sending" in (row.last_error or "")
    assert claim.id == row.id


def test_a_lost_send_job_is_found_behind_hundreds_of_rows_an_smpp_link_polls(
    db: dict[str, str], sent: Recorder
) -> None:
    """SMPP links read the outbox themselves: their backlog must not hide a partner's reply."""
    from models.db import session_scope

    with session_scope() as session:
        session.add_all(
            OutboundMessage(
                recipient=f"+62812990{n:05d}",
                sender="1708",
                text="Laporan Anda diterima",
                template="test",
                channel="smpp",
                link="tsel",
                next_attempt_at=utcnow() - timedelta(hours=1),
                idempotency_key=f"smpp-backlog:{n}",
            )
            for n in range(600)  # above models.sweep.BATCH, and older than the reply
        )
    client = create_app().test_client()
    partner_get(client, "Banjir di Kota Bekasi", CITIZEN)
    get_redis().flushdb()
    process_inbound([_inbound_id()])
    get_redis().flushdb()  # the reply's send job is lost
    worker = start_role(db, "worker")
    try:
        report = sweep_messages(now=_later())
        wait_for(lambda: sent.to("/cgi-bin/sendsms"))  # the citizen gets the reply
    finally:
        stop_role(worker)
    assert report.rewoken_outbound == 1
    assert (
        count(
            OutboundMessage,
            OutboundMessage.channel == "smpp",
            OutboundMessage.status == OutboxStatus.QUEUED,
        )
        == 600
    )


def _inbound_id() -> int:
    from sqlalchemy import select

    from models.db import session_scope

    with session_scope() as session:
        return session.scalar(select(InboundMessage.id))
