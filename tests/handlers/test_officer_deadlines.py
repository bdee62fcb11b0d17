"""Deadlines over time: reminders once, berjenjang escalation, auto-close; `now` travels."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.sla_sweep import DeadlineReport, sweep_deadlines
from models import actions, admin
from models.actions import Channel, Route
from models.agencies import Officer
from models.base import utcnow
from models.complaints import Complaint, Status
from models.db import session_scope
from models.officers import may_act
from models.outbox import OutboundMessage
from routing.sla import WIB, rules

from channels import outbox_rows
from support import start_role

CITIZEN = "+6281234567821"
OFFICERS = {
    "PUPR.13.03": "+6281300000011",
    "PUPR.13": "+6281300000012",
    "KEMENPU": "+6281300000013",
    "KOMINFO.13.03": "+6281300000014",
    "KOMINFO.13": "+6281300000015",
}


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@pytest.fixture()
def officers(db: dict[str, str]) -> dict[str, str]:
    with session_scope() as session:
        for code, number in OFFICERS.items():
            admin.add_officer(session, agency_code=code, msisdn=number)
    return OFFICERS


def file(text: str, agency_code: str, now: datetime, *, anonymous: bool = False) -> int:
    """A complaint filed at `now` (as the citizen handler would), returning its id."""
    with session_scope() as session:
        complaint = actions.file_complaint(
            session,
            reporter=actions.ensure_reporter(session, CITIZEN),
            reply=Channel("http", "telco-a", CITIZEN),
            text=text,
            route=Route("PEKERJAAN_UMUM", "13.03", agency_code, 1.0, "test", False),
            anonymous=anonymous,
            now=now,
        )
        return complaint.id


def texts_to(number: str) -> list[str]:
    return [row.text for row in outbox_rows(OutboundMessage.recipient == number)]


def holder(complaint_id: int) -> tuple[str, str]:
    with session_scope() as session:
        complaint = session.get(Complaint, complaint_id)
        return complaint.agency.code, complaint.status


def officer(session: Session, number: str) -> Officer:
    return session.scalar(select(Officer).where(Officer.msisdn == number))


def test_missed_dispositions_escalate_two_levels_over_christmas_and_new_year(officers) -> None:
    complaint_id = file(
        "Jembatan gantung putus di Kabupaten Sijunjung", "PUPR.13.03", wib(2026, 12, 22, 10)
    )
    # working days: Wed 23; Thu 24 cuti bersama, Fri 25 Natal, weekend; Mon 28, Tue 29
    assert sweep_deadlines(wib(2026, 12, 28, 9)) == DeadlineReport()
    assert sweep_deadlines(wib(2026, 12, 29, 9)) == DeadlineReport(reminded=1)
    assert sweep_deadlines(wib(2026, 12, 29, 15)) == DeadlineReport()
    reminder = texts_to(OFFICERS["PUPR.13.03"])[-1]
    assert "Pengingat" in reminder and "berakhir 29-12-2026" in reminder

    assert sweep_deadlines(wib(2026, 12, 30, 8)) == DeadlineReport(escalated=1)
    assert sweep_deadlines(wib(2026, 12, 30, 8)) == DeadlineReport()
    assert holder(complaint_id) == ("PUPR.13", Status.ASSIGNED)
    (to_province,) = texts_to(OFFICERS["PUPR.13"])
    assert "Eskalasi" in to_province and "Dinas PUPR Kabupaten Sijunjung" in to_province
    assert "Jembatan gantung putus" in to_province
    # Thu 31; Fri 1 Jan, weekend; Mon 4; Tue 5 Isra Mi'raj; Wed 6 -> due at 7 Jan 00:00 WIB
    assert "Batas disposisi 06-01-2027" in to_province
    (coordinator,) = texts_to(OFFICERS["KOMINFO.13.03"])
    assert "Info koordinator" in coordinator and "Dinas PUPR Provinsi Sumatera Barat" in coordinator

    assert sweep_deadlines(wib(2027, 1, 6, 12)) == DeadlineReport(reminded=1)
    assert sweep_deadlines(wib(2027, 1, 7, 8)) == DeadlineReport(escalated=1)
    assert holder(complaint_id) == ("KEMENPU", Status.ASSIGNED)
    assert "Eskalasi" in texts_to(OFFICERS["KEMENPU"])[0]
    assert "Kementerian Pekerjaan Umum" in texts_to(OFFICERS["KOMINFO.13"])[0]

    rows = len(outbox_rows())
    assert sweep_deadlines(wib(2027, 6, 1)) == DeadlineReport()  # nobody above a ministry
    assert len(outbox_rows()) == rows
    citizen = texts_to(CITIZEN)
    assert len(citizen) == 3  # acknowledgement, then one SMS per escalation
    assert "kini ditangani Dinas PUPR Provinsi Sumatera Barat" in citizen[1]
    assert "kini ditangani Kementerian Pekerjaan Umum" in citizen[2]
    with session_scope() as session:
        trail = admin.audit_trail(session, session.get(Complaint, complaint_id).tracking_number)
    assert [e["action"] for e in trail] == [
        "filed", "routed", "reminded", "escalated", "reminded", "escalated",
    ]  # fmt: skip
    assert [e["agency"] for e in trail if e["action"] == "escalated"] == ["PUPR.13", "KEMENPU"]


def test_follow_up_time_runs_by_type_from_acceptance(officers) -> None:
    complaint_id = file(
        "Drainase tersumbat di Kabupaten Sijunjung", "PUPR.13.03", wib(2026, 11, 23, 9)
    )
    with session_scope() as session:
        complaint = session.get(Complaint, complaint_id)
        actions.accept_complaint(
            session,
            complaint,
            officer(session, OFFICERS["PUPR.13.03"]),
            "light",
            now=wib(2026, 11, 24, 9),
        )
    # light: 3 working days after Tue 24 -> Wed 25, Thu 26, Fri 27
    assert sweep_deadlines(wib(2026, 11, 27, 23)) == DeadlineReport(reminded=1)
    assert "tindak lanjut" in texts_to(OFFICERS["PUPR.13.03"])[-1]
    assert sweep_deadlines(wib(2026, 11, 28, 0, 1)) == DeadlineReport(escalated=1)
    assert holder(complaint_id) == ("PUPR.13", Status.ASSIGNED)


def test_a_finished_complaint_closes_itself_after_ten_silent_working_days(officers) -> None:
    complaint_id = file(
        "Lampu jalan mati di Kabupaten Sijunjung", "PUPR.13.03", wib(2026, 11, 30, 9)
    )
    with session_scope() as session:
        complaint = session.get(Complaint, complaint_id)
        actions.finish_complaint(
            session,
            complaint,
            officer(session, OFFICERS["PUPR.13.03"]),
            "Lampu sudah diganti",
            now=wib(2026, 12, 1, 10),
        )
    # Dec 2, 3, 4, 7, 8, 9, 10, 11, 14, 15: closes at midnight after the 15th
    assert sweep_deadlines(wib(2026, 12, 15, 23)) == DeadlineReport()
    assert sweep_deadlines(wib(2026, 12, 16, 0, 30)) == DeadlineReport(closed=1)
    assert sweep_deadlines(wib(2026, 12, 16, 0, 30)) == DeadlineReport()
    assert holder(complaint_id)[1] == Status.CLOSED
    closing = texts_to(CITIZEN)[-1]
    assert "ditutup otomatis" in closing and "10 hari kerja" in closing
    assert len(texts_to(CITIZEN)) == 3  # acknowledgement, SELESAI, closed


def test_escalating_an_anonymous_complaint_reveals_nobody(officers) -> None:
    text = "Pungli izin jalan, hubungi saya 0812-3456-7821 di Kabupaten Sijunjung"
    file(text, "PUPR.13.03", wib(2026, 11, 23, 9), anonymous=True)
    assert sweep_deadlines(wib(2026, 12, 20)) == DeadlineReport(escalated=1)
    to_officers = [row.text for row in outbox_rows(OutboundMessage.recipient != CITIZEN)]
    assert len(to_officers) == 3  # new assignment, escalation, coordinator informed
    for sms in to_officers:
        assert "dirahasiakan" in sms or "Info koordinator" in sms
        for fragment in ("7821", "628123456", "0812"):
            assert fragment not in sms


@pytest.mark.parametrize(
    ("agency_code", "allowed"),
    [
        ("PUPR.13.03", True),  # the holding agency
        ("PUPR.13", True),  # above it
        ("KEMENPU", True),  # above that
        ("KOMINFO.13.03", True),  # the region's SP4N coordinator
        ("KOMINFO.13", True),  # the province's coordinator
        ("KOMINFO.13.04", False),  # another region's coordinator
        ("DLH.13.03", False),  # another agency of the same region
        ("PUPR.13.04", False),  # the same kind of agency elsewhere
    ],
)
def test_who_may_act_on_a_complaint(db: dict[str, str], agency_code: str, allowed: bool) -> None:
    complaint_id = file("Jalan longsor di Kabupaten Sijunjung", "PUPR.13.03", wib(2026, 11, 23, 9))
    with session_scope() as session:
        someone = admin.add_officer(session, agency_code=agency_code, msisdn="+6281300000019")
        assert may_act(someone, session.get(Complaint, complaint_id)) is allowed
        someone.active = False
        assert not may_act(someone, session.get(Complaint, complaint_id))


@pytest.mark.parametrize("coordinator", ["KOMINFO.13.03", "KOMINFO.13"])
def test_a_coordinator_may_not_act_for_a_national_body(
    db: dict[str, str], coordinator: str
) -> None:
    """A complaint from Sijunjung held by BPJS Kesehatan is the citizen's place, not the
    coordinator's agency: the kabupaten's Dinas Kominfo closed it, and the citizen was told
    Dinas Kominfo had finished it."""
    complaint_id = file("Kartu BPJS ditolak di Kabupaten Sijunjung", "BPJSKES", wib(2026, 11, 23))
    with session_scope() as session:
        someone = admin.add_officer(session, agency_code=coordinator, msisdn="+6281300000019")
        assert not may_act(someone, session.get(Complaint, complaint_id))


def sla_sweep_command(env: dict[str, str]) -> str:
    """`python app.py sla-sweep`, as cron runs it: what it prints."""
    proc = start_role(env, "sla-sweep", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode().strip()


def test_the_sla_sweep_command_reminds_once(db: dict[str, str], officers) -> None:
    complaint_id = file("Jalan amblas di Kabupaten Sijunjung", "PUPR.13.03", utcnow())
    with session_scope() as session:  # a disposition deadline two hours away: remind now
        session.get(Complaint, complaint_id).disposition_due_at = utcnow() + timedelta(hours=2)
    assert sla_sweep_command(db) == str(DeadlineReport(reminded=1))
    new, reminder = texts_to(OFFICERS["PUPR.13.03"])
    assert "Laporan baru" in new and "Pengingat: batas disposisi" in reminder
    assert sla_sweep_command(db) == str(DeadlineReport())  # DeadlineReport(reminded=0, ...)
    assert len(texts_to(OFFICERS["PUPR.13.03"])) == 2
    assert len(texts_to(CITIZEN)) == 1  # the acknowledgement only


def test_the_cron_role_registers_the_deadline_sweep(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python app.py cron` without its endless loop: what it registers, and that it runs."""
    from rq.cron import CronScheduler

    import app
    from models.queues import MAINTENANCE_QUEUE, get_redis

    started: list[CronScheduler] = []
    monkeypatch.setattr(CronScheduler, "start", lambda self: started.append(self))
    app.run_cron()
    (cron,) = started
    jobs = {job.func_name: job for job in cron.get_jobs()}
    deadlines = jobs["handlers.sla_sweep.sweep_deadlines"]
    assert (deadlines.queue_name, deadlines.interval) == (
        MAINTENANCE_QUEUE,
        rules().sweep_interval_s,
    )
    assert "models.sweep.sweep_messages" in jobs
    job = deadlines.enqueue(get_redis())  # what the scheduler does every interval
    assert job.origin == MAINTENANCE_QUEUE and job.perform() == DeadlineReport()


