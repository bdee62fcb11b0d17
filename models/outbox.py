"""The outbox: every SMS to send is a row written with the change that caused it.

Senders claim rows (queued -> sending, with a lease), then mark them sent,
for retry with backoff, or failed. A row the carrier accepted is never sent
again: only `queued` rows can be claimed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    bindparam,
    case,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, in_state, utcnow
from models.db import driver_sql, on_postgresql, picked_once
from models.phone import mask_in_prose


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # accepted by the carrier
    DELIVERED = "delivered"  # the handset got it (delivery receipt)
    FAILED = "failed"  # visible to operators, who may retry it


WAITING = text(f"status = '{OutboxStatus.QUEUED.value}'")  # what a claim reads (in_state)


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_due", "status", "channel", "link", "next_attempt_at"),
        # A number's replies, for its erasure and export (models/privacy.py).
        Index("ix_outbound_recipient", "recipient"),
        # Only the rows waiting to be sent, in claim order (see base.in_state).
        Index(
            "ix_outbound_waiting",
            "channel",
            "link",
            "id",
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    external_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, one per segment
    dlr_state: Mapped[str | None] = mapped_column(String(24), default=None)
    dlr_at: Mapped[datetime | None] = mapped_column(default=None)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboundSegment(Base):
    """A carrier message id of one sent segment, kept to match delivery receipts."""

    __tablename__ = "outbound_segments"
    __table_args__ = (Index("ix_segment_lookup", "channel", "link", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound_messages.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    dlr_state: Mapped[str | None] = mapped_column(String(24), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@dataclass(frozen=True)
class OutboundClaim:
    """What a sender needs to send one row, detached from the session."""

    id: int
    recipient: str
    sender: str
    text: str
    channel: str
    link: str
    attempts: int


LEASE = timedelta(seconds=120)
# The hot paths of a busy link write through the tables, not the ORM: no per-row bookkeeping.
MESSAGES = OutboundMessage.__table__
SEGMENTS = OutboundSegment.__table__


def waiting(where: list, limit: int, now: datetime) -> Select[tuple[int]]:
    """The oldest due rows `where` picks, locked; rows another sender holds are skipped."""
    return (
        select(OutboundMessage.id)
        .where(
            in_state(OutboundMessage.status, OutboxStatus.QUEUED),
            OutboundMessage.next_attempt_at <= now,
            *where,
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _claim(session: Session, where: list, limit: int) -> list[OutboundClaim]:
    """Up to `limit` due rows `where` picks, now `sending` with a lease: one statement."""
    now = utcnow()
    c = MESSAGES.c
    rows = session.execute(
        update(MESSAGES)
        .where(
            picked_once(
                on_postgresql(session),
                c.id,
                waiting(where, limit, now),
                in_state(c.status, OutboxStatus.QUEUED),
            )
        )
        .values(status=OutboxStatus.SENDING, lease_until=now + LEASE, attempts=c.attempts + 1)
        .returning(c.id, c.recipient, c.sender, c.text, c.channel, c.link, c.attempts)
    ).all()
    return _claims(rows)


def _claims(rows: Iterable[Any]) -> list[OutboundClaim]:
    """A claim's RETURNING rows (id, recipient, sender, text, channel, link, attempts), by id."""
    return sorted((OutboundClaim(*row) for row in rows), key=lambda claim: claim.id)


# claim_outbound on PostgreSQL (models.db.driver_sql): a busy link claims a few rows many
# times a second, and building, cache-keying and rendering the statement each time was most
# of a claim's Python CPU. The states are written in, as in_state does; the UPDATE does not
# check the state again, as models.db.picked_once explains.
_CLAIM_LINK_PG = f"""
WITH picked AS MATERIALIZED (
    SELECT id FROM outbound_messages
    WHERE status = '{OutboxStatus.QUEUED}' AND next_attempt_at <= %s AND channel = %s
        AND link = %s
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
UPDATE outbound_messages AS m
SET status = '{OutboxStatus.SENDING}', lease_until = %s, attempts = m.attempts + 1
FROM picked WHERE m.id = picked.id
RETURNING m.id, m.recipient, m.sender, m.text, m.channel, m.link, m.attempts
"""


