"""First-start data: every Kemendagri region and the generated agency registry.

Idempotent: each part is loaded only when its table is empty, so every
gateway process may call it at start-up.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from config.settings import CONFIG_DIR
from models.agencies import Agency
from models.directory import agencies_changed
from models.regions import Region, level_of, parent_of
from routing.registry import generate_agencies

log = logging.getLogger(__name__)

REGIONS_CSV = CONFIG_DIR / "regions" / "wilayah_kemendagri_2025.csv"
BATCH = 5000


def read_regions(path: Path = REGIONS_CSV) -> Iterator[tuple[str, str]]:
    """(code, name) rows of the shipped Kemendagri list, parents before children."""
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["kode"].strip(), row["nama"].strip()


def seed_regions(session: Session) -> int:
    if session.scalar(select(func.count()).select_from(Region)):
        return 0
    rows = [
        {"code": code, "name": name, "level": level_of(code), "parent_code": parent_of(code)}
        for code, name in read_regions()
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(Region), rows[start : start + BATCH])
    log.info("seeded regions count=%d", len(rows))
    return len(rows)


def seed_agencies(session: Session) -> int:
    if session.scalar(select(func.count()).select_from(Agency)):
        return 0
    specs = generate_agencies(read_regions())
    if not specs:
        return 0
    session.execute(
        insert(Agency),
        [
            {
                "code": s.code,
                "name": s.name,
                "sector": s.sector,
                "region_code": s.region_code,
                "is_coordinator": s.is_coordinator,
            }
            for s in specs
        ],
    )
    ids = {code: agency_id for code, agency_id in session.execute(select(Agency.code, Agency.id))}
    parents = [{"id": ids[s.code], "parent_id": ids[s.parent_code]} for s in specs if s.parent_code]
    if parents:
        session.execute(update(Agency), parents)  # ORM bulk update by primary key
    agencies_changed(session)  # a process that read the table empty reads it again
    log.info("seeded agencies count=%d", len(specs))
    return len(specs)


def seed_all(session: Session) -> None:
    seed_regions(session)
    seed_agencies(session)
