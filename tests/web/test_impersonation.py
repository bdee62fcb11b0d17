"""Officer impersonation over every SMS channel: refused, on the audit trail, nothing changed.

Who may act is decided by the sender's number, whichever way the text came in
(Twilio, a Kannel-style partner, the simulator; SMPP in
tests/gateway/smpp/test_e2e.py). USSD has no officer commands at all.
"""

from __future__ import annotations

import subprocess

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from models import admin
from models.complaints import Complaint, ComplaintEvent, Status
from models.db import session_scope
from models.outbox import OutboundMessage

from channels import partner_get, twilio_params, twilio_post
from support import wait_for
from web_support import file

OFFICER = "081300000021"  # a real officer of Dinas PUPR Kabupaten Sijunjung
IMPOSTOR = "081300000077"


def _send(client: FlaskClient, channel: str, text: str) -> int:
    if channel == "twilio":
        return twilio_post(client, twilio_params(text, "+62" + IMPOSTOR[1:])).status_code
    if channel == "partner":
        return partner_get(client, text, IMPOSTOR).status_code
    return client.post("/sim/sms", json={"from": IMPOSTOR, "text": text}).status_code


@pytest.mark.parametrize("channel", ["twilio", "partner", "sim"])
def test_an_impostor_is_refused_and_audited_on_every_channel(
    client: FlaskClient, worker: subprocess.Popen[bytes], channel: str
) -> None:
    with session_scope() as session:
        admin.add_officer(session, agency_code="PUPR.13.03", msisdn=OFFICER)
    complaint = file(
        "Jembatan putus di Kabupaten Sijunjung",
        agency="PUPR.13.03",
        sector="PEKERJAAN_UMUM",
        region="13.03",
    )
    n = complaint.tracking_number
    for command in (f"TERIMA {n}", f"SELESAI {n} sudah diperbaiki", f"TERUSKAN {n} DLH.13.03 x"):
        assert _send(client, channel, command) in (200, 202)  # the simulator answers 202

    def refusals() -> list[str]:
        with session_scope() as session:
            return list(
                session.scalars(
                    select(OutboundMessage.text).where(
                        OutboundMessage.recipient.contains(IMPOSTOR[1:]),
                        OutboundMessage.template == "not_an_officer",
                    )
                )
            )

    replies = wait_for(lambda: len(refusals()) == 3 and refusals())
    assert all("hanya untuk petugas" in text for text in replies)
    with session_scope() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None and row.status == Status.ASSIGNED
        assert row.agency.code == "PUPR.13.03"
        audit = session.execute(
            select(ComplaintEvent.action, ComplaintEvent.actor).where(
                ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.action == "refused"
            )
        ).all()
    assert len(audit) == 3
    assert all(
        actor.startswith("unregistered:") and IMPOSTOR[1:] not in actor for _, actor in audit
    )
