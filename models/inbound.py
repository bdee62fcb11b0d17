"""Inbound messages: stored and committed before any channel acknowledges them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, case, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from models.base import Base, utcnow
from models.db import InsertSkippingDuplicates, driver_sql, on_postgresql

EXTERNAL_ID_CHARS = 128  # the column's size


def external_key(given: str) -> str:
    """A carrier's message id as stored: whole when it fits, else its start and a digest of
    all of it. Cut to the column's size, two ids alike in their first 128 characters were
    one message, and the second one was dropped as a repeat."""
    if len(given) <= EXTERNAL_ID_CHARS:
        return given
    digest = hashlib.sha256(given.encode()).hexdigest()
    return f"{given[: EXTERNAL_ID_CHARS - len(digest) - 1]}~{digest}"


class InboundState(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


WAITING = text(f"state = '{InboundState.RECEIVED.value}'")  # what a claim reads (in_state)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "link", "external_id"),
        # Only the messages waiting to be handled: what a claim reads (see base.in_state).
        Index("ix_inbound_waiting", "id", postgresql_where=WAITING, sqlite_where=WAITING),
        # A sender's messages, newest last: the way back to an officer (actions.officer_channel).
        Index("ix_inbound_sender", "sender", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_CHARS))
    sender: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(default=1)
    incomplete: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(16), default=InboundState.RECEIVED)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), default=None)


def store_inbound(
    session: Session,
    *,
    channel: str,
    link: str,
    external_id: str,
    sender: str,
    recipient: str,
    text: str,
    parts: int = 1,
    incomplete: bool = False,
    received_at: datetime | None = None,
) -> tuple[int, bool]:
    """Insert once per (channel, link, external_id); return (id, created).

    A telco that re-delivers the same message gets the existing row back, so
    a repeated delivery creates nothing new. The caller commits, then acks.
    """
    values = {
        "channel": channel,
        "link": link,
        "external_id": external_id,
        "sender": sender,
        "recipient": recipient,
        "text": text,
        "parts": parts,
        "incomplete": incomplete,
        "received_at": received_at or utcnow(),
        "state": InboundState.RECEIVED,
    }
    table = InboundMessage.__table__
    stmt = InsertSkippingDuplicates(table, "channel", "link", "external_id").returning(table.c.id)
    new_id = session.execute(stmt, values).scalar()
    if new_id is not None:
        return new_id, True
    existing = session.execute(
        select(InboundMessage.id).where(
            InboundMessage.channel == channel,
            InboundMessage.link == link,
            InboundMessage.external_id == external_id,
        )
    ).scalar_one()
    return existing, False


# link_complaints on PostgreSQL (models.db.driver_sql): one SQL text for any group, where
# the CASE of the statement below is another text, compiled and planned, for every size.
_LINK_COMPLAINTS_PG = """
UPDATE inbound_messages AS m SET complaint_id = filed.complaint_id
FROM unnest(%s::integer[], %s::integer[]) AS filed(id, complaint_id)
WHERE m.id = filed.id
"""


def link_complaints(session: Session, filed: Sequence[tuple[InboundMessage, int]]) -> None:
    """Record the complaint each message filed, one UPDATE for a whole group.

    Set on the objects, the ORM flushed one UPDATE statement per message.
    """
    if not filed:
        return
    complaints = {inbound.id: complaint_id for inbound, complaint_id in filed}
    if on_postgresql(session):
        driver_sql(session, _LINK_COMPLAINTS_PG, (list(complaints), list(complaints.values())))
    else:
        c = InboundMessage.__table__.c
        session.execute(
            update(InboundMessage.__table__)
            .where(c.id.in_(list(complaints)))
            .values(complaint_id=case(complaints, value=c.id))
        )
    for inbound, complaint_id in filed:
        set_committed_value(inbound, "complaint_id", complaint_id)


def retry_failed(session: Session, ids: Sequence[int] = ()) -> list[int]:
    """Failed messages (`ids`, or all of them) waiting again, to be handled anew once the cause
    is fixed: the sender was told theirs is kept (handlers/jobs.py _mark_failed). Their ids."""
    statement = (
        update(InboundMessage)
        .where(InboundMessage.state == InboundState.FAILED)
        .values(state=InboundState.RECEIVED, error=None, processed_at=None)
        .returning(InboundMessage.id)
    )
    if ids:
        statement = statement.where(InboundMessage.id.in_(ids))
    return list(session.scalars(statement))
