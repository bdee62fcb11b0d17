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
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

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
    """Act on every complaint whose deadline is near or past, each in its own transaction."""
    now = now or utcnow()
    outcomes: Counter[str] = Counter()
    for complaint_id in _candidates(now):
        try:
            with session_scope() as session:
                complaint = session.scalar(
                    select(Complaint).where(Complaint.id == complaint_id).with_for_update()
                )
                outcome = _apply(session, complaint, now) if complaint else None
        except Exception:
            log.exception("deadline sweep failed for complaint=%d", complaint_id)
            continue
        if outcome:
            outcomes[outcome] += 1
    report = DeadlineReport(**outcomes)
    if outcomes:
        log.info("deadline sweep %s", report)
    return report


def _candidates(now: datetime) -> list[int]:
    """Complaints that may need something; `_apply` decides exactly, under a row lock.

    Overdue complaints at the top of the chain (nobody above to escalate to)
    are left out, so they never crowd a batch.
    """
    rules = sla.rules()
    silent_since = now - timedelta(days=rules.autoclose_days)  # working days are never fewer

    def deadline_near(status: Status, due: InstrumentedAttribute[datetime | None]) -> ColumnElement:
        return and_(
            Complaint.status == status,
            due <= now + rules.reminder,
            or_(due > now, Agency.parent_id.is_not(None)),
        )

    with session_scope() as session:
        return list(
            session.scalars(
                select(Complaint.id)
                .outerjoin(Agency, Agency.id == Complaint.agency_id)
                .where(
                    or_(
                        deadline_near(Status.ASSIGNED, Complaint.disposition_due_at),
                        deadline_near(Status.IN_PROGRESS, Complaint.followup_due_at),
                        and_(Complaint.status == Status.DONE, Complaint.done_at <= silent_since),
                    )
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
