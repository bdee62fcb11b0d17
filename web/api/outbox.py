"""GET /api/outbox (failed messages by default) and POST /api/outbox/<id>/retry."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from models import outbox
from models.complaints import Complaint
from models.db import session_scope
from models.outbox import OutboundMessage, OutboxStatus
from web.api import bp
from web.api.params import Page, choice_arg, path_id
from web.api.present import iso, party

STATUSES = tuple(s.value for s in OutboxStatus)
MAX_ID = 2**31 - 1


def message_json(row: OutboundMessage, complaint: Complaint | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "recipient": party(row.recipient, complaint),
        "channel": row.channel,
        "link": row.link,
        "template": row.template,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,  # masked when written (models.outbox)
        "tracking_number": complaint.tracking_number if complaint else None,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }


@bp.get("/outbox")
def list_outbox() -> ResponseReturnValue:
    page = Page.from_request()
    status = choice_arg("status", STATUSES) or OutboxStatus.FAILED
    query = (
        select(OutboundMessage, Complaint)
        .outerjoin(Complaint, Complaint.id == OutboundMessage.complaint_id)
        .where(OutboundMessage.status == status)
        .order_by(OutboundMessage.id.desc())
    )
    if channel := request.args.get("channel", "").strip():
        query = query.where(OutboundMessage.channel == channel)
    with session_scope() as session:
        rows, total = page.apply(session, query)
        return page.envelope([message_json(*row) for row in rows], total)


@bp.post("/outbox/<raw>/retry")
def retry(raw: str) -> ResponseReturnValue:
    """An operator's retry of a failed message; anything else is left alone (409)."""
    outbound_id = path_id(raw, "message", MAX_ID)
    with session_scope() as session:
        row = session.get(OutboundMessage, outbound_id)
        if row is None:
            abort(404, f"no message {outbound_id}")
        if not outbox.requeue_failed(session, outbound_id):
            abort(409, f"message {outbound_id} is {row.status}, not failed")
        return {"id": outbound_id, "status": row.status}
