"""POST /sim/sms (a text from a simulated handset) and GET /sim/inbox (what it received).

Both answer 404 unless the simulator is enabled (SIMULATOR; on by default
only on the embedded database): a simulated handset may claim any number,
an officer's included, which a production gateway must never allow.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from config.settings import get_settings
from gateway.channels.simulator import CHANNEL, LINK
from gateway.intake import Inbound, TemporarilyUnavailable, accept
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage, OutboxStatus
from models.phone import normalize

bp = Blueprint("simulator_channel", __name__)

MAX_TEXT = 1600  # ten concatenated segments: as much as a handset sends
DELIVERED = (OutboxStatus.SENT, OutboxStatus.DELIVERED)
INBOX_LIMIT = 50


@bp.before_request
def _enabled() -> None:
    if not get_settings().simulator:
        abort(404)


def spellings(number: str) -> list[str]:
    """Every way a channel may have written this number (08.., 628.., +628..)."""
    e164 = normalize(number)
    found = {number}
    if e164 and e164.startswith("+62"):
        found |= {e164, e164[1:], "0" + e164[3:]}
    elif e164:
        found.add(e164)
    return sorted(found)


@bp.post("/sim/sms")
def send_sms() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):  # a JSON list or string was a 500
        body = request.form
    sender = str(body.get("from", "")).strip()
    text = str(body.get("text", ""))[:MAX_TEXT]
    if not sender or normalize(sender) is None:
        return {"error": "'from' must be a phone number"}, 400
    message = Inbound(CHANNEL, LINK, uuid.uuid4().hex, sender, get_settings().shortcode, text)
    try:
        inbound_id, _ = accept(message)
    except TemporarilyUnavailable:
        return {"error": "try again"}, 503
    return {"id": inbound_id}, 202


@bp.get("/sim/inbox")
def inbox() -> ResponseReturnValue:
    """The handset's thread: what it sent and what the gateway sent it, oldest first."""
    number = request.args.get("number", "").strip()
    if not number:
        return {"error": "'number' is required"}, 400
    names = spellings(number)
    with session_scope() as session:
        sent = session.execute(
            select(InboundMessage.id, InboundMessage.text, InboundMessage.received_at)
            .where(
                InboundMessage.channel == CHANNEL,
                InboundMessage.sender.in_(names),
            )
            .order_by(InboundMessage.id.desc())
            .limit(INBOX_LIMIT)
        ).all()
        received = session.execute(
            select(OutboundMessage.id, OutboundMessage.text, OutboundMessage.sent_at)
            .where(
                OutboundMessage.channel == CHANNEL,
                OutboundMessage.recipient.in_(names),
                OutboundMessage.status.in_(DELIVERED),
            )
            .order_by(OutboundMessage.id.desc())
            .limit(INBOX_LIMIT)
        ).all()
    thread = [
        {"id": f"mo-{i}", "direction": "out", "text": t, "at": at.isoformat()} for i, t, at in sent
    ] + [
        {"id": f"mt-{i}", "direction": "in", "text": t, "at": at.isoformat()}
        for i, t, at in received
        if at is not None
    ]
    thread.sort(key=lambda m: m["at"])
    return jsonify(thread)
