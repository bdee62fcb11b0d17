"""Issue 9 for real: Kannel 1.4.5 (bearerbox + smsbox) in front of the gateway's HTTP channel.

SMSC (smpp34) -> bearerbox -> smsbox sms-service get-url -> /sms/http (empty 200, omit-empty:
Kannel texts nothing back by itself) -> complaint -> worker -> send_url = smsbox's sendsms ->
bearerbox -> submit_sm to the SMSC; the SMSC's receipt comes back through Kannel's dlr-url
on /sms/http/dlr and marks the outbox row delivered. A UCS-2 MO arrives intact: the get-url
passes %b (the message's own bytes; %a joins its words with +, so two 0x20 bytes in a row, as in
UTF-16BE " \u201c", become one) with its coding %c and charset %C.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from gateway.smpp.simulator import SimulatorThread
from tests.gateway.kannel.kannel import KannelSetup, running_kannel

from support import free_port, healthy, start_role, stop_role, wait_for

TOKEN = "kannel-partner-token"
CITIZEN = "6281298765432"
SMARTPHONE_TEXT = "Jalan rusak \u201cparah\u201d di Kota Padang \U0001f621"


def test_complaint_in_reply_out_delivery_report_and_a_ucs2_text_through_kannel(
    db: dict[str, str], sim: SimulatorThread, tmp_path: Path
) -> None:
    from models.complaints import Complaint
    from models.db import session_scope
    from models.inbound import InboundMessage
    from models.outbox import OutboundMessage

    web_port = free_port()
    get_url = (
        f"http://127.0.0.1:{web_port}/sms/http"
        f"?token={TOKEN}&from=%p&to=%P&text=%b&coding=%c&charset=%C&id=%I"
    )
    setup = KannelSetup(
        sim.sim.port, sim.sim.system_id, sim.sim.password, tmp_path, get_url=get_url
    )
    partners = [{"name": "kannel", "token": TOKEN, "send_url": setup.sendsms_url}]
    env = {
        **db,
        "HTTP_PARTNERS": json.dumps(partners),
        "HTTP_PORT": str(web_port),
        "PUBLIC_URL": f"http://127.0.0.1:{web_port}",  # where Kannel calls the dlr-url
    }
    procs = [start_role(env, "web"), start_role(env, "worker")]
    try:
        wait_for(lambda: healthy(web_port), timeout_s=20)  # Kannel does not retry a get-url
        with running_kannel(setup):
            wait_for(lambda: sim.sim.binds, timeout_s=20)
            text = "Jalan berlubang di depan SD Negeri 3 Kabupaten Sijunjung"
            mo = sim.push(CITIZEN, text.encode())
            wait_for(mo.acked.is_set, timeout_s=20)

            def complaint() -> int | None:
                with session_scope() as session:
                    return session.scalar(
                        select(Complaint.tracking_number).where(Complaint.text == text)
                    )

            tracking = wait_for(complaint, timeout_s=20)
            wait_for(lambda: sim.sim.submitted, timeout_s=20)
            reply = "".join(
                p.text()
                for p in sorted(
                    sim.sim.submitted, key=lambda p: p.short_message[5] if p.esm_class & 0x40 else 0
                )
            )
            assert all(p.destination_addr.endswith(CITIZEN[2:]) for p in sim.sim.submitted)
            assert f"#{tracking}" in reply

            def delivered() -> bool:
                with session_scope() as session:
                    row = session.execute(select(OutboundMessage)).scalar_one()
                    return row.status == "delivered" and row.channel == "http"

            wait_for(delivered, timeout_s=30)

            def inbound_texts() -> list[str]:
                with session_scope() as session:
                    return list(
                        session.scalars(select(InboundMessage.text).order_by(InboundMessage.id))
                    )

            sim.push(CITIZEN, SMARTPHONE_TEXT.encode("utf-16-be"), data_coding=8)
            wait_for(lambda: len(inbound_texts()) == 2, timeout_s=20)
            assert inbound_texts() == [text, SMARTPHONE_TEXT]
    finally:
        for proc in procs:
            stop_role(proc)