def test_an_overdue_complaint_behind_hundreds_already_reminded_is_escalated(officers) -> None:
    """More than one batch of candidates that need nothing more must not hide an overdue one."""
    crowd = 600  # above handlers.sla_sweep.BATCH
    route = Route("PEKERJAAN_UMUM", "13.03", "PUPR.13.03", 1.0, "test", False)
    with session_scope() as session:
        filings = []
        for n in range(crowd):
            number = f"+62812990{n:05d}"
            filings.append(
                actions.Filing(
                    actions.ensure_reporter(session, number),
                    Channel("http", "telco-a", number),
                    f"Jalan berlubang nomor {n} di Kabupaten Sijunjung",
                    route,
                    False,
                    False,
                    "",
                )
            )
        actions.file_complaints(session, filings, now=wib(2026, 12, 22, 10))
    overdue = file("Jembatan putus di Kabupaten Sijunjung", "PUPR.13.03", wib(2026, 12, 15, 10))

    assert sweep_deadlines(wib(2026, 12, 29, 9)) == DeadlineReport(reminded=crowd, escalated=1)
    assert holder(overdue) == ("PUPR.13", Status.ASSIGNED)
    assert "kini ditangani Dinas PUPR Provinsi Sumatera Barat" in texts_to(CITIZEN)[-1]
    assert sweep_deadlines(wib(2026, 12, 29, 10)) == DeadlineReport()  # each exactly once
    reminders = [t for t in texts_to(OFFICERS["PUPR.13.03"]) if "Pengingat" in t]
    assert len(reminders) == crowd
