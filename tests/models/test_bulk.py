"""Multi-row inserts: every row kept as given, on both databases; one SQL text on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.bulk import RowsInsert, RowsInsertOrLock
from models.complaints import ComplaintEvent
from models.db import make_engine
from models.migrate import upgrade
from models.outbox import OutboundMessage, OutboxStatus
from models.reporters import Reporter

from support import migrated_pg_database

EVENTS = RowsInsert(ComplaintEvent.__table__, ("id",))
REPORTERS = RowsInsertOrLock(Reporter, "msisdn")
OUTBOX = RowsInsert(
    OutboundMessage.__table__, ("id", "idempotency_key"), skip_duplicates_of=("idempotency_key",)
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        with migrated_pg_database() as pg:
            yield pg
        return
    lite = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    upgrade(engine=lite)
    yield lite
    lite.dispose()


def _event(n: int, when: object) -> dict[str, object]:
    note = f'catatan {n} — ünïcødé 🙂 "quoted" \\ {"x" * (n % 7)}'
    return {
        "complaint_id": None,
        "actor": "system",
        "action": "routed",
        "status_before": None,
        "status_after": None,
        "agency_id": None,
        "note": note,
        "created_at": when,
    }


def _sms(key: str, text: str) -> dict[str, object]:
    return {
        "recipient": "+628123456789",
        "sender": "1708",
        "text": text,
        "template": "ack_new",
        "channel": "smpp",
        "link": "telco",
        "idempotency_key": key,
        "complaint_id": None,
    }


def test_the_ids_returned_are_those_of_the_rows_in_the_order_given(engine: Engine) -> None:
    when = utcnow().replace(microsecond=123456)
    rows = [_event(n, when + timedelta(seconds=n)) for n in range(150)]
    with Session(engine) as session, session.begin():
        ids = [event_id for (event_id,) in EVENTS(session, rows)]
    with Session(engine) as session:
        stored = {e.id: (e.note, e.created_at) for e in session.scalars(select(ComplaintEvent))}
    assert [stored[event_id] for event_id in ids] == [(r["note"], r["created_at"]) for r in rows]


def test_columns_not_given_get_the_models_defaults_and_a_known_key_is_skipped(
    engine: Engine,
) -> None:
    before = utcnow()
    with Session(engine) as session, session.begin():
        first = OUTBOX(session, [_sms("ack:1", "pertama"), _sms("ack:2", "kedua")])
    with Session(engine) as session, session.begin():
        again = OUTBOX(session, [_sms("ack:2", "ganti"), _sms("ack:3", "ketiga")])
    with Session(engine) as session:
        stored = {m.idempotency_key: m for m in session.scalars(select(OutboundMessage))}

    assert [key for _, key in first] == ["ack:1", "ack:2"]
    assert [key for _, key in again] == ["ack:3"]  # ack:2 was queued already
    assert {key: m.text for key, m in stored.items()} == {
        "ack:1": "pertama",
        "ack:2": "kedua",
        "ack:3": "ketiga",
    }
    for message in stored.values():
        assert message.status == OutboxStatus.QUEUED and message.attempts == 0
        assert message.external_ids == "[]" and message.lease_until is None
        assert before <= message.next_attempt_at <= utcnow()
    assert {m.id for m in stored.values()} == {row_id for row_id, _ in first + again}


def test_postgresql_runs_one_sql_text_for_any_number_of_rows() -> None:
    """psycopg converts and prepares a statement per SQL text, and a worker's groups come
    in every size: a text per size was milliseconds of CPU a group (models/bulk.py)."""
    texts: set[str] = set()
    with migrated_pg_database() as pg:

        @event.listens_for(pg, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            texts.add(statement)

        when = utcnow()
        for size in (1, 7, 100):
            with Session(pg) as session, session.begin():
                assert len(EVENTS(session, [_event(n, when) for n in range(size)])) == size
                numbers = [{"msisdn": f"+62812{n:07d}", "masked": "x"} for n in range(size)]
                assert [r.msisdn for r in REPORTERS(session, numbers)] == [
                    row["msisdn"] for row in numbers
                ]
    assert len(texts) == 2  # the events' and the reporters'
