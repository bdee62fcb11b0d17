"""Delivery receipts matched in batches: late, repeated and out of order, as telcos send them."""

from __future__ import annotations

from sqlalchemy import select

from models.db import session_scope
from models.outbox import (
    OutboundMessage,
    OutboundSegment,
    ReceiptUpdate,
    mark_sent_many,
    record_receipts,
)

from channels import sending_row


def _sent(key: str, external_ids: list[str]) -> int:
    """An outbox row accepted by the carrier, one id per segment."""
    outbound_id = sending_row(key, channel="smpp", link="tsel")
    with session_scope() as session:
        mark_sent_many(session, {outbound_id: external_ids})
    return outbound_id


def _record(*receipts: ReceiptUpdate) -> list[bool]:
    with session_scope() as session:
        return record_receipts(session, channel="smpp", link="tsel", receipts=list(receipts))


def _row(outbound_id: int) -> tuple[str, str | None, list[str | None]]:
    with session_scope() as session:
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
