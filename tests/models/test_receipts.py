"""Delivery receipts matched in batches: late, repeated and out of order, as telcos send them."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from models.db import get_engine, session_scope
from models.outbox import (
    OutboundMessage,
    OutboundSegment,
    ReceiptUpdate,
    mark_sent_many,
    record_receipts,
)

from channels import sending_row
from support import migrated_pg_database, statements_sent, wait_for


def _sent(key: str, external_ids: list[str]) -> int:
    """An outbox row accepted by the carrier, one id per segment."""
    outbound_id = sending_row(key, channel="smpp", link="tsel")
    with session_scope() as session:
        mark_sent_many(session, {outbound_id: external_ids})
    return outbound_id


def _record(*receipts: ReceiptUpdate) -> list[bool]:
    with session_scope() as session:
        return record_receipts(session, channel="smpp", link="tsel", receipts=list(receipts))


def _row(
    outbound_id: int, engine: Engine | None = None
) -> tuple[str, str | None, list[str | None]]:
    """Status, dlr_state and the segments' states (on `engine`: a test's own database)."""
    with session_scope() if engine is None else Session(engine) as session:
        row = session.get(OutboundMessage, outbound_id)
        assert row is not None
        segments = session.scalars(
            select(OutboundSegment.dlr_state)
            .where(OutboundSegment.outbound_id == outbound_id)
            .order_by(OutboundSegment.id)
        ).all()
        return row.status, row.dlr_state, list(segments)


def test_a_batch_out_of_order_and_twice_ends_delivered_once_every_segment_is(
    db: dict[str, str],
) -> None:
    two_parts = _sent("a", ["1001", "1002"])
    other = _sent("b", ["2001"])
    known = _record(
        ReceiptUpdate(("1002",), "delivered"),
        ReceiptUpdate(("9999",), "delivered"),  # nobody's
        ReceiptUpdate(("1002",), "delivered"),  # again
        ReceiptUpdate(("2001",), "undeliverable", "stat:UNDELIV err:001"),
    )
    assert known == [True, False, True, True]
    assert _row(two_parts) == ("sent", "delivered", [None, "delivered"])
    assert _row(other) == ("sent", "undeliverable", ["undeliverable"])

    # The first segment's intermediate report arrives after the final one of its sibling,
    # then its final one, then the intermediate one again, late.
    assert _record(
        ReceiptUpdate(("1001",), "enroute"),
        ReceiptUpdate(("1001",), "delivered"),
        ReceiptUpdate(("1001",), "enroute"),
        ReceiptUpdate(("2001",), "enroute"),
    ) == [True, True, True, True]
    assert _row(two_parts) == ("delivered", "delivered", ["delivered", "delivered"])
    assert _row(other) == ("sent", "undeliverable", ["undeliverable"])


def test_the_first_spelling_that_is_stored_wins(db: dict[str, str]) -> None:
    hex_stored = _sent("c", ["1f"])
    assert _record(ReceiptUpdate(("31", "1f"), "delivered")) == [True]
    assert _row(hex_stored)[0] == "delivered"


def test_a_receipt_for_another_link_leaves_the_message_alone(db: dict[str, str]) -> None:
    ours = _sent("d", ["3001"])
    with session_scope() as session:
        assert record_receipts(
            session, channel="smpp", link="isat", receipts=[ReceiptUpdate(("3001",), "delivered")]
        ) == [False]
    assert _row(ours) == ("sent", None, [None])


def test_a_busy_links_sends_and_receipts_take_a_few_statements_a_batch(
    db: dict[str, str],
) -> None:
    """A receipt for every segment sent: per batch, not per row, or the link falls behind."""
    ids = [sending_row(f"busy{n}", channel="smpp", link="tsel") for n in range(40)]
    with statements_sent() as sent, session_scope() as session:
        mark_sent_many(session, {i: [f"{n:x}00", f"{n:x}01"] for n, i in enumerate(ids)})
    # The messages, then their 80 segments (on PostgreSQL one statement does both).
    statements = 1 if get_engine().dialect.name == "postgresql" else 2
    assert [many for _, many in sent] == [False] * statements, sent

    receipts = [ReceiptUpdate((f"{n:x}0{k}",), "delivered") for n in range(30) for k in (0, 1)]
    receipts += [ReceiptUpdate((f"{n:x}00",), "undeliverable", "err:001") for n in range(30, 40)]
    with statements_sent() as recorded:
        assert _record(*receipts) == [True] * 70
    # One read; segments delivered / undeliverable; messages delivered / undeliverable.
    assert [many for _, many in recorded] == [False] * 5, recorded
    assert [_row(i)[0] for i in ids] == ["delivered"] * 30 + ["sent"] * 10
    assert _row(ids[-1]) == ("sent", "undeliverable", ["undeliverable", None])


def _waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


def test_reports_racing_in_two_transactions_keep_the_final_state() -> None:
    """Kannel reports 'accepted' and 'delivered' on one message at once, and a partner's web
    hook may take both in two transactions: the later one waits for the first and reads what it
    wrote, rather than writing 'accepted' over 'delivered' from what it read before."""
    with migrated_pg_database() as engine:
        with Session(engine) as session, session.begin():
            outbound_id = sending_row("race", channel="http", link="kannel", session=session)
            mark_sent_many(session, {outbound_id: ["7001"]})

        def report(state: str) -> Session:
            session = Session(engine)
            session.begin()
            update = ReceiptUpdate(("7001",), state)
            assert record_receipts(session, channel="http", link="kannel", receipts=[update])
            return session

        first = report("delivered")
        late = threading.Thread(target=lambda: report("accepted").commit())
        late.start()
        wait_for(lambda: _waiting_for_a_lock(engine), timeout_s=10)
        first.commit()
        late.join(10)
        assert _row(outbound_id, engine) == ("delivered", "delivered", ["delivered"])
