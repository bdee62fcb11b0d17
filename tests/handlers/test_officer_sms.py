"""Officers act by SMS, end to end over the partner channel with a real worker.

Every SMS to the citizen and to each officer is checked, in order; nothing
else may arrive. Texts toward an agency never carry the reporter's number.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
from sqlalchemy import select

from app import create_app
from models import actions, admin
from models.agencies import Officer
from models.complaints import Complaint, Status
from models.db import session_scope
from models.phone import normalize
from routing import sla
from routing.engine import get_router

from channels import complaint_by_text, partner_get
from recorder import Recorder
from support import wait_for

CITIZEN = "081234567831"
PUPR = "081300000021"  # Dinas PUPR Kabupaten Sijunjung
DLH = "081300000022"  # Dinas Lingkungan Hidup Kabupaten Sijunjung
HOLDER = "081300000023"  # whichever agency routing picks for the hidden reporter's complaint
ABOVE = "081300000024"  # the agency above that one
IMPOSTOR = "081300000099"
OFFICERS = {PUPR: "PUPR.13.03", DLH: "DLH.13.03"}
# the answer to CEK (templates_sms/id/citizen.toml [status]), and nothing else
STATUS_REPLY = re.compile(r"LAPOR! #\d{7,}: [^.]+\. Instansi: .+\. Per \d\d-\d\d-\d{4} \d\d:\d\d\.")


class Phones:
    """What each phone received, read in order; `quiet` proves nothing else came."""

    def __init__(self, client, sent: Recorder) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.sent = sent
        self.read: Counter[str] = Counter()

    def inbox(self, number: str) -> list[str]:
        e164 = normalize(number)
        return [
            r.params["text"]
            for r in self.sent.to("/cgi-bin/sendsms")
            if normalize(r.params["to"]) == e164
        ]

    def send(self, number: str, text: str) -> None:
        assert partner_get(self.client, text, number).status_code == 200

    def next(self, number: str) -> str:
        """The next unread SMS of `number`, waiting for it."""
        wait_for(lambda: len(self.inbox(number)) > self.read[number])
        self.read[number] += 1
        return self.inbox(number)[self.read[number] - 1]

    def say(self, number: str, text: str) -> str:
        self.send(number, text)
        return self.next(number)

    def quiet(self, *numbers: str) -> None:
        """Nothing unread for `numbers` or the citizen, after a CEK round trip (same queue)."""
        status = self.say(CITIZEN, "CEK")  # a stray SMS to the citizen would be read here
        assert STATUS_REPLY.fullmatch(status), status
        for number in (CITIZEN, *numbers):
            assert self.inbox(number)[self.read[number] :] == [], number


@pytest.fixture()
def phones(db: dict[str, str], worker: subprocess.Popen[bytes], sent: Recorder) -> Phones:
    with session_scope() as session:
        for number, code in OFFICERS.items():
            admin.add_officer(session, agency_code=code, msisdn=number)
    return Phones(create_app().test_client(), sent)


def status_of(tracking: int) -> tuple[str, str]:
    with session_scope() as session:
        complaint = session.query(Complaint).filter_by(tracking_number=tracking).one()
        return complaint.status, complaint.agency.code


def assert_no_reporter_identity(phones: Phones, officers: list[str], *, hidden: bool) -> None:
    """Officers' SMS: never the full number; for ANONIM/RAHASIA not even the masked one."""
    for number in officers:
        for sms in phones.inbox(number):
            assert "4567831" not in sms and "0812345678" not in sms
            if hidden:
                assert "628123456" not in sms


