"""The actions layer: the only code that changes complaint state.

Each function changes state, writes the audit event and the outbox rows in
the caller's transaction; nothing here commits. Outbox rows wake their
sender only after the commit (models.db.after_commit).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import get_settings
from models.agencies import Agency
from models.base import utcnow
from models.complaints import Complaint, ComplaintEvent, Status
from models.db import after_commit
from models.outbox import OutboundMessage
from models.phone import mask, normalize
from models.queues import wake_outbox
from models.reporters import Reporter
from models.tracking import next_tracking_number
from templates_sms.render import render


@dataclass(frozen=True)
class Route:
    """Where a complaint goes, as decided by routing/ (kept free of routing types here)."""

    sector: str
    region_code: str | None
    agency_code: str
    confidence: float
    explanation: str
    needs_location: bool


@dataclass(frozen=True)
class Channel:
    """The way back to a person: the channel and link a message came in on, and the address."""

    channel: str
    link: str
    address: str


def ensure_reporter(session: Session, address: str) -> Reporter:
    """The reporter behind an address: 08xx, 628xx and +628xx are one person."""
    msisdn = normalize(address) or f"raw:{address.strip()[:60]}"
    reporter = session.scalar(select(Reporter).where(Reporter.msisdn == msisdn))
    if reporter is None:
        reporter = Reporter(msisdn=msisdn, masked=mask(msisdn.removeprefix("raw:")))
        session.add(reporter)
        session.flush()
    return reporter


def text_fingerprint(text: str) -> str:
    """Same complaint text whatever the case and spacing: for duplicate detection."""
    folded = " ".join(text.lower().split())
    return hashlib.sha256(folded.encode()).hexdigest()


def queue_sms(
    session: Session,
    *,
    to: Channel,
    template: str,
    key: str,
    complaint: Complaint | None = None,
    **values: object,
) -> OutboundMessage | None:
    """Render `template` into an outbox row, once per idempotency `key`.

    Returns None when a row with this key exists already: a retried job or
    a repeated sweep never texts anyone twice.
    """
    if session.scalar(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)):
        return None
    row = OutboundMessage(
        recipient=to.address,
        sender=get_settings().shortcode,
        text=render(template, **values),
        template=template,
        channel=to.channel,
        link=to.link,
        idempotency_key=key,
        complaint_id=complaint.id if complaint else None,
    )
    session.add(row)
    session.flush()
    wake = (row.id, row.channel, row.link)
    after_commit(session, lambda: wake_outbox([wake]))
    return row


def record_event(
    session: Session,
    complaint: Complaint | None,
    *,
    actor: str,
    action: str,
    before: str | None = None,
    note: str = "",
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint_id=complaint.id if complaint else None,
        actor=actor,
        action=action,
        status_before=before,
        status_after=complaint.status if complaint else None,
        agency_id=complaint.agency_id if complaint else None,
        note=note,
    )
    session.add(event)
    return event


def agency_by_code(session: Session, code: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.code == code.upper(), Agency.active))


def recent_duplicate(session: Session, reporter: Reporter, text: str) -> Complaint | None:
    """The same reporter's complaint with the same text in the last 24 hours, if any."""
    return session.scalar(
        select(Complaint)
        .where(
            Complaint.reporter_id == reporter.id,
            Complaint.text_hash == text_fingerprint(text),
            Complaint.created_at > utcnow() - timedelta(hours=24),
        )
        .order_by(Complaint.id.desc())
        .limit(1)
    )


def complaints_last_hour(session: Session, reporter: Reporter) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(
                Complaint.reporter_id == reporter.id,
                Complaint.created_at > utcnow() - timedelta(hours=1),
            )
        )
        or 0
    )


def file_complaint(
    session: Session,
    *,
    reporter: Reporter,
    reply: Channel,
    text: str,
    route: Route,
    anonymous: bool = False,
    confidential: bool = False,
    note: str = "",
) -> Complaint:
    """A new complaint with its tracking number, routed, and the citizen's acknowledgement."""
    agency = agency_by_code(session, route.agency_code)
    complaint = Complaint(
        tracking_number=next_tracking_number(session),
        reporter_id=reporter.id,
        reply_address=reply.address,
        text=text,
        text_hash=text_fingerprint(text),
        channel=reply.channel,
        link=reply.link,
        sector=route.sector,
        region_code=route.region_code,
        status=Status.RECEIVED,
        anonymous=anonymous,
        confidential=confidential,
        routing_confidence=route.confidence,
        routing_explanation=route.explanation,
    )
    session.add(complaint)
    session.flush()
    actor = f"reporter:{reporter.id}"
    record_event(session, complaint, actor=actor, action="filed", note=note)
    if agency is not None:
        complaint.agency_id = agency.id
        complaint.status = Status.ASSIGNED
        record_event(
            session,
            complaint,
            actor="system",
            action="routed",
            before=Status.RECEIVED,
            note=route.explanation,
        )
    template = "ack_needs_location" if route.needs_location else "ack_new"
    queue_sms(
        session,
        to=reply,
        template=template,
        key=f"ack:{complaint.id}",
        complaint=complaint,
        tracking=complaint.tracking_number,
        agency=agency.name if agency else "",
    )
    return complaint


def reroute_complaint(
    session: Session, complaint: Complaint, route: Route, *, actor: str
) -> Agency | None:
    """Send a complaint to the agency a new routing decision names (a place was given later)."""
    agency = agency_by_code(session, route.agency_code)
    if agency is None or agency.id == complaint.agency_id:
        return None
    before = complaint.status
    complaint.agency_id = agency.id
    complaint.sector = route.sector
    complaint.region_code = route.region_code
    complaint.routing_confidence = route.confidence
    complaint.routing_explanation = route.explanation
    if complaint.status == Status.RECEIVED:
        complaint.status = Status.ASSIGNED
    record_event(
        session, complaint, actor=actor, action="rerouted", before=before, note=route.explanation
    )
    return agency


def add_citizen_note(session: Session, complaint: Complaint, note: str) -> None:
    record_event(
        session,
        complaint,
        actor=f"reporter:{complaint.reporter_id}",
        action="citizen_note",
        before=complaint.status,
        note=note,
    )


def rate_complaint(session: Session, complaint: Complaint, rating: int) -> None:
    """The citizen's rating closes a finished complaint."""
    before = complaint.status
    complaint.rating = rating
    complaint.status = Status.CLOSED
    complaint.closed_at = utcnow()
    record_event(
        session,
        complaint,
        actor=f"reporter:{complaint.reporter_id}",
        action="rated",
        before=before,
        note=str(rating),
    )
