"""What a telco or Twilio does to the gateway, for tests: signed posts, partner posts, waits."""

from __future__ import annotations

import random
import uuid
from contextlib import nullcontext

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from gateway.channels import Sender
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import store_inbound
from models.outbox import OutboundMessage, OutboxStatus

from support import wait_for

TWILIO_TOKEN = "test-twilio-auth-token"
PARTNER_TOKEN = "partner-secret-token"
PUBLIC_URL = "https://gateway.lapor.test"
STRAY_SAFE_ID = 1_000_000_000  # far above the ids the tests' rows are given


def twilio_params(body: str, sender: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "1708",
        "Body": body,
        "NumSegments": "1",
    }


def twilio_post(
    client: FlaskClient,
    params: dict[str, str],
    path: str = "/sms/twilio",
    token: str = TWILIO_TOKEN,
) -> TestResponse:
    """POST the way Twilio does: form-encoded, signed over PUBLIC_URL + path."""
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def partner_get(
    client: FlaskClient, text: str, sender: str, msg_id: str | None = None
) -> TestResponse:
    """Kannel's sms-service get-url: everything in the query, the token as a parameter."""
    query = {"from": sender, "to": "1708", "text": text, "id": msg_id or uuid.uuid4().hex}
    return client.get("/sms/http", query_string={**query, "token": PARTNER_TOKEN})


def count(model: type, *where: object) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def complaint_by_text(text: str) -> Complaint:
    def find() -> Complaint | None:
        with session_scope() as session:
            return session.scalar(select(Complaint).where(Complaint.text == text))

    return wait_for(find)


def outbox_rows(*where: object) -> list[OutboundMessage]:
    with session_scope() as session:
        return list(
            session.scalars(select(OutboundMessage).where(*where).order_by(OutboundMessage.id))
        )


def store_texts(messages: list[tuple[str, str]], tag: str) -> list[int]:
    """(sender, text) pairs stored as a partner's inbound messages, not yet handled; their ids."""
    with session_scope() as session:
        return [
            store_inbound(
                session,
                channel="http",
                link="telco-a",
                external_id=f"{tag}-{n}",
                sender=sender,
                recipient="1708",
                text=text,
            )[0]
            for n, (sender, text) in enumerate(messages)
        ]


def sending_row(
    key: str,
    *,
    channel: str,
    link: str,
    recipient: str = "+6281234567802",
    session: Session | None = None,
    status: OutboxStatus = OutboxStatus.SENDING,
    row_id: int | None = None,
) -> int:
    """An outbox row a sender has claimed (status `sending`), as if a job were sending it;
    with status QUEUED, one waiting for a send job.

    Added in `session` when given (a test's own database), else committed on its own.
    """
    row = OutboundMessage(
        id=row_id,
        recipient=recipient,
        sender="1708",
        text="LAPOR! uji",
        template="ack_new",
        channel=channel,
        link=link,
        idempotency_key=key,
        status=status,
    )
    with session_scope() if session is None else nullcontext(session) as target:
        target.add(row)
        target.flush()
        return row.id


def send_through(
    sender: Sender, monkeypatch: pytest.MonkeyPatch, *, channel: str, link: str, recipient: str
) -> tuple[OutboundMessage, list[float]]:
    """A queued row sent by the real send job, in this process, through `sender`: the row as
    the job left it, and the retries it scheduled (their delays)."""
    import gateway.sending

    retries: list[float] = []
    monkeypatch.setattr(gateway.sending, "sender_for", lambda channel, link: sender)
    monkeypatch.setattr(gateway.sending, "_wake_later", lambda _, delay_s: retries.append(delay_s))
    outbound_id = sending_row(
        f"send-{uuid.uuid4().hex}",
        channel=channel,
        link=link,
        recipient=recipient,
        status=OutboxStatus.QUEUED,
        # No id a late send job of an earlier test may name: on SQLite the `db` fixture's
        # DELETE gives ids out again, and the module's worker sent this row first.
        row_id=STRAY_SAFE_ID + random.randrange(1_000_000),
    )
    gateway.sending.send_outbound([outbound_id])
    return outbox_rows(OutboundMessage.id == outbound_id)[0], retries
