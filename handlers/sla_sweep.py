"""The deadline sweep: reminders before a deadline, escalation after it, auto-close.

Run periodically (RQ cron) and by `python app.py sla-sweep`. Safe to run
any number of times: an escalation or a close changes the state it was
chosen by (so it cannot happen twice), and a reminder's outbox key names
its deadline (so it is sent once). `now` is a parameter for time travel.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from models import actions
from models.agencies import Agency
from models.base import utcnow
from models.complaints import Complaint, Status
from models.db import session_scope
from routing import sla

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class DeadlineReport:
    reminded: int = 0
    escalated: int = 0
    closed: int = 0


def sweep_deadlines(now: datetime | None = None) -> DeadlineReport:
    """Act on every complaint whose deadline is near or past, each in its own transaction.

    Candidates are paged by id until none are left, so complaints that need
    nothing yet (a reminder already sent, officers to tell none) never hide an
    overdue one behind them.
    """
    now = now or utcnow()
    outcomes: Counter[str] = Counter()
    after, closable_before = 0, _closable_before(now)
    while batch := _candidates(now, closable_before, after):
        for complaint_id in batch:
            outcome = _apply_locked(complaint_id, now)
            if outcome:
                outcomes[outcome] += 1
        after = batch[-1]
    report = DeadlineReport(**outcomes)
    if outcomes:
        log.info("deadline sweep %s", report)
    return report


def _apply_locked(complaint_id: int, now: datetime) -> str | None:
    """One complaint under its row lock; a failure is logged and leaves the others to run."""
    try:
        with session_scope() as session:
            complaint = session.scalar(
                select(Complaint).where(Complaint.id == complaint_id).with_for_update()
            )
            return _apply(session, complaint, now) if complaint else None
    except Exception:
        log.exception("deadline sweep failed for complaint=%d", complaint_id)
        return None


def _closable_before(now: datetime) -> datetime:
    """Complaints finished before this moment are due to close.

    Auto-close counts working days from the WIB day of SELESAI, so the bound
    is the end of the last such day whose close has passed (10 calendar days
    would pick complaints days before weekends and holidays let them close).
    """
    day = now.astimezone(sla.WIB).date()
    while sla.autoclose_due(datetime.combine(day, time(12), sla.WIB)) > now:
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(0), sla.WIB).astimezone(UTC)


def _candidates(now: datetime, closable_before: datetime, after: int) -> list[int]:
    """The next complaints by id that may need something; `_apply` decides exactly, locked.

    Overdue complaints with no active agency above them (nobody to escalate
    to) are left out, so they never crowd a batch.
    """
    rules = sla.rules()
    parent = aliased(Agency)

    def deadline_near(status: Status, due: InstrumentedAttribute[datetime | None]) -> ColumnElement:
        return and_(
            Complaint.status == status,
            due <= now + rules.reminder,
            or_(due > now, parent.active.is_(True)),
        )

    with session_scope() as session:
        return list(
            session.scalars(
                select(Complaint.id)
                .outerjoin(Agency, Agency.id == Complaint.agency_id)
                .outerjoin(parent, parent.id == Agency.parent_id)
                .where(
                    Complaint.id > after,
                    or_(
                        deadline_near(Status.ASSIGNED, Complaint.disposition_due_at),
                        deadline_near(Status.IN_PROGRESS, Complaint.followup_due_at),
                        and_(
                            Complaint.status == Status.DONE,
                            Complaint.done_at < closable_before,
                        ),
                    ),
                )
                .order_by(Complaint.id)
                .limit(BATCH)
            )
        )


def _running_deadline(complaint: Complaint) -> datetime | None:
    if complaint.status == Status.ASSIGNED:
        return complaint.disposition_due_at
    if complaint.status == Status.IN_PROGRESS:
        return complaint.followup_due_at
    return None


def _apply(session: Session, complaint: Complaint, now: datetime) -> str | None:
    if complaint.status == Status.DONE and complaint.done_at is not None:
        if sla.autoclose_due(complaint.done_at) <= now:
            actions.auto_close_complaint(session, complaint, now)
            return "closed"
        return None
    due = _running_deadline(complaint)
    if due is None:
        return None
    if due <= now:
        return "escalated" if actions.escalate_complaint(session, complaint, now) else None
    if sla.remind_from(due) <= now and actions.remind_officers(session, complaint, due):
        return "reminded"
    return None
