"""Filing and checking by USSD: one complaint per session whatever the retries, SMS on the way."""

from __future__ import annotations

import logging
import re
import subprocess

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from handlers.ussd import session as ussd_session
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import InboundMessage
from models.phone import mask
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


def forget_sessions() -> None:
    """Redis loses every USSD session (the TTL ran out, or a flush)."""
    for key in get_redis().scan_iter("lapor:ussd:*"):
        get_redis().delete(key)


def test_a_retry_after_redis_forgot_the_session_still_files_once(handset) -> None:
    phone = handset()
    filed = file_road_complaint(phone)
    forget_sessions()
    assert phone.retry() == filed
    assert count(Complaint) == 1


def test_an_expired_session_picks_up_where_the_caller_was(handset) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", ROAD, "bandung", "2")
    forget_sessions()
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


RETYPE = (
    "CON Sesi terputus, keluhan belum terkirim.\n"
    "Tulis keluhan Anda singkat dan jelas:\n0 Kembali\n00 Menu utama"
)


@pytest.mark.parametrize(
    ("typed", "after_the_loss"),
    [
        ([], "Jembatan gantung putus sejak seminggu*1"),  # "*1" is not "1 Kirim"
        ([], "Jembatan gantung putus sejak seminggu*2"),  # nor "*2" "2 Batal"
        ([], "Lampu*jalan mati total sejak Senin"),  # not "jalan mati total sejak Senin"
        ([TEXT], "1"),  # "1 Kirim" itself, the text typed before the loss
    ],
    ids=["star 1", "star 2", "star inside", "send"],
)
def test_after_redis_forgot_the_session_the_complaint_is_asked_again_never_filed_cut(
    handset, typed: list[str], after_the_loss: str
) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", ROAD, "kab sijunjung", "1", *typed)
    forget_sessions()
    assert phone.press(after_the_loss) == RETYPE
    assert count(Complaint) == 0
    phone.press("Lampu*jalan mati total sejak Senin")
    assert phone.press("1").startswith("END Laporan diterima dgn nomor #")
    assert the_complaint().text == "Lampu*jalan mati total sejak Senin"


def test_after_redis_forgot_the_session_a_mistyped_key_stops_the_replay_where_it_was(
    handset,
) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", "9", ROAD)  # "9": no such kind of problem, asked again
    forget_sessions()
    resumed = phone.press("kab sijunjung")
    assert resumed.startswith("CON Sesi terputus, lanjut:\nJenis masalah:\n1 KTP, KK, akta")
    assert resumed.endswith("0 Kembali\n00 Menu utama")
    assert phone.press("00").startswith("CON LAPOR! 1708\n1 Buat laporan")  # start over
    phone.press("1", ROAD, "kab sijunjung", "1", TEXT)
    assert phone.press("1").startswith("END Laporan diterima dgn nomor #")
    assert the_complaint().region_code.startswith("13.03")


def test_two_callers_sharing_a_session_id_each_get_their_own_menu_and_complaint(
    handset, sent: Recorder
) -> None:
    first, second = handset(), handset("+6281299990000")
    second.session_id = first.session_id  # an aggregator reusing its ids
    first.dial()
    first.press("1", ROAD, "kab sijunjung")
    assert second.dial().startswith("CON LAPOR! 1708\n1 Buat laporan")
    assert second.press("1").startswith("CON Jenis masalah:")
    one = tracking_in(first.press("1", TEXT, "1"))
    two = tracking_in(second.press(ROAD, "kota padang", "1", "Lampu jalan mati sejak Senin", "1"))
    assert one != two and count(Complaint) == 2
    texts = wait_for(lambda: sms_to(sent, second.phone) or None)
    assert f"#{two}" in texts[0]
    forget_sessions()  # the retry below is answered from the database
    respelled = handset("081299990000")  # the second caller's number, as another link spells it
    respelled.session_id, respelled.inputs = second.session_id, second.inputs
    assert tracking_in(respelled.retry()) == two
    assert count(Complaint) == 2
    with session_scope() as session:  # the keys outlive an erasure: no number in them
        keys = session.scalars(select(InboundMessage.external_id)).all()
    assert keys and not [key for key in keys if "1299990000" in key or "8123" in key]


class SavesFail:
    """Redis that still answers reads but fails writes: it went away during the request."""

    def __init__(self) -> None:
        self.real = get_redis()

    def get(self, key: str) -> bytes | None:
        return self.real.get(key)

    def set(self, *args: object, **kwargs: object) -> None:
        raise RedisConnectionError("Connection reset by peer")


def test_a_redis_failure_after_filing_still_shows_the_tracking_number(
    handset, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", ROAD, "kab sijunjung", "1", TEXT)
    monkeypatch.setattr(ussd_session, "get_redis", SavesFail)
    with caplog.at_level(logging.ERROR, logger=ussd_session.__name__):
        filed = phone.press("1")
    assert filed.startswith("END Laporan diterima dgn nomor #")
    assert tracking_in(filed) == the_complaint().tracking_number
    assert mask(phone.phone) in caplog.text
    assert phone.phone.removeprefix("+") not in caplog.text
