"""A person on the simulator page: files a complaint, answers as an officer, dials *1708#."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from models import admin
from models.db import session_scope

CITIZEN = "081234567111"
OFFICER = "081399990001"
COMPLAINT = "Jalan rusak berlubang parah di Kecamatan Sukajadi Kota Bandung"
TRACKING = re.compile(r"#(\d{7,})")


def _file_complaint(page: Page) -> str:
    """The citizen texts 1708 and reads the tracking number off the reply; returns it."""
    page.goto("/")
    page.fill("#citizen-number", CITIZEN)
    page.fill("#sms-text", COMPLAINT)
    page.click("#sms-send")
    expect(page.locator("#thread li.out")).to_have_text([COMPLAINT])
    reply = page.locator("#thread li.in").first
    expect(reply).to_contain_text(TRACKING)
    match = TRACKING.search(reply.inner_text())
    assert match is not None
    return match.group(1)


def test_a_citizen_files_a_complaint_and_sees_the_tracking_number(page: Page) -> None:
    tracking = _file_complaint(page)
    expect(page.locator("#thread li.in").first).to_contain_text("Dinas PUPR Kota Bandung")
    assert len(tracking) >= 7


def test_an_officer_answers_selesai_and_the_citizen_sees_it(page: Page) -> None:
    with session_scope() as session:
        admin.add_officer(session, agency_code="PUPR.32.73", msisdn=OFFICER, name="Budi")
    tracking = _file_complaint(page)
    page.reload()  # the officer list is rendered by the server
    page.check("input[name=who][value=officer]")
    page.select_option("#officer-number", value="+6281399990001")  # as models.admin stores it
    page.fill("#sms-text", f"SELESAI {tracking} Lubang sudah ditambal hari ini")
    page.click("#sms-send")
    expect(page.locator("#thread li.in").last).to_contain_text(f"#{tracking} tercatat selesai")
    page.check("input[name=who][value=citizen]")
    update = page.locator("#thread li.in", has_text="selesai ditindaklanjuti")
    expect(update).to_contain_text("Lubang sudah ditambal")
    expect(update).to_contain_text(f"NILAI {tracking}")


def _answer(page: Page, value: str, expected: str) -> None:
    """Type one USSD answer and wait for the screen that should follow (text unique to it)."""
    page.fill("#ussd-input", value)
    page.click("#ussd-send")
    expect(page.locator("#ussd-screen")).to_contain_text(expected)


def test_a_ussd_session_runs_to_the_end(page: Page, gateway: str) -> None:
    page.goto("/")
    page.fill("#citizen-number", CITIZEN)
    page.click("#dial")
    expect(page.locator("#ussd-screen")).to_contain_text("1 Buat laporan")
    _answer(page, "1", "Jenis masalah")
    _answer(page, "1", "Ketik nama kabupaten/kota")
    _answer(page, "Kota Bandung", "Lokasi: Kota Bandung?")
    _answer(page, "1", "Tulis keluhan")
    _answer(page, "Jalan rusak parah di depan pasar Sukajadi", "1 Kirim")
    _answer(page, "1", "Laporan diterima dgn nomor #")
    expect(page.locator("#ussd-input")).to_be_hidden()  # END: the session is over
