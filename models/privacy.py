"""Personal data (UU 27/2022): export everything held about a number, erase it, retention.

Erasure replaces every spelling of the number with a random token that is
never stored next to the number, so it cannot be reversed; complaints,
their history and statistics stay intact and are still found by tracking
number.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config.settings import get_settings
from models.actions import record_event
from models.base import utcnow
from models.complaints import OPEN_STATUSES, Complaint, ComplaintEvent
from models.db import session_scope
from models.inbound import InboundMessage
from models.mo_parts import SmppMoPart
from models.outbox import OutboundMessage
from models.phone import normalize, reporter_key
from models.reporters import Reporter

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


def apply_retention(session: Session, days: int, now: datetime | None = None) -> int:
    """Erase reporters whose complaints are all closed and silent for `days` days; how many.

    A complaint still open keeps its reporter whatever its age: the agency's answer must
    reach them (an erased reply address would lose it).
    """
    cutoff = (now or utcnow()) - timedelta(days=days)
    still_open = (
        select(Complaint.id)
        .where(Complaint.reporter_id == Reporter.id, Complaint.status.in_(OPEN_STATUSES))
        .exists()
    )
    last_complaint = (
        select(Complaint.reporter_id, func.max(Complaint.updated_at).label("last"))
        .group_by(Complaint.reporter_id)
        .subquery()
    )
    stale = session.scalars(
        select(Reporter.msisdn)
        .join(last_complaint, last_complaint.c.reporter_id == Reporter.id)
        .where(last_complaint.c.last < cutoff, ~Reporter.msisdn.startswith("erased:"), ~still_open)
    ).all()
    for msisdn in stale:
        erase_reporter(session, msisdn.removeprefix("raw:"), actor="retention")
    return len(stale)


def retention_job() -> int:
    """The daily RQ cron job: apply RETENTION_DAYS when it is set."""
    days = get_settings().retention_days
    if days <= 0:
        return 0
    with session_scope() as session:
        return apply_retention(session, days)
