"""The sweep: what Redis forgot, the database remembers.

Run periodically (RQ cron) and by `python app.py sweep`; safe to run any
number of times at once, because every sender claims rows atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from models.base import in_state, utcnow
from models.db import session_scope
from models.inbound import InboundMessage, InboundState
from models.outbox import OutboundMessage, OutboxStatus
from models.queues import (
    INBOUND_JOB,
    INBOUND_QUEUE,
    enqueue,
    forget_silent_links,
    link_states,
    wake_outbox,
)

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=15)  # leave fresh rows to the normal wake-up path
BATCH = 500
# SMPP links read the outbox themselves every second (gateway/smpp/link.py POLL_S): waking
# them is never needed, and their rows must not fill the batch ahead of rows that are.
POLLED_CHANNEL = "smpp"
# A row that waited this long for an SMPP link that no process has run for as long goes out
# through one that runs.
STRANDED_AFTER = timedelta(minutes=5)
FORGET_LINK_AFTER_S = 86_400.0  # a link silent this long leaves /healthz and /metrics


@dataclass(frozen=True)
class SweepReport:
    expired_leases: int
    rewoken_outbound: int
    requeued_inbound: int
    moved_outbound: int = 0


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
    report = SweepReport(expired, len(due), len(stale_inbound), move_stranded(now))
    if expired or due or stale_inbound or report.moved_outbound:
        log.warning("sweep recovered %s", report)
    return report


def move_stranded(now: datetime) -> int:
    """Replies queued for an SMPP link that no process runs go out through one that runs.

    Gone means not running for STRANDED_AFTER: a link stopped a moment ago is
    being restarted, and its backlog (its telco's SMSC down for an hour, say)
    is its own.

    A complaint's news goes back the way it came in, for as long as it is
    open: once its link is taken out of SMPP_LINKS (or renamed, or its
    process is gone) every status change for it would wait in the outbox for
    ever, and nobody would see it. How many rows moved.
    """
    try:
        forget_silent_links(FORGET_LINK_AFTER_S)
        states = link_states()
    except Exception:  # noqa: BLE001 - Redis away: nothing known of the links, nothing moved
        log.warning("sweep: link states unavailable, stranded replies not looked for")
        return 0
    running = sorted(
        (n for n, s in states.items() if s["running"]), key=lambda n: (not states[n]["bound"], n)
    )
    # Stopped or silent for less than STRANDED_AFTER: a restart, a deploy. Its replies wait.
    pausing = [
        n
        for n, s in states.items()
        if not s["running"] and s["silent_s"] < STRANDED_AFTER.total_seconds()
    ]
    waiting = (
        in_state(OutboundMessage.status, OutboxStatus.QUEUED),
        OutboundMessage.channel == POLLED_CHANNEL,
        OutboundMessage.next_attempt_at < now - STRANDED_AFTER,
        OutboundMessage.link.not_in(running + pausing),
    )
    with session_scope() as session:
        query = select(OutboundMessage.link, func.count()).where(*waiting)
        stranded = dict(session.execute(query.group_by(OutboundMessage.link)).tuples().all())
        if not stranded:
            return 0
        if not running:
            log.warning("sweep: %s replies wait for SMPP links, and none is running", stranded)
            return 0
        moved = session.execute(
            update(OutboundMessage)
            .where(*waiting)
            .values(link=running[0])
            .execution_options(synchronize_session=False)
        ).rowcount
    log.warning(
        "sweep: replies queued for SMPP links no process runs %s now go through link %s",
        stranded,
        running[0],
    )
    return moved