def test_an_officer_acting_while_a_colleague_forwards_sees_the_forward(phones: Phones) -> None:
    """TERIMA read the complaint while another officer's TERUSKAN was not yet committed, and
    wrote over it: the complaint ended in progress at an agency that never accepted it."""
    text = "Jalan berlubang di Kabupaten Sijunjung dekat jembatan, tolong diperbaiki"
    phones.say(CITIZEN, text)
    n = complaint_by_text(text).tracking_number
    assert f"Laporan baru #{n}" in phones.next(PUPR)
    held = threading.Event()

    def forward() -> None:  # a colleague's TERUSKAN, its transaction open a while
        with session_scope() as session:
            complaint = session.scalars(
                select(Complaint).where(Complaint.tracking_number == n).with_for_update()
            ).one()
            officer = session.scalars(select(Officer).where(Officer.msisdn == normalize(PUPR)))
            target = admin.find_agency(session, "DLH.13.03")
            assert target is not None
            actions.forward_complaint(session, complaint, officer.one(), target, "sampah")
            session.flush()
            held.set()
            time.sleep(1.5)  # meanwhile the worker is at TERIMA

    colleague = threading.Thread(target=forward)
    colleague.start()
    assert held.wait(10)
    phones.send(PUPR, f"TERIMA {n}")
    colleague.join()
    assert "tidak berwenang" in phones.next(PUPR)
    assert status_of(n) == (Status.ASSIGNED, "DLH.13.03")


def test_an_officer_follows_their_own_complaint_as_a_citizen_and_may_not_close_it(
    phones: Phones,
) -> None:
    """An officer's BALAS on a complaint they filed was relayed back to themselves, and they
    could accept, finish and rate it."""
    text = "Jalan rusak depan rumah saya di Kabupaten Sijunjung, sudah setahun"
    phones.send(PUPR, text)
    n = complaint_by_text(text).tracking_number
    both = phones.next(PUPR) + phones.next(PUPR)  # to the citizen and to PUPR's officer
    assert "diteruskan ke Dinas PUPR" in both and f"Laporan baru #{n}" in both
    phones.send(PUPR, f"BALAS {n} lubangnya dua meter")
    both = phones.next(PUPR) + phones.next(PUPR)
    assert "sudah kami terima" in both
    assert f"Info tambahan pelapor utk #{n}: lubangnya dua meter" in both
    assert "tidak berwenang" in phones.say(PUPR, f"TERIMA {n}")
    assert status_of(n) == (Status.ASSIGNED, "PUPR.13.03")