def claim_outbound(session: Session, *, channel: str, link: str, limit: int) -> list[OutboundClaim]:
    """Claim up to `limit` due rows of one link (for a link that pulls, like SMPP)."""
    if not on_postgresql(session):
        where = [OutboundMessage.channel == channel, OutboundMessage.link == link]
        return _claim(session, where, limit)
    now = utcnow()
    return _claims(driver_sql(session, _CLAIM_LINK_PG, (now, channel, link, limit, now + LEASE)))


def claim_ids(session: Session, ids: list[int]) -> list[OutboundClaim]:
    """Claim the given rows if they are still queued and due (for an RQ send job)."""
    return _claim(session, [OutboundMessage.id.in_(ids)], len(ids))


def renew_lease(session: Session, ids: list[int]) -> int:
    """Extend the lease of rows a sender still holds (a link waiting out throttling or its TPS).

    Without it the sweep would fail a row that is merely queued behind others
    in the sender, and the row would then be sent anyway. Returns rows renewed.
    """
    if not ids:
        return 0
    c = MESSAGES.c
    result = session.execute(
        update(MESSAGES)
        .where(c.id.in_(ids), c.status == OutboxStatus.SENDING)
        .values(lease_until=utcnow() + LEASE)
    )
    return result.rowcount or 0


_INSERT_SEGMENTS = insert(SEGMENTS).returning(SEGMENTS.c.id)
# The same on PostgreSQL, one statement and one SQL text for any batch (models.db.driver_sql):
# the segments are inserted from the UPDATE's RETURNING, a round trip less for every batch.
_SENT_PG = f"""
WITH sent AS (
    UPDATE outbound_messages AS m
    SET status = '{OutboxStatus.SENT}', sent_at = %(now)s, lease_until = NULL,
        last_error = NULL, external_ids = sent.external_ids
    FROM unnest(%(ids)s::integer[], %(ids_json)s::text[]) AS sent(id, external_ids)
    WHERE m.id = sent.id AND m.status IN ('{OutboxStatus.SENDING}', '{OutboxStatus.FAILED}')
    RETURNING m.id, m.channel, m.link)
INSERT INTO outbound_segments (created_at, outbound_id, channel, link, external_id)
SELECT %(now)s, sent.id, sent.channel, sent.link, segment.external_id
FROM unnest(%(segment_ids)s::integer[], %(external_ids)s::text[])
    AS segment(outbound_id, external_id)
JOIN sent ON sent.id = segment.outbound_id
"""


SENT_FROM = (OutboxStatus.SENDING, OutboxStatus.FAILED)  # see mark_sent


def mark_sent(session: Session, outbound_id: int, external_ids: list[str]) -> None:
    """The carrier accepted the message: keep its ids for delivery receipts.

    For a row still `sending`, or one the sweep failed meanwhile ("may or may not have
    it"): now we know it has it, and an operator must not send it again. Never a row queued
    again (see mark_retry).
    """
    mark_sent_many(session, {outbound_id: external_ids})


def mark_sent_many(session: Session, sent: dict[int, list[str]]) -> None:
    """mark_sent for many rows (id -> its carrier ids, one per segment) in one statement on
    PostgreSQL, two on SQLite.

    A busy SMPP link reports hundreds of accepted messages a second; a round
    trip per row would make its database thread the bottleneck.
    """
    if not sent:
        return
    now = utcnow()
    ids_json = {outbound_id: json.dumps(ids) for outbound_id, ids in sent.items()}
    if on_postgresql(session):
        _mark_sent_pg(session, now, sent, ids_json)
        return
    rows = _update_sent(session, now, ids_json)
    segments = [
        (outbound_id, channel, link, external_id)
        for outbound_id, channel, link in rows
        for external_id in sent[outbound_id]
        if external_id
    ]
    if segments:
        _insert_segments(session, now, segments)


