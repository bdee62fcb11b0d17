"""POST /sms/twilio (messages) and /sms/twilio/status (delivery status), signatures checked.

Nothing is stored unless X-Twilio-Signature is valid; the empty TwiML answer
comes only after the commit, and a replayed MessageSid creates nothing new.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from config.settings import get_settings
from gateway.channels.receipts import record_receipt_waiting
from gateway.intake import Inbound, TemporarilyUnavailable, accept

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__)
CHANNEL = LINK = "twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
STATUS_MAP = {
    "delivered": "delivered",
    "undelivered": "undeliverable",
    "failed": "failed",
    "sent": "enroute",
    "queued": "accepted",
    "accepted": "accepted",
    "sending": "accepted",
}


def _signed_url() -> str:
    """The URL Twilio signed: PUBLIC_URL when behind a proxy, else what we were called on."""
    public = get_settings().public_url
    if public:
        query = request.query_string.decode()
        return public.rstrip("/") + request.path + (f"?{query}" if query else "")
    return request.url


def _verified() -> bool:
    """X-Twilio-Signature: HMAC-SHA1 with the auth token, or, for a URL a Webhooks Rule
    matches (it says so in X-Twilio-Webhooks-Signature-Settings), the Rule's algorithm with
    its SharedKey."""
    settings = get_settings()
    signature = request.headers.get("X-Twilio-Signature", "")
    rule = request.headers.get(SIGNATURE_SETTINGS_HEADER)
    secret = settings.twilio_webhook_shared_key if rule else settings.twilio_auth_token
    if rule and not secret:
        log.error("twilio webhook signed by a Webhooks Rule: set TWILIO_WEBHOOK_SHARED_KEY")
    if not secret or not signature:
        return False
    return RequestValidator(secret).validate(
        _signed_url(), request.form.to_dict(), signature, get_signature_algorithm(rule)
    )


@bp.post("/sms/twilio")
def incoming() -> Response:
    if not _verified():
        log.warning("twilio webhook refused: bad or missing signature")
        return Response("invalid signature", status=403, mimetype="text/plain")
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid or "From" not in form:
        return Response("MessageSid and From are required", status=400, mimetype="text/plain")
    message = Inbound(
        channel=CHANNEL,
        link=LINK,
        external_id=sid,
        sender=form["From"],
        recipient=form.get("To", ""),
        text=form.get("Body", ""),
        parts=int(segments) if (segments := form.get("NumSegments", "1")).isdecimal() else 1,
    )
    try:
        accept(message)
    except TemporarilyUnavailable:
        return Response("try again", status=503, mimetype="text/plain")
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/sms/twilio/status")
def status() -> Response:
    if not _verified():
        return Response("invalid signature", status=403, mimetype="text/plain")
    sid = request.form.get("MessageSid", "")
    state = STATUS_MAP.get(request.form.get("MessageStatus", "").lower())
    if not sid or state is None:
        return Response(status=204)
    error = request.form.get("ErrorCode")
    try:
        # Twilio may call back before mark_sent committed the sid, and never calls again.
        known = record_receipt_waiting(
            CHANNEL, LINK, sid, state, f"twilio error {error}" if error else None
        )
    except Exception:
        log.exception("twilio status not stored sid=%s", sid)
        return Response("try again", status=503, mimetype="text/plain")
    if not known:
        log.info("twilio status for unknown sid=%s", sid)
    return Response(status=204)
