"""Deadlines in Indonesian working days: weekends, public holidays and cuti bersama skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from routing import sla
from routing.sla import WIB, WorkingCalendar, load_rules


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


def test_a_deadline_skips_the_weekend_and_ends_at_midnight_wib() -> None:
    friday = wib(2026, 11, 20, 16, 30)
    due = WorkingCalendar().due(friday, 3)  # Mon 23, Tue 24, Wed 25
    assert due == wib(2026, 11, 26, 0, 0)
    assert due.tzinfo == UTC
    assert sla.local_date(due) == "25-11-2026"


def test_christmas_and_its_collective_leave_day_do_not_count() -> None:
    tuesday = wib(2026, 12, 22, 10, 0)
    # Wed 23; Thu 24 cuti bersama, Fri 25 Natal, weekend; Mon 28, Tue 29
    assert WorkingCalendar().due(tuesday, 3) == wib(2026, 12, 30)


def test_new_year_and_isra_miraj_are_skipped_too() -> None:
    # Thu 31; Fri 1 Jan Tahun Baru, weekend; Mon 4; Tue 5 Isra Mi'raj; Wed 6
    assert WorkingCalendar().due(wib(2026, 12, 30, 8), 3) == wib(2027, 1, 7)


def test_collective_leave_from_the_config_counts_as_a_day_off() -> None:
    extra = WorkingCalendar(frozenset({date(2026, 11, 24)}))
    assert extra.due(wib(2026, 11, 20, 9), 3) == wib(2026, 11, 27)


def test_an_event_late_in_the_evening_counts_by_its_date_in_wib() -> None:
    # 18:00 UTC on Friday is already Saturday 01:00 in Jakarta
    saturday_wib = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert WorkingCalendar().due(saturday_wib, 1) == wib(2026, 11, 24)


def test_follow_up_time_depends_on_the_complaint_type() -> None:
    monday = wib(2026, 11, 23, 9)
    assert sla.followup_due(monday, "light") == wib(2026, 11, 27)
    assert sla.followup_due(monday, "normal") == wib(2026, 12, 1)
    assert sla.followup_due(monday, "dispute") == wib(2026, 12, 12)
    assert sla.followup_due(monday, "inspection") > wib(2027, 2, 1)
    assert sla.followup_due(monday, "unknown") == sla.followup_due(monday, "normal")


def test_the_shipped_rules_match_the_sp4n_time_limits() -> None:
    rules = sla.rules()
    assert (rules.disposition_days, rules.autoclose_days) == (3, 10)
    assert {t.name: t.days for t in rules.types.values()} == {
        "light": 3,
        "normal": 5,
        "dispute": 14,
        "inspection": 60,
    }
    assert rules.type_for_keyword(" sengketa") is rules.types["dispute"]
    assert rules.type_for_keyword("SEGERA") is None


def test_rules_are_read_from_a_file(tmp_path: Path) -> None:
    text = sla.DEFAULT_SLA_FILE.read_text().replace(
        "collective_leave = []", 'collective_leave = ["2026-11-24"]'
    )
    (tmp_path / "sla.toml").write_text(text)
    assert load_rules(tmp_path / "sla.toml").collective_leave == {date(2026, 11, 24)}


def test_reminders_start_a_day_before_the_deadline() -> None:
    due = wib(2026, 11, 26)
    assert sla.remind_from(due) == wib(2026, 11, 25)
