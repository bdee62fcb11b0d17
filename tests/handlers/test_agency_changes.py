"""Administrators' agency changes route the next complaint, in every running process.

The worker builds its router at start-up from the agency table and reads the
table again when its version moves (handlers/router.py); the changes here are
made as an administrator makes them, with `python app.py agency ...`.
"""

from __future__ import annotations

import subprocess

from flask.testing import FlaskClient

from app import create_app
from handlers.ussd.places import Place, decide
from models.agencies import Agency
from models.db import session_scope

from channels import complaint_by_text, partner_get
from recorder import Recorder
from support import start_role, wait_for

CITIZENS = ("081234567851", "081234567852")
COORDINATOR = "Dinas Komunikasi dan Informatika Kabupaten Sijunjung"  # KOMINFO.13.03
ADDED = "TEST.NET.13.03"


def agency_cli(env: dict[str, str], *args: str) -> str:
    proc = start_role(env, "agency", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


def file_sms(client: FlaskClient, sent: Recorder, number: str, text: str) -> tuple[str, str]:
    """Text 1708 as a citizen; the acknowledgement and the code of the agency it went to."""

    def texts() -> list[str]:
        return [r.params["text"] for r in sent.to("/cgi-bin/sendsms") if r.params["to"] == number]

    before = len(texts())
    assert partner_get(client, text, number).status_code == 200
    (ack,) = wait_for(lambda: texts()[before:])
    complaint = complaint_by_text(text)
    with session_scope() as session:
        agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
        return ack, agency.code if agency else "-"


def test_added_renamed_and_deactivated_agencies_route_the_next_sms(
    db: dict[str, str], worker: subprocess.Popen[bytes], sent: Recorder
) -> None:
    client = create_app().test_client()  # this process routes too (USSD): built before the change
    first, second = CITIZENS
    ack, agency = file_sms(client, sent, first, "sinyal internet hilang di Kabupaten Sijunjung")
    assert agency == "KOMINFO.13.03" and COORDINATOR in ack  # no KOMINFO agency: the coordinator

    added = agency_cli(
        db, "add", "--code", ADDED, "--name", "UPT Layanan Internet Sijunjung",
        "--sector", "KOMINFO", "--region", "13.03", "--parent", "KOMINFO.13.03",
    )  # fmt: skip
    assert added.strip() == f"{ADDED}\tUPT Layanan Internet Sijunjung"
    ack, agency = file_sms(client, sent, first, "internet lemot sekali di Kabupaten Sijunjung")
    assert agency == ADDED and "diteruskan ke UPT Layanan Internet Sijunjung" in ack
    with session_scope() as session:
        menu = decide(session, "sinyal hilang", "KOMINFO", Place("13.03", "Kabupaten Sijunjung"))
    assert menu.agency_code == ADDED

    agency_cli(db, "add", "--code", ADDED, "--name", "UPT Internet Muaro Sijunjung")  # a rename
    ack, agency = file_sms(client, sent, first, "sinyal hp putus putus di Kabupaten Sijunjung")
    assert agency == ADDED and "diteruskan ke UPT Internet Muaro Sijunjung" in ack

    assert agency_cli(db, "deactivate", "--code", ADDED).strip().endswith("\tinactive")
    ack, agency = file_sms(client, sent, second, "jaringan internet mati di Kabupaten Sijunjung")
    assert agency == "KOMINFO.13.03" and COORDINATOR in ack
    with session_scope() as session:
        menu = decide(session, "sinyal hilang", "KOMINFO", Place("13.03", "Kabupaten Sijunjung"))
    assert menu.agency_code == "KOMINFO.13.03"
