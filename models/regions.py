"""Kemendagri regions: province (11), kabupaten/kota (11.01), kecamatan, desa."""

from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

LEVELS = {1: "provinsi", 2: "kabupaten_kota", 3: "kecamatan", 4: "desa"}


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), index=True, default=None
    )


def level_of(code: str) -> int:
    """1 province .. 4 desa, from the number of dotted parts."""
    return code.count(".") + 1


def parent_of(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None