def _mark_sent_pg(
    session: Session, now: datetime, sent: dict[int, list[str]], ids_json: dict[int, str]
) -> None:
    carrier = [(i, external_id) for i, ids in sent.items() for external_id in ids if external_id]
    params = {
        "now": now,
        "ids": list(ids_json),
        "ids_json": list(ids_json.values()),
        "segment_ids": [i for i, _ in carrier],
        "external_ids": [external_id for _, external_id in carrier],
    }
    driver_sql(session, _SENT_PG, params)


Segment = tuple[int, str, str, str]  # outbound id, channel, link, carrier id


def _update_sent(session: Session, now: datetime, ids_json: dict[int, str]) -> list[Any]:
    c = MESSAGES.c
    return list(
        session.execute(
            update(MESSAGES)
            .where(c.id.in_(list(ids_json)), c.status.in_(SENT_FROM))
            .values(
                status=OutboxStatus.SENT,
                sent_at=now,
                lease_until=None,
                last_error=None,
                external_ids=case(ids_json, value=c.id),
            )
            .returning(c.id, c.channel, c.link)
        )
    )


def _insert_segments(session: Session, now: datetime, segments: list[Segment]) -> None:
    keys = ("outbound_id", "channel", "link", "external_id")
    rows = [{**dict(zip(keys, segment, strict=True)), "created_at": now} for segment in segments]
    session.execute(_INSERT_SEGMENTS, rows)  # RETURNING: one multi-row INSERT, not one a row


_STILL_SENDING = MESSAGES.c.status == OutboxStatus.SENDING  # an outcome's guard


def backoff(attempts: int, base_s: float = 5.0, cap_s: float = 3600.0) -> float:
    """Exponential backoff, jittered over its upper half at every attempt, the first included:
    rows that failed together in an outage must not all retry in the same second."""
    longest = min(cap_s, base_s * 2 ** max(attempts - 1, 0))
    return random.uniform(longest / 2, longest)


