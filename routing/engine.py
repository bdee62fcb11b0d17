"""The routing decision: region + sector -> the agency that can act (No Wrong Door).

Decision rules, in order:
1. a sector listed under [direct] in agencies.toml (BPJS Kesehatan, PLN) goes to
   its national body whatever the region; a sector under [direct_when_named]
   does so when the deciding words are that body's own ("klaim JHT" -> BPJS
   Ketenagakerjaan). These never need the citizen's location.
2. region unknown -> national triage NAS.ADMIN, needs_location=True (the caller
   asks the citizen where; `route(text, region_hint=answer)` re-routes).
3. known sector -> that sector's agency of the kabupaten/kota (a kecamatan or
   desa walks up to its kabupaten/kota; a province-only region takes the
   provincial agency); a missing agency falls back to the region's coordinator.
4. unknown sector (LAINNYA) -> the region's SP4N coordinator (Diskominfo).

The sector comes from the keyword rules blended with the corpus-trained model
(routing/classifier.py); the region from routing/regions.py.
"""

from __future__ import annotations

import copy
import csv
import functools
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from routing.classifier import BlendSettings, SectorClassifier
from routing.model import SectorModel
from routing.regions import RegionIndex, RegionMatch
from routing.registry import (
    NATIONAL_ADMIN,
    AgencySpec,
    generate_agencies,
    load_agency_config,
)
from routing.sectors import UNKNOWN_SECTOR, SectorResult, SectorRules
from routing.text import tokens

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
REGIONS_CSV = Path("regions") / "wilayah_kemendagri_2025.csv"
_EXPLANATION_MAX = 120
_REGION_SATURATION = 2.0  # region evidence score that counts as certain


@dataclass(frozen=True)
class RoutingDecision:
    """Where a complaint goes, and why (for the officer and the audit log)."""

    sector: str
    sector_confidence: float
    region_code: str | None
    region_name: str | None
    region_level: str | None
    agency_code: str
    agency_name: str
    confidence: float
    explanation: str
    needs_location: bool

    def to_dict(self) -> dict:
        return asdict(self)


