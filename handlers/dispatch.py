"""From stored inbound messages to their effect: who sent them, what they mean, who handles them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from handlers import citizen, officer
from handlers.parser import Parsed, parse, parse_as_complaint
from models import actions
from models.inbound import InboundMessage
from models.officers import active_officers
from models.phone import reporter_key


def handle_inbound(session: Session, inbound: InboundMessage) -> None:
    """Apply one inbound message inside the caller's transaction."""
    handle_group(session, [inbound])


def handle_group(session: Session, inbounds: Sequence[InboundMessage]) -> None:
    """Apply inbound messages inside the caller's transaction, a few statements for them all.

    An active officer's commands go to the officer handler; anything else an
    officer sends (a complaint of their own, CEK) is a citizen's message. An
    officer-only command from anyone else is refused and recorded, unless the number
    after it is no complaint's ("Terima 300 ribu potongan bansos"): then it is a complaint. Every
    citizen's reporter row is locked up front, in one order (see
    actions.ensure_reporters), and their messages handled in the order given.
    """
    officers = active_officers(session, {inbound.sender for inbound in inbounds})
    citizens: list[tuple[InboundMessage, Parsed]] = []
    for inbound in inbounds:
        parsed = parse(inbound.text)
        sender_officer = officers.get(inbound.sender)
        if sender_officer is not None and parsed.kind in officer.OFFICER_KINDS:
            if officer.as_reporter(session, parsed, sender_officer):  # BALAS, INFO on their own
                citizens.append((inbound, parsed))
            else:
                officer.handle(session, inbound, parsed, sender_officer)
        elif sender_officer is None and parsed.kind in officer.OFFICER_ONLY:
            if officer.names_no_complaint(session, parsed):  # No Wrong Door: a complaint
                citizens.append((inbound, parse_as_complaint(inbound.text)))
            else:
                officer.refuse_stranger(session, inbound, parsed)
        else:
            citizens.append((inbound, parsed))
    reporters = actions.ensure_reporters(session, [inbound.sender for inbound, _ in citizens])
    citizen.handle_many(
        session,
        [
            (inbound, parsed, reporters[reporter_key(inbound.sender)])
            for inbound, parsed in citizens
        ],
    )