def mark_retry(
    session: Session,
    outbound_id: int,
    error: str,
    delay_s: float | None = None,
    max_attempts: int = 8,
) -> float | None:
    """Put the row back in the queue after a temporary error; return the delay.

    After `max_attempts` the row fails visibly instead (and None is returned).
    Only a row still `sending` changes: once the sweep failed a send whose lease
    expired, a late outcome must not queue it again (a second SMS), nor undo the
    operator's view of it. None then too.
    """
    c = MESSAGES.c
    attempts = session.scalar(select(c.attempts).where(c.id == outbound_id, _STILL_SENDING))
    if attempts is None:
        return None
    if attempts >= max_attempts:
        mark_failed(session, outbound_id, f"gave up after {attempts} attempts: {error}")
        return None
    delay = backoff(attempts) if delay_s is None else delay_s
    queued = session.execute(
        update(MESSAGES)
        .where(c.id == outbound_id, _STILL_SENDING)
        .values(
            status=OutboxStatus.QUEUED,
            lease_until=None,
            last_error=_error(error),
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
    )
    return delay if queued.rowcount else None


def _error(text: str) -> str:
    """A provider's error as kept: its phone numbers masked ("The 'To' number +62... is not
    valid" would outlive the reporter's erasure, and reaches /api/outbox)."""
    return mask_in_prose(text)[:1000]


def mark_failed(session: Session, outbound_id: int, error: str) -> None:
    """Fail a row visibly, with the reason; only while it is `sending` (see mark_retry)."""
    c = MESSAGES.c
    session.execute(
        update(MESSAGES)
        .where(c.id == outbound_id, _STILL_SENDING)
        .values(status=OutboxStatus.FAILED, lease_until=None, last_error=_error(error))
    )


FINAL_RECEIPT_STATES = frozenset({"delivered", "undeliverable", "rejected", "expired", "failed"})


@dataclass(frozen=True)
class ReceiptUpdate:
    """One delivery receipt: the ids it may be stored under (first match wins), its state."""

    external_ids: tuple[str, ...]
    state: str
    error: str | None = None


def record_receipt(
    session: Session,
    *,
    channel: str,
    link: str,
    external_id: str,
    state: str,
    error: str | None = None,
) -> bool:
    """Match one delivery receipt to its segment (see record_receipts); False for an unknown id."""
    update_ = ReceiptUpdate((external_id,), state, error)
    return record_receipts(session, channel=channel, link=link, receipts=[update_])[0]


def record_receipts(
    session: Session, *, channel: str, link: str, receipts: list[ReceiptUpdate]
) -> list[bool]:
    """Match delivery receipts to their segments; late, repeated and out-of-order ones included.

    Applied in the order given. A final state is never replaced by an
    intermediate one that arrives late; the message is delivered when every
    segment is. One read for the whole list and one write per distinct
    outcome (mostly: all delivered), through the tables: a busy link gets a
    receipt for every segment it sends, and loading and flushing an ORM
    object per segment and message was most of its database thread's work
    (tests/models/test_receipts.py). False for an unknown id.
    """
    wanted = {external_id for receipt in receipts for external_id in receipt.external_ids}
    if not wanted:
        return [False] * len(receipts)
    segments = _receipt_segments(session, channel, link, wanted)
    newest = {
        segment.external_id: segment
        for segment in segments
        if segment.matches and segment.external_id in wanted
    }
    siblings: dict[int, list[_Segment]] = {}
    for segment in segments:
        siblings.setdefault(segment.outbound_id, []).append(segment)
    known: list[bool] = []
    for receipt in receipts:
        segment = next((newest[i] for i in receipt.external_ids if i in newest), None)
        known.append(segment is not None)
        if segment is not None:
            _apply_receipt(segment, siblings[segment.outbound_id], receipt)
    _write_receipts(session, segments, utcnow())
    return known


@dataclass
class _Segment:
    """A segment and its message as a batch of receipts changes them (see record_receipts)."""

    id: int
    outbound_id: int
    external_id: str
    matches: bool  # of the receipts' channel and link (a sibling always is, by its message)
    dlr_state: str | None
    message: _Message
    changed: bool = False


@dataclass
class _Message:
    dlr_state: str | None
    status: str
    last_error: str | None
    touched: bool = False
    changed: dict[str, str | None] = field(default_factory=dict)


def _segments_named() -> Select[tuple[Any, ...]]:
    """Every segment (and its message) of the messages with a segment of these ids on a link."""
    s, m = SEGMENTS.c, MESSAGES.c
    named = select(s.outbound_id).where(
        s.channel == bindparam("channel"),
        s.link == bindparam("link"),
        s.external_id.in_(bindparam("wanted", expanding=True)),
    )
    return (
        select(
            s.id,
            s.outbound_id,
            s.external_id,
            s.channel,
            s.link,
            s.dlr_state,
            m.dlr_state,
            m.status,
            m.last_error,
        )
        .join(MESSAGES, m.id == s.outbound_id)
        .where(s.outbound_id.in_(named))
        .order_by(s.id)
        .with_for_update()  # a partner's reports of one message may race in two transactions
    )


# Built once: a link's database thread reads it for every batch of receipts.
_SEGMENTS_NAMED = _segments_named()
# The same on PostgreSQL (models.db.driver_sql): one text for any number of ids.
_SEGMENTS_NAMED_PG = """
SELECT s.id, s.outbound_id, s.external_id, s.channel, s.link, s.dlr_state,
       m.dlr_state, m.status, m.last_error
FROM outbound_segments AS s JOIN outbound_messages AS m ON m.id = s.outbound_id
WHERE s.outbound_id IN (
    SELECT n.outbound_id FROM outbound_segments AS n
    WHERE n.channel = %s AND n.link = %s AND n.external_id = ANY(%s::text[]))
ORDER BY s.id
FOR UPDATE
"""
_SEGMENT_STATES_PG = "UPDATE outbound_segments SET dlr_state = %s WHERE id = ANY(%s::integer[])"


def _receipt_segments(
    session: Session, channel: str, link: str, wanted: set[str]
) -> list[_Segment]:
    """Every segment of the messages the wanted ids name, oldest first, with its message.

    Locked: a second transaction reporting on the same message waits here and
    then reads what the first one wrote, instead of overwriting it with what
    it read before (a late 'accepted' over 'delivered').
    """
    if on_postgresql(session):
        rows = driver_sql(session, _SEGMENTS_NAMED_PG, (channel, link, sorted(wanted)))
    else:
        rows = session.execute(
            _SEGMENTS_NAMED, {"channel": channel, "link": link, "wanted": sorted(wanted)}
        )
    messages: dict[int, _Message] = {}
    segments = []
    for sid, oid, eid, s_channel, s_link, s_state, m_state, status, error in rows:
        message = messages.setdefault(oid, _Message(m_state, status, error))
        matches = s_channel == channel and s_link == link
        segments.append(_Segment(sid, oid, eid, matches, s_state, message))
    return segments


def _apply_receipt(segment: _Segment, siblings: list[_Segment], receipt: ReceiptUpdate) -> None:
    state = receipt.state
    if segment.dlr_state in FINAL_RECEIPT_STATES and state not in FINAL_RECEIPT_STATES:
        return
    segment.changed |= segment.dlr_state != state
    segment.dlr_state = state
    message = segment.message
    message.touched = True
    if all(s.dlr_state == "delivered" for s in siblings):
        _set(message, dlr_state="delivered", status=OutboxStatus.DELIVERED)
    elif message.dlr_state not in FINAL_RECEIPT_STATES or state in FINAL_RECEIPT_STATES:
        _set(message, dlr_state=state)
        if receipt.error:
            _set(message, last_error=_error(receipt.error))


def _set(message: _Message, **values: str) -> None:
    for column, value in values.items():
        if getattr(message, column) != value:
            setattr(message, column, value)
            message.changed[column] = value


def _write_receipts(session: Session, segments: list[_Segment], now: datetime) -> None:
    """What the receipts changed: an UPDATE for each distinct set of new values."""
    by_state: dict[str | None, list[int]] = {}
    by_change: dict[tuple[tuple[str, str | None], ...], list[int]] = {}
    seen: set[int] = set()
    for segment in segments:
        if segment.changed:
            by_state.setdefault(segment.dlr_state, []).append(segment.id)
        message = segment.message
        if message.touched and segment.outbound_id not in seen:
            seen.add(segment.outbound_id)
            key = tuple(sorted(message.changed.items()))
            by_change.setdefault(key, []).append(segment.outbound_id)
    if on_postgresql(session):
        for state, ids in by_state.items():
            driver_sql(session, _SEGMENT_STATES_PG, (state, ids))
        for change, ids in by_change.items():
            columns = tuple(column for column, _ in change)
            values = tuple(None if value is None else str(value) for _, value in change)
            driver_sql(session, _message_receipts_pg(columns), (now, *values, ids))
        return
    s, m = SEGMENTS.c, MESSAGES.c
    for state, ids in by_state.items():
        session.execute(update(SEGMENTS).where(s.id.in_(ids)).values(dlr_state=state))
    for change, ids in by_change.items():
        session.execute(update(MESSAGES).where(m.id.in_(ids)).values(dlr_at=now, **dict(change)))


@cache
def _message_receipts_pg(columns: tuple[str, ...]) -> str:
    """The UPDATE of the messages whose receipts changed `columns` (of _Message's few), for
    driver_sql: one text for each set of columns, whatever the number of messages."""
    assignments = "".join(f", {column} = %s" for column in columns)
    return f"UPDATE outbound_messages SET dlr_at = %s{assignments} WHERE id = ANY(%s::integer[])"


def requeue_failed(session: Session, outbound_id: int) -> bool:
    """An operator's retry of a failed row: back to the queue with fresh attempts."""
    from models.db import after_commit
    from models.queues import wake_outbox

    row = session.get(OutboundMessage, outbound_id)
    if row is None or row.status != OutboxStatus.FAILED:
        return False
    row.status = OutboxStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = utcnow()
    wake = (row.id, row.channel, row.link)
    after_commit(session, lambda: wake_outbox([wake]))
    return True
