"""UU 27/2022: a reporter's data can be exported and erased without breaking history."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, func, select

import models.all
from app import create_app
from models.base import utcnow
from models.complaints import Complaint, ComplaintEvent, Status
from models.db import session_scope
from models.privacy import apply_retention, erase_reporter, export_reporter

from channels import complaint_by_text, partner_get
from recorder import Recorder

NUMBER = "081234567840"  # also reaches the gateway as +6281234567840 and 6281234567840


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def _file(client, sent: Recorder, text: str) -> Complaint:
    partner_get(client, text, NUMBER)
    return complaint_by_text(text)


def _every_text_value() -> list[str]:
    """Every string stored in every table: where a number could hide."""
    values: list[str] = []
    with session_scope() as session:
        for table in models.all.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for row in session.execute(select(*columns)) if columns else []:
                values.extend(str(v) for v in row if v is not None)
    return values


def test_export_holds_complaints_and_messages(client, sent: Recorder) -> None:
    complaint = _file(client, sent, "Jalan rusak di Kota Bogor")
    with session_scope() as session:
        data = export_reporter(session, "+6281234567840")
    assert data is not None
    assert data["reporter"]["msisdn"] == "+6281234567840"
    assert [c["tracking_number"] for c in data["complaints"]] == [complaint.tracking_number]
    assert data["complaints"][0]["events"][0]["action"] == "filed"
    assert data["messages_received"][0]["text"] == "Jalan rusak di Kota Bogor"
    with session_scope() as session:
        assert export_reporter(session, "081299999999") is None


def test_erasure_removes_every_spelling_and_keeps_history(client, sent: Recorder) -> None:
    from support import wait_for

    complaint = _file(client, sent, "Sampah menumpuk di Kota Depok")
    wait_for(lambda: sent.to("/cgi-bin/sendsms"))
    with session_scope() as session:
        assert erase_reporter(session, "6281234567840")
    stored = " ".join(_every_text_value())
    for spelling in ("081234567840", "6281234567840", "81234567840"):
        assert spelling not in stored
    with session_scope() as session:
        kept = session.scalar(
            select(Complaint).where(Complaint.tracking_number == complaint.tracking_number)
        )
        assert kept is not None and kept.text == "Sampah menumpuk di Kota Depok"
        assert kept.reporter.masked == "dihapus"
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1
        actions = [e.action for e in session.scalars(select(ComplaintEvent))]
        assert "reporter_erased" in actions
        assert export_reporter(session, NUMBER) is None


def test_retention_erases_only_reporters_silent_for_longer_than_the_period(
    client, sent: Recorder
) -> None:
    complaint = _file(client, sent, "Lampu jalan mati di Kota Medan")
    assert apply_retention(days=30) == 0
    later = utcnow() + timedelta(days=31)
    assert apply_retention(days=30, now=later) == 0  # open: the agency's answer must reach them
    with session_scope() as session:
        session.get(Complaint, complaint.id).status = Status.CLOSED
    assert apply_retention(days=30, now=later) == 1
    with session_scope() as session:
        assert export_reporter(session, NUMBER) is None


def _age_everything(days: int) -> None:
    """As if every complaint and message were `days` days old."""
    from models.inbound import InboundMessage

    past = utcnow() - timedelta(days=days)
    with session_scope() as session:
        session.execute(Complaint.__table__.update().values(updated_at=past))
        session.execute(InboundMessage.__table__.update().values(received_at=past))


def test_a_reporter_who_still_texts_is_kept(client, sent: Recorder) -> None:
    """Their complaint closed long ago, but they checked on it this week: not silent."""
    complaint = _file(client, sent, "Pungli di Kantor Kecamatan Medan Baru")
    with session_scope() as session:
        session.get(Complaint, complaint.id).status = Status.CLOSED
    _age_everything(40)
    assert partner_get(client, f"CEK {complaint.tracking_number}", NUMBER).status_code == 200
    assert apply_retention(days=30) == 0
    with session_scope() as session:
        assert export_reporter(session, NUMBER) is not None
    assert apply_retention(days=30, now=utcnow() + timedelta(days=31)) == 1  # a month after it
    with session_scope() as session:
        assert export_reporter(session, NUMBER) is None


def test_a_number_that_never_filed_is_erased_once_silent_and_officers_stay(client) -> None:
    """CEK, INFO, an empty SMS: the number was kept for ever, though nothing needed it."""
    from models.admin import add_officer

    from support import wait_for

    officer = "081234567841"
    with session_scope() as session:
        add_officer(session, agency_code="PUPR.13.08", msisdn=officer)
    for number, text in [(NUMBER, "INFO"), (NUMBER, "CEK"), (officer, "DAFTAR")]:
        assert partner_get(client, text, number).status_code == 200
    wait_for(lambda: len([v for v in _every_text_value() if v.startswith("LAPOR!")]) >= 3)
    _age_everything(40)
    assert apply_retention(days=30) == 1
    stored = " ".join(_every_text_value())
    assert "1234567840" not in stored  # the citizen's number, in any spelling, in any table
    assert "1234567841" in stored  # the officer's messages are the agency's record


def test_a_blocked_number_stays_blocked_through_retention(client) -> None:
    """Blocked ahead of its first SMS, it was erased by the next run, and the block with it."""
    from models.admin import block_reporter
    from models.reporters import Reporter

    with session_scope() as session:
        block_reporter(session, "081299990000")
    _age_everything(40)
    assert apply_retention(days=30, now=utcnow() + timedelta(days=400)) == 0
    with session_scope() as session:
        blocked = session.scalars(select(Reporter).where(Reporter.blocked)).all()
        assert [r.msisdn for r in blocked] == ["+6281299990000"]
