"""Where the problem is: a typed kabupaten/kota resolved by the routing engine.

The menu asks for the place by name because a feature phone has no map; the
router's region matcher tolerates typos and missing "Kab."/"Kota". A clear
winner is confirmed with one key; near ties become a short list.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from handlers.citizen import route_of
from models.actions import Route
from routing.engine import get_router
from routing.registry import NATIONAL_ADMIN, load_agency_config
from routing.sectors import UNKNOWN_SECTOR

MIN_SCORE = 0.6  # below this a candidate is a guess, not a match
TIE_MARGIN = 0.05  # a winner this far ahead of the next is confirmed, not listed
LIST_SPAN = 0.2  # candidates this close to the best are worth listing
MAX_CHOICES = 4  # a USSD screen holds four names with room for the keys


@dataclass(frozen=True)
class Place:
    code: str  # Kemendagri kabupaten/kota code, "32.73"
    name: str  # "Kota Bandung"


def candidates(typed: str) -> list[Place]:
    """Kabupaten/kota the citizen may mean, best first: one when it is clear, [] when none."""
    found = [
        (Place(code, name), score)
        for code, name, score in get_router().match_regions(typed, limit=MAX_CHOICES * 2)
        if "." in code and score >= MIN_SCORE  # kabupaten/kota only, not a whole province
    ]
    if not found:
        return []
    best = found[0][1]
    if len(found) == 1 or best - found[1][1] >= TIE_MARGIN:
        return [found[0][0]]
    return [place for place, score in found if score >= best - LIST_SPAN][:MAX_CHOICES]


def decide(text: str, sector: str, place: Place) -> Route:
    """Route a menu complaint: the place and sector the citizen chose outweigh the text.

    The router still reads the text (a kecamatan named in it refines the
    region); when the citizen chose another sector than the text suggests,
    that sector's agency for the place takes the complaint.
    """
    decision = get_router().route(text, region_hint=place.name)
    if sector in (UNKNOWN_SECTOR, decision.sector) or decision.region_code is None:
        return route_of(decision)
    return Route(
        sector=sector,
        region_code=decision.region_code,
        agency_code=_sector_agency(sector, place.code),
        confidence=1.0,
        explanation=f"{sector} (dipilih di USSD); wilayah: {place.name}",
        needs_location=False,
    )


def _sector_agency(sector: str, region_code: str) -> str:
    """The agency of `sector` for a kabupaten/kota, as routing/engine.py's rules choose it.

    A national body for [direct] sectors (PLN, BPJS Kesehatan), else the
    sector's agency of the kabupaten/kota, then of the province, else the
    region's SP4N coordinator (national triage if even that is missing).
    """
    direct, local, coordinators = _agency_tables()
    if sector in direct:
        return direct[sector]
    for area in (region_code, region_code[:2]):
        code = local.get((sector, area)) or coordinators.get(area)
        if code is not None:
            return code
    return NATIONAL_ADMIN


@functools.cache
def _agency_tables() -> tuple[dict[str, str], dict[tuple[str, str], str], dict[str, str]]:
    local: dict[tuple[str, str], str] = {}
    coordinators: dict[str, str] = {}
    for agency in get_router().agencies.values():
        if agency.region_code is None:
            continue
        if agency.is_coordinator:
            coordinators.setdefault(agency.region_code, agency.code)
        else:
            local.setdefault((agency.sector, agency.region_code), agency.code)
    return dict(load_agency_config().get("direct", {})), local, coordinators
