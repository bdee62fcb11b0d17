"""Administration: agencies and officers (CLI and admin API alike), and a complaint's audit trail.

Plain functions in the caller's transaction; a request an administrator
must correct raises AdminError with a message fit to show them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.actions import record_event
from models.agencies import Agency, Officer
from models.complaints import Complaint, ComplaintEvent
from models.phone import mask, normalize
from models.regions import Region


class AdminError(ValueError):
    """An unknown code or number, a duplicate: the administrator's input, not a bug."""


def find_agency(session: Session, code: str) -> Agency | None:
    """An agency by code, active or not, whatever the case of the code."""
    return session.scalar(select(Agency).where(Agency.code == code.strip().upper()))


def _agency(session: Session, code: str) -> Agency:
    agency = find_agency(session, code)
    if agency is None:
        raise AdminError(f"unknown agency code {code!r}")
    return agency


def list_agencies(session: Session, prefix: str = "") -> list[Agency]:
    """Agencies whose code starts with `prefix` (PUPR.13 -> the province and its kabupaten)."""
    return list(
        session.scalars(
            select(Agency).where(Agency.code.startswith(prefix.upper())).order_by(Agency.code)
        )
    )


def add_agency(
    session: Session,
    *,
    code: str,
    name: str,
    sector: str,
    region_code: str | None = None,
    parent_code: str | None = None,
    is_coordinator: bool = False,
) -> Agency:
    """A new agency; `parent_code` is where berjenjang escalation goes next."""
    code = code.strip().upper()
    if find_agency(session, code) is not None:
        raise AdminError(f"agency {code} exists already")
    if region_code and session.get(Region, region_code) is None:
        raise AdminError(f"unknown region code {region_code!r}")
    agency = Agency(
        code=code,
        name=name.strip(),
        sector=sector.strip().upper(),
        region_code=region_code or None,
        parent=_agency(session, parent_code) if parent_code else None,
        is_coordinator=is_coordinator,
    )
    session.add(agency)
    session.flush()
    record_event(session, None, actor="admin", action="agency_added", note=f"{code}: {agency.name}")
    return agency


def rename_agency(session: Session, code: str, name: str) -> Agency:
    agency = _agency(session, code)
    before = agency.name
    agency.name = name.strip()
    record_event(
        session,
        None,
        actor="admin",
        action="agency_renamed",
        note=f"{agency.code}: {before} -> {agency.name}",
    )
    return agency


def add_officer(
    session: Session, *, agency_code: str, msisdn: str, name: str | None = None
) -> Officer:
    """An officer who acts by SMS from `msisdn` (any spelling); a deactivated one comes back.

    A number belongs to one agency at a time: an active officer of another
    agency must be deactivated first, so nobody changes side by accident.
    """
    number = normalize(msisdn)
    if number is None:
        raise AdminError(f"not a phone number: {msisdn!r}")
    agency = _agency(session, agency_code)
    officer = session.scalar(select(Officer).where(Officer.msisdn == number))
    if officer is not None and officer.active and officer.agency_id != agency.id:
        raise AdminError(f"{mask(number)} is an active officer of {officer.agency.code}")
    if officer is None:
        officer = Officer(msisdn=number, agency=agency)
        session.add(officer)
    officer.agency = agency
    officer.active = True
    officer.name = name or officer.name
    session.flush()
    record_event(
        session,
        None,
        actor="admin",
        action="officer_added",
        note=f"{mask(number)} at {agency.code}",
    )
    return officer


def deactivate_officer(session: Session, msisdn: str) -> Officer:
    """The number can no longer act, from its very next SMS."""
    number = normalize(msisdn)
    officer = session.scalar(select(Officer).where(Officer.msisdn == number)) if number else None
    if officer is None:
        raise AdminError(f"no officer with number {msisdn!r}")
    officer.active = False
    record_event(
        session,
        None,
        actor="admin",
        action="officer_deactivated",
        note=f"{mask(officer.msisdn)} at {officer.agency.code}",
    )
    return officer


def audit_trail(session: Session, tracking: int) -> list[dict[str, Any]] | None:
    """Every event of one complaint, oldest first, as plain data; None for an unknown number."""
    complaint_id = session.scalar(select(Complaint.id).where(Complaint.tracking_number == tracking))
    if complaint_id is None:
        return None
    rows = session.execute(
        select(ComplaintEvent, Agency.code)
        .outerjoin(Agency, Agency.id == ComplaintEvent.agency_id)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.id)
    ).all()
    return [
        {
            "at": event.created_at.isoformat(),
            "actor": event.actor,
            "action": event.action,
            "status_before": event.status_before,
            "status_after": event.status_after,
            "agency": agency_code,
            "note": event.note,
        }
        for event, agency_code in rows
    ]
