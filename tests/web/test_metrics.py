"""GET /metrics: what operators alert on, computed from the database and Redis."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from models.base import utcnow

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
