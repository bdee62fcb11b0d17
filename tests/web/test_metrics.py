"""GET /metrics: what operators alert on, computed from the database and Redis."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from models.base import utcnow
from models.db import session_scope
from models.outbox import OutboundMessage, claim_ids, mark_failed

from web_support import file, set_fields


def _samples(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.get_data(as_text=True))
        for s in family.samples
    }


def test_messages_backlog_queues_and_complaints(client: FlaskClient) -> None:
    late = file("jalan rusak")
    set_fields(late, followup_due_at=utcnow() - timedelta(hours=2))
    file("sampah")
    client.post("/sim/sms", json={"from": "081234567009", "text": "CEK"})
    samples = _samples(client)
    assert samples[("lapor_database_up", ())] == 1
    assert samples[("lapor_redis_up", ())] == 1
    assert samples[("lapor_messages_in_total", (("channel", "sim"), ("link", "web")))] == 1
    out = (("channel", "sim"), ("link", "web"), ("status", "queued"))
    assert samples[("lapor_messages_out_total", out)] == 2
    assert samples[("lapor_outbox_backlog", (("channel", "sim"), ("link", "web")))] == 2
    assert samples[("lapor_complaints", (("status", "assigned"),))] == 2
    assert samples[("lapor_complaints_overdue", ())] == 1
    assert samples[("lapor_queue_depth", (("queue", "inbound"),))] == 1
    assert samples[("lapor_queue_depth", (("queue", "outbound"),))] == 2


def test_link_state_and_failed_messages(client: FlaskClient) -> None:
    """Links as their SMPP processes publish them to Redis; a failed row awaiting an operator."""
    from gateway.smpp.config import LinkConfig
    from gateway.smpp.link import Link
    from models.queues import get_redis

    def link(name: str, bind: Literal["trx", "txrx"]) -> Link:
        config = LinkConfig(name, "127.0.0.1", 2775, "lapor", "secret", bind=bind)
        return Link(config, redis=get_redis(), on_inbound=lambda ids: None)

    link("tsel", "trx")._on_state("trx", True, "bound")
    txrx = link("isat", "txrx")
    txrx._on_state("tx", True, "bound")
    txrx._on_state("rx", False, "connection refused")  # one session down: the link is down
    complaint = file("air pdam mati")
    file("lampu jalan padam", number="081234567002")
    sim = (("channel", "sim"), ("link", "web"))
    assert ("lapor_outbox_failed", sim) not in _samples(client)
    with session_scope() as session:
        row = session.scalar(
            select(OutboundMessage).where(OutboundMessage.complaint_id == complaint.id)
        )
        claim_ids(session, [row.id])  # a sender took it, and the carrier refused it
        mark_failed(session, row.id, "carrier refused")

    samples = _samples(client)
    assert samples[("lapor_link_up", (("link", "tsel"),))] == 1
    assert samples[("lapor_link_up", (("link", "isat"),))] == 0
    assert samples[("lapor_outbox_failed", sim)] == 1
    assert samples[("lapor_messages_out_total", (*sim, ("status", "failed")))] == 1
    assert samples[("lapor_messages_out_total", (*sim, ("status", "queued")))] == 1
    assert samples[("lapor_outbox_backlog", sim)] == 1  # a failed row is not backlog
