"""File a menu complaint exactly once per USSD session, and answer status questions.

The submission is stored as an inbound message keyed by the aggregator's
sessionId and the caller's number (channel "ussd"; an aggregator may reuse a
sessionId for another phone), in the same transaction as the complaint: a
retried "1 Kirim" (even after Redis lost the session) finds that row and
answers with the same tracking number instead of filing again.

The confirmation SMS cannot go back over USSD, so it goes out on the
gateway's default SMS carrier (see `sms_channel`), which also carries every
later status SMS of the complaint.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import get_settings
from handlers.citizen import WIB
from handlers.ussd.places import Place, decide
from handlers.ussd.screens import screen
from models import actions
from models.actions import Channel
from models.base import utcnow
from models.complaints import Complaint
from models.inbound import InboundMessage, InboundState, store_inbound
from models.phone import reporter_key
from models.reporters import Reporter
from templates_sms.render import label

log = logging.getLogger(__name__)

CHANNEL = "ussd"


@dataclass(frozen=True)
class Caller:
    """Who is on the line, as the aggregator names them."""

    session_id: str
    phone: str
    service_code: str


@dataclass(frozen=True)
class Draft:
    sector: str
    place: Place
    text: str


def sms_channel(address: str) -> Channel:
    """Where a USSD caller's SMS go: the first SMPP link, else HTTP partner, else Twilio.

    On a demo machine with no carrier at all, the phone simulator's inbox.
    """
    settings = get_settings()
    if settings.smpp_links:
        return Channel("smpp", settings.smpp_links[0]["name"], address)
    if settings.http_partners:
        return Channel("http", settings.http_partners[0]["name"], address)
    if settings.twilio_account_sid or not settings.simulator:
        return Channel("twilio", "twilio", address)
    return Channel("sim", "web", address)


def submission_id(caller: Caller) -> str:
    """The submission row's key: this number in this session, however the number is spelled.

    A digest: the number written into the key would outlive the reporter's erasure (UU 27/2022),
    and any session id fits the column.
    """
    key = f"{reporter_key(caller.phone)}\x00{caller.session_id}"
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def submit(session: Session, caller: Caller, draft: Draft) -> str:
    """File the draft (once per caller and session) and return the END screen that tells them."""
    inbound_id, created = store_inbound(
        session,
        channel=CHANNEL,
        link=caller.service_code[:64],
        external_id=submission_id(caller),
        sender=caller.phone[:64],
        recipient=get_settings().shortcode,
        text=draft.text,
    )
    inbound = session.get(InboundMessage, inbound_id)
    assert inbound is not None
    if not created:
        return _answered(session, inbound)
    inbound.state = InboundState.PROCESSED
    inbound.processed_at = utcnow()
    reporter = actions.ensure_reporter(session, caller.phone)
    if reporter.blocked:
        return screen("refused")
    duplicate = actions.recent_duplicate(session, reporter, draft.text)
    if duplicate is not None:
        inbound.complaint_id = duplicate.id
        return screen("duplicate", tracking=duplicate.tracking_number)
    limit = get_settings().complaints_per_hour
    if actions.complaints_last_hour(session, reporter) >= limit:
        return screen("rate_limited", limit=limit)
    complaint = actions.file_complaint(
        session,
        reporter=reporter,
        reply=sms_channel(caller.phone),
        text=draft.text,
        route=decide(session, draft.text, draft.sector, draft.place),
        note=f"USSD {caller.service_code}: {draft.sector}, {draft.place.name}",
    )
    inbound.complaint_id = complaint.id
    log.info(
        "ussd complaint filed tracking=%d reporter=%s", complaint.tracking_number, reporter.masked
    )
    return _filed_screen(complaint)


def earlier_submission(session: Session, caller: Caller) -> str | None:
    """The END screen this caller's "1 Kirim" got in this session; None when they never sent.

    How a session Redis forgot answers a retried "Kirim" without filing again.
    """
    inbound = session.scalar(
        select(InboundMessage).where(
            InboundMessage.channel == CHANNEL,
            InboundMessage.link == caller.service_code[:64],
            InboundMessage.external_id == submission_id(caller),
        )
    )
    return _answered(session, inbound) if inbound is not None else None


def _answered(session: Session, inbound: InboundMessage) -> str:
    """What a repeated submission is told: what the first one was."""
    filed = session.get(Complaint, inbound.complaint_id) if inbound.complaint_id else None
    return _filed_screen(filed)


def _filed_screen(complaint: Complaint | None) -> str:
    """The answer to a submission: the number it got, or (none) the refusal it got."""
    if complaint is None:
        return screen("rate_limited", limit=get_settings().complaints_per_hour)
    return screen("filed", tracking=complaint.tracking_number)


def own_complaint(session: Session, phone: str, tracking: int) -> Complaint | None:
    """Only the caller's own complaint: anyone else learns nothing, not even that it exists."""
    return session.scalar(
        select(Complaint)
        .join(Reporter, Reporter.id == Complaint.reporter_id)
        .where(Complaint.tracking_number == tracking, Reporter.msisdn == reporter_key(phone))
    )


def status_screen(complaint: Complaint) -> str:
    agency = complaint.agency
    return screen(
        "status",
        tracking=complaint.tracking_number,
        status=label("status_labels", complaint.status),
        agency=agency.name if agency else "-",
        date=complaint.updated_at.astimezone(WIB).strftime("%d-%m-%Y %H:%M"),
    )
