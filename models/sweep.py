"""The sweep: what Redis forgot, the database remembers.

Run periodically (RQ cron) and by `python app.py sweep`; safe to run any
number of times at once, because every sender claims rows atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from models.base import in_state, utcnow
from models.db import session_scope
from models.inbound import InboundMessage, InboundState
from models.outbox import OutboundMessage, OutboxStatus
from models.queues import INBOUND_JOB, INBOUND_QUEUE, enqueue, wake_outbox

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=15)  # leave fresh rows to the normal wake-up path
BATCH = 500
# SMPP links read the outbox themselves every second (gateway/smpp/link.py POLL_S): waking
# them is never needed, and their rows must not fill the batch ahead of rows that are.
POLLED_CHANNEL = "smpp"


@dataclass(frozen=True)
class SweepReport:
    expired_leases: int
    rewoken_outbound: int
    requeued_inbound: int


def sweep_messages(now: datetime | None = None) -> SweepReport:
    """Fail sends that died mid-flight, re-wake due outbox rows (but an SMPP link's, which
    its link polls), re-queue unhandled inbound."""
    now = now or utcnow()
    with session_scope() as session:
        expired = session.execute(
            update(OutboundMessage)
            .where(
                in_state(OutboundMessage.status, OutboxStatus.SENDING),
                OutboundMessage.lease_until < now,
            )
            .values(
                status=OutboxStatus.FAILED,
                lease_until=None,
                last_error="interrupted while sending; the carrier may or may not have it",
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        due = (
            session.execute(
                select(OutboundMessage.id, OutboundMessage.channel, OutboundMessage.link)
                .where(
                    in_state(OutboundMessage.status, OutboxStatus.QUEUED),
                    OutboundMessage.next_attempt_at < now - GRACE,
                    OutboundMessage.channel != POLLED_CHANNEL,
                )
                .order_by(OutboundMessage.id)
                .limit(BATCH)
            )
            .tuples()
            .all()
        )
        stale_inbound = list(
            session.execute(
                select(InboundMessage.id)
                .where(
                    in_state(InboundMessage.state, InboundState.RECEIVED),
                    InboundMessage.received_at < now - GRACE,
                )
                .order_by(InboundMessage.id)
                .limit(BATCH)
            ).scalars()
        )
    if due:
        wake_outbox(due)
    if stale_inbound:
        enqueue(INBOUND_QUEUE, INBOUND_JOB, stale_inbound)
    report = SweepReport(expired, len(due), len(stale_inbound))
    if expired or due or stale_inbound:
        log.warning("sweep recovered %s", report)
    return report