def test_routed_accepted_answered_forwarded_finished_rated_closed(phones: Phones) -> None:
    ack = phones.say(CITIZEN, "Jalan rusak dan sampah menumpuk di Kabupaten Sijunjung dekat pasar")
    n = complaint_by_text(
        "Jalan rusak dan sampah menumpuk di Kabupaten Sijunjung dekat pasar"
    ).tracking_number
    assert f"#{n}" in ack and "Dinas PUPR Kabupaten Sijunjung" in ack
    new = phones.next(PUPR)
    assert f"Laporan baru #{n}" in new and "628123456xxxx" in new and "sampah menumpuk" in new
    assert f"TERIMA {n}" in new

    refused = phones.say(IMPOSTOR, f"TERIMA {n}")
    assert "hanya untuk petugas" in refused
    assert "tidak berwenang" in phones.say(DLH, f"terima #{n}")
    assert status_of(n) == (Status.ASSIGNED, "PUPR.13.03")

    assert "Anda terima (jenis normal)" in phones.say(PUPR, f"TERIMA {n}")
    assert "sedang ditindaklanjuti oleh Dinas PUPR Kabupaten Sijunjung" in phones.next(CITIZEN)
    assert "sudah diterima" in phones.say(PUPR, f"TERIMA {n}")

    assert "diteruskan ke pelapor" in phones.say(PUPR, f"BALAS {n} Tim kami survei besok pagi")
    relayed = phones.next(CITIZEN)
    assert "dari Dinas PUPR Kabupaten Sijunjung: Tim kami survei besok pagi" in relayed

    assert "sudah kami terima" in phones.say(CITIZEN, f"BALAS {n} sampahnya di depan pasar Muaro")
    assert f"Info tambahan pelapor utk #{n}: sampahnya di depan pasar Muaro" in phones.next(PUPR)

    assert "Kode instansi XYZ.99 tidak dikenal" in phones.say(PUPR, f"TERUSKAN {n} xyz.99 salah")
    forwarded = phones.say(PUPR, f"TERUSKAN {n} DLH.13.03 sampah bukan wewenang PUPR")
    assert "diteruskan ke Dinas Lingkungan Hidup Kabupaten Sijunjung" in forwarded
    assert "diteruskan ke Dinas Lingkungan Hidup Kabupaten Sijunjung" in phones.next(CITIZEN)
    assert f"Laporan baru #{n}" in phones.next(DLH)
    assert "tidak berwenang" in phones.say(PUPR, f"BALAS {n} masih kami pantau")

    info = phones.say(DLH, f"INFO {n}")
    assert "Diteruskan ke instansi" in info and "Dinas Lingkungan Hidup" in info
    assert "628123456xxxx" in info
    assert "Anda terima" in phones.say(DLH, f"TERIMA {n}")
    assert "Dinas Lingkungan Hidup" in phones.next(CITIZEN)
    assert "tercatat selesai" in phones.say(DLH, f"SELESAI {n} Sampah sudah diangkut hari ini")
    done = phones.next(CITIZEN)
    assert "Sampah sudah diangkut hari ini" in done and f"NILAI {n} <1-5>" in done
    assert "sudah dinyatakan selesai" in phones.say(DLH, f"SELESAI {n} sekali lagi")

    assert "Terima kasih atas penilaian 5" in phones.say(CITIZEN, f"NILAI {n} 5")
    assert status_of(n) == (Status.CLOSED, "DLH.13.03")
    assert "sudah ditutup" in phones.say(DLH, f"BALAS {n} terima kasih")
    assert "tidak ditemukan" in phones.say(DLH, "TERIMA 9999999")

    phones.quiet(PUPR, DLH, IMPOSTOR)
    assert_no_reporter_identity(phones, [PUPR, DLH], hidden=False)
    with session_scope() as session:
        trail = admin.audit_trail(session, n)
    assert [(e["action"], e["agency"]) for e in trail] == [
        ("filed", None),
        ("routed", "PUPR.13.03"),
        ("refused", "PUPR.13.03"),
        ("refused", "PUPR.13.03"),
        ("accepted", "PUPR.13.03"),
        ("officer_reply", "PUPR.13.03"),
        ("citizen_note", "PUPR.13.03"),
        ("forwarded", "DLH.13.03"),
        ("refused", "DLH.13.03"),
        ("accepted", "DLH.13.03"),
        ("done", "DLH.13.03"),
        ("rated", "DLH.13.03"),
    ]
    assert trail[2]["actor"].startswith("unregistered:") and "xxxx" in trail[2]["actor"]


@pytest.mark.parametrize("flag", ["ANONIM", "RAHASIA"])
def test_a_hidden_reporter_never_reaches_an_agency(phones: Phones, flag: str) -> None:
    text = "pungutan liar oleh pegawai kantor kecamatan di Kabupaten Sijunjung, telp saya 0812 3456 7831"
    with session_scope() as session:
        holder = admin.find_agency(session, get_router().route(text).agency_code)
        admin.add_officer(session, agency_code=holder.code, msisdn=HOLDER)
        admin.add_officer(session, agency_code=holder.parent.code, msisdn=ABOVE)
        above_name = holder.parent.name
    phones.say(CITIZEN, f"{flag} {text}")
    n = complaint_by_text(text).tracking_number
    assert "dirahasiakan" in phones.next(HOLDER)
    assert "dirahasiakan" in phones.say(HOLDER, f"INFO {n}")
    phones.say(CITIZEN, f"BALAS {n} saya di 081234567831 atau +6281234567831")
    assert "saya di xxxx atau xxxx" in phones.next(HOLDER)
    phones.say(ABOVE, f"TERIMA {n}")  # the level above may act on the case too
    assert above_name in phones.next(CITIZEN)
    phones.quiet(HOLDER, ABOVE)
    assert_no_reporter_identity(phones, [HOLDER, ABOVE], hidden=True)


