"""GET /api/complaints (filtered, paged) and GET /api/complaints/<tracking> (with its trail)."""

from __future__ import annotations

from flask import abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.agencies import Agency
from models.complaints import Complaint, ComplaintEvent, Status
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage
from models.reporters import Reporter
from models.stats import overdue
from web.api import bp
from web.api import present as show
from web.api.params import Page, bool_arg, choice_arg, path_id

STATUSES = tuple(s.value for s in Status)
MAX_TRACKING = 10**15  # beyond any tracking number; larger ones overflow BIGINT


def _base() -> Select:
    """Complaints with their agency, masked reporter and overdue flag, newest first."""
    return (
        select(Complaint, Agency, Reporter.masked, overdue().label("overdue"))
        .join(Reporter, Reporter.id == Complaint.reporter_id)
        .outerjoin(Agency, Agency.id == Complaint.agency_id)
        .order_by(Complaint.id.desc())
    )


def _filtered() -> Select:
    """The query parameters status, agency, region and overdue applied."""
    query = _base()
    status = choice_arg("status", STATUSES)
    if status:
        query = query.where(Complaint.status == status)
    agency = request.args.get("agency", "").strip()
    if agency:
        query = query.where(Agency.code == agency.upper())
    region = request.args.get("region", "").strip()
    if region:  # a province (11) or kabupaten/kota (11.01) holds everything below it
        query = query.where(
            (Complaint.region_code == region) | Complaint.region_code.startswith(region + ".")
        )
    late = bool_arg("overdue")
    if late is not None:
        query = query.where(overdue() if late else ~overdue())
    return query


@bp.get("/complaints")
def list_complaints() -> ResponseReturnValue:
    page = Page.from_request()
    query = _filtered()
    with session_scope() as session:
        rows, total = page.apply(session, query)
        items = [show.summary(c, a, masked, late) for c, a, masked, late in rows]
    return page.envelope(items, total)


def _trail(session: Session, complaint: Complaint) -> tuple[list, list]:
    events = list(
        session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(ComplaintEvent.id)
        )
    )
    agency_ids = {e.agency_id for e in events if e.agency_id}
    codes = dict(
        session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(agency_ids))).all()
    )
    inbound = session.scalars(
        select(InboundMessage).where(InboundMessage.complaint_id == complaint.id)
    )
    outbound = session.scalars(
        select(OutboundMessage).where(OutboundMessage.complaint_id == complaint.id)
    )
    messages = [show.inbound_message(m, complaint) for m in inbound] + [
        show.outbound_message(m, complaint) for m in outbound
    ]
    messages.sort(key=lambda m: m["at"] or "")
    return [show.event(e, complaint, codes) for e in events], messages


@bp.get("/complaints/<raw>")
def get_complaint(raw: str) -> ResponseReturnValue:
    tracking = path_id(raw, "complaint", MAX_TRACKING)
    with session_scope() as session:
        row = session.execute(_base().where(Complaint.tracking_number == tracking)).first()
        if row is None:
            abort(404, f"no complaint #{tracking}")
        complaint, agency, masked, late = row
        events, messages = _trail(session, complaint)
        return {
            **show.summary(complaint, agency, masked, late),
            "routing_confidence": complaint.routing_confidence,
            "routing_explanation": complaint.routing_explanation,
            "events": events,
            "messages": messages,
        }
