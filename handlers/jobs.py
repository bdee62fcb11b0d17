"""RQ jobs of handlers/: turn stored inbound messages into complaints and replies."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handlers.dispatch import handle_inbound
from models import actions
from models.actions import Channel
from models.base import utcnow
from models.db import session_scope
from models.inbound import InboundMessage, InboundState
from models.phone import reporter_key

log = logging.getLogger(__name__)


GROUP = 25  # messages per transaction: one commit for many, a short write lock on SQLite


def process_inbound(ids: list[int]) -> None:
    """Handle each message exactly once, many per transaction, each in its own savepoint.

    The claim (received -> processed) commits together with everything the
    handler wrote, so a crash leaves the messages `received` for the sweep,
    and a second job for the same id finds nothing to do. One commit per
    group instead of per message is what lets a busy link keep up; a message
    whose handler fails is rolled back to its savepoint alone and marked
    failed after the group commits. If the group cannot commit, each
    message is retried in a transaction of its own.
    """
    for start in range(0, len(ids), GROUP):
        group = ids[start : start + GROUP]
        try:
            failures = _process_group(group)
        except Exception:
            log.warning("inbound group of %d failed; one by one", len(group), exc_info=True)
            failures = {}
            for inbound_id in group:
                try:
                    failures.update(_process_group([inbound_id]))
                except Exception as exc:
                    log.exception("inbound=%d failed", inbound_id)
                    failures[inbound_id] = exc
        for inbound_id, exc in failures.items():
            try:
                _mark_failed(inbound_id, exc)
            except Exception:  # the row stays `received` and the sweep retries it
                log.exception("inbound=%d could not be marked failed", inbound_id)


def _process_group(ids: list[int]) -> dict[int, Exception]:
    """Handle `ids` in one transaction; return the handler failures (rolled back, not committed)."""
    failures: dict[int, Exception] = {}
    with session_scope() as session:
        for inbound_id in _by_sender(session, ids):
            savepoint = session.begin_nested()
            try:
                _process_one(session, inbound_id)
                savepoint.commit()
            except Exception as exc:
                savepoint.rollback()
                log.exception("inbound=%d failed", inbound_id)
                failures[inbound_id] = exc
    return failures


def _by_sender(session: Session, ids: list[int]) -> list[int]:
    """`ids` ordered by sender, each sender's messages in their given order.

    A reporter's row stays locked until the group commits
    (actions.ensure_reporter); taking those locks in one order in every
    worker means two groups with the same reporters wait for each other
    instead of deadlocking over those locks.
    """
    if len(ids) < 2:
        return ids
    senders = dict(
        session.execute(
            select(InboundMessage.id, InboundMessage.sender).where(InboundMessage.id.in_(ids))
        )
        .tuples()
        .all()
    )
    return sorted(ids, key=lambda inbound_id: reporter_key(senders.get(inbound_id, "")))


def _process_one(session: Session, inbound_id: int) -> None:
    claimed = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.RECEIVED)
        .values(state=InboundState.PROCESSED, processed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return
    inbound = session.get(InboundMessage, inbound_id)
    assert inbound is not None
    handle_inbound(session, inbound)


def _mark_failed(inbound_id: int, exc: Exception) -> None:
    """Keep the message, visible to operators, and tell the citizen it is safe with us."""
    with session_scope() as session:
        inbound = session.get(InboundMessage, inbound_id)
        if inbound is None or inbound.state == InboundState.PROCESSED:
            return
        inbound.state = InboundState.FAILED
        inbound.error = f"{type(exc).__name__}: {exc}"[:1000]
        actions.queue_sms(
            session,
            to=Channel(inbound.channel, inbound.link, inbound.sender),
            template="temporary_error",
            key=f"reply:{inbound.id}",
        )
