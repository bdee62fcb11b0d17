"""GET|POST /sms/http (from, to, text, id; token) and /sms/http/dlr (delivery reports).

200 with an empty body only after the commit: Kannel's sms-service (with
omit-empty) would otherwise text the body back to the citizen. 401 for a
bad token, 503 while the database is down so the partner retries.

The text is read from its bytes as sent, in the charset the partner names with
`coding` and `charset` (Kannel's %c and %C; its %b is the message's own bytes,
UTF-16BE for UCS-2), else as UTF-8; bytes that do not decode become U+FFFD.
"""

from __future__ import annotations

import hashlib
import logging
import time
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, request

from config.settings import get_settings
from gateway.channels.http_partner import CHANNEL, Partner, partner_by_token
from gateway.channels.receipts import record_receipt_waiting
from gateway.intake import Inbound, TemporarilyUnavailable, accept
from models.inbound import external_key

log = logging.getLogger(__name__)

bp = Blueprint("http_partner", __name__)

# Kannel's dlr-url %d: 1 delivered, 2 undeliverable, 4 queued at SMSC,
# 8 accepted by SMSC, 16 rejected by SMSC.
KANNEL_DLR = {
    "1": "delivered",
    "2": "undeliverable",
    "4": "enroute",
    "8": "accepted",
    "16": "rejected",
}
ANONYMOUS_ID_WINDOW_S = 600
KANNEL_UCS2 = "2"  # Kannel's %c: 0 7-bit, 1 8-bit, 2 UCS-2
UCS2_NAMES = {"UCS-2", "UCS2"}  # not Python codec names


def _partner() -> Partner | None:
    token = request.headers.get("X-Partner-Token") or request.values.get("token", "")
    return partner_by_token(get_settings(), token)


def _empty(status: int = 200) -> Response:
    return Response(b"", status=status, mimetype="text/plain")


def _fallback_id(sender: str, recipient: str, text: str) -> str:
    """For partners that send no id: one message per text and sender in a 10-minute window."""
    bucket = int(time.time() // ANONYMOUS_ID_WINDOW_S)
    digest = hashlib.sha256(f"{sender}\x00{recipient}\x00{text}\x00{bucket}".encode()).hexdigest()
    return f"h:{digest[:32]}"


def _unquote(value: bytes) -> bytes:
    return unquote_to_bytes(value.replace(b"+", b" "))


def _raw_param(name: str) -> bytes | None:
    """A parameter's bytes as sent, looked up as request.values does (query string, then form).

    werkzeug decodes parameters as UTF-8 and leaves the bytes that are not UTF-8
    percent-encoded, so a UCS-2 or Latin-1 text cannot be read from request.values.
    Call it before request.values: parsing the form consumes the body unless
    get_data has kept it. A multipart body has no raw form here (None).
    """
    sources = [request.query_string]
    if request.method != "GET" and request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.get_data(cache=True))
    key = name.encode()
    for source in sources:
        for pair in source.split(b"&"):
            pair_key, _, value = pair.partition(b"=")
            if _unquote(pair_key) == key:
                return _unquote(value)
    return None


def _decode(raw: bytes, coding: str, charset: str) -> str:
    """UCS-2 (coding 2) as UTF-16BE, else the named charset, else UTF-8, never an error.

    A charset Python does not know (or cannot decode bytes with) reads as UTF-8: the
    complaint is filed with U+FFFD where it is unreadable, rather than lost to a 500.
    """
    name = charset.strip()
    if coding.strip() == KANNEL_UCS2 or name.upper() in UCS2_NAMES:
        name = "utf-16-be"
    try:
        return raw.decode(name or "utf-8", errors="replace")
    except (LookupError, ValueError):  # unknown, or a codec that fails whatever `errors` says
        log.warning("http partner text in unknown charset %r read as UTF-8", name[:40])
        return raw.decode("utf-8", errors="replace")


@bp.route("/sms/http", methods=["GET", "POST"])
def incoming() -> Response:
    raw_text = _raw_param("text")  # first: request.values would consume the form body
    partner = _partner()
    if partner is None:
        log.warning("http partner refused: bad token from %s", request.remote_addr)
        return Response("unknown partner token", status=401, mimetype="text/plain")
    sender = request.values.get("from", "").strip()
    if not sender:
        return Response("'from' is required", status=400, mimetype="text/plain")
    recipient = request.values.get("to", "").strip() or get_settings().shortcode
    text = (
        request.values.get("text", "")
        if raw_text is None
        else _decode(raw_text, request.values.get("coding", ""), request.values.get("charset", ""))
    )
    external_id = request.values.get("id", "").strip() or _fallback_id(sender, recipient, text)
    message = Inbound(
        CHANNEL, partner.name, external_key(external_id), sender[:64], recipient[:32], text
    )
    try:
        accept(message)
    except TemporarilyUnavailable:
        return Response("try again", status=503, mimetype="text/plain")
    return _empty()


@bp.route("/sms/http/dlr", methods=["GET", "POST"])
def delivery_report() -> Response:
    partner = _partner()
    if partner is None:
        return Response("unknown partner token", status=401, mimetype="text/plain")
    external_id = request.values.get("id", "")
    state = KANNEL_DLR.get(request.values.get("status", ""))
    if not external_id or state is None:
        return _empty(204)
    try:
        known = record_receipt_waiting(CHANNEL, partner.name, external_id, state)
    except Exception:
        log.exception("delivery report not stored partner=%s", partner.name)
        return Response("try again", status=503, mimetype="text/plain")
    if not known:
        log.warning("delivery report for unknown id=%s partner=%s", external_id, partner.name)
    return _empty()
