"""Kannel-style partners: MO over GET/POST with a token, replies to send_url, delivery reports."""

from __future__ import annotations

import subprocess
import time
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import pytest

from app import create_app
from gateway.channels.http_partner import Partner
from gateway.channels.http_partner.sender import PartnerSender
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage, OutboxStatus

from channels import (
    PARTNER_TOKEN,
    complaint_by_text,
    count,
    outbox_rows,
    partner_get,
    send_through,
    sending_row,
)
from recorder import Recorder, Unanswered
from support import free_port, wait_for

CITIZEN = "081234567802"
# What a smartphone sends: curly quotes and an emoji (a surrogate pair) make it UCS-2.
UCS2_TEXT = "Jalan rusak \u201cparah\u201d di Kota Padang \U0001f621"


def send_to_partner(
    send_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[OutboundMessage, list[float]]:
    """A reply sent by the send job through a partner at send_url that answers within 0.5s."""
    import gateway.channels.http_partner.sender

    monkeypatch.setattr(gateway.channels.http_partner.sender, "SEND_TIMEOUT_S", 0.5)
    partner = PartnerSender(Partner("telco-b", "token-b", send_url), "http://127.0.0.1/dlr")
    return send_through(partner, monkeypatch, channel="http", link="telco-b", recipient=CITIZEN)


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def test_get_with_token_parameter_files_a_complaint_and_replies_through_send_url(
    client, sent: Recorder
) -> None:
    text = "Air PDAM mati tiga hari di Kota Semarang"
    resp = partner_get(client, text, CITIZEN)
    assert resp.status_code == 200
    assert resp.data == b""  # Kannel (omit-empty) must not text a body back

    complaint = complaint_by_text(text)
    request = wait_for(lambda: sent.to("/cgi-bin/sendsms"))[0]
    assert request.params["username"] == "gw" and request.params["password"] == "pw"
    assert request.params["from"] == "1708"
    assert request.params["to"] == CITIZEN
    assert f"#{complaint.tracking_number}" in request.params["text"]
    assert request.params["dlr-mask"] == "31"
    dlr = urlsplit(request.params["dlr-url"])
    assert dlr.path == "/sms/http/dlr"
    assert dlr.query.endswith("&status=%d")


def test_post_with_header_token_is_accepted(client, sent: Recorder) -> None:
    text = "Pungli di kantor kelurahan Kota Makassar"
    resp = client.post(
        "/sms/http",
        data={"from": CITIZEN, "to": "1708", "text": text, "id": "k-1"},
        headers={"X-Partner-Token": PARTNER_TOKEN},
    )
    assert resp.status_code == 200 and resp.data == b""
    complaint_by_text(text)


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_a_wrong_token_is_refused_and_nothing_stored(client, token: str) -> None:
    resp = client.get(
        "/sms/http", query_string={"from": CITIZEN, "text": "x y z", "id": "1", "token": token}
    )
    assert resp.status_code == 401
    assert count(InboundMessage) == 0


def test_missing_sender_is_a_clean_refusal(client) -> None:
    resp = client.get("/sms/http", query_string={"text": "halo", "token": PARTNER_TOKEN})
    assert resp.status_code == 400
    assert count(InboundMessage) == 0


def test_repeated_delivery_of_the_same_id_is_one_complaint(client, sent: Recorder) -> None:
    text = "Jembatan putus di Kabupaten Sijunjung"
    for _ in range(3):
        assert partner_get(client, text, CITIZEN, msg_id="same-id").status_code == 200
    complaint_by_text(text)
    wait_for(lambda: sent.to("/cgi-bin/sendsms"))
    assert count(InboundMessage) == 1
    assert len(outbox_rows()) == 1


def test_long_ids_alike_in_their_first_128_characters_are_two_messages(client) -> None:
    """Cut to the column's size they were one id, and the second complaint was dropped."""
    prefix = "kannel-smsc-telkomsel-jakarta-" * 5
    first, second = "Jalan rusak di Kota Padang", "Sampah menumpuk di Kota Bukittinggi"
    for text, msg_id in [(first, prefix + "1"), (second, prefix + "2"), (second, prefix + "2")]:
        assert partner_get(client, text, CITIZEN, msg_id=msg_id).status_code == 200
    complaint_by_text(first), complaint_by_text(second)
    assert count(InboundMessage) == 2  # and the repeat of the second is still a repeat


def test_delivery_report_marks_the_reply_delivered(client, sent: Recorder) -> None:
    partner_get(client, "Sampah tidak diangkut di Kota Bogor", CITIZEN)
    request = wait_for(lambda: sent.to("/cgi-bin/sendsms"))[0]
    wait_for(lambda: outbox_rows()[0].status == OutboxStatus.SENT)
    dlr = urlsplit(request.params["dlr-url"].replace("%d", "1"))
    query = {k: v[0] for k, v in parse_qs(dlr.query).items()}
    assert client.get(dlr.path, query_string=query).status_code == 200
    row = outbox_rows()[0]
    assert row.status == OutboxStatus.DELIVERED and row.dlr_state == "delivered"


def test_db_down_answers_503_so_the_partner_retries(client, monkeypatch) -> None:
    from sqlalchemy import create_engine

    import models.db

    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    factory = models.db.sessionmaker(bind=dead)
    monkeypatch.setattr(models.db, "_session_factory", lambda: factory)
    resp = partner_get(client, "jalan rusak", CITIZEN)
    assert resp.status_code == 503


def test_a_report_that_overtakes_its_send_commit_is_kept(db: dict[str, str]) -> None:
    """Kannel answers sendsms at once and a fast SMSC reports at once: the report may arrive
    before the worker has committed the send. It waits for that commit instead of being lost."""
    import threading
    import time

    from models.db import session_scope
    from models.outbox import mark_sent

    outbound_id = sending_row("overtaken", channel="http", link="telco-a")

    def worker_commits_late() -> None:
        time.sleep(0.5)
        with session_scope() as session:
            mark_sent(session, outbound_id, [str(outbound_id)])

    client = create_app().test_client()
    late = threading.Thread(target=worker_commits_late)
    late.start()
    query = {"token": PARTNER_TOKEN, "id": str(outbound_id), "status": "1"}
    assert client.get("/sms/http/dlr", query_string=query).status_code == 200
    late.join()
    row = outbox_rows()[0]
    assert row.status == OutboxStatus.DELIVERED and row.dlr_state == "delivered"


def kannel_query(text: bytes, **params: str) -> str:
    """A get-url query as Kannel's smsbox builds it with %b: the message's own bytes, 0x20 as +."""
    fixed = {"from": CITIZEN, "to": "1708", "token": PARTNER_TOKEN, **params}
    return f"{urlencode(fixed)}&text={quote_plus(text)}"


def stored_text() -> str:
    with session_scope() as session:
        return session.query(InboundMessage).one().text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ucs2_text_is_read_as_utf16be_and_stored_exactly(
    client, sent: Recorder, method: str
) -> None:
    """Kannel passes a UCS-2 MO as URL-encoded UTF-16BE (%b) with coding=2 (%c); the NUL
    padding some handsets add is dropped, as on SMPP."""
    query = kannel_query(
        UCS2_TEXT.encode("utf-16-be") + b"\x00\x00",
        id=f"ucs2-{method}",
        coding="2",
        charset="UTF-16BE",
    )
    if method == "GET":
        resp = client.get("/sms/http?" + query)
    else:
        resp = client.post(
            "/sms/http", data=query, content_type="application/x-www-form-urlencoded"
        )
    assert resp.status_code == 200
    assert stored_text() == UCS2_TEXT
    complaint_by_text(UCS2_TEXT)


@pytest.mark.parametrize(
    ("params", "encoded"),
    [
        ({"coding": "1", "charset": "ISO-8859-1"}, "latin-1"),
        ({"charset": "WINDOWS-1252"}, "cp1252"),
        ({"charset": "UCS-2"}, "utf-16-be"),
    ],
)
def test_text_is_read_in_the_charset_the_partner_names(
    client, params: dict[str, str], encoded: str
) -> None:
    text = "Pungli di kafé dekat kantor lurah Kota Bogor"
    resp = client.get("/sms/http?" + kannel_query(text.encode(encoded), id="named", **params))
    assert resp.status_code == 200
    assert stored_text() == text


@pytest.mark.parametrize("hold_s", [3.0, 0.0], ids=["no-answer-in-time", "connection-dropped"])
def test_a_send_the_partner_may_have_got_fails_visibly_and_is_not_resent(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch, hold_s: float
) -> None:
    """The partner took the request, then timed out or dropped the connection: it may have
    sent the SMS. Resending could text the citizen twice; the operator sees why instead."""
    with Unanswered(hold_s) as partner:
        started = time.monotonic()
        row, retries = send_to_partner(f"{partner.url}/cgi-bin/sendsms", monkeypatch)
        assert time.monotonic() - started < 2.5  # not held by a partner that never answers
    assert [r.params["to"] for r in partner.requests] == [CITIZEN]
    assert row.status == OutboxStatus.FAILED
    assert "may or may not have been sent" in (row.last_error or "")
    assert retries == []


def test_a_send_that_never_reached_the_partner_is_retried(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection refused: the partner has nothing, so the reply is queued again for later."""
    row, retries = send_to_partner(f"http://127.0.0.1:{free_port()}/sendsms", monkeypatch)
    assert row.status == OutboxStatus.QUEUED
    assert "unreachable" in (row.last_error or "")
    assert len(retries) == 1