class Router:
    """Region index, sector rules and agency table, built once per process."""

    def __init__(
        self,
        regions: RegionIndex,
        rules: SectorRules,
        agencies: Iterable[AgencySpec],
        agency_config: dict,
        classifier: SectorClassifier | None = None,
    ) -> None:
        self.regions = regions
        self.rules = rules
        self.classifier = classifier or SectorClassifier(rules, None, BlendSettings())
        self._direct: dict[str, str] = agency_config.get("direct", {})
        self._direct_when_named: dict[str, str] = agency_config.get("direct_when_named", {})
        self._index_agencies(agencies)

    def _index_agencies(self, agencies: Iterable[AgencySpec]) -> None:
        """The agency tables; the first agency of a sector and region (or coordinator) wins."""
        self.agencies = {agency.code: agency for agency in agencies}
        if NATIONAL_ADMIN not in self.agencies:
            raise ValueError(f"no agency {NATIONAL_ADMIN}: national triage must be active")
        self._by_sector_region: dict[tuple[str, str], AgencySpec] = {}
        self._coordinator: dict[str, AgencySpec] = {}
        for agency in self.agencies.values():
            if agency.region_code is None:
                continue
            if agency.is_coordinator:
                self._coordinator.setdefault(agency.region_code, agency)
            else:
                self._by_sector_region.setdefault((agency.sector, agency.region_code), agency)

    @classmethod
    def from_config(
        cls, config_dir: Path | None = None, agencies: Iterable[AgencySpec] | None = None
    ) -> Router:
        """Load rules and region data from `config_dir` (default: the project's config/)."""
        config_dir = config_dir or DEFAULT_CONFIG_DIR
        routing_dir = config_dir / "routing"
        rules = SectorRules.from_file(routing_dir / "sectors.toml")
        rows, regions = load_regions(config_dir, rules)
        agency_config = load_agency_config(routing_dir / "agencies.toml")
        if agencies is None:
            agencies = generate_agencies(rows, agency_config)
        classifier = SectorClassifier.from_config(routing_dir, rules, regions.place_words())
        return cls(regions, rules, agencies, agency_config, classifier)

    def with_agencies(self, agencies: Iterable[AgencySpec]) -> Router:
        """This router deciding among `agencies`, sharing the region index, rules and model.

        The application passes the agencies of its database (handlers/router.py);
        only the agency tables are rebuilt, so doing it again when they change is cheap.
        """
        other = copy.copy(self)
        other._index_agencies(agencies)
        return other

    def with_sector_model(self, model: SectorModel | None) -> Router:
        """This router with another sector model, sharing the region index and agencies.

        Cross-validation scores each fold with a model that never saw it.
        """
        other = copy.copy(self)
        other.classifier = self.classifier.with_model(model)
        return other

    def route(
        self, text: str, region_hint: str | None = None, sector_choice: str | None = None
    ) -> RoutingDecision:
        """Decide sector, region and agency for one complaint text.

        `region_hint` is a place the citizen gave separately (USSD menu, a
        "LAPOR#<place>#<text>" form, or the answer to "where is it?"); it
        outweighs places named in the text. `sector_choice` is a sector the
        citizen picked from a menu: it replaces the classifier's guess.
        """
        toks = tokens(text)
        hint_toks = tokens(region_hint) if region_hint else []
        sector = (
            SectorResult(sector_choice, 1.0, ("dipilih",), False, {sector_choice: 1.0})
            if sector_choice
            else self.classifier.classify(toks + hint_toks)
        )
        region = self.regions.detect(toks, hint_toks)
        agency, needs_location = self._agency_for(sector, region)
        region_conf = min(1.0, region.score / _REGION_SATURATION) if region else 0.0
        if agency.region_code is None and not needs_location:
            confidence = sector.confidence
        else:
            confidence = 0.5 * sector.confidence + 0.5 * region_conf
        return RoutingDecision(
            sector=sector.sector,
            sector_confidence=sector.confidence,
            region_code=region.code if region else None,
            region_name=region.name if region else None,
            region_level=region.level if region else None,
            agency_code=agency.code,
            agency_name=agency.name,
            confidence=round(confidence, 3),
            explanation=_explain(sector, region),
            needs_location=needs_location,
        )

    def match_regions(self, text: str, limit: int = 5) -> list[tuple[str, str, float]]:
        """Candidate kabupaten/kota or provinces for a typed place (USSD confirmation list)."""
        return self.regions.match_regions(text, limit)

    def _agency_for(
        self, sector: SectorResult, region: RegionMatch | None
    ) -> tuple[AgencySpec, bool]:
        direct = self._direct.get(sector.sector)
        if direct is None and sector.national:
            direct = self._direct_when_named.get(sector.sector)
        if direct in self.agencies:
            return self.agencies[direct], False
        if region is None:
            return self.agencies[NATIONAL_ADMIN], True
        for area in dict.fromkeys((region.code[:5], region.code[:2])):
            agency = None
            if sector.sector != UNKNOWN_SECTOR:
                agency = self._by_sector_region.get((sector.sector, area))
            agency = agency or self._coordinator.get(area)
            if agency is not None:
                return agency, False
        return self.agencies[NATIONAL_ADMIN], False


def load_regions(config_dir: Path, rules: SectorRules) -> tuple[list[tuple[str, str]], RegionIndex]:
    """The region CSV rows and their index (rule words are not places when unmarked)."""
    with (config_dir / REGIONS_CSV).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [(code, name) for code, name in reader]
    regions = RegionIndex.from_rows(
        rows, config_dir / "routing" / "places.toml", extra_common_words=rules.vocabulary()
    )
    return rows, regions


def _explain(sector: SectorResult, region: RegionMatch | None) -> str:
    if sector.words:
        by = " (model)" if sector.source == "model" else ""
        what = f"{sector.sector}{by}: " + ", ".join(f'"{w}"' for w in sector.words)
    else:
        what = "sektor tidak dikenali"
    where = f'wilayah: "{region.evidence}"' if region else "wilayah tidak disebut"
    text = f"{what}; {where}"
    return text if len(text) <= _EXPLANATION_MAX else text[: _EXPLANATION_MAX - 3] + "..."


@functools.cache
def get_router() -> Router:
    """The process-wide router on the project's default configuration and generated registry.

    The running application decides with this router's `with_agencies` on the
    agencies of its database (handlers/router.py), not with these defaults.
    """
    return Router.from_config()
