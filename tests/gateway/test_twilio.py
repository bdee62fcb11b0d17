"""Twilio: a signed MO becomes a complaint whose reply leaves through the real twilio client."""

from __future__ import annotations

import base64
import subprocess

import pytest

from app import create_app
from models.inbound import InboundMessage
from models.outbox import OutboundMessage, OutboxStatus

from channels import complaint_by_text, count, outbox_rows, twilio_params, twilio_post
from recorder import Recorder
from support import wait_for

CITIZEN = "+6281234567801"


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
