"""What a citizen sees: every command and every kind of bad input gets a clear SMS."""

from __future__ import annotations

import subprocess

import pytest

from app import create_app
from models.complaints import Complaint, Status
from models.db import session_scope
from models.inbound import InboundMessage

from channels import complaint_by_text, count, outbox_rows, partner_get
from recorder import Recorder
from support import wait_for

CITIZEN = "081234567803"
OTHER = "081234567899"


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def replies_to(sent: Recorder, number: str, n: int) -> list[str]:
    """The texts sent to `number`, waiting until there are `n`."""

    def texts() -> list[str] | None:
        found = [r.params["text"] for r in sent.to("/cgi-bin/sendsms") if r.params["to"] == number]
        return found if len(found) >= n else None

    return wait_for(texts)


def say(client, sent: Recorder, text: str, number: str = CITIZEN) -> str:
    """Send one SMS and return the reply it got."""
    before = len([r for r in sent.to("/cgi-bin/sendsms") if r.params["to"] == number])
    assert partner_get(client, text, number).status_code == 200
    return replies_to(sent, number, before + 1)[before]


def test_cek_answers_status_and_agency_of_own_complaint(client, sent: Recorder) -> None:
    ack = say(client, sent, "Jalan rusak parah di Kecamatan Sukajadi Kota Bandung")
    complaint = complaint_by_text("Jalan rusak parah di Kecamatan Sukajadi Kota Bandung")
    assert f"#{complaint.tracking_number}" in ack
    for spelling in (
        f"CEK {complaint.tracking_number}",
        f"cek #{complaint.tracking_number}",
        f"CEK{complaint.tracking_number}",
        f"cekk  {complaint.tracking_number}",
    ):
        reply = say(client, sent, spelling)
        assert f"#{complaint.tracking_number}" in reply
        assert "Diteruskan ke instansi" in reply
        assert "Bandung" in reply
    assert "Diteruskan ke instansi" in say(client, sent, "CEK")  # the latest one


def test_cek_of_someone_elses_number_reveals_nothing(client, sent: Recorder) -> None:
    say(client, sent, "Pungli pembuatan KTP di Kota Depok", number=OTHER)
    theirs = complaint_by_text("Pungli pembuatan KTP di Kota Depok").tracking_number
    foreign = say(client, sent, f"CEK {theirs}")
    missing = say(client, sent, "CEK 9999999")
    assert foreign == missing.replace("9999999", str(theirs))
    assert "tidak ditemukan" in foreign


def test_same_number_in_three_spellings_is_one_reporter(client, sent: Recorder) -> None:
    say(client, sent, "Lampu jalan mati di Kota Malang", number="081234567804")
    reply = say(client, sent, "CEK", number="+6281234567804")
    assert "Diteruskan ke instansi" in reply
    assert "belum punya laporan" not in say(client, sent, "CEK", number="6281234567804")


def test_the_same_text_within_a_day_gets_the_existing_number(client, sent: Recorder) -> None:
    text = "Banjir setinggi lutut di Kota Bekasi"
    first = say(client, sent, text)
    again = say(client, sent, "  banjir setinggi LUTUT di kota bekasi ")
    tracking = complaint_by_text(text).tracking_number
    assert f"#{tracking}" in first and f"#{tracking}" in again
    assert "sudah kami terima" in again
    assert count(Complaint) == 1


def test_flood_from_one_number_gets_one_polite_refusal(client, sent: Recorder) -> None:
    number = "081234567805"
    for i in range(3):  # COMPLAINTS_PER_HOUR is 3 in the tests
        assert "diterima" in say(client, sent, f"Keluhan nomor {i} jalan rusak Kota Solo", number)
    refusal = say(client, sent, "Keluhan keempat Kota Solo", number)
    assert "3 laporan dalam 1 jam" in refusal
    assert partner_get(client, "Keluhan kelima Kota Solo", number).status_code == 200
    wait_for(lambda: count(InboundMessage, InboundMessage.state == "processed") == 5)
    assert count(Complaint) == 3
    assert len(replies_to(sent, number, 4)) == 4  # the fifth got no SMS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "kosong"),
        ("    \t ", "kosong"),
        ("LAPOR", "kosong"),
        ("😡😡😡", "tidak dapat kami baca"),
        ("\x01\x02\x03\x04", "tidak dapat kami baca"),
        ("?", "CEK <nomor>"),
        ("BANTUAN", "CEK <nomor>"),
        ("help", "CEK <nomor>"),
        ("CEK 1234567", "tidak ditemukan"),
        ("NILAI", "Sertakan nomor laporan"),
        ("BALAS 1234567 ini info tambahan", "tidak ditemukan"),
    ],
)
def test_bad_or_odd_input_gets_a_clear_reply(
    client, sent: Recorder, text: str, expected: str
) -> None:
    assert expected in say(client, sent, text)


def test_a_2000_character_text_is_stored_whole(client, sent: Recorder) -> None:
    text = ("Jalan rusak di Kabupaten Sijunjung sudah setahun tidak diperbaiki. " * 40)[:2000]
    reply = say(client, sent, text)
    with session_scope() as session:
        stored = session.query(Complaint).one()
        assert len(stored.text) == 2000
        assert f"#{stored.tracking_number}" in reply


def test_rating_only_after_done_and_only_1_to_5(client, sent: Recorder) -> None:
    say(client, sent, "Sekolah rusak di Kota Padang")
    complaint = complaint_by_text("Sekolah rusak di Kota Padang")
    n = complaint.tracking_number
    assert "belum selesai" in say(client, sent, f"NILAI {n} 5")
    with session_scope() as session:
        session.get(Complaint, complaint.id).status = Status.DONE
    assert "angka 1 sampai 5" in say(client, sent, f"NILAI {n} 9")
    assert "Terima kasih atas penilaian 4" in say(client, sent, f"nilai #{n} 4")
    with session_scope() as session:
        rated = session.get(Complaint, complaint.id)
        assert rated.rating == 4 and rated.status == Status.CLOSED
    assert "sudah ditutup" in say(client, sent, f"NILAI {n} 5")


def test_no_place_asks_where_and_balas_with_the_place_reroutes(client, sent: Recorder) -> None:
    ack = say(client, sent, "Jalan berlubang besar sekali, bahaya untuk motor")
    complaint = complaint_by_text("Jalan berlubang besar sekali, bahaya untuk motor")
    assert "Di mana lokasi" in ack
    reply = say(client, sent, f"BALAS {complaint.tracking_number} Kecamatan Sukajadi, Kota Bandung")
    assert "kini diteruskan ke" in reply and "Bandung" in reply
    with session_scope() as session:
        moved = session.get(Complaint, complaint.id)
        assert moved.region_code is not None and moved.region_code.startswith("32.73")


def test_flags_and_hash_forms(client, sent: Recorder) -> None:
    say(client, sent, "RAHASIA LAPOR#KAB SIJUNJUNG#jalan provinsi rusak berat")
    complaint = complaint_by_text("jalan provinsi rusak berat")
    assert complaint.confidential and not complaint.anonymous
    assert complaint.region_code is not None and complaint.region_code.startswith("13.03")
    say(client, sent, "lapor anonim: pungli di kantor desa Kota Bogor")
    assert complaint_by_text("pungli di kantor desa Kota Bogor").anonymous


def test_every_reply_row_is_gsm7(client, sent: Recorder) -> None:
    say(client, sent, "“Jalan” rusak — parah… di Kota Bandung 😡")
    from templates_sms.gsm import segments

    for row in outbox_rows():
        assert segments(row.text) is not None and segments(row.text) <= 2
