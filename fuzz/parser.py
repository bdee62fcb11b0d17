"""Fuzz target: an SMS from anyone, through the parser and the whole handling path.

parse() on the text, then dispatch on a real (embedded) database as the
worker would, from one of four senders: a new citizen, the reporter of a
complaint, an officer of its agency, a stranger. Every message must get an
answer (or, past the hourly limit, silence after the one refusal), and no
exception may escape.
"""

from __future__ import annotations

import itertools

import atheris

from fuzz.runner import embedded_defaults, instrumented, run, seed

with instrumented():
    from fuzz.drive import handle_sms
    from handlers.parser import Kind, _clean, parse
    from models.inbound import InboundMessage

OWNER, OFFICER, STRANGER = "081234567861", "081300000061", "081300000069"
FRESH = (f"0857{n:08d}" for n in itertools.count())
SEEDS = [
    seed(text, who)
    for who, text in [
        (0, "Jalan rusak parah di Kabupaten Sijunjung"),
        (1, "CEK 1000001"),
        (2, "TERIMA 1000001 RINGAN"),
        (2, "TERUSKAN #1000001 DLH.13.03 bukan wewenang"),
        (2, "SELESAI 1000001 sudah diperbaiki"),
        (1, "NILAI 1000001 5"),
        (3, "DAFTAR 2"),
        (0, "LAPOR#KAB SIJUNJUNG#jalan rusak"),
        (1, "BALAS 1000001 Kab Sijunjung"),
    ]
]


def _answered(inbound_id: int, sender: str) -> bool:
    """A reply or a complaint's acknowledgement, or the hourly refusal this sender already got."""
    from sqlalchemy import select

    from models.db import session_scope
    from models.outbox import OutboundMessage
    from models.phone import reporter_key
    from models.reporters import Reporter

    with session_scope() as session:
        inbound = session.get(InboundMessage, inbound_id)
        assert inbound is not None
        keys = [f"reply:{inbound_id}", f"ack:{inbound.complaint_id}"]
        answer = select(OutboundMessage.id).where(OutboundMessage.idempotency_key.in_(keys))
        if session.scalar(answer) is not None:
            return True
        reporter = session.scalar(select(Reporter).where(Reporter.msisdn == reporter_key(sender)))
        flood = select(OutboundMessage.id).where(
            OutboundMessage.idempotency_key.like(f"flood:{reporter.id if reporter else 0}:%")
        )
        return session.scalar(flood) is not None


def setup() -> None:
    """The embedded database, one complaint, and an officer of the agency it went to."""
    from models import admin
    from models.complaints import Complaint
    from models.db import session_scope

    embedded_defaults()
    handle_sms(OWNER, "Jalan rusak parah di Kabupaten Sijunjung, mohon diperbaiki")
    with session_scope() as session:
        complaint = session.query(Complaint).one()
        admin.add_officer(session, agency_code=complaint.agency.code, msisdn=OFFICER)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    sender = [None, OWNER, OFFICER, STRANGER][fdp.ConsumeIntInRange(0, 3)] or next(FRESH)
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    parsed = parse(text)
    assert parsed.kind in Kind
    if parsed.kind is Kind.COMPLAINT:
        assert parsed.text and parsed.text in _clean(text)
    assert _answered(handle_sms(sender, text), sender), (sender, text)


if __name__ == "__main__":
    run(one_input, SEEDS, setup)
