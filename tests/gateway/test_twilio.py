"""Twilio: a signed MO becomes a complaint whose reply leaves through the real twilio client."""

from __future__ import annotations

import base64
import subprocess
import threading
import time
from dataclasses import replace

import pytest

from app import create_app
from config.settings import get_settings
from gateway.channels.twilio.sender import TwilioSender
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage, OutboxStatus, mark_sent

from channels import (
    complaint_by_text,
    count,
    outbox_rows,
    send_through,
    sending_row,
    twilio_params,
    twilio_post,
)
from recorder import Recorder, Unanswered
from support import free_port, wait_for

CITIZEN = "+6281234567801"


def send_to_twilio(
    api_base: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[OutboundMessage, list[float]]:
    """A reply sent by the send job through the real twilio client, at a Twilio at api_base
    (the client built as in production, with its timeout cut to 0.5s)."""
    import gateway.channels.twilio.sender

    monkeypatch.setattr(gateway.channels.twilio.sender, "SEND_TIMEOUT_S", 0.5)
    sender = TwilioSender.from_settings(replace(get_settings(), twilio_api_base=api_base), "twilio")
    return send_through(sender, monkeypatch, channel="twilio", link="twilio", recipient=CITIZEN)


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def test_signed_message_files_a_complaint_and_the_reply_goes_out_through_twilio(
    client, sent: Recorder
) -> None:
    text = "Jalan rusak berlubang di Kecamatan Sukajadi Kota Bandung"
    resp = twilio_post(client, twilio_params(text, CITIZEN))
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    assert b"<Response></Response>" in resp.data

    complaint = complaint_by_text(text)
    assert complaint.tracking_number >= 1000001
    request = wait_for(lambda: sent.to("/Messages.json"))[0]
    assert request.path == f"/2010-04-01/Accounts/{'AC' + '0' * 32}/Messages.json"
    assert request.params["To"] == CITIZEN
    assert request.params["From"] == "+15005550006"
    assert f"#{complaint.tracking_number}" in request.params["Body"]
    assert request.params["StatusCallback"] == "https://gateway.lapor.test/sms/twilio/status"
    auth = base64.b64decode(request.headers["Authorization"].split()[1]).decode()
    assert auth == f"{'AC' + '0' * 32}:test-twilio-auth-token"
    row = wait_for(lambda: [r for r in outbox_rows() if r.status == OutboxStatus.SENT])[0]
    assert row.external_ids.startswith('["SM')


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "forged"}],
    ids=["missing", "forged"],
)
def test_unsigned_or_forged_requests_are_refused_and_store_nothing(client, headers) -> None:
    resp = client.post("/sms/twilio", data=twilio_params("pungli", CITIZEN), headers=headers)
    assert resp.status_code == 403
    assert count(InboundMessage) == 0


