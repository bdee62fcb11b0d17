"""POST requests.json: a complaint from another channel, through the same intake as an SMS.

The request is stored like a telco's message (channel "open311", the
client's name as the link) and handled by the same workers, so the answer
is a token; GET tokens/<token>.json gives the tracking number moments
later. The routing engine, not the client's service_code, picks the agency.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import request
from flask.typing import ResponseReturnValue

from config.settings import get_settings
from gateway.intake import Inbound, TemporarilyUnavailable, accept
from models.phone import normalize
from web.open311 import bp, error, services
from web.open311.read import CHANNEL

MAX_DESCRIPTION = 4000
IDENTITIES = ("email", "device_id", "account_id")


def _client(api_key: str) -> str | None:
    """The client name of an api_key in OPEN311_KEYS (constant-time: a key is a password)."""
    found = None
    for key, name in get_settings().open311_keys.items():
        if api_key and hmac.compare_digest(key.encode(), api_key.encode()):
            found = name
    return found


def _reporter(form: dict[str, str], client: str) -> str | None:
    """A phone number when given, else a short digest of the client's identity of the person.

    The digest keeps one person one reporter (duplicates, rate limit) without
    storing an e-mail address, and fits the reporter columns.
    """
    phone = normalize(form.get("phone", ""))
    if phone:
        return phone
    for field in IDENTITIES:
        if value := form.get(field, "").strip():
            digest = hashlib.sha256(f"{client}\x00{field}\x00{value}".encode()).hexdigest()
            return f"o311:{digest[:12]}"
    return None


@bp.post("/requests.json")
def create_request() -> ResponseReturnValue:
    form = {k: str(v) for k, v in request.values.items()}
    client = _client(form.get("api_key", ""))
    if client is None:
        return error(403, "a valid api_key is required")
    if form.get("service_code", "") not in services():
        return error(400, "service_code is not one of services.json")
    description = form.get("description", "").strip()[:MAX_DESCRIPTION]
    if not description:
        return error(400, "description is required")
    reporter = _reporter(form, client)
    if reporter is None:
        return error(400, "phone, email, device_id or account_id is required")
    place = form.get("address_string", "").replace("#", " ").strip()
    text = f"LAPOR#{place}#{description}"  # the SMS form with a place given separately
    message = Inbound(
        CHANNEL, client[:64], uuid.uuid4().hex, reporter[:64], get_settings().shortcode, text
    )
    try:
        inbound_id, _ = accept(message)
    except TemporarilyUnavailable:
        return error(503, "try again")
    return [{"token": str(inbound_id), "service_notice": "LAPOR! 1708"}], 201
