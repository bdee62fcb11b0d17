"""Who an officer is and what they may act on: read-only questions about the hierarchy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models.agencies import Agency, Officer
from models.complaints import Complaint
from models.directory import Kept
from models.phone import normalize

# Built once: every worker group asks both (bound parameters carry what changes).
_BY_NUMBER = select(Officer).where(
    Officer.msisdn.in_(bindparam("msisdns", expanding=True)), Officer.active
)
_BY_AGENCY = (
    select(Officer)
    .where(Officer.agency_id.in_(bindparam("agencies", expanding=True)), Officer.active)
    .order_by(Officer.id)
)
_ROSTER = select(Officer.msisdn, Officer.agency_id).where(Officer.active)


@dataclass(frozen=True)
class Roster:
    """The active officers' numbers and agencies (kept by the directory's version).

    Every group of inbound messages asks whether a sender is an officer and
    which of its agencies have officers to tell; nearly always the answer is
    none, and asking cost a statement each. The roster answers that without
    one; only officers it lists are read. An officer added by hand in SQL,
    not through models.admin, is seen after a restart (like the agencies);
    one removed that way is still read and found inactive.
    """

    numbers: frozenset[str]
    agencies: frozenset[int]


def _roster(session: Session) -> Roster:
    rows = session.execute(_ROSTER).all()
    return Roster(frozenset(row.msisdn for row in rows), frozenset(row.agency_id for row in rows))


roster = Kept(_roster)  # at the directory version the transaction sees


def active_officers(session: Session, addresses: Iterable[str]) -> dict[str, Officer]:
    """The active officers behind sender addresses, however spelled: address -> officer."""
    numbers = {address: normalize(address) for address in addresses}
    wanted = {n for n in numbers.values() if n is not None} & roster(session).numbers
    if not wanted:
        return {}
    found = {o.msisdn: o for o in session.scalars(_BY_NUMBER, {"msisdns": sorted(wanted)})}
    return {a: found[n] for a, n in numbers.items() if n in found}


def officers_by_agency(session: Session, agency_ids: Iterable[int]) -> dict[int, list[Officer]]:
    """Every active officer of these agencies, oldest first: one query for a group's news."""
    wanted = set(agency_ids) & roster(session).agencies
    found: dict[int, list[Officer]] = {}
    if not wanted:
        return found
    for officer in session.scalars(_BY_AGENCY, {"agencies": sorted(wanted)}):
        found.setdefault(officer.agency_id, []).append(officer)
    return found


def chain(agency: Agency | None) -> list[Agency]:
    """The agency and every agency above it (berjenjang), nearest first."""
    found: list[Agency] = []
    while agency is not None and agency not in found:
        found.append(agency)
        agency = agency.parent
    return found


def _within(region: str | None, area: str | None) -> bool:
    return bool(region and area) and (region == area or region.startswith(f"{area}."))


def coordinator_for(session: Session, agency: Agency) -> Agency | None:
    """The SP4N coordinator (Dinas Kominfo) of the agency's own region, if it has one."""
    if agency.region_code is None or agency.is_coordinator:
        return None
    return session.scalar(
        select(Agency).where(
            Agency.is_coordinator, Agency.active, Agency.region_code == agency.region_code
        )
    )


def reported_it(officer: Officer, complaint: Complaint) -> bool:
    """The officer's own complaint, filed from their number: theirs to follow as a citizen,
    never to accept, answer or close."""
    return complaint.reporter is not None and complaint.reporter.msisdn == officer.msisdn


def may_act(officer: Officer, complaint: Complaint) -> bool:
    """An officer of the holding agency, of one above it, or the coordinator of its region.

    The holding agency's region, not the citizen's place: a national body's complaint from
    a kabupaten is no business of that kabupaten's coordinator.
    """
    if not officer.active or complaint.agency is None or reported_it(officer, complaint):
        return False
    if officer.agency in chain(complaint.agency):
        return True
    own = officer.agency
    return (
        own.is_coordinator and own.active and _within(complaint.agency.region_code, own.region_code)
    )
