"""The whole SMS handling path under generated texts: parse, dispatch, citizen and officer handlers.

Driven in-process on the test database (no worker, no carrier): every
message from a citizen, the complaint's reporter, its agency's officer or a
stranger gets exactly one answer (or, past the hourly limit, the single
polite refusal already sent), no exception escapes, and every SMS the
message causes (to anyone) is GSM-7 and fits its template's segment budget
as the SMPP sender really splits it.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fuzz.drive import handle_sms
from gateway.smpp.segment import split_text
from handlers.parser import KEYWORDS
from models import admin
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage
from models.phone import reporter_key
from models.reporters import Reporter
from templates_sms.gsm import septets
from templates_sms.render import DEFAULT_SEGMENTS, templates

OWNER = "081234567851"  # reporter of the complaint officers act on
OFFICER = "081300000051"  # an officer of the agency it was routed to
STRANGER = "081300000059"  # nobody: officer commands from this number are refused
EXTENSION_HEAVY = st.text(st.sampled_from("ab {}[]~^|\\€"), min_size=150, max_size=400)
TAILS = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["RINGAN", "normal", "SENGKETA", "lapangan", "5", "1", "²", "０", ""]),
    st.sampled_from(["DLH.13.03 bukan wewenang kami", "NAS.ADMIN salah instansi", "XX.99 x"]),
    st.sampled_from(["sudah diperbaiki", "Kab Sijunjung", "kota bandung", "jkt"]),
    EXTENSION_HEAVY,
)
SEPARATORS = st.sampled_from([" ", "", "#", " #", ": ", "."])


@st.composite
def sms(draw: st.DrawFn, tracking: int) -> str:
    """A command aimed at the real complaint or a random number, a complaint form, or noise."""
    shape = draw(st.sampled_from(["command", "command", "complaint", "noise"]))
    if shape == "noise":
        return draw(st.text(max_size=300))
    if shape == "complaint":
        prefix = draw(st.sampled_from(["", "LAPOR ", "RAHASIA ", "ANONIM ", "BBM ", "LAPOR#"]))
        place = draw(st.sampled_from(["", "KAB SIJUNJUNG#", "#", "jkt#"])) if "#" in prefix else ""
        return prefix + place + draw(st.one_of(st.text(max_size=200), EXTENSION_HEAVY))
    keyword = draw(st.sampled_from(sorted(KEYWORDS)))
    keyword = draw(st.sampled_from([keyword, keyword.lower(), keyword.capitalize()]))
    number = draw(
        st.one_of(
            st.just(str(tracking)),
            st.just(f"#{tracking}"),
            st.text("0123456789", min_size=1, max_size=13),
            st.just(""),
        )
    )
    return f"{keyword}{draw(SEPARATORS)}{number} {draw(TAILS)}"


def _sender(draw: st.DrawFn) -> str:
    who = draw(st.sampled_from(["fresh", OWNER, OFFICER, STRANGER]))
    return f"0812{uuid.uuid4().int % 10**8:08d}" if who == "fresh" else who


def _fits(row: OutboundMessage) -> bool:
    """GSM-7, and no more SMPP parts than the template's budget (escape pairs kept whole)."""
    budget = int(templates()[row.template].get("segments", DEFAULT_SEGMENTS))
    return septets(row.text) is not None and len(split_text(row.text, 0)) <= budget


def test_every_sms_gets_one_answer_within_budget(db: dict[str, str]) -> None:
    handle_sms(OWNER, "Jalan rusak parah di Kabupaten Sijunjung, mohon diperbaiki")
    with session_scope() as session:
        complaint = session.execute(select(Complaint)).scalar_one()
        tracking = complaint.tracking_number
        admin.add_officer(session, agency_code=complaint.agency.code, msisdn=OFFICER)

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        sender, text = _sender(data.draw), data.draw(sms(tracking))
        with session_scope() as session:
            before = session.scalar(select(func.max(OutboundMessage.id))) or 0
        inbound_id = handle_sms(sender, text)
        with session_scope() as session:
            inbound = session.get(InboundMessage, inbound_id)
            assert inbound is not None
            keys = [f"reply:{inbound_id}", f"ack:{inbound.complaint_id}"]
            answers = session.scalars(
                select(OutboundMessage).where(OutboundMessage.idempotency_key.in_(keys))
            ).all()
            if not answers:  # only silence allowed: past the limit, after the one refusal
                reporter = session.scalar(
                    select(Reporter).where(Reporter.msisdn == reporter_key(sender))
                )
                assert reporter is not None, text
                flood = select(OutboundMessage).where(
                    OutboundMessage.idempotency_key.like(f"flood:{reporter.id}:%")
                )
                assert session.scalars(flood).first() is not None, text
            assert len(answers) <= 1, text
            for row in answers:
                assert (row.channel, row.link, row.recipient) == ("http", "telco-a", sender)
            caused = session.scalars(select(OutboundMessage).where(OutboundMessage.id > before))
            for row in caused:
                assert row.text.strip() and _fits(row), (text, row.template, row.text)

    check()
