"""Query parameters checked once, so a bad value is a 400 and never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import abort, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdecimal() or not low <= int(raw) <= high:
        abort(400, f"'{name}' must be a whole number from {low} to {high}")
    return int(raw)


def bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        abort(400, f"'{name}' must be true or false")
    return raw.lower() == "true"


def datetime_arg(name: str) -> datetime | None:
    """An ISO 8601 date-time with a zone (`Z` too), in UTC; a 400 that says what is wrong."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        abort(400, f"'{name}' must be an ISO 8601 date-time with a zone")
    if value.tzinfo is None:
        abort(400, f"'{name}' must carry a time zone (e.g. +07:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC equivalent
        abort(400, f"'{name}' is out of range")


def choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        abort(400, f"'{name}' must be one of {', '.join(choices)}")
    return raw


def path_id(raw: str, what: str, limit: int) -> int:
    """A numeric path part; anything else is a JSON 404 like a missing row."""
    if not raw.isdecimal() or int(raw) >= limit:
        abort(404, f"no {what} {raw}")
    return int(raw)


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int

    @classmethod
    def from_request(cls) -> Page:
        return cls(int_arg("page", 1, 1, 100_000), int_arg("per_page", 50, 1, MAX_PER_PAGE))

    def apply(self, session: Session, query: Select) -> tuple[list, int]:
        """(rows of this page, total rows) of a query."""
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        rows = session.execute(
            query.limit(self.per_page).offset((self.number - 1) * self.per_page)
        ).all()
        return rows, int(total or 0)

    def envelope(self, items: list, total: int) -> dict[str, object]:
        return {"items": items, "page": self.number, "per_page": self.per_page, "total": total}
