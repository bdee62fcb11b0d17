"""POST /ussd in Africa's Talking's convention.

Form fields sessionId, serviceCode, phoneNumber and text (every input so
far, joined by `*`); the answer is text/plain "CON <screen>" to continue or
"END <screen>" to close. Other aggregators' conventions can sit beside this
one in front of the same menu engine. With USSD_TOKEN set, only a request
carrying it (parameter `token` or header X-USSD-Token) is heard.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, request

from config.settings import get_settings
from gateway.channels.ussd import menu_engine

bp = Blueprint("ussd", __name__)

MAX_TEXT = 2000  # every input of a session; a handset sends at most 182 characters each


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _field(name: str) -> str:
    """A form field without NUL (as SMPP and the simulator store text): PostgreSQL refuses NUL,
    and a complaint typed into the menu would end on the "busy" screen at every retry."""
    return request.form.get(name, "").replace("\x00", "")


def _authorised() -> bool:
    """The aggregator's shared secret, when one is configured (the simulator and the quick
    start need none): anyone else could file complaints in a citizen's name and make us
    send SMS. Constant-time: a token is a password."""
    expected = get_settings().ussd_token
    if expected is None:
        return True
    given = request.headers.get("X-USSD-Token") or request.values.get("token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


@bp.route("/ussd", methods=["POST"])
def ussd() -> Response:
    if not _authorised():
        return _plain("invalid token", 403)
    engine = menu_engine()
    if engine is None:
        return _plain("USSD menu not configured", 503)
    session_id = _field("sessionId").strip()
    phone = _field("phoneNumber").strip()
    if not session_id or not phone:
        return _plain("sessionId and phoneNumber are required", 400)
    service_code = _field("serviceCode").strip()
    text = _field("text")[:MAX_TEXT]
    screen, end = engine(session_id[:128], phone[:64], service_code[:64], text)
    return _plain(("END " if end else "CON ") + screen)
