"""From a stored inbound message to its effect: who sent it, what it means, who handles it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import citizen, officer
from handlers.parser import parse
from models import actions
from models.inbound import InboundMessage
from models.officers import active_officer


def handle_inbound(session: Session, inbound: InboundMessage) -> None:
    """Apply one inbound message inside the caller's transaction.

    An active officer's commands go to the officer handler; anything else an
    officer sends (a complaint of their own, CEK) is a citizen's message. An
    officer-only command from anyone else is refused and recorded.
    """
    parsed = parse(inbound.text)
    sender_officer = active_officer(session, inbound.sender)
    if sender_officer is not None and parsed.kind in officer.OFFICER_KINDS:
        officer.handle(session, inbound, parsed, sender_officer)
    elif sender_officer is None and parsed.kind in officer.OFFICER_ONLY:
        officer.refuse_stranger(session, inbound, parsed)
    else:
        reporter = actions.ensure_reporter(session, inbound.sender)
        citizen.handle(session, inbound, parsed, reporter)