def test_signature_over_other_fields_is_refused(client) -> None:
    params = twilio_params("jalan rusak", CITIZEN)
    good = twilio_post(client, params)
    assert good.status_code == 200
    tampered = dict(params, Body="tampered text", MessageSid="SMother")
    from twilio.request_validator import RequestValidator

    from channels import PUBLIC_URL, TWILIO_TOKEN

    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/sms/twilio", params)
    resp = client.post("/sms/twilio", data=tampered, headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 403
    assert count(InboundMessage) == 1


SHARED_KEY = "webhooks-rule-shared-key"


def _rule_signed(params: dict[str, str], secret: str = SHARED_KEY) -> dict[str, str]:
    """The headers of a request a Twilio Webhooks Rule signs: HMAC-SHA256 with its SharedKey."""
    from twilio.request_validator import RequestValidator

    from channels import PUBLIC_URL

    signature = RequestValidator(secret).compute_signature(
        PUBLIC_URL + "/sms/twilio", params, "HMAC_SHA256"
    )
    return {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }


@pytest.fixture()
def shared_key(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TWILIO_WEBHOOK_SHARED_KEY", SHARED_KEY)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_message_signed_by_a_webhooks_rule_files_a_complaint(client, shared_key) -> None:
    """An operator who signs the webhook URL with a Webhooks Rule lost every SMS to a 403."""
    from channels import TWILIO_TOKEN

    text = "Lampu penerangan jalan mati di Kecamatan Padang Timur Kota Padang"
    params = twilio_params(text, CITIZEN)
    assert client.post("/sms/twilio", data=params, headers=_rule_signed(params)).status_code == 200
    complaint_by_text(text)
    other = twilio_params("pungli", CITIZEN)
    by_token = _rule_signed(other, secret=TWILIO_TOKEN)  # the Rule's header, not its key
    assert client.post("/sms/twilio", data=other, headers=by_token).status_code == 403
    assert count(InboundMessage) == 1


def test_a_rule_signed_message_without_the_shared_key_set_is_refused(client) -> None:
    params = twilio_params("pungli", CITIZEN)
    assert client.post("/sms/twilio", data=params, headers=_rule_signed(params)).status_code == 403
    assert count(InboundMessage) == 0


def test_a_replayed_signed_request_creates_no_second_complaint(client, sent: Recorder) -> None:
    params = twilio_params("Sampah menumpuk di pasar Kota Padang", CITIZEN)
    for _ in range(3):
        assert twilio_post(client, params).status_code == 200
    complaint_by_text(params["Body"])
    wait_for(lambda: sent.to("/Messages.json"))
    assert count(InboundMessage) == 1
    assert count(OutboundMessage) == 1


def test_status_callback_marks_the_reply_delivered(client, sent: Recorder) -> None:
    twilio_post(client, twilio_params("Lampu jalan mati di Kota Medan", CITIZEN))
    row = wait_for(lambda: [r for r in outbox_rows() if r.status == OutboxStatus.SENT])[0]
    sid = row.external_ids.strip('[]"')
    status = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    assert twilio_post(client, status, path="/sms/twilio/status").status_code == 204
    assert outbox_rows()[0].status == OutboxStatus.DELIVERED
    # A late "sent" after "delivered" changes nothing.
    late = dict(status, MessageStatus="sent")
    assert twilio_post(client, late, path="/sms/twilio/status").status_code == 204
    assert outbox_rows()[0].status == OutboxStatus.DELIVERED


def test_a_twilio_that_never_answers_neither_holds_the_send_nor_gets_it_twice(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio took the request and does not answer: the send gives up in time (it had no
    timeout) and fails visibly, since Twilio may have sent it; it is not sent again."""
    with Unanswered(hold_s=3.0) as twilio:
        started = time.monotonic()
        row, retries = send_to_twilio(twilio.url, monkeypatch)
        assert time.monotonic() - started < 2.5
    assert [r.params["To"] for r in twilio.requests] == [CITIZEN]
    assert row.status == OutboxStatus.FAILED
    assert "may or may not have been sent" in (row.last_error or "")
    assert retries == []


def test_a_send_that_never_reached_twilio_is_retried(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    row, retries = send_to_twilio(f"http://127.0.0.1:{free_port()}", monkeypatch)
    assert row.status == OutboxStatus.QUEUED
    assert "unreachable" in (row.last_error or "")
    assert len(retries) == 1


def test_a_status_callback_that_overtakes_the_send_commit_is_kept(db: dict[str, str]) -> None:
    """Twilio may call back before the worker committed the message sid, and does not call
    again: the callback waits for that commit instead of being lost."""
    outbound_id = sending_row("overtaken", channel="twilio", link="twilio", recipient=CITIZEN)
    sid = "SM" + "1" * 32

    def worker_commits_late() -> None:
        time.sleep(0.5)
        with session_scope() as session:
            mark_sent(session, outbound_id, [sid])

    client = create_app().test_client()
    late = threading.Thread(target=worker_commits_late)
    late.start()
    status = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    response = twilio_post(client, status, path="/sms/twilio/status")
    late.join()
    assert response.status_code == 204
    row = outbox_rows()[0]
    assert row.status == OutboxStatus.DELIVERED and row.dlr_state == "delivered"
