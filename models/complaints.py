"""Complaints and their audit trail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.agencies import Agency
from models.base import Base, utcnow
from models.reporters import Reporter


class Status(StrEnum):
    RECEIVED = "received"  # filed, not yet routed to an agency (unverified)
    ASSIGNED = "assigned"  # an agency holds it, nobody accepted yet
    IN_PROGRESS = "in_progress"
    DONE = "done"  # the agency answered; the citizen may rate
    CLOSED = "closed"


OPEN_STATUSES = (Status.RECEIVED, Status.ASSIGNED, Status.IN_PROGRESS)


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[int] = mapped_column(BigInteger, unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    reply_address: Mapped[str] = mapped_column(String(64))  # the reporter as the channel spells it
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(64))
    sector: Mapped[str] = mapped_column(String(32), index=True)
    region_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), index=True, default=None
    )
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(16), default=Status.RECEIVED, index=True)
    anonymous: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(default=False)
    complaint_type: Mapped[str] = mapped_column(String(16), default="normal")
    routing_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    routing_explanation: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    disposition_due_at: Mapped[datetime | None] = mapped_column(default=None)
    # the follow-up time counts from acceptance
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    followup_due_at: Mapped[datetime | None] = mapped_column(default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    reporter: Mapped[Reporter] = relationship()
    agency: Mapped[Agency | None] = relationship()


class ComplaintEvent(Base):
    """One line of the audit trail: who did what, and the status before and after."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id"), index=True, default=None
    )
    actor: Mapped[str] = mapped_column(String(64))  # "reporter:12", "officer:3", "system", "admin"
    action: Mapped[str] = mapped_column(String(32))
    status_before: Mapped[str | None] = mapped_column(String(16), default=None)
    status_after: Mapped[str | None] = mapped_column(String(16), default=None)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Counter(Base):
    """Named counters: tracking numbers on SQLite (no sequences), the agency table's version."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
