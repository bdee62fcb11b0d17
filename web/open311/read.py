"""GET requests.json, requests/<id>.json and tokens/<token>.json.

The service_request_id is the tracking number citizens already know.
RAHASIA complaints are never listed, and never found by id either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select

from models.actions import text_for_agency
from models.agencies import Agency
from models.base import utcnow
from models.complaints import OPEN_STATUSES, Complaint
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage
from models.regions import Region
from templates_sms.render import label
from web.api.params import datetime_arg
from web.open311 import bp, error, services

DEFAULT_WINDOW = timedelta(days=90)  # the spec's default when no dates are given
MAX_RESULTS = 1000
MAX_ID = 10**15
CHANNEL = "open311"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_request(complaint: Complaint, agency: Agency | None, region: str | None) -> dict[str, Any]:
    service = services().get(complaint.sector, {})
    return {
        "service_request_id": str(complaint.tracking_number),
        "status": "open" if complaint.status in OPEN_STATUSES else "closed",
        "status_notes": label("status_labels", complaint.status),
        "service_name": service.get("service_name", complaint.sector),
        "service_code": complaint.sector,
        "description": text_for_agency(complaint, complaint.text),
        "agency_responsible": agency.name if agency else None,
        "service_notice": None,
        "requested_datetime": _iso(complaint.created_at),
        "updated_datetime": _iso(complaint.updated_at),
        "expected_datetime": _iso(complaint.followup_due_at),
        "address": region,
        "address_id": complaint.region_code,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _public() -> Select:
    return (
        select(Complaint, Agency, Region.name)
        .outerjoin(Agency, Agency.id == Complaint.agency_id)
        .outerjoin(Region, Region.code == Complaint.region_code)
        .where(Complaint.confidential.is_(False))
    )


def _ids(raw: str) -> list[int]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(p.isdecimal() and int(p) < MAX_ID for p in parts):
        abort(400, "service_request_id must be a comma-separated list of numbers")
    return [int(p) for p in parts]


@bp.get("/requests.json")
def list_requests() -> ResponseReturnValue:
    query = _public().order_by(Complaint.id.desc()).limit(MAX_RESULTS)
    if raw_ids := request.args.get("service_request_id", ""):
        query = query.where(Complaint.tracking_number.in_(_ids(raw_ids)))
    else:
        start, end = datetime_arg("start_date"), datetime_arg("end_date")
        if start is None and end is None:
            start = utcnow() - DEFAULT_WINDOW
        if start:
            query = query.where(Complaint.created_at >= start)
        if end:
            query = query.where(Complaint.created_at <= end)
        if codes := request.args.get("service_code", ""):
            query = query.where(Complaint.sector.in_([c.strip() for c in codes.split(",")]))
        statuses = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
        if not statuses <= {"open", "closed"}:
            abort(400, "status must be open, closed or both, comma-delimited")
        if len(statuses) == 1:  # both, or none: every request
            opened = Complaint.status.in_(OPEN_STATUSES)
            query = query.where(opened if statuses == {"open"} else ~opened)
    with session_scope() as session:
        return [as_request(*row) for row in session.execute(query).all()]


@bp.get("/requests/<request_id>.json")
def get_request(request_id: str) -> ResponseReturnValue:
    if not request_id.isdecimal() or int(request_id) >= MAX_ID:
        return error(404, f"no request {request_id}")
    with session_scope() as session:
        row = session.execute(_public().where(Complaint.tracking_number == int(request_id))).first()
        if row is None:
            return error(404, f"no request {request_id}")
        return [as_request(*row)]


@bp.get("/tokens/<token>.json")
def get_token(token: str) -> ResponseReturnValue:
    """The request a POST's token became, once the gateway has handled it (else null)."""
    if not token.isdecimal() or int(token) >= 2**31:
        return error(404, f"no token {token}")
    with session_scope() as session:
        inbound = session.get(InboundMessage, int(token))
        if inbound is None or inbound.channel != CHANNEL:
            return error(404, f"no token {token}")
        complaint_id = inbound.complaint_id or session.scalar(  # a duplicate: the reply names it
            select(OutboundMessage.complaint_id).where(
                OutboundMessage.idempotency_key == f"reply:{inbound.id}"
            )
        )
        complaint = session.get(Complaint, complaint_id) if complaint_id else None
        tracking = str(complaint.tracking_number) if complaint else None
        return [{"token": token, "service_request_id": tracking}]