def test_daftar_lists_open_complaints_oldest_first_in_pages(phones: Phones) -> None:
    assert "Tidak ada laporan terbuka" in phones.say(PUPR, "DAFTAR")
    numbers = []
    for i in range(7):  # three per hour per number in the tests: use several citizens
        citizen = f"08123456790{i}"
        phones.say(citizen, f"Jalan rusak nomor {i} di Kabupaten Sijunjung")
        numbers.append(
            complaint_by_text(f"Jalan rusak nomor {i} di Kabupaten Sijunjung").tracking_number
        )
        phones.next(PUPR)
    first = phones.say(PUPR, "DAFTAR")
    assert "hal 1/2" in first and "DAFTAR 2" in first
    assert [f"#{n} baru" in first for n in numbers] == [True] * 6 + [False]
    assert first.index(f"#{numbers[0]}") < first.index(f"#{numbers[5]}")
    second = phones.say(PUPR, "daftar 2")
    assert "hal 2/2" in second and f"#{numbers[6]} baru" in second and "DAFTAR 3" not in second
    assert "BALAS <no> <pesan>" in phones.say(PUPR, "INFO")
    assert "Sertakan nomor laporan" in phones.say(PUPR, "TERIMA")


def working_days(start: datetime, due: datetime) -> int:
    """Working days counted from the day after `start` to the last day `due` still holds."""
    day = start.astimezone(sla.WIB).date()
    last = (due.astimezone(sla.WIB) - timedelta(seconds=1)).date()
    assert due.astimezone(sla.WIB).time() == clock(0) and sla.calendar().is_working_day(last)
    days = 0
    while day < last:
        day += timedelta(days=1)
        days += sla.calendar().is_working_day(day)
    return days


def deadlines(tracking: int) -> tuple[datetime | None, datetime | None, datetime | None, str]:
    with session_scope() as session:
        c = session.query(Complaint).filter_by(tracking_number=tracking).one()
        return c.disposition_due_at, c.accepted_at, c.followup_due_at, c.routing_explanation


def test_dispute_and_field_inspection_set_the_follow_up_time_info_shows_it(
    phones: Phones,
) -> None:
    text = "Jembatan gantung putus di Kabupaten Sijunjung, warga tidak bisa menyeberang"
    phones.say(CITIZEN, text)
    n = complaint_by_text(text).tracking_number
    phones.next(PUPR)  # the new assignment
    disposition_due, _, _, explanation = deadlines(n)
    assert explanation.startswith("PEKERJAAN_UMUM") and "sijunjung" in explanation
    info = phones.say(PUPR, f"INFO {n}")
    assert f"Rute: {explanation} | Isi: Jembatan gantung putus" in info
    assert f"jenis normal, batas {sla.local_date(disposition_due)}." in info  # disposition

    accepted = phones.say(PUPR, f"TERIMA {n} SENGKETA")
    _, accepted_at, due, _ = deadlines(n)
    assert working_days(accepted_at, due) == 14
    assert f"Anda terima (jenis sengketa). Batas tindak lanjut {sla.local_date(due)}." in accepted
    assert f"Batas tindak lanjut {sla.local_date(due)}." in phones.next(CITIZEN)
    info = phones.say(PUPR, f"INFO {n}")
    assert (
        f"jenis sengketa, batas {sla.local_date(due)}." in info and f"Rute: {explanation}" in info
    )

    changed = phones.say(PUPR, f"terima #{n} lapangan")
    _, accepted_again, due, _ = deadlines(n)
    assert accepted_again == accepted_at and working_days(accepted_at, due) == 60
    assert f"kini pemeriksaan lapangan; batas tindak lanjut {sla.local_date(due)}." in changed
    info = phones.say(PUPR, f"INFO {n}")
    assert f"jenis pemeriksaan lapangan, batas {sla.local_date(due)}." in info
    assert f"Rute: {explanation}" in info
    told = phones.next(CITIZEN)  # the date the citizen was given moved: they hear the new one
    assert (
        f"menetapkan jenisnya pemeriksaan lapangan. Batas tindak lanjut kini {sla.local_date(due)}."
        in told
    )
    again = phones.say(PUPR, f"TERIMA {n} LAPANGAN")  # the same type again moves nothing
    assert f"kini pemeriksaan lapangan; batas tindak lanjut {sla.local_date(due)}." in again
    phones.quiet(PUPR)  # and the citizen is not told twice
