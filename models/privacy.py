"""Personal data (UU 27/2022): export everything held about a number, erase it, retention.

Erasure replaces every spelling of the number with a random token that is
never stored next to the number, so it cannot be reversed; complaints,
their history and statistics stay intact and are still found by tracking
number.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.settings import get_settings
from models.actions import record_event
from models.agencies import Officer
from models.base import utcnow
from models.complaints import OPEN_STATUSES, Complaint, ComplaintEvent
from models.db import session_scope
from models.inbound import InboundMessage
from models.mo_parts import SmppMoPart
from models.outbox import OutboundMessage
from models.phone import normalize, reporter_key
from models.reporters import Reporter

log = logging.getLogger(__name__)

ERASED_MASK = "dihapus"


def spellings(number: str) -> list[str]:
    """How channels may have written this number: +628.., 628.., 08.. (and as given)."""
    e164 = normalize(number)
    if e164 is None:
        return [number.strip()]
    national = "0" + e164[3:] if e164.startswith("+62") else e164
    return sorted({number.strip(), e164, e164.lstrip("+"), national})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_reporter(session: Session, number: str) -> dict[str, Any] | None:
    """Everything held about one number, as plain JSON-able data; None if nothing is."""
    reporter = session.scalar(select(Reporter).where(Reporter.msisdn == reporter_key(number)))
    addresses = spellings(number)
    inbound = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.sender.in_(addresses))
        .order_by(InboundMessage.id)
    ).all()
    outbound = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.recipient.in_(addresses))
        .order_by(OutboundMessage.id)
    ).all()
    if reporter is None and not inbound and not outbound:
        return None
    complaints = (
        session.scalars(
            select(Complaint).where(Complaint.reporter_id == reporter.id).order_by(Complaint.id)
        ).all()
        if reporter
        else []
    )
    return {
        "reporter": reporter
        and {
            "msisdn": reporter.msisdn,
            "created_at": _iso(reporter.created_at),
            "blocked": reporter.blocked,
        },
        "complaints": [
            {
                "tracking_number": c.tracking_number,
                "text": c.text,
                "status": c.status,
                "sector": c.sector,
                "region_code": c.region_code,
                "anonymous": c.anonymous,
                "confidential": c.confidential,
                "created_at": _iso(c.created_at),
                "events": [
                    {"action": e.action, "note": e.note, "at": _iso(e.created_at)}
                    for e in session.scalars(
                        select(ComplaintEvent)
                        .where(ComplaintEvent.complaint_id == c.id)
                        .order_by(ComplaintEvent.id)
                    )
                ],
            }
            for c in complaints
        ],
        "messages_received": [
            {"channel": m.channel, "text": m.text, "at": _iso(m.received_at)} for m in inbound
        ],
        "messages_sent": [
            {"channel": m.channel, "text": m.text, "status": m.status, "at": _iso(m.created_at)}
            for m in outbound
        ],
    }


def erase_reporter(session: Session, number: str, *, actor: str = "admin") -> bool:
    """Replace the number everywhere with an irreversible token; False if nothing was held."""
    token = f"erased:{uuid.uuid4().hex}"
    addresses = spellings(number)
    reporter = session.scalar(select(Reporter).where(Reporter.msisdn == reporter_key(number)))
    changed = 0
    for column in (InboundMessage.sender, OutboundMessage.recipient, SmppMoPart.sender):
        changed += session.execute(
            update(column.class_)
            .where(column.in_(addresses))
            .values({column.key: token})
            .execution_options(synchronize_session=False)
        ).rowcount
    if reporter is not None:
        reporter.msisdn = token
        reporter.masked = ERASED_MASK
        for complaint in session.scalars(
            select(Complaint).where(Complaint.reporter_id == reporter.id)
        ):
            complaint.reply_address = token
            record_event(
                session, complaint, actor=actor, action="reporter_erased", before=complaint.status
            )
        changed += 1
    return changed > 0


# A run erases for this long at most (RQ's job timeout is 180 s); the rest waits a day.
RETENTION_BUDGET_S = 120.0


def apply_retention(days: int, now: datetime | None = None) -> int:
    """Erase the numbers silent for `days` days, each in a transaction of its own; how many.

    A reporter goes once every complaint of theirs is closed and none changed
    within the period: a complaint still open keeps its reporter whatever its
    age (the agency's answer must reach them, an erased reply address would
    lose it). Silent means they texted nothing either: a CEK keeps them. A
    number that texted but never filed (CEK, INFO, an empty message) goes
    once its last message is that old too. Officers' and blocked numbers stay
    (erased, a block would be lifted). One short transaction a number: a
    long run neither holds SQLite's write lock for its length nor loses what
    it did to a timeout, and a number that texts meanwhile is seen.
    """
    cutoff = (now or utcnow()) - timedelta(days=days)
    with session_scope() as session:
        numbers = _silent_reporters(session, cutoff) + _strangers(session, cutoff)
    deadline = time.monotonic() + RETENTION_BUDGET_S
    erased = 0
    for done, number in enumerate(numbers):
        if time.monotonic() > deadline:
            log.warning("retention: %d numbers left for the next run", len(numbers) - done)
            break
        with session_scope() as session:
            if not _wrote_since(session, number, cutoff):
                erase_reporter(session, number, actor="retention")
                erased += 1
    return erased


def _silent_reporters(session: Session, cutoff: datetime) -> list[str]:
    """Reporters none of whose complaints is open or changed since `cutoff` (numbers)."""
    kept = (
        select(Complaint.id)
        .where(
            Complaint.reporter_id == Reporter.id,
            Complaint.status.in_(OPEN_STATUSES) | (Complaint.updated_at >= cutoff),
        )
        .exists()
    )
    stale = session.scalars(
        select(Reporter.msisdn).where(
            ~Reporter.msisdn.startswith("erased:"),
            ~Reporter.blocked,
            ~kept,
            Reporter.msisdn.not_in(select(Officer.msisdn)),  # their own complaint made them one
        )
    ).all()
    return [msisdn.removeprefix("raw:") for msisdn in stale]


def _strangers(session: Session, cutoff: datetime) -> list[str]:
    """Numbers with messages older than `cutoff` that are neither reporters nor officers."""
    seen: set[str] = set()
    strangers: list[str] = []
    old_senders = session.scalars(
        select(InboundMessage.sender)
        .where(InboundMessage.received_at < cutoff, ~InboundMessage.sender.startswith("erased:"))
        .distinct()
    ).all()
    for sender in old_senders:
        key = reporter_key(sender)
        if key in seen:
            continue
        seen.add(key)
        known = session.scalar(select(Reporter.id).where(Reporter.msisdn == key)) or (
            session.scalar(select(Officer.id).where(Officer.msisdn == key))
        )
        if known is None:
            strangers.append(sender)
    return strangers


def _wrote_since(session: Session, number: str, since: datetime) -> bool:
    """Did `number` (any spelling) text us at or after `since`?"""
    return (
        session.scalar(
            select(InboundMessage.id)
            .where(
                InboundMessage.sender.in_(spellings(number)), InboundMessage.received_at >= since
            )
            .limit(1)
        )
        is not None
    )


def retention_job() -> int:
    """The daily RQ cron job: apply RETENTION_DAYS when it is set."""
    days = get_settings().retention_days
    return apply_retention(days) if days > 0 else 0
