"""The simulator channel: a page text enters like a telco's and its replies come back to the page."""

from __future__ import annotations

import subprocess

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from models.db import session_scope
from models.inbound import InboundMessage

from support import wait_for


def test_a_text_is_stored_like_a_telcos_and_the_reply_reaches_the_inbox(
    client: FlaskClient, worker: subprocess.Popen[bytes]
) -> None:
    resp = client.post("/sim/sms", json={"from": "081234567010", "text": "INFO"})
    assert resp.status_code == 202
    with session_scope() as session:
        stored = session.get(InboundMessage, resp.json["id"])
        assert (stored.channel, stored.link, stored.recipient) == ("sim", "web", "1708")

    def thread() -> list[dict[str, str]] | None:
        messages = client.get("/sim/inbox", query_string={"number": "+6281234567010"}).json
        return messages if len(messages) == 2 else None

    sent, reply = wait_for(thread)
    assert (sent["direction"], sent["text"]) == ("out", "INFO")
    assert reply["direction"] == "in" and reply["text"].startswith("LAPOR! 1708")


def test_refuses_a_sender_that_is_not_a_number(client: FlaskClient) -> None:
    assert client.post("/sim/sms", json={"from": "polisi", "text": "x"}).status_code == 400
    for body in ([1], "x", 5):  # JSON that is no object: a 500 before
        assert client.post("/sim/sms", json=body).status_code == 400
    with session_scope() as session:
        assert session.scalars(select(InboundMessage)).all() == []


def test_off_unless_enabled(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import get_settings

    monkeypatch.setenv("SIMULATOR", "off")
    get_settings.cache_clear()
    assert client.post("/sim/sms", json={"from": "081234567010", "text": "x"}).status_code == 404
    assert "dinonaktifkan" in client.get("/").get_data(as_text=True)


def test_a_text_with_a_lone_surrogate_is_stored_with_a_replacement_character(
    client: FlaskClient,
) -> None:
    """JSON may escape half of a UTF-16 pair ("\\ud83d" alone), which no database can store:
    the text is kept with U+FFFD in its place, not refused with a 500 (the sender retries)."""
    body = '{"from": "081234567011", "text": "jalan \\ud83d rusak"}'
    resp = client.post("/sim/sms", data=body, content_type="application/json")
    assert resp.status_code == 202
    with session_scope() as session:
        assert session.get(InboundMessage, resp.json["id"]).text == "jalan \ufffd rusak"
