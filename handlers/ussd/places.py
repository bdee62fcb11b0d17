"""Where the problem is: a typed kabupaten/kota resolved by the routing engine.

The menu asks for the place by name because a feature phone has no map; the
router's region matcher tolerates typos and missing "Kab."/"Kota". A clear
winner is confirmed with one key; near ties become a short list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from handlers.citizen import route_of
from handlers.router import router_for
from models.actions import Route
from routing.engine import get_router
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


def decide(session: Session, text: str, sector: str, place: Place) -> Route:
    """Route a menu complaint: the place and sector the citizen chose outweigh the text.

    The router still reads the text (a kecamatan named in it refines the
    region); a sector chosen in the menu replaces the classifier's guess.
    """
    choice = None if sector == UNKNOWN_SECTOR else sector
    router = router_for(session)
    return route_of(router.route(text, region_hint=place.name, sector_choice=choice))
