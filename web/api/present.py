"""Complaints as the API shows them: numbers masked, anonymous reporters invisible.

Every complaint leaves the API through these functions, so masking is
decided in one place: a reporter appears only as a masked number
(628113643xxxx), anonymous ones not at all, and phone numbers inside free
text are masked too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.actions import text_for_agency
from models.agencies import Agency
from models.complaints import Complaint, ComplaintEvent
from models.inbound import InboundMessage
from models.outbox import OutboundMessage
from models.phone import mask, normalize, reporter_key


def masked(number: str) -> str:
    """628113643xxxx whatever spelling the channel used (08.., +62..)."""
    return mask(normalize(number) or number)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def summary(
    complaint: Complaint, agency: Agency | None, reporter_masked: str, is_overdue: bool
) -> dict[str, Any]:
    return {
        "tracking_number": complaint.tracking_number,
        "status": complaint.status,
        "sector": complaint.sector,
        "region_code": complaint.region_code,
        "agency_code": agency.code if agency else None,
        "agency_name": agency.name if agency else None,
        "channel": complaint.channel,
        "reporter": None if complaint.anonymous else reporter_masked,
        "anonymous": complaint.anonymous,
        "confidential": complaint.confidential,
        "complaint_type": complaint.complaint_type,
        "text": text_for_agency(complaint, complaint.text),
        "rating": complaint.rating,
        "overdue": bool(is_overdue),
        "created_at": iso(complaint.created_at),
        "updated_at": iso(complaint.updated_at),
        "disposition_due_at": iso(complaint.disposition_due_at),
        "followup_due_at": iso(complaint.followup_due_at),
        "done_at": iso(complaint.done_at),
        "closed_at": iso(complaint.closed_at),
    }


def event(
    item: ComplaintEvent, complaint: Complaint, agency_codes: dict[int, str]
) -> dict[str, Any]:
    actor = item.actor
    if complaint.anonymous and actor.startswith("reporter:"):
        actor = "reporter"
    return {
        "at": iso(item.created_at),
        "actor": actor,
        "action": item.action,
        "status_before": item.status_before,
        "status_after": item.status_after,
        "agency_code": agency_codes.get(item.agency_id) if item.agency_id else None,
        "note": text_for_agency(complaint, item.note),
    }


def party(number: str, complaint: Complaint | None) -> str | None:
    """The other end of a message; nobody, when it is an anonymous reporter (in any spelling:
    a BALAS from 08.. to a complaint filed from +628.. is the same person)."""
    anonymous = complaint is not None and complaint.anonymous
    if anonymous and reporter_key(number) == reporter_key(complaint.reply_address):
        return None
    return masked(number)


def inbound_message(item: InboundMessage, complaint: Complaint) -> dict[str, Any]:
    return {
        "direction": "in",
        "at": iso(item.received_at),
        "channel": item.channel,
        "party": party(item.sender, complaint),
        "text": text_for_agency(complaint, item.text),
        "status": item.state,
    }


def outbound_message(item: OutboundMessage, complaint: Complaint) -> dict[str, Any]:
    return {
        "direction": "out",
        "at": iso(item.sent_at or item.created_at),
        "channel": item.channel,
        "party": party(item.recipient, complaint),
        "text": text_for_agency(complaint, item.text),
        "status": item.status,
    }
