"""Hostile or broken HTTP input: a clean refusal or a stored, harmless message; never a 500."""

from __future__ import annotations

import subprocess

import pytest

from app import create_app
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import InboundMessage

from channels import PARTNER_TOKEN, count, partner_get, twilio_params, twilio_post
from recorder import Recorder
from support import wait_for

CITIZEN = "081234567830"


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def test_oversized_body_is_refused_with_413_and_nothing_stored(client) -> None:
    resp = client.post(
        "/sms/http",
        data={"from": CITIZEN, "text": "x" * 200_000, "id": "big", "token": PARTNER_TOKEN},
    )
    assert resp.status_code == 413
    assert count(InboundMessage) == 0


@pytest.mark.parametrize(
    "charset",
    [
        "",  # no charset: UTF-8
        "&charset=X-NO-SUCH-CHARSET",
        "&charset=undefined",  # a Python codec that fails on every byte
        "&coding=0&charset=UTF-8",
    ],
)
def test_invalid_utf8_is_stored_with_replacement_characters(
    client, sent: Recorder, charset: str
) -> None:
    """Each byte that does not decode is U+FFFD, not left percent-encoded (werkzeug's "%FF")."""
    query = f"from={CITIZEN}&to=1708&id=bad-utf8&token={PARTNER_TOKEN}&text=jalan%FF%FE rusak Kota Bogor"
    resp = client.get("/sms/http?" + query + charset)
    assert resp.status_code == 200
    with session_scope() as session:
        stored = session.query(InboundMessage).one().text
    assert stored == "jalan\ufffd\ufffd rusak Kota Bogor"
    wait_for(lambda: sent.to("/cgi-bin/sendsms"))


def test_malformed_form_body_is_a_clean_refusal(client) -> None:
    resp = client.post(
        "/sms/http",
        data=b"\xff\x00%%%&&&===",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Partner-Token": PARTNER_TOKEN},
    )
    assert resp.status_code == 400
    assert count(InboundMessage) == 0


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE complaints; -- jalan rusak Kota Bogor",
        '" OR 1=1 -- pungli Kota Bogor',
        "Robert'); DELETE FROM reporters;-- sampah Kota Bogor",
    ],
)
def test_sql_looking_texts_are_stored_verbatim_and_harmless(
    client, sent: Recorder, text: str
) -> None:
    assert twilio_post(client, twilio_params(text, "+6281234567831")).status_code == 200
    wait_for(lambda: count(Complaint) == 1)
    with session_scope() as session:
        assert session.query(Complaint).one().text == text
    assert count(InboundMessage) == 1


@pytest.mark.parametrize("channel", ["partner", "twilio"])
def test_nul_in_a_text_is_dropped_and_the_complaint_filed(
    client, sent: Recorder, channel: str
) -> None:
    """PostgreSQL cannot store NUL: refusing it would be a 503 the telco retries for ever."""
    text, sender = "Jalan rusak\x00 di Kota Bogor\x00", "+6281234567841"
    if channel == "twilio":
        resp = twilio_post(client, twilio_params(text, sender))
    else:
        resp = partner_get(client, text, sender)
    assert resp.status_code == 200
    wait_for(lambda: count(Complaint) == 1)
    with session_scope() as session:
        assert session.query(Complaint).one().text == "Jalan rusak di Kota Bogor"
