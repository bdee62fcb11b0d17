"""Filing and checking by USSD: one complaint per session whatever the retries, SMS on the way."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import select

from models.complaints import Complaint
from models.db import session_scope
from models.queues import get_redis

from channels import count
from recorder import Recorder
from support import wait_for

ROAD, ELECTRICITY = "6", "4"  # first page, then "8" for the second page
TEXT = "Jalan utama berlubang besar di depan pasar"


@pytest.fixture(autouse=True)
def _worker(worker: subprocess.Popen[bytes]) -> None:
    """A real RQ worker sends the confirmation SMS."""


def file_road_complaint(phone, text: str = TEXT) -> str:
    phone.dial()
    return phone.press("1", ROAD, "kab sijunjung", "1", text, "1")


def tracking_in(screen: str) -> int:
    found = re.search(r"#(\d{7,})", screen)
    assert found, screen
    return int(found.group(1))


def the_complaint() -> Complaint:
    with session_scope() as session:
        complaints = list(session.scalars(select(Complaint)))
        assert len(complaints) == 1
        return complaints[0]


def sms_to(sent: Recorder, number: str) -> list[str]:
    return [r.params["text"] for r in sent.to("/cgi-bin/sendsms") if r.params["to"] == number]


def test_a_complaint_filed_by_ussd_gets_its_number_on_screen_and_by_sms(
    handset, sent: Recorder
) -> None:
    phone = handset()
    screen = file_road_complaint(phone)
    assert screen.startswith("END Laporan diterima dgn nomor #")
    tracking = tracking_in(screen)
    complaint = the_complaint()
    assert complaint.tracking_number == tracking
    assert complaint.text == TEXT
    assert complaint.region_code is not None and complaint.region_code.startswith("13.03")
    assert (complaint.channel, complaint.link) == ("http", "telco-a")
    texts = wait_for(lambda: sms_to(sent, phone.phone) or None)
    assert len(texts) == 1
    assert f"#{tracking}" in texts[0] and "Dinas PUPR Kabupaten Sijunjung" in texts[0]


def test_the_sector_chosen_in_the_menu_decides_the_agency(handset) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", "8", ELECTRICITY, "kota padang", "1", "Tiang miring hampir roboh depan rumah")
    assert phone.press("1").startswith("END Laporan diterima")
    complaint = the_complaint()
    with session_scope() as session:
        agency = session.get(Complaint, complaint.id).agency
        assert (complaint.sector, agency.code) == ("LISTRIK", "PLN")


def test_an_aggregator_retry_gets_the_same_screen_and_never_a_second_complaint(
    handset, sent: Recorder
) -> None:
    phone = handset()
    phone.dial()
    place_screen = phone.press("1", ROAD)
    assert phone.retry() == place_screen
    phone.press("kab sijunjung", "1", TEXT)
    filed = phone.press("1")
    for _ in range(3):
        assert phone.retry() == filed
    assert count(Complaint) == 1
    wait_for(lambda: sms_to(sent, phone.phone) or None)
    assert len(sms_to(sent, phone.phone)) == 1


def test_a_retry_after_redis_forgot_the_session_still_files_once(handset) -> None:
    phone = handset()
    filed = file_road_complaint(phone)
    for key in get_redis().scan_iter("lapor:ussd:*"):
        get_redis().delete(key)
    assert phone.retry() == filed
    assert count(Complaint) == 1


def test_an_expired_session_picks_up_where_the_caller_was(handset) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", ROAD, "bandung", "2")
    for key in get_redis().scan_iter("lapor:ussd:*"):  # the TTL ran out
        get_redis().delete(key)
    summary = phone.press("Drainase tersumbat, air meluap ke jalan")
    assert summary.startswith("CON Jalan, jembatan, banjir, Kota Bandung:")
    assert phone.press("1").startswith("END Laporan diterima")
    assert the_complaint().region_code.startswith("32.73")


def test_the_same_complaint_again_gets_the_existing_number(handset) -> None:
    first = tracking_in(file_road_complaint(handset()))
    again = file_road_complaint(handset())
    assert again.startswith("END Laporan yang sama sudah kami terima")
    assert tracking_in(again) == first
    assert count(Complaint) == 1


def test_status_of_own_complaint_and_nothing_about_others(handset) -> None:
    tracking = tracking_in(file_road_complaint(handset()))
    mine = handset()
    mine.dial()
    mine.press("2")
    status = mine.press(f"#{tracking}")
    assert status.startswith(f"END #{tracking}: Diteruskan ke instansi\nInstansi: Dinas PUPR")
    stranger = handset("+6281299990000")
    stranger.dial()
    stranger.press("2")
    refused = stranger.press(str(tracking))
    assert refused.startswith(f"CON Laporan #{tracking} tidak ditemukan untuk nomor Anda.\n")
    assert stranger.press("0").startswith("CON LAPOR! 1708")


def test_more_complaints_than_the_hourly_limit_are_refused_politely(handset, app_env) -> None:
    limit = int(app_env["COMPLAINTS_PER_HOUR"])
    for n in range(limit):
        file_road_complaint(handset(), text=f"{TEXT} nomor {n}")
    refused = file_road_complaint(handset(), text=f"{TEXT} lagi")
    assert (
        refused
        == f"END Anda sudah mengirim {limit} laporan dalam 1 jam terakhir. Silakan coba lagi nanti."
    )
    assert count(Complaint) == limit


def test_a_blocked_number_is_refused_in_one_short_screen(handset) -> None:
    from models import admin

    with session_scope() as session:
        admin.block_reporter(session, "081234567810", "spam")
    refused = file_road_complaint(handset())
    assert refused.startswith("END Maaf, laporan dari nomor ini tidak dapat diterima.")
    assert count(Complaint) == 0
