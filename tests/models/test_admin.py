"""Administrators add and rename agencies, add and deactivate officers; every change is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import admin
from models.complaints import ComplaintEvent
from models.db import session_scope
from models.directory import agencies_version
from routing.registry import AgencySpec


def test_an_agency_is_added_below_its_parent_and_renamed(db: dict[str, str]) -> None:
    with session_scope() as session:
        agency = admin.add_agency(
            session,
            code="test.rsud.13.03",
            name="RSUD Sijunjung",
            sector="kesehatan",
            region_code="13.03",
            parent_code="DINKES.13.03",
        )
        assert (agency.code, agency.sector, agency.parent.code) == (
            "TEST.RSUD.13.03",
            "KESEHATAN",
            "DINKES.13.03",
        )
    with session_scope() as session:
        admin.rename_agency(session, "TEST.RSUD.13.03", "RSUD Sijunjung (Muaro)")
    with session_scope() as session:
        assert admin.find_agency(session, "test.rsud.13.03").name == "RSUD Sijunjung (Muaro)"
        actions = session.scalars(select(ComplaintEvent.action).order_by(ComplaintEvent.id)).all()
        assert actions == ["agency_added", "agency_renamed"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "PUPR.13.03"}, "exists already"),
        ({"parent_code": "NOPE.1"}, "unknown agency code"),
        ({"region_code": "99.99"}, "unknown region code"),
        ({"sector": "S" * 33}, "sector is longer than 32 characters"),
        ({"code": "TEST." + "X" * 28}, "code is longer than 32 characters"),
        ({"name": "Dinas " * 40}, "name is longer than 200 characters"),
    ],
)
def test_bad_agency_input_is_a_clear_error(
    db: dict[str, str], changes: dict[str, str], message: str
) -> None:
    values = {"code": "TEST.X", "name": "X", "sector": "LAINNYA", **changes}
    with session_scope() as session, pytest.raises(admin.AdminError, match=message):
        admin.add_agency(session, **values)


def test_an_officer_is_one_number_whatever_the_spelling(db: dict[str, str]) -> None:
    with session_scope() as session:
        officer = admin.add_officer(session, agency_code="pupr.13.03", msisdn="0812 1111 0001")
        assert officer.msisdn == "+6281211110001"
        assert (
            admin.add_officer(session, agency_code="PUPR.13.03", msisdn="6281211110001") is officer
        )
        with pytest.raises(admin.AdminError, match=r"active officer of PUPR\.13\.03"):
            admin.add_officer(session, agency_code="DLH.13.03", msisdn="+6281211110001")


def test_a_deactivated_officer_can_come_back_at_another_agency(db: dict[str, str]) -> None:
    with session_scope() as session:
        admin.add_officer(session, agency_code="PUPR.13.03", msisdn="081211110002")
        assert not admin.deactivate_officer(session, "+6281211110002").active
        moved = admin.add_officer(session, agency_code="DLH.13.03", msisdn="081211110002")
        assert moved.active and moved.agency.code == "DLH.13.03"
        notes = session.scalars(select(ComplaintEvent.note).order_by(ComplaintEvent.id)).all()
        assert all("81211110002" not in note for note in notes)  # masked in the trail


def test_unknown_numbers_and_codes_are_refused(db: dict[str, str]) -> None:
    with session_scope() as session:
        with pytest.raises(admin.AdminError, match="not a phone number"):
            admin.add_officer(session, agency_code="PUPR.13.03", msisdn="hello")
        with pytest.raises(admin.AdminError, match="unknown agency code"):
            admin.add_officer(session, agency_code="NOPE", msisdn="081211110003")
        with pytest.raises(admin.AdminError, match="no officer"):
            admin.deactivate_officer(session, "081211110004")


def test_the_audit_trail_of_an_unknown_complaint_is_none(db: dict[str, str]) -> None:
    with session_scope() as session:
        assert admin.audit_trail(session, 9_999_999) is None


def test_every_agency_change_moves_the_version_routing_reads(db: dict[str, str]) -> None:
    code = "TEST.UPT.13.03"
    with session_scope() as session:
        before = agencies_version(session)
        admin.add_agency(session, code=code, name="UPT", sector="KOMINFO", region_code="13.03")
        admin.rename_agency(session, code, "UPT Internet Sijunjung")
        admin.set_agency_active(session, code, False)
        assert agencies_version(session) == before + 3
        specs = {spec.code: spec for spec in admin.routing_agencies(session)}
        assert code not in specs and specs["PUPR.13.03"].parent_code == "PUPR.13"
        admin.set_agency_active(session, code, True)
        specs = {spec.code: spec for spec in admin.routing_agencies(session)}
        assert specs[code] == AgencySpec(
            code, "UPT Internet Sijunjung", "KOMINFO", "13.03", None, False
        )
        actions = session.scalars(select(ComplaintEvent.action).order_by(ComplaintEvent.id)).all()
        assert actions[-2:] == ["agency_deactivated", "agency_activated"]


def test_officer_changes_move_the_version_too(db: dict[str, str]) -> None:
    """Workers keep who is an officer until the version moves (models/officers.py)."""
    with session_scope() as session:
        before = agencies_version(session)
        admin.add_officer(session, agency_code="PUPR.13.03", msisdn="081277700001")
        assert agencies_version(session) == before + 1
        admin.deactivate_officer(session, "081277700001")
        assert agencies_version(session) == before + 2
    with session_scope() as session:
        assert agencies_version(session) == before + 2
