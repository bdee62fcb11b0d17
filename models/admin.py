"""Administration (CLI and admin API alike): agencies, officers, blocked reporters, audit trails.

Plain functions in the caller's transaction; a request an administrator
must correct raises AdminError with a message fit to show them.

Every change of the agency table or of its officers made here (and the
first seeding) also bumps the directory's version in the same transaction
(models/directory.py): running processes compare it before each group or
routing decision and re-read what they keep of the directory when it moved
(handlers/router.py, models/officers.py). An edit made by hand in SQL is
seen after a restart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from models.actions import ensure_reporter, record_event
from models.agencies import Agency, Officer
from models.complaints import Complaint, ComplaintEvent
from models.directory import agencies_changed
from models.phone import mask, mask_in_prose, normalize, reporter_key
from models.regions import Region
from models.reporters import Reporter
from routing.registry import AgencySpec


class AdminError(ValueError):
    """An unknown code or number, a duplicate: the administrator's input, not a bug."""


def _fits(column: InstrumentedAttribute[str], value: str) -> None:
    """Refuse what the column cannot hold (PostgreSQL would fail the transaction)."""
    limit = column.type.length
    if limit is not None and len(value) > limit:
        raise AdminError(f"{column.key} is longer than {limit} characters")


def routing_agencies(session: Session) -> list[AgencySpec]:
    """The active agencies as plain values for routing/, oldest first.

    Routing takes the first agency of a sector and region, so an agency added
    beside a seeded one of the same sector and region gets new complaints
    only once the seeded one is deactivated.
    """
    parent = aliased(Agency)
    rows = session.execute(
        select(
            Agency.code,
            Agency.name,
            Agency.sector,
            Agency.region_code,
            parent.code,
            Agency.is_coordinator,
        )
        .outerjoin(parent, parent.id == Agency.parent_id)
        .where(Agency.active)
        .order_by(Agency.id)
    )
    return [AgencySpec(*row) for row in rows]


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
    _fits(Agency.code, code)
    _fits(Agency.name, name.strip())
    _fits(Agency.sector, sector.strip())
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
    agencies_changed(session)
    return agency


def rename_agency(session: Session, code: str, name: str) -> Agency:
    agency = _agency(session, code)
    before = agency.name
    _fits(Agency.name, name.strip())
    agency.name = name.strip()
    record_event(
        session,
        None,
        actor="admin",
        action="agency_renamed",
        note=f"{agency.code}: {before} -> {agency.name}",
    )
    agencies_changed(session)
    return agency


def set_agency_active(session: Session, code: str, active: bool) -> Agency:
    """Take an agency out of routing, or back; its officers and complaints stay.

    A deactivated agency gets no new complaint: routing falls back to its
    region's coordinator, and TERUSKAN and escalation refuse it.
    """
    agency = _agency(session, code)
    agency.active = active
    action = "agency_activated" if active else "agency_deactivated"
    record_event(session, None, actor="admin", action=action, note=agency.code)
    agencies_changed(session)
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
    agencies_changed(session)
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
    agencies_changed(session)
    record_event(
        session,
        None,
        actor="admin",
        action="officer_deactivated",
        note=f"{mask(officer.msisdn)} at {officer.agency.code}",
    )
    return officer


def block_reporter(session: Session, number: str, reason: str = "") -> Reporter:
    """Texts from this number are stored but no longer handled (no complaint, no reply).

    A number that never texted can be blocked ahead; the reason goes into the
    audit trail, its phone numbers masked.
    """
    if normalize(number) is None:
        raise AdminError(f"not a phone number: {number!r}")
    reporter = ensure_reporter(session, number)
    reporter.blocked = True
    note = reporter.masked + (f": {mask_in_prose(reason.strip())}" if reason.strip() else "")
    record_event(session, None, actor="admin", action="reporter_blocked", note=note)
    return reporter


def unblock_reporter(session: Session, number: str) -> Reporter | None:
    """Handle this number's texts again; None when nothing is held about it."""
    reporter = session.scalar(select(Reporter).where(Reporter.msisdn == reporter_key(number)))
    if reporter is None:
        return None
    reporter.blocked = False
    record_event(session, None, actor="admin", action="reporter_unblocked", note=reporter.masked)
    return reporter


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
