"""The agency registry: who can act on a complaint, for every region of Indonesia.

Generated deterministically from the region list and config/routing/agencies.toml
so that a fresh installation knows all 514 kabupaten/kota and 38 provinces; the
application stores the result and administrators edit it from there.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_AGENCIES_FILE = (
    Path(__file__).resolve().parent.parent / "config" / "routing" / "agencies.toml"
)
NATIONAL_ADMIN = "NAS.ADMIN"


@dataclass(frozen=True)
class AgencySpec:
    """One agency. `parent_code` is the next step of berjenjang escalation."""

    code: str
    name: str
    sector: str
    region_code: str | None
    parent_code: str | None
    is_coordinator: bool


def load_agency_config(path: Path = DEFAULT_AGENCIES_FILE) -> dict:
    """agencies.toml as a dict (national bodies, regional templates, direct routes)."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def generate_agencies(
    regions: Iterable[tuple[str, str]], config: dict | None = None
) -> list[AgencySpec]:
    """National bodies, then per province and kabupaten/kota one agency of each regional kind.

    `regions` are (code, name) rows of the region CSV; kecamatan and desa rows are
    ignored. The order is deterministic: national bodies as configured, then by
    region code, then by configured kind.
    """
    config = config or load_agency_config()
    agencies = [
        AgencySpec(
            code=body["code"],
            name=body["name"],
            sector=body["sector"],
            region_code=None,
            parent_code=None,
            is_coordinator=False,
        )
        for body in config["national"]
    ]
    upper = sorted((code, name.strip()) for code, name in regions if code.count(".") <= 1)
    for code, name in upper:
        is_province = "." not in code
        region_name = f"Provinsi {name}" if is_province else name
        for kind in config["regional"]:
            local_name = kind.get("province_name", kind["name"]) if is_province else kind["name"]
            agencies.append(
                AgencySpec(
                    code=f"{kind['prefix']}.{code}",
                    name=f"{local_name} {region_name}",
                    sector=kind["sector"],
                    region_code=code,
                    parent_code=kind["parent"] if is_province else f"{kind['prefix']}.{code[:2]}",
                    is_coordinator=bool(kind.get("coordinator", False)),
                )
            )
    return agencies
