"""Read-only figures for operators: overdue complaints, statistics, the quarterly report.

Nothing here writes. Every count is a GROUP BY in the database, so the
admin API, the performance report and /metrics agree and stay cheap at
national volume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from models.agencies import Agency
from models.base import utcnow
from models.complaints import OPEN_STATUSES, Complaint, ComplaintEvent, Status
from models.inbound import InboundMessage
from models.outbox import OutboundMessage
from models.regions import Region

WIB = ZoneInfo("Asia/Jakarta")  # quarters are counted on the national (Jakarta) calendar
RECEIVING_ACTIONS = ("routed", "rerouted", "forwarded", "escalated")


def overdue(now: datetime | None = None) -> ColumnElement[bool]:
    """Open and past a deadline: disposition while nobody accepted it, follow-up until done."""
    now = now or utcnow()
    # Never NULL (a missing deadline is simply not passed), so NOT overdue() is exact too.
    return and_(
        Complaint.status.in_(OPEN_STATUSES),
        or_(
            and_(
                Complaint.status.in_((Status.RECEIVED, Status.ASSIGNED)),
                Complaint.disposition_due_at.is_not(None),
                Complaint.disposition_due_at < now,
            ),
            and_(Complaint.followup_due_at.is_not(None), Complaint.followup_due_at < now),
        ),
    )


def _grouped(session: Session, column: Any, *where: Any) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count()).select_from(Complaint).where(*where).group_by(column)
    ).all()
    return {str(key) if key is not None else "": count for key, count in rows}


def complaint_statistics(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Complaints per status, sector and kabupaten/kota (filed in [since, until)), and overdue."""
    window = [
        *([Complaint.created_at >= since] if since else []),
        *([Complaint.created_at < until] if until else []),
    ]
    names = dict(
        session.execute(
            select(Region.code, Region.name).where(
                Region.code.in_(select(Complaint.region_code).where(*window).distinct())
            )
        ).all()
    )
    regions = _grouped(session, Complaint.region_code, *window)
    return {
        "total": sum(regions.values()),
        "by_status": _grouped(session, Complaint.status, *window),
        "by_sector": _grouped(session, Complaint.sector, *window),
        "by_region": [
            {"region_code": code or None, "region_name": names.get(code), "count": count}
            for code, count in sorted(regions.items(), key=lambda kv: -kv[1])
        ],
        "overdue": {
            "total": sum(_grouped(session, Complaint.sector, overdue(), *window).values()),
            "by_sector": _grouped(session, Complaint.sector, overdue(), *window),
        },
    }


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar quarter in WIB, as aware datetimes."""
    if not 1 <= quarter <= 4:
        raise ValueError("quarter must be 1-4")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return datetime.combine(start, time(), WIB), datetime.combine(end, time(), WIB)


@dataclass(frozen=True)
class AgencyPerformance:
    """One agency's line of the quarterly report the regional secretaries review."""

    agency_code: str
    agency_name: str
    region_code: str | None
    received: int  # complaints routed, forwarded or escalated to it in the quarter
    followed_up_in_time: int  # of those it still holds: finished by the follow-up deadline
    overdue: int  # of those it still holds: open past a deadline, or finished late
    forwarded: int  # of those received: now held by another agency
    average_rating: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def agency_performance(
    session: Session, year: int, quarter: int, now: datetime | None = None
) -> list[AgencyPerformance]:
    """Per agency that received anything in the quarter, busiest first."""
    start, end = quarter_bounds(year, quarter)
    received = (
        select(ComplaintEvent.complaint_id, ComplaintEvent.agency_id)
        .where(
            ComplaintEvent.action.in_(RECEIVING_ACTIONS),
            ComplaintEvent.agency_id.is_not(None),
            ComplaintEvent.created_at >= start,
            ComplaintEvent.created_at < end,
        )
        .distinct()
        .subquery()
    )
    held = Complaint.agency_id == received.c.agency_id
    late = and_(Complaint.done_at.is_not(None), Complaint.done_at > Complaint.followup_due_at)
    in_time = and_(
        Complaint.done_at.is_not(None),
        or_(Complaint.followup_due_at.is_(None), Complaint.done_at <= Complaint.followup_due_at),
    )

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(
            Agency.code,
            Agency.name,
            Agency.region_code,
            func.count(),
            count_if(and_(held, in_time)),
            count_if(and_(held, or_(overdue(now), late))),
            count_if(~held),
            func.avg(case((held, Complaint.rating))),
        )
        .select_from(received)
        .join(Complaint, Complaint.id == received.c.complaint_id)
        .join(Agency, Agency.id == received.c.agency_id)
        .group_by(Agency.id, Agency.code, Agency.name, Agency.region_code)
        .order_by(func.count().desc(), Agency.code)
    ).all()
    return [
        AgencyPerformance(
            agency_code=code,
            agency_name=name,
            region_code=region,
            received=int(total),
            followed_up_in_time=int(ok or 0),
            overdue=int(late_count or 0),
            forwarded=int(moved or 0),
            average_rating=round(float(rating), 2) if rating is not None else None,
        )
        for code, name, region, total, ok, late_count, moved, rating in rows
    ]


def message_counts(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Rows for /metrics: inbound per channel, link and state, outbound per channel, link and
    status."""
    return {
        "inbound": session.execute(
            select(
                InboundMessage.channel, InboundMessage.link, InboundMessage.state, func.count()
            ).group_by(InboundMessage.channel, InboundMessage.link, InboundMessage.state)
        ).all(),
        "outbound": session.execute(
            select(
                OutboundMessage.channel,
                OutboundMessage.link,
                OutboundMessage.status,
                func.count(),
            ).group_by(OutboundMessage.channel, OutboundMessage.link, OutboundMessage.status)
        ).all(),
    }


def complaint_counts(session: Session) -> tuple[dict[str, int], int]:
    """Complaints per status, and how many are overdue now (for /metrics)."""
    overdue_count = session.scalar(select(func.count()).select_from(Complaint).where(overdue()))
    return _grouped(session, Complaint.status), int(overdue_count or 0)
