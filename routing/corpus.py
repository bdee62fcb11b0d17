"""The 2017 LAPOR! development corpus: records, the salutation and its labels.

Each record is "<tracking id>\\n<title>\\n<body>"; most bodies open with
"Yth. <agency>," (sometimes followed by "Kpd Yth. <pemda><br />"). The agency
text is the label and must not reach the router, so it is cut out here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from routing.regions import RegionIndex, level_of
from routing.text import normalise, tokens

_RECORD_SPLIT = re.compile(r"\n\s*\n(?=\d{6,8}\n)")
_SALUTATION = re.compile(r"^\s*yth\s*[.,:]*\s*(?P<agency>[^,<\n]*)[,]?", re.IGNORECASE)
_SECOND_SALUTATION = re.compile(r"kpd\s+yth[.,]?\s*[^<\n]*", re.IGNORECASE)
_LONG_AGENCY = 80  # longer "agency" text is a message that never closed the salutation
_SHORT_AGENCY = re.compile(r"^(?P<agency>.{3,80}?)(\.\.|\.\s|$)")

SKIP = "SKIP"


@dataclass(frozen=True)
class CorpusItem:
    """One complaint with the salutation removed, and the labels taken from it."""

    tracking_id: str
    text: str  # title + body, salutation removed: what the router sees
    agency: str  # the salutation's agency text ("" when the body has none)
    sector: str | None  # DESIGN sector, "LAINNYA", SKIP, or None without salutation
    kab_kota: str | None  # kabupaten/kota code the agency names, if any


def read_records(path: Path) -> Iterator[tuple[str, str, str]]:
    """(tracking id, title, body) of every record."""
    for block in _RECORD_SPLIT.split(path.read_text(encoding="utf-8").strip()):
        parts = block.split("\n", 2)
        if len(parts) == 3:
            yield parts[0].strip(), parts[1].strip(), parts[2]


def split_salutation(body: str) -> tuple[str, str]:
    """(agency text, body without the salutation lines)."""
    match = _SALUTATION.match(body)
    if not match:
        return "", body
    agency = match.group("agency").strip()
    end = match.end()
    if ".." in agency or len(agency) > _LONG_AGENCY:
        short = _SHORT_AGENCY.match(agency)
        agency = short.group("agency") if short else " ".join(agency.split()[:6])
        end = match.start("agency") + len(agency)
    return agency, _SECOND_SALUTATION.sub(" ", body[end:])


class CorpusLabeler:
    """Turns an agency salutation into (sector, kabupaten/kota) labels."""

    def __init__(self, labels: dict, regions: RegionIndex | None) -> None:
        """`regions` may be None when only sector labels are wanted (model training)."""
        self._rules = [(normalise(words), sector) for words, sector in labels["sector_rules"]]
        self._overrides: dict[str, str] = labels.get("place_overrides", {})
        self._regions = regions

    @classmethod
    def from_file(cls, path: Path, regions: RegionIndex | None) -> CorpusLabeler:
        with path.open("rb") as handle:
            return cls(tomllib.load(handle), regions)

    def sector(self, agency: str) -> str | None:
        if not agency:
            return None
        text = normalise(agency)
        return next((sector for words, sector in self._rules if words in text), "LAINNYA")

    def kab_kota(self, agency: str) -> str | None:
        if self._regions is None:
            return None
        match = self._regions.detect(tokens(agency))
        if match is None or level_of(match.code) < 2:
            return None
        return self._overrides.get(match.evidence, match.code[:5]) or None

    def items(self, path: Path) -> list[CorpusItem]:
        out = []
        for tracking_id, title, body in read_records(path):
            agency, rest = split_salutation(body)
            out.append(
                CorpusItem(
                    tracking_id=tracking_id,
                    text=f"{title}\n{rest}",
                    agency=agency,
                    sector=self.sector(agency),
                    kab_kota=self.kab_kota(agency),
                )
            )
        return out


def is_sector_labelled(item: CorpusItem) -> bool:
    """Whether the salutation gives a sector (a DESIGN sector or LAINNYA) to learn or score."""
    return item.sector not in (None, SKIP)
