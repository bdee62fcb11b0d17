"""What a citizen sees: every command and every kind of bad input gets a clear SMS."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from config.settings import get_settings
from models import actions
from models.complaints import Complaint, ComplaintEvent, Status
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage

from channels import complaint_by_text, count, outbox_rows, partner_get, store_texts
from recorder import Recorder
from support import ROOT, wait_for

CITIZEN = "081234567803"
OTHER = "081234567899"


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def app_cli(db: dict[str, str], *args: str) -> str:
    """`python app.py ARGS` on the test's database: what it prints."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        env={**os.environ, **db},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


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


def test_the_same_text_after_more_than_a_day_is_a_new_complaint(client, sent: Recorder) -> None:
    text = "Sampah tidak diangkut seminggu di Kota Bekasi"
    first = say(client, sent, text)
    with session_scope() as session:
        old = session.scalars(select(Complaint)).one()
        old.created_at -= timedelta(hours=25)
        old_number = old.tracking_number
    again = say(client, sent, text)
    assert f"#{old_number}" in first and f"#{old_number}" not in again
    assert "diteruskan ke" in again
    assert count(Complaint) == 2


def _handle_at_once(texts: list[str], slowed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers handle one reporter's messages at the same moment (threads, own sessions).

    `slowed` (an actions check) sleeps after answering, so without the reporter's row
    lock both copies would get their answer before either commits.
    """
    from handlers.jobs import process_inbound

    ids = store_texts([(CITIZEN, text) for text in texts], "race")
    check = getattr(actions, slowed)

    def slow(*args: object) -> object:
        answer = check(*args)
        time.sleep(0.5)
        return answer

    monkeypatch.setattr(actions, slowed, slow)
    start = threading.Barrier(len(ids))

    def handle(inbound_id: int) -> None:
        start.wait()
        process_inbound([inbound_id])

    threads = [threading.Thread(target=handle, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert count(InboundMessage, InboundMessage.state == "processed") == len(ids)


@pytest.mark.parametrize("known", [False, True], ids=["first-text", "known-reporter"])
def test_two_copies_handled_at_the_same_time_file_one_complaint(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch, known: bool
) -> None:
    """A telco re-delivering under a new id, two workers: one complaint, one 'duplicate' reply."""
    if known:
        with session_scope() as session:
            actions.ensure_reporter(session, CITIZEN)
    text = "Pipa PDAM bocor di depan pasar Kota Padang"
    _handle_at_once([text, text], "recent_complaints_each", monkeypatch)
    assert count(Complaint) == 1
    replies = outbox_rows(OutboundMessage.recipient == CITIZEN)
    assert sorted(r.template for r in replies) == ["ack_new", "duplicate"]


def test_the_hourly_limit_holds_when_two_texts_are_handled_at_once(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = get_settings().complaints_per_hour
    with session_scope() as session:
        for i in range(limit - 1):
            reporter = actions.ensure_reporter(session, CITIZEN)
            route = actions.Route("LAINNYA", None, "NAS.ADMIN", 0.5, "test", needs_location=False)
            actions.file_complaint(
                session,
                reporter=reporter,
                reply=actions.Channel("http", "telco-a", CITIZEN),
                text=f"keluhan lama {i}",
                route=route,
            )
    texts = ["Lampu jalan mati di Kota Solo", "Trotoar rusak di Kota Solo"]
    _handle_at_once(texts, "recent_complaints_each", monkeypatch)
    assert count(Complaint) == limit
    assert count(OutboundMessage, OutboundMessage.template == "rate_limited") == 1


def test_a_blocked_number_is_stored_but_never_filed_or_answered(
    client, sent: Recorder, db: dict[str, str]
) -> None:
    """`reporter block`: texts are kept (and acknowledged to the telco), never filed or answered."""
    number = "081234567806"

    def cli(*args: str) -> str:
        return app_cli(db, "reporter", *args)

    assert "blocked" in cli("block", "+6281234567806", "--reason", "spam 0812345678901 tiap menit")
    for text in ("Jalan rusak di Kota Solo", "CEK", "INFO"):
        assert partner_get(client, text, number).status_code == 200
    wait_for(lambda: count(InboundMessage, InboundMessage.state == "processed") == 3)
    assert count(Complaint) == 0
    assert outbox_rows() == []  # nothing queued, so nothing will ever be sent
    assert "unblocked" in cli("unblock", "6281234567806")
    assert "diteruskan ke" in say(client, sent, "Jalan rusak di Kota Solo", number)
    with session_scope() as session:
        events = session.execute(
            select(ComplaintEvent.action, ComplaintEvent.note).order_by(ComplaintEvent.id)
        ).all()
    assert events[:2] == [
        ("reporter_blocked", "628123456xxxx: spam 081234567xxxx tiap menit"),
        ("reporter_unblocked", "628123456xxxx"),
    ]
    assert "nothing is held" in cli("unblock", "081299999999")
    with pytest.raises(subprocess.CalledProcessError) as refused:
        cli("block", "bukan-nomor")
    assert "not a phone number" in refused.value.stderr


def test_a_message_whose_handling_failed_is_counted_and_retried_by_the_operator(
    client, sent: Recorder, db: dict[str, str]
) -> None:
    """The citizen was told theirs is kept, but nothing ever handled it again, and no metric
    told an operator it was there."""
    from handlers.jobs import _mark_failed

    text = "Air PDAM mati tiga hari di Kota Padang"
    (inbound_id,) = store_texts([(CITIZEN, text)], "failed")
    _mark_failed(inbound_id, RuntimeError("a bug, fixed since"))
    assert "belum dapat kami proses" in replies_to(sent, CITIZEN, 1)[0]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'lapor_inbound_failed{channel="http",link="telco-a"} 1.0' in metrics
    assert "1 inbound messages waiting again" in app_cli(db, "inbound", "retry")
    assert "diteruskan ke" in replies_to(sent, CITIZEN, 2)[1]
    complaint_by_text(text)
    assert "lapor_inbound_failed{" not in client.get("/metrics").get_data(as_text=True)


def test_aduan_and_lpr_prefixes_are_taken_off(client, sent: Recorder) -> None:
    assert "diteruskan ke" in say(client, sent, "ADUAN sampah menumpuk di pasar Kota Padang")
    complaint_by_text("sampah menumpuk di pasar Kota Padang")
    assert "diteruskan ke" in say(client, sent, "lpr: lampu jalan mati di Kota Malang")
    complaint_by_text("lampu jalan mati di Kota Malang")


def test_flood_from_one_number_gets_one_polite_refusal(client, sent: Recorder) -> None:
    number = "081234567805"
    for i in range(3):  # COMPLAINTS_PER_HOUR is 3 in the tests
        assert "diteruskan ke" in say(
            client, sent, f"Keluhan nomor {i} jalan rusak Kota Solo", number
        )
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


def test_a_text_longer_than_max_text_chars_is_cut_and_the_whole_kept(
    client, sent: Recorder
) -> None:
    limit = get_settings().max_text_chars
    text = ("Jalan rusak di Kabupaten Sijunjung sudah setahun tidak diperbaiki " * 70).strip()
    assert len(text) > limit
    reply = say(client, sent, text)
    complaint = complaint_by_text(text[:limit])
    assert f"#{complaint.tracking_number}" in reply
    with session_scope() as session:
        inbound = session.scalars(
            select(InboundMessage).where(InboundMessage.complaint_id == complaint.id)
        ).one()
        assert inbound.text == text  # the whole SMS stays with the complaint
        filed = session.scalars(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.action == "filed"
            )
        ).one()
        assert f"teks dipotong dari {len(text)} karakter" in filed.note


def test_a_complaint_that_starts_like_an_officer_command_is_filed(client, sent: Recorder) -> None:
    """ "Terima 300 ribu" is money received, not TERIMA 300: it was refused as an officer's
    command, and the complaint was lost."""
    text = "Terima 300 ribu potongan bansos PKH di Kabupaten Sijunjung, harusnya 600 ribu"
    assert "diteruskan ke" in say(client, sent, text)
    n = complaint_by_text(text).tracking_number
    assert "hanya untuk petugas" in say(client, sent, f"SELESAI {n} sudah", number=OTHER)
    money = "Terima 1500000 rupiah bantuan dipotong kades di Kabupaten Sijunjung"
    assert "diteruskan ke" in say(client, sent, money, number=OTHER)
    complaint_by_text(money)


def test_balas_without_text_asks_for_it_and_tells_no_officer(client, sent: Recorder) -> None:
    say(client, sent, "Lampu jalan mati di Kota Padang depan masjid")
    n = complaint_by_text("Lampu jalan mati di Kota Padang depan masjid").tracking_number
    assert f"Sertakan isinya, mis. BALAS {n} <info>" in say(client, sent, f"BALAS {n}")
    with session_scope() as session:
        notes = session.scalars(
            select(OutboundMessage.text).where(OutboundMessage.text.contains("Info tambahan"))
        ).all()
    assert notes == []


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


def test_a_group_files_a_routed_and_an_unroutable_complaint_together(db: dict[str, str]) -> None:
    """An agency code nobody has (renamed, deactivated) leaves one complaint unassigned, not the
    whole group unfiled."""
    routed = actions.Route("LAINNYA", None, "NAS.ADMIN", 0.5, "test", needs_location=False)
    nowhere = actions.Route("LAINNYA", None, "TIDAK.ADA", 0.5, "test", needs_location=False)
    with session_scope() as session:
        filings = [
            actions.Filing(
                actions.ensure_reporter(session, number),
                actions.Channel("http", "telco-a", number),
                f"keluhan {number}",
                route,
            )
            for number, route in (("081234567811", routed), ("081234567812", nowhere))
        ]
        filed = actions.file_complaints(session, filings)
    assert [(c.status, c.agency_id is not None) for c in filed] == [
        (Status.ASSIGNED, True),
        (Status.RECEIVED, False),
    ]
    with session_scope() as session:
        stored = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert [
            (c.status, c.agency_id is not None, c.disposition_due_at is not None) for c in stored
        ] == [
            (Status.ASSIGNED, True, True),
            (Status.RECEIVED, False, False),
        ]
