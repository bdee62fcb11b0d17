"""From a stored inbound message to its effect: who sent it, what it means, who handles it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import citizen
from handlers.parser import parse
from models import actions
from models.inbound import InboundMessage


def handle_inbound(session: Session, inbound: InboundMessage) -> None:
    """Apply one inbound message inside the caller's transaction."""
    parsed = parse(inbound.text)
    reporter = actions.ensure_reporter(session, inbound.sender)
    citizen.handle(session, inbound, parsed, reporter)
