"""The administrator's API: token, filters, paging, one complaint's trail, masking, outbox retry."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from models import actions
from models.base import utcnow
from models.complaints import Complaint, ComplaintEvent
from models.db import session_scope
from models.inbound import InboundMessage, store_inbound
from models.outbox import OutboundMessage, claim_ids, mark_failed
from models.reporters import Reporter

from web_support import ADMIN_TOKEN, Api, file, set_fields


def test_refuses_a_missing_or_wrong_token(client: FlaskClient) -> None:
    assert client.get("/api/complaints").status_code == 401
    wrong = client.get("/api/complaints", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json == {"error": "a valid bearer token is required"}
    bare = client.get("/api/complaints", headers={"Authorization": ADMIN_TOKEN})
    assert bare.status_code == 401  # the token without its scheme
    lower = client.get("/api/complaints", headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
    assert lower.status_code == 200  # the scheme is case-insensitive (RFC 7235)
    assert client.get("/api/openapi.json").status_code == 200  # the description is public


def test_filters_by_status_agency_region_and_overdue(api: Api) -> None:
    late = file("jalan rusak", agency="PUPR.32.73", sector="PEKERJAAN_UMUM", region="32.73")
    set_fields(late, followup_due_at=utcnow() - timedelta(days=1))
    file("ktp belum jadi", agency="DUKCAPIL.32.73", sector="KEPENDUDUKAN", region="32.73")
    file("listrik padam", agency="PLN", sector="LISTRIK", region="11.01")

    def numbers(**query: object) -> list[str]:
        resp = api.get("/api/complaints", **query)
        assert resp.status_code == 200, resp.json
        return [c["text"] for c in resp.json["items"]]

    assert numbers() == ["listrik padam", "ktp belum jadi", "jalan rusak"]
    assert numbers(agency="pupr.32.73") == ["jalan rusak"]
    assert numbers(region="32") == ["ktp belum jadi", "jalan rusak"]
    assert numbers(overdue="true") == ["jalan rusak"]
    assert numbers(overdue="false") == ["listrik padam", "ktp belum jadi"]
    assert numbers(status="assigned", per_page=1, page=2) == ["ktp belum jadi"]
    assert api.get("/api/complaints", status="lost").status_code == 400
    assert api.get("/api/complaints", per_page=0).status_code == 400
    assert api.get("/api/complaints", page="²").status_code == 400  # a digit int() refuses
    assert api.get("/api/complaints/²").status_code == 404


def test_masks_reporters_and_hides_anonymous_ones_everywhere(api: Api) -> None:
    named = file(
        "sampah menumpuk, hubungi 081298765432, 0812 9876 5433 / 0812-9876-5434, WA081298765435"
        " atau (0813) 4567-8912",
        number="081234567001",
    )
    anonymous = file("pungli, telp 0812-3456-7002", number="081234567002", anonymous=True)
    listed = {c["tracking_number"]: c for c in api.get("/api/complaints").json["items"]}
    assert listed[named.tracking_number]["reporter"] == "628123456xxxx"
    assert listed[named.tracking_number]["text"] == (
        "sampah menumpuk, hubungi 08129876xxxx, 0812 9876 xxxx / 0812-9876-xxxx, WA08129876xxxx"
        " atau (0813) 4567-xxxx"
    )
    assert listed[anonymous.tracking_number]["reporter"] is None
    assert listed[anonymous.tracking_number]["text"] == "pungli, telp xxxx"
    with session_scope() as session:  # the reporter adds a number, from another spelling
        complaint = session.get(Complaint, anonymous.id)
        actions.add_citizen_note(session, complaint, "telp (0857) 1234-5678")
        balas, _ = store_inbound(
            session,
            channel="sim",
            link="web",
            external_id="balas-anon",
            sender="+6281234567002",
            recipient="1708",
            text=f"BALAS {anonymous.tracking_number} telp (0857) 1234-5678",
        )
        session.get(InboundMessage, balas).complaint_id = anonymous.id
    detail = api.get(f"/api/complaints/{anonymous.tracking_number}").json
    body = str(detail)
    assert "81234567002" not in body and "628123456" not in body
    assert [e["actor"] for e in detail["events"]] == ["reporter", "system", "reporter"]
    assert detail["events"][2]["note"] == "telp xxxx"
    assert [m["party"] for m in detail["messages"]] == [None, None]  # BALAS, acknowledgement
    assert "5678" not in body


def test_one_complaint_with_its_audit_trail_and_messages(api: Api) -> None:
    complaint = file("jalan berlubang", agency="PUPR.32.73", sector="PEKERJAAN_UMUM")
    detail = api.get(f"/api/complaints/{complaint.tracking_number}").json
    assert detail["status"] == "assigned"
    assert detail["agency_code"] == "PUPR.32.73"
    assert [(e["action"], e["status_after"]) for e in detail["events"]] == [
        ("filed", "received"),
        ("routed", "assigned"),
    ]
    assert detail["events"][1]["agency_code"] == "PUPR.32.73"
    [ack] = detail["messages"]
    assert ack["direction"] == "out" and f"#{complaint.tracking_number}" in ack["text"]
    assert api.get("/api/complaints/9999999").status_code == 404


def test_agencies_and_officers_read(api: Api) -> None:
    page = api.get("/api/agencies", sector="PEKERJAAN_UMUM", region="32.73").json
    assert [a["code"] for a in page["items"]] == ["PUPR.32.73"]
    assert page["items"][0]["parent_code"] == "PUPR.32"
    agency = api.get("/api/agencies/pupr.32.73").json
    assert agency["officer_list"] == []
    assert api.get("/api/agencies/NOPE").status_code == 404
    assert api.get("/api/officers").json["total"] == 0


def test_failed_messages_are_listed_and_retried(api: Api) -> None:
    complaint = file("air pdam mati")
    with session_scope() as session:
        row = session.scalar(
            select(OutboundMessage).where(OutboundMessage.complaint_id == complaint.id)
        )
        claim_ids(session, [row.id])  # a sender took it, and Twilio refused it
        mark_failed(session, row.id, "The 'To' number +6281234567001 is not valid")
        failed_id = row.id
    failed = api.get("/api/outbox").json["items"]
    assert [(m["id"], m["last_error"], m["recipient"]) for m in failed] == [
        (failed_id, "The 'To' number +628123456xxxx is not valid", "628123456xxxx")
    ]
    assert failed[0]["tracking_number"] == complaint.tracking_number
    retried = api.post(f"/api/outbox/{failed_id}/retry")
    assert retried.status_code == 200 and retried.json["status"] == "queued"
    assert api.post(f"/api/outbox/{failed_id}/retry").status_code == 409
    assert api.get("/api/outbox").json["items"] == []
    assert api.post("/api/outbox/123456789/retry").status_code == 404


def test_agencies_and_officers_are_added_with_an_audit_entry(api: Api) -> None:
    agency = {
        "code": "TEST.DISKOMINFO.32.73",
        "name": "Dinas Kominfo Kota Bandung (uji)",
        "sector": "KOMINFO",
        "region_code": "32.73",
        "parent_code": "KOMINFO.32",
    }
    created = api.client.post("/api/agencies", json=agency, headers=api.headers)
    assert created.status_code == 201, created.json
    assert created.json["parent_code"] == "KOMINFO.32"
    again = api.client.post("/api/agencies", json=agency, headers=api.headers)
    assert again.status_code == 409 and "exists" in again.json["error"]
    officer = {"agency_code": agency["code"], "msisdn": "0811 2233 4455", "name": "Rina"}
    added = api.client.post("/api/officers", json=officer, headers=api.headers)
    assert added.status_code == 201
    assert added.json["msisdn"] == "+6281122334455"
    listed = api.get("/api/officers", agency=agency["code"]).json["items"]
    assert [o["name"] for o in listed] == ["Rina"]
    assert api.get(f"/api/agencies/{agency['code']}").json["officers"] == 1
    missing = api.client.post("/api/officers", json={"msisdn": "x"}, headers=api.headers)
    assert missing.status_code == 400


def test_nul_characters_are_refused_and_store_nothing(api: Api) -> None:
    """PostgreSQL cannot store NUL: a 400 up front, never a 500 from the database."""
    agency = {"code": "X\x00", "name": "Dinas X", "sector": "KOMINFO"}
    posted = api.client.post("/api/agencies", json=agency, headers=api.headers)
    assert posted.status_code == 400 and "NUL" in posted.json["error"]
    nested = api.client.post(
        "/api/officers", json={"agency_code": "PLN", "msisdn": ["\x00"]}, headers=api.headers
    )
    assert nested.status_code == 400
    assert api.get("/api/agencies/%00").status_code == 400
    assert api.get("/api/agencies", q="\x00").status_code == 400
    assert api.get("/api/agencies", q="Dinas X").json["total"] == 0
    unauthenticated = api.client.post("/api/agencies", json=agency)
    assert unauthenticated.status_code == 401


def test_a_number_is_blocked_and_unblocked_with_an_audit_entry(api: Api) -> None:
    def post(path: str, body: object) -> TestResponse:
        return api.client.post(path, json=body, headers=api.headers)

    blocked = post("/api/reporters/block", {"msisdn": "0812 3456 7009", "reason": "spam"})
    assert blocked.status_code == 200, blocked.json
    assert blocked.json == {"reporter": "628123456xxxx", "blocked": True}
    with session_scope() as session:
        reporter = session.scalar(select(Reporter).where(Reporter.msisdn == "+6281234567009"))
        assert reporter is not None and reporter.blocked
    unblocked = post("/api/reporters/unblock", {"msisdn": "+6281234567009"})
    assert unblocked.json == {"reporter": "628123456xxxx", "blocked": False}
    with session_scope() as session:
        trail = session.execute(select(ComplaintEvent.action, ComplaintEvent.note)).all()
    assert sorted(trail) == [
        ("reporter_blocked", "628123456xxxx: spam"),
        ("reporter_unblocked", "628123456xxxx"),
    ]
    assert post("/api/reporters/unblock", {"msisdn": "081299999999"}).status_code == 404
    assert post("/api/reporters/block", {"msisdn": "hello"}).status_code == 409
    assert post("/api/reporters/block", {"reason": "no number"}).status_code == 400
    assert post("/api/reporters/block", {"msisdn": "0812", "reason": 5}).status_code == 400
    assert api.client.post("/api/reporters/block", json={"msisdn": "0812"}).status_code == 401
