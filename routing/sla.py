"""Time limits in Indonesian working days: pure arithmetic, no clock and no database.

Deadlines are counted the way SP4N-LAPOR! counts them: in working days
(Monday-Friday, minus public holidays and cuti bersama), the day of the event
itself not counted, ending at midnight WIB after the last working day. Callers
pass `start` explicitly, so tests travel in time without touching the clock.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

WIB = ZoneInfo("Asia/Jakarta")
DEFAULT_SLA_FILE = Path(__file__).resolve().parent.parent / "config" / "sla.toml"
DEFAULT_TYPE = "normal"


@dataclass(frozen=True)
class ComplaintType:
    name: str  # stored in complaints.complaint_type
    days: int  # follow-up time in working days
    keyword: str  # what an officer types: TERIMA <nomor> SENGKETA
    label: str  # what people read


@dataclass(frozen=True)
class SlaRules:
    disposition_days: int
    autoclose_days: int
    reminder: timedelta
    sweep_interval_s: int
    collective_leave: frozenset[date]
    types: dict[str, ComplaintType]

    def type_for_keyword(self, word: str) -> ComplaintType | None:
        upper = word.strip().upper()
        return next((t for t in self.types.values() if t.keyword == upper), None)

    def followup_days(self, complaint_type: str) -> int:
        return self.types.get(complaint_type, self.types[DEFAULT_TYPE]).days


def load_rules(path: Path = DEFAULT_SLA_FILE) -> SlaRules:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return SlaRules(
        disposition_days=int(data["disposition_days"]),
        autoclose_days=int(data["autoclose_days"]),
        reminder=timedelta(hours=float(data["reminder_hours"])),
        sweep_interval_s=int(data["sweep_interval_s"]),
        collective_leave=frozenset(date.fromisoformat(d) for d in data["collective_leave"]),
        types={
            name: ComplaintType(name, int(t["days"]), t["keyword"].upper(), t["label"])
            for name, t in data["types"].items()
        },
    )


@lru_cache(maxsize=1)
def rules() -> SlaRules:
    """The configured rules (config/sla.toml), read once per process."""
    return load_rules()


class WorkingCalendar:
    """Which days count: weekdays that are neither a public holiday nor collective leave."""

    def __init__(self, extra_leave: frozenset[date] = frozenset()) -> None:
        # "government" adds the cuti bersama the package knows for civil servants
        self._holidays = holidays.country_holidays("ID", categories=("public", "government"))
        self._extra = extra_leave

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self._extra

    def due(self, start: datetime, working_days: int) -> datetime:
        """Midnight WIB after the `working_days`-th working day following `start`, in UTC."""
        day = start.astimezone(WIB).date()
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day + timedelta(days=1), time(0), WIB).astimezone(UTC)


@lru_cache(maxsize=1)
def calendar() -> WorkingCalendar:
    return WorkingCalendar(rules().collective_leave)


def disposition_due(start: datetime) -> datetime:
    """When the holding agency must have accepted or forwarded a complaint."""
    return calendar().due(start, rules().disposition_days)


def followup_due(start: datetime, complaint_type: str) -> datetime:
    """When an accepted complaint must be finished, by its type (light, normal, ...)."""
    return calendar().due(start, rules().followup_days(complaint_type))


def autoclose_due(done_at: datetime) -> datetime:
    """When a finished complaint closes by itself if the citizen stays silent."""
    return calendar().due(done_at, rules().autoclose_days)


def remind_from(due: datetime) -> datetime:
    """From when officers are reminded of a deadline."""
    return due - rules().reminder


def local_date(moment: datetime) -> str:
    """A deadline as people read it: the last day it still holds, in WIB."""
    return (moment.astimezone(WIB) - timedelta(seconds=1)).strftime("%d-%m-%Y")


def day_of(moment: datetime) -> str:
    """The WIB date of an event, such as the day an agency finished."""
    return moment.astimezone(WIB).strftime("%d-%m-%Y")
